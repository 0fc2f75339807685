//! The page does not take the server's word: in a real headless Chromium, against a stub API
//! that lies, an inclusion proof that verifies but is another event's, or whose leaf hash differs
//! from the one the API reported, is flagged instead of shown as verified.
//!
//! This needs a lying server, so it is the one browser test left on a stub; the dashboard's
//! flows against the real `sealog serve` (sign-in, explorer, proofs, sessions, export, keys,
//! sign-out, hostile data) are in `crates/sealog-cli/tests/dashboard_*.rs`.

mod support;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use sealog_dashboard::Sessions;
use serde_json::{Value, json};

/// The id of the event in the receipt vectors' "minimal" receipt.
const MINIMAL_ID: &str = "0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20";
/// An event the receipt is not about.
const OTHER_ID: &str = "0190b3a4-8d0e-7cc1-9a53-00000000000b";

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
    /// The vectors' minimal receipt, served for every event.
    receipt: String,
    /// Its leaf hash in base64, as the real API spells it.
    leaf_hash_b64: String,
}

fn refuse(status: StatusCode) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": "nope", "message": "nope"}})),
    )
        .into_response()
}

fn authed(st: &Stub, headers: &HeaderMap) -> bool {
    st.sessions
        .session_principal(headers, &Method::GET)
        .is_some()
}

async fn log(State(st): State<Stub>, h: HeaderMap, Path(name): Path<String>) -> Response {
    if !authed(&st, &h) {
        return refuse(StatusCode::UNAUTHORIZED);
    }
    axum::Json(json!({"name": name, "size": 1, "checkpoint": {"size": 1}})).into_response()
}

/// `honest`: the receipt's own event with its true leaf hash and index. `liar`: the same event
/// with a leaf hash that is not the receipt's and another index. Any log: [`OTHER_ID`], which
/// the receipt is not about.
async fn event(
    State(st): State<Stub>,
    h: HeaderMap,
    Path((log, id)): Path<(String, String)>,
) -> Response {
    if !authed(&st, &h) {
        return refuse(StatusCode::UNAUTHORIZED);
    }
    let (index, leaf_hash) = match (log.as_str(), id.as_str()) {
        ("honest", MINIMAL_ID) | (_, OTHER_ID) => (0, st.leaf_hash_b64.clone()),
        // A well-formed hash, in hex, of something else.
        ("liar", MINIMAL_ID) => (3, "ab".repeat(32)),
        _ => return refuse(StatusCode::NOT_FOUND),
    };
    let event = json!({"id": id, "ts": "2026-11-22T10:00:00Z", "agent": {"id": "bot"},
        "action": "llm_call", "status": "ok"});
    axum::Json(json!({"index": index, "leaf_hash": leaf_hash, "event": event})).into_response()
}

async fn proof(State(st): State<Stub>, h: HeaderMap) -> Response {
    if !authed(&st, &h) {
        return refuse(StatusCode::UNAUTHORIZED);
    }
    (
        [("content-type", "text/plain; charset=utf-8")],
        st.receipt.clone(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_the_api_misattributes_are_flagged_in_chromium() {
    let v = vectors();
    let minimal = &v["valid"][0];
    assert_eq!(minimal["name"], "minimal");
    let hex = minimal["leaf_hash"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let (dashboard, sessions) = sealog_dashboard::router(support::StubAuth, Default::default());
    let stub = Stub {
        sessions,
        receipt: minimal["receipt"].as_str().unwrap().to_owned(),
        leaf_hash_b64: base64::engine::general_purpose::STANDARD.encode(bytes),
    };
    let config = json!({
        "vkey": v["log_vkey"],
        "logs": ["honest", "liar"],
        "events": {
            "honest": format!("honest/events/{MINIMAL_ID}"),
            "other_event": format!("honest/events/{OTHER_ID}"),
            "wrong_leaf_hash": format!("liar/events/{MINIMAL_ID}"),
        },
    })
    .to_string();
    // Same COOP as the dashboard, so the harness keeps a handle on the popup.
    let coop = [("cross-origin-opener-policy", "same-origin")];
    let app =
        Router::new()
            .route("/v1/logs/{log}", get(log))
            .route("/v1/logs/{log}/events/{id}", get(event))
            .route("/v1/logs/{log}/events/{id}/proof", get(proof))
            .with_state(stub)
            .route(
                "/test/untrusted.html",
                get(move || async move {
                    (
                        coop,
                        [("content-type", "text/html")],
                        include_str!("pages/untrusted.html"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/test/untrusted-test.js",
                get(|| async {
                    (
                        [("content-type", "text/javascript")],
                        include_str!("pages/untrusted-test.js"),
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
    let got =
        support::run_in_chromium(&format!("http://{addr}/test/untrusted.html"), &mut rx).await;
    let got: Value = serde_json::from_str(&got).unwrap();
    assert!(
        got.get("fatal").is_none(),
        "harness failed: {}",
        got["fatal"]
    );
    let seen = |k: &str| got["seen"][k].as_str().unwrap().to_owned();
    // The control: the receipt's own event, with the leaf hash in the API's base64.
    assert!(
        seen("honest").contains("Verified: entry 0 of sealog.example/default"),
        "{}",
        seen("honest")
    );
    assert!(!seen("honest").contains("but"), "{}", seen("honest"));
    assert!(
        seen("other_event")
            .contains("Proof verified, but the verified leaf is not this event (its id differs)."),
        "{}",
        seen("other_event")
    );
    assert!(
        seen("wrong_leaf_hash").contains(
            "Proof verified, but the leaf hash the API reported differs from the verified one; \
             the API reported index 3, the proof is for index 0."
        ),
        "{}",
        seen("wrong_leaf_hash")
    );
    assert!(!seen("wrong_leaf_hash").contains("Verified: entry"));
}
