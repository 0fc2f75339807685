//! `GET /v1/logs/{log}/export`: an evidence pack (DESIGN §5) of the events matching the
//! filters, each proven against the whole log's latest checkpoint, as a ZIP, with consistency
//! proofs from earlier checkpoints of the log's history to that checkpoint.
//!
//! The pack is built and checked exactly as an auditor would check it before it is sent
//! (`sealog_evidence::build` refuses to hand out a pack that does not verify). It is built in
//! memory: about 1.5 times the selected leaf bytes.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::read::EventFilters;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sealog_evidence::archive::write_zip;
use sealog_evidence::build::{PackEntry, PackParts, build};
use sealog_storage::Log;
use std::io::Cursor;
use std::time::Duration;

/// How many earlier checkpoints (from the log's history, spread from the oldest to the
/// newest) a pack proves consistent with its checkpoint.
const MAX_EARLIER_CHECKPOINTS: usize = 64;

/// Most consecutive leaves read at once.
const LEAVES_PER_READ: usize = 4096;

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
    let (indices, cp) = if filters.named().is_empty() {
        // The whole log: every entry under the latest checkpoint, indexed yet or not.
        let cp = log.checkpoint();
        ((0..cp.size).collect(), cp)
    } else {
        let indices = tokio::task::spawn_blocking({
            let (log, filters) = (log.clone(), filters.clone());
            move || matching(&log, &filters)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
        // Every selected entry must be under the checkpoint the pack proves against.
        let need = indices.last().map_or(0, |i| i + 1);
        let cp = tokio::time::timeout(Duration::from_secs(10), log.wait_checkpoint(need))
            .await
            .map_err(|_| {
                ApiError::internal("no checkpoint covered the selected events in time")
            })??;
        (indices, cp)
    };
    let zip = tokio::task::spawn_blocking(move || -> ApiResult<Vec<u8>> {
        // Each leaf is read (a run of consecutive ones at a time) and proven only as the pack
        // is written; the first read failure ends the entries and fails the export.
        let mut failure = None;
        let leaves = indices
            .chunk_by(|a, b| *b == a + 1)
            .flat_map(|run| run.chunks(LEAVES_PER_READ))
            .flat_map(|run| match log.entries(run[0], run[run.len() - 1] + 1) {
                Ok(leaves) => leaves.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            });
        let entries = indices
            .iter()
            .zip(leaves)
            .zip(log.inclusion_proofs(&indices, cp.size)?)
            .map_while(|((&index, leaf), inclusion)| match (leaf, inclusion) {
                (Ok(leaf), Ok(inclusion)) => Some(PackEntry {
                    index,
                    leaf,
                    inclusion,
                }),
                (Err(e), _) | (_, Err(e)) => {
                    failure = Some(e);
                    None
                }
            });
        let mut earlier = Vec::new();
        for old in log.earlier_checkpoints(cp.size, MAX_EARLIER_CHECKPOINTS)? {
            let proof = log.consistency_proof(old.size, cp.size)?;
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
        };
        let built = build(parts, log.signer());
        if let Some(e) = failure {
            return Err(e.into());
        }
        let (files, _report) =
            built.map_err(|e| ApiError::internal(format!("building the pack failed: {e}")))?;
        let out = write_zip(&files, Cursor::new(Vec::new()))
            .map_err(|e| ApiError::internal(format!("writing the pack failed: {e}")))?;
        Ok(out.into_inner())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let filename = format!("attachment; filename=\"{name}-evidence.zip\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        zip,
    )
        .into_response())
}
