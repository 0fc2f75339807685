//! Subject access (GDPR Art. 15 and 20): `GET /v1/logs/{log}/subjects/{pseudo_id}` lists every
//! event whose `context.subject.pseudo_id` is the subject, each with its decrypted content
//! where it still exists, and the subject's erasure if there was one;
//! `GET …/subjects/{pseudo_id}/export` gives the same as an evidence pack, its content in
//! `content.jsonl`. The query index's `subject` term names the entries to read (it folds
//! case, so each is compared exactly), so either reads the subject's entries, not the log.

use crate::auth::Caller;
use crate::content::{open_payloads, store};
use crate::error::{ApiError, ApiResult};
use crate::export::{PackRequest, respond, walk};
use crate::read::{blocking, event_json};
use crate::receipt::covering;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use sealog_core::leaf::Leaf;
use sealog_storage::Log;
use sealog_storage::content::{ContentError, LogContent};
use sealog_storage::index::Query;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::ops::Range;

/// Entries read at a time.
const CHUNK: u64 = 4096;

/// `GET /v1/logs/{log}/subjects/{pseudo_id}` (read and admin keys).
pub async fn subject_access(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, subject)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let content = store(&state, &name)?;
    blocking(&log, move |log| {
        let (size, mut events, mut erasure) = (log.size(), Vec::new(), None);
        scan(log, &subject, size, |index, bytes, leaf| {
            let mut out = event_json(index, bytes)?;
            let (decrypted, erased) = decrypt(&content, &leaf.event)?;
            if !decrypted.is_empty() {
                out["content"] = Value::Object(decrypted);
            }
            if erased.is_some() {
                erasure = erased;
            }
            events.push(out);
            Ok(())
        })?;
        Ok(Json(
            json!({"subject": subject, "events": events, "erased": erasure, "size": size}),
        ))
    })
    .await
}

/// `GET /v1/logs/{log}/subjects/{pseudo_id}/export` (read and admin keys): an evidence pack of
/// every event about the subject (its erasure included), with their decrypted content where
/// it still exists, proven against a checkpoint that covers them all.
pub async fn subject_export(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, subject)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let request = PackRequest {
        filters: BTreeMap::from([("subject".to_owned(), subject.clone())]),
        content: Some(store(&state, &name)?),
        file_name: format!("{name}-subject-access.zip"),
    };
    let select = async {
        // Every event recorded so far is under the checkpoint the pack proves against.
        let cp = covering(
            &log,
            log.size(),
            state.options.checkpoint_wait,
            "checkpoint_pending",
            "the latest events are stored but no checkpoint covers them yet; retry the export \
             after the Retry-After delay",
        )
        .await?;
        let cp = state.witnessing.decorate(log.name(), cp);
        let size = cp.size;
        let indices = blocking(&log, move |log| {
            let mut indices = Vec::new();
            scan(log, &subject, size, |index, _, _| {
                indices.push(index);
                Ok(())
            })?;
            Ok(indices)
        })
        .await?;
        Ok((indices, cp))
    };
    respond(&state, &caller, &log, request, select).await
}

/// Calls `each` with the index, leaf bytes and leaf of every entry below `size` whose
/// `context.subject.pseudo_id` is `subject`, in log order.
///
/// The query index names the entries holding the subject's search term (case ignored, so
/// each is compared exactly here); only those are read, and the entries it has not indexed
/// yet are scanned. A pseudo id too long to be a search term is found by a scan of the log.
fn scan(
    log: &Log,
    subject: &str,
    size: u64,
    mut each: impl FnMut(u64, &[u8], &Leaf) -> ApiResult<()>,
) -> ApiResult<()> {
    let Some(query) = Query::default().with_subject(subject) else {
        return scan_range(log, subject, 0..size, each);
    };
    let (found, covered) = walk(log, query)?;
    let covered = covered.min(size);
    // The index may still name entries that retention pruned whole since.
    let kept = log.entries_pruned().below;
    for index in found.into_iter().filter(|&i| kept <= i && i < covered) {
        let bytes = log.entry(index)?;
        if let Some(leaf) = about(&bytes, subject) {
            each(index, &bytes, &leaf)?;
        }
    }
    scan_range(log, subject, covered..size, each)
}

/// Calls `each` for every entry of `range` about `subject`, reading them all (with a byte
/// search for the canonical `"pseudo_id":…` before any parse).
fn scan_range(
    log: &Log,
    subject: &str,
    range: Range<u64>,
    mut each: impl FnMut(u64, &[u8], &Leaf) -> ApiResult<()>,
) -> ApiResult<()> {
    let needle = format!(
        "\"pseudo_id\":{}",
        sealog_core::jcs::string_literal(subject)
    );
    // Entries retention pruned whole are gone: the scan starts at the first kept one.
    let range = range.start.max(log.entries_pruned().below)..range.end;
    for start in range.clone().step_by(CHUNK as usize) {
        let leaves = log.entries(start, (start + CHUNK).min(range.end))?;
        for (index, bytes) in (start..).zip(leaves) {
            if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            if let Some(leaf) = about(&bytes, subject) {
                each(index, &bytes, &leaf)?;
            }
        }
    }
    Ok(())
}

/// The leaf `bytes`, if its event's `context.subject.pseudo_id` is exactly `subject`.
pub(crate) fn about(bytes: &[u8], subject: &str) -> Option<Leaf> {
    let leaf = Leaf::parse(bytes).ok()?;
    (leaf.event["context"]["subject"]["pseudo_id"] == subject).then_some(leaf)
}

/// The event's encrypted payloads, decrypted; and, if they were erased, when and why.
fn decrypt(content: &LogContent, event: &Value) -> ApiResult<(Map<String, Value>, Option<Value>)> {
    let (mut out, mut erased) = (Map::new(), None);
    let id = event["id"].as_str().unwrap_or_default();
    for (field, opened) in open_payloads(content, event) {
        match opened {
            Ok(plain) => {
                let value = serde_json::from_slice(&plain).map_err(|e| {
                    ApiError::internal(format!("the content of {id} is not JSON: {e}"))
                })?;
                out.insert(field.into(), value);
            }
            Err(ContentError::Erased(t)) => {
                erased = Some(json!({"erased": t.erased, "reason": t.reason, "event": t.event_id}));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((out, erased))
}
