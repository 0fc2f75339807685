//! The checkpoint history: kept across restarts, its torn tail cut, a checkpoint file older
//! than it refused, and every checkpoint in it checked by fsck.

mod engine_support;

use engine_support::*;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::note::Signer;
use sealog_storage::{Engine, fsck};
use std::io::Write;
use std::path::{Path, PathBuf};

fn history_file(dir: &Path) -> PathBuf {
    dir.join("logs").join("h").join("checkpoints")
}

/// A history record as the engine writes it, for a checkpoint signed with the log's own key.
fn signed_record(dir: &Path, size: u64, root: [u8; 32]) -> Vec<u8> {
    let skey = std::fs::read_to_string(dir.join("logs").join("h").join("key")).unwrap();
    let signer = Signer::from_skey(skey.trim()).unwrap();
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size,
        root,
        extensions: Vec::new(),
    };
    let mut data = 1_700_000_000_000_000i64.to_le_bytes().to_vec();
    data.extend_from_slice(&checkpoint::sign(&cp, &signer));
    record(&data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_checkpoint_is_kept_and_offered_to_later_packs() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "h");
    log.append(events(1, 0..100)).await.unwrap();
    let first = log.wait_checkpoint(100).await.unwrap();
    // Within the spacing (a minute) later checkpoints are not kept.
    log.append(events(1, 100..300)).await.unwrap();
    let latest = log.wait_checkpoint(300).await.unwrap();
    close(engine);

    let good_len = std::fs::metadata(history_file(dir.path())).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(history_file(dir.path()))
        .unwrap();
    f.write_all(&signed_record(dir.path(), 300, latest.root)[..40])
        .unwrap();
    drop(f);

    let (engine, log) = open_log(dir.path(), "h");
    assert_eq!(
        std::fs::metadata(history_file(dir.path())).unwrap().len(),
        good_len,
        "the torn tail is cut on open"
    );
    let earlier = log.earlier_checkpoints(log.checkpoint().size, 64).unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(
        (earlier[0].size, earlier[0].note.clone()),
        (100, first.note)
    );
    assert!(log.earlier_checkpoints(100, 64).unwrap().is_empty());
    close(engine);
    assert!(fsck(dir.path()).unwrap().is_clean());
}

/// A data directory whose checkpoint file went back in time (a partial restore from a backup)
/// would let the log sign a second, different tree of a size it already signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_file_older_than_the_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "h");
    let cp_path = dir.path().join("logs").join("h").join("checkpoint");
    let empty = std::fs::read(&cp_path).unwrap();
    log.append(events(1, 0..50)).await.unwrap();
    log.wait_checkpoint(50).await.unwrap();
    close(engine);

    std::fs::write(&cp_path, empty).unwrap();
    let err = Engine::open(dir.path(), options())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("signed checkpoint of size 50 but its checkpoint file only size 0"),
        "{err}"
    );
    let report = fsck(dir.path()).unwrap();
    assert!(!report.is_clean());
    assert!(
        report.to_string().contains("restored from a backup"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsck_checks_every_checkpoint_of_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "h");
    log.append(events(1, 0..80)).await.unwrap();
    log.wait_checkpoint(80).await.unwrap();
    log.append(events(1, 80..90)).await.unwrap();
    log.wait_checkpoint(90).await.unwrap();
    close(engine);
    assert!(fsck(dir.path()).unwrap().is_clean());

    // A checkpoint of size 85 that the log's key signed but the entries do not produce.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(history_file(dir.path()))
        .unwrap();
    f.write_all(&signed_record(dir.path(), 85, [7; 32]))
        .unwrap();
    drop(f);
    let report = fsck(dir.path()).unwrap();
    assert!(!report.is_clean());
    assert!(
        report
            .to_string()
            .contains("the root of the first 85 entries differs"),
        "{report}"
    );
}
