//! Erasure by crypto-shredding: `POST /v1/logs/{log}/subjects/{pseudo_id}/erasure` destroys
//! the subject's data key and blobs, then records an `erasure` event; and the events the
//! server records about a log's data lifecycle.

use crate::auth::Caller;
use crate::content::store;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_core::event;
use sealog_core::leaf::format_received;
use sealog_storage::content::Tombstone;
use sealog_storage::{Appended, Log};
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest reason, in bytes.
const MAX_REASON: usize = 1000;

/// The agent id of the events the server records itself.
pub const SERVER_AGENT: &str = "sealog";

/// Body of an erasure (and of placing a hold).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// Why: the legal basis (e.g. "GDPR Art. 17 request #123"), at most 1000 bytes.
    reason: String,
}

/// A reason is given, short and without control characters.
pub fn check_reason(reason: &str) -> ApiResult<()> {
    check_text("reason", "the legal basis", reason).map_err(|e| ApiError {
        code: "invalid_reason",
        ..e
    })
}

/// The text field `name` (which says `what`) is given, short and without control characters;
/// a 422 `invalid` otherwise.
pub fn check_text(name: &str, what: &str, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() || text.len() > MAX_REASON || text.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("give a {name} ({what}) of 1 to {MAX_REASON} bytes without control characters"),
        ));
    }
    Ok(())
}

/// `POST /v1/logs/{log}/subjects/{pseudo_id}/erasure` (admin): destroys the subject's data
/// key, so that its content is unreadable by anyone, and records an `erasure` event. Repeating
/// it answers with the first erasure (and completes its event if a crash cut it short).
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, subject)): Path<(String, String)>,
    body: JsonBody<Erasure>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    let log = state.log(&name)?;
    let reason = body.parsed()?.reason;
    check_reason(&reason)?;
    let content = store(&state, &name)?;
    // A task of its own, so that a request deadline or a dropped connection cannot stop an
    // erasure between the key's destruction and its event.
    let (st, who) = (state.clone(), subject.clone());
    let (t, index) = tokio::spawn(async move {
        let t = blocking(move || {
            let now = now_micros();
            Ok(content.erase(&who, |blobs| Tombstone {
                subject: who.clone(),
                key_id: String::new(),
                erased: format_received(now),
                reason,
                blobs,
                event_id: new_event_id(now),
            })?)
        })
        .await?;
        let attributes = json!({"blobs": t.blobs, "reason": t.reason, "key_id": t.key_id});
        let index = record(
            &st,
            &log,
            &t.event_id,
            &t.erased,
            "erasure",
            Some(&t.subject),
            attributes,
        )
        .await?;
        ApiResult::Ok((t, index))
    })
    .await??;
    tracing::info!(log = %name, subject = %t.subject, blobs = t.blobs, by = %caller.0.key_id, "erased subject");
    Ok(Json(json!({
        "subject": t.subject,
        "erased": t.erased,
        "blobs": t.blobs,
        "reason": t.reason,
        "event": {"id": t.event_id, "index": index},
    })))
}

/// The time now, in µs since the Unix epoch, by the server's clock (the one leaves get).
pub use sealog_storage::clock::now_micros;

/// A UUIDv7 for an event the server records at `now` (µs).
pub fn new_event_id(now_micros: i64) -> String {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).expect("the OS has randomness");
    let millis = u64::try_from(now_micros / 1000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Records an event of the server itself (agent `sealog`) durably and returns its index; the
/// same `id` and fields give the same event, so a repeated request is a duplicate.
pub async fn record(
    state: &AppState,
    log: &Log,
    id: &str,
    ts: &str,
    action: &str,
    subject: Option<&str>,
    attributes: Value,
) -> ApiResult<u64> {
    let mut ev = json!({
        "id": id,
        "ts": ts,
        "agent": {"id": SERVER_AGENT},
        "action": action,
        "status": "ok",
        "attributes": attributes,
    });
    if let Some(subject) = subject {
        ev["context"] = json!({"subject": {"pseudo_id": subject}});
    }
    let valid = event::validate(&ev, &state.options.event_limits).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("the {action} event is invalid: {e}"),
        )
    })?;
    match log.append(vec![valid]).await?.pop() {
        Some(Appended::Accepted { index, .. } | Appended::Duplicate { index }) => Ok(index),
        None => Err(ApiError::internal(format!(
            "the {action} event got no result"
        ))),
    }
}

/// `POST /v1/logs/{log}/kek/rotate` (admin): re-wraps every data key of the log under a new
/// key-encryption key, which then replaces the old one.
pub async fn rotate_kek(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    let content = store(&state, &name)?;
    let id = blocking(move || {
        content
            .rotate_kek()
            .map_err(|e| ApiError::internal(format!("KEK rotation failed: {e}")))
    })
    .await?;
    tracing::info!(log = %name, kek = %id, by = %caller.0.key_id, "rotated the key-encryption key");
    Ok(Json(json!({"kek_id": id})))
}
