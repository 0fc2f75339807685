//! Failover under load: three `sealog serve` nodes over one PostgreSQL store, clients on all
//! three (retrying a node that is dead or has the log on standby on the next, as a load
//! balancer does), and the writing node killed with SIGKILL several times and restarted.
//! Every acknowledged event keeps its index, no index is given twice, and every checkpoint
//! any node served or the database held is one history.

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
/// `first`, moving to the next node on a failure, until `stop`.
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
                // Dead, on standby, or its group refused: the same batch goes to the next node.
                _ => {
                    at = (at + 1) % urls.len();
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    })
}

/// The pid of the node holding the log's lease, once one does.
fn leader_pid(db: &TestDb) -> u32 {
    for _ in 0..200 {
        let holder = db.column(
            "SELECT coalesce(lease_holder, '') FROM sealog_logs \
             WHERE lease_expires > clock_timestamp()",
        );
        if let Some(pid) = holder.first().and_then(|h| h.split('/').nth(1)) {
            return pid.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no node took the log's lease");
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
        let pid = leader_pid(&db);
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
        .position(|n| n.pid() == leader_pid(&db))
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
