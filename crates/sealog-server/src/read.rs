//! The read side of one log: its summary, event queries, events with their proofs, receipts,
//! checkpoints and consistency proofs.

use crate::auth::Caller;
use crate::encoding::{hash_b64, proof_b64};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::receipt::{covering, receipt};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use sealog_core::leaf::{self, Leaf};
use sealog_storage::index::{Histogram, MAX_BUCKETS, MAX_LIMIT, parse_ts};
use sealog_storage::{Log, ReadError, SignedCheckpoint};
use serde::Deserialize;
use serde_json::{Value, json};

/// The summary of a log (also what `GET /v1/logs` lists).
pub fn summary(state: &AppState, log: &Log) -> Value {
    let stats = log.stats();
    let cp = state.witnessing.decorate(log.name(), log.checkpoint());
    json!({
        "name": log.name(),
        "origin": log.origin(),
        "vkey": log.verifier().vkey(),
        "size": stats.size,
        "checkpoint": checkpoint_json(&cp),
        "index_watermark": stats.index_watermark,
        "index_lag": stats.size.saturating_sub(stats.index_watermark),
        "index_error": log.index_error(),
        "queue_entries": stats.queue_entries,
        "witnesses": [],
        "witnessing": state.witnessing.status(log.name()),
        "timestamping": state.timestamping.status(log.name()),
        "public": state.keys.settings(log.name()).public,
        "public_entries": state.keys.settings(log.name()).public_entries,
        "otlp_content": state.keys.settings(log.name()).otlp.keep_content,
        "otlp_other_spans": state.keys.settings(log.name()).otlp.other_spans,
        "retention": crate::retention::summary(state, log.name()),
    })
}

fn checkpoint_json(cp: &SignedCheckpoint) -> Value {
    json!({
        "size": cp.size,
        "root": hash_b64(&cp.root),
        "time": leaf::format_received(cp.signed_unix_micros),
        "note": String::from_utf8_lossy(&cp.note),
    })
}

/// `GET /v1/logs/{log}`.
pub async fn log_info(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    Ok(Json(summary(&state, &log)))
}

/// Filters and paging of `GET /v1/logs/{log}/events` (and of exports, without paging).
#[derive(Deserialize, Default, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventFilters {
    /// Only this agent's events.
    agent: Option<String>,
    /// Only this session's events.
    session: Option<String>,
    /// Only events of this action.
    action: Option<String>,
    /// Only events of this status.
    status: Option<String>,
    /// Events at or after this RFC 3339 time.
    since: Option<String>,
    /// Events before this RFC 3339 time.
    until: Option<String>,
    /// A search: words that every event holds, `field:value` (agent, session, action, status,
    /// tool, model, provider, reason, outcome, check, flag, reviewer, subject, attr.KEY) or a
    /// bare value in any of those fields; case is ignored, quotes keep spaces.
    q: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

impl EventFilters {
    /// The engine query; times must be RFC 3339.
    pub fn query(&self) -> ApiResult<sealog_storage::Query> {
        let time = |name: &str, v: &Option<String>| -> ApiResult<Option<i64>> {
            v.as_deref()
                .map(|s| {
                    parse_ts(s).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name}={s:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z"
                        ))
                    })
                })
                .transpose()
        };
        let query = sealog_storage::Query {
            agent: self.agent.clone(),
            session: self.session.clone(),
            action: self.action.clone(),
            status: self.status.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            terms: Vec::new(),
            limit: self.limit.unwrap_or(100).clamp(1, MAX_LIMIT),
            cursor: self.cursor.clone(),
        };
        match &self.q {
            Some(q) => query
                .with_search(q)
                .map_err(|e| ApiError::bad_request(format!("q: {e}"))),
            None => Ok(query),
        }
    }

    /// Whether a page size or cursor was given.
    pub fn has_paging(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some()
    }

    /// The filters that were set, by name (for an export's manifest).
    pub fn named(&self) -> Vec<(&'static str, String)> {
        [
            ("agent", &self.agent),
            ("session", &self.session),
            ("action", &self.action),
            ("status", &self.status),
            ("since", &self.since),
            ("until", &self.until),
            ("q", &self.q),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

/// One event as the API shows it: index, leaf hash, receive time and the event.
pub fn event_json(index: u64, leaf_bytes: &[u8]) -> ApiResult<Value> {
    let leaf = Leaf::parse(leaf_bytes).map_err(|e| {
        ApiError::from(ReadError::Corrupt(format!(
            "stored leaf {index} does not parse: {e}"
        )))
    })?;
    Ok(json!({
        "index": index,
        "leaf_hash": hash_b64(&leaf::hash(leaf_bytes)),
        "received": leaf.received,
        "event": leaf.event,
    }))
}

/// Runs `read` (index queries, leaf reads and proofs, which wait on the disk) on the blocking
/// pool, never on the async workers.
pub async fn blocking<T: Send + 'static>(
    log: &Log,
    read: impl FnOnce(&Log) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let log = log.clone();
    crate::state::blocking(move || read(&log)).await
}

/// Events as the API shows them, each read from its leaf.
fn events_json(log: &Log, indices: impl IntoIterator<Item = u64>) -> ApiResult<Vec<Value>> {
    indices
        .into_iter()
        .map(|index| event_json(index, &log.entry(index)?))
        .collect()
}

/// `GET /v1/logs/{log}/events`: a newest-first page; `next` continues it, and pages are stable
/// under concurrent ingest (a cursor means "below this index").
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    QueryParams(filters): QueryParams<EventFilters>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let query = filters.query()?;
    events_page(&log, move |log| {
        let page = log.query(&query)?;
        Ok((page.indices, page.next, page.watermark))
    })
    .await
}

/// A page of events as the API shows it. `pick` chooses, on the blocking pool, the indices
/// in the page's order, the cursor of the next page and the index watermark it read.
async fn events_page(
    log: &Log,
    pick: impl FnOnce(&Log) -> ApiResult<(Vec<u64>, Option<String>, u64)> + Send + 'static,
) -> ApiResult<Json<Value>> {
    let (events, next, watermark) = blocking(log, move |log| {
        let (indices, next, watermark) = pick(log)?;
        Ok((events_json(log, indices)?, next, watermark))
    })
    .await?;
    Ok(Json(json!({
        "events": events,
        "next": next,
        "index_watermark": watermark,
        "size": log.size(),
    })))
}

/// Buckets of a histogram when the request does not say.
const DEFAULT_BUCKETS: usize = 60;

/// Filters and bucket count of `GET /v1/logs/{log}/events/histogram`: the filters of
/// [`EventFilters`], without paging.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistogramParams {
    /// Only this agent's events.
    agent: Option<String>,
    /// Only this session's events.
    session: Option<String>,
    /// Only events of this action.
    action: Option<String>,
    /// Only events of this status.
    status: Option<String>,
    /// Events at or after this RFC 3339 time.
    since: Option<String>,
    /// Events before this RFC 3339 time.
    until: Option<String>,
    /// A search, as on `GET /v1/logs/{log}/events`.
    q: Option<String>,
    /// Time buckets, 1 to 1000 (default 60).
    buckets: Option<usize>,
}

impl HistogramParams {
    /// The engine query and the number of buckets, or a 400 saying what to change.
    fn query(self) -> ApiResult<(sealog_storage::Query, usize)> {
        let buckets = match self.buckets {
            None => DEFAULT_BUCKETS,
            Some(n @ 1..=MAX_BUCKETS) => n,
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "buckets={n} is out of range; ask for 1 to {MAX_BUCKETS} buckets"
                )));
            }
        };
        let filters = EventFilters {
            agent: self.agent,
            session: self.session,
            action: self.action,
            status: self.status,
            since: self.since,
            until: self.until,
            q: self.q,
            limit: None,
            cursor: None,
        };
        let query = filters.query()?;
        if let (Some(since), Some(until)) = (query.since, query.until)
            && since >= until
        {
            return Err(ApiError::bad_request(format!(
                "since={:?} is not before until={:?}; the range starts at since (included) and \
                 ends at until (excluded)",
                filters.since.unwrap_or_default(),
                filters.until.unwrap_or_default()
            )));
        }
        Ok((query, buckets))
    }
}

/// A histogram as the API shows it: edges as RFC 3339 times, counts per action.
fn histogram_json(h: &Histogram) -> Value {
    let edges: Vec<String> = h.edges.iter().map(|&t| leaf::format_received(t)).collect();
    let series = |s: &sealog_storage::index::Series| json!({"counts": s.counts, "total": s.total});
    let actions: Vec<Value> = h
        .series
        .iter()
        .filter_map(|s| {
            let mut out = series(s);
            out["action"] = json!(s.action.as_ref()?);
            Some(out)
        })
        .collect();
    let other = h.series.iter().find(|s| s.action.is_none()).map(|s| {
        let mut out = series(s);
        out["actions"] = json!(h.folded_actions);
        out
    });
    json!({
        "edges": edges,
        "bucket_us": h.edges.get(..2).map(|e| e[1] - e[0]),
        "actions": actions,
        "other": other,
        "total": h.series.iter().map(|s| s.total).sum::<u64>(),
        "index_watermark": h.watermark,
    })
}

/// `GET /v1/logs/{log}/events/histogram`: how many events match the filters of
/// `GET /v1/logs/{log}/events`, per equal time bucket and per action, over the whole filtered
/// range (not a page), answered from the query index.
pub async fn events_histogram(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    QueryParams(params): QueryParams<HistogramParams>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let (query, buckets) = params.query()?;
    let histogram = blocking(&log, move |log| Ok(log.histogram(&query, buckets)?)).await?;
    let mut out = histogram_json(&histogram);
    out["size"] = json!(log.size());
    Ok(Json(out))
}

/// The index of event `id` (looked up on the blocking pool: the index may read the disk), or
/// 404.
pub(crate) async fn find(log: &Log, id: &str) -> ApiResult<u64> {
    let number = uuid::Uuid::try_parse(id)
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not an event id (a UUID)")))?
        .as_u128();
    let found = blocking(log, move |log| Ok(log.find_id(number)?)).await?;
    found.ok_or_else(|| {
        // An index rebuilt after a prune no longer knows the ids of pruned entries.
        let below = log.entries_pruned().below;
        let pruned = match below {
            0 => String::new(),
            b => format!(
                " (entries 0 to {} were pruned by retention; an event among them may no \
                 longer be found by id)",
                b - 1
            ),
        };
        ApiError::not_found(format!(
            "no event with id {id} in log {:?}{pruned}",
            log.name()
        ))
    })
}

/// The latest checkpoint covering `index`. A stored event is covered within one checkpoint
/// interval; this waits up to five of them (5 s at the default interval) before answering 503.
async fn covering_event(log: &Log, index: u64) -> ApiResult<SignedCheckpoint> {
    covering(
        log,
        index + 1,
        log.checkpoint_interval() * 5,
        "checkpoint_pending",
        "the event is stored but no checkpoint covers it yet; retry after the Retry-After delay",
    )
    .await
}

/// `GET /v1/logs/{log}/events/{id}`: the event, its exact leaf, and its inclusion proof to
/// the latest checkpoint.
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let index = find(&log, &id).await?;
    let cp = covering_event(&log, index).await?;
    blocking(&log, move |log| {
        let bytes = log.entry(index)?;
        let mut out = event_json(index, &bytes)?;
        out["leaf"] = Value::String(String::from_utf8_lossy(&bytes).into_owned());
        out["inclusion"] = json!(proof_b64(&log.inclusion_proof(index, cp.size)?));
        out["checkpoint"] = checkpoint_json(&cp);
        Ok(Json(out))
    })
    .await
}

/// Query of `GET /v1/logs/{log}/events/{id}/proof`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofParams {
    /// `witnessed`: wait for a checkpoint that met the witness quorum (default: the latest
    /// checkpoint, with whatever cosignatures it has).
    wait: Option<String>,
}

/// `GET /v1/logs/{log}/events/{id}/proof`: the event's receipt, a C2SP tlog-proof.
pub async fn get_proof(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
    QueryParams(params): QueryParams<ProofParams>,
) -> ApiResult<impl IntoResponse> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let index = find(&log, &id).await?;
    let cp = match params.wait.as_deref() {
        None => state
            .witnessing
            .decorate(log.name(), covering_event(&log, index).await?),
        Some("witnessed") => crate::witnessing::covering_witnessed(&state, &log, index + 1).await?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "wait={other:?} is not known; use wait=witnessed or leave it out"
            )));
        }
    };
    let text = receipt(&log, index, cp).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// Paging of `GET /v1/logs/{log}/sessions/{session}/events`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    /// Events per page, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

/// `GET /v1/logs/{log}/sessions/{session}/events`: the events of one session in `seq` order
/// (events without a readable `seq` first), a page at a time from the query index; `next`
/// continues.
pub async fn session_events(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, session)): Path<(String, String)>,
    QueryParams(params): QueryParams<SessionParams>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let Json(mut page) = events_page(&log, move |log| {
        let page = log.session(&session, params.cursor.as_deref(), limit)?;
        let indices = page.entries.iter().map(|e| e.index).collect();
        Ok((indices, page.next, page.watermark))
    })
    .await?;
    // Events recorded from OpenTelemetry have no seq (spec/otlp-mapping.md §5).
    let unsequenced = page["events"].as_array().map_or(0, |events| {
        events
            .iter()
            .filter(|e| e["event"]["session"]["seq"].is_null())
            .count()
    });
    if unsequenced > 0 {
        page["completeness"] = json!(format!(
            "{unsequenced} events of this page carry no seq (recorded from OpenTelemetry, \
             which numbers nothing): whether this session is complete cannot be proven"
        ));
    }
    Ok(Json(page))
}

/// `GET /v1/logs/{log}/checkpoint`: the latest signed checkpoint note.
pub async fn get_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let cp = state.witnessing.decorate(log.name(), log.checkpoint());
    Ok(note_response(&cp))
}

/// A checkpoint note as `text/plain`, never cached (it changes every second).
pub fn note_response(cp: &SignedCheckpoint) -> impl IntoResponse + use<> {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        cp.note.clone(),
    )
}

/// Sizes of a consistency proof.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The smaller tree size.
    from: u64,
    /// The larger tree size (default: the latest checkpoint's).
    to: Option<u64>,
}

/// `GET /v1/logs/{log}/proofs/consistency?from=&to=`: proof that the tree of size `to`
/// (default: the latest checkpoint's) extends the tree of size `from`.
pub async fn get_consistency(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    QueryParams(p): QueryParams<ConsistencyParams>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let to = p.to.unwrap_or_else(|| log.checkpoint().size);
    if p.from > to {
        return Err(ApiError::bad_request(format!(
            "from={} is larger than to={to}; a consistency proof goes from an older, smaller \
             tree to a newer one",
            p.from
        )));
    }
    let from = p.from;
    let proof = blocking(&log, move |log| Ok(log.consistency_proof(from, to)?)).await?;
    Ok(Json(
        json!({"from": p.from, "to": to, "proof": proof_b64(&proof)}),
    ))
}
