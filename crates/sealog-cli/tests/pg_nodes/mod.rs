//! Several `sealog serve` nodes over one PostgreSQL store, for the tests that run them: the
//! nodes, their requests (which may find a node dead), and the checks of their checkpoints.

#![allow(dead_code)] // each test binary uses a different subset

use crate::support::pg_support::TestDb;
use crate::support::{Reply, Serve, call, event, uuid7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{Hash, verify_consistency};
use sealog_core::note::Verifier;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The admin key every node is started with (the nodes share one key store, in the database).
pub fn admin() -> String {
    format!("slk_0123456789abcdef_{}", "k".repeat(43))
}

/// The lease of the test nodes: short, so that a takeover takes about a second.
pub const LEASE_MS: &str = "1000";

/// A node over `db` with its own data directory `data`.
pub fn node(db: &TestDb, data: &Path, key_file: &Path) -> Serve {
    node_at(db, data, key_file, "127.0.0.1:0")
}

/// A node over `db` with its own data directory `data`, listening on `listen`.
pub fn node_at(db: &TestDb, data: &Path, key_file: &Path, listen: &str) -> Serve {
    start(
        db,
        data,
        key_file,
        listen,
        &[("SEALOG_ADMIN_KEY", &admin())],
    )
}

/// A node over `db` started without an admin key of its own: the first start of a store
/// makes one and writes it to `data/admin.token`.
pub fn node_making_admin_key(db: &TestDb, data: &Path, key_file: &Path) -> Serve {
    start(db, data, key_file, "127.0.0.1:0", &[])
}

fn start(db: &TestDb, data: &Path, key_file: &Path, listen: &str, envs: &[(&str, &str)]) -> Serve {
    let url = db.url();
    let key = key_file.to_str().unwrap();
    let args = [
        "--listen",
        listen,
        "--name",
        "test.local",
        "--store",
        &url,
        "--store-key-file",
        key,
        "--lease-ms",
        LEASE_MS,
        "--checkpoint-interval-ms",
        "100",
    ];
    Serve::start_with(data, &args, envs)
}

/// A store key file, mode 0600.
pub fn key_file(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("store.key");
    std::fs::write(&path, format!("{}\n", "3c".repeat(32))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Posts events `ns` to `server`'s log `default`.
pub fn post(server: &Serve, ns: std::ops::Range<u64>) -> Reply {
    let events: Vec<Value> = ns.map(|n| event(&uuid7(n), "pg")).collect();
    post_events(server, &events)
}

/// Posts `events` to `server`'s log `default`.
pub fn post_events(server: &Serve, events: &[Value]) -> Reply {
    let body = json!({ "events": events }).to_string();
    let url = format!("{}/v1/logs/default/events", server.url);
    call("POST", &url, Some(&admin()), Some(body.as_bytes()))
}

/// The indices `reply` gave, with their status.
pub fn results(reply: &Reply) -> Vec<(String, u64)> {
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["index"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `server`'s latest checkpoint of `default`, as served.
pub fn served_checkpoint(server: &Serve) -> String {
    let url = format!("{}/v1/logs/default/checkpoint", server.url);
    let reply = call("GET", &url, Some(&admin()), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Signals `server` with `signal` (STOP, CONT).
pub fn signal(server: &Serve, signal: &str) {
    let pid = server.pid().to_string();
    let status = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(status.success());
}

pub fn open(note: &str, key: &Verifier) -> Checkpoint {
    checkpoint::open(note.as_bytes(), key)
        .unwrap_or_else(|e| panic!("checkpoint does not verify ({e}): {note}"))
        .0
}

/// Checks that `old` is consistent with `new`, with a proof `server` serves.
pub fn check_consistent(server: &Serve, old: &Checkpoint, new: &Checkpoint) {
    assert!(old.size <= new.size, "{} after {}", new.size, old.size);
    if old.size == new.size {
        assert_eq!(old.root, new.root, "two checkpoints of size {}", old.size);
        return;
    }
    if old.size == 0 {
        return; // every tree extends the empty one
    }
    let q = format!(
        "{}/v1/logs/default/proofs/consistency?from={}&to={}",
        server.url, old.size, new.size
    );
    let reply = call("GET", &q, Some(&admin()), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let proof: Vec<Hash> = reply.json()["proof"]
        .as_array()
        .expect("a proof")
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
        .unwrap_or_else(|e| panic!("{} is not consistent with {}: {e}", old.size, new.size));
}

/// Collects every distinct checkpoint the nodes at `urls` serve and the database holds,
/// until `stop`.
pub fn observe(
    urls: Vec<String>,
    db_url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen: Vec<String> = Vec::new();
        let db = TestDb::existing(&db_url);
        while !stop.load(Ordering::SeqCst) {
            for url in &urls {
                let url = format!("{url}/v1/logs/default/checkpoint");
                if let Some((200, body)) = try_call("GET", &url, None)
                    && !seen.contains(&body)
                {
                    seen.push(body);
                }
            }
            for note in db.column("SELECT convert_from(checkpoint_note, 'UTF8') FROM sealog_logs") {
                if !seen.contains(&note) {
                    seen.push(note);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        seen
    })
}

/// Sends one request as the admin, or `None` if the node did not answer (dead, paused past
/// the timeout).
pub fn try_call(method: &str, url: &str, body: Option<&[u8]>) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {}", admin()))
        .header("Content-Type", "application/json")
        .body(body.unwrap_or_default().to_vec())
        .unwrap();
    let mut resp = agent.run(req).ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.body_mut().read_to_string().unwrap_or_default()))
}

/// The pid of the node holding the lease of log `name`, once one does.
pub fn leader_pid(db: &TestDb, name: &str) -> u32 {
    for _ in 0..200 {
        let holder = db.column(&format!(
            "SELECT coalesce(lease_holder, '') FROM sealog_logs \
             WHERE name = '{name}' AND lease_expires > clock_timestamp()"
        ));
        if let Some(pid) = holder.first().and_then(|h| h.split('/').nth(1)) {
            return pid.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no node took the lease of log {name}");
}

/// The receipt of event `id` of log `default` as `server` serves it, verified against
/// `key`: the index it proves.
pub fn verified_receipt(server: &Serve, id: &str, key: &Verifier) -> u64 {
    let url = format!("{}/v1/logs/default/events/{id}/proof", server.url);
    let reply = call("GET", &url, Some(&admin()), None);
    assert_eq!(
        reply.status, 200,
        "the receipt of {id} from {}: {}",
        server.url, reply.body
    );
    sealog_core::receipt::verify(reply.body.as_bytes(), key, None)
        .unwrap_or_else(|e| {
            panic!(
                "the receipt of {id} from {} does not verify: {e}",
                server.url
            )
        })
        .index
}
