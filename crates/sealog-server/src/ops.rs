//! Operations: liveness, readiness, metrics, the OpenAPI description, and the middleware that
//! gives every request an id, a log line and a latency sample.

use crate::auth::authenticate;
use crate::error::{ApiError, InternalDetail, internal_message};
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({"status": "ok"}))
}

/// `GET /readyz`: every log recovered and can write, and the data directory is writable.
pub async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let engine = state.engine.clone();
    let witnessing = state.witnessing.clone();
    let ready = move || {
        engine
            .ready()
            .map_err(|e| e.to_string())
            .and_then(|()| witnessing.ready())
    };
    match tokio::task::spawn_blocking(ready).await? {
        Ok(()) => Ok(axum::Json(json!({"status": "ready"}))),
        // Readiness is for operators and probes: say why, whatever the kind.
        Err(why) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            why.to_string(),
        )),
    }
}

/// `GET /metrics`: Prometheus text format. It names every log of every tenant, so it needs
/// the server-wide admin key unless the operator made it public (`--public-metrics`).
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    method: Method,
) -> Result<impl IntoResponse, ApiError> {
    if !state.options.public_metrics {
        authenticate(&state, &headers, &method)?.server_admin()?;
    }
    let text = state.metrics.render(&state.engine)
        + &state.witnessing.render()
        + &state.timestamping.render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// A request method as a metric label: the standard ones by name, any other as `other`, so
/// that a client inventing methods cannot add series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The request-id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Gives each request an id (the client's, if it sent a short printable one), logs it with
/// its route, status and latency (never its body or credentials), and records the latency.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let start = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(
            || format!("r{:x}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            str::to_owned,
        );
    let value = HeaderValue::from_str(&id).expect("request ids are printable ASCII");
    req.headers_mut().insert(REQUEST_ID, value.clone());
    let req = req.map(|body| crate::body_deadline::with_deadline(body, state.options.body_timeout));
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let mut response =
        match tokio::time::timeout(state.options.request_timeout, next.run(req)).await {
            Ok(response) => response,
            Err(_) => timed_out(state.options.request_timeout),
        };
    if let Some(InternalDetail(detail)) = response.extensions_mut().remove::<InternalDetail>() {
        // The detail may name files, keys' ids or the cause of a storage failure: the
        // operator reads it here, the client gets the request id to quote.
        tracing::error!(request_id = %id, %method, %route, %detail, "internal error");
        let body = json!({"error": {"code": "internal", "message": internal_message(&id)}});
        response = (response.status(), axum::Json(body)).into_response();
    }
    let status = response.status().as_u16();
    let seconds = start.elapsed().as_secs_f64();
    state.metrics.http(method, &route, status, seconds);
    tracing::info!(request_id = %id, %method, %route, status, ms = seconds * 1e3, "request");
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// The answer to a request that did not finish within `limit`.
fn timed_out(limit: std::time::Duration) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        format!(
            "the request did not finish within {} s; it may have been partly carried out (events \
             are deduplicated by id, so an ingest is safe to retry)",
            limit.as_secs_f64()
        ),
    )
    .retry_after(std::time::Duration::from_secs(1))
    .into_response()
}

/// Unknown routes: a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json for the API")
}

/// A known route with the wrong method: a JSON 405.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see /openapi.json",
    )
}
