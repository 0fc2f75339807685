//! Legal holds of one log, in `DIR/content/<log>/holds.json` (replaced durably on each change):
//! while a hold is in place, what it covers may not be erased (or pruned).

use crate::durable;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// A legal hold on a log, a subject, a session or a time range.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hold {
    /// The hold's id: the id of the `legal_hold` event that placed it.
    pub id: String,
    /// Why (the order or case it serves).
    pub reason: String,
    /// Only this data subject's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Only this session's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Only events at or after this RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// When it was placed.
    pub placed: String,
}

impl Hold {
    /// Whether erasing `subject` could touch what the hold covers: a hold naming that subject,
    /// or one naming no subject at all (a session or time range may hold the subject's events).
    pub fn covers_subject(&self, subject: &str) -> bool {
        self.subject.as_deref().is_none_or(|s| s == subject)
    }

    /// Whether the hold covers an event of `subject` and `session` at `ts` (µs since the
    /// epoch): each thing the hold names must match. A bound that does not parse (holds are
    /// checked when placed) or an event without a time is covered: a hold keeps more, never
    /// less.
    pub fn covers_event(
        &self,
        subject: Option<&str>,
        session: Option<&str>,
        ts: Option<i64>,
    ) -> bool {
        let named =
            |held: &Option<String>, of: Option<&str>| held.as_deref().is_none_or(|h| of == Some(h));
        let bound = |t: &Option<String>| t.as_deref().and_then(crate::index::parse_ts);
        // An event without a time, or a bound that does not parse, is held.
        let after_since = match (bound(&self.since), ts) {
            (Some(since), Some(ts)) => ts >= since,
            _ => true,
        };
        let before_until = match (bound(&self.until), ts) {
            (Some(until), Some(ts)) => ts < until,
            _ => true,
        };
        named(&self.subject, subject)
            && named(&self.session, session)
            && after_since
            && before_until
    }
}

/// The holds stored at `path` (none if it does not exist).
pub fn read(path: &Path) -> io::Result<Vec<Hold>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is damaged: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the holds at `path`, durably.
pub fn write(path: &Path, holds: &[Hold]) -> io::Result<()> {
    durable::write_file(
        path,
        &serde_json::to_vec_pretty(holds).map_err(io::Error::other)?,
        0o600,
    )
}
