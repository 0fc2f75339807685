//! Keys, log settings and legal holds on a shared PostgreSQL store: every node of the store
//! sees the same ones. A key made on one node authenticates on another at once; one revoked on one node
//! stops working on the others within the bound the server states (one second); a log's
//! settings changed on one node are seen on the others within 200 ms and hold on the node
//! that takes the log over, as a hold placed on one node does; two nodes starting
//! together on an empty store make one admin key.

mod support;

mod pg_nodes;

use pg_nodes::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::call;
use support::pg_support::TestDb;

/// How long a revoked key may still work on another node: the server's `FRESH_FOR`, plus a
/// request's time.
const REVOCATION_BOUND: Duration = Duration::from_millis(1500);

/// How long a setting changed on one node may be unseen on another: the server's
/// `REFRESH_INTERVAL` (200 ms), plus a request's time.
const SETTINGS_BOUND: Duration = Duration::from_millis(700);

#[test]
fn a_key_made_or_revoked_on_one_node_is_known_on_the_other() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let a = node(&db, &dir.path().join("a"), &key);
    let b = node(&db, &dir.path().join("b"), &key);
    // B leads a log of its own, so that it answers a key's reads with 200.
    let made = call(
        "POST",
        &format!("{}/v1/logs", b.url),
        Some(&admin()),
        Some(br#"{"name":"other"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let on_b = |token: &str| {
        call(
            "GET",
            &format!("{}/v1/logs/other", b.url),
            Some(token),
            None,
        )
    };

    // A server-wide admin key made on A works on B at once, without waiting for a refresh.
    let created = call(
        "POST",
        &format!("{}/v1/admin/keys", a.url),
        Some(&admin()),
        Some(br#"{"label":"made on a"}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let (id, secret) = (
        created.json()["id"].as_str().unwrap().to_owned(),
        created.json()["key"].as_str().unwrap().to_owned(),
    );
    let reply = on_b(&secret);
    assert_eq!(
        reply.status, 200,
        "a key made on A, used on B: {}",
        reply.body
    );
    // Keys made on A are listed on B, and no secret is stored.
    let listed = call(
        "GET",
        &format!("{}/v1/admin/keys", b.url),
        Some(&admin()),
        None,
    );
    let ids: Vec<String> = listed.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&id), "{ids:?}");
    let stored = db.column("SELECT body::text FROM sealog_documents WHERE name = 'server'");
    assert!(!stored[0].contains(&secret[21..]), "a secret in the store");
    assert!(stored[0].contains(&id));

    // Revoked on A, it stops working on B within the bound.
    let revoked = call(
        "DELETE",
        &format!("{}/v1/admin/keys/{id}", a.url),
        Some(&admin()),
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let since = Instant::now();
    loop {
        let reply = on_b(&secret);
        if reply.status == 401 {
            break;
        }
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            since.elapsed() < REVOCATION_BOUND,
            "a key revoked on A still works on B after {:?}",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("revoked on A, refused on B after {:?}", since.elapsed());
    assert_eq!(on_b(&admin()).status, 200, "the other keys still work");
}

#[test]
fn a_log_setting_made_on_one_node_holds_on_the_node_that_takes_the_log_over() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let a = node(&db, &dir.path().join("a"), &key);
    let b = node(&db, &dir.path().join("b"), &key);
    let checkpoint_on = |server: &support::Serve| {
        call(
            "GET",
            &format!("{}/tlog/default/checkpoint", server.url),
            None,
            None,
        )
    };
    // A leads `default`; B does not know it public yet, so it asks for a key first.
    assert_eq!(checkpoint_on(&b).status, 401);
    let patched = call(
        "PATCH",
        &format!("{}/v1/logs/default", a.url),
        Some(&admin()),
        Some(br#"{"public":true,"retention_days":400}"#),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(checkpoint_on(&a).status, 200);
    // B hands the log's requests to A, which leads it: the same checkpoint, without a key.
    let since = Instant::now();
    while checkpoint_on(&b).status == 401 {
        assert!(
            since.elapsed() < SETTINGS_BOUND,
            "B does not pass A's setting on after {:?}",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let on_b = checkpoint_on(&b);
    assert_eq!(on_b.body, checkpoint_on(&a).body);

    // A dies; B takes the log over and serves it as public, with A's retention.
    a.kill();
    let since = Instant::now();
    let served = loop {
        let reply = checkpoint_on(&b);
        if reply.status == 200 {
            break reply;
        }
        // Until B takes over, it says that the leader it would forward to is gone.
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(
            ["leader_unreachable", "log_on_standby"].contains(&reply.error_code().as_str()),
            "{}",
            reply.body
        );
        assert!(since.elapsed() < Duration::from_secs(10), "no takeover");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        served.body.starts_with("test.local/default\n"),
        "{}",
        served.body
    );
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", b.url),
        Some(&admin()),
        None,
    );
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["public"], Value::Bool(true), "{}", info.body);
    assert_eq!(
        info.json()["retention"]["days"],
        Value::from(400),
        "{}",
        info.body
    );
}

#[test]
fn two_nodes_starting_together_on_an_empty_store_make_one_admin_key() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| node_making_admin_key(&db, &a_dir, &key));
        let b = s.spawn(|| node_making_admin_key(&db, &b_dir, &key));
        (a.join().unwrap(), b.join().unwrap())
    });
    let tokens: Vec<String> = [&a, &b]
        .iter()
        .filter(|n| n.data.join("admin.token").exists())
        .map(|n| n.admin_token())
        .collect();
    assert_eq!(tokens.len(), 1, "exactly one node writes admin.token");
    let welcomed = [&a, &b]
        .iter()
        .filter(|n| n.banner.contains("First start"))
        .count();
    assert_eq!(welcomed, 1, "{}\n{}", a.banner, b.banner);
    for server in [&a, &b] {
        let listed = call(
            "GET",
            &format!("{}/v1/admin/keys", server.url),
            Some(&tokens[0]),
            None,
        );
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.json()["keys"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn a_hold_placed_on_one_node_blocks_an_erasure_on_the_node_that_takes_the_log_over() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let a = node(&db, &dir.path().join("a"), &key);
    let b = node(&db, &dir.path().join("b"), &key);
    let post_to = |server: &support::Serve, path: &str, body: &str| {
        let url = format!("{}/v1/logs/default{path}", server.url);
        call("POST", &url, Some(&admin()), Some(body.as_bytes()))
    };
    let placed = post_to(
        &a,
        "/holds",
        r#"{"reason":"court order 7","subject":"pseudo-h"}"#,
    );
    assert_eq!(placed.status, 201, "{}", placed.body);
    let hold = placed.json()["id"].as_str().unwrap().to_owned();

    // A dies; B leads the log and refuses the erasure the hold covers, naming it.
    a.kill();
    let erase = || post_to(&b, "/subjects/pseudo-h/erasure", r#"{"reason":"Art. 17"}"#);
    let since = Instant::now();
    let blocked = loop {
        let reply = erase();
        if reply.status != 503 {
            break reply;
        }
        assert!(since.elapsed() < Duration::from_secs(10), "no takeover");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        (blocked.status, blocked.error_code().as_str()),
        (409, "held"),
        "{}",
        blocked.body
    );
    assert!(blocked.body.contains(&hold), "{}", blocked.body);
    let listed = call(
        "GET",
        &format!("{}/v1/logs/default/holds", b.url),
        Some(&admin()),
        None,
    );
    assert_eq!(listed.json()["holds"][0]["id"], Value::from(hold.clone()));

    // Lifted on B, the erasure goes through.
    let lifted = call(
        "DELETE",
        &format!("{}/v1/logs/default/holds/{hold}", b.url),
        Some(&admin()),
        None,
    );
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let done = erase();
    assert_eq!(done.status, 200, "{}", done.body);
}
