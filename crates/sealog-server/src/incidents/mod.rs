//! Incident freeze (EU AI Act Art. 73(6): do not alter evidence after a serious incident):
//! `POST /v1/logs/{log}/incidents` records an `incident` event, places a legal hold on the
//! incident's time range (and session or subject), and builds a sealed evidence pack of the
//! events it names, which the server keeps; `GET …/incidents` lists them with their pack's
//! state and `GET …/incidents/{id}/pack` downloads one.
//!
//! ```text
//! DIR/incidents/<log>/<id>.json   the incident: title, range, filters, hold, events, pack state
//! DIR/incidents/<log>/<id>.zip    its pack, written durably before the record names it
//! ```
//!
//! The record is written first and after every step (module `freeze`), so a freeze cut short
//! by a crash is finished at the next start, and a retried request with the same client-chosen
//! `id` finishes it too instead of freezing a second incident.

mod freeze;
mod record;

pub use freeze::{CrashPoint, crash_at, start};

use crate::auth::Caller;
use crate::erasure::{check_text, new_event_id, now_micros};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::holds::check_time;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use freeze::{FREEZING, complete};
use record::{Incident, PackState, folder, load, load_all, save};
use sealog_core::leaf::format_received;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Body of `POST /v1/logs/{log}/incidents`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// A UUIDv7 (lowercase, hyphenated) the client chooses, so that a retried request freezes
    /// the incident once (and finishes it if it was cut short); it becomes the id of the
    /// incident and of its `incident` event. Without it, the server chooses one.
    id: Option<String>,
    /// What happened, 1 to 1000 bytes.
    title: String,
    /// Why the evidence is frozen (e.g. the report or case it is for), at most 1000 bytes;
    /// the legal hold and the `incident` event carry it.
    reason: Option<String>,
    /// Start of the incident's time range (RFC 3339).
    since: String,
    /// End of the incident's time range (RFC 3339, exclusive).
    until: String,
    /// Only this agent's events go into the pack.
    agent: Option<String>,
    /// Only this session's events go into the pack, and only they are held.
    session: Option<String>,
    /// Only this data subject's events (pseudo id) go into the pack, and only they are held.
    subject: Option<String>,
    /// Only events of this action go into the pack.
    action: Option<String>,
    /// Only events of this status go into the pack.
    status: Option<String>,
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("cannot keep the incident: {e}"))
}

/// The client's incident id, if it is a lowercase hyphenated UUIDv7.
fn check_id(id: &str) -> ApiResult<()> {
    match uuid::Uuid::try_parse(id) {
        Ok(u) if u.get_version_num() == 7 && u.hyphenated().to_string() == id => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("id {id:?} is not a lowercase, hyphenated UUIDv7; choose one, or leave id out"),
        )),
    }
}

/// `POST /v1/logs/{log}/incidents` (admin): freezes the evidence of an incident and answers
/// 201 with the incident, its hold, its event and where its pack is; 200 with the same for a
/// repeated request with the same `id`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<NewIncident>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.admin(&name)?;
    let log = state.log(&name)?;
    let new = body.parsed()?;
    check_text("title", "what happened", &new.title)?;
    let optional = [
        ("agent", &new.agent),
        ("session", &new.session),
        ("subject", &new.subject),
        ("action", &new.action),
        ("status", &new.status),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            check_text(name, "a filter", v)?;
        }
    }
    if let Some(id) = &new.id {
        check_id(id)?;
    }
    if let Some(reason) = &new.reason {
        check_text("reason", "why the evidence is frozen", reason)?;
    }
    let since = check_time("since", Some(&new.since))?;
    let until = check_time("until", Some(&new.until))?;
    if since >= until {
        return Err(ApiError::bad_request("since must be before until"));
    }
    let mut filters: BTreeMap<String, String> = optional
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
        .collect();
    filters.insert("since".into(), new.since.clone());
    filters.insert("until".into(), new.until.clone());
    // A task of its own, so that a dropped connection cannot stop a freeze half-way.
    let st = state.clone();
    let (status, incident) = tokio::spawn(async move {
        let _one = FREEZING.lock().await;
        let now = now_micros();
        let id = new.id.unwrap_or_else(|| new_event_id(now));
        let (status, incident) = match load(&st, log.name(), &id).await? {
            Some(earlier) if earlier.asked_for(&new.title, new.reason.as_deref(), &filters) => (StatusCode::OK, earlier),
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "incident {id} was frozen with another title, reason, range or filters;                          choose a new id for a new incident"
                    ),
                ));
            }
            None => {
                let incident = Incident {
                    id,
                    title: new.title,
                    reason: new.reason,
                    since: new.since,
                    until: new.until,
                    filters,
                    hold: new_event_id(now),
                    hold_index: None,
                    index: None,
                    created: format_received(now),
                    pack: PackState::Pending,
                };
                save(&st, log.name(), &incident).await?;
                freeze::reached(CrashPoint::Recorded);
                (StatusCode::CREATED, incident)
            }
        };
        Ok((status, complete(&st, &log, incident).await?))
    })
    .await??;
    tracing::info!(log = %name, incident = %incident.id, by = %caller.0.key_id, "froze an incident");
    Ok((status, Json(json!(incident))))
}

/// `GET /v1/logs/{log}/incidents` (read and admin keys): every incident, oldest first, each
/// with its pack's state (`pending`, `ready` with where to download it, or `failed` and why).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    state.log(&name)?;
    let incidents = load_all(&state, &name).await?;
    Ok(Json(json!({"incidents": incidents})))
}

/// `GET /v1/logs/{log}/incidents/{id}/pack` (read and admin keys): the incident's sealed pack.
pub async fn pack(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.read(&name)?;
    state.log(&name)?;
    if uuid::Uuid::try_parse(&id).is_err() {
        return Err(ApiError::not_found(format!("{id:?} is not an incident id")));
    }
    let unsealed = |why: &str| {
        ApiError::not_found(format!(
            "log {name:?} has no sealed pack for incident {id:?}: {why}"
        ))
    };
    match load(&state, &name, &id).await?.map(|i| i.pack) {
        Some(PackState::Ready(_)) => {}
        Some(PackState::Pending) => return Err(unsealed("it is being sealed")),
        Some(PackState::Failed { why }) => return Err(unsealed(&why)),
        None => return Err(unsealed("there is no such incident")),
    }
    let path = folder(&state, &name).join(format!("{id}.zip"));
    let file = tokio::fs::File::open(&path).await.map_err(io)?;
    let len = file.metadata().await.map_err(io)?.len();
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-incident-{id}.zip\""),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
