//! OpenTelemetry ingest: `POST /otlp/v1/traces` and `POST /otlp/v1/logs` (OTLP/HTTP, protobuf
//! or JSON, gzip accepted). The ingest key decides the log. Spans and log records become
//! events by the mapping in spec/otlp-mapping.md, and go through the same store as native
//! ingest: validation, dedup (a re-sent span is a `duplicate`), conflicts and limits.

mod content;
mod ids;
mod logs;
mod mapping;
pub mod settings;
mod spans;
mod values;
mod wire;

use crate::auth::authenticate;
use crate::body::{self, BodyLimits, ReadBody};
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, IngestResponse, check_count};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use settings::OtherSpans;
use spans::Mapped;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use values::Attrs;
use wire::Encoding;

/// Most trace ids remembered per log as holding AI spans.
const REMEMBERED_TRACES: usize = 100_000;

/// Per log, the traces seen to hold AI spans, so that a later request's non-AI spans of such a
/// trace are kept too. In memory only: a restart forgets.
#[derive(Default)]
pub struct AiTraces(Mutex<HashMap<String, Remembered>>);

/// A log's remembered trace ids, and their order of arrival (the oldest is forgotten first).
type Remembered = (HashSet<Vec<u8>>, VecDeque<Vec<u8>>);

impl AiTraces {
    /// Remembers `new` for `log` and says which of `asked` are AI traces.
    fn note(&self, log: &str, new: &HashSet<Vec<u8>>, asked: &[&[u8]]) -> HashSet<Vec<u8>> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, order) = all.entry(log.to_owned()).or_default();
        for t in new {
            if set.insert(t.clone()) {
                order.push_back(t.clone());
            }
        }
        while order.len() > REMEMBERED_TRACES {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        asked
            .iter()
            .filter(|t| set.contains(**t))
            .map(|t| t.to_vec())
            .collect()
    }
}

/// `POST /otlp/v1/traces`.
pub async fn traces(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let encoding = match wire::encoding(&headers) {
        Ok(e) => e,
        Err(e) => return wire::error(e, Encoding::Json),
    };
    let result = export(&state, &method, &headers, body, move |bytes, cx| {
        let request: ExportTraceServiceRequest = wire::decode(bytes, encoding)?;
        let mut out = Vec::new();
        for rs in &request.resource_spans {
            let resource = Attrs::of(rs.resource.as_ref().map_or(&[][..], |r| &r.attributes));
            for ss in &rs.scope_spans {
                out.extend(
                    ss.spans
                        .iter()
                        .map(|s| spans::map(s, ss.scope.as_ref(), &resource, cx)),
                );
            }
        }
        Ok(out)
    })
    .await;
    match result {
        Ok((rejected, error_message)) => {
            let partial_success =
                (rejected > 0 || !error_message.is_empty()).then_some(ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message,
                });
            wire::ok(&ExportTraceServiceResponse { partial_success }, encoding)
        }
        Err(e) => wire::error(e, encoding),
    }
}

/// `POST /otlp/v1/logs`.
pub async fn logs(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let encoding = match wire::encoding(&headers) {
        Ok(e) => e,
        Err(e) => return wire::error(e, Encoding::Json),
    };
    let result = export(&state, &method, &headers, body, move |bytes, cx| {
        let request: ExportLogsServiceRequest = wire::decode(bytes, encoding)?;
        let mut out = Vec::new();
        for rl in &request.resource_logs {
            let resource = Attrs::of(rl.resource.as_ref().map_or(&[][..], |r| &r.attributes));
            for sl in &rl.scope_logs {
                let scope = sl.scope.as_ref();
                out.extend(
                    sl.log_records
                        .iter()
                        .map(|r| logs::map(r, scope, &resource, cx)),
                );
            }
        }
        Ok(out)
    })
    .await;
    match result {
        Ok((rejected, error_message)) => {
            let partial_success =
                (rejected > 0 || !error_message.is_empty()).then_some(ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message,
                });
            wire::ok(&ExportLogsServiceResponse { partial_success }, encoding)
        }
        Err(e) => wire::error(e, encoding),
    }
}

/// Authenticates, reads and decodes the body, maps its records with `map`, keeps the AI ones
/// and the others the log's setting keeps, and stores them. Returns the rejected count and
/// the message for `partial_success`.
async fn export(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
    map: impl FnOnce(&[u8], &mapping::Cx) -> ApiResult<Vec<Mapped>> + Send + 'static,
) -> ApiResult<(i64, String)> {
    let caller = authenticate(state, headers, method)?;
    let log_name = caller.0.log.clone().ok_or_else(|| {
        ApiError::forbidden(
            "OTLP records go to the log of the key that sends them; send a log's ingest key \
             (a server-wide key names no log)",
        )
    })?;
    caller.ingest(&log_name)?;
    let log = state.log(&log_name)?;
    let gzip = ingest::is_gzip(headers)?;
    let limits = BodyLimits {
        max_body: state.options.max_body_bytes,
        max_event_text: usize::MAX,
        format: None,
    };
    let budget = state.body_budget.clone();
    let read = body::read(body, gzip, limits, &budget).await?;
    let settings = state.keys.settings(&log_name).otlp;
    let stored = settings::commitment_key(state, &log_name).await?;
    let options = state.options.clone();
    let mapped = tokio::task::spawn_blocking(move || {
        let ReadBody { bytes, mut charge } = read;
        let bytes = if gzip {
            body::gunzip(&bytes, limits, &budget, &mut charge)?
        } else {
            bytes
        };
        let key = stored.key()?;
        let cx = mapping::Cx {
            key: &key,
            key_id: &stored.id,
            keep_content: settings.keep_content,
            limits: &options.event_limits,
        };
        let mapped = map(&bytes, &cx)?;
        check_count(mapped.len(), options.max_batch_events)?;
        Ok::<_, ApiError>(mapped)
    })
    .await??;
    let (parsed, dropped) = select(state, &log_name, settings.other_spans, mapped);
    let response = if parsed.is_empty() {
        None
    } else {
        Some(ingest::store(state, &log, parsed, false, false).await?)
    };
    Ok(summarize(response.as_ref(), dropped))
}

/// The records to store: every AI one, and the others as `policy` says. Returns them and how
/// many were left out.
fn select(
    state: &AppState,
    log: &str,
    policy: OtherSpans,
    mapped: Vec<Mapped>,
) -> (Vec<ingest::Parsed>, usize) {
    let ai_here: HashSet<Vec<u8>> = mapped
        .iter()
        .filter(|m| m.ai)
        .map(|m| m.trace_id.clone())
        .collect();
    let others: Vec<&[u8]> = mapped
        .iter()
        .filter(|m| !m.ai)
        .map(|m| m.trace_id.as_slice())
        .collect();
    let ai_traces = state.otlp.note(log, &ai_here, &others);
    let before = mapped.len();
    let kept: Vec<ingest::Parsed> = mapped
        .into_iter()
        .filter(|m| {
            // A record that could not be mapped is answered as rejected, whatever it was.
            m.ai || m.parsed.is_err()
                || match policy {
                    OtherSpans::Keep => true,
                    OtherSpans::Drop => false,
                    OtherSpans::InAiTraces => ai_traces.contains(&m.trace_id),
                }
        })
        .map(|m| m.parsed)
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

/// The rejected count (rejected and conflicting events) and a message that says why, and
/// what the log's setting left out.
fn summarize(response: Option<&IngestResponse>, dropped: usize) -> (i64, String) {
    let mut parts = Vec::new();
    let mut rejected = 0;
    if let Some(r) = response {
        rejected = r.rejected + r.conflicts;
        let reasons: Vec<String> = r
            .results
            .iter()
            .filter_map(|e| {
                let error = e.error.as_deref()?;
                Some(format!(
                    "{}: {error}",
                    e.id.as_deref().unwrap_or("a record")
                ))
            })
            .take(5)
            .collect();
        if rejected > 0 {
            parts.push(format!(
                "{rejected} of {} records were not stored ({}); the rest were: {}",
                r.results.len(),
                reasons.join("; "),
                "fix these and send them again, never the whole request unchanged"
            ));
        }
    }
    if dropped > 0 {
        parts.push(format!(
            "{dropped} non-AI records were left out by the log's otlp_other_spans setting \
             (they were not rejected; see spec/otlp-mapping.md)"
        ));
    }
    (
        i64::try_from(rejected).unwrap_or(i64::MAX),
        parts.join(". "),
    )
}
