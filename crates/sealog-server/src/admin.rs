//! Logs and API keys: `POST|GET /v1/logs`, `PATCH /v1/logs/{log}`, and
//! `POST|GET /v1/logs/{log}/keys`, `GET|DELETE /v1/logs/{log}/keys/{id}`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::keys::{KeyRecord, LogSettings, Revoked};
use crate::read::summary;
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_auth::Role;
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest key label, in bytes.
const MAX_LABEL: usize = 200;

/// Body of `POST /v1/logs`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLog {
    /// 1 to 63 characters of a-z, 0-9, - and _, starting with a letter or digit.
    name: String,
    /// Whether the log's checkpoint and hash tiles are readable without a key (its entries
    /// stay private; see `PATCH /v1/logs/{log}`).
    #[serde(default)]
    public: bool,
}

/// `POST /v1/logs` (server-wide admin): creates a log with its own signing key.
pub async fn create_log(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<NewLog>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.server_admin()?;
    let new = body.parsed()?;
    // The engine checks the name and refuses a taken one under its own lock, so of two
    // concurrent creations of one name exactly one succeeds and the other gets a 409.
    let origin = format!("{}/{}", state.options.name, new.name);
    let (engine, keys) = (state.engine.clone(), state.keys.clone());
    let log = blocking(move || {
        let log = engine.create_log(&new.name, &origin)?;
        keys.set_settings(
            log.name(),
            LogSettings {
                public: new.public,
                public_entries: false,
                ..LogSettings::default()
            },
        )?;
        Ok(log)
    })
    .await?;
    tracing::info!(log = log.name(), origin = log.origin(), "created log");
    state.witnessing.watch(log.clone());
    state.timestamping.watch(log.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": log.name(), "origin": log.origin(), "vkey": log.verifier().vkey()})),
    ))
}

/// `GET /v1/logs`: every log the caller may see (a scoped key sees its own), and those of them
/// that could not be opened at start (`damaged`).
pub async fn list_logs(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let logs: Vec<Value> = state
        .engine
        .logs()
        .iter()
        .filter(|log| caller.read(log.name()).is_ok())
        .map(|log| summary(&state, log))
        .collect();
    // Logs that could not be opened, with why: to whoever may read them (a scoped key sees
    // only its own log's).
    let damaged: Vec<Value> = state
        .engine
        .damaged()
        .iter()
        .filter(|(name, _)| caller.read(name).is_ok())
        .map(|(name, why)| json!({"name": name, "error": why}))
        .collect();
    // Logs of a shared store that another node writes now (their requests are handed to
    // it): named here, so that every node lists every log.
    let elsewhere: Vec<Value> = state
        .engine
        .standby()
        .keys()
        .filter(|name| caller.read(name).is_ok())
        .map(|name| {
            let leader = state.engine.leader(name).map(|l| l.node);
            json!({"name": name, "written_by": leader})
        })
        .collect();
    Ok(Json(
        json!({"logs": logs, "damaged": damaged, "elsewhere": elsewhere}),
    ))
}

/// Body of `PATCH /v1/logs/{log}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogPatch {
    /// Whether the log's checkpoint and hash tiles are readable without a key.
    public: Option<bool>,
    /// Whether its entry bundles (every event, whole) are readable without a key too; only
    /// with `public`.
    public_entries: Option<bool>,
    /// Whether OTLP content (prompts, completions, tool arguments and results) is kept as it
    /// came instead of as commitments.
    otlp_content: Option<bool>,
    /// Which non-AI OTLP spans are kept: `in_ai_traces` (default), `keep` or `drop`.
    otlp_other_spans: Option<crate::otlp::settings::OtherSpans>,
    /// Days encrypted content is kept after its event was received (default 180); below 180
    /// only with `retention_below_minimum`.
    retention_days: Option<u32>,
    /// The explicit override that allows a retention below 180 days (EU AI Act Art. 19 asks
    /// for at least six months); the log's metadata and every report show it.
    retention_below_minimum: Option<bool>,
    /// Whether retention also prunes whole entries past retention (their tree hashes kept,
    /// so proofs of the kept entries stay valid); off by default. Embedded store only.
    prune_entries: Option<bool>,
}

/// `PATCH /v1/logs/{log}` (admin): changes the log's settings.
pub async fn patch_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<LogPatch>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    let patch = body.parsed()?;
    let log = state.log(&name)?;
    if patch.prune_entries == Some(true) && !log.can_prune_entries() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "unsupported",
            "prune_entries needs the embedded store: a log in PostgreSQL keeps its entries \
             (its encrypted content is still pruned past retention)",
        ));
    }
    // Patched under the key store's lock (on a shared store, every node's), so that two
    // patches of one log at once apply one after the other and neither is lost.
    let keys = state.keys.clone();
    let stored = log.clone();
    let retention = blocking(move || {
        keys.update_settings(stored.name(), |settings| apply_patch(patch, settings))
    })
    .await?;
    if let Some(to) = retention {
        crate::retention::record_change(&state, &log, to).await?;
    }
    let log = state.log(&name)?;
    Ok(Json(summary(&state, &log)))
}

/// Applies `patch` to `settings`; returns the new retention if it changed.
fn apply_patch(
    patch: LogPatch,
    settings: &mut LogSettings,
) -> ApiResult<Option<crate::retention::RetentionSettings>> {
    if let Some(public) = patch.public {
        settings.public = public;
    }
    if let Some(entries) = patch.public_entries {
        settings.public_entries = entries;
    }
    if let Some(content) = patch.otlp_content {
        settings.otlp.keep_content = content;
    }
    if let Some(other) = patch.otlp_other_spans {
        settings.otlp.other_spans = other;
    }
    let retention_before = settings.retention;
    settings.retention = settings.retention.patched(
        patch.retention_days,
        patch.retention_below_minimum,
        patch.prune_entries,
    )?;
    if settings.public_entries && !settings.public {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "public_entries needs public: a log's entries cannot be public while its \
             checkpoint is not",
        ));
    }
    Ok((settings.retention != retention_before).then_some(settings.retention))
}

/// Body of `POST /v1/logs/{log}/keys`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key may do.
    role: Role,
    /// A name for people, at most 200 bytes, no control characters.
    #[serde(default)]
    label: String,
}

/// A label is short and has no control characters (it is shown in lists and the dashboard).
pub(crate) fn check_label(label: &str) -> ApiResult<()> {
    if label.len() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_label",
            format!("a label has at most {MAX_LABEL} bytes and no control characters"),
        ));
    }
    Ok(())
}

/// A key as the API shows it (never its secret), with how many dashboard sessions it has.
pub(crate) fn key_json(state: &AppState, k: &KeyRecord) -> Value {
    json!({
        "id": k.id,
        "role": k.role,
        "log": k.log,
        "label": k.label,
        "created": k.created,
        "revoked": k.revoked,
        "sessions": state.sessions.count_for(&k.id),
    })
}

/// `POST /v1/logs/{log}/keys` (admin): a new key; the secret is in this response only.
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.admin(&name)?;
    state.log(&name)?;
    let new = body.parsed()?;
    check_label(&new.label)?;
    let (keys, log) = (state.keys.clone(), name.clone());
    let (record, key) =
        blocking(move || Ok(keys.create(new.role, Some(&log), &new.label)?)).await?;
    tracing::info!(log = %name, key_id = %record.id, role = ?record.role, by = %caller.0.key_id, "created key");
    Ok(created(&state, &record, key))
}

/// The answer to a new key: 201 with the key as listed and, this once, its secret.
pub(crate) fn created(
    state: &AppState,
    record: &KeyRecord,
    secret: String,
) -> (StatusCode, Json<Value>) {
    let mut out = key_json(state, record);
    out["key"] = Value::String(secret);
    (StatusCode::CREATED, Json(out))
}

/// `GET /v1/logs/{log}/keys` (admin): the log's keys, without secrets.
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    let keys: Vec<Value> = state
        .keys
        .list(Some(&name))
        .iter()
        .map(|k| key_json(&state, k))
        .collect();
    Ok(Json(json!({"keys": keys})))
}

/// `GET /v1/logs/{log}/keys/{id}` (admin).
pub async fn get_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state
        .keys
        .list(Some(&name))
        .iter()
        .find(|k| k.id == id)
        .map(|k| Json(key_json(&state, k)))
        .ok_or_else(|| ApiError::not_found(format!("log {name:?} has no key {id:?}")))
}

/// `DELETE /v1/logs/{log}/keys/{id}` (admin): revokes the key at once.
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.admin(&name)?;
    revoke(&state, Some(name), id, &caller).await
}

/// Revokes key `id` of `log` (`None`: a server-wide key) and ends its dashboard sessions.
pub(crate) async fn revoke(
    state: &AppState,
    log: Option<String>,
    id: String,
    caller: &Caller,
) -> ApiResult<StatusCode> {
    let (keys, scope, key) = (state.keys.clone(), log.clone(), id.clone());
    match blocking(move || Ok(keys.revoke(scope.as_deref(), &key)?)).await? {
        Revoked::Done => {
            // Sessions check their key on every use; ending them here also frees their slots.
            let sessions = state.sessions.end_key(&id);
            tracing::info!(log = ?log, key_id = %id, by = %caller.0.key_id, sessions, "revoked key");
            Ok(StatusCode::NO_CONTENT)
        }
        Revoked::NotFound => Err(ApiError::not_found(match log {
            Some(name) => format!("log {name:?} has no key {id:?}"),
            None => format!("there is no server-wide key {id:?}"),
        })),
        Revoked::LastAdmin => Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_admin_key",
            format!(
                "key {id} is the last server-wide admin key, which cannot be revoked: create \
                 another (POST /v1/admin/keys) or rotate it (POST /v1/admin/keys/rotate, \
                 `sealog keys rotate-admin`)"
            ),
        )),
    }
}
