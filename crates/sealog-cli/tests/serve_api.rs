//! `sealog serve` end to end: the real binary on a free port in a temporary directory, spoken to
//! over real HTTP. First-start bootstrap, a recorded event and its receipt, keys scoped to one
//! log, errors for malformed input and unknown routes, graceful shutdown and restart.

mod support;

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use support::{Serve, call, event, uuid7};

fn post_json(url: &str, token: &str, body: &Value) -> support::Reply {
    call("POST", url, Some(token), Some(body.to_string().as_bytes()))
}

#[test]
fn first_start_bootstraps_records_an_event_and_serves_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();

    // The key is printed once, with the file it is kept in, readable by its owner only.
    assert!(server.banner.contains(&admin), "{}", server.banner);
    let mode = std::fs::metadata(data.join("admin.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["origin"], "test.local/default");
    let vkey = info.json()["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("test.local/default+"), "{vkey}");

    let events = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let id = uuid7(1);
    let reply = post_json(&events, &admin, &json!({"events": [event(&id, "a")]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["results"][0]["status"], "accepted");
    assert_eq!(body["results"][0]["index"], 0);

    // A retry is a duplicate with the original index.
    let again = post_json(&events, &admin, &json!({"events": [event(&id, "a")]}));
    assert_eq!(again.json()["results"][0]["status"], "duplicate");
    assert_eq!(again.json()["results"][0]["index"], 0);

    // The receipt is a C2SP tlog-proof that verifies against the log key alone.
    let proof = call(
        "GET",
        &format!("{}/v1/logs/default/events/{id}/proof", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(proof.status, 200, "{}", proof.body);
    assert!(proof.content_type.starts_with("text/plain"));
    let file = dir.path().join("event.tlog-proof");
    std::fs::write(&file, &proof.body).unwrap();
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(&file)
        .args(["--log-key", &vkey])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{verify:?}");
}

#[test]
fn a_key_of_one_log_can_neither_read_nor_write_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = &server.url;

    let created = post_json(&format!("{url}/v1/logs"), &admin, &json!({"name": "other"}));
    assert_eq!(created.status, 201, "{}", created.body);
    let key = |log: &str, role: &str| {
        let r = post_json(
            &format!("{url}/v1/logs/{log}/keys"),
            &admin,
            &json!({"role": role, "label": "test"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["key"].as_str().unwrap().to_owned()
    };
    let ingest_default = key("default", "ingest");
    let read_other = key("other", "read");
    let admin_other = key("other", "admin");

    let batch = json!({"events": [event(&uuid7(7), "a")]});
    let ok = post_json(
        &format!("{url}/v1/logs/default/events"),
        &ingest_default,
        &batch,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Writing or reading across logs is refused, whatever the role.
    for (method, path, token) in [
        ("POST", "/v1/logs/other/events", &ingest_default),
        ("GET", "/v1/logs/default/events", &read_other),
        (
            "GET",
            "/v1/logs/default/events/0192f3a0-0000-7000-8000-000000000007",
            &read_other,
        ),
        ("GET", "/v1/logs/default/checkpoint", &read_other),
        ("GET", "/v1/logs/default/keys", &admin_other),
        ("POST", "/v1/logs/default/keys", &admin_other),
        ("POST", "/v1/logs/default/events", &admin_other),
        ("GET", "/tlog/default/checkpoint", &read_other),
    ] {
        let body = batch.to_string();
        let r = call(
            method,
            &format!("{url}{path}"),
            Some(token),
            Some(body.as_bytes()),
        );
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.error_code(), "forbidden", "{method} {path}");
    }
    // The log's own admin still gets the body checked, after its role was.
    let r = post_json(
        &format!("{url}/v1/logs/other/keys"),
        &admin_other,
        &json!({"role": "root"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("role"),
        "{}",
        r.body
    );
    // An ingest key cannot read its own log; a wrong or missing key is 401.
    let r = call(
        "GET",
        &format!("{url}/v1/logs/default/events"),
        Some(&ingest_default),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(
        "GET",
        &format!("{url}/v1/logs/default/events"),
        Some("sk_wrong"),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let r = call("GET", &format!("{url}/v1/logs/default/events"), None, None);
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn bad_input_and_unknown_routes_get_json_errors_that_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);

    let truncated = call(
        "POST",
        &events,
        Some(&admin),
        Some(b"{\"events\": [\n{\"id\": "),
    );
    assert_eq!(truncated.status, 400, "{}", truncated.body);
    let message = truncated.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("line 2"), "{message}");

    let utf8 = call(
        "POST",
        &events,
        Some(&admin),
        Some(b"{\"events\": [\"\xff\"]}"),
    );
    assert_eq!(utf8.status, 400, "{}", utf8.body);

    // A well-formed batch stores the good event and names the bad one's problem.
    let mixed = json!({"events": [event(&uuid7(1), "a"), {"id": uuid7(2), "ts": 5}]});
    let reply = post_json(&events, &admin, &mixed);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        (body["accepted"].as_u64(), body["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["results"][1]["status"], "rejected");
    assert!(
        body["results"][1]["error"].to_string().contains("ts"),
        "{body}"
    );

    let deep = format!(
        "{{\"events\": [{}{}]}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // Deep nesting inside one event rejects that event, saying why, without a stack overflow;
    // a batch of which nothing is stored is a 422 that still carries each event's result.
    let r = call("POST", &events, Some(&admin), Some(deep.as_bytes()));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "nothing_stored");
    assert_eq!(r.json()["results"][0]["status"], "rejected");
    assert!(r.body.contains("recursion limit"), "{}", r.body);

    let missing = call(
        "GET",
        &format!("{}/v1/nowhere", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    let wrong_method = call("DELETE", &events, Some(&admin), None);
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    assert!(wrong_method.json()["error"]["message"].is_string());
}

#[test]
fn sigterm_exits_cleanly_and_a_restart_keeps_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let events: Vec<Value> = (0..50).map(|n| event(&uuid7(n), "a")).collect();
    let url = format!("{}/v1/logs/default/events", server.url);
    let reply = post_json(&url, &admin, &json!({ "events": events }));
    assert_eq!(reply.json()["accepted"], 50, "{}", reply.body);
    assert_eq!(server.terminate().code(), Some(0));

    // The final checkpoint covers everything, and nothing needs bootstrapping again.
    let server = Serve::start(&data, &[]);
    assert!(!server.banner.contains("First start"), "{}", server.banner);
    assert_eq!(server.admin_token(), admin);
    let checkpoint = call(
        "GET",
        &format!("{}/v1/logs/default/checkpoint", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(
        checkpoint.body.lines().nth(1),
        Some("50"),
        "{}",
        checkpoint.body
    );
    let url = format!("{}/v1/logs/default/events", server.url);
    let retry = post_json(&url, &admin, &json!({"events": [event(&uuid7(49), "a")]}));
    assert_eq!(retry.json()["results"][0]["status"], "duplicate");
    assert_eq!(retry.json()["results"][0]["index"], 49);
}
