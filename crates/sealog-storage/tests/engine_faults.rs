//! Fault injection at the storage layer: whatever write or fsync fails, and whether it took
//! effect or not, the engine acknowledges only durable events, and reopening yields a
//! consistent log holding every acknowledged event. Also a full disk.

mod engine_support;

use engine_support::*;
use sealog_core::leaf;
use sealog_core::merkle::verify_consistency;
use sealog_storage::faults::{Effect, Fault, FaultInjector, Op};
use sealog_storage::{AppendError, Appended, Engine, REOPEN_INTERVAL, SignedCheckpoint, fsck};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fails each operation with probability `per_mille`/1000 once armed, with a random effect;
/// while `full`, fails every write as a full disk does; once `dead` (the power is cut), no
/// operation takes effect. Remembers what each fsync made durable.
struct Random {
    armed: AtomicBool,
    full: AtomicBool,
    dead: AtomicBool,
    synced: Mutex<HashMap<u64, u64>>,
    state: AtomicU64,
    per_mille: u64,
}

impl Random {
    fn new(seed: u64, per_mille: u64) -> Arc<Random> {
        Arc::new(Random {
            armed: AtomicBool::new(false),
            full: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            synced: Mutex::default(),
            state: AtomicU64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            per_mille,
        })
    }

    /// xorshift64: deterministic per seed (up to thread interleaving).
    fn next(&self) -> u64 {
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::Relaxed);
        x
    }
}

impl FaultInjector for Random {
    fn synced(&self, inode: u64, len: u64) {
        self.synced.lock().unwrap().insert(inode, len);
    }

    fn decide(&self, op: Op) -> Option<Fault> {
        if self.dead.load(Ordering::Relaxed) {
            return Some(Fault {
                effect: Effect::NotPersisted,
                kind: ErrorKind::Other,
            });
        }
        if self.full.load(Ordering::Relaxed) && op == Op::Write {
            return Some(Fault {
                effect: Effect::Torn,
                kind: ErrorKind::StorageFull,
            });
        }
        if !self.armed.load(Ordering::Relaxed) || self.next() % 1000 >= self.per_mille {
            return None;
        }
        let effect =
            [Effect::NotPersisted, Effect::Torn, Effect::Persisted][(self.next() % 3) as usize];
        Some(Fault {
            effect,
            kind: ErrorKind::Other,
        })
    }
}

/// Acknowledged results, with the ids they were for, and checkpoints seen.
type Seen = (Vec<(u128, Appended)>, Vec<SignedCheckpoint>);

/// Appends from 4 tasks until each is refused or done.
async fn ingest(log: &sealog_storage::Log) -> Seen {
    let mut tasks = Vec::new();
    for task in 0..4u16 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut cps) = (Vec::new(), Vec::new());
            for call in 0..15u64 {
                let batch = events(task, call * 20..call * 20 + 20);
                let ids: Vec<u128> = batch.iter().map(|e| e.id).collect();
                match log.append(batch).await {
                    Ok(results) => acked.extend(ids.into_iter().zip(results)),
                    Err(AppendError::Unavailable(_)) => break,
                    Err(e) => panic!("unexpected {e}"),
                }
                cps.push(log.checkpoint());
            }
            (acked, cps)
        }));
    }
    let (mut acked, mut cps) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, c) = t.await.unwrap();
        acked.extend(a);
        cps.extend(c);
    }
    (acked, cps)
}

/// Test options with a checkpoint lock in `lock`, so that every run also shows the lock is
/// never ahead of what recovery finds.
fn locked(lock: &tempfile::TempDir) -> sealog_storage::EngineOptions {
    sealog_storage::EngineOptions {
        checkpoint_lock: Some(lock.path().to_owned()),
        ..options()
    }
}

/// Reopens without faults (and with the run's checkpoint lock) and checks every
/// acknowledged event and seen checkpoint.
async fn check_reopened(dir: &std::path::Path, lock: &tempfile::TempDir, (acked, cps): &Seen) {
    let engine = Engine::open(dir, locked(lock)).expect("reopening always works");
    let log = engine.log("f").expect("log");
    let last = log.wait_checkpoint(log.size()).await.unwrap();
    for (id, result) in acked {
        let (Appended::Accepted { index, .. } | Appended::Duplicate { index }) = *result;
        assert_eq!(log.find_id(*id).unwrap(), Some(index), "acked event lost");
        if let Appended::Accepted { leaf_hash, .. } = result {
            let stored = log.entries(index, index + 1).unwrap();
            assert_eq!(leaf::hash(&stored[0]), *leaf_hash);
        }
    }
    for cp in cps.iter().filter(|cp| cp.size > 0) {
        assert!(cp.size <= last.size);
        let proof = log.consistency_proof(cp.size, last.size).unwrap();
        verify_consistency(cp.size, last.size, &proof, &cp.root, &last.root)
            .expect("every checkpoint seen is consistent with the one after reopening");
    }
    close(engine);
    let report = fsck(dir).unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_never_lose_acknowledged_events() {
    let mut stopped = 0;
    for seed in 0..40 {
        let (dir, lock) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let faults = Random::new(seed, 30);
        let engine = Engine::open_with_faults(dir.path(), locked(&lock), faults.clone()).unwrap();
        let log = engine.create_log("f", "test.example/f").unwrap();
        faults.armed.store(true, Ordering::Relaxed);
        let seen = ingest(&log).await;
        // The handle is the one that met the fault (the engine may reopen the log later).
        stopped += usize::from(log.ready().is_err());
        let _ = engine.shutdown(); // may report the failure that stopped the log
        drop((engine, log));
        check_reopened(dir.path(), &lock, &seen).await;
    }
    assert!(
        stopped > 10,
        "faults were injected in most runs ({stopped}/40)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_clearly_and_recovers_when_space_returns() {
    let (dir, lock) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let faults = Random::new(1, 0);
    let engine = Engine::open_with_faults(dir.path(), locked(&lock), faults.clone()).unwrap();
    let log = engine.create_log("f", "test.example/f").unwrap();
    let before = log.append(events(1, 0..50)).await.unwrap();
    faults.full.store(true, Ordering::Relaxed);
    let Err(AppendError::Unavailable(why)) = log.append(events(1, 50..60)).await else {
        panic!("a full disk must refuse");
    };
    assert!(why.contains("free disk space"), "{why}");
    assert!(
        why.contains("None of this request's events were stored"),
        "{why}"
    );
    assert!(engine.ready().is_err());
    assert!(matches!(
        log.append(events(1, 60..61)).await,
        Err(AppendError::Unavailable(_))
    ));
    // Still full: reopening fails, and the log keeps refusing with the reason.
    std::thread::sleep(REOPEN_INTERVAL);
    let still = engine.log("f").unwrap();
    let refused = still.append(events(1, 60..61)).await;
    assert!(
        matches!(refused, Err(AppendError::Unavailable(_))),
        "{refused:?}"
    );

    // Space returns: the next lookup after the interval reopens the log, without a restart.
    faults.full.store(false, Ordering::Relaxed);
    std::thread::sleep(REOPEN_INTERVAL);
    engine.ready().unwrap();
    let log = engine.log("f").unwrap();
    assert_eq!(
        log.entries(0, 50).unwrap().len(),
        50,
        "acknowledged events are all there"
    );
    // The refused batch was taken back out whole (its torn write cut): a retry stores every
    // one of its events, at the indices that follow the acknowledged.
    let results = log.append(events(1, 50..60)).await.unwrap();
    for (i, r) in results.iter().enumerate() {
        let Appended::Accepted { index, .. } = *r else {
            panic!("part of the refused batch was kept: {results:?}");
        };
        assert_eq!(index, 50 + i as u64, "{results:?}");
    }
    log.wait_checkpoint(60).await.unwrap();
    close(engine);
    drop(log);

    let acked: Vec<_> = events(1, 0..60).iter().map(|e| e.id).collect();
    let seen = (
        acked
            .into_iter()
            .zip(before.into_iter().chain(results))
            .collect(),
        Vec::new(),
    );
    check_reopened(dir.path(), &lock, &seen).await;
}

/// What a power cut does to the log's files: everything written after the file's last
/// fsync is lost (files never fsynced since creation lose everything).
fn cut_power(dir: &std::path::Path, faults: &Random) {
    let log = dir.join("logs/f");
    let mut files = vec![log.join("offsets")];
    for sub in ["entries", "hashes"] {
        for entry in std::fs::read_dir(log.join(sub)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let synced = faults.synced.lock().unwrap();
    for path in files {
        let meta = std::fs::metadata(&path).unwrap();
        let keep = synced.get(&meta.ino()).copied().unwrap_or(0);
        if meta.len() > keep {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(keep).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_at_any_moment_loses_nothing_acknowledged() {
    for seed in 0..25u64 {
        let (dir, lock) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let faults = Random::new(seed, 5);
        let engine = Engine::open_with_faults(dir.path(), locked(&lock), faults.clone()).unwrap();
        let log = engine.create_log("f", "test.example/f").unwrap();
        faults.armed.store(true, Ordering::Relaxed);
        let running = tokio::spawn({
            let log = log.clone();
            async move { ingest(&log).await }
        });
        tokio::time::sleep(Duration::from_millis(seed * 7 % 60)).await;
        faults.dead.store(true, Ordering::Relaxed);
        let seen = running.await.unwrap();
        let _ = engine.shutdown();
        drop((engine, log));
        cut_power(dir.path(), &faults);
        check_reopened(dir.path(), &lock, &seen).await;
    }
}
