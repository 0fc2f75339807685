//! `GET /v1/logs/{log}/export`: an evidence pack (docs/DESIGN.md §5) of the events matching the
//! filters, each proven against the whole log's latest checkpoint, as a ZIP, with consistency
//! proofs from earlier checkpoints of the log's history to that checkpoint; with
//! `content=true`, the decrypted content of its private events in `content.jsonl`.
//!
//! The pack is built and checked exactly as an auditor would check it before it is sent
//! (`sealog_evidence::build` refuses to hand out a pack that does not verify). Its large files
//! and the ZIP itself are written to unnamed scratch files in the data directory, and the ZIP
//! is streamed from there, so an export of any size costs the server a bounded amount of
//! memory; the disk it takes (about 1.5 times the selected leaf bytes) is freed when the
//! response ends, or when the client stops reading (crate::export_limits). The content of a
//! pack is held in memory while it is built, so it is bounded by [`MAX_CONTENT_BYTES`].

use crate::auth::Caller;
use crate::content::{open_payloads, store};
use crate::error::{ApiError, ApiResult};
use crate::extract::query_rejection;
use crate::read::{EventFilters, blocking};
use crate::receipt::covering;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use sealog_core::leaf::Leaf;
use sealog_core::policy::Policy;
use sealog_evidence::build::{PackEntry, PackParts, build_into};
use sealog_evidence::content::ContentLine;
use sealog_evidence::tsp::Roots;
use sealog_storage::content::{ContentError, LogContent};
use sealog_storage::index::Query as IndexQuery;
use sealog_storage::{Engine, Log, ReadError, SignedCheckpoint};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::sync::Arc;

/// Most bytes of `content.jsonl` a pack may hold: the content is kept in memory while the
/// pack is built.
pub const MAX_CONTENT_BYTES: u64 = 64 << 20;

/// The query of an export: the filters of [`EventFilters`] (without paging) and whether to
/// include the decrypted content of private events.
#[derive(schemars::JsonSchema)]
pub struct ExportParams {
    #[serde(flatten)]
    filters: EventFilters,
    /// Include the decrypted content of the pack's private events in `content.jsonl` (true or
    /// false; default false).
    content: Option<bool>,
}

impl<S: Send + Sync> FromRequestParts<S> for ExportParams {
    type Rejection = ApiError;

    /// Takes `content` out of the query and parses the rest as [`EventFilters`].
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut content = None;
        let mut rest = Vec::new();
        for pair in parts.uri.query().unwrap_or_default().split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("content", "true") => content = Some(true),
                ("content", "false") => content = Some(false),
                ("content", v) => {
                    return Err(ApiError::bad_request(format!(
                        "content={v:?}: say content=true or content=false"
                    )));
                }
                _ if !pair.is_empty() => rest.push(pair),
                _ => {}
            }
        }
        let uri: axum::http::Uri = format!("/?{}", rest.join("&"))
            .parse()
            .map_err(|_| ApiError::bad_request("the query is not a valid URI query"))?;
        let Query(filters) = Query::try_from_uri(&uri).map_err(query_rejection)?;
        Ok(ExportParams { filters, content })
    }
}

/// How many earlier checkpoints (from the log's history, spread from the oldest to the
/// newest) a pack proves consistent with its checkpoint.
const MAX_EARLIER_CHECKPOINTS: usize = 64;

/// Every log index matching `filters` (as far as the query index has reached), ascending.
pub fn matching(log: &Log, filters: &EventFilters) -> ApiResult<Vec<u64>> {
    Ok(walk(log, filters.query()?)?.0)
}

/// Every log index matching `query` (its paging ignored), ascending, and how many entries the
/// query index covered when the walk began: the entries it found are all of those below.
pub fn walk(log: &Log, mut query: IndexQuery) -> ApiResult<(Vec<u64>, u64)> {
    query.limit = sealog_storage::index::MAX_LIMIT;
    query.cursor = None;
    let (mut indices, mut covered) = (Vec::new(), None);
    loop {
        let page = log.query(&query)?;
        // Later pages walk on below the first page's watermark.
        covered.get_or_insert(page.watermark);
        indices.extend(page.indices);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    indices.sort_unstable();
    Ok((indices, covered.unwrap_or(0)))
}

/// Streams the pack of the events matching the filters.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    params: ExportParams,
) -> ApiResult<Response> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let filters = params.filters;
    if filters.has_paging() {
        return Err(ApiError::bad_request(
            "an export takes only agent, session, action, status, since, until, q and content",
        ));
    }
    let content = match params.content {
        Some(true) => Some(store(&state, &name)?),
        _ => None,
    };
    let request = PackRequest {
        filters: filters
            .named()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        content,
        file_name: format!("{name}-evidence.zip"),
    };
    respond(&state, &caller, &log, request, async {
        select(&state, &log, &filters).await
    })
    .await
}

/// What a pack is of, besides its entries.
pub struct PackRequest {
    /// The filters the entries were selected with, for the manifest.
    pub filters: BTreeMap<String, String>,
    /// The log's content store, when the pack includes the content of private events.
    pub content: Option<Arc<LogContent>>,
    /// The name the client is offered to save it as.
    pub file_name: String,
}

/// Admits an export, selects its entries and checkpoint with `select` and streams their pack.
pub async fn respond(
    state: &AppState,
    caller: &Caller,
    log: &Log,
    request: PackRequest,
    select: impl Future<Output = ApiResult<(Vec<u64>, SignedCheckpoint)>>,
) -> ApiResult<Response> {
    let free = state.engine.free_bytes().map_err(|e| {
        ApiError::internal(format!("cannot read the data directory's free space: {e}"))
    })?;
    let slot = state.exports.admit(&caller.0.key_id, free)?;
    let (indices, cp) = select.await?;
    let engine = state.engine.clone();
    let anchors = Anchors::of(state, log.name());
    let filename = format!("attachment; filename=\"{}\"", request.file_name);
    let (zip, len) = blocking(log, move |log| {
        write_pack(log, &engine, &indices, &cp, &request, anchors)
    })
    .await?;
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
        // The whole log: every kept entry under the latest checkpoint, indexed yet or not
        // (the pack states the range retention pruned).
        let cp = state.witnessing.decorate(log.name(), log.checkpoint());
        let kept = log.entries_pruned().below.min(cp.size);
        return Ok(((kept..cp.size).collect(), cp));
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

/// What witnesses and TSAs gave a log, for its packs.
pub struct Anchors {
    /// Where the log's RFC 3161 replies are, by checkpoint size.
    timestamping: Arc<crate::timestamping::Timestamping>,
    /// The latest witnessed checkpoint, with its cosignatures.
    witnessed: Option<SignedCheckpoint>,
    /// The log's witness policy, for the report.
    policy: Option<Policy>,
    /// The server's TSA roots, for the report.
    tsa_roots: Option<Roots>,
}

impl Anchors {
    /// What `state` holds of the witnesses and time-stamps of log `name`.
    pub fn of(state: &AppState, name: &str) -> Anchors {
        Anchors {
            timestamping: state.timestamping.clone(),
            witnessed: state.witnessing.witnessed(name),
            policy: state.witnessing.policy_of(name).map(|p| (*p).clone()),
            tsa_roots: state.timestamping.roots().cloned(),
        }
    }
}

/// Builds, checks and writes the pack of `indices` against `cp` into a scratch file, with the
/// RFC 3161 time-stamps `anchors` has of its checkpoints and its latest witnessed checkpoint
/// among the earlier ones, and returns it rewound with its length. Each leaf is read and
/// proven only as the pack is written; the first read failure ends the entries and fails the
/// export.
pub fn write_pack(
    log: &Log,
    engine: &Engine,
    indices: &[u64],
    cp: &SignedCheckpoint,
    request: &PackRequest,
    anchors: Anchors,
) -> ApiResult<(File, u64)> {
    let tokens = |size| anchors.timestamping.token(log.name(), size);
    let mut failure: Option<ApiError> = None;
    let mut content_bytes = 0u64;
    let entries = log.proven_entries(indices, cp.size)?.map_while(|entry| {
        let lines = entry.map_err(ApiError::from).and_then(|e| {
            let lines = match &request.content {
                Some(store) => content_lines(store, e.index, &e.leaf, &mut content_bytes)?,
                None => Vec::new(),
            };
            Ok((e, lines))
        });
        match lines {
            Ok((e, content)) => Some(PackEntry {
                index: e.index,
                leaf: e.leaf,
                inclusion: e.inclusion,
                content,
            }),
            Err(e) => {
                failure = Some(e);
                None
            }
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
        filters: request.filters.clone(),
        pruned_below: Some(log.entries_pruned().below).filter(|&b| b > 0),
        exported_at: crate::keys::now_rfc3339(),
        tool: format!("sealog {}", env!("CARGO_PKG_VERSION")),
        witness_vkeys: Vec::new(),
        timestamps,
        policy: anchors.policy,
        tsa_roots: anchors.tsa_roots,
        content: request.content.is_some(),
    };
    let scratch = || scratch_file(engine);
    let built = build_into(parts, log.signer(), scratch()?, scratch()?);
    if let Some(e) = failure {
        return Err(e);
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

/// The `content.jsonl` lines of the entry `index` (none unless it has encrypted payloads),
/// adding their length to `total`, which may not pass [`MAX_CONTENT_BYTES`].
fn content_lines(
    content: &LogContent,
    index: u64,
    leaf: &[u8],
    total: &mut u64,
) -> ApiResult<Vec<u8>> {
    if !leaf.windows(11).any(|w| w == b"\"encrypted\"") {
        return Ok(Vec::new());
    }
    let leaf = Leaf::parse(leaf)
        .map_err(|e| ReadError::Corrupt(format!("stored leaf {index} does not parse: {e}")))?;
    let id = leaf.event["id"].as_str().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for (field, opened) in open_payloads(content, &leaf.event) {
        let mut line = ContentLine {
            index,
            id: id.clone(),
            field: field.into(),
            content: None,
            erased: None,
            reason: None,
            unavailable: None,
        };
        match opened {
            Ok(plain) => {
                let text = String::from_utf8(plain.to_vec())
                    .map_err(|_| ApiError::internal(format!("the content of {id} is not UTF-8")))?;
                line.content = Some(RawValue::from_string(text).map_err(|e| {
                    ApiError::internal(format!("the content of {id} is not JSON: {e}"))
                })?);
            }
            Err(ContentError::Erased(t)) => {
                line.erased = Some(t.erased);
                line.reason = Some(t.reason);
            }
            Err(ContentError::Missing(why)) => line.unavailable = Some(why),
            Err(e) => return Err(e.into()),
        }
        out.extend(line.to_line());
    }
    *total += out.len() as u64;
    if *total > MAX_CONTENT_BYTES {
        return Err(ApiError::too_large(format!(
            "the content of the selected events is over {} MiB, the most one pack holds; \
             narrow the filters (session, since, until…) and export in parts",
            MAX_CONTENT_BYTES >> 20
        )));
    }
    Ok(out)
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
