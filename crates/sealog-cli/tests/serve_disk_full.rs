//! A full disk, for real: the server's data directory on a small tmpfs (this test mounts one,
//! so it runs as root, as CI does). A batch that does not fit is answered 503 and none of it
//! is stored; once space returns, its retry stores every event anew.

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Serve, call, event, uuid7};

/// A tmpfs of `mib` MiB mounted at a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u32) -> Tmpfs {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("small");
        std::fs::create_dir(&dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "this test mounts a tmpfs and must run as root"
        );
        Tmpfs {
            dir,
            _parent: parent,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the file system of `dir` until a write fails, with a file called `filler`.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    path
}

/// `n` events from `first` on, each with 20,000 bytes of attributes.
fn batch(first: u64, n: u64) -> Vec<u8> {
    let events: Vec<_> = (first..first + n)
        .map(|i| {
            let mut e = event(&uuid7(i), "a");
            e["attributes"] = json!({ "blob": "y".repeat(20_000) });
            e
        })
        .collect();
    json!({ "events": events }).to_string().into_bytes()
}

#[test]
fn a_batch_refused_for_a_full_disk_is_stored_whole_or_not_at_all() {
    let fs = Tmpfs::mount(16);
    let server = Serve::start(&fs.dir.join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    let r = call("POST", &events, Some(&admin), Some(&batch(0, 10)));
    assert_eq!(r.status, 200, "{}", r.body);

    let filler = fill(&fs.dir);
    let refused = call("POST", &events, Some(&admin), Some(&batch(100, 50)));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("None of this request's events were stored"),
        "{}",
        refused.body
    );

    // Space returns: the log reopens by itself, and the retry stores all 50 anew.
    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let retried = loop {
        let r = call("POST", &events, Some(&admin), Some(&batch(100, 50)));
        if r.status != 503 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        retried.status,
        200,
        "{}",
        &retried.body[..retried.body.len().min(300)]
    );
    let body = retried.json();
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(50), Some(0)),
        "nothing of the refused batch was kept: {}",
        &retried.body[..retried.body.len().min(300)]
    );
    let r = call(
        "GET",
        &format!("{events}/{}", uuid7(149)),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    drop(server);
}
