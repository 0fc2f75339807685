//! Human approval of held calls (EU AI Act Art. 14): `GET /v1/logs/{log}/approvals` lists the
//! calls waiting for a reviewer, `GET|POST /v1/logs/{log}/approvals/{event_id}` read and make
//! the decision. A held call is a `tool_call` event with status `pending`; a decision is a
//! `human_oversight` event targeting it, with the id [`decision_id`] derives from the call's,
//! so that the log holds at most one decision per call and all state is in the log.

use crate::auth::Caller;
use crate::erasure::{SERVER_AGENT, check_reason, now_micros};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::read::{blocking, find};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_core::approval::{TIMEOUT_REVIEWER, decision_id};
use sealog_core::event;
use sealog_core::leaf::{Leaf, format_received};
use sealog_storage::{Appended, Log};
use serde::Deserialize;
use serde_json::{Value, json};

/// Held calls listed at most (the newest).
const MAX_LISTED: usize = 1000;

/// Body of `POST /v1/logs/{log}/approvals/{event_id}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approved` or `rejected`.
    decision: String,
    /// Why, at most 1000 bytes.
    reason: Option<String>,
    /// Nobody decided in time: a rejection the holder of the call (an ingest key) records.
    #[serde(default)]
    timeout: bool,
}

/// The event at `index`, parsed.
fn event_at(log: &Log, index: u64) -> ApiResult<Value> {
    let bytes = log.entry(index)?;
    let leaf = Leaf::parse(&bytes)
        .map_err(|e| ApiError::internal(format!("stored leaf {index} does not parse: {e}")))?;
    Ok(leaf.event)
}

fn is_held(ev: &Value) -> bool {
    ev["action"] == "tool_call" && ev["status"] == "pending"
}

/// What the list shows of a held call: who, where, when, which tool; never its content.
fn summary(index: u64, ev: &Value) -> Value {
    json!({
        "event_id": ev["id"],
        "index": index,
        "ts": ev["ts"],
        "agent": ev["agent"],
        "session": ev["session"]["id"],
        "tool": ev["context"]["tool"],
        "attributes": ev["attributes"],
    })
}

/// The decision event on the held call `id`, if any.
fn decision_of(log: &Log, id: &str) -> ApiResult<Option<(u64, Value)>> {
    let did = decision_id(id).ok_or_else(|| bad_id(id))?;
    let number = uuid::Uuid::parse_str(&did).expect("a UUID").as_u128();
    match log.find_id(number)? {
        Some(index) => Ok(Some((index, event_at(log, index)?))),
        None => Ok(None),
    }
}

fn bad_id(id: &str) -> ApiError {
    ApiError::bad_request(format!("{id:?} is not an event id (a UUID)"))
}

/// A decision as the API answers it.
fn decided(id: &str, index: u64, ev: &Value) -> Value {
    let o = &ev["context"]["oversight"];
    json!({
        "event_id": id,
        "decision": o["decision"],
        "reviewer": o["reviewer"],
        "reason": o["reason"],
        "reviewed_at": o["reviewed_at"],
        "decision_event": {"id": ev["id"], "index": index},
    })
}

/// `GET /v1/logs/{log}/approvals` (read and admin keys): the held calls without a decision,
/// newest first, as far as the query index has caught up.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    blocking(&log, |log| {
        let query = sealog_storage::Query {
            action: Some("tool_call".into()),
            status: Some("pending".into()),
            limit: MAX_LISTED,
            ..Default::default()
        };
        let page = log.query(&query)?;
        let mut pending = Vec::new();
        for index in page.indices {
            let ev = event_at(log, index)?;
            let id = ev["id"].as_str().unwrap_or_default();
            if decision_of(log, id)?.is_none() {
                pending.push(summary(index, &ev));
            }
        }
        Ok(Json(
            json!({"pending": pending, "index_watermark": page.watermark}),
        ))
    })
    .await
}

/// The held call `id` of `log` and its decision, or 404 if `id` is not a held call.
async fn held(log: &Log, id: &str) -> ApiResult<(Value, Option<(u64, Value)>)> {
    let index = find(log, id).await?;
    let id = id.to_owned();
    blocking(log, move |log| {
        let ev = event_at(log, index)?;
        if !is_held(&ev) {
            return Err(ApiError::not_found(format!(
                "event {id} is not a held call (a tool_call with status pending)"
            )));
        }
        Ok((ev, decision_of(log, &id)?))
    })
    .await
}

/// `GET /v1/logs/{log}/approvals/{event_id}` (any key of the log: the proxy polls it with its
/// ingest key): the decision, or `{"decision": "pending"}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.read(&name).or_else(|_| caller.ingest(&name))?;
    let log = state.log(&name)?;
    Ok(Json(match held(&log, &id).await? {
        (_, Some((index, ev))) => decided(&id, index, &ev),
        (ev, None) => json!({"event_id": id, "decision": "pending", "held": summary(0, &ev)}),
    }))
}

/// Who decides: the admin key's label (or id); an ingest key only records a timeout.
fn reviewer(state: &AppState, caller: &Caller, name: &str, d: &Decision) -> ApiResult<String> {
    if d.timeout {
        caller.ingest(name)?;
        if d.decision != "rejected" {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_decision",
                "a timeout is a rejection: send {\"decision\": \"rejected\", \"timeout\": true}",
            ));
        }
        return Ok(TIMEOUT_REVIEWER.into());
    }
    caller.admin(name)?;
    let key = &caller.0.key_id;
    let label = state
        .keys
        .list(caller.0.log.as_deref())
        .into_iter()
        .find(|k| &k.id == key)
        .map(|k| k.label)
        .filter(|l| !l.trim().is_empty());
    Ok(label.unwrap_or_else(|| key.clone()))
}

/// `POST /v1/logs/{log}/approvals/{event_id}` `{"decision", "reason"?}` (admin): records the
/// decision as a `human_oversight` event and answers it; 409 if the call was decided already.
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
    body: JsonBody<Decision>,
) -> ApiResult<Json<Value>> {
    let d = body.parsed()?;
    if !matches!(d.decision.as_str(), "approved" | "rejected") {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_decision",
            format!(
                "decision {:?} is not one of: approved, rejected",
                d.decision
            ),
        ));
    }
    if let Some(r) = &d.reason {
        check_reason(r)?;
    }
    let reviewer = reviewer(&state, &caller, &name, &d)?;
    let log = state.log(&name)?;
    if let (_, Some((index, ev))) = held(&log, &id).await? {
        return Err(conflict(&id, index, &ev));
    }
    let now = format_received(now_micros());
    let mut oversight = json!({
        "required": true,
        "reviewer": reviewer,
        "decision": d.decision,
        "target": id,
        "reviewed_at": now,
    });
    if let Some(r) = &d.reason {
        oversight["reason"] = json!(r);
    }
    let did = decision_id(&id).ok_or_else(|| bad_id(&id))?;
    let ev = json!({
        "id": did,
        "ts": now,
        "agent": {"id": SERVER_AGENT},
        "action": "human_oversight",
        "status": "ok",
        "context": {"oversight": oversight},
        "attributes": {"approval.target": id, "approval.key_id": caller.0.key_id},
    });
    let valid = event::validate(&ev, &state.options.event_limits).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("the decision is invalid: {e}"),
        )
    })?;
    match log.append(vec![valid]).await?.pop() {
        Some(Appended::Accepted { index, .. }) => {
            tracing::info!(log = %name, call = %id, decision = %d.decision, by = %reviewer, "decided a held call");
            Ok(Json(decided(&id, index, &ev)))
        }
        Some(Appended::Duplicate { index }) => {
            let first = blocking(&log, move |log| event_at(log, index)).await?;
            Err(conflict(&id, index, &first))
        }
        None => Err(ApiError::internal("the decision got no result")),
    }
}

/// 409 naming the first decision.
fn conflict(id: &str, index: u64, ev: &Value) -> ApiError {
    let o = &ev["context"]["oversight"];
    ApiError::new(
        StatusCode::CONFLICT,
        "already_decided",
        format!(
            "call {id} was already {} by {} at {} (event {} at index {index})",
            o["decision"].as_str().unwrap_or("decided"),
            o["reviewer"].as_str().unwrap_or("?"),
            o["reviewed_at"].as_str().unwrap_or("?"),
            ev["id"].as_str().unwrap_or("?"),
        ),
    )
}
