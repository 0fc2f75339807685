//! The steps of a freeze, each durable before the next, so that any of them can be repeated:
//! the record (module `record`), the legal hold and its event, the `incident` event, the
//! sealed pack. [`complete`] runs what an incident's record says is left; a new freeze, a
//! retried request and the pass at start-up ([`start`]) all go through it, one at a time.

use super::io;
use super::record::{Incident, PackState, SealedPack, folder, load_all, save};
use crate::access::about;
use crate::erasure::record;
use crate::error::{ApiError, ApiResult};
use crate::export::{Anchors, PackRequest, matching, walk, write_pack};
use crate::holds::place_hold;
use crate::read::{EventFilters, blocking};
use crate::receipt::covering;
use crate::state::AppState;
use axum::http::StatusCode;
use sealog_storage::content::Hold;
use sealog_storage::{Log, SignedCheckpoint, durable};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Held while an incident is being frozen or finished: two runs of one incident's steps at
/// once (a retried request beside the start-up pass) would write its pack twice.
pub(super) static FREEZING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A point of a freeze at which a test may have the process killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// The record is written; nothing else.
    Recorded,
    /// The hold is placed and its event recorded; not the `incident` event.
    Held,
    /// The `incident` event is recorded; the pack is not built.
    Logged,
    /// The pack is stored; the record does not say so yet.
    Packed,
}

impl std::str::FromStr for CrashPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "recorded" => Ok(CrashPoint::Recorded),
            "held" => Ok(CrashPoint::Held),
            "logged" => Ok(CrashPoint::Logged),
            "packed" => Ok(CrashPoint::Packed),
            _ => Err(format!(
                "{s:?} is not a point of an incident freeze: say recorded, held, logged or packed"
            )),
        }
    }
}

/// The test-only crash point and what kills the process there.
static CRASH: OnceLock<(CrashPoint, fn())> = OnceLock::new();

/// For tests of crash safety only (`sealog serve` sets it from
/// `SEALOG_TEST_ONLY_INCIDENT_CRASH`): calls `kill` when a freeze reaches `point`.
pub fn crash_at(point: CrashPoint, kill: fn()) {
    let _ = CRASH.set((point, kill));
}

/// Stops the process here if a test asked for it (see [`crash_at`]).
pub(super) fn reached(point: CrashPoint) {
    if let Some((at, kill)) = CRASH.get()
        && *at == point
    {
        tracing::warn!(
            ?point,
            "TEST CRASH: the incident freeze stops the process here"
        );
        kill();
    }
}

/// Runs the steps `incident`'s record says are left, saving it after each, and answers it with
/// its pack ready; a failed pack is saved as failed (to be retried) and answered as the error.
/// The caller holds [`FREEZING`].
pub(super) async fn complete(
    state: &AppState,
    log: &Log,
    mut incident: Incident,
) -> ApiResult<Incident> {
    if matches!(incident.pack, PackState::Ready(_)) {
        return Ok(incident);
    }
    if incident.index.is_none() {
        let hold_index = place_hold(state, log, &hold_of(&incident)).await?;
        reached(CrashPoint::Held);
        let mut attributes = json!({"incident": incident.id, "title": incident.title,
            "filters": incident.filters, "hold": incident.hold});
        if let Some(reason) = &incident.reason {
            attributes["reason"] = json!(reason);
        }
        let index = record(
            state,
            log,
            &incident.id,
            &incident.created,
            "incident",
            None,
            attributes,
        )
        .await?;
        (incident.hold_index, incident.index) = (Some(hold_index), Some(index));
        save(state, log.name(), &incident).await?;
        reached(CrashPoint::Logged);
    }
    match seal(state, log, &incident).await {
        Ok(pack) => {
            reached(CrashPoint::Packed);
            incident.pack = PackState::Ready(pack);
            save(state, log.name(), &incident).await?;
            Ok(incident)
        }
        Err(e) => {
            incident.pack = PackState::Failed {
                why: e.message.clone(),
            };
            save(state, log.name(), &incident).await?;
            Err(ApiError {
                message: format!(
                    "incident {} is recorded and held, but its pack is not sealed: {}; repeat \
                     the request with \"id\": \"{}\" (or restart the server) to seal it",
                    incident.id, e.message, incident.id
                ),
                ..e
            })
        }
    }
}

/// The legal hold an incident places: its range, its session and subject if it names them.
fn hold_of(incident: &Incident) -> Hold {
    let filter = |name: &str| incident.filters.get(name).cloned();
    Hold {
        id: incident.hold.clone(),
        reason: match &incident.reason {
            Some(why) => format!("incident {}: {} ({why})", incident.id, incident.title),
            None => format!("incident {}: {}", incident.id, incident.title),
        },
        subject: filter("subject"),
        session: filter("session"),
        since: Some(incident.since.clone()),
        until: Some(incident.until.clone()),
        placed: incident.created.clone(),
    }
}

/// Finishes, in the background, every incident whose pack a stopped process left unsealed
/// (pending) or that failed.
pub fn start(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        for log in state.engine.logs() {
            let unsealed = match load_all(&state, log.name()).await {
                Ok(all) => all,
                Err(e) => {
                    tracing::warn!(log = %log.name(), error = %e.message, "cannot read the incidents");
                    continue;
                }
            };
            for incident in unsealed {
                if matches!(incident.pack, PackState::Ready(_)) {
                    continue;
                }
                let id = incident.id.clone();
                let _one = FREEZING.lock().await;
                match complete(&state, &log, incident).await {
                    Ok(_) => {
                        tracing::info!(log = %log.name(), incident = %id, "sealed the pack of an interrupted incident")
                    }
                    Err(e) => {
                        tracing::warn!(log = %log.name(), incident = %id, error = %e.message, "an incident's pack is still not sealed")
                    }
                }
            }
        }
    });
}

/// Builds the pack of the incident's events and of its own records, proven against a
/// checkpoint covering them, witnessed and time-stamped where that is set up, and stores it.
async fn seal(state: &AppState, log: &Log, incident: &Incident) -> ApiResult<SealedPack> {
    let own: Vec<u64> = [incident.hold_index, incident.index]
        .into_iter()
        .flatten()
        .collect();
    let upto = own.iter().max().map_or(0, |i| i + 1);
    wait_indexed(state, log, upto).await?;
    let mut indices = select(log, incident).await?;
    indices.extend_from_slice(&own);
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

/// The indices of the events the incident's filters choose, ascending. A subject is found by
/// the query index's `subject` term and compared exactly, as subject access does.
async fn select(log: &Log, incident: &Incident) -> ApiResult<Vec<u64>> {
    let mut filters = incident.filters.clone();
    let subject = filters.remove("subject");
    let filters: EventFilters = serde_json::from_value(json!(filters))
        .map_err(|e| ApiError::internal(format!("the incident's filters: {e}")))?;
    blocking(log, move |log| {
        let Some(subject) = subject else {
            return matching(log, &filters);
        };
        let query = filters.query()?;
        let candidates = match query.clone().with_subject(&subject) {
            Some(narrowed) => walk(log, narrowed)?.0,
            None => walk(log, query)?.0,
        };
        let mut chosen = Vec::new();
        for index in candidates {
            if about(&log.entry(index)?, &subject).is_some() {
                chosen.push(index);
            }
        }
        Ok(chosen)
    })
    .await
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
        "no checkpoint covered the incident in time",
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
                "the query index did not catch up in time",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
