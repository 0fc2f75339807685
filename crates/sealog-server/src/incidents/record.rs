//! The incident record, `DIR/incidents/<log>/<id>.json`: written before anything else of the
//! freeze, and again after each step, so that a freeze the process did not finish is found and
//! finished (module `freeze`).

use super::io;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};
use sealog_storage::durable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An incident as the server keeps and lists it.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Incident {
    /// The incident's id, which is also its `incident` event's.
    pub id: String,
    /// What happened.
    pub title: String,
    /// Why the evidence is frozen, if the request said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Start of the range (RFC 3339).
    pub since: String,
    /// End of the range (RFC 3339, exclusive).
    pub until: String,
    /// The filters that choose the pack's events, the range included.
    pub filters: BTreeMap<String, String>,
    /// The id of the legal hold placed on the range (chosen before it is placed).
    pub hold: String,
    /// The index of the hold's `legal_hold` event, once recorded.
    pub hold_index: Option<u64>,
    /// The `incident` event's index, once recorded.
    pub index: Option<u64>,
    /// When the incident was frozen: the time of its hold and event.
    pub created: String,
    /// Its sealed evidence pack.
    pub pack: PackState,
}

/// Where an incident's pack is.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub(super) enum PackState {
    /// Not built yet: being built, or to be built at the next start.
    Pending,
    /// Stored.
    Ready(SealedPack),
    /// The last attempt failed, for this reason; a repeated request or the next start tries
    /// again.
    Failed {
        /// What went wrong.
        why: String,
    },
}

/// What a stored pack is.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SealedPack {
    /// Where to download it.
    pub url: String,
    /// Events in it.
    pub entries: u64,
    /// Size of the checkpoint its events are proven against.
    pub checkpoint_size: u64,
    /// Whether that checkpoint met the server's witness policy (false without one).
    pub cosigned: bool,
    /// SHA-256 of the ZIP, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Incident {
    /// Whether the request that made this incident asked for `title`, `reason` and
    /// `filters` (the range among them): a retry of it, not another incident under its id.
    pub fn asked_for(
        &self,
        title: &str,
        reason: Option<&str>,
        filters: &BTreeMap<String, String>,
    ) -> bool {
        self.title == title && self.reason.as_deref() == reason && &self.filters == filters
    }
}

/// The folder of one log's incidents.
pub(super) fn folder(state: &AppState, log: &str) -> PathBuf {
    state.incidents.join(log)
}

/// Where the record of incident `id` is.
fn record_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

/// Writes the incident record durably.
pub(super) async fn save(state: &AppState, log: &str, incident: &Incident) -> ApiResult<()> {
    let dir = folder(state, log);
    let path = record_path(&dir, &incident.id);
    let bytes = serde_json::to_vec_pretty(incident).expect("an incident serializes");
    blocking(move || {
        std::fs::create_dir_all(&dir).map_err(io)?;
        durable::write_file(&path, &bytes, 0o600).map_err(io)
    })
    .await
}

/// The record of incident `id` (a UUID, checked by the caller), if there is one.
pub(super) async fn load(state: &AppState, log: &str, id: &str) -> ApiResult<Option<Incident>> {
    let path = record_path(&folder(state, log), id);
    blocking(move || match std::fs::read(&path) {
        Ok(bytes) => parse(&path, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    })
    .await
}

/// Every incident of log `log`, oldest first.
pub(super) async fn load_all(state: &AppState, log: &str) -> ApiResult<Vec<Incident>> {
    let dir = folder(state, log);
    blocking(move || {
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
                incidents.push(parse(&path, &bytes)?);
            }
        }
        incidents.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(incidents)
    })
    .await
}

fn parse(path: &Path, bytes: &[u8]) -> ApiResult<Incident> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("{} is damaged: {e}", path.display())))
}
