//! A log's own witness policy through the API, over real HTTP with real `sealog witness serve`
//! processes: strict validation whose errors name the line, admin only, applied at once
//! without a restart, kept across restarts, and taking precedence over `--witness-policy`
//! until it is removed.

mod support;
mod witness;

use serde_json::{Value, json};
use std::path::Path;
use support::{Serve, call, event, uuid7};
use witness::Witness;

const SERVE: &[&str] = &[
    "--checkpoint-interval-ms",
    "50",
    "--checkpoint-wait-ms",
    "5000",
];

/// Records one event with `?wait=witnessed`; the status and the cosigners' key names on its
/// receipt.
fn record_witnessed(server: &Serve, token: &str, n: u64) -> (u16, Vec<String>) {
    let body = serde_json::to_vec(&json!({ "events": [event(&uuid7(n), "bot")] })).unwrap();
    let url = format!("{}/v1/logs/default/events?wait=witnessed", server.url);
    let reply = call("POST", &url, Some(token), Some(&body));
    if reply.status != 200 {
        return (reply.status, vec![reply.body]);
    }
    let proof = reply.json()["results"][0]["proof"]
        .as_str()
        .unwrap()
        .to_owned();
    let cosigners = proof
        .lines()
        .filter_map(|l| l.strip_prefix("— "))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| n.starts_with('w'))
        .map(str::to_owned)
        .collect();
    (200, cosigners)
}

fn policy_call(server: &Serve, token: &str, method: &str, text: Option<&str>) -> (u16, Value) {
    let url = format!("{}/v1/logs/default/witness-policy", server.url);
    let body = text.map(|t| serde_json::to_vec(&json!({ "policy": t })).unwrap());
    let reply = call(method, &url, Some(token), body.as_deref());
    (reply.status, reply.json())
}

fn start(data: &Path, extra: &[&str]) -> Serve {
    Serve::start(data, &[SERVE, extra].concat())
}

#[test]
fn a_log_s_own_policy_is_validated_applied_at_once_kept_and_takes_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = start(&data, &[]);
    let token = first.admin_token();
    let url = format!("{}/v1/logs/default", first.url);
    let vkey = call("GET", &url, Some(&token), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = dir.path().join("logs");
    std::fs::write(&list, format!("log {vkey}\nquorum none\n")).unwrap();
    let witnesses: Vec<Witness> = (0..2)
        .map(|i| {
            let (data, name) = (dir.path().join(format!("w{i}")), format!("w{i}.test/w"));
            Witness::start(&data, &list, "127.0.0.1:0", &["--name", &name])
        })
        .collect();
    let only = |i: usize| {
        let w = &witnesses[i];
        format!(
            "log {vkey}\nwitness W{i} {} {}\nquorum W{i}\n",
            w.vkey(),
            w.url
        )
    };

    // The routes are described, the PUT with its body.
    let api = call("GET", &format!("{}/openapi.json", first.url), None, None).json();
    let route = &api["paths"]["/v1/logs/{log}/witness-policy"];
    assert!(
        route["get"].is_object() && route["delete"].is_object(),
        "{route}"
    );
    assert!(route["put"]["requestBody"].is_object(), "{route}");

    // No policy anywhere: not witnessed.
    let (status, got) = policy_call(&first, &token, "GET", None);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["source"], "none");
    assert_eq!(got["policy"], Value::Null);
    assert_eq!(record_witnessed(&first, &token, 1).0, 400);

    // Refused strictly, naming the line; nothing changes.
    let w0 = &witnesses[0];
    let refused = [
        (
            format!("witness W0 {}\nquorum W0\n", w0.vkey()),
            "policy line 1: witness \"W0\" has no URL to send checkpoints to",
        ),
        (
            format!("witness W0 {} ftp://x\nquorum W0\n", w0.vkey()),
            "policy line 1: witness \"W0\" has the URL \"ftp://x\", which is not http:// or https://",
        ),
        (
            format!("witness W0 {} {}\nquorom W0\n", w0.vkey(), w0.url),
            "policy line 2: unknown keyword \"quorom\"",
        ),
        (
            format!("witness W0 {} {}\n", w0.vkey(), w0.url),
            "policy has no quorum line",
        ),
        (
            format!(
                "log {}\nwitness W0 {} {}\nquorum W0\n",
                vkey.replacen("default", "other", 1),
                w0.vkey(),
                w0.url
            ),
            "policy line 1: ",
        ),
    ];
    for (text, message) in &refused {
        let (status, got) = policy_call(&first, &token, "PUT", Some(text));
        assert_eq!(status, 400, "{got}");
        assert_eq!(got["error"]["code"], "invalid_policy", "{got}");
        let said = got["error"]["message"].as_str().unwrap();
        assert!(said.starts_with(message), "{said}");
    }
    assert_eq!(policy_call(&first, &token, "GET", None).1["source"], "none");
    // Only an admin of the log may set it.
    let reader = call(
        "POST",
        &format!("{url}/keys"),
        Some(&token),
        Some(br#"{"role": "read", "label": "r"}"#),
    )
    .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(policy_call(&first, &reader, "PUT", Some(&only(0))).0, 403);
    assert_eq!(policy_call(&first, &reader, "GET", None).0, 403);

    // Set: witnessed by W0 at once, without a restart.
    let (status, got) = policy_call(&first, &token, "PUT", Some(&only(0)));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["source"], "log");
    assert_eq!(got["policy"], only(0));
    assert_eq!(got["requirement"], "quorum \"W0\" (the witness W0)");
    assert_eq!(got["witnesses"][0]["url"], w0.url.as_str());
    assert_eq!(
        record_witnessed(&first, &token, 2),
        (200, vec!["w0.test/w".into()])
    );
    // Replaced: now W1 cosigns.
    assert_eq!(policy_call(&first, &token, "PUT", Some(&only(1))).0, 200);
    assert_eq!(
        record_witnessed(&first, &token, 3),
        (200, vec!["w1.test/w".into()])
    );
    assert!(first.terminate().success());

    // Kept across a restart, and ahead of the server-wide policy (W0).
    let server_policy = dir.path().join("server-policy");
    std::fs::write(&server_policy, only(0)).unwrap();
    let flag = ["--witness-policy", server_policy.to_str().unwrap()];
    let server = start(&data, &flag);
    let (_, got) = policy_call(&server, &token, "GET", None);
    assert_eq!(
        (got["source"].clone(), got["policy"].clone()),
        (json!("log"), json!(only(1)))
    );
    assert_eq!(
        record_witnessed(&server, &token, 4),
        (200, vec!["w1.test/w".into()])
    );
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&token),
        None,
    );
    assert_eq!(info.json()["witnessing"]["policy_source"], "log");

    // Removed: the server-wide policy applies again, at once.
    let (status, got) = policy_call(&server, &token, "DELETE", None);
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (got["source"].clone(), got["policy"].clone()),
        (json!("server"), Value::Null)
    );
    assert_eq!(
        record_witnessed(&server, &token, 5),
        (200, vec!["w0.test/w".into()])
    );
    assert!(server.terminate().success());

    // Without a server-wide policy, removing the log's own leaves it not witnessed.
    let server = start(&data, &[]);
    assert_eq!(policy_call(&server, &token, "PUT", Some(&only(0))).0, 200);
    assert_eq!(
        record_witnessed(&server, &token, 6),
        (200, vec!["w0.test/w".into()])
    );
    assert_eq!(
        policy_call(&server, &token, "DELETE", None).1["source"],
        "none"
    );
    assert_eq!(record_witnessed(&server, &token, 7).0, 400);
}
