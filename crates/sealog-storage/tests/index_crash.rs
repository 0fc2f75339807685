//! A crash in the middle of `apply` (the process killed with SIGKILL) leaves an index that is
//! exactly as of its last committed batch, and whose watermark says where to resume.

mod index_support;

use index_support::{Ev, TempDir, events};
use sealog_storage::index::{IdIndex, Query};
use std::process::{Command, Stdio};
use std::time::Duration;

const BATCH: u64 = 250;
const CHILD_DIR: &str = "SEALOG_INDEX_CRASH_DIR";

/// The leaves of batch `k`, made on demand so that the child never runs out of work.
fn batch(k: u64) -> Vec<Ev> {
    events(BATCH, 100 + k)
}

/// The child: applies batches until it is killed. Does nothing when run as a normal test.
#[test]
#[ignore = "run by kill_mid_apply_leaves_a_consistent_index as a child process"]
fn child_applies_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let index = IdIndex::open(dir.as_ref()).unwrap();
    loop {
        let leaves: Vec<Vec<u8>> = batch(index.watermark() / BATCH)
            .iter()
            .map(Ev::leaf)
            .collect();
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        index.apply(index.watermark(), &refs).unwrap();
    }
}

#[test]
fn kill_mid_apply_leaves_a_consistent_index() {
    let dir = TempDir::new("index-crash");
    let mut resumed_from = Vec::new();
    // Kill at a few different moments; each run resumes from where the last one stopped.
    for delay_ms in [150, 400, 250] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_applies_until_killed",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let index = IdIndex::open(dir.path()).unwrap();
        let w = index.watermark();
        assert_eq!(w % BATCH, 0, "only whole batches are ever visible");
        resumed_from.push(w);
        // Everything below the watermark is there, nothing above it.
        let ids: Vec<u128> = (0..w / BATCH + 2).flat_map(batch).map(|e| e.id).collect();
        let found = index.lookup_ids(&ids).unwrap();
        for (i, f) in found.iter().enumerate() {
            assert_eq!(
                *f,
                (i < w as usize).then_some(i as u64),
                "id of leaf {i}, watermark {w}"
            );
        }
        let newest = index
            .query(&Query {
                limit: 1,
                ..Query::default()
            })
            .unwrap();
        assert_eq!(
            newest.indices,
            w.checked_sub(1).into_iter().collect::<Vec<_>>()
        );
        assert_eq!(newest.watermark, w);
    }
    assert!(
        resumed_from.windows(2).all(|w| w[0] <= w[1]),
        "{resumed_from:?}"
    );
    assert!(
        *resumed_from.last().unwrap() > 0,
        "the child never committed a batch"
    );
}
