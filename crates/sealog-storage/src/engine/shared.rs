//! The engine's side of a shared store: the logs other nodes write (on standby here, with
//! who writes each), taking them over when their lease runs out, finding logs created
//! through other nodes, and each node's fair share of the logs nobody holds.

use super::{Engine, check_log_name, log_dir, open_log};
use crate::pg::{Database, Leader};
use crate::{EngineError, ErrorKind, Log, lock};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A log of the shared store that another node writes now.
#[derive(Clone)]
pub(super) struct Standby {
    /// Why this node does not write it.
    pub(super) why: String,
    /// Who does, as last read (every third of a lease); `None` while nobody holds it.
    pub(super) leader: Option<Leader>,
}

impl Standby {
    /// The standby entry of log `name`, which could not be opened because of `why`: with
    /// the lease's holder when another node holds it.
    pub(super) fn of(db: Option<&Database>, name: &str, why: &EngineError) -> Standby {
        let leader = match db {
            Some(db) if why.kind() == ErrorKind::Busy => db.leader(name).ok().flatten(),
            _ => None,
        };
        Standby {
            why: why.to_string(),
            leader,
        }
    }
}

/// The most logs one of `live` nodes takes of `logs`: all of them rounded up, so that the
/// shares cover every log.
pub(super) fn fair_share(logs: usize, live: usize) -> usize {
    logs.div_ceil(live.max(1)).max(1)
}

/// Why a node leaves an unheld log to the others.
pub(super) fn full_share(share: usize, live: usize) -> String {
    format!(
        "this node writes its share of the logs ({share}, over {live} live nodes); another \
         node takes this one"
    )
}

impl Engine {
    /// Starts the thread that, on a shared store, takes over standby logs whose lease ran
    /// out (looking every third of a lease, which also refreshes who holds each one), puts
    /// logs other nodes created on standby, and reopens logs that lost their lease (every
    /// [`REOPEN_INTERVAL`] at most).
    pub(super) fn watch_leases(&self) -> Result<(), EngineError> {
        let weak = Arc::downgrade(&self.inner);
        let step = self.inner.env.lease() / 3;
        std::thread::Builder::new()
            .name("sealog-leases".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(step);
                    let Some(inner) = weak.upgrade() else { return };
                    let engine = Engine { inner };
                    if engine.is_shut_down() {
                        return;
                    }
                    engine.heartbeat();
                    engine.discover_new_logs();
                    let mut names: Vec<String> = lock(&engine.inner.logs).keys().cloned().collect();
                    names.extend(lock(&engine.inner.standby).keys().cloned());
                    names.iter().for_each(|name| drop(engine.log(name)));
                }
            })
            .map(drop)
            .map_err(|e| EngineError::io("cannot start the lease thread", e))
    }

    /// Renews this node's row in the shared store and the count of live nodes.
    fn heartbeat(&self) {
        let Some(db) = &self.inner.env.database else {
            return;
        };
        match db.heartbeat() {
            Ok(live) => self
                .inner
                .live_nodes
                .store(live, std::sync::atomic::Ordering::SeqCst),
            Err(e) => tracing::warn!(%e, "cannot count the live nodes"),
        }
    }

    /// This node's fair share of the logs (at most that many it takes over while nobody
    /// holds them), and the live nodes it was counted over.
    fn share(&self) -> (usize, usize) {
        let live = self
            .inner
            .live_nodes
            .load(std::sync::atomic::Ordering::SeqCst);
        let logs = lock(&self.inner.logs).len() + lock(&self.inner.standby).len();
        (fair_share(logs, live), live)
    }

    /// Whether the logs are in a shared store that other nodes serve too.
    pub fn is_shared(&self) -> bool {
        self.inner.env.database.is_some()
    }

    /// This node's name in the shared store's lease rows (`host/pid/random`), if shared.
    pub fn node_name(&self) -> Option<&str> {
        self.inner
            .env
            .database
            .as_deref()
            .map(|db| db.node.as_str())
    }

    /// The logs of the shared store that another node writes now, and why.
    pub fn standby(&self) -> BTreeMap<String, String> {
        lock(&self.inner.standby)
            .iter()
            .map(|(name, entry)| (name.clone(), entry.why.clone()))
            .collect()
    }

    /// Who writes log `name` when it is on standby here and another node holds its lease, as
    /// last read from the store (at most a third of a lease ago, or at the last try to take
    /// it over).
    pub fn leader(&self, name: &str) -> Option<Leader> {
        lock(&self.inner.standby)
            .get(name)
            .and_then(|entry| entry.leader.clone())
    }

    /// [`Engine::leader`], read from the store now (and kept), for a log on standby here.
    pub fn leader_now(&self, name: &str) -> Option<Leader> {
        let db = self.inner.env.database.as_ref()?;
        if !lock(&self.inner.standby).contains_key(name) {
            return None;
        }
        let leader = db.leader(name).ok().flatten();
        if let Some(entry) = lock(&self.inner.standby).get_mut(name) {
            entry.leader.clone_from(&leader);
        }
        leader
    }

    /// Puts the logs of the shared store this node does not know yet (created through
    /// another node) on standby, from where they are taken over or their leader found.
    fn discover_new_logs(&self) {
        let Some(db) = &self.inner.env.database else {
            return;
        };
        let names = match db.log_names() {
            Ok(names) => names,
            Err(e) => return tracing::warn!(%e, "cannot look for new logs in the store"),
        };
        for name in names {
            self.note_created_elsewhere(&name);
        }
    }

    /// Puts log `name`, which the store's catalog holds, on standby unless this node knows it
    /// already; says whether it did.
    fn note_created_elsewhere(&self, name: &str) -> bool {
        let known =
            lock(&self.inner.logs).contains_key(name) || self.inner.damaged.contains_key(name);
        let mut standby = lock(&self.inner.standby);
        if known || standby.contains_key(name) {
            return false;
        }
        tracing::info!(log = name, "found a log another node created");
        let entry = Standby {
            why: format!("log {name} was created by another node"),
            leader: None,
        };
        standby.insert(name.to_owned(), entry);
        // Its creator inserts the row, then takes the lease: not tried for a third of a
        // lease, so that it is never taken in between.
        lock(&self.inner.reopened).insert(name.to_owned(), std::time::Instant::now());
        true
    }

    /// Opens a standby log if its writer's lease ran out.
    pub(super) fn take_over(&self, name: &str) -> Option<Log> {
        if self.is_shut_down() {
            return None;
        }
        if !lock(&self.inner.standby).contains_key(name) && !self.found_in_catalog(name) {
            return None;
        }
        // A third of a lease: a log is taken over soon after its writer's lease ran out.
        if !self.may_retry(name, self.inner.env.lease() / 3) {
            return None;
        }
        let (share, live) = self.share();
        let mut logs = lock(&self.inner.logs);
        let opened = if logs.len() >= share {
            Err(EngineError::new(ErrorKind::Busy, full_share(share, live)))
        } else {
            open_log(&log_dir(&self.inner.dir, name), name, &self.inner.env)
        };
        match opened {
            Ok(log) => {
                tracing::info!(log = name, "took the log over from another node");
                lock(&self.inner.standby).remove(name);
                logs.insert(name.to_owned(), log.clone());
                Some(log)
            }
            Err(why) => {
                let entry = Standby::of(self.inner.env.database.as_deref(), name, &why);
                lock(&self.inner.standby).insert(name.to_owned(), entry);
                None
            }
        }
    }

    /// Whether log `name`, unknown here, is in the shared store's catalog (then it is put on
    /// standby). Never on the embedded store, nor for a name no log can have.
    fn found_in_catalog(&self, name: &str) -> bool {
        let Some(db) = &self.inner.env.database else {
            return false;
        };
        if check_log_name(name).is_err() || self.inner.damaged.contains_key(name) {
            return false;
        }
        match db.leader(name) {
            Ok(_) => self.note_created_elsewhere(name),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fair_share;

    #[test]
    fn the_shares_of_the_live_nodes_cover_every_log() {
        assert_eq!(fair_share(6, 2), 3);
        assert_eq!(fair_share(7, 3), 3);
        assert_eq!(fair_share(1, 3), 1);
        // No log yet, or no node counted: a node still takes the first log.
        assert_eq!(fair_share(0, 3), 1);
        assert_eq!(fair_share(5, 0), 5);
        for logs in 1..40 {
            for live in 1..8 {
                assert!(fair_share(logs, live) * live >= logs, "{logs} over {live}");
            }
        }
    }
}
