//! Retention of whole entries (DESIGN §11): on a log whose `prune_entries` is on, the
//! retention job removes the records of the oldest entries past retention — a prefix of the
//! log that stops at the first entry received after the cutoff or covered by a legal hold —
//! and keeps every tree hash, checkpoint and the history. The engine states the range
//! durably before it removes anything; each prune is recorded as a `prune` event
//! (`entries_pruned: true`) whose id the engine's state keeps, so a crash before the event
//! re-appends the same event (a duplicate) on the next run.

use crate::erasure::new_event_id;
use crate::error::{ApiError, ApiResult};
use crate::retention::{RetentionSettings, STEP_ENTRIES, covered, record_prune_event};
use crate::state::{AppState, blocking};
use sealog_core::leaf::{Leaf, format_received};
use sealog_storage::content::{Hold, LogContent};
use sealog_storage::{EntriesPrune, Log, clock};
use serde_json::json;
use std::sync::Arc;

/// Prunes whole entries of `log` received before `cutoff`, step by step, each step decided
/// and done under the holds' lock, and records each prune.
pub async fn prune(
    state: &AppState,
    log: &Log,
    content: &Arc<LogContent>,
    settings: RetentionSettings,
    cutoff: i64,
) -> ApiResult<()> {
    loop {
        let (c, l) = (content.clone(), log.clone());
        let more = blocking(move || {
            c.with_holds(|holds| match plan(&l, holds, cutoff)? {
                Some((below, more)) => {
                    let now = clock::now_micros();
                    let last = EntriesPrune {
                        event_id: new_event_id(now),
                        at: format_received(now),
                        from: l.entries_pruned().below,
                        to: below,
                        recorded: false,
                    };
                    l.prune_entries(below, last)?;
                    Ok::<_, ApiError>(more)
                }
                None => Ok(false),
            })
        })
        .await?;
        // Also a prune an earlier run stated but did not record (a crash in between).
        if let Some(last) = log.entries_pruned().last.filter(|l| !l.recorded) {
            record_prune(state, log, &last, settings).await?;
        }
        if !more {
            return Ok(());
        }
    }
}

/// How far one step may prune: from the first kept entry, every entry received before
/// `cutoff` that no hold covers, stopping at the first other one and below the latest
/// checkpoint's last entry (a log always keeps a signed entry). Returns the new first kept
/// entry and whether the step stopped at its bound with older entries maybe left, or `None`
/// when nothing can go.
fn plan(log: &Log, holds: &[Hold], cutoff: i64) -> ApiResult<Option<(u64, bool)>> {
    let from = log.entries_pruned().below;
    let bound = log.checkpoint().size.saturating_sub(1);
    let end = bound.min(from + STEP_ENTRIES);
    let mut to = from;
    while to < end {
        let leaf = Leaf::parse(&log.entry(to)?)
            .map_err(|e| ApiError::internal(format!("stored leaf {to} does not parse: {e}")))?;
        let young = leaf.received_at.unix_timestamp_nanos() / 1000 > i128::from(cutoff);
        if young || covered(holds, &leaf.event) {
            return Ok((to > from).then_some((to, false)));
        }
        to += 1;
    }
    Ok((to > from).then_some((to, end < bound)))
}

/// Appends the `prune` event of `last` and notes that it is in the log.
async fn record_prune(
    state: &AppState,
    log: &Log,
    last: &EntriesPrune,
    settings: RetentionSettings,
) -> ApiResult<()> {
    let attributes = json!({
        "from": last.from,
        "to": last.to,
        "entries_pruned": true,
    });
    let index =
        record_prune_event(state, log, &last.event_id, &last.at, attributes, settings).await?;
    let (l, id) = (log.clone(), last.event_id.clone());
    blocking(move || Ok(l.entries_prune_recorded(&id)?)).await?;
    tracing::info!(log = %log.name(), from = last.from, to = last.to, event = index, "pruned entries past retention");
    Ok(())
}
