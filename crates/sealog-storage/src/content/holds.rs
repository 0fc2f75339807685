//! Legal holds of one log, in `DIR/content/<log>/holds.json` (replaced durably on each change),
//! or on a shared PostgreSQL store in its document `holds/<log>`, which every node reads and
//! writes: while a hold is in place, what it covers may not be erased (or pruned), on whichever
//! node leads the log.

use crate::durable;
use crate::pg::SharedDocuments;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

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

/// Where a log's holds are kept.
pub(crate) enum HoldBook {
    /// `DIR/content/<log>/holds.json`.
    File(PathBuf),
    /// The shared store's document of that name.
    Shared(SharedDocuments, String),
}

impl HoldBook {
    /// The book of log `log` whose content is in `dir`: on the shared store if there is one.
    pub(crate) fn of(log: &str, dir: &Path, shared: Option<&SharedDocuments>) -> HoldBook {
        match shared {
            Some(documents) => HoldBook::Shared(documents.clone(), format!("holds/{log}")),
            None => HoldBook::File(dir.join("holds.json")),
        }
    }

    /// The holds in place.
    pub(crate) fn read(&self) -> io::Result<Vec<Hold>> {
        match self {
            HoldBook::File(path) => read(path),
            HoldBook::Shared(documents, name) => parse(
                documents
                    .read(name)
                    .map_err(io::Error::other)?
                    .body
                    .as_deref(),
            ),
        }
    }

    /// Runs `work` on the holds in place while none can be placed or lifted, on a shared store
    /// by any node (the caller holds the log's own lock against this process's changes).
    pub(crate) fn while_locked<T, E: From<io::Error>>(
        &self,
        work: impl FnOnce(&[Hold]) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            HoldBook::File(path) => work(&read(path)?),
            HoldBook::Shared(documents, name) => {
                let done = documents.update(name, |body| Ok::<_, E>((work(&parse(body)?)?, None)));
                Ok(done.map_err(io::Error::other)??.0)
            }
        }
    }

    /// Changes the holds with `change` and stores them, durably.
    pub(crate) fn change<T>(&self, change: impl FnOnce(&mut Vec<Hold>) -> T) -> io::Result<T> {
        match self {
            HoldBook::File(path) => {
                let mut all = read(path)?;
                let out = change(&mut all);
                write(path, &all)?;
                Ok(out)
            }
            HoldBook::Shared(documents, name) => {
                let done = documents.update(name, |body| {
                    let mut all = parse(body)?;
                    let out = change(&mut all);
                    let text = serde_json::to_string(&all).map_err(io::Error::other)?;
                    Ok::<_, io::Error>((out, Some(text)))
                });
                Ok(done.map_err(io::Error::other)??.0)
            }
        }
    }
}

/// The holds of a shared document's text (none if it was never written).
fn parse(body: Option<&str>) -> io::Result<Vec<Hold>> {
    body.map_or(Ok(Vec::new()), |text| {
        serde_json::from_str(text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the store's holds are damaged: {e}"),
            )
        })
    })
}

/// The holds stored at `path` (none if it does not exist).
fn read(path: &Path) -> io::Result<Vec<Hold>> {
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
fn write(path: &Path, holds: &[Hold]) -> io::Result<()> {
    durable::write_file(
        path,
        &serde_json::to_vec_pretty(holds).map_err(io::Error::other)?,
        0o600,
    )
}
