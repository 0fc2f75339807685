//! kill -9 at random moments under concurrent ingest (issue: crash safety). Each round starts
//! the real server, ingests from several clients while an observer collects checkpoints, kills
//! the process with SIGKILL, restarts it and checks that:
//!
//! - every acknowledged event is still there with the same index (a retry is a `duplicate`
//!   with the original index) and, for a sample, the same leaf hash;
//! - every checkpoint seen before the crash verifies against the log key and is consistent
//!   with the checkpoint after the restart (the consistency proof is verified here);
//! - at the end, `sealog fsck` finds the data directory clean.
//!
//! `SEALOG_KILL_ROUNDS` sets the number of rounds (default 5; the full suite uses 50).

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{Hash, verify_consistency};
use sealog_core::note::Verifier;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Serve, call, event, uuid7};

const CLIENTS: u64 = 3;
const BATCH: u64 = 25;

/// What the clients saw acknowledged: event id → (index, leaf hash).
type Acked = Arc<Mutex<BTreeMap<String, (u64, String)>>>;

fn rounds() -> u64 {
    std::env::var("SEALOG_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// A cheap deterministic pseudo-random sequence, so a failing round can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn open_checkpoint(note: &str, log: &Verifier) -> Checkpoint {
    checkpoint::open(note.as_bytes(), log)
        .unwrap_or_else(|e| panic!("checkpoint does not verify ({e}): {note}"))
        .0
}

fn decode_hash(b64: &str) -> Hash {
    STANDARD.decode(b64).unwrap().try_into().unwrap()
}

/// One client: posts batches of fresh events until `stop`, recording what was acknowledged.
fn ingest(
    url: String,
    token: String,
    client: u64,
    round: u64,
    stop: Arc<AtomicBool>,
    acked: Acked,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<Value> = (0..BATCH)
            .map(|i| event(&uuid7((round << 32) | (client << 24) | (n + i)), "crash"))
            .collect();
        n += BATCH;
        let body = json!({ "events": events }).to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let reply = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes());
        // The server may die at any moment; only a complete 200 is an acknowledgement.
        let Ok(mut reply) = reply else { break };
        if reply.status() != 200 {
            continue;
        }
        let Ok(text) = reply.body_mut().read_to_string() else {
            break;
        };
        let reply: Value = serde_json::from_str(&text).unwrap();
        let mut acked = acked.lock().unwrap();
        for (r, e) in reply["results"].as_array().unwrap().iter().zip(&events) {
            assert_eq!(r["status"], "accepted", "{r}");
            let id = e["id"].as_str().unwrap().to_owned();
            acked.insert(
                id,
                (
                    r["index"].as_u64().unwrap(),
                    r["leaf_hash"].as_str().unwrap().to_owned(),
                ),
            );
        }
    }
}

#[test]
fn kill_9_under_concurrent_ingest_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // With a checkpoint lock, so that every restart also shows the lock is never ahead of
    // what recovery finds (a restart it refused would fail the round).
    let lock = dir.path().join("lock");
    let flags = [
        "--checkpoint-interval-ms",
        "20",
        "--rate-limit",
        "0",
        "--checkpoint-lock",
        lock.to_str().unwrap(),
    ];
    let acked: Acked = Arc::default();
    let mut seen_checkpoints: Vec<String> = Vec::new();
    let mut seed = 0x005e_a106_u64;
    let mut server = Serve::start(&data, &flags);
    let token = server.admin_token();
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&token),
        None,
    )
    .json();
    let log_key = Verifier::from_vkey(info["vkey"].as_str().unwrap()).unwrap();

    for round in 0..rounds() {
        let stop = Arc::new(AtomicBool::new(false));
        let events = format!("{}/v1/logs/default/events", server.url);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (url, token, stop, acked) =
                    (events.clone(), token.clone(), stop.clone(), acked.clone());
                std::thread::spawn(move || ingest(url, token, c, round, stop, acked))
            })
            .collect();
        let checkpoint_url = format!("{}/v1/logs/default/checkpoint", server.url);
        let deadline =
            std::time::Instant::now() + Duration::from_millis(100 + next(&mut seed) % 600);
        while std::time::Instant::now() < deadline {
            let cp = call("GET", &checkpoint_url, Some(&token), None);
            if cp.status == 200 && !seen_checkpoints.contains(&cp.body) {
                seen_checkpoints.push(cp.body);
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().expect("a client thread panicked");
        }

        server = Serve::start(&data, &flags);
        check_after_restart(
            &server,
            &token,
            &log_key,
            &acked,
            &seen_checkpoints,
            &mut seed,
        );
    }
    let acknowledged = acked.lock().unwrap().len() as u64;
    eprintln!(
        "{} rounds: {acknowledged} events acknowledged, {} checkpoints seen, all intact",
        rounds(),
        seen_checkpoints.len()
    );
    assert!(
        acknowledged >= rounds() * BATCH,
        "too little was acknowledged to test anything"
    );
    assert_eq!(server.terminate().code(), Some(0));
    let fsck = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["fsck", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(fsck.status.success(), "fsck: {fsck:?}");
}

fn check_after_restart(
    server: &Serve,
    token: &str,
    log_key: &Verifier,
    acked: &Acked,
    seen: &[String],
    seed: &mut u64,
) {
    let acked = acked.lock().unwrap().clone();
    // Every acknowledged event: a retry is a duplicate with the original index.
    let url = format!("{}/v1/logs/default/events", server.url);
    let all: Vec<(&String, &(u64, String))> = acked.iter().collect();
    for chunk in all.chunks(1000) {
        let events: Vec<Value> = chunk.iter().map(|(id, _)| event(id, "crash")).collect();
        let body = json!({ "events": events }).to_string();
        let reply = call("POST", &url, Some(token), Some(body.as_bytes()));
        assert_eq!(reply.status, 200, "{}", reply.body);
        for (r, (id, (index, _))) in reply.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .zip(chunk)
        {
            assert_eq!(
                r["status"], "duplicate",
                "{id} was acknowledged before the crash: {r}"
            );
            assert_eq!(r["index"].as_u64(), Some(*index), "{id} moved");
        }
    }
    // A sample keeps its leaf hash (read back through the query index, which catches up).
    for _ in 0..10.min(all.len()) {
        let (id, (index, leaf_hash)) = all[(next(seed) % all.len() as u64) as usize];
        let got = wait_for_event(server, token, id);
        assert_eq!(got["index"].as_u64(), Some(*index));
        assert_eq!(
            got["leaf_hash"].as_str(),
            Some(leaf_hash.as_str()),
            "{id} changed"
        );
    }
    // Every checkpoint seen before is consistent with the one after.
    let now = call(
        "GET",
        &format!("{}/v1/logs/default/checkpoint", server.url),
        Some(token),
        None,
    );
    let now = open_checkpoint(&now.body, log_key);
    assert!(
        now.size as usize >= acked.len(),
        "the tree lost acknowledged entries"
    );
    for old in seen {
        let old = open_checkpoint(old, log_key);
        assert!(
            old.size <= now.size,
            "a checkpoint of size {} was seen before a restart at {}",
            old.size,
            now.size
        );
        if old.size == 0 || old.size == now.size {
            assert!(
                old.size == 0 || old.root == now.root,
                "two checkpoints of size {} differ",
                old.size
            );
            continue;
        }
        let q = format!(
            "{}/v1/logs/default/proofs/consistency?from={}&to={}",
            server.url, old.size, now.size
        );
        let proof = call("GET", &q, Some(token), None).json();
        let proof: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| decode_hash(h.as_str().unwrap()))
            .collect();
        verify_consistency(old.size, now.size, &proof, &old.root, &now.root).unwrap_or_else(|e| {
            panic!(
                "checkpoint {} is not consistent with {}: {e}",
                old.size, now.size
            )
        });
    }
}

fn wait_for_event(server: &Serve, token: &str, id: &str) -> Value {
    let url = format!("{}/v1/logs/default/events/{id}", server.url);
    for _ in 0..200 {
        let r = call("GET", &url, Some(token), None);
        if r.status == 200 {
            return r.json();
        }
        assert_eq!(r.status, 404, "{}", r.body);
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{id} is not readable 10 s after the restart");
}
