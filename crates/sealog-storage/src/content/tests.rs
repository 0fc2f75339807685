use super::*;

fn tomb(subject: &str) -> impl FnOnce(u64) -> Tombstone + '_ {
    move |blobs| Tombstone {
        subject: subject.into(),
        key_id: String::new(),
        erased: "2026-12-01T00:00:00.000000Z".into(),
        reason: "art. 17".into(),
        blobs,
        event_id: "e".into(),
    }
}

fn seal_one(log: &LogContent, subject: &str, event: &str, text: &[u8]) -> Sealed {
    let mut batch = log.batch();
    let sealed = batch.seal(subject, event, text).unwrap();
    batch.commit().unwrap();
    sealed
}

/// Every file under `dir`, recursively, read whole.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn content_round_trips_and_erasure_destroys_key_and_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("default").unwrap();
    let a = seal_one(&log, "pseudo-1", "ev-1", b"{\"marker\":1}");
    let b = seal_one(&log, "pseudo-1", "ev-2", b"two");
    assert_eq!(a.key_id, b.key_id);
    let read = log.open_blob("pseudo-1", &a.key_id, &a.ciphertext_sha256, "ev-1");
    assert_eq!(read.unwrap().as_slice(), b"{\"marker\":1}");
    // The event id is bound: a blob does not open for another event.
    let wrong = log.open_blob("pseudo-1", &a.key_id, &a.ciphertext_sha256, "ev-2");
    assert!(matches!(wrong, Err(ContentError::Corrupt(_))), "{wrong:?}");
    let other = seal_one(&log, "pseudo-2", "ev-3", b"kept");

    let t = log.erase("pseudo-1", tomb("pseudo-1")).unwrap();
    assert_eq!((t.blobs, t.key_id.as_str()), (2, a.key_id.as_str()));
    let gone = log.open_blob("pseudo-1", &a.key_id, &a.ciphertext_sha256, "ev-1");
    assert!(
        matches!(gone, Err(ContentError::Erased(ref g)) if **g == t),
        "{gone:?}"
    );
    let h = subject_dir(&log.subjects(), "pseudo-1");
    assert!(!h.join("key").exists() && !h.join("blobs").exists());
    assert_eq!(
        log.erase("pseudo-1", tomb("pseudo-1")).unwrap(),
        t,
        "idempotent"
    );
    let refused = log.batch().seal("pseudo-1", "ev-4", b"again");
    assert!(matches!(refused, Err(ContentError::Erased(_))));
    // The other subject is untouched, also after a restart.
    drop((log, store));
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("default").unwrap();
    let kept = log.open_blob("pseudo-2", &other.key_id, &other.ciphertext_sha256, "ev-3");
    assert_eq!(kept.unwrap().as_slice(), b"kept");
    assert!(matches!(
        log.open_blob("pseudo-1", &a.key_id, &a.ciphertext_sha256, "ev-1"),
        Err(ContentError::Erased(_))
    ));
}

#[test]
fn an_erasure_interrupted_after_its_tombstone_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("l").unwrap();
    let s = seal_one(&log, "p", "ev", b"secret");
    let h = subject_dir(&log.subjects(), "p");
    // The state a crash leaves after the tombstone, before the key's destruction.
    create_dirs(&log.erasing()).unwrap();
    std::fs::write(log.erasing().join(h.file_name().unwrap()), b"").unwrap();
    tomb("p")(1).write(&h.join("erased")).unwrap();
    drop((log, store));
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("l").unwrap();
    assert!(!h.join("key").exists() && !h.join("blobs").exists());
    assert_eq!(std::fs::read_dir(log.erasing()).unwrap().count(), 0);
    let r = log.open_blob("p", &s.key_id, &s.ciphertext_sha256, "ev");
    assert!(matches!(r, Err(ContentError::Erased(_))));
    // A marker without a tombstone: the erasure had not begun, the key stays.
    let s = seal_one(&log, "q", "ev", b"stays");
    let hq = subject_dir(&log.subjects(), "q");
    std::fs::write(log.erasing().join(hq.file_name().unwrap()), b"").unwrap();
    drop((log, store));
    let log = ContentStore::open(dir.path(), None)
        .unwrap()
        .log("l")
        .unwrap();
    let r = log.open_blob("q", &s.key_id, &s.ciphertext_sha256, "ev");
    assert_eq!(r.unwrap().as_slice(), b"stays");
}

#[test]
fn kek_rotation_rewraps_every_key_and_an_interrupted_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let keks = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), Some(keks.path())).unwrap();
    let log = store.log("l").unwrap();
    let s = seal_one(&log, "p", "ev", b"plain");
    let old = Kek::read(&keks.path().join("l.kek")).unwrap().unwrap().id;
    let new = log.rotate_kek().unwrap();
    assert_ne!(old, new);
    assert!(
        !dir.path().join("content/l/kek").exists(),
        "the KEK lives in --kek-dir"
    );
    let file = KeyFile::read(&subject_dir(&log.subjects(), "p").join("key"))
        .unwrap()
        .unwrap();
    assert_eq!(file.kek_id, new);
    // A rotation cut short: kek.next exists, the key still under the current KEK.
    Kek::create(&keks.path().join("l.kek.next")).unwrap();
    drop((log, store));
    let log = ContentStore::open(dir.path(), Some(keks.path()))
        .unwrap()
        .log("l")
        .unwrap();
    let read = log
        .open_blob("p", &s.key_id, &s.ciphertext_sha256, "ev")
        .unwrap();
    assert_eq!(read.as_slice(), b"plain");
    let finished = log.rotate_kek().unwrap();
    assert!(!keks.path().join("l.kek.next").exists());
    drop(log);
    let log = ContentStore::open(dir.path(), Some(keks.path()))
        .unwrap()
        .log("l")
        .unwrap();
    assert_eq!(
        Kek::read(&keks.path().join("l.kek")).unwrap().unwrap().id,
        finished
    );
    let read = log
        .open_blob("p", &s.key_id, &s.ciphertext_sha256, "ev")
        .unwrap();
    assert_eq!(read.as_slice(), b"plain");
    assert!(!all_bytes(dir.path()).windows(5).any(|w| w == b"plain"));
}

#[test]
fn a_hold_on_the_subject_or_on_no_subject_blocks_its_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContentStore::open(dir.path(), None)
        .unwrap()
        .log("l")
        .unwrap();
    let hold = |id: &str, subject: Option<&str>| Hold {
        id: id.into(),
        reason: "case".into(),
        subject: subject.map(Into::into),
        session: None,
        since: None,
        until: None,
        placed: "2026-12-01T00:00:00.000000Z".into(),
    };
    log.place_hold(hold("a", Some("p"))).unwrap();
    log.place_hold(hold("b", Some("other"))).unwrap();
    let held = log.erase("p", tomb("p"));
    assert!(
        matches!(held, Err(ContentError::Held(ref h)) if h.id == "a"),
        "{held:?}"
    );
    assert_eq!(log.lift_hold("a").unwrap().unwrap().id, "a");
    assert!(log.lift_hold("a").unwrap().is_none());
    log.place_hold(hold("c", None)).unwrap();
    assert!(matches!(log.erase("p", tomb("p")), Err(ContentError::Held(ref h)) if h.id == "c"));
    log.lift_hold("c").unwrap();
    assert_eq!(log.erase("p", tomb("p")).unwrap().blobs, 0);
    assert_eq!(log.holds().unwrap(), [hold("b", Some("other"))]);
}

/// The pack files of log `log`, sorted.
fn packs_of(log: &LogContent) -> Vec<PathBuf> {
    let mut packs: Vec<PathBuf> = std::fs::read_dir(log.dir.join("packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    packs.sort();
    packs
}

#[test]
fn a_batch_is_one_pack_and_erasure_removes_only_its_subjects_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("l").unwrap();
    let mut batch = log.batch();
    let a = batch.seal("p", "ev-1", b"first of p").unwrap();
    let b = batch.seal("q", "ev-2", b"of q").unwrap();
    let c = batch.seal("p", "ev-3", b"second of p").unwrap();
    batch.commit().unwrap();
    // A batch dropped before its commit writes nothing.
    log.batch().seal("p", "ev-4", b"dropped").unwrap();
    assert_eq!(packs_of(&log).len(), 1);
    let d = seal_one(&log, "p", "ev-5", b"third of p");
    assert_eq!(packs_of(&log).len(), 2);
    let before = std::fs::read(&packs_of(&log)[0]).unwrap();
    let blob_of_p = |s: &Sealed| {
        let sha = sealog_core::hex::decode::<32>(&s.ciphertext_sha256).unwrap();
        log.packs.read(&sha).unwrap().unwrap()
    };
    let (blob_a, blob_d) = (blob_of_p(&a), blob_of_p(&d));
    assert!(before.windows(blob_a.len()).any(|w| w == blob_a));

    assert_eq!(log.erase("p", tomb("p")).unwrap().blobs, 3);
    // The pack shared with q was replaced by one without p's blobs; p's own pack is gone.
    let packs = packs_of(&log);
    assert_eq!(packs.len(), 1);
    let after = std::fs::read(&packs[0]).unwrap();
    assert!(!after.windows(blob_a.len()).any(|w| w == blob_a));
    assert!(!after.windows(blob_d.len()).any(|w| w == blob_d));
    for s in [&a, &c, &d] {
        let sha = sealog_core::hex::decode::<32>(&s.ciphertext_sha256).unwrap();
        assert!(log.packs.read(&sha).unwrap().is_none());
    }
    drop((log, store));
    let log = ContentStore::open(dir.path(), None)
        .unwrap()
        .log("l")
        .unwrap();
    let kept = log.open_blob("q", &b.key_id, &b.ciphertext_sha256, "ev-2");
    assert_eq!(kept.unwrap().as_slice(), b"of q");
    assert_eq!(log.packs.count(&subject_tag("p")), 0);
    // A new batch after reopening takes a new pack number: nothing is overwritten.
    let e = seal_one(&log, "q", "ev-6", b"later");
    assert_eq!(packs_of(&log).len(), 2);
    let read = log.open_blob("q", &e.key_id, &e.ciphertext_sha256, "ev-6");
    assert_eq!(read.unwrap().as_slice(), b"later");
}

#[test]
fn blobs_of_a_store_made_before_packs_are_read_counted_and_erased() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("l").unwrap();
    let s = seal_one(&log, "p", "ev", b"old layout");
    // The layout of a store made before packs: the blob in a file of its own.
    let sha = sealog_core::hex::decode::<32>(&s.ciphertext_sha256).unwrap();
    let blob = log.packs.read(&sha).unwrap().unwrap();
    let blobs = subject_dir(&log.subjects(), "p").join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    std::fs::write(blobs.join(&s.ciphertext_sha256), &blob).unwrap();
    for pack in packs_of(&log) {
        std::fs::remove_file(pack).unwrap();
    }
    drop((log, store));
    let log = ContentStore::open(dir.path(), None)
        .unwrap()
        .log("l")
        .unwrap();
    let read = log.open_blob("p", &s.key_id, &s.ciphertext_sha256, "ev");
    assert_eq!(read.unwrap().as_slice(), b"old layout");
    assert_eq!(log.erase("p", tomb("p")).unwrap().blobs, 1);
    assert!(!blobs.exists());
}

#[test]
fn a_damaged_pack_header_stops_the_open_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path(), None).unwrap();
    let log = store.log("l").unwrap();
    seal_one(&log, "p", "ev", b"x");
    let pack = packs_of(&log).remove(0);
    drop((log, store));
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&pack, &bytes).unwrap();
    let err = ContentStore::open(dir.path(), None).err().unwrap();
    assert!(err.to_string().contains("CRC"), "{err}");
    assert!(
        err.to_string().contains(&pack.display().to_string()),
        "{err}"
    );
    std::fs::write(&pack, &bytes[..10]).unwrap();
    let err = ContentStore::open(dir.path(), None).err().unwrap();
    assert!(err.to_string().contains("is damaged"), "{err}");
}

fn plan_for(blobs: Vec<(String, String)>, below: u64) -> PrunePlan {
    PrunePlan {
        blobs,
        below,
        held_from: None,
        record: Prune {
            event_id: "prune-1".into(),
            at: "2026-12-01T00:00:00.000000Z".into(),
            from: 0,
            to: below,
            blobs: 0,
            held: 0,
            recorded: false,
        },
    }
}

#[test]
fn a_prune_removes_what_its_plan_names_once_and_never_a_file_outside_the_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContentStore::open(dir.path(), None)
        .unwrap()
        .log("l")
        .unwrap();
    let gone = seal_one(&log, "p", "ev-1", b"old");
    let kept = seal_one(&log, "p", "ev-2", b"new");
    let named = vec![
        ("p".to_owned(), gone.ciphertext_sha256.clone()),
        ("p".to_owned(), "../../kek".to_owned()),
    ];
    let pruned = log
        .prune(|holds, before| {
            assert!(holds.is_empty());
            assert_eq!(*before, Pruned::default());
            Ok::<_, io::Error>(plan_for(named.clone(), 1))
        })
        .unwrap();
    let last = pruned.last.clone().unwrap();
    assert_eq!((pruned.below, last.blobs, last.recorded), (1, 1, false));
    assert!(log.dir.join("kek").exists());
    let read = log.open_blob("p", &gone.key_id, &gone.ciphertext_sha256, "ev-1");
    assert!(matches!(read, Err(ContentError::Missing(_))), "{read:?}");
    let read = log.open_blob("p", &kept.key_id, &kept.ciphertext_sha256, "ev-2");
    assert_eq!(read.unwrap().as_slice(), b"new");
    // Done again (as after a crash before its event), it removes nothing and keeps the record.
    let again = log
        .prune(|_, _| Ok::<_, io::Error>(plan_for(named.clone(), 1)))
        .unwrap();
    assert_eq!(again, pruned);
    log.prune_recorded("prune-1").unwrap();
    assert!(log.pruned().unwrap().last.unwrap().recorded);
}

#[test]
fn a_hold_covers_an_event_when_everything_it_names_matches() {
    let hold = Hold {
        id: "h".into(),
        reason: "case".into(),
        subject: None,
        session: Some("s".into()),
        since: Some("2026-01-01T00:00:00Z".into()),
        until: Some("2026-02-01T00:00:00Z".into()),
        placed: "2026-12-01T00:00:00.000000Z".into(),
    };
    let jan = crate::index::parse_ts("2026-01-15T00:00:00Z");
    let feb = crate::index::parse_ts("2026-02-01T00:00:00Z");
    assert!(hold.covers_event(Some("anyone"), Some("s"), jan));
    assert!(!hold.covers_event(None, Some("other"), jan));
    assert!(!hold.covers_event(None, None, jan));
    assert!(
        !hold.covers_event(None, Some("s"), feb),
        "until is exclusive"
    );
    assert!(hold.covers_event(None, Some("s"), None), "no time: held");
    let subject = Hold {
        subject: Some("p".into()),
        session: None,
        since: None,
        until: None,
        ..hold
    };
    assert!(subject.covers_event(Some("p"), None, feb));
    assert!(!subject.covers_event(Some("q"), None, feb));
}
