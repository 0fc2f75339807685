//! kill -9 during an erasure, then restart: the subject's content is either still whole and
//! readable or erased (410), never a half state, and repeating the erasure completes it with
//! exactly one `erasure` event in the log.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const EVENTS: u64 = 300;

fn private(n: u64, subject: &str) -> Value {
    let mut e = event(&uuid7(n), "crash-bot");
    e["input"] = json!({"private": format!("input {n}")});
    e["output"] = json!({"private": format!("output {n}")});
    e["context"] = json!({"subject": {"pseudo_id": subject}});
    e
}

/// `Some(true)` if every sampled event of the round reads back whole, `Some(false)` if every
/// one is erased; panics on anything else.
fn state(server: &Serve, token: &str, round: u64) -> bool {
    let mut seen = Vec::new();
    for n in [0, EVENTS / 2, EVENTS - 1].map(|i| round * 10_000 + i) {
        let url = format!("{}/v1/logs/default/events/{}/content", server.url, uuid7(n));
        let r = call("GET", &url, Some(token), None);
        match r.status {
            200 => {
                let want = json!({"input": format!("input {n}"), "output": format!("output {n}")});
                assert_eq!(r.json(), want, "content reads back whole or not at all");
                seen.push(true);
            }
            410 => seen.push(false),
            _ => panic!("event {n}: {} {}", r.status, r.body),
        }
    }
    assert!(
        seen.iter().all(|&s| s == seen[0]),
        "a half-erased subject: {seen:?}"
    );
    seen[0]
}

fn erasure_events(server: &Serve, token: &str, subject: &str) -> usize {
    let url = format!(
        "{}/v1/logs/default/events?action=erasure&limit=1000",
        server.url
    );
    for _ in 0..100 {
        let page = call("GET", &url, Some(token), None).json();
        if page["index_watermark"] == page["size"] {
            let events = page["events"].as_array().unwrap();
            return events
                .iter()
                .filter(|e| e["event"]["context"]["subject"]["pseudo_id"] == subject)
                .count();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the index never caught up");
}

#[test]
fn kill_9_during_erasure_leaves_the_key_whole_or_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let (mut whole, mut gone) = (0, 0);
    for (round, delay_ms) in [(1u64, 0u64), (2, 5), (3, 15), (4, 40)] {
        let subject = format!("pseudo-crash-{round}");
        let events: Vec<Value> = (0..EVENTS)
            .map(|i| private(round * 10_000 + i, &subject))
            .collect();
        let body = json!({"events": events}).to_string();
        let url = format!("{}/v1/logs/default/events", server.url);
        let r = call("POST", &url, Some(&admin), Some(body.as_bytes()));
        assert_eq!(r.json()["accepted"], EVENTS, "{}", r.body);

        let erase_url = format!("{}/v1/logs/default/subjects/{subject}/erasure", server.url);
        let (u, t) = (erase_url, admin.clone());
        let request = std::thread::spawn(move || {
            let body = json!({"reason": "crash test"}).to_string();
            // The server dies under it: any answer, or none, is fine here.
            let _ = support::agent()
                .post(&u)
                .header("Authorization", format!("Bearer {t}"))
                .header("Content-Type", "application/json")
                .send(body.as_bytes());
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill();
        let _ = request.join();
        server = Serve::start(&data, &[]);

        if state(&server, &admin, round) {
            whole += 1;
        } else {
            gone += 1;
        }
        // The restarted server listens on another port.
        let erase_url = format!("{}/v1/logs/default/subjects/{subject}/erasure", server.url);
        let body = json!({"reason": "crash test"}).to_string();
        let r = call("POST", &erase_url, Some(&admin), Some(body.as_bytes()));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["blobs"], 2 * EVENTS, "{}", r.body);
        assert!(!state(&server, &admin, round));
        assert_eq!(erasure_events(&server, &admin, &subject), 1);
    }
    eprintln!("after the kill: {whole} rounds whole, {gone} erased");
    let (code, out) = {
        drop(server);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(["fsck", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{out}");
}
