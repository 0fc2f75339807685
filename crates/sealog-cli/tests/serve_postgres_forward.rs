//! Any node accepts any request: two `sealog serve` nodes over one PostgreSQL store, where
//! the node with a log on standby hands the log's requests to the node writing it. Ingest
//! through either node is acknowledged by the leader with receipts that verify, reads agree
//! on every node, dedup holds across nodes, a log created through one node is used through
//! the other at once, a forwarded request is never forwarded again, and a leader that is
//! dead or paused gets a prompt 503 naming it, never a hang.

mod pg_nodes;
mod support;

use pg_nodes::*;
use sealog_core::note::Verifier;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::pg_support::TestDb;
use support::{Serve, call, call_with, event, uuid7};

/// Two nodes over `db`: the one that writes `default`, then the one that has it on standby.
fn leader_and_standby(db: &TestDb, dir: &std::path::Path) -> (Serve, Serve) {
    let key = key_file(dir);
    let a = node(db, &dir.join("a"), &key);
    let b = node(db, &dir.join("b"), &key);
    if leader_pid(db, "default") == a.pid() {
        (a, b)
    } else {
        (b, a)
    }
}

/// The verification key of log `default`, as `server` serves it.
fn log_key(server: &Serve) -> Verifier {
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin()),
        None,
    );
    assert_eq!(info.status, 200, "{}", info.body);
    Verifier::from_vkey(info.json()["vkey"].as_str().unwrap()).unwrap()
}

/// `GET path` on `server` as the admin: status and body.
fn get(server: &Serve, path: &str) -> (u16, String) {
    let reply = call(
        "GET",
        &format!("{}{path}", server.url),
        Some(&admin()),
        None,
    );
    (reply.status, reply.body)
}

#[test]
fn a_standby_node_hands_ingest_and_reads_to_the_leader() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let (leader, standby) = leader_and_standby(&db, dir.path());
    let key = log_key(&leader);

    // Ingest through the standby: the leader's acknowledgement, with receipts that verify.
    let events: Vec<Value> = (0..10).map(|n| event(&uuid7(n), "pg")).collect();
    let body = json!({ "events": events }).to_string();
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", standby.url);
    let reply = call("POST", &url, Some(&admin()), Some(body.as_bytes()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    for (n, result) in reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(result["status"], "accepted", "{result}");
        assert_eq!(result["index"], n as u64, "{result}");
        let receipt = result["proof"]
            .as_str()
            .expect("a receipt with wait=checkpoint");
        let verified = sealog_core::receipt::verify(receipt.as_bytes(), &key, None).unwrap();
        assert_eq!(verified.index, n as u64);
    }
    // Through the leader, the same ids are duplicates with the indices the standby relayed.
    let again = post(&leader, 0..10);
    assert_eq!(results(&again)[9], ("duplicate".into(), 9));
    assert_eq!(post(&standby, 10..20).status, 200);

    // Reads agree on both nodes: an event, its receipt, the checkpoint, a consistency proof,
    // a tile, the log's metadata.
    std::thread::sleep(Duration::from_millis(400));
    for path in [
        format!("/v1/logs/default/events/{}", uuid7(3)),
        "/v1/logs/default/checkpoint".to_owned(),
        "/v1/logs/default/proofs/consistency?from=5&to=20".to_owned(),
        "/tlog/default/tile/0/000.p/20".to_owned(),
    ] {
        let (on_leader, on_standby) = (get(&leader, &path), get(&standby, &path));
        assert_eq!(on_leader.0, 200, "{path}: {}", on_leader.1);
        assert_eq!(on_leader, on_standby, "{path} differs between the nodes");
    }
    for n in [0, 7, 19] {
        assert_eq!(verified_receipt(&standby, &uuid7(n), &key), n);
        assert_eq!(verified_receipt(&leader, &uuid7(n), &key), n);
    }
    let (status, listed) = get(&standby, "/v1/logs");
    assert_eq!(status, 200, "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["elsewhere"][0]["name"], "default", "{listed}");
    let written_by = listed["elsewhere"][0]["written_by"].as_str().unwrap();
    assert_eq!(
        written_by.split('/').nth(1),
        Some(&*leader.pid().to_string())
    );
    let (status, info) = get(&standby, "/v1/logs/default");
    assert_eq!(status, 200, "{info}");
    assert_eq!(serde_json::from_str::<Value>(&info).unwrap()["size"], 20);

    // An export through the standby is the leader's evidence pack, and it verifies.
    let pack = dir.path().join("pack.zip");
    support::export_pack(&standby, &admin(), &pack);
    support::verify(&pack, &key.vkey());
}

#[test]
fn the_same_event_sent_to_both_nodes_at_once_is_stored_once() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let (leader, standby) = leader_and_standby(&db, dir.path());
    for n in 0..8 {
        let (on_leader, on_standby) = std::thread::scope(|s| {
            let a = s.spawn(|| post(&leader, n..n + 1));
            let b = s.spawn(|| post(&standby, n..n + 1));
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut statuses = [
            results(&on_leader)[0].clone(),
            results(&on_standby)[0].clone(),
        ];
        statuses.sort();
        assert_eq!(
            statuses,
            [("accepted".into(), n), ("duplicate".into(), n)],
            "event {n}"
        );
    }
}

#[test]
fn a_log_created_through_one_node_is_used_through_the_other_at_once() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = leader_and_standby(&db, dir.path());
    let create = call(
        "POST",
        &format!("{}/v1/logs", first.url),
        Some(&admin()),
        Some(br#"{"name": "fresh"}"#),
    );
    assert_eq!(create.status, 201, "{}", create.body);
    // No restart, no wait: the second node finds the log in the store's catalog.
    let events = json!({ "events": [event(&uuid7(1), "fresh")] }).to_string();
    let reply = call(
        "POST",
        &format!("{}/v1/logs/fresh/events", second.url),
        Some(&admin()),
        Some(events.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["results"][0]["index"], 0);
    let (status, body) = get(&second, "/v1/logs/fresh");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["size"], 1);
    // A name no node knows is a 404 on either, after the catalog was asked.
    let (status, body) = get(&second, "/v1/logs/nowhere");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn a_forwarded_request_is_never_forwarded_again() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let (_leader, standby) = leader_and_standby(&db, dir.path());
    let body = json!({ "events": [event(&uuid7(1), "loop")] }).to_string();
    let reply = call_with(
        "POST",
        &format!("{}/v1/logs/default/events", standby.url),
        Some(&admin()),
        &[
            ("Content-Type", "application/json"),
            ("Sealog-Forwarded-By", "another-node"),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(
        (reply.status, reply.error_code()),
        (503, "log_on_standby".into()),
        "{}",
        reply.body
    );
    assert_eq!(
        db.column("SELECT size FROM sealog_logs WHERE name = 'default'"),
        ["0"]
    );
}

#[test]
fn a_dead_or_paused_leader_gets_a_prompt_503_naming_it() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let (leader, standby) = leader_and_standby(&db, dir.path());
    assert_eq!(post(&standby, 0..5).status, 200);

    // Paused past its lease while it has the request: the standby gives up when the lease
    // moves (it takes the log over itself), never waiting for the request timeout.
    signal(&leader, "-STOP");
    let asked = Instant::now();
    let reply = post(&standby, 5..6);
    let waited = asked.elapsed();
    signal(&leader, "-CONT");
    assert_eq!(
        (reply.status, reply.error_code()),
        (503, "leader_unreachable".into()),
        "{}",
        reply.body
    );
    assert!(reply.retry_after.is_some(), "no Retry-After");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("/{}/", leader.pid())),
        "{}",
        reply.body
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    // The standby writes the log now; the old leader hands its requests over in turn.
    let taken = post(&standby, 5..6);
    assert_eq!(taken.status, 200, "{}", taken.body);
    let index = results(&taken)[0].1;
    // The old leader refuses at most its first request (its lost lease found by the
    // append), then hands them over too.
    let start = Instant::now();
    let through_old = loop {
        let reply = post(&leader, 5..6);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(start.elapsed() < Duration::from_secs(3), "{}", reply.body);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(results(&through_old)[0], ("duplicate".into(), index));

    // Killed: the node that had it on standby answers at once, naming the dead node.
    let (new_leader, old) = (standby, leader);
    let dead_pid = new_leader.pid();
    new_leader.kill();
    let asked = Instant::now();
    let reply = post(&old, 6..7);
    if reply.status == 503 {
        assert_eq!(reply.error_code(), "leader_unreachable", "{}", reply.body);
        assert!(
            reply.body.contains(&format!("/{dead_pid}/")),
            "{}",
            reply.body
        );
        assert!(reply.retry_after.is_some());
        assert!(asked.elapsed() < Duration::from_secs(3));
    } else {
        // The lease had run out already and the old leader took the log back.
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // Once the dead node's lease runs out, the survivor writes the log.
    let start = Instant::now();
    loop {
        let reply = post(&old, 6..7);
        if reply.status == 200 {
            break;
        }
        assert_eq!(reply.error_code(), "leader_unreachable", "{}", reply.body);
        assert!(start.elapsed() < Duration::from_secs(5), "no takeover");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_paused_nodes_logs_spread_over_the_survivors() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let first = node(&db, &dir.path().join("a"), &key);
    for n in 0..5 {
        let body = format!(r#"{{"name": "log{n}"}}"#);
        let url = format!("{}/v1/logs", first.url);
        let create = call("POST", &url, Some(&admin()), Some(body.as_bytes()));
        assert_eq!(create.status, 201, "{}", create.body);
    }
    let others = [
        node(&db, &dir.path().join("b"), &key),
        node(&db, &dir.path().join("c"), &key),
    ];
    let held = || {
        db.column(
            "SELECT coalesce(split_part(lease_holder, '/', 2), '') FROM sealog_logs \
             WHERE lease_expires > clock_timestamp()",
        )
    };
    assert_eq!(held().len(), 6);
    // The first node pauses and its six leases run out at one moment: six logs over two
    // live nodes, three each, where the first survivor to look would otherwise take them all.
    signal(&first, "-STOP");
    db.execute("UPDATE sealog_logs SET lease_expires = clock_timestamp()");
    let killed = Instant::now();
    let pids: Vec<String> = others.iter().map(|n| n.pid().to_string()).collect();
    loop {
        let holders = held();
        let count = |pid: &String| holders.iter().filter(|h| *h == pid).count();
        if holders.len() == 6 && pids.iter().all(|p| count(p) == 3) {
            break;
        }
        assert!(
            pids.iter().all(|p| count(p) <= 3),
            "one node took more than its share: {holders:?}"
        );
        assert!(killed.elapsed() < Duration::from_secs(5), "{holders:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill();
    // Every log answers through either survivor.
    for n in 0..5 {
        for survivor in &others {
            let (status, body) = get(survivor, &format!("/v1/logs/log{n}"));
            assert_eq!(status, 200, "{body}");
        }
    }
}
