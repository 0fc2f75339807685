//! The witness's HTTP interface: `POST /add-checkpoint` (submission prefix `/`),
//! `GET /<hex SHA-256 of the origin>/checkpoint` (monitoring prefix `/`), `/healthz` and
//! `/metrics`.

use crate::witness::{Refusal, Witness};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest add-checkpoint body accepted: 63 proof lines and a checkpoint with many
/// signatures fit in a few KiB; anything larger is refused with 413 before it is parsed.
pub const MAX_BODY: usize = 64 * 1024;

struct App {
    witness: Arc<Witness>,
    /// Origin by the lowercase hex SHA-256 of the origin (the monitoring path).
    by_hash: HashMap<String, String>,
}

/// The router of a witness.
pub fn router(witness: Arc<Witness>) -> Router {
    let by_hash = witness
        .origins()
        .map(|o| (origin_hash(o), o.to_owned()))
        .collect();
    let app = Arc::new(App { witness, by_hash });
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// The monitoring path segment of an origin.
pub fn origin_hash(origin: &str) -> String {
    sealog_core::hex::encode(&Sha256::digest(origin.as_bytes()))
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(app): State<Arc<App>>, body: Body) -> Response {
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        let msg = format!("the request body is over {MAX_BODY} bytes, or was cut off\n");
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            msg,
        );
    };
    let witness = app.witness.clone();
    let answer = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now())).await;
    match answer {
        Ok(Ok(line)) => text(StatusCode::OK, "text/plain; charset=utf-8", line),
        Ok(Err(refusal)) => refusal_response(refusal),
        Err(e) => {
            tracing::error!("add-checkpoint task failed: {e}");
            let msg = "internal error; nothing was cosigned\n".to_owned();
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                msg,
            )
        }
    }
}

fn refusal_response(r: Refusal) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(size) = r.cosigned_size {
        return text(status, "text/x.tlog.size", format!("{size}\n"));
    }
    let mut response = text(
        status,
        "text/plain; charset=utf-8",
        format!("{}\n", r.message),
    );
    if let Some(wait) = r.retry_after {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn checkpoint(State(app): State<Arc<App>>, Path(hash): Path<String>) -> Response {
    let not_found = |msg: &str| {
        text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("{msg}\n"),
        )
    };
    let Some(origin) = app.by_hash.get(&hash).cloned() else {
        return not_found("this witness witnesses no log whose origin has that SHA-256");
    };
    let witness = app.witness.clone();
    match tokio::task::spawn_blocking(move || witness.store().latest_note(&origin)).await {
        Ok(Ok(Some(note))) => {
            let body = String::from_utf8_lossy(&note).into_owned();
            text(StatusCode::OK, "text/plain; charset=utf-8", body)
        }
        Ok(Ok(None)) => not_found("this witness has not cosigned a checkpoint of that log yet"),
        other => {
            tracing::error!("reading the latest checkpoint: {other:?}");
            let msg = "cannot read the witness state\n".to_owned();
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                msg,
            )
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let witness = app.witness.clone();
    let sizes = tokio::task::spawn_blocking(move || witness.store().sizes()).await;
    let Ok(Ok(sizes)) = sizes else {
        let msg = "cannot read the witness state\n".to_owned();
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            msg,
        );
    };
    text(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        app.witness.metrics.render(&sizes),
    )
}

/// Serves the witness on `listener` until `shutdown` resolves, then finishes the requests
/// under way.
pub async fn serve(
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(shutdown)
        .await
}
