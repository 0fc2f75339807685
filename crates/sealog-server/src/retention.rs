//! Retention (docs/DESIGN.md §11): each log keeps encrypted content for its retention period
//! (180 days unless an admin sets less with `retention_below_minimum`, since EU AI Act Art. 19
//! asks for at least six months), and a background job removes the content of older entries
//! that no legal hold covers, recording each prune as a `prune` event. Entries are kept
//! unless the log's `prune_entries` is on (module `prune_entries`); tree hashes and
//! checkpoints always are, so every proof and every consistency proof stays valid.

use crate::content::{FIELDS, encrypted_ref};
use crate::erasure::{new_event_id, record};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};
use axum::http::StatusCode;
use sealog_core::leaf::{Leaf, format_received};
use sealog_storage::Log;
use sealog_storage::clock;
use sealog_storage::content::{ContentError, Hold, LogContent, Prune, PrunePlan, Pruned};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The retention a log gets unless an admin sets another: 180 days.
pub const DEFAULT_DAYS: u32 = 180;

/// The least retention without `below_minimum`: Art. 19 asks for at least six months.
pub const MINIMUM_DAYS: u32 = 180;

/// The longest retention: a hundred years.
const MAXIMUM_DAYS: u32 = 36_500;

/// Most entries one step of a prune examines while it holds the holds' lock.
pub(crate) const STEP_ENTRIES: u64 = 100_000;

/// Microseconds in a day.
pub(crate) const DAY_MICROS: i64 = 86_400_000_000;

/// A log's retention setting, kept with its other settings in `server.json`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Days content is kept after its event was received.
    pub days: u32,
    /// Whether `days` is below [`MINIMUM_DAYS`], by an admin's explicit override.
    #[serde(default)]
    pub below_minimum: bool,
    /// Whether whole entries past retention are pruned too (their tree hashes kept), not
    /// only encrypted content; off unless an admin turns it on.
    #[serde(default)]
    pub prune_entries: bool,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            days: DEFAULT_DAYS,
            below_minimum: false,
            prune_entries: false,
        }
    }
}

impl RetentionSettings {
    /// The setting a `PATCH` asks for, checked: a retention below the minimum needs the
    /// override, given in the same request or earlier.
    pub fn patched(
        self,
        days: Option<u32>,
        below_minimum: Option<bool>,
        prune_entries: Option<bool>,
    ) -> ApiResult<Self> {
        let days = days.unwrap_or(self.days);
        let override_given = below_minimum.unwrap_or(self.below_minimum);
        let invalid =
            |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_retention", m);
        if days == 0 || days > MAXIMUM_DAYS {
            return Err(invalid(format!(
                "retention_days must be 1 to {MAXIMUM_DAYS}, not {days}"
            )));
        }
        if days < MINIMUM_DAYS && !override_given {
            return Err(invalid(format!(
                "a retention of {days} days is below the {MINIMUM_DAYS}-day minimum (EU AI Act \
                 Art. 19 asks for at least six months); set retention_below_minimum: true to \
                 override it, which the log's metadata and every report then show"
            )));
        }
        Ok(RetentionSettings {
            days,
            below_minimum: days < MINIMUM_DAYS,
            prune_entries: prune_entries.unwrap_or(self.prune_entries),
        })
    }
}

/// Records a change of a log's retention as a `retention_changed` event.
pub async fn record_change(state: &AppState, log: &Log, to: RetentionSettings) -> ApiResult<u64> {
    let now = clock::now_micros();
    let attributes = json!({
        "retention_days": to.days,
        "below_minimum": to.below_minimum,
        "prune_entries": to.prune_entries,
    });
    record(
        state,
        log,
        &new_event_id(now),
        &format_received(now),
        "retention_changed",
        None,
        attributes,
    )
    .await
}

/// The `retention` member of a log's metadata.
pub fn summary(state: &AppState, log: &str) -> Value {
    let settings = state.keys.settings(log).retention;
    let pruned = state
        .content
        .existing(log)
        .and_then(|c| c.map_or(Ok(Pruned::default()), |c| c.pruned()));
    let mut out = json!({
        "days": settings.days,
        "below_minimum": settings.below_minimum,
        "minimum_days": MINIMUM_DAYS,
        "prunes": if settings.prune_entries { "content and entries" } else { "content" },
        "prune_entries": settings.prune_entries,
    });
    if let Some(log) = state.engine.log(log) {
        let entries = log.entries_pruned();
        out["entries_pruned_below"] = json!(entries.below);
        out["last_entries_prune"] = json!(entries.last);
    }
    match pruned {
        Ok(p) => {
            out["content_pruned_below"] = json!(p.below);
            out["held_from"] = json!(p.held_from);
            out["last_prune"] = json!(p.last);
        }
        Err(e) => out["error"] = json!(format!("cannot read what was pruned: {e}")),
    }
    if clock::test_offset_seconds() != 0 {
        out["test_clock_offset_seconds"] = json!(clock::test_offset_seconds());
    }
    out
}

/// The error for content that cannot be read: 410 `pruned` if retention removed it.
pub fn unreadable(content: &LogContent, index: u64, e: ContentError) -> ApiError {
    let ContentError::Missing(_) = e else {
        return e.into();
    };
    match content.pruned() {
        Ok(p) if index < p.below => ApiError::new(
            StatusCode::GONE,
            "pruned",
            format!(
                "the content of entry {index} was pruned by retention: content of entries 0 \
                 to {} past the log's retention is removed unless a hold covers it{}; the \
                 event and its proofs remain",
                p.below - 1,
                p.last.map_or(String::new(), |l| format!(
                    " (latest prune: {}, entries {} to {}, event {})",
                    l.at,
                    l.from,
                    l.to.saturating_sub(1),
                    l.event_id
                )),
            ),
        ),
        Ok(_) => e.into(),
        Err(io) => ApiError::internal(format!("cannot read what was pruned: {io}")),
    }
}

/// Starts the job that prunes every log once per `prune_interval`, the first time one interval
/// after the start (by the monotonic clock).
pub fn start(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(state.options.prune_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            for log in state.engine.logs() {
                if let Err(e) = prune_log(&state, &log).await {
                    tracing::warn!(log = %log.name(), error = %e.message, "retention prune failed; retrying next interval");
                }
            }
        }
    });
}

/// Prunes one log as far as its retention allows, step by step, and records each prune.
pub async fn prune_log(state: &AppState, log: &Log) -> ApiResult<()> {
    let settings = state.keys.settings(log.name()).retention;
    // A log without encrypted content has nothing to prune (and gets no KEK for it), unless
    // it prunes whole entries: the holds' lock is then needed whatever the content.
    let content = match settings.prune_entries {
        true => Some(state.content.log(log.name())?),
        false => state.content.existing(log.name())?,
    };
    let Some(content) = content else {
        return Ok(());
    };
    let cutoff = state
        .retention_clock
        .now_micros()
        .saturating_sub(i64::from(settings.days) * DAY_MICROS);
    prune_content(state, log, &content, settings, cutoff).await?;
    if settings.prune_entries {
        crate::prune_entries::prune(state, log, &content, settings, cutoff).await?;
    }
    Ok(())
}

/// Prunes the encrypted content of entries received before `cutoff`, step by step.
async fn prune_content(
    state: &AppState,
    log: &Log,
    content: &std::sync::Arc<LogContent>,
    settings: RetentionSettings,
    cutoff: i64,
) -> ApiResult<()> {
    loop {
        let (c, l) = (content.clone(), log.clone());
        let (pruned, more) = blocking(move || {
            let mut more = false;
            let pruned = c.prune(|holds, before| {
                let (plan, capped) = plan(&l, holds, before, cutoff)?;
                more = capped;
                Ok::<_, ApiError>(plan)
            })?;
            Ok((pruned, more))
        })
        .await?;
        if let Some(last) = pruned.last.filter(|l| !l.recorded) {
            record_prune(state, log, content, &last, settings).await?;
        }
        if !more {
            return Ok(());
        }
    }
}

async fn record_prune(
    state: &AppState,
    log: &Log,
    content: &std::sync::Arc<LogContent>,
    last: &Prune,
    settings: RetentionSettings,
) -> ApiResult<()> {
    let attributes = json!({
        "from": last.from,
        "to": last.to,
        "blobs": last.blobs,
        "held": last.held,
        "entries_pruned": false,
    });
    let index =
        record_prune_event(state, log, &last.event_id, &last.at, attributes, settings).await?;
    let (c, id) = (content.clone(), last.event_id.clone());
    blocking(move || Ok(c.prune_recorded(&id)?)).await?;
    tracing::info!(log = %log.name(), from = last.from, to = last.to, blobs = last.blobs, held = last.held, event = index, "pruned content past retention");
    Ok(())
}

/// Decides one step of a prune: from the first entry a hold kept (or the first not examined),
/// every entry received before `cutoff` gives up its encrypted content unless a hold covers
/// it. The step stops at the first younger entry, so a prune never passes one. Returns the
/// plan and whether the step stopped at its bound with older entries maybe left.
fn plan(log: &Log, holds: &[Hold], before: &Pruned, cutoff: i64) -> ApiResult<(PrunePlan, bool)> {
    // Entries pruned whole have no content left to examine.
    let from = before
        .held_from
        .map_or(before.below, |h| h.min(before.below))
        .max(log.entries_pruned().below);
    // What holds kept is examined again whole; beyond it, a step at a time.
    let end = log.size().min(before.below.max(from) + STEP_ENTRIES);
    let (mut to, mut blobs, mut held, mut held_from) = (from, Vec::new(), 0, None);
    while to < end {
        let leaf = Leaf::parse(&log.entry(to)?)
            .map_err(|e| ApiError::internal(format!("stored leaf {to} does not parse: {e}")))?;
        if leaf.received_at.unix_timestamp_nanos() / 1000 > i128::from(cutoff) {
            break;
        }
        let refs: Vec<_> = FIELDS
            .into_iter()
            .filter_map(|f| encrypted_ref(&leaf.event, f))
            .collect();
        if !refs.is_empty() {
            if covered(holds, &leaf.event) {
                held += refs.len() as u64;
                held_from.get_or_insert(to);
            } else {
                blobs.extend(refs.into_iter().map(|(subject, _, sha)| (subject, sha)));
            }
        }
        to += 1;
    }
    // Entries a hold kept before and this step did not reach are examined again next time.
    if before.held_from.is_some() && to < before.below {
        held_from = Some(held_from.unwrap_or(to).min(to));
    }
    let now = clock::now_micros();
    let plan = PrunePlan {
        blobs,
        below: to,
        held_from,
        record: Prune {
            event_id: new_event_id(now),
            at: format_received(now),
            from,
            to,
            blobs: 0,
            held,
            recorded: false,
        },
    };
    Ok((plan, to == end && end < log.size()))
}

/// Appends the `prune` event `event_id` of time `at` with `attributes` (what was pruned)
/// and what every prune event states besides: the retention it followed, and the test
/// clock's offset if one is set. Returns the event's index.
pub(crate) async fn record_prune_event(
    state: &AppState,
    log: &Log,
    event_id: &str,
    at: &str,
    mut attributes: Value,
    settings: RetentionSettings,
) -> ApiResult<u64> {
    attributes["retention_days"] = json!(settings.days);
    attributes["below_minimum"] = json!(settings.below_minimum);
    if clock::test_offset_seconds() != 0 {
        attributes["test_clock_offset_seconds"] = json!(clock::test_offset_seconds());
    }
    record(state, log, event_id, at, "prune", None, attributes).await
}

/// Whether a hold covers the event.
pub(crate) fn covered(holds: &[Hold], event: &Value) -> bool {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
    }
    let subject = text(event.pointer("/context/subject/pseudo_id"));
    let session = text(event.pointer("/session/id"));
    let ts = text(event.get("ts")).and_then(sealog_storage::index::parse_ts);
    holds.iter().any(|h| h.covers_event(subject, session, ts))
}
