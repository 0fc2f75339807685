//! An incident freeze killed (SIGKILL, by the test-only `SEALOG_TEST_ONLY_INCIDENT_CRASH`) at
//! each point between its record and its sealed pack is finished at the next start: one
//! hold, one `incident` event, a pack that `sealog verify` accepts; a retried request with
//! the same id answers that incident and freezes no second one.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::*;

fn post(server: &Serve, path: &str, token: &str, body: &Value) -> Reply {
    let url = format!("{}/v1/logs/default{path}", server.url);
    call("POST", &url, Some(token), Some(body.to_string().as_bytes()))
}

fn get(server: &Serve, path: &str, token: &str) -> Value {
    let url = format!("{}/v1/logs/default{path}", server.url);
    call("GET", &url, Some(token), None).json()
}

/// The log's incidents once the first one's pack is no longer pending (15 s at most).
fn settled(server: &Serve, token: &str) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let listed = get(server, "/incidents", token);
        let all = listed["incidents"].as_array().cloned().unwrap_or_default();
        if all.first().is_some_and(|i| i["pack"]["state"] != "pending") {
            return all;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{listed}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn events() -> Value {
    let at = |n: u64, ts: &str, session: &str| {
        let mut e = event(&uuid7(n), "bot");
        e["ts"] = json!(ts);
        e["session"] = json!({"id": session, "seq": n});
        e
    };
    json!({"events": [
        at(1, "2026-03-01T10:00:00Z", "s-1"),
        at(2, "2026-03-01T11:00:00Z", "s-1"),
        at(3, "2026-03-01T11:30:00Z", "s-2"),
        at(4, "2026-03-01T11:45:00Z", "s-1"),
    ]})
}

fn incident(id: &str) -> Value {
    json!({"id": id, "title": "refund bot paid out twice", "since": "2026-03-01T10:30:00Z",
        "until": "2026-03-02T00:00:00Z", "session": "s-1"})
}

#[test]
fn a_freeze_killed_at_any_point_is_finished_at_the_next_start() {
    for (n, point) in ["recorded", "held", "logged", "packed"]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let crashing = Serve::start_with(
            &data,
            &["--name", "test.local"],
            &[("SEALOG_TEST_ONLY_INCIDENT_CRASH", point)],
        );
        let admin = crashing.admin_token();
        let r = post(&crashing, "/events", &admin, &events());
        assert_eq!(r.json()["accepted"], 4, "{}", r.body);
        let id = uuid7(1000 + n as u64);
        let url = format!("{}/v1/logs/default/incidents", crashing.url);
        // The server kills itself under the request: there is no answer.
        let died = support::agent()
            .post(&url)
            .header("Authorization", format!("Bearer {admin}"))
            .header("Content-Type", "application/json")
            .send(incident(&id).to_string().as_bytes());
        assert!(died.is_err(), "{point}: the server answered {died:?}");
        crashing.kill();

        let server = Serve::start(&data, &[]);
        let all = settled(&server, &admin);
        assert_eq!(all.len(), 1, "{point}: {all:?}");
        let sealed = &all[0];
        assert_eq!(sealed["id"], json!(id), "{point}");
        assert_eq!(sealed["pack"]["state"], "ready", "{point}: {sealed}");
        // Events 2 and 4 (session s-1, in range), the hold's event and the incident's.
        assert_eq!(sealed["pack"]["entries"], 4, "{point}: {sealed}");

        // A retry of the request answers the same incident and freezes nothing more.
        let again = post(&server, "/incidents", &admin, &incident(&id));
        assert_eq!(again.status, 200, "{point}: {}", again.body);
        assert_eq!(again.json()["pack"]["sha256"], sealed["pack"]["sha256"]);
        assert_eq!(
            get(&server, "/incidents", &admin)["incidents"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            server_actions(&server, &admin),
            ["legal_hold", "incident"],
            "{point}: one hold and one incident event"
        );
        assert_eq!(
            get(&server, "/holds", &admin)["holds"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let pack = download(&server, sealed["pack"]["url"].as_str().unwrap(), &admin);
        let sha = sealog_core::hex::encode(&sealog_core::evidence::sha256(&pack));
        assert_eq!(sealed["pack"]["sha256"], json!(sha), "{point}");
        let path = dir.path().join("incident.zip");
        std::fs::write(&path, &pack).unwrap();
        let vkey = call(
            "GET",
            &format!("{}/v1/logs/default", server.url),
            Some(&admin),
            None,
        )
        .json()["vkey"]
            .as_str()
            .unwrap()
            .to_owned();
        verify(&path, &vkey);
    }
}

#[test]
fn a_retry_with_another_request_under_the_same_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    post(&server, "/events", &admin, &events());
    let id = uuid7(77);
    let made = post(&server, "/incidents", &admin, &incident(&id));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["pack"]["state"], "ready", "{}", made.body);
    let mut other = incident(&id);
    other["title"] = json!("another incident");
    let refused = post(&server, "/incidents", &admin, &other);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("choose a new id"), "{}", refused.body);
    let v4 = incident("8c0c6a36-5d6b-4a6e-9a9e-8f1c2b3d4e5f");
    let bad = post(&server, "/incidents", &admin, &v4);
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("UUIDv7"), "{}", bad.body);
    assert_eq!(server_actions(&server, &admin), ["legal_hold", "incident"]);
}

#[test]
fn the_crash_hook_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("data"))
        .env("SEALOG_TEST_ONLY_INCIDENT_CRASH", "held")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("SEALOG_TEST_ONLY_INCIDENT_CRASH kills the server"),
        "{text}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was started");
}

/// The body of a GET of `path` with `token`, which must answer 200.
fn download(server: &Serve, path: &str, token: &str) -> Vec<u8> {
    let mut r = agent()
        .get(format!("{}{path}", server.url))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap()
}
