//! What verification found: for people (`Display`) and machines (`Serialize`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One thing that failed verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Line in `entries.jsonl`, when the failure is about an entry.
    pub line: Option<u64>,
    /// Log index, when known.
    pub index: Option<u64>,
    /// What is wrong, in words.
    pub message: String,
}

/// Completeness of one session in the pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// `session.id`.
    pub id: String,
    /// Events of the session in the pack.
    pub events: u64,
    /// Whether the pack holds the whole session: `seq` 0 to n−1 once each, a `session_start`,
    /// and a `session_end` declaring n.
    pub complete: bool,
    /// The count the `session_end` declared, if present.
    pub declared_count: Option<u64>,
    /// Earliest `ts`.
    pub first_ts: String,
    /// Latest `ts`.
    pub last_ts: String,
    /// Why it is not complete.
    pub problems: Vec<String>,
}

/// Counts by agent, action and status, and the human-oversight events.
#[derive(Clone, Debug, Default)]
pub(super) struct Counts {
    pub(super) by_agent: BTreeMap<String, u64>,
    pub(super) by_action: BTreeMap<String, u64>,
    pub(super) by_status: BTreeMap<String, u64>,
    pub(super) oversight: u64,
}

impl Counts {
    pub(super) fn add(&mut self, agent: &str, action: &str, status: &str) {
        bump(&mut self.by_agent, agent, 1);
        bump(&mut self.by_action, action, 1);
        bump(&mut self.by_status, status, 1);
        if action == "human_oversight" {
            self.oversight += 1;
        }
    }

    /// Adds the counts of another run of entries.
    pub(super) fn merge(&mut self, other: Counts) {
        for (mine, theirs) in [
            (&mut self.by_agent, other.by_agent),
            (&mut self.by_action, other.by_action),
            (&mut self.by_status, other.by_status),
        ] {
            for (key, n) in theirs {
                bump(mine, &key, n);
            }
        }
        self.oversight += other.oversight;
    }
}

/// Adds `n` to `key`, allocating the key only the first time it is seen.
fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(count) => *count += n,
        None => {
            map.insert(key.to_owned(), n);
        }
    }
}

/// The outcome of verifying a pack.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// True when nothing failed. Incomplete sessions are findings, not failures.
    pub valid: bool,
    /// The log.
    pub origin: String,
    /// Size of the checkpoint everything is proven against.
    pub checkpoint_size: u64,
    /// Its root, base64.
    pub checkpoint_root: String,
    /// Witnesses whose cosignatures verified against pinned keys.
    pub witnesses: Vec<String>,
    /// Filters the pack was exported with.
    pub filters: BTreeMap<String, String>,
    /// Where the entries retention pruned before the export end, if it pruned any.
    pub pruned_below: Option<u64>,
    /// When it was exported.
    pub exported_at: String,
    /// Entries verified or attempted.
    pub entries: u64,
    /// Lowest log index among them.
    pub first_index: Option<u64>,
    /// Highest log index among them.
    pub last_index: Option<u64>,
    /// Earlier checkpoints proven consistent with this one.
    pub consistency_checked: u64,
    /// Entries by `agent.id`.
    pub by_agent: BTreeMap<String, u64>,
    /// Entries by `action`.
    pub by_action: BTreeMap<String, u64>,
    /// Entries by `status`.
    pub by_status: BTreeMap<String, u64>,
    /// `human_oversight` events.
    pub oversight: u64,
    /// Every session in the pack.
    pub sessions: Vec<SessionReport>,
    /// All failures, including those not listed.
    pub failure_count: u64,
    /// The first failures (at most [`MAX_LISTED_FAILURES`](super::MAX_LISTED_FAILURES)).
    pub failures: Vec<Failure>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.valid {
            writeln!(f, "INVALID: {} problem(s) found", self.failure_count)?;
            for fail in &self.failures {
                writeln!(f, "  - {}", fail.message)?;
            }
            let unlisted = self.failure_count - self.failures.len() as u64;
            if unlisted > 0 {
                writeln!(f, "  … and {unlisted} more")?;
            }
            return Ok(());
        }
        let (noun, verb) = if self.entries == 1 {
            ("entry", "is")
        } else {
            ("entries", "are")
        };
        writeln!(
            f,
            "VALID: {} {noun} of log {} {verb} proven",
            self.entries, self.origin
        )?;
        writeln!(
            f,
            "  against its checkpoint of size {} (root {}), signed by the pinned log key",
            self.checkpoint_size, self.checkpoint_root
        )?;
        if self.witnesses.is_empty() {
            writeln!(
                f,
                "  cosigned by no pinned witness (pass --witness or --policy to require some)"
            )?;
        } else {
            writeln!(
                f,
                "  cosigned by pinned witnesses: {}",
                self.witnesses.join(", ")
            )?;
        }
        if self.consistency_checked > 0 {
            writeln!(
                f,
                "  {} earlier checkpoint(s) proven consistent: the log only grew",
                self.consistency_checked
            )?;
        }
        if let (Some(a), Some(b)) = (self.first_index, self.last_index) {
            writeln!(f, "  log indices {a} to {b}")?;
        }
        if let Some(below) = self.pruned_below.filter(|&b| b > 0) {
            writeln!(
                f,
                "  entries 0 to {} were pruned by retention before this export: their records \
                 are gone, their tree hashes were kept, so these entries verify",
                below - 1
            )?;
        }
        if !self.filters.is_empty() {
            let filters: Vec<String> = self
                .filters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(
                f,
                "  exported with filters {} (other events are not disclosed)",
                filters.join(" ")
            )?;
        }
        let complete = self.sessions.iter().filter(|s| s.complete).count();
        writeln!(f, "sessions: {} ({complete} complete)", self.sessions.len())?;
        for s in self.sessions.iter().filter(|s| !s.complete) {
            writeln!(f, "  incomplete: {} — {}", s.id, s.problems.join("; "))?;
        }
        Ok(())
    }
}
