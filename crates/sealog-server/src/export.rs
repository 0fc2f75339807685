//! `GET /v1/logs/{log}/export`: an evidence pack (docs/DESIGN.md §5) of the events matching the
//! filters, each proven against the whole log's latest checkpoint, as a ZIP, with consistency
//! proofs from earlier checkpoints of the log's history to that checkpoint.
//!
//! The pack is built and checked exactly as an auditor would check it before it is sent
//! (`sealog_evidence::build` refuses to hand out a pack that does not verify). Its large files
//! and the ZIP itself are written to unnamed scratch files in the data directory, and the ZIP
//! is streamed from there, so an export of any size costs the server a bounded amount of
//! memory; the disk it takes (about 1.5 times the selected leaf bytes) is freed when the
//! response ends, or when the client stops reading (crate::export_limits).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::read::{EventFilters, blocking};
use crate::receipt::covering;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sealog_core::policy::Policy;
use sealog_evidence::build::{PackEntry, PackParts, build_into};
use sealog_evidence::tsp::Roots;
use sealog_storage::{Engine, Log, SignedCheckpoint};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};

/// How many earlier checkpoints (from the log's history, spread from the oldest to the
/// newest) a pack proves consistent with its checkpoint.
const MAX_EARLIER_CHECKPOINTS: usize = 64;

/// Every log index matching `filters`, ascending.
fn matching(log: &Log, filters: &EventFilters) -> ApiResult<Vec<u64>> {
    let mut query = filters.query()?;
    query.limit = sealog_storage::index::MAX_LIMIT;
    query.cursor = None;
    let mut indices = Vec::new();
    loop {
        let page = log.query(&query)?;
        indices.extend(page.indices);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    indices.sort_unstable();
    Ok(indices)
}

/// Streams the pack of the events matching the filters.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    QueryParams(filters): QueryParams<EventFilters>,
) -> ApiResult<Response> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    if filters.has_paging() {
        return Err(ApiError::bad_request(
            "an export takes only agent, session, action, status, since and until",
        ));
    }
    let free = state.engine.free_bytes().map_err(|e| {
        ApiError::internal(format!("cannot read the data directory's free space: {e}"))
    })?;
    let slot = state.exports.admit(&caller.0.key_id, free)?;
    let (indices, cp) = select(&state, &log, &filters).await?;
    let engine = state.engine.clone();
    let (timestamping, witnessing) = (state.timestamping.clone(), state.witnessing.clone());
    let (zip, len) = blocking(&log, move |log| {
        let anchors = Anchors {
            tokens: &|size| timestamping.token(log.name(), size),
            witnessed: witnessing.witnessed(log.name()),
            policy: witnessing.policy_of(log.name()).map(|p| (*p).clone()),
            tsa_roots: timestamping.roots().cloned(),
        };
        write_pack(log, &engine, &indices, &cp, &filters, anchors)
    })
    .await?;
    let filename = format!("attachment; filename=\"{name}-evidence.zip\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        state.exports.stream(zip, slot),
    )
        .into_response())
}

/// The indices the pack holds (ascending) and the checkpoint it proves them against.
async fn select(
    state: &AppState,
    log: &Log,
    filters: &EventFilters,
) -> ApiResult<(Vec<u64>, SignedCheckpoint)> {
    if filters.named().is_empty() {
        // The whole log: every entry under the latest checkpoint, indexed yet or not.
        let cp = state.witnessing.decorate(log.name(), log.checkpoint());
        return Ok(((0..cp.size).collect(), cp));
    }
    let filters = filters.clone();
    let indices = blocking(log, move |log| matching(log, &filters)).await?;
    // Every selected entry must be under the checkpoint the pack proves against.
    let need = indices.last().map_or(0, |i| i + 1);
    let cp = covering(
        log,
        need,
        state.options.checkpoint_wait,
        "checkpoint_pending",
        "the selected events are stored but no checkpoint covers them yet; retry the export \
         after the Retry-After delay",
    )
    .await?;
    Ok((indices, state.witnessing.decorate(log.name(), cp)))
}

/// What witnesses and TSAs gave the log, for its packs.
struct Anchors<'a> {
    /// The stored RFC 3161 reply of a checkpoint size.
    tokens: &'a dyn Fn(u64) -> Option<Vec<u8>>,
    /// The latest witnessed checkpoint, with its cosignatures.
    witnessed: Option<SignedCheckpoint>,
    /// The server's witness policy and TSA roots, for the report.
    policy: Option<Policy>,
    tsa_roots: Option<Roots>,
}

/// Builds, checks and writes the pack of `indices` against `cp` into a scratch file, with the
/// RFC 3161 time-stamps `anchors` has of its checkpoints and its latest witnessed checkpoint
/// among the earlier ones, and returns it rewound with its length. Each leaf is read and
/// proven only as the pack is written; the first read failure ends the entries and fails the
/// export.
fn write_pack(
    log: &Log,
    engine: &Engine,
    indices: &[u64],
    cp: &SignedCheckpoint,
    filters: &EventFilters,
    anchors: Anchors,
) -> ApiResult<(File, u64)> {
    let tokens = anchors.tokens;
    let mut failure = None;
    let entries = log
        .proven_entries(indices, cp.size)?
        .map_while(|entry| match entry {
            Ok(e) => Some(PackEntry {
                index: e.index,
                leaf: e.leaf,
                inclusion: e.inclusion,
            }),
            Err(e) => {
                failure = Some(e);
                None
            }
        });
    let mut earlier = Vec::new();
    let mut timestamps: Vec<(u64, Vec<u8>)> =
        tokens(cp.size).map(|t| (cp.size, t)).into_iter().collect();
    for old in with_witnessed(
        log.earlier_checkpoints(cp.size, MAX_EARLIER_CHECKPOINTS)?,
        anchors.witnessed,
        cp.size,
    ) {
        let proof = log.consistency_proof(old.size, cp.size)?;
        timestamps.extend(tokens(old.size).map(|t| (old.size, t)));
        earlier.push((old.note, proof));
    }
    let parts = PackParts {
        checkpoint: cp.note.clone(),
        entries,
        earlier,
        filters: filters
            .named()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        exported_at: crate::keys::now_rfc3339(),
        tool: format!("sealog {}", env!("CARGO_PKG_VERSION")),
        witness_vkeys: Vec::new(),
        timestamps,
        policy: anchors.policy,
        tsa_roots: anchors.tsa_roots,
    };
    let scratch = || scratch_file(engine);
    let built = build_into(parts, log.signer(), scratch()?, scratch()?);
    if let Some(e) = failure {
        return Err(e.into());
    }
    let mut pack =
        built.map_err(|e| ApiError::internal(format!("building the pack failed: {e}")))?;
    let failed =
        |e: &dyn std::fmt::Display| ApiError::internal(format!("writing the pack failed: {e}"));
    let mut zip = pack
        .write_zip(BufWriter::new(scratch()?))
        .map_err(|e| failed(&e))?
        .into_inner()
        .map_err(|e| failed(&e))?;
    let len = zip.seek(SeekFrom::End(0)).map_err(|e| failed(&e))?;
    zip.rewind().map_err(|e| failed(&e))?;
    Ok((zip, len))
}

/// A scratch file for a pack, or an error the caller can act on.
fn scratch_file(engine: &Engine) -> ApiResult<File> {
    engine.scratch_file().map_err(|e| {
        ApiError::internal(format!(
            "no scratch file for the pack in the data directory ({e}); check its free space"
        ))
    })
}

/// The earlier checkpoints of a pack against a checkpoint of `size`: `history`, with the
/// latest `witnessed` checkpoint (cosignatures and all) in its place by size, if it is smaller,
/// so that the pack shows the witnessed history its checkpoint extends.
fn with_witnessed(
    mut history: Vec<SignedCheckpoint>,
    witnessed: Option<SignedCheckpoint>,
    size: u64,
) -> Vec<SignedCheckpoint> {
    let Some(w) = witnessed.filter(|w| w.size < size) else {
        return history;
    };
    match history.binary_search_by_key(&w.size, |c| c.size) {
        Ok(i) => history[i] = w,
        Err(i) => history.insert(i, w),
    }
    history
}
