//! `sealog witness serve`, the real binary over real HTTP: a log built independently of
//! Sealog (Python, hashlib and `cryptography`) gets every status tlog-witness names; the
//! check-and-set holds under concurrent requests; the state survives a kill -9; rate limits
//! and metrics.

mod support;
mod witness;

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{MemoryTree, consistency_proof, leaf_hash};
use sealog_core::note::Signer;
use std::path::Path;
use std::process::Command;
use support::call_with;
use witness::Witness;

fn python() -> String {
    std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/witness/independent_log.py"
);

#[test]
fn an_independent_python_log_gets_every_status_the_spec_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python())
        .args([SCRIPT, "vkey"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log_vkey = String::from_utf8(out.stdout).unwrap();
    // The witness network's list format, as a third party would be given it.
    let list = dir.path().join("logs");
    std::fs::write(
        &list,
        format!("logs/v0\nrevision 1\n\nvkey {log_vkey}qpd 864000\n"),
    )
    .unwrap();
    let w = Witness::start(
        &dir.path().join("w"),
        &list,
        "127.0.0.1:0",
        &["--name", "w.test/1"],
    );
    let out = Command::new(python())
        .args([SCRIPT, "run", &w.url, &w.vkey()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok "), "{stdout}");
}

/// A log made with Sealog's own formats code, to drive the witness from Rust.
struct Log {
    signer: Signer,
    tree: MemoryTree,
}

impl Log {
    fn new(name: &str) -> Log {
        Log {
            signer: Signer::from_seed(name, [9; 32]).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    fn grow_to(&mut self, size: u64) {
        while self.tree.size() < size {
            self.tree.push(leaf_hash(&self.tree.size().to_be_bytes()));
        }
    }

    /// The add-checkpoint body for the current tree, from `old`.
    fn request(&self, old: u64) -> Vec<u8> {
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size: self.tree.size(),
            root: self.tree.root(),
            extensions: Vec::new(),
        };
        let mut body = format!("old {old}\n");
        if old > 0 {
            for h in consistency_proof(&self.tree, old, cp.size).unwrap() {
                body.push_str(&base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    h,
                ));
                body.push('\n');
            }
        }
        body.push('\n');
        let mut body = body.into_bytes();
        body.extend(checkpoint::sign(&cp, &self.signer));
        body
    }
}

fn post(w: &Witness, body: &[u8]) -> support::Reply {
    call_with(
        "POST",
        &format!("{}/add-checkpoint", w.url),
        None,
        &[],
        Some(body),
    )
}

fn policy_list(dir: &Path, log: &Log) -> std::path::PathBuf {
    let path = dir.join("policy");
    std::fs::write(&path, format!("log {}\nquorum none\n", log.signer.vkey())).unwrap();
    path
}

#[test]
fn concurrent_requests_from_one_size_get_one_cosignature_and_the_rest_409() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new("race.test/log");
    let w = Witness::start(
        &dir.path().join("w"),
        &policy_list(dir.path(), &log),
        "127.0.0.1:0",
        &["--rate", "1000"],
    );
    log.grow_to(1);
    assert_eq!(post(&w, &log.request(0)).status, 200);
    let bodies: Vec<Vec<u8>> = (2..=17)
        .map(|n| {
            log.grow_to(n);
            log.request(1)
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies.iter().map(|b| s.spawn(|| post(&w, b))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().status)
            .collect()
    });
    let winners: Vec<usize> = (0..statuses.len())
        .filter(|&i| statuses[i] == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 409),
        "{statuses:?}"
    );
    // Whoever won, the witness now holds that size: a request from it is consistent.
    let won = winners[0] as u64 + 2;
    let reply = post(&w, &log.request(0));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (409, format!("{won}\n").as_str())
    );
    assert_eq!(post(&w, &log.request(won)).status, 200);
}

#[test]
fn the_cosigned_state_and_key_survive_a_kill_and_the_metrics_say_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new("restart.test/log");
    let list = policy_list(dir.path(), &log);
    let data = dir.path().join("w");
    let w = Witness::start(&data, &list, "127.0.0.1:0", &[]);
    let vkey = w.vkey();
    log.grow_to(3);
    let reply = post(&w, &log.request(0));
    assert_eq!(reply.status, 200, "{}", reply.body);
    w.kill();
    let w = Witness::start(&data, &list, "127.0.0.1:0", &[]);
    assert_eq!(w.vkey(), vkey, "the key is kept");
    log.grow_to(4);
    let reply = post(&w, &log.request(0));
    assert_eq!(
        (
            reply.status,
            reply.content_type.as_str(),
            reply.body.as_str()
        ),
        (409, "text/x.tlog.size", "3\n")
    );
    assert_eq!(post(&w, &log.request(3)).status, 200);
    let health = call_with("GET", &format!("{}/healthz", w.url), None, &[], None);
    assert_eq!(health.status, 200);
    let metrics = call_with("GET", &format!("{}/metrics", w.url), None, &[], None).body;
    for line in [
        "sealog_witness_add_checkpoint_total{origin=\"restart.test/log\",status=\"409\"} 1",
        "sealog_witness_add_checkpoint_total{origin=\"restart.test/log\",status=\"200\"} 1",
        "sealog_witness_cosigned_size{origin=\"restart.test/log\"} 4",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
    let hash = sealog_witness::http::origin_hash("restart.test/log");
    let latest = call_with(
        "GET",
        &format!("{}/{hash}/checkpoint", w.url),
        None,
        &[],
        None,
    );
    assert_eq!(latest.status, 200);
    assert!(
        latest.body.starts_with("restart.test/log\n4\n"),
        "{}",
        latest.body
    );
    let unknown = sealog_witness::http::origin_hash("other.test/log");
    let none = call_with(
        "GET",
        &format!("{}/{unknown}/checkpoint", w.url),
        None,
        &[],
        None,
    );
    assert_eq!(none.status, 404);
}

#[test]
fn a_log_over_its_rate_gets_429_with_retry_after_and_a_name_mismatch_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new("rate.test/log");
    let list = policy_list(dir.path(), &log);
    let data = dir.path().join("w");
    let w = Witness::start(
        &data,
        &list,
        "127.0.0.1:0",
        &["--rate", "0.01", "--name", "w.test/r"],
    );
    log.grow_to(2);
    assert_eq!(post(&w, &log.request(0)).status, 200);
    let reply = post(&w, &log.request(2));
    assert_eq!(reply.status, 429, "{}", reply.body);
    let wait: u64 = reply.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=100).contains(&wait), "{wait}");
    drop(w);
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args([
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "w.test/other",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--log-list")
        .arg(&list)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is named \"w.test/r\"") && stderr.contains("--name"),
        "{stderr}"
    );
}
