//! Legal holds: `POST|GET /v1/logs/{log}/holds`, `DELETE /v1/logs/{log}/holds/{id}` (admin).
//! A hold blocks the erasure of what it covers; placing and lifting are `legal_hold` and
//! `legal_hold_lifted` events in the log.

use crate::auth::Caller;
use crate::content::store;
use crate::erasure::{check_reason, new_event_id, now_micros, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_core::leaf::format_received;
use sealog_storage::Log;
use sealog_storage::content::Hold;
use sealog_storage::index::parse_ts;
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `POST /v1/logs/{log}/holds`: a reason and what the hold covers (nothing more: the
/// whole log).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// Why (the order or case), at most 1000 bytes.
    reason: String,
    /// Only this data subject's records (pseudo id).
    subject: Option<String>,
    /// Only this session's events.
    session: Option<String>,
    /// Only events at or after this RFC 3339 time.
    since: Option<String>,
    /// Only events before this RFC 3339 time.
    until: Option<String>,
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("cannot keep the holds: {e}"))
}

/// `POST /v1/logs/{log}/holds` (admin): places a hold and records a `legal_hold` event;
/// answers 201 `{"id"}`.
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<NewHold>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.admin(&name)?;
    let log = state.log(&name)?;
    let new = body.parsed()?;
    check_reason(&new.reason)?;
    check_time("since", new.since.as_deref())?;
    check_time("until", new.until.as_deref())?;
    let now = now_micros();
    let hold = Hold {
        id: new_event_id(now),
        reason: new.reason,
        subject: new.subject,
        session: new.session,
        since: new.since,
        until: new.until,
        placed: format_received(now),
    };
    let index = place_hold(&state, &log, &hold).await?;
    tracing::info!(log = %name, hold = %hold.id, by = %caller.0.key_id, "placed legal hold");
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": hold.id, "index": index, "hold": hold})),
    ))
}

/// The time `value` of the field `field` in µs, if given; a 400 if it is not RFC 3339.
pub fn check_time(field: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            parse_ts(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{field}={v:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z"
                ))
            })
        })
        .transpose()
}

/// Places `hold` (its fields checked already) unless a hold of its id is in place, and records
/// its `legal_hold` event; returns the event's index. Repeating it places and records the
/// hold once, so an interrupted incident freeze can be finished.
pub async fn place_hold(state: &AppState, log: &Log, hold: &Hold) -> ApiResult<u64> {
    let content = store(state, log.name())?;
    let placed = hold.clone();
    blocking(move || {
        let held = content.holds().map_err(io)?;
        if !held.iter().any(|h| h.id == placed.id) {
            content.place_hold(placed).map_err(io)?;
        }
        Ok(())
    })
    .await?;
    let mut attributes = serde_json::to_value(hold).expect("a hold serializes");
    attributes["hold"] = json!(hold.id);
    record(
        state,
        log,
        &hold.id,
        &hold.placed,
        "legal_hold",
        hold.subject.as_deref(),
        attributes,
    )
    .await
}

/// `GET /v1/logs/{log}/holds` (admin): the holds in place.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    let content = store(&state, &name)?;
    let holds = blocking(move || content.holds().map_err(io)).await?;
    Ok(Json(json!({"holds": holds})))
}

/// `DELETE /v1/logs/{log}/holds/{id}` (admin): lifts a hold and records a
/// `legal_hold_lifted` event.
pub async fn lift(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    let log = state.log(&name)?;
    let content = store(&state, &name)?;
    let wanted = id.clone();
    let hold = blocking(move || content.lift_hold(&wanted).map_err(io))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("log {name:?} has no hold {id:?} in place")))?;
    let now = now_micros();
    let attributes = json!({"hold": hold.id, "reason": hold.reason, "by": caller.0.key_id});
    let event_id = new_event_id(now);
    let index = record(
        &state,
        &log,
        &event_id,
        &format_received(now),
        "legal_hold_lifted",
        hold.subject.as_deref(),
        attributes,
    )
    .await?;
    tracing::info!(log = %name, hold = %hold.id, by = %caller.0.key_id, "lifted legal hold");
    Ok(Json(
        json!({"id": hold.id, "lifted": format_received(now), "event": {"id": event_id, "index": index}}),
    ))
}
