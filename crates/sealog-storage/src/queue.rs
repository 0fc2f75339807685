//! The write queue of one log and what the sequencer publishes from it: the appends waiting
//! for the sequencer, the durable tree head, the ids the index has not caught up to, and
//! counters. Every handle and thread of the log shares it.

use crate::lock;
use crate::{AppendError, Appended, LogStats};
use sealog_core::event::ValidatedEvent;
use sealog_core::merkle::Hash;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The reply to one `append` call.
pub(crate) type Reply = oneshot::Sender<Result<Vec<Appended>, AppendError>>;

/// One `append` call waiting for the writer.
pub(crate) struct Request {
    pub(crate) events: Vec<ValidatedEvent>,
    pub(crate) reply: Reply,
}

/// How long a caller told `Busy` should wait: about one group commit.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Ids not yet indexed beyond which appends answer `Busy`, so that a stuck index cannot
/// grow memory without bound (about 50 MiB).
const MAX_RECENT: usize = 1_000_000;

/// Upper bounds of the fsync latency histogram, µs.
const FSYNC_BOUNDS: [u64; 12] = [
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    1_000_000,
    u64::MAX,
];

#[derive(Default)]
struct Queue {
    requests: VecDeque<Request>,
    entries: usize,
    /// Why appends are refused, once they are.
    closed: Option<String>,
}

/// The durable tree head, as the writer publishes it after each group.
#[derive(Clone, Copy)]
pub(crate) struct Head {
    pub(crate) size: u64,
    pub(crate) root: Hash,
    /// The writer has stopped: no head will follow.
    pub(crate) final_: bool,
}

/// Ids of entries the index has not applied yet, with their indices, in log order. Bounded
/// by the index's lag, which [`MAX_RECENT`] bounds.
pub(crate) struct Recent {
    base: u64,
    ids: VecDeque<u128>,
    map: HashMap<u128, u64>,
}

impl Recent {
    /// The index of `id` if it is among the recent ids.
    pub(crate) fn get(&self, id: u128) -> Option<u64> {
        self.map.get(&id).copied()
    }

    /// Records the id of the next entry.
    pub(crate) fn push(&mut self, id: u128) {
        self.map.insert(id, self.base + self.ids.len() as u64);
        self.ids.push_back(id);
    }

    /// Forgets ids below `watermark`, which the index now answers.
    pub(crate) fn prune(&mut self, watermark: u64) {
        while self.base < watermark {
            let Some(id) = self.ids.pop_front() else {
                break;
            };
            self.map.remove(&id);
            self.base += 1;
        }
    }
}

/// Counters since start.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) accepted: u64,
    pub(crate) duplicates: u64,
    pub(crate) groups: u64,
    fsync_counts: [u64; FSYNC_BOUNDS.len()],
    fsync_sum: u64,
}

impl Counters {
    /// Records one fsync.
    pub(crate) fn fsync(&mut self, took: Duration) {
        let micros = took.as_micros() as u64;
        let at = FSYNC_BOUNDS.partition_point(|&b| b < micros);
        self.fsync_counts[at] += 1;
        self.fsync_sum += micros;
    }
}

/// One log's write queue, durable head, recent ids and counters.
pub(crate) struct WriteQueue {
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    head: Mutex<Head>,
    head_cv: Condvar,
    size: AtomicU64,
    failure: Mutex<Option<String>>,
    pub(crate) recent: Mutex<Recent>,
    pub(crate) counters: Mutex<Counters>,
    queue_limit: usize,
}

impl WriteQueue {
    /// State for a log whose durable tree is `size` entries with `root`, all indexed.
    pub(crate) fn new(size: u64, root: Hash, queue_limit: usize) -> Self {
        WriteQueue {
            queue: Mutex::default(),
            queue_cv: Condvar::new(),
            head: Mutex::new(Head {
                size,
                root,
                final_: false,
            }),
            head_cv: Condvar::new(),
            size: AtomicU64::new(size),
            failure: Mutex::new(None),
            recent: Mutex::new(Recent {
                base: size,
                ids: VecDeque::new(),
                map: HashMap::new(),
            }),
            counters: Mutex::default(),
            queue_limit,
        }
    }

    /// Queues an append, or says why not.
    pub(crate) fn enqueue(
        &self,
        events: Vec<ValidatedEvent>,
        reply: Reply,
    ) -> Result<(), AppendError> {
        let busy = Err(AppendError::Busy {
            retry_after: RETRY_AFTER,
        });
        if lock(&self.recent).ids.len() > MAX_RECENT {
            return busy;
        }
        let mut q = lock(&self.queue);
        if let Some(why) = &q.closed {
            return Err(AppendError::Unavailable(why.clone()));
        }
        // One call larger than the whole queue is still taken when the queue is empty, or
        // it could never succeed.
        if q.entries > 0 && q.entries + events.len() > self.queue_limit {
            return busy;
        }
        q.entries += events.len();
        q.requests.push_back(Request { events, reply });
        self.queue_cv.notify_one();
        Ok(())
    }

    /// Waits for the next group: requests up to `max` entries (at least one request),
    /// waiting up to `delay` for it to fill. `None` once the queue is closed and empty.
    pub(crate) fn next_group(&self, max: usize, delay: Duration) -> Option<Vec<Request>> {
        let mut q = lock(&self.queue);
        while q.requests.is_empty() {
            if q.closed.is_some() {
                return None;
            }
            q = self
                .queue_cv
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let deadline = Instant::now() + delay;
        while q.entries < max && q.closed.is_none() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            q = self
                .queue_cv
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let mut group = Vec::new();
        let mut taken = 0;
        while let Some(r) = q.requests.front() {
            if taken > 0 && taken + r.events.len() > max {
                break;
            }
            taken += r.events.len();
            group.extend(q.requests.pop_front());
        }
        q.entries -= taken;
        Some(group)
    }

    /// Refuses further appends with `why`; queued ones are still committed.
    pub(crate) fn close(&self, why: &str) {
        let mut q = lock(&self.queue);
        q.closed.get_or_insert_with(|| why.to_owned());
        self.queue_cv.notify_all();
    }

    /// Stops the log after a storage failure: refuses appends with `why` from now on.
    pub(crate) fn fail(&self, why: String) {
        lock(&self.failure).get_or_insert_with(|| why.clone());
        self.close(&why);
    }

    /// The storage failure that stopped the log, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Publishes a new durable head (after its group's fsync).
    pub(crate) fn publish(&self, size: u64, root: Hash) {
        let mut head = lock(&self.head);
        head.size = size;
        head.root = root;
        self.size.store(size, Ordering::Release);
        self.head_cv.notify_all();
    }

    /// Marks the writer stopped.
    pub(crate) fn writer_stopped(&self) {
        lock(&self.head).final_ = true;
        self.head_cv.notify_all();
    }

    /// Durable entries.
    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    /// The durable head.
    pub(crate) fn head(&self) -> Head {
        *lock(&self.head)
    }

    /// Waits until `until` or until the head changes and `ready` holds of it, and returns it.
    pub(crate) fn wait_head(&self, until: Option<Instant>, ready: impl Fn(&Head) -> bool) -> Head {
        let mut head = lock(&self.head);
        while !ready(&head) {
            match until {
                None => {
                    head = self
                        .head_cv
                        .wait(head)
                        .unwrap_or_else(PoisonError::into_inner)
                }
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        break;
                    }
                    head = self
                        .head_cv
                        .wait_timeout(head, t - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        *head
    }

    /// Entries waiting in the queue.
    pub(crate) fn queued(&self) -> u64 {
        lock(&self.queue).entries as u64
    }

    /// Fills the counters of `stats`.
    pub(crate) fn fill_stats(&self, stats: &mut LogStats) {
        let c = lock(&self.counters);
        stats.accepted = c.accepted;
        stats.duplicates = c.duplicates;
        stats.groups = c.groups;
        stats.fsync_micros_buckets = FSYNC_BOUNDS.iter().copied().zip(c.fsync_counts).collect();
        stats.fsync_micros_sum = c.fsync_sum;
    }
}
