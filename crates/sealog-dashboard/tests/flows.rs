//! The dashboard's sign-in, key management and sign-out driven through its own forms in a real
//! headless Chromium, against a stub API that authenticates with [`Sessions`] exactly as the
//! server must: the cookie stands in for a bearer key, and state changes need the CSRF token.

mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use sealog_dashboard::{Principal, Role, Sessions};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Stub {
    sessions: Sessions,
    keys: Arc<Mutex<Vec<Value>>>,
}

fn refuse(status: StatusCode) -> Response {
    (
        status,
        Json(json!({"error": {"code": "unauthorized", "message": "no"}})),
    )
        .into_response()
}

/// The session's admin principal, or the status to refuse with.
fn admin(st: &Stub, h: &HeaderMap, m: Method) -> Result<Principal, StatusCode> {
    match st.sessions.session_principal(h, &m) {
        Some(p) if p.role == Role::Admin => Ok(p),
        Some(_) => Err(StatusCode::FORBIDDEN),
        None => Err(StatusCode::UNAUTHORIZED),
    }
}

async fn logs(State(st): State<Stub>, h: HeaderMap) -> Response {
    match admin(&st, &h, Method::GET) {
        Ok(_) => Json(json!([{ "name": "demo", "size": 1 }])).into_response(),
        Err(e) => refuse(e),
    }
}

async fn log(State(st): State<Stub>, h: HeaderMap) -> Response {
    match admin(&st, &h, Method::GET) {
        Ok(_) => {
            Json(json!({ "name": "demo", "size": 1, "checkpoint": { "size": 1 } })).into_response()
        }
        Err(e) => refuse(e),
    }
}

async fn list_keys(State(st): State<Stub>, h: HeaderMap) -> Response {
    match admin(&st, &h, Method::GET) {
        Ok(_) => Json(json!({ "keys": *st.keys.lock().unwrap() })).into_response(),
        Err(e) => refuse(e),
    }
}

async fn create_key(State(st): State<Stub>, h: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Err(e) = admin(&st, &h, Method::POST) {
        return refuse(e);
    }
    let key = json!({ "id": "k-new", "label": body["label"], "role": body["role"] });
    st.keys.lock().unwrap().push(key.clone());
    Json(json!({ "id": "k-new", "label": body["label"], "role": body["role"], "key": "sealog_secret_<i>x</i>" }))
        .into_response()
}

async fn revoke_key(
    State(st): State<Stub>,
    h: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = admin(&st, &h, Method::DELETE) {
        return refuse(e);
    }
    for k in st.keys.lock().unwrap().iter_mut() {
        if k["id"] == id.as_str() {
            k["revoked"] = json!(true);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_manage_keys_and_sign_out_in_chromium() {
    let (dashboard, sessions) = sealog_dashboard::router(support::StubAuth, Default::default());
    let stub = Stub {
        sessions,
        keys: Arc::new(Mutex::new(vec![
            json!({ "id": "k-old", "label": "old", "role": "ingest" }),
        ])),
    };
    let keys = stub.keys.clone();
    let coop = [("cross-origin-opener-policy", "same-origin")];
    let app = Router::new()
        .route("/v1/logs", get(logs))
        .route("/v1/logs/{log}", get(log))
        .route("/v1/logs/{log}/keys", get(list_keys).post(create_key))
        .route("/v1/logs/{log}/keys/{id}", delete(revoke_key))
        .with_state(stub)
        .route(
            "/test/flows.html",
            get(move || async move {
                (
                    coop,
                    [("content-type", "text/html")],
                    include_str!("pages/flows.html"),
                )
                    .into_response()
            }),
        )
        .route(
            "/test/flows-test.js",
            get(|| async {
                (
                    [("content-type", "text/javascript")],
                    include_str!("pages/flows-test.js"),
                )
                    .into_response()
            }),
        )
        .merge(dashboard);
    let (addr, mut rx) = support::serve(app).await;
    let got = support::run_in_chromium(&format!("http://{addr}/test/flows.html"), &mut rx).await;
    let got: Value = serde_json::from_str(&got).unwrap();
    assert!(
        got.get("fatal").is_none(),
        "harness failed: {} after {}",
        got["fatal"],
        got["steps"]
    );
    let steps = &got["steps"];
    assert!(
        steps["nav"]
            .as_str()
            .unwrap()
            .contains("k-admin · admin · all logs"),
        "{steps}"
    );
    assert_eq!(steps["keyFieldCleared"], true);
    // The new secret is shown once, as text.
    assert!(
        steps["created"]
            .as_str()
            .unwrap()
            .contains("sealog_secret_<i>x</i>"),
        "{steps}"
    );
    // Create and revoke went through (so the page sent the CSRF token)...
    let keys = keys.lock().unwrap();
    assert_eq!(
        keys.len(),
        2,
        "only the page's own create may succeed: {keys:?}"
    );
    assert_eq!(keys[1]["label"], "ci <b>bot</b>");
    assert_eq!(keys[1]["role"], "read");
    assert_eq!(
        keys[1]["revoked"], true,
        "the new key's Revoke button revokes it"
    );
    assert_eq!(keys[0].get("revoked"), None, "and nothing else");
    // ...while the same cookie without the token could not change anything.
    assert_eq!(steps["forgedStatus"], 401);
    // Signing out ends the server-side session.
    assert_eq!(steps["afterSignOut"], 401);
}
