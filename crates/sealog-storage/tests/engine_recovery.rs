//! Restart, torn tails, tampering, the directory lock, fsck and reindex.

mod engine_support;

use engine_support::*;
use sealog_core::leaf;
use sealog_core::merkle::verify_consistency;
use sealog_storage::{Appended, Engine, fsck, reindex};
use std::io::Write;
use std::path::Path;

/// Appends 500 events to log `r` of a fresh directory and returns every result and leaf.
async fn filled(dir: &Path) -> (Vec<Appended>, Vec<Vec<u8>>) {
    let (engine, log) = open_log(dir, "r");
    let mut results = log.append(events(1, 0..200)).await.unwrap();
    results.extend(log.append(events(1, 200..500)).await.unwrap());
    let leaves = log.entries(0, 500).unwrap();
    close(engine);
    (results, leaves)
}

/// Everything acknowledged is there after a restart, with the same index and leaf hash.
async fn assert_intact(dir: &Path, results: &[Appended], leaves: &[Vec<u8>]) {
    let (engine, log) = open_log(dir, "r");
    assert_eq!(log.size(), 500);
    assert_eq!(log.entries(0, 500).unwrap(), leaves);
    for (n, r) in results.iter().enumerate() {
        let Appended::Accepted { index, leaf_hash } = *r else {
            panic!("{r:?}")
        };
        assert_eq!(index, n as u64);
        assert_eq!(leaf::hash(&leaves[n]), leaf_hash);
        assert_eq!(log.find_id(event(1, n as u64).id).unwrap(), Some(index));
    }
    // It still appends after what was there, and the next checkpoint extends the last.
    let before = log.checkpoint();
    log.append(events(1, 500..510)).await.unwrap();
    let after = log.wait_checkpoint(510).await.unwrap();
    let proof = log.consistency_proof(before.size, after.size).unwrap();
    verify_consistency(before.size, after.size, &proof, &before.root, &after.root).unwrap();
    close(engine);
    assert!(fsck(dir).unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (results, leaves) = filled(dir.path()).await;
    assert_intact(dir.path(), &results, &leaves).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_the_last_record_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (results, leaves) = filled(dir.path()).await;
    let seg = last_segment(dir.path(), "r");
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0xAB; 37]).unwrap();
    drop(f);
    let report = fsck(dir.path()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(report.to_string().contains("torn tail"), "{report}");
    assert_intact(dir.path(), &results, &leaves).await;
    assert!(
        std::fs::metadata(&seg).unwrap().len() > len,
        "appends continue after the cut"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_record_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (results, leaves) = filled(dir.path()).await;
    let seg = last_segment(dir.path(), "r");
    // A whole record of a further leaf, cut mid-data, as a crash during a write leaves it.
    let torn = record(&leaf::build("test.example/r", 0, b"{\"id\":\"x\"}"));
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&torn[..torn.len() - 5]).unwrap();
    drop(f);
    assert_intact(dir.path(), &results, &leaves).await;
}

/// A cut that reaches into what a checkpoint covers is not a torn tail: open refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_shorter_than_its_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path()).await;
    let seg = last_segment(dir.path(), "r");
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let err = Engine::open(dir.path(), options())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("checkpoint covers 500"), "{err}");
    assert!(err.contains("sealog fsck --data"), "{err}");
    let report = fsck(dir.path()).unwrap();
    assert!(!report.is_clean());
    assert!(report.to_string().contains("INCONSISTENT"), "{report}");
}

/// A changed entry, even with a fixed-up checksum, makes open refuse and fsck report it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_entry_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (_, leaves) = filled(dir.path()).await;
    let seg = last_segment(dir.path(), "r");
    let mut bytes = std::fs::read(&seg).unwrap();
    // Entry 7: same length, one letter changed, checksum recomputed.
    let at: usize = leaves[..7].iter().map(|l| l.len() + 8).sum();
    let mut forged = leaves[7].clone();
    let pos = forged.iter().position(|&b| b == b'x').unwrap();
    forged[pos] = b'y';
    bytes[at..at + 8 + forged.len()].copy_from_slice(&record(&forged));
    std::fs::write(&seg, &bytes).unwrap();

    let err = Engine::open(dir.path(), options())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("does not match the last signed checkpoint"),
        "{err}"
    );
    assert!(err.contains("sealog fsck"), "{err}");
    let report = fsck(dir.path()).unwrap();
    assert!(!report.is_clean(), "{report}");
    assert!(report.to_string().contains("entry 7"), "{report}");
}

/// A damaged record in the middle (checksum wrong) is not cut as a torn tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, leaves) = filled(dir.path()).await;
    let seg = last_segment(dir.path(), "r");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at: usize = leaves[..42].iter().map(|l| l.len() + 8).sum::<usize>() + 20;
    bytes[at] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();
    let hashes = std::fs::read(dir.path().join("logs/r/hashes/0")).unwrap();
    assert!(Engine::open(dir.path(), options()).is_err());
    // A refusal changes nothing: the evidence stays for fsck.
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
    assert_eq!(
        std::fs::read(dir.path().join("logs/r/hashes/0")).unwrap(),
        hashes
    );
    assert!(!fsck(dir.path()).unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_refuses_a_second_open() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let err = Engine::open(dir.path(), options())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("in use by another Sealog process"), "{err}");
    assert!(reindex(dir.path()).is_err(), "reindex also needs the lock");
    close(engine);
    close(open(dir.path()));
}

/// Deleted tree hashes and offsets are re-derived from the entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_tree_hashes_are_rederived() {
    let dir = tempfile::tempdir().unwrap();
    let (results, leaves) = filled(dir.path()).await;
    let log_dir = dir.path().join("logs/r");
    std::fs::write(log_dir.join("hashes/0"), b"").unwrap();
    std::fs::write(log_dir.join("offsets"), b"").unwrap();
    assert!(
        !fsck(dir.path()).unwrap().is_clean(),
        "fsck sees what is missing"
    );
    assert_intact(dir.path(), &results, &leaves).await;
}

/// fsck is clean on good data; reindex rebuilds the index, and dedup still holds after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsck_and_reindex_on_good_data() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path()).await;
    std::fs::write(dir.path().join("admin.token"), b"server's").unwrap();
    let report = fsck(dir.path()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(
        report.to_string().contains("log r: ok (500 entries"),
        "{report}"
    );
    assert_eq!(reindex(dir.path()).unwrap(), 500);
    let (engine, log) = open_log(dir.path(), "r");
    assert_eq!(log.stats().index_watermark, 500);
    let results = log.append(events(1, 498..501)).await.unwrap();
    assert_eq!(results[0], Appended::Duplicate { index: 498 });
    assert!(matches!(results[2], Appended::Accepted { index: 500, .. }));
    close(engine);
}
