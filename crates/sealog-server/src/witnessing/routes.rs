//! `GET|PUT|DELETE /v1/logs/{log}/witness-policy` (admin of the log): a log's own witness
//! policy, which takes precedence over the server-wide `--witness-policy`.

use super::parse_policy;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `PUT /v1/logs/{log}/witness-policy`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// A C2SP tlog-policy: `witness NAME VKEY URL` lines, `group` lines and one `quorum`
    /// line (a `log` line, if any, must name this log's key).
    policy: String,
}

/// What a log is witnessed under: `source` (`log`, `server` or `none`), its own policy text
/// if it has one, the quorum in words and the witnesses.
fn described(state: &AppState, log: &str) -> Value {
    let w = &state.witnessing;
    let own = w.own_policy_text(log);
    let policy = w.policy_of(log);
    let source = match (&own, &policy) {
        (Some(_), _) => "log",
        (None, Some(_)) => "server",
        (None, None) => "none",
    };
    let witnesses: Vec<Value> = policy
        .iter()
        .flat_map(|p| p.witnesses())
        .map(|w| json!({"name": w.name, "vkey": w.verifier.vkey(), "url": w.url}))
        .collect();
    json!({
        "log": log,
        "source": source,
        "policy": own,
        "requirement": policy.as_deref().map(sealog_evidence::assurance::quorum_words),
        "witnesses": witnesses,
    })
}

/// `GET /v1/logs/{log}/witness-policy`.
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    Ok(Json(described(&state, &name)))
}

/// `PUT /v1/logs/{log}/witness-policy`: validates the policy strictly (every error names its
/// line), stores it durably and applies it at once.
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<PolicyBody>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    let body = body.parsed()?;
    let log = state.log(&name)?;
    let policy = parse_policy(body.policy.as_bytes(), Some(log.verifier()))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_policy", e))?;
    let witnessing = state.witnessing.clone();
    blocking(move || {
        witnessing
            .set_policy(&log, Some((body.policy.as_bytes(), policy)))
            .map_err(|e| ApiError::internal(format!("cannot store the witness policy: {e}")))
    })
    .await?;
    Ok(Json(described(&state, &name)))
}

/// `DELETE /v1/logs/{log}/witness-policy`: the log falls back to the server-wide policy, if
/// any.
pub async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    let log = state.log(&name)?;
    let witnessing = state.witnessing.clone();
    blocking(move || {
        witnessing
            .set_policy(&log, None)
            .map_err(|e| ApiError::internal(format!("cannot remove the witness policy: {e}")))
    })
    .await?;
    Ok(Json(described(&state, &name)))
}
