//! Incident freeze (EU AI Act Art. 73(6): do not alter evidence after a serious incident):
//! `POST /v1/logs/{log}/incidents` records an `incident` event, places a legal hold on the
//! incident's time range (and session), and builds a sealed evidence pack of the events it
//! names, which the server keeps; `GET …/incidents` lists them and `GET
//! …/incidents/{id}/pack` downloads one.
//!
//! ```text
//! DIR/incidents/<log>/<id>.json   the incident: title, range, filters, hold, event, pack facts
//! DIR/incidents/<log>/<id>.zip    its pack, written durably before the record names it
//! ```

use crate::auth::Caller;
use crate::erasure::{check_text, new_event_id, now_micros, record};
use crate::error::{ApiError, ApiResult};
use crate::export::{Anchors, PackRequest, matching, write_pack};
use crate::extract::JsonBody;
use crate::holds::{check_time, place_hold};
use crate::read::{EventFilters, blocking};
use crate::receipt::covering;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealog_core::leaf::format_received;
use sealog_storage::{Log, SignedCheckpoint, durable};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Body of `POST /v1/logs/{log}/incidents`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// What happened, 1 to 1000 bytes.
    title: String,
    /// Start of the incident's time range (RFC 3339).
    since: String,
    /// End of the incident's time range (RFC 3339, exclusive).
    until: String,
    /// Only this agent's events go into the pack.
    agent: Option<String>,
    /// Only this session's events go into the pack, and only they are held.
    session: Option<String>,
    /// Only events of this action go into the pack.
    action: Option<String>,
    /// Only events of this status go into the pack.
    status: Option<String>,
}

/// An incident as the server keeps and lists it.
#[derive(Clone, Serialize, Deserialize)]
struct Incident {
    id: String,
    title: String,
    since: String,
    until: String,
    /// The filters that chose the pack's events, the range included.
    filters: BTreeMap<String, String>,
    /// The legal hold placed on the range.
    hold: String,
    /// The `incident` event's index.
    index: u64,
    created: String,
    /// The sealed pack; absent while it is built (or if the server stopped before it was).
    pack: Option<SealedPack>,
}

/// What a stored pack is.
#[derive(Clone, Serialize, Deserialize)]
struct SealedPack {
    /// Where to download it.
    url: String,
    /// Events in it.
    entries: u64,
    /// Size of the checkpoint its events are proven against.
    checkpoint_size: u64,
    /// Whether that checkpoint met the server's witness policy (false without one).
    cosigned: bool,
    /// SHA-256 of the ZIP, lowercase hex.
    sha256: String,
    /// Its size in bytes.
    bytes: u64,
}

/// The folder of one log's incidents.
fn folder(state: &AppState, log: &str) -> PathBuf {
    state.incidents.join(log)
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("cannot keep the incident: {e}"))
}

/// Writes the incident record durably.
async fn save(state: &AppState, log: &str, incident: &Incident) -> ApiResult<()> {
    let dir = folder(state, log);
    let path = dir.join(format!("{}.json", incident.id));
    let bytes = serde_json::to_vec_pretty(incident).expect("an incident serializes");
    crate::state::blocking(move || {
        std::fs::create_dir_all(&dir).map_err(io)?;
        durable::write_file(&path, &bytes, 0o600).map_err(io)
    })
    .await
}

/// `POST /v1/logs/{log}/incidents` (admin): freezes the evidence of an incident and answers
/// 201 with the incident, its hold, its event and where its pack is.
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
    for (name, value) in [
        ("agent", &new.agent),
        ("session", &new.session),
        ("action", &new.action),
        ("status", &new.status),
    ] {
        if let Some(v) = value {
            check_text(name, "a filter", v)?;
        }
    }
    let since = check_time("since", Some(&new.since))?;
    let until = check_time("until", Some(&new.until))?;
    if since >= until {
        return Err(ApiError::bad_request("since must be before until"));
    }
    let filters: BTreeMap<String, String> = [
        ("agent", &new.agent),
        ("session", &new.session),
        ("action", &new.action),
        ("status", &new.status),
        ("since", &Some(new.since.clone())),
        ("until", &Some(new.until.clone())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
    .collect();
    // A task of its own, so that a dropped connection cannot stop a freeze half-way.
    let st = state.clone();
    let incident = tokio::spawn(async move { freeze(&st, &log, new, filters).await }).await??;
    tracing::info!(log = %name, incident = %incident.id, by = %caller.0.key_id, "froze an incident");
    Ok((StatusCode::CREATED, Json(json!(incident))))
}

/// Places the hold, records the event, then builds and stores the pack.
async fn freeze(
    state: &AppState,
    log: &Log,
    new: NewIncident,
    filters: BTreeMap<String, String>,
) -> ApiResult<Incident> {
    let now = now_micros();
    let id = new_event_id(now);
    let reason = format!("incident {id}: {}", new.title);
    let (hold, hold_index) = place_hold(
        state,
        log,
        reason,
        None,
        new.session.clone(),
        Some(new.since.clone()),
        Some(new.until.clone()),
    )
    .await?;
    let created = format_received(now);
    let attributes = json!({"incident": id, "title": new.title, "filters": filters,
        "hold": hold.id});
    let index = record(state, log, &id, &created, "incident", None, attributes).await?;
    let mut incident = Incident {
        id,
        title: new.title,
        since: new.since,
        until: new.until,
        filters,
        hold: hold.id,
        index,
        created,
        pack: None,
    };
    save(state, log.name(), &incident).await?;
    incident.pack = Some(seal(state, log, &incident, &[hold_index, index]).await?);
    save(state, log.name(), &incident).await?;
    Ok(incident)
}

/// Builds the pack of the incident's events and of `also` (its own records), proven against a
/// checkpoint covering them, witnessed and time-stamped where that is set up, and stores it.
async fn seal(
    state: &AppState,
    log: &Log,
    incident: &Incident,
    also: &[u64],
) -> ApiResult<SealedPack> {
    let upto = also.iter().max().map_or(0, |i| i + 1);
    wait_indexed(state, log, upto).await?;
    let filters: EventFilters = serde_json::from_value(json!(incident.filters))
        .map_err(|e| ApiError::internal(format!("the incident's filters: {e}")))?;
    let mut indices = blocking(log, move |log| matching(log, &filters)).await?;
    indices.extend_from_slice(also);
    indices.sort_unstable();
    indices.dedup();
    let (cp, cosigned) = checkpoint(state, log, upto).await?;
    let request = PackRequest {
        filters: incident.filters.clone(),
        content: None,
        file_name: String::new(),
    };
    let (engine, anchors) = (state.engine.clone(), Anchors::of(state, log.name()));
    let path = folder(state, log.name()).join(format!("{}.zip", incident.id));
    let entries = indices.len() as u64;
    let checkpoint_size = cp.size;
    let (sha256, bytes) = blocking(log, move |log| {
        let (zip, _) = write_pack(log, &engine, &indices, &cp, &request, anchors)?;
        let mut hashing = Hashing(zip, Sha256::new(), 0);
        durable::write_file_from(&path, &mut hashing, 0o600).map_err(io)?;
        Ok((sealog_core::hex::encode(&hashing.1.finalize()), hashing.2))
    })
    .await?;
    Ok(SealedPack {
        url: format!("/v1/logs/{}/incidents/{}/pack", log.name(), incident.id),
        entries,
        checkpoint_size,
        cosigned,
        sha256,
        bytes,
    })
}

/// The checkpoint covering the first `size` entries that the pack proves against, and whether
/// it met the witness policy: on a witnessed log, the witnessed one, unless none came within
/// the checkpoint wait (then the latest, with the cosignatures it has).
async fn checkpoint(state: &AppState, log: &Log, size: u64) -> ApiResult<(SignedCheckpoint, bool)> {
    let wait = state.options.checkpoint_wait;
    if state.witnessing.check_witnessed(log.name()).is_ok() {
        match state
            .witnessing
            .wait_witnessed(log.name(), size, wait)
            .await
        {
            Ok(cp) => return Ok((cp, true)),
            Err(why) => {
                tracing::warn!(log = %log.name(), "an incident pack is sealed without the witnesses: {why}")
            }
        }
    }
    let cp = covering(
        log,
        size,
        wait,
        "checkpoint_pending",
        "the incident is recorded and held, but no checkpoint covered it in time to seal its pack",
    )
    .await?;
    Ok((state.witnessing.decorate(log.name(), cp), false))
}

/// A reader that hashes and counts what is read through it.
struct Hashing<R>(R, Sha256, u64);

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.update(&buf[..n]);
        self.2 += n as u64;
        Ok(n)
    }
}

/// Waits until the query index holds the first `size` entries, so that the pack misses none
/// of the incident's events recorded before it.
async fn wait_indexed(state: &AppState, log: &Log, size: u64) -> ApiResult<()> {
    let deadline = Instant::now() + state.options.checkpoint_wait;
    while log.stats().index_watermark < size {
        if Instant::now() >= deadline {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_pending",
                "the incident is recorded and held, but the query index did not catch up in \
                 time to seal its pack",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// `GET /v1/logs/{log}/incidents` (read and admin keys): every incident, oldest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    state.log(&name)?;
    let dir = folder(&state, &name);
    let incidents = crate::state::blocking(move || {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        let mut incidents = Vec::new();
        for entry in entries {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).map_err(io)?;
                let incident: Incident = serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::internal(format!("{} is damaged: {e}", path.display()))
                })?;
                incidents.push(incident);
            }
        }
        incidents.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(incidents)
    })
    .await?;
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
    let path = folder(&state, &name).join(format!("{id}.zip"));
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found(format!(
                "log {name:?} has no sealed pack for incident {id:?}"
            )));
        }
        Err(e) => return Err(io(e)),
    };
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
