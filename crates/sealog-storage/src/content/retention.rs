//! What retention pruned of a log's content, in `DIR/content/<log>/pruned.json` (replaced
//! durably): the index below which every entry was examined, the first one a hold kept, and
//! the latest prune with the id of the `prune` event that records it.

use super::LogContent;
use super::holds::Hold;
use super::keys::subject_dir;
use crate::{durable, lock};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::io;
use std::path::PathBuf;

/// The state of a log's retention.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pruned {
    /// Every entry below this index was examined: its content was pruned unless a hold kept it.
    pub below: u64,
    /// The first entry below `below` whose content a hold kept; examined again by each prune.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_from: Option<u64>,
    /// The latest prune that removed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Prune>,
}

/// One prune, as its `prune` event records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prune {
    /// The id of the `prune` event.
    pub event_id: String,
    /// When (RFC 3339, UTC, µs).
    pub at: String,
    /// The entries examined: `from` (inclusive) to `to` (exclusive).
    pub from: u64,
    /// See `from`.
    pub to: u64,
    /// How many blobs were removed.
    pub blobs: u64,
    /// How many payloads in the range a hold kept.
    pub held: u64,
    /// Whether the event is in the log.
    pub recorded: bool,
}

/// What a prune is to remove, decided under the holds' lock.
pub struct PrunePlan {
    /// The blobs: (subject, SHA-256 in hex).
    pub blobs: Vec<(String, String)>,
    /// The new [`Pruned::below`].
    pub below: u64,
    /// The new [`Pruned::held_from`].
    pub held_from: Option<u64>,
    /// The prune to record if any blob goes (its `blobs` is filled in by [`LogContent::prune`]).
    pub record: Prune,
}

impl LogContent {
    fn pruned_file(&self) -> PathBuf {
        self.dir.join("pruned.json")
    }

    /// What retention pruned so far.
    pub fn pruned(&self) -> io::Result<Pruned> {
        match std::fs::read(self.pruned_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is damaged: {e}", self.pruned_file().display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Pruned::default()),
            Err(e) => Err(e),
        }
    }

    fn write_pruned(&self, pruned: &Pruned) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(pruned).map_err(io::Error::other)?;
        durable::write_file(&self.pruned_file(), &bytes, 0o600)
    }

    /// Prunes: `plan` decides, from the holds in place and what was pruned before, which blobs
    /// go; they are removed and the new state written, durably, while no hold can be placed.
    /// Removing is idempotent, so a prune a crash cut short is done again by the next.
    pub fn prune<E: From<io::Error>>(
        &self,
        plan: impl FnOnce(&[Hold], &Pruned) -> Result<PrunePlan, E>,
    ) -> Result<Pruned, E> {
        let _holds = lock(&self.holds);
        self.hold_book.while_locked(|holds| {
            let before = self.pruned()?;
            let plan = plan(holds, &before)?;
            let digests: HashSet<[u8; 32]> = plan
                .blobs
                .iter()
                .filter_map(|(_, sha)| sealog_core::hex::decode::<32>(sha))
                .collect();
            let mut removed = self.packs.remove(|sha, _| digests.contains(sha))?;
            removed += self.remove_unpacked(&plan.blobs)?;
            let last = if removed > 0 {
                Some(Prune {
                    blobs: removed,
                    ..plan.record
                })
            } else {
                before.last.clone()
            };
            let after = Pruned {
                below: plan.below.max(before.below),
                held_from: plan.held_from,
                last,
            };
            if after != before {
                self.write_pruned(&after)?;
            }
            Ok(after)
        })
    }

    /// Runs `f` with the holds in place while no hold can be placed or lifted: what a prune
    /// of whole entries decides and does under it cannot pass a hold placed meanwhile (on a
    /// shared store, by any node).
    pub fn with_holds<T, E: From<io::Error>>(
        &self,
        f: impl FnOnce(&[Hold]) -> Result<T, E>,
    ) -> Result<T, E> {
        let _holds = lock(&self.holds);
        self.hold_book.while_locked(f)
    }

    /// Notes that the `prune` event `event_id` is in the log.
    pub fn prune_recorded(&self, event_id: &str) -> io::Result<()> {
        let _holds = lock(&self.holds);
        let mut pruned = self.pruned()?;
        match &mut pruned.last {
            Some(last) if last.event_id == event_id && !last.recorded => last.recorded = true,
            _ => return Ok(()),
        }
        self.write_pruned(&pruned)
    }

    /// Removes those of `blobs` kept as files of their own (a store made before packs).
    fn remove_unpacked(&self, blobs: &[(String, String)]) -> io::Result<u64> {
        let mut removed = 0;
        let mut dirs = BTreeSet::new();
        // Only names that are SHA-256 in hex: a leaf's reference never reaches another file.
        let named = blobs
            .iter()
            .filter(|(_, sha)| sealog_core::hex::decode::<32>(sha).is_some());
        for (subject, sha) in named {
            let dir = subject_dir(&self.subjects(), subject).join("blobs");
            match std::fs::remove_file(dir.join(sha)) {
                Ok(()) => {
                    removed += 1;
                    dirs.insert(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        dirs.iter().try_for_each(|d| durable::sync_dir(d))?;
        Ok(removed)
    }
}
