//! The dashboard in a real headless Chromium renders hostile event data as text: no script
//! runs, no element is injected, and every string is shown literally. The same run checks
//! that an event's proof is verified in the browser, and refused for the wrong event.

mod support;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sealog_dashboard::Sessions;
use serde_json::{Value, json};
use std::collections::HashMap;

const H_SCRIPT: &str = "<script>document.title='pwned';window.__pwned=1</script>";
const H_IMG: &str = "<img src=x onerror=\"document.title='pwned';window.__pwned=2\">";
const H_ENTITIES: &str = "&lt;b&gt;&amp;&#x3C;script&#x3E;";
const H_CONTROL: &str = "ctl\u{0}\u{1b}[31m\u{202e}rev\u{7f}";
const H_ATTR: &str = "\"><svg onload=window.__pwned=3>";
const H_URL: &str = "javascript:window.__pwned=4";
const HOSTILE_ID: &str = "0190b3a4-8d0e-7cc1-9a53-00000000000b";

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/vectors/receipts.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(Clone)]
struct Stub {
    sessions: Sessions,
    events: Vec<Value>,
    receipt: String,
}

fn row(index: u64, leaf_hash: &str, event: Value) -> Value {
    json!({ "index": index, "leaf_hash": leaf_hash, "received": H_SCRIPT, "event": event })
}

fn hostile_events(good_id: &str, good_leaf_hash: &str) -> Vec<Value> {
    let hostile = json!({
        "id": HOSTILE_ID, "ts": "2026-11-22T10:00:01Z", "started": "2026-11-22T10:00:00.500Z",
        "agent": { "id": H_IMG, "name": H_SCRIPT, "version": H_ENTITIES, "environment": H_CONTROL },
        "action": "x-evil", "status": H_ATTR,
        "session": { "id": H_SCRIPT, "seq": 0 },
        "trace": { "trace_id": H_URL, "span_id": "aaaaaaaaaaaaaaaa" },
        "input": { "content": { "html": format!("{H_SCRIPT}{H_IMG}"), "link": H_URL } },
        "output": { "commitment": H_ENTITIES, "size": 3, "media_type": H_IMG },
        "context": {
            "tool": { "name": H_URL, "call_id": H_IMG },
            "oversight": { "reviewer": H_IMG, "decision": H_SCRIPT, "reason": H_ENTITIES },
            "x-evil": { H_SCRIPT: H_IMG }
        },
        "attributes": { H_SCRIPT: H_CONTROL, "entities": H_ENTITIES, "attr": H_ATTR }
    });
    let oversight = json!({
        "id": "0190b3a4-8d0e-7cc1-9a53-00000000000c", "ts": "2026-11-22T10:00:03Z",
        "agent": { "id": "bot" }, "action": "human_oversight", "status": "ok",
        "session": { "id": H_SCRIPT, "seq": 2 },
        "trace": { "trace_id": "t", "span_id": "bbbbbbbbbbbbbbbb", "parent_span_id": "aaaaaaaaaaaaaaaa" },
        "context": { "oversight": { "reviewer": "alice", "decision": "approved" } }
    });
    let good = json!({
        "id": good_id, "ts": "2026-11-22T10:00:00Z", "agent": { "id": "bot" },
        "action": "llm_call", "status": "ok"
    });
    vec![
        row(7, H_IMG, hostile),
        row(8, "00", oversight),
        row(0, good_leaf_hash, good),
    ]
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": {"code": "unauthorized", "message": "sign in"}})),
    )
        .into_response()
}

/// The integrator's contract in miniature: a session cookie stands in for a bearer key.
fn authed(st: &Stub, headers: &HeaderMap) -> bool {
    st.sessions
        .session_principal(headers, &Method::GET)
        .is_some()
}

async fn logs(State(st): State<Stub>, h: HeaderMap) -> Response {
    if !authed(&st, &h) {
        return unauthorized();
    }
    axum::Json(json!({ "logs": [{ "name": "demo" }] })).into_response()
}

async fn log(State(st): State<Stub>, h: HeaderMap) -> Response {
    if !authed(&st, &h) {
        return unauthorized();
    }
    axum::Json(json!({ "name": "demo", "size": 8, "index_lag": 0,
        "checkpoint": { "size": 8, "time": "2026-11-22T10:00:05Z" } }))
    .into_response()
}

async fn events(
    State(st): State<Stub>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authed(&st, &h) {
        return unauthorized();
    }
    let list: Vec<&Value> = st
        .events
        .iter()
        .filter(|r| {
            q.get("session")
                .is_none_or(|s| r["event"]["session"]["id"] == s.as_str())
        })
        .collect();
    axum::Json(json!({ "events": list, "next": null })).into_response()
}

async fn event(
    State(st): State<Stub>,
    h: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if !authed(&st, &h) {
        return unauthorized();
    }
    match st.events.iter().find(|r| r["event"]["id"] == id.as_str()) {
        Some(r) => axum::Json(r.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every event gets the receipt of the vectors' "minimal" event, so only that one matches.
async fn proof(State(st): State<Stub>, h: HeaderMap) -> Response {
    if !authed(&st, &h) {
        return unauthorized();
    }
    (
        [("content-type", "text/plain; charset=utf-8")],
        st.receipt.clone(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_events_render_as_text_in_chromium() {
    let v = vectors();
    let minimal = &v["valid"][0];
    assert_eq!(minimal["name"], "minimal");
    let good_id = "0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20";
    let (dashboard, sessions) = sealog_dashboard::router(support::StubAuth, Default::default());
    let stub = Stub {
        sessions,
        events: hostile_events(good_id, minimal["leaf_hash"].as_str().unwrap()),
        receipt: minimal["receipt"].as_str().unwrap().to_owned(),
    };
    let config = json!({
        "vkey": v["log_vkey"], "hostile_id": HOSTILE_ID, "good_id": good_id,
        "session_id": H_SCRIPT, "agent": H_IMG,
    })
    .to_string();
    // Same COOP as the dashboard, so the harness keeps a handle on the popup.
    let coop = [("cross-origin-opener-policy", "same-origin")];
    let app =
        Router::new()
            .route("/v1/logs", get(logs))
            .route("/v1/logs/{log}", get(log))
            .route("/v1/logs/{log}/events", get(events))
            .route("/v1/logs/{log}/events/{id}", get(event))
            .route("/v1/logs/{log}/events/{id}/proof", get(proof))
            .with_state(stub)
            .route(
                "/test/xss.html",
                get(move || async move {
                    (
                        coop,
                        [("content-type", "text/html")],
                        include_str!("pages/xss.html"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/test/xss-test.js",
                get(|| async {
                    (
                        [("content-type", "text/javascript")],
                        include_str!("pages/xss-test.js"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/test/config.json",
                get(move || async move {
                    ([("content-type", "application/json")], config).into_response()
                }),
            )
            .merge(dashboard);
    let (addr, mut rx) = support::serve(app).await;
    let got = support::run_in_chromium(&format!("http://{addr}/test/xss.html"), &mut rx).await;
    let got: Value = serde_json::from_str(&got).unwrap();
    assert!(
        got.get("fatal").is_none(),
        "harness failed: {}",
        got["fatal"]
    );
    let seen = got["seen"].as_array().unwrap();
    assert_eq!(seen.len(), 5);
    for page in seen {
        let label = page["label"].as_str().unwrap();
        assert_eq!(page["pwned"], Value::Null, "{label}: hostile script ran");
        // The payloads set the title to exactly "pwned"; the session page's own title quotes the
        // hostile session id as text, which is fine.
        assert_ne!(
            page["title"], "pwned",
            "{label}: title changed by a payload"
        );
        assert_eq!(page["suspicious"], json!([]), "{label}: injected elements");
        assert_eq!(
            page["violations"],
            json!([]),
            "{label}: CSP blocked something the page tried"
        );
        let text = page["text"].as_str().unwrap();
        for raw in ['\u{0}', '\u{1b}', '\u{202e}', '\u{7f}'] {
            assert!(
                !text.contains(raw),
                "{label}: raw control character {raw:?} shown"
            );
        }
    }
    let text = |i: usize| seen[i]["text"].as_str().unwrap();
    // The list shows the hostile strings literally.
    for s in [H_IMG, H_ATTR, H_SCRIPT] {
        assert!(text(0).contains(s), "events list lacks {s:?}");
    }
    // The detail shows every hostile string literally, control characters made visible.
    for s in [
        H_SCRIPT,
        H_IMG,
        H_ENTITIES,
        H_ATTR,
        H_URL,
        "ctl\\u0000\\u001b[31m\\u202erev\\u007f",
    ] {
        assert!(text(1).contains(s), "event detail lacks {s:?}");
    }
    // The proof of another event verifies, but is flagged as not this event's.
    assert!(
        text(1).contains("Proof verified, but the verified leaf is not this event"),
        "{}",
        text(1)
    );
    assert!(
        text(2).contains("Verified: entry 0 of sealog.example/default"),
        "{}",
        text(2)
    );
    assert!(text(2).contains("What this proves") && text(2).contains("What it does not prove"));
    // The session shows the gap at seq 1, the oversight decision and the span tree.
    assert!(text(3).contains("Gap: seq 1 missing"), "{}", text(3));
    assert!(
        text(3).contains("oversight: approved by alice"),
        "{}",
        text(3)
    );
    assert!(text(3).contains("aaaaaaaaaaaaaaaa") && text(3).contains("bbbbbbbbbbbbbbbb"));
    // The export link carries the filter, URL-encoded, and the verify command is shown.
    let href = seen[4]["exportHref"].as_str().unwrap();
    assert!(
        href.starts_with("/v1/logs/demo/export?agent=%3Cimg"),
        "{href}"
    );
    assert!(text(4).contains("sealog verify pack.zip --log-key 'sealog.example/default+"));
}
