//! Server-wide admin keys: `GET|POST /v1/admin/keys`, `DELETE /v1/admin/keys/{id}` and
//! `POST /v1/admin/keys/rotate`.
//!
//! A server-wide admin key creates logs and keys, so it must be revocable and rotatable like
//! any other, with one guard: the last active one cannot be revoked (a rotation replaces it
//! instead), since without it nobody could administer the server again.

use crate::admin::{check_label, created, key_json, revoke};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_auth::Role;
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `POST /v1/admin/keys` and `POST /v1/admin/keys/rotate`.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminKey {
    /// A name for people, at most 200 bytes, no control characters.
    #[serde(default)]
    label: String,
}

/// `GET /v1/admin/keys`: the server-wide keys, without secrets.
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.server_admin()?;
    let keys: Vec<Value> = state
        .keys
        .list(None)
        .iter()
        .map(|k| key_json(&state, k))
        .collect();
    Ok(Json(json!({"keys": keys})))
}

/// `POST /v1/admin/keys`: a new server-wide admin key; the secret is in this response only.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<NewAdminKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let label = admin_label(&caller, body)?;
    let keys = state.keys.clone();
    let (record, key) = blocking(move || Ok(keys.create(Role::Admin, None, &label)?)).await?;
    tracing::info!(key_id = %record.id, by = %caller.0.key_id, "created server-wide admin key");
    Ok(created(&state, &record, key))
}

/// The label of a new server-wide admin key, once the caller is checked to be a server-wide
/// admin (before the body is looked at, so others get 403, not a description of the body).
fn admin_label(caller: &Caller, body: JsonBody<NewAdminKey>) -> ApiResult<String> {
    caller.server_admin()?;
    let new = body.parsed()?;
    check_label(&new.label)?;
    Ok(new.label)
}

/// `DELETE /v1/admin/keys/{id}`: revokes a server-wide key (never the last admin key).
pub async fn revoke_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.server_admin()?;
    revoke(&state, None, id, &caller).await
}

/// `POST /v1/admin/keys/rotate`: replaces the calling key by a new server-wide admin key. The
/// calling key is revoked, and `admin.token` is removed if it held it, so the old secret is
/// nowhere the server put it.
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<NewAdminKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let label = admin_label(&caller, body)?;
    let (keys, old_id) = (state.keys.clone(), caller.0.key_id.clone());
    let token_file = state.admin_token_file.clone();
    let (record, key, removed) = blocking(move || {
        let (record, key) = keys.rotate_server_admin(&old_id, &label)?;
        let removed = remove_token_file_of(&token_file, &old_id)?;
        Ok((record, key, removed))
    })
    .await?;
    let sessions = state.sessions.end_key(&caller.0.key_id);
    tracing::info!(key_id = %record.id, old = %caller.0.key_id, sessions, "rotated server-wide admin key");
    let (status, Json(mut out)) = created(&state, &record, key);
    out["revoked"] = Value::String(caller.0.key_id.clone());
    out["admin_token_removed"] = Value::Bool(removed);
    Ok((status, Json(out)))
}

/// Removes `file` if it holds the key with id `key_id`; whether it did.
fn remove_token_file_of(file: &std::path::Path, key_id: &str) -> ApiResult<bool> {
    let held = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(crate::error::ApiError::internal(format!(
                "cannot read {}: {e}",
                file.display()
            )));
        }
    };
    if !held.trim().starts_with(&format!("slk_{key_id}_")) {
        return Ok(false);
    }
    std::fs::remove_file(file).map_err(|e| {
        crate::error::ApiError::internal(format!("cannot remove {}: {e}", file.display()))
    })?;
    sealog_storage::durable::sync_dir(file.parent().unwrap_or(std::path::Path::new("."))).map_err(
        |e| crate::error::ApiError::internal(format!("cannot sync the data directory: {e}")),
    )?;
    Ok(true)
}
