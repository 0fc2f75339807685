//! Serving under load and in production settings, over real HTTP(S) against the real binary:
//! engine backpressure (503 with `Retry-After`, nothing lost), many clients at once with pages
//! that stay stable while events arrive, HTTPS with the CLI trusting a private certificate,
//! the precedence of flags over the config file over `SEALOG_*` variables, and the tlog-tiles
//! paths with their cache lifetimes.

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::*;

fn post_events(url: &str, token: &str, events: Vec<Value>) -> Reply {
    let body = serde_json::to_vec(&json!({ "events": events })).unwrap();
    call("POST", url, Some(token), Some(&body))
}

/// `GET url` with the raw body bytes and the `Cache-Control` header.
fn get_bytes(url: &str, token: &str) -> (u16, String, Vec<u8>) {
    let mut resp = agent()
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.body_mut().read_to_vec().unwrap();
    (resp.status().as_u16(), cache, body)
}

fn log_size(server: &Serve, token: &str) -> u64 {
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(token),
        None,
    );
    info.json()["size"].as_u64().unwrap()
}

#[test]
fn a_full_write_queue_answers_503_with_retry_after_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A queue of one event: any request that finds another one waiting is turned away.
    let server = Serve::start(
        &dir.path().join("data"),
        &["--queue-entries", "1", "--rate-limit", "0"],
    );
    let admin = server.admin_token();
    let url = format!("{}/v1/logs/default/events", server.url);
    let busy = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..6u64)
        .map(|t| {
            let (url, admin, busy) = (url.clone(), admin.clone(), busy.clone());
            std::thread::spawn(move || {
                let mut accepted = 0;
                for b in 0..12u64 {
                    let batch: Vec<Value> = (0..200)
                        .map(|i| event(&uuid7(t * 1_000_000 + b * 1_000 + i), "load"))
                        .collect();
                    loop {
                        let reply = post_events(&url, &admin, batch.clone());
                        if reply.status == 503 {
                            busy.lock()
                                .unwrap()
                                .push((reply.error_code(), reply.retry_after.clone()));
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            continue;
                        }
                        assert_eq!(reply.status, 200, "{}", reply.body);
                        // A 503 stored nothing, so the retry is accepted, not a duplicate.
                        assert_eq!(reply.json()["accepted"], 200, "{}", reply.body);
                        accepted += 200;
                        break;
                    }
                }
                accepted
            })
        })
        .collect();
    let accepted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(accepted, 6 * 12 * 200);
    assert_eq!(log_size(&server, &admin), accepted);
    let busy = busy.lock().unwrap();
    assert!(!busy.is_empty(), "six writers never found the queue full");
    for (code, retry_after) in busy.iter() {
        assert_eq!(code, "busy");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
}

/// Six writers and two readers at once: every event gets a unique, contiguous index, every
/// answer agrees with what the log holds, and paging newest-first while the log grows never
/// repeats or skips an event.
#[test]
fn concurrent_clients_and_pages_that_stay_stable_while_events_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "0"]);
    let admin = server.admin_token();
    let url = format!("{}/v1/logs/default/events", server.url);
    let first: Vec<Value> = (0..1_500).map(|i| event(&uuid7(i), "early")).collect();
    for chunk in first.chunks(500) {
        assert_eq!(post_events(&url, &admin, chunk.to_vec()).status, 200);
    }
    // Pages only list indexed events; wait until the index holds the first 1,500.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while call("GET", &format!("{url}?limit=1"), Some(&admin), None).json()["index_watermark"]
        .as_u64()
        .unwrap()
        < 1_500
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let writing = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..6u64)
        .map(|t| {
            let (url, admin) = (url.clone(), admin.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for b in 0..10u64 {
                    let batch: Vec<Value> = (0..100)
                        .map(|i| event(&uuid7(1_000_000 * (t + 1) + b * 100 + i), "late"))
                        .collect();
                    let reply = post_events(&url, &admin, batch);
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    for r in reply.json()["results"].as_array().unwrap() {
                        assert_eq!(r["status"], "accepted", "{r}");
                        got.push((
                            r["id"].as_str().unwrap().to_owned(),
                            r["index"].as_u64().unwrap(),
                        ));
                    }
                }
                got
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (url, admin, writing) = (url.clone(), admin.clone(), writing.clone());
            std::thread::spawn(move || {
                let mut rounds = 0;
                while writing.load(Ordering::Relaxed) || rounds == 0 {
                    // Reader 0 pages through everything, reader 1 through the early agent.
                    let filter = if r == 0 { "" } else { "&agent=early" };
                    let mut next: Option<String> = None;
                    let mut seen = Vec::new();
                    loop {
                        let cursor = next
                            .as_ref()
                            .map_or(String::new(), |c| format!("&cursor={c}"));
                        let page = call(
                            "GET",
                            &format!("{url}?limit=97{filter}{cursor}"),
                            Some(&admin),
                            None,
                        );
                        assert_eq!(page.status, 200, "{}", page.body);
                        let page = page.json();
                        for e in page["events"].as_array().unwrap() {
                            seen.push(e["index"].as_u64().unwrap());
                        }
                        match page["next"].as_str() {
                            Some(c) => next = Some(c.to_owned()),
                            None => break,
                        }
                    }
                    assert!(
                        seen.windows(2).all(|w| w[0] > w[1]),
                        "pages repeated or reordered"
                    );
                    if r == 1 {
                        assert_eq!(seen, (0..1_500).rev().collect::<Vec<u64>>());
                    } else {
                        // Everything below the first page's newest event, none skipped.
                        let top = seen[0];
                        assert_eq!(seen, (0..=top).rev().collect::<Vec<u64>>());
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let mut written: Vec<(String, u64)> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    writing.store(false, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 1);
    }
    written.sort_by_key(|(_, index)| *index);
    let indices: Vec<u64> = written.iter().map(|(_, i)| *i).collect();
    assert_eq!(indices, (1_500..1_500 + 6_000).collect::<Vec<u64>>());
    assert_eq!(log_size(&server, &admin), 7_500);
    for (id, index) in written.iter().step_by(997) {
        let got = call("GET", &format!("{url}/{id}"), Some(&admin), None);
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["index"].as_u64(), Some(*index));
    }
    let ids: BTreeSet<&str> = written.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 6_000);
}

#[test]
fn https_serves_the_api_and_the_cli_trusts_a_pinned_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let server = Serve::start(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let admin = server.admin_token();
    let cli = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(["logs", "list", "--server", &server.url, "--token", &admin])
            .args(extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, text) = cli(&["--ca-cert", cert.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("default"), "{text}");
    let (ok, text) = cli(&[]);
    assert!(!ok, "an unknown certificate was trusted: {text}");
    assert!(text.contains("cannot reach"), "{text}");
    let (ok, text) = cli(&["--ca-cert", key.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("holds no PEM certificate"), "{text}");

    // Plain HTTP on the HTTPS port gets no API answer.
    let plain = server.url.replace("https://", "http://");
    let answer = agent().get(&format!("{plain}/healthz")).call();
    assert!(
        answer.as_ref().map_or(true, |r| r.status() != 200),
        "plain HTTP was served"
    );
}

/// The origin (`<name>/default`) and the batch limit a server starts with, and whether a batch
/// of `n` events is taken.
fn started(args: &[&str], envs: &[(&str, &str)], n: u64) -> (String, u16) {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start_with(&dir.path().join("data"), args, envs);
    let admin = server.admin_token();
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    );
    let events = (0..n).map(|i| event(&uuid7(i), "a")).collect();
    let reply = post_events(
        &format!("{}/v1/logs/default/events", server.url),
        &admin,
        events,
    );
    (
        info.json()["origin"].as_str().unwrap().to_owned(),
        reply.status,
    )
}

#[test]
fn flags_override_the_config_file_which_overrides_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sealog.toml");
    std::fs::write(&config, "name = \"file.local\"\nmax_batch_events = 5\n").unwrap();
    let config = config.to_str().unwrap();
    let env = [
        ("SEALOG_NAME", "env.local"),
        ("SEALOG_MAX_BATCH_EVENTS", "3"),
    ];

    assert_eq!(started(&[], &env, 4), ("env.local/default".into(), 413));
    assert_eq!(started(&[], &env, 3), ("env.local/default".into(), 200));
    let file = ["--config", config];
    assert_eq!(started(&file, &env, 5), ("file.local/default".into(), 200));
    assert_eq!(started(&file, &env, 6), ("file.local/default".into(), 413));
    let flags = [
        &file[..],
        &["--name", "flag.local", "--max-batch-events", "7"],
    ]
    .concat();
    assert_eq!(started(&flags, &env, 7), ("flag.local/default".into(), 200));
    assert_eq!(started(&flags, &env, 8), ("flag.local/default".into(), 413));
    // The config file can also come from SEALOG_CONFIG.
    let via_env = [("SEALOG_CONFIG", config)];
    assert_eq!(
        started(&[], &via_env, 5),
        ("file.local/default".into(), 200)
    );

    // Bad settings stop the start with a message that names them.
    let refused = |args: &[&str], envs: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("never"))
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "nmae = \"typo.local\"\n").unwrap();
    let err = refused(&["--config", bad.to_str().unwrap()], &[]);
    assert!(
        err.contains("bad.toml is invalid") && err.contains("nmae"),
        "{err}"
    );
    let err = refused(&[], &[("SEALOG_RATE_LIMIT", "lots")]);
    assert!(
        err.contains("SEALOG_RATE_LIMIT=\"lots\" is not a valid value"),
        "{err}"
    );
    let err = refused(&["--tls-cert", "cert.pem"], &[]);
    assert!(
        err.contains("TLS needs both --tls-cert and --tls-key"),
        "{err}"
    );
    assert!(
        !dir.path().join("never").exists(),
        "a refused start created data"
    );
}

#[test]
fn tiles_are_served_from_stored_hashes_with_cache_lifetimes_that_match() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events: Vec<Value> = (0..300).map(|i| event(&uuid7(i), "tiles")).collect();
    let reply = post_events(
        &format!("{}/v1/logs/default/events?wait=checkpoint", server.url),
        &admin,
        events,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.json()["results"].as_array().unwrap().clone();
    let tile = |path: &str| get_bytes(&format!("{}/tlog/default/{path}", server.url), &admin);

    let (status, cache, full) = tile("tile/0/000");
    assert_eq!(status, 200);
    assert_eq!(cache, "public, max-age=31536000, immutable");
    assert_eq!(full.len(), 256 * 32);
    let b64 = base64::engine::general_purpose::STANDARD;
    for i in [0usize, 1, 255] {
        let leaf_hash = b64
            .decode(results[i]["leaf_hash"].as_str().unwrap())
            .unwrap();
        assert_eq!(full[i * 32..i * 32 + 32], leaf_hash[..], "leaf {i}");
    }
    let (status, cache, partial) = tile("tile/0/001.p/44");
    assert_eq!(
        (status, cache.as_str(), partial.len()),
        (200, "public, max-age=60", 44 * 32)
    );
    let leaf_299 = b64
        .decode(results[299]["leaf_hash"].as_str().unwrap())
        .unwrap();
    assert_eq!(partial[43 * 32..], leaf_299[..]);
    let (status, _, level1) = tile("tile/1/000.p/1");
    assert_eq!((status, level1.len()), (200, 32));

    let (status, cache, bundle) = tile("tile/entries/000");
    assert_eq!(
        (status, cache.as_str()),
        (200, "public, max-age=31536000, immutable")
    );
    let (status, _, tail) = tile("tile/entries/001.p/44");
    assert_eq!(status, 200);
    assert!(bundle.len() > tail.len() && tail.len() > 44 * 100);

    // Only partial tiles that the signed checkpoint implies exist, and a path that is not the
    // canonical one of a tile is no tile at all (as a static tile server would answer).
    for (path, why) in [
        ("tile/0/001.p/45", "not in the latest checkpoint"),
        ("tile/0/001", "not in the latest checkpoint"),
        ("tile/0/002.p/1", "not in the latest checkpoint"),
        ("tile/entries/001.p/43", "not in the latest checkpoint"),
        ("tile/0/x01", "invalid tile path"),
        ("tile/0/1", "invalid tile path"),
    ] {
        let (status, _, body) = tile(path);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains(why), "{path}: {body}");
    }
}

/// Every request is logged with its id, and no log line — even at debug level — holds an API
/// key or anything an agent recorded.
#[test]
fn logs_carry_request_ids_and_never_a_secret_or_a_payload() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Serve::start_logging(
        &dir.path().join("data"),
        &["--name", "test.local"],
        &[("SEALOG_LOG", "debug")],
        &log,
    );
    let admin = server.admin_token();
    let url = &server.url;
    let created = call(
        "POST",
        &format!("{url}/v1/logs/default/keys"),
        Some(&admin),
        Some(br#"{"role": "ingest", "label": "agent key"}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    let canary = "PAYLOAD-CANARY-7f3a";
    let mut e = event(&uuid7(1), "a");
    e["input"] = json!({"content": format!("the customer said {canary}")});
    e["attributes"] = json!({"note": canary});
    let body = serde_json::to_vec(&json!({"events": [e]})).unwrap();
    let events = format!("{url}/v1/logs/default/events");
    let reply = call_with(
        "POST",
        &events,
        Some(&secret),
        &[
            ("Content-Type", "application/json"),
            ("X-Request-Id", "req-canary-1"),
        ],
        Some(&body),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Bad input, a bad key and a read of the event: their errors and answers are not logged.
    let bad = format!(r#"{{"events": [{{"id": "{canary}""#);
    assert_eq!(
        call("POST", &events, Some(&secret), Some(bad.as_bytes())).status,
        400
    );
    assert_eq!(
        call("GET", &events, Some("sealog_wrong_key_value"), None).status,
        401
    );
    let read = call("GET", &format!("{events}/{}", uuid7(1)), Some(&admin), None);
    assert!(read.body.contains(canary));
    assert!(server.terminate().success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("req-canary-1") && l.contains("/v1/logs/{log}/events")),
        "no request line with the client's request id:\n{text}"
    );
    for (what, needle) in [
        ("the admin key", admin.as_str()),
        ("an ingest key", secret.as_str()),
        ("a wrong key", "sealog_wrong_key_value"),
        ("a payload", canary),
    ] {
        assert!(!text.contains(needle), "{what} is in the log:\n{text}");
    }
}

/// `sealog logs` and `sealog keys` against the real server: what they print is what the API
/// holds, and a revoked key stops working at once.
#[test]
fn the_cli_creates_logs_and_creates_lists_and_revokes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(args)
            .env("SEALOG_URL", &server.url)
            .env("SEALOG_API_KEY", &admin)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        (stdout, stderr)
    };
    let (created, _) = run(&["logs", "create", "audit"]);
    let info = call(
        "GET",
        &format!("{}/v1/logs/audit", server.url),
        Some(&admin),
        None,
    );
    let vkey = info.json()["vkey"].as_str().unwrap().to_owned();
    assert!(created.contains("origin: test.local/audit\n"), "{created}");
    assert!(created.contains(&format!("vkey:   {vkey}\n")), "{created}");
    let (listed, _) = run(&["logs", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("audit ") && l.ends_with(&vkey)),
        "{listed}"
    );
    assert!(
        listed.lines().any(|l| l.starts_with("default ")),
        "{listed}"
    );

    let (secret, note) = run(&[
        "keys", "create", "--log", "audit", "--role", "read", "--label", "auditor",
    ]);
    let secret = secret.trim().to_owned();
    let id = note.split_whitespace().nth(3).unwrap().to_owned();
    assert!(
        note.contains("created read key") && note.contains("shown only now"),
        "{note}"
    );
    let events = format!("{}/v1/logs/audit/events", server.url);
    assert_eq!(call("GET", &events, Some(&secret), None).status, 200);
    let (keys, _) = run(&["keys", "list", "--log", "audit"]);
    let row = keys
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{keys}"));
    assert!(row.contains(" read ") && row.ends_with("auditor"), "{row}");
    assert!(!keys.contains(&secret), "a secret in the key list");

    run(&["keys", "revoke", &id, "--log", "audit"]);
    assert_eq!(call("GET", &events, Some(&secret), None).status, 401);
    let (keys, _) = run(&["keys", "list", "--log", "audit"]);
    let row = keys.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(
        !row.contains(" - "),
        "the revoked key shows its revocation time: {row}"
    );
}
