//! Errors over real HTTP answer by what went wrong: concurrent creation of one log gives one
//! 201 and 409s (never a 500), and a 500 tells the client a request id to quote, never the
//! internal detail, which goes to the server's log under that id.

mod support;

use serde_json::json;
use support::{Serve, call};

#[test]
fn concurrent_creation_of_one_log_answers_one_201_and_409s() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = format!("{}/v1/logs", server.url);
    for round in 0..5 {
        let body = json!({"name": format!("race-{round}")}).to_string();
        let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let reply = call("POST", &url, Some(&admin), Some(body.as_bytes()));
                        (reply.status, reply.error_code())
                    })
                })
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let created = statuses.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "round {round}: {statuses:?}");
        for (status, code) in statuses.iter().filter(|(s, _)| *s != 201) {
            assert_eq!((*status, code.as_str()), (409, "exists"), "{statuses:?}");
        }
    }
    // A name the engine refuses is the caller's to fix: 422, with what is wrong.
    let bad = call(
        "POST",
        &url,
        Some(&admin),
        Some(json!({"name": "No Spaces"}).to_string().as_bytes()),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("a-z, 0-9"), "{}", bad.body);
}

#[test]
fn a_500_names_its_request_id_and_keeps_the_detail_in_the_server_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log_file = dir.path().join("server.log");
    let server = Serve::start_logging(&data, &["--name", "test.local"], &[], &log_file);
    let admin = server.admin_token();
    // The key store can no longer be replaced: saving a new key fails inside the server.
    std::fs::remove_file(data.join("server.json")).unwrap();
    std::fs::create_dir(data.join("server.json")).unwrap();
    let reply = support::call_with(
        "POST",
        &format!("{}/v1/logs/default/keys", server.url),
        Some(&admin),
        &[
            ("Content-Type", "application/json"),
            ("X-Request-Id", "probe-500"),
        ],
        Some(json!({"role": "read"}).to_string().as_bytes()),
    );
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.error_code(), "internal");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("probe-500"), "{message}");
    let data_dir = data.display().to_string();
    for secret in [
        data_dir.as_str(),
        "server.json",
        "Is a directory",
        "os error",
    ] {
        assert!(
            !reply.body.contains(secret),
            "{secret:?} leaked: {}",
            reply.body
        );
    }
    drop(server);
    let logged = std::fs::read_to_string(&log_file).unwrap();
    let line = logged
        .lines()
        .find(|l| l.contains("probe-500") && l.contains("internal error"))
        .unwrap_or_else(|| panic!("no log line for the 500:\n{logged}"));
    assert!(line.contains("server.json"), "{line}");
}

#[test]
fn an_id_reused_for_different_content_is_a_conflict_and_the_original_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let id = support::uuid7(7);
    let original = support::event(&id, "a");
    let mut changed = original.clone();
    changed["status"] = json!("error");
    let post = |events: Vec<serde_json::Value>| {
        let body = json!({ "events": events }).to_string();
        let reply = call("POST", &url, Some(&admin), Some(body.as_bytes()));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    };
    let first = post(vec![original.clone()]);
    assert_eq!(first["results"][0]["status"], "accepted");
    // The same event again is a duplicate with the original's receipt; a different event
    // under the same id is a conflict (also within one request) and gets no receipt.
    let other = support::uuid7(8);
    let mut twin = support::event(&other, "b");
    let reply = post(vec![original.clone(), changed.clone(), twin.clone(), {
        twin["action"] = json!("tool_call");
        twin
    }]);
    let results = reply["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["duplicate", "conflict", "accepted", "conflict"],
        "{reply}"
    );
    assert_eq!(
        (reply["duplicates"].clone(), reply["conflicts"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(results[1]["index"], 0);
    assert!(results[0]["proof"].is_string(), "{reply}");
    assert!(results[1].get("proof").is_none(), "{reply}");
    let message = results[1]["error"].as_str().unwrap();
    assert!(
        message.contains(&id) && message.contains("new id"),
        "{message}"
    );
    // The original is what the log holds.
    let stored = call(
        "GET",
        &format!("{}/v1/logs/default/events/{id}", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(stored.json()["event"]["status"], "ok", "{}", stored.body);
}
