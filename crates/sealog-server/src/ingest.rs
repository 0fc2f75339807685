//! `POST /v1/logs/{log}/events`: JSON or NDJSON, optionally gzip'd; per-event results.
//!
//! A batch is parsed and validated on a blocking thread (about 64,000 instructions per
//! typical event, BENCHMARKS.md "One-pass parse and canonicalize"),
//! then its valid events go to the engine in one append, which resolves once they are durable.
//! A well-formed batch with bad events stores the good ones and names each bad one's problem
//! (a batch of which nothing is stored answers 422 `nothing_stored`, with the same results);
//! only a batch that cannot be read at all (malformed envelope, too large, unsupported
//! encoding) is refused as a whole, and then nothing of it is stored.

use crate::auth::Caller;
use crate::body::{self, BodyLimits, ReadBody};
use crate::encoding::hash_b64;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::read::blocking;
use crate::receipt::{covering, receipts};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use sealog_core::event::{self, EventError, Limits, ValidatedEvent};
use sealog_core::leaf;
use sealog_storage::{Appended, Log};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Query parameters of an ingest.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// `durable` (default), `checkpoint`, or `witnessed` (a checkpoint that met the witness
    /// quorum of `--witness-policy`).
    #[serde(default)]
    wait: Option<String>,
}

/// The result of one event.
#[derive(Serialize, Default)]
pub struct EventResult {
    /// The event's id, if it had a readable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// `accepted`, `duplicate` (this very event was stored before), `conflict` (its id is
    /// taken by a different event, which is kept) or `rejected`.
    pub(crate) status: &'static str,
    /// Its index in the log (of the original, for a duplicate or a conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    /// Base64 SHA-256 leaf hash, for an accepted event.
    #[serde(skip_serializing_if = "Option::is_none")]
    leaf_hash: Option<String>,
    /// Why it was rejected, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Every problem of a rejected event, by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<event::FieldError>>,
    /// With `?wait=checkpoint`: the event's receipt (a tlog-proof).
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<String>,
}

/// The response to an ingest.
#[derive(Serialize)]
pub struct IngestResponse {
    /// Set, with status 422, when not one event of the batch is stored (each was rejected or
    /// a conflict), so that a client reading only statuses notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
    pub(crate) results: Vec<EventResult>,
    pub(crate) accepted: u64,
    pub(crate) duplicates: u64,
    pub(crate) conflicts: u64,
    pub(crate) rejected: u64,
}

/// Stores a batch of events.
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Path(log_name): Path<String>,
    QueryParams(params): QueryParams<IngestParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<IngestResponse>)> {
    caller.ingest(&log_name)?;
    let log = state.log(&log_name)?;
    let (wait_checkpoint, witnessed) = match params.wait.as_deref() {
        None | Some("durable") => (false, false),
        Some("checkpoint") => (true, false),
        Some("witnessed") => (true, true),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "wait={other:?} is not known; use wait=durable (the default), wait=checkpoint \
                 or wait=witnessed"
            )));
        }
    };
    if witnessed {
        state.witnessing.check_witnessed(&log_name)?;
    }
    let format = body_format(&headers)?;
    let gzip = is_gzip(&headers)?;
    let options = state.options.clone();
    let limits = BodyLimits {
        max_body: options.max_body_bytes,
        max_event_text: body::max_event_text(options.event_limits.max_event_bytes),
        format: Some(format),
    };
    let budget = state.body_budget.clone();
    let (content, sealing) = (state.clone(), log.clone());
    let read = body::read(body, gzip, limits, &budget).await?;
    // The body's share of the budget is held until the batch is parsed: the events then
    // hold only their canonical bytes.
    let parsed = tokio::task::spawn_blocking(move || {
        let ReadBody { bytes, mut charge } = read;
        let text = if gzip {
            body::gunzip(&bytes, limits, &budget, &mut charge)?
        } else {
            bytes
        };
        let sealed = crate::content::seal_body(&content, &sealing, &text, format)?;
        let text = sealed.as_ref().map_or(&text[..], |(body, _)| body);
        let mut parsed = parse_batch(
            text,
            format,
            options.max_batch_events,
            &options.event_limits,
        )?;
        crate::content::refuse(&mut parsed, sealed.map(|(_, r)| r).unwrap_or_default());
        ApiResult::Ok(parsed)
    })
    .await??;

    let mut response = store(&state, &log, parsed, wait_checkpoint, witnessed).await?;
    let status = if response.accepted + response.duplicates == 0 {
        response.error = Some(serde_json::json!({
            "code": "nothing_stored",
            "message": format!(
                "none of the {} events was stored: {} rejected, {} conflicts; each result \
                 says why",
                response.results.len(),
                response.rejected,
                response.conflicts
            ),
        }));
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response)))
}

/// Stores already-parsed events in `log` exactly as a native ingest does (dedup, conflicts,
/// receipts with `wait_checkpoint`, metrics), and says what became of each.
pub(crate) async fn store(
    state: &AppState,
    log: &Log,
    parsed: Vec<Parsed>,
    wait_checkpoint: bool,
    witnessed: bool,
) -> ApiResult<IngestResponse> {
    let (mut results, valid) = split_valid(parsed);
    // Kept to tell a re-sent event from a different one reusing its id (the engine answers
    // both with the original's index); a copy costs far less than the parse it follows.
    let sent: Vec<Vec<u8>> = valid.iter().map(|e| e.canonical.clone()).collect();
    let appended = log.append(valid).await?;
    record_outcomes(&mut results, appended);
    find_conflicts(log, &mut results, sent).await?;
    if wait_checkpoint {
        add_receipts(state, log, &mut results, witnessed).await?;
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count() as u64;
    let response = IngestResponse {
        error: None,
        accepted: count("accepted"),
        duplicates: count("duplicate"),
        conflicts: count("conflict"),
        rejected: count("rejected"),
        results,
    };
    state.metrics.ingest(
        response.accepted,
        response.duplicates,
        response.conflicts,
        response.rejected,
    );
    Ok(response)
}

/// One result per event, in order (the rejected ones final), and the valid events to append.
fn split_valid(parsed: Vec<Parsed>) -> (Vec<EventResult>, Vec<ValidatedEvent>) {
    let mut results: Vec<EventResult> = Vec::with_capacity(parsed.len());
    let mut valid = Vec::new();
    for item in parsed {
        match item {
            Ok(ev) => {
                results.push(EventResult {
                    id: Some(ev.event.id.clone()),
                    ..EventResult::default()
                });
                valid.push(ev);
            }
            Err((id, e)) => results.push(rejected(id, e)),
        }
    }
    (results, valid)
}

/// Fills the result of each valid event from the engine's outcomes, which come in order.
fn record_outcomes(results: &mut [EventResult], appended: Vec<Appended>) {
    let valid = results.iter_mut().filter(|r| r.error.is_none());
    for (result, outcome) in valid.zip(appended) {
        match outcome {
            Appended::Accepted { index, leaf_hash } => {
                result.status = "accepted";
                result.index = Some(index);
                result.leaf_hash = Some(hash_b64(&leaf_hash));
            }
            Appended::Duplicate { index } => {
                result.status = "duplicate";
                result.index = Some(index);
            }
        }
    }
}

/// Marks each duplicate whose stored original differs from what was sent as a `conflict`: an
/// id names one event, and the original is kept unchanged. `sent` holds the canonical bytes of
/// the valid events, in order. The originals are read on the blocking pool.
async fn find_conflicts(
    log: &Log,
    results: &mut [EventResult],
    sent: Vec<Vec<u8>>,
) -> ApiResult<()> {
    let valid = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.error.is_none());
    let duplicates: Vec<(usize, u64, Vec<u8>)> = valid
        .zip(sent)
        .filter(|((_, r), _)| r.status == "duplicate")
        .filter_map(|((at, r), bytes)| Some((at, r.index?, bytes)))
        .collect();
    if duplicates.is_empty() {
        return Ok(());
    }
    let differing = blocking(log, move |log| {
        let mut differing = Vec::new();
        for (at, index, bytes) in duplicates {
            let stored = match log.entry(index) {
                // Retention pruned the original: its id still answers, unchecked.
                Err(sealog_storage::ReadError::Pruned(_)) => continue,
                stored => stored?,
            };
            if !leaf::holds_event(&stored, &bytes) {
                differing.push(at);
            }
        }
        Ok(differing)
    })
    .await?;
    for at in differing {
        let r = &mut results[at];
        r.status = "conflict";
        r.error = Some(format!(
            "id {} is already taken by a different event (index {}), which is kept unchanged; \
             an id names one event: give a new event a new id",
            r.id.as_deref().unwrap_or("?"),
            r.index.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Waits for a checkpoint covering every stored event and adds each one's receipt (a
/// duplicate gets its original's).
async fn add_receipts(
    state: &AppState,
    log: &Log,
    results: &mut [EventResult],
    witnessed: bool,
) -> ApiResult<()> {
    // Stored events only: a conflict's index is another event's.
    let stored = |r: &&mut EventResult| r.error.is_none() && r.index.is_some();
    let indices: Vec<u64> = results
        .iter_mut()
        .filter(stored)
        .filter_map(|r| r.index)
        .collect();
    let Some(&highest) = indices.iter().max() else {
        return Ok(());
    };
    let cp = if witnessed {
        crate::witnessing::covering_witnessed(state, log, highest + 1).await?
    } else {
        let cp = covering(
            log,
            highest + 1,
            state.options.checkpoint_wait,
            "checkpoint_timeout",
            "the events are stored durably, but no checkpoint covered them in time; fetch their \
             receipts later from /v1/logs/{log}/events/{id}/proof",
        )
        .await?;
        state.witnessing.decorate(log.name(), cp)
    };
    let mut proofs = receipts(log, indices, cp).await?.into_iter();
    for result in results.iter_mut().filter(stored) {
        result.proof = proofs.next();
    }
    Ok(())
}

pub(crate) fn rejected(id: Option<String>, e: EventError) -> EventResult {
    let error = e
        .errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    EventResult {
        id,
        status: "rejected",
        error: Some(error),
        errors: Some(e.errors),
        ..EventResult::default()
    }
}

/// How the body holds its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// `{"events": [...]}`.
    Json,
    /// One event per line.
    Ndjson,
}

fn body_format(headers: &HeaderMap) -> ApiResult<BodyFormat> {
    let Some(ctype) = headers.get(header::CONTENT_TYPE) else {
        return Ok(BodyFormat::Json);
    };
    let ctype = ctype.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ctype.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            Ok(BodyFormat::Ndjson)
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {essence:?} is not accepted; send application/json \
                 ({{\"events\": [...]}}) or application/x-ndjson (one event per line)"
            ),
        )),
    }
}

pub(crate) fn is_gzip(headers: &HeaderMap) -> ApiResult<bool> {
    match headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()) {
        None | Some(b"identity") => Ok(false),
        Some(b"gzip") => Ok(true),
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!(
                "Content-Encoding {:?} is not accepted; send gzip or an uncompressed body",
                String::from_utf8_lossy(other)
            ),
        )),
    }
}

/// One parsed event, or its id (if readable) and problems.
pub(crate) type Parsed = Result<ValidatedEvent, (Option<String>, EventError)>;

/// Splits a body into events and validates each.
pub fn parse_batch(
    body: &[u8],
    format: BodyFormat,
    max_events: usize,
    limits: &Limits,
) -> ApiResult<Vec<Parsed>> {
    let raws: Vec<(Option<usize>, &[u8])> = match format {
        BodyFormat::Json => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Batch<'a> {
                #[serde(borrow)]
                events: Vec<&'a RawValue>,
            }
            let batch: Batch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the body is not a JSON object {{\"events\": [...]}}: {e}"
                ))
            })?;
            check_count(batch.events.len(), max_events)?;
            batch
                .events
                .iter()
                .map(|r| (None, r.get().as_bytes()))
                .collect()
        }
        BodyFormat::Ndjson => {
            let lines: Vec<(Option<usize>, &[u8])> = body
                .split(|&b| b == b'\n')
                .enumerate()
                .map(|(i, l)| (Some(i + 1), l.strip_suffix(b"\r").unwrap_or(l)))
                .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            check_count(lines.len(), max_events)?;
            lines
        }
    };
    if raws.is_empty() {
        return Err(ApiError::bad_request("the batch holds no events"));
    }
    Ok(raws
        .into_iter()
        .map(|(line, raw)| {
            event::parse(raw, limits).map_err(|mut e| {
                if let Some(line) = line {
                    for err in &mut e.errors {
                        err.message = format!("line {line}: {}", err.message);
                    }
                }
                (readable_id(raw), e)
            })
        })
        .collect())
}

pub(crate) fn check_count(n: usize, max: usize) -> ApiResult<()> {
    if n > max {
        return Err(ApiError::too_large(format!(
            "the batch holds {n} events, more than the limit of {max}; split it"
        )));
    }
    Ok(())
}

/// The `id` of a rejected event, if it is a short string, for the result.
fn readable_id(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<serde_json::Value>,
    }
    let id = serde_json::from_slice::<IdOnly>(raw).ok()?.id?;
    id.as_str().filter(|s| s.len() <= 64).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_line_and_column() {
        let e = parse_batch(
            b"{\"events\": [\n{\"id\": }]}",
            BodyFormat::Json,
            10,
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("line 2 column"), "{}", e.message);
    }

    #[test]
    fn ndjson_rejections_name_their_line_and_too_many_events_are_refused() {
        let parsed =
            parse_batch(b"{}\n\n[1]\n", BodyFormat::Ndjson, 10, &Limits::default()).unwrap();
        assert_eq!(parsed.len(), 2);
        let (_, e) = parsed[1].as_ref().unwrap_err();
        assert!(e.errors[0].message.starts_with("line 3: "), "{e:?}");
        let e = parse_batch(b"{}\n{}\n{}", BodyFormat::Ndjson, 2, &Limits::default()).unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
