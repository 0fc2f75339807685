//! Failover under load: three `sealog serve` nodes over one PostgreSQL store, clients on all
//! three (any node takes any request: a client moves on only from a dead node, and retries a
//! 503 with Retry-After while the dead leader's lease runs out, but never sees
//! `log_on_standby`), and the writing node killed with SIGKILL several times and restarted.
//! Every acknowledged event keeps its index, no index is given twice, its receipt verifies
//! from every node, and every checkpoint any node served or the database held is one
//! history.

mod pg_nodes;
mod support;

use pg_nodes::*;
use sealog_core::note::Verifier;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::pg_support::TestDb;
use support::{Serve, event, uuid7};

const NODES: usize = 3;
const KILLS: usize = 3;
const BATCH: u64 = 20;

/// What clients saw acknowledged: event id → index.
type Acked = Arc<Mutex<BTreeMap<String, u64>>>;

/// One client: posts batches of fresh events (ids `client << 32 | n`) starting at node
/// `client`, moving to the next node when one does not answer, until `stop`.
fn client(
    urls: Vec<String>,
    client: u64,
    acked: Acked,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut n = 0;
        let mut at = client as usize % urls.len();
        while !stop.load(Ordering::SeqCst) {
            let ids: Vec<String> = (n..n + BATCH).map(|i| uuid7(client << 32 | i)).collect();
            let events: Vec<_> = ids.iter().map(|id| event(id, "failover")).collect();
            let body = json!({ "events": events }).to_string();
            let url = format!("{}/v1/logs/default/events", urls[at]);
            match try_call("POST", &url, Some(body.as_bytes())) {
                Some((200, body)) => {
                    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let mut acked = acked.lock().unwrap();
                    for (id, r) in ids.into_iter().zip(reply["results"].as_array().unwrap()) {
                        // A duplicate: the batch was stored before a killed node could
                        // answer, and this retry learns its index.
                        assert!(
                            r["status"] == "accepted" || r["status"] == "duplicate",
                            "{r}"
                        );
                        acked.insert(id, r["index"].as_u64().unwrap());
                    }
                    n += BATCH;
                }
                // The leader is dead (its lease not yet run out) or refused the group: the
                // same batch again, to the same node.
                Some((503, body)) => {
                    assert!(!body.contains("log_on_standby"), "{body}");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some((status, body)) => panic!("{status}: {body}"),
                // Dead: the same batch goes to the next node.
                None => {
                    at = (at + 1) % urls.len();
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    })
}

#[test]
fn killing_the_writing_node_under_load_loses_nothing_acknowledged() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let data = |i: usize| dir.path().join(format!("node{i}"));
    let mut nodes: Vec<Serve> = (0..NODES).map(|i| node(&db, &data(i), &key)).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
    let info = try_call("GET", &format!("{}/v1/logs/default", urls[0]), None).unwrap();
    let info: serde_json::Value = serde_json::from_str(&info.1).unwrap();
    let log_key = Verifier::from_vkey(info["vkey"].as_str().unwrap()).unwrap();

    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let observer = observe(urls.clone(), db.url(), stop.clone());
    let clients: Vec<_> = (0..NODES as u64)
        .map(|c| client(urls.clone(), c, acked.clone(), stop.clone()))
        .collect();
    let mut failovers = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(800));
        let pid = leader_pid(&db, "default");
        let at = nodes
            .iter()
            .position(|n| n.pid() == pid)
            .expect("a node leads");
        let before = acked.lock().unwrap().len();
        let killed = Instant::now();
        let dead = nodes.remove(at);
        let url = dead.url.clone();
        dead.kill();
        nodes.insert(
            at,
            node_at(&db, &data(at), &key, url.trim_start_matches("http://")),
        );
        // Failed over once another group is acknowledged.
        while acked.lock().unwrap().len() == before {
            assert!(killed.elapsed() < Duration::from_secs(10), "no failover");
            std::thread::sleep(Duration::from_millis(10));
        }
        failovers.push(killed.elapsed());
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    clients.into_iter().for_each(|c| c.join().unwrap());
    let seen = observer.join().unwrap();

    // No index was given twice, and every acknowledged event keeps its index.
    let acked = acked.lock().unwrap().clone();
    let mut indices: Vec<u64> = acked.values().copied().collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), acked.len(), "an index was given twice");
    let leader = &nodes[nodes
        .iter()
        .position(|n| n.pid() == leader_pid(&db, "default"))
        .unwrap()];
    let all: Vec<(&String, &u64)> = acked.iter().collect();
    for chunk in all.chunks(1000) {
        let events: Vec<_> = chunk.iter().map(|(id, _)| event(id, "failover")).collect();
        let reply = post_events(leader, &events);
        for (r, (id, index)) in results(&reply).iter().zip(chunk) {
            assert_eq!(
                r,
                &("duplicate".to_owned(), **index),
                "{id} moved or was lost"
            );
        }
    }
    // Every acknowledged event's receipt verifies from every node, with its index.
    std::thread::scope(|s| {
        for node in &nodes {
            let (acked, log_key) = (&acked, &log_key);
            s.spawn(move || {
                for (id, index) in acked {
                    assert_eq!(verified_receipt(node, id, log_key), *index, "{id}");
                }
            });
        }
    });
    // Every checkpoint seen is consistent with the last one.
    std::thread::sleep(Duration::from_millis(300));
    let last = open(&served_checkpoint(leader), &log_key);
    assert!(last.size as usize >= acked.len());
    for note in &seen {
        check_consistent(leader, &open(note, &log_key), &last);
    }
    eprintln!(
        "{} events acknowledged over {KILLS} kills; failover (kill to next ack) {failovers:?} \
         with a {LEASE_MS} ms lease; {} checkpoints seen",
        acked.len(),
        seen.len()
    );
}
