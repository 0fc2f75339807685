//! Handing a log's requests to the node that writes it (docs/DESIGN.md §3.2.1): on a shared
//! store, a node that has a log on standby streams that log's requests (method, path, query,
//! body, credentials and content headers) to the holder of its lease, at the URL the holder
//! stored with the lease, and streams the answer back, so that any node answers any request.
//!
//! A forwarded request carries [`FORWARDED_BY`]; a node never forwards such a request again,
//! so a request that reaches a node which lost the lease meanwhile is answered 503
//! `log_on_standby` there and never loops. Nothing is acknowledged unless the leader answered:
//! when it cannot be reached, or its lease runs out while it has the request, the client gets
//! a 503 `leader_unreachable` with `Retry-After`, naming the holder.

use crate::body_deadline::BodyTimeout;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sealog_storage::Leader;
use std::time::Duration;

/// The header a forwarding node adds, naming itself: its request is not forwarded again.
pub const FORWARDED_BY: &str = "sealog-forwarded-by";

/// The request headers a forward keeps: credentials, the body's description, what the
/// client accepts, and the request id (so both nodes log the same one). Hop-by-hop headers,
/// cookies and the rest stay behind.
const KEPT_HEADERS: [HeaderName; 7] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::CONTENT_ENCODING,
    header::CONTENT_LENGTH,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    HeaderName::from_static(crate::ops::REQUEST_ID),
];

/// How long a forward waits for a TCP connection to the holder.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a forward waiting for the holder's answer checks that it still holds the lease.
const LEASE_CHECK: Duration = Duration::from_millis(100);

/// The HTTP client of forwards: a pool of plain HTTP/1 connections to the other nodes.
#[derive(Clone)]
pub struct Forwarder {
    client: Client<HttpConnector, Limited<Body>>,
}

impl Default for Forwarder {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Forwarder { client }
    }
}

/// The middleware: a request for a log this node has on standby goes to the log's leader;
/// every other request is served here.
pub async fn to_leader(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.engine.is_shared() || req.headers().contains_key(FORWARDED_BY) {
        return next.run(req).await;
    }
    // A dashboard session is this node's own; the leader would not know the cookie. Such a
    // request is answered here (503 `log_on_standby` for a standby log).
    let headers = req.headers();
    if !headers.contains_key(header::AUTHORIZATION) && headers.contains_key(header::COOKIE) {
        return next.run(req).await;
    }
    let Some(name) = log_of(&state, &req) else {
        return next.run(req).await;
    };
    if state.engine.is_open(&name) {
        return next.run(req).await;
    }
    // Not written here: look the log up (which takes it over if its lease ran out, and finds
    // a log created through another node), off the async workers since it asks the store.
    // A standby log whose holder was not known at the last look (its lease was free, another
    // node may have just taken it) is looked up in the store again.
    let engine = state.engine.clone();
    let lookup = name.clone();
    let leader = tokio::task::spawn_blocking(move || match engine.log(&lookup) {
        Some(_) => None,
        None => engine
            .leader(&lookup)
            .or_else(|| engine.leader_now(&lookup)),
    })
    .await;
    match leader {
        Ok(Some(leader)) => forward(&state, &name, leader, req).await,
        // Written here, or nobody holds it, or it is damaged or unknown: answered here (503
        // or 404).
        _ => next.run(req).await,
    }
}

/// The log a request is for: the `{log}` segment of its route, or for OTLP the log of the
/// key it is sent with (the key must be known here).
fn log_of(state: &AppState, req: &Request) -> Option<String> {
    let route = req.extensions().get::<MatchedPath>()?.as_str();
    if route.starts_with("/otlp/") {
        let key = req
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        return state.keys.authenticate(key.trim())?.log;
    }
    let at = route.split('/').position(|segment| segment == "{log}")?;
    req.uri().path().split('/').nth(at).map(str::to_owned)
}

/// Streams `req` to `leader` and its answer back, or answers why it could not.
async fn forward(state: &AppState, name: &str, leader: Leader, req: Request) -> Response {
    let Some(base) = leader.url.as_deref() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_on_standby",
            format!(
                "log {name} is written by node {}, which advertises no URL (--advertise-url), \
                 so this node cannot hand it the request; send it to that node",
                leader.node
            ),
        )
        .retry_after(Duration::from_secs(1))
        .into_response();
    };
    let limit = state.options.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    let outgoing = match outgoing_request(
        req,
        base,
        state.engine.node_name().unwrap_or_default(),
        limit,
    ) {
        Ok(outgoing) => outgoing,
        Err(e) => return e.into_response(),
    };
    let answer = tokio::select! {
        answer = state.forwarder.client.request(outgoing) => answer,
        () = lease_moved(state, name, &leader) => {
            return unreachable(name, &leader, "its lease ran out while it had the request; it \
                may have carried it out (events are deduplicated by id, so an ingest is safe \
                to retry)").into_response();
        }
    };
    match answer {
        Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
            relay_refusal(name, &leader, response).await
        }
        Ok(response) => relay(response.into_parts(), Body::new),
        Err(e) => failed(name, &leader, limit, &e).into_response(),
    }
}

/// The holder's answer, streamed back without its hop-by-hop headers.
fn relay<B>(
    (mut parts, body): (axum::http::response::Parts, B),
    into_body: impl FnOnce(B) -> Body,
) -> Response {
    for hop in [header::CONNECTION, header::TRANSFER_ENCODING] {
        parts.headers.remove(hop);
    }
    Response::from_parts(parts, into_body(body))
}

/// A 503 of the node this one believed the leader. When it says `log_on_standby`, this
/// node's view was stale (the lease moved, the holder restarted at the same address): the
/// client learns that the leader is moving, not to go elsewhere. Any other 503 (busy, a
/// storage failure) is the leader's own and is relayed as it is.
async fn relay_refusal(
    name: &str,
    leader: &Leader,
    response: hyper::Response<hyper::body::Incoming>,
) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = Limited::new(body, 64 * 1024).collect().await else {
        return unreachable(name, leader, "its answer broke off").into_response();
    };
    let bytes = bytes.to_bytes();
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| Some(v["error"]["code"].as_str()?.to_owned()));
    if code.as_deref() == Some("log_on_standby") {
        let what = "that node no longer writes it (its lease moved while the request was on \
                    its way; nothing was stored)";
        return unreachable(name, leader, what).into_response();
    }
    relay((parts, bytes), Body::from)
}

/// `req` addressed to the leader at `base`, with the kept headers, marked as forwarded by
/// `node`, its body limited to `limit` bytes.
fn outgoing_request(
    req: Request,
    base: &str,
    node: &str,
    limit: usize,
) -> Result<hyper::Request<Limited<Body>>, ApiError> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("{}{path}", base.trim_end_matches('/'))
        .parse()
        .map_err(|e| ApiError::internal(format!("the leader's URL {base:?} is not a URL: {e}")))?;
    let mut outgoing = hyper::Request::builder().method(parts.method).uri(uri);
    for name in &KEPT_HEADERS {
        for value in parts.headers.get_all(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let marker = HeaderValue::from_str(node)
        .map_err(|e| ApiError::internal(format!("the node name is not a header value: {e}")))?;
    outgoing
        .header(FORWARDED_BY, marker)
        .body(Limited::new(body, limit))
        .map_err(|e| ApiError::internal(format!("cannot build the forwarded request: {e}")))
}

/// Resolves once `leader` no longer holds log `name`'s lease as this node sees it (it ran
/// out, another node or this one took the log over).
async fn lease_moved(state: &AppState, name: &str, leader: &Leader) {
    loop {
        tokio::time::sleep(LEASE_CHECK).await;
        let now = state.engine.leader(name);
        if now.is_none_or(|now| now.node != leader.node || now.epoch != leader.epoch) {
            return;
        }
    }
}

/// The answer to a forward that failed with `e`: the client's own body (too large, too
/// slow) is the client's to fix; anything else is the holder's failure.
fn failed(
    name: &str,
    leader: &Leader,
    limit: usize,
    e: &hyper_util::client::legacy::Error,
) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<LengthLimitError>() {
            return too_large(limit);
        }
        if let Some(timeout) = c.downcast_ref::<BodyTimeout>() {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                timeout.to_string(),
            );
        }
        cause = c.source();
    }
    let what = if e.is_connect() {
        "it did not accept a connection".to_owned()
    } else {
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        format!(
            "the request failed ({text}); it may have carried it out (events are \
                 deduplicated by id, so an ingest is safe to retry)"
        )
    };
    unreachable(name, leader, &what)
}

/// A 503 naming the holder of log `name`'s lease and what went wrong with it.
fn unreachable(name: &str, leader: &Leader, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "leader_unreachable",
        format!(
            "log {name} is written by node {} at {}, and {what}; if that node is gone, another \
             takes the log over when its lease runs out: retry after the Retry-After delay",
            leader.node,
            leader.url.as_deref().unwrap_or("no URL"),
        ),
    )
    .retry_after(Duration::from_secs(1))
}

/// The 413 for a body past `--max-body-bytes`.
fn too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!(
        "the request body is larger than {limit} bytes (--max-body-bytes); send less at once"
    ))
}
