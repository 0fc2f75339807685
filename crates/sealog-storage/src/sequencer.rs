//! The sequencer: one thread per log that turns queued appends into group commits.

use crate::lock;
use crate::log::LogInner;
use crate::log_store::{CommitError, LogAppender};
use crate::queue::Request;
use crate::types::now_micros;
use crate::{AppendError, Appended};
use sealog_core::leaf;
use std::collections::{HashMap, hash_map::Entry};
use std::sync::Arc;

/// Why a group was not committed.
enum GroupError {
    /// Dedup could not be checked; this group is refused, the log goes on.
    Index(String),
    /// Storage failed: what was written may not be durable, so the log stops.
    Storage(CommitError),
}

/// Runs the writer until the queue is closed and drained.
pub(crate) fn run(log: Arc<LogInner>, mut appender: Box<dyn LogAppender>) {
    let queue = &log.queue;
    let (max, delay) = (log.options.group_max_entries, log.options.group_max_delay);
    while let Some(group) = queue.next_group(max, delay) {
        if let Some(why) = queue.failure() {
            refuse(group, &why);
            continue;
        }
        match commit(&log, &mut *appender, &group) {
            Ok(results) => {
                for (request, result) in group.into_iter().zip(results) {
                    // A caller that gave up still had its events stored; nothing to do.
                    let _ = request.reply.send(Ok(result));
                }
            }
            Err(GroupError::Index(why)) => refuse(group, &why),
            Err(GroupError::Storage(e)) => {
                let why = stopped_by(&log, "appending", &e.error.to_string());
                queue.fail(why.clone());
                refuse(group, &format!("{why}. {}", batch_fate(e.rolled_back)));
            }
        }
    }
    queue.writer_stopped();
}

/// The message of a log that stopped on a storage failure while `doing`.
pub(crate) fn stopped(log: &str, doing: &str, error: &str) -> String {
    format!(
        "log {log} stopped accepting events after a storage failure while {doing}: {error}; \
         every acknowledged event is durable; free disk space or fix the disk, then restart \
         the server to recover"
    )
}

/// Why log `log` stopped on a failure while `doing`: it lost its writer lease to another
/// node, or its storage failed.
pub(crate) fn stopped_by(log: &LogInner, doing: &str, error: &str) -> String {
    match log.store.check_writer() {
        Err(lost) => lost.to_string(),
        Ok(()) => stopped(&log.name, doing, error),
    }
}

/// What a refused request's sender should know of its events after a failed commit.
fn batch_fate(rolled_back: bool) -> &'static str {
    if rolled_back {
        "None of this request's events were stored"
    } else {
        "This request's events may have been stored in part, as they were sent: a retry with \
         the same ids answers duplicate for those and stores the rest"
    }
}

/// Answers every request of a group with `Unavailable(why)`.
fn refuse(group: Vec<Request>, why: &str) {
    for request in group {
        let _ = request
            .reply
            .send(Err(AppendError::Unavailable(why.to_owned())));
    }
}

/// Dedups, stages, writes and fsyncs one group; returns the results of each request.
fn commit(
    log: &LogInner,
    appender: &mut dyn LogAppender,
    group: &[Request],
) -> Result<Vec<Vec<Appended>>, GroupError> {
    let events = || group.iter().flat_map(|r| &r.events);
    // Ids already logged: the recent ones from memory, the others from the index. Recent
    // hits are taken now, as the indexer may prune them once it has applied them.
    let mut known: HashMap<u128, Option<u64>> = HashMap::new();
    {
        let recent = lock(&log.queue.recent);
        for e in events() {
            known.entry(e.id).or_insert_with(|| recent.get(e.id));
        }
    }
    let unknown: Vec<u128> = known
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(&id, _)| id)
        .collect();
    let found = log
        .index
        .lookup_ids(&unknown)
        .map_err(|e| GroupError::Index(format!("cannot check for duplicate event ids: {e}")))?;
    for (id, index) in unknown.into_iter().zip(found) {
        known.insert(id, index);
    }

    appender.begin_group().map_err(|error| {
        GroupError::Storage(CommitError {
            error,
            rolled_back: true,
        })
    })?;
    let received = now_micros();
    let mut new_ids = Vec::new();
    let mut results = Vec::with_capacity(group.len());
    for request in group {
        let mut out = Vec::with_capacity(request.events.len());
        for e in &request.events {
            match known.entry(e.id) {
                Entry::Occupied(o) if o.get().is_some() => out.push(Appended::Duplicate {
                    index: o.get().expect("checked"),
                }),
                slot => {
                    let index = appender.size();
                    let leaf_hash =
                        appender.push(&leaf::build(&log.origin, received, &e.canonical));
                    *slot.or_default() = Some(index);
                    new_ids.push(e.id);
                    out.push(Appended::Accepted { index, leaf_hash });
                }
            }
        }
        results.push(out);
    }
    // A group of duplicates only writes nothing and needs no fsync.
    let took = if new_ids.is_empty() {
        None
    } else {
        Some(appender.commit().map_err(GroupError::Storage)?)
    };

    let accepted = new_ids.len() as u64;
    {
        let mut recent = lock(&log.queue.recent);
        new_ids.into_iter().for_each(|id| recent.push(id));
    }
    log.queue.publish(appender.size(), appender.root());
    let mut c = lock(&log.queue.counters);
    c.accepted += accepted;
    c.duplicates += events().count() as u64 - accepted;
    if let Some(took) = took {
        c.groups += 1;
        c.fsync(took);
    }
    Ok(results)
}
