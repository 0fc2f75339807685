//! The delivery worker: the in-memory queue, batches, retries and the spool.
//!
//! `record()` only appends encoded events to a queue; one background thread turns the queue into
//! gzip'd batches, posts them, backs off (exponential, jittered, at least `Retry-After`) while
//! the server is unavailable, and spills to the spool when the queue reaches `max_queue` or the
//! server has been down for `spill_after`. The spool is replayed as soon as the server answers
//! again (event ids make replays idempotent). Events the server rejects are reported, never
//! retried; events the full spool refuses are counted and recorded by a `gap` event.

use crate::http::{Answer, Http};
use crate::spool::Spool;
use crate::{Options, Rejection, Stats, warn};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

const RETRYABLE: &[u16] = &[408, 425, 429, 500, 502, 503, 504];
const CONFIG: &[u16] = &[401, 403, 404];

/// What the worker and the callers share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) cv: Condvar,
    pub(crate) spool: Mutex<Spool>,
    pub(crate) http: Http,
    pub(crate) opts: Options,
    /// Builds the `gap` event for a loss (the client's agent, id and time).
    pub(crate) make_gap: Box<dyn Fn(Value) -> Vec<u8> + Send + Sync>,
}

/// The queue and counters.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) queue: VecDeque<Vec<u8>>,
    pub(crate) busy: bool,
    pub(crate) stopping: bool,
    pub(crate) flush_waiters: usize,
    pub(crate) replay_pending: bool,
    pub(crate) stats: Stats,
    pub(crate) rejections: VecDeque<Rejection>,
}

/// Outcome of one POST.
enum Sent {
    Ok,
    Retry(Option<Duration>),
    Config,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spool(&self) -> MutexGuard<'_, Spool> {
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one encoded event (spilling the queue to disk when it is full).
    pub(crate) fn enqueue(&self, rec: Vec<u8>) {
        let mut st = self.lock();
        if st.stopping {
            drop(st);
            return self.spill(vec![rec]);
        }
        st.queue.push_back(rec);
        if st.queue.len() >= self.opts.max_queue {
            let all: Vec<_> = st.queue.drain(..).collect();
            drop(st);
            self.spill(all);
        } else if st.queue.len() >= self.opts.batch_size {
            self.cv.notify_all();
        }
    }

    /// Writes records to the spool (one fsync); counts and records what does not fit.
    pub(crate) fn spill(&self, recs: Vec<Vec<u8>>) {
        if recs.is_empty() {
            return;
        }
        let (written, dropped) = match self.spool().append(&recs, false) {
            Ok(n) => n,
            Err(e) => {
                warn(&format!("spool write failed: {e}"));
                (0, recs.len())
            }
        };
        self.lock().stats.spooled += written as u64;
        if dropped > 0 {
            self.record_loss(dropped);
        }
    }

    /// Counts events the spool refused and records a `gap` event for them (past the cap).
    fn record_loss(&self, lost: usize) {
        let max = self.spool().max_bytes;
        self.lock().stats.lost += lost as u64;
        warn(&format!(
            "spool full ({max} bytes); {lost} event(s) lost (a gap event records it)"
        ));
        let now = crate::event::format_ts(SystemTime::now());
        let gap = (self.make_gap)(json!({
            "lost": lost, "first_lost_at": now, "last_lost_at": now,
            "reason": "spool_full", "spool_max_bytes": max,
        }));
        let appended = self.spool().append(&[gap], true);
        match appended {
            Ok(_) => self.lock().stats.spooled += 1,
            Err(e) => warn(&format!("could not spool the gap event: {e} ({lost} lost)")),
        }
    }

    pub(crate) fn reject(&self, id: String, code: String, message: String) {
        warn(&format!(
            "event {id} rejected by the server: {code} {message}"
        ));
        let r = Rejection { id, code, message };
        if let Some(cb) = &self.opts.on_reject {
            cb(&r);
        }
        let mut st = self.lock();
        st.stats.rejected += 1;
        if st.rejections.len() >= 1000 {
            st.rejections.pop_front();
        }
        st.rejections.push_back(r);
    }

    /// POSTs encoded events; isolates bad events by splitting the batch.
    fn post(&self, recs: &[Vec<u8>]) -> (Sent, String) {
        let body = batch_body(recs);
        let answer = match self.http.post_events(&body, None) {
            Ok(a) => a,
            Err(e) => return (Sent::Retry(None), format!("no connection: {e}")),
        };
        let s = answer.status;
        if (200..300).contains(&s) || ((s == 400 || s == 422) && answer.results().is_some()) {
            self.handle_results(&answer, recs);
            return (Sent::Ok, String::new());
        }
        let why = format!("the server answered {s}: {}", answer.error());
        if RETRYABLE.contains(&s) {
            return (Sent::Retry(answer.retry_after), why);
        }
        if CONFIG.contains(&s) {
            return (Sent::Config, why);
        }
        if recs.len() > 1 {
            let (a, b) = recs.split_at(recs.len() / 2);
            let first = self.post(a);
            if !matches!(first.0, Sent::Ok) {
                return first;
            }
            return self.post(b);
        }
        let id = event_id(&recs[0]);
        let (code, msg) = answer.error_parts();
        self.reject(id, code, msg);
        (Sent::Ok, String::new())
    }

    fn handle_results(&self, answer: &Answer, recs: &[Vec<u8>]) {
        let Some(results) = answer.results() else {
            self.lock().stats.sent += recs.len() as u64;
            return;
        };
        let (mut sent, mut dup) = (0, 0);
        for (i, r) in results.iter().enumerate() {
            match r["status"].as_str() {
                Some("accepted") => sent += 1,
                Some("duplicate") => {
                    sent += 1;
                    dup += 1;
                }
                other => {
                    let id = r["id"].as_str().map_or_else(
                        || recs.get(i).map(|r| event_id(r)).unwrap_or_default(),
                        str::to_owned,
                    );
                    let code = r["error"]["code"].as_str().unwrap_or(other.unwrap_or("?"));
                    let msg = r["error"]["message"].as_str().unwrap_or_default();
                    self.reject(id, code.into(), msg.into());
                }
            }
        }
        let mut st = self.lock();
        st.stats.sent += sent;
        st.stats.duplicates += dup;
    }

    /// Waits until everything queued (and this process's spool) was acknowledged; true if so.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let sh = self;
        let deadline = Instant::now() + timeout;
        let mut st = sh.lock();
        st.flush_waiters += 1;
        sh.cv.notify_all();
        let done = loop {
            let own = sh.spool().own_pending();
            if st.queue.is_empty() && !st.busy && !st.replay_pending && !own {
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            st = sh
                .cv
                .wait_timeout(st, (deadline - now).min(Duration::from_millis(50)))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        };
        st.flush_waiters -= 1;
        done
    }

    /// Seconds before retry `attempt`: exponential, jittered, at least `Retry-After`.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = self.opts.backoff_base.as_secs_f64() * 2f64.powi(attempt.min(20) as i32);
        let d = base.min(self.opts.backoff_max.as_secs_f64()) * (0.5 + jitter() * 0.5);
        let d = Duration::from_secs_f64(d);
        retry_after.map_or(d, |r| d.max(r.min(Duration::from_secs(300))))
    }
}

/// A uniform number in [0, 1) from the random bits of a fresh UUIDv4-like value.
fn jitter() -> f64 {
    let b = uuid::Uuid::now_v7().into_bytes();
    f64::from(u16::from_be_bytes([b[14], b[15]])) / 65536.0
}

pub(crate) fn batch_body(recs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = b"{\"events\":[".to_vec();
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.extend_from_slice(b"]}");
    body
}

fn event_id(rec: &[u8]) -> String {
    serde_json::from_slice::<Value>(rec)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The worker thread's own state: when to retry, since when the server is down.
struct Worker {
    shared: Arc<Shared>,
    failures: u32,
    retry_at: Option<Instant>,
    down_since: Option<Instant>,
    replay_next: Instant,
}

/// Runs the delivery loop until the client is closed.
pub(crate) fn run(shared: Arc<Shared>) {
    let mut w = Worker {
        shared,
        failures: 0,
        retry_at: None,
        down_since: None,
        replay_next: Instant::now(),
    };
    w.run();
}

impl Worker {
    fn run(&mut self) {
        let sh = Arc::clone(&self.shared);
        loop {
            {
                let st = sh.lock();
                let urgent =
                    st.flush_waiters > 0 || st.queue.len() >= sh.opts.batch_size || st.stopping;
                if !urgent {
                    drop(sh.cv.wait_timeout(st, sh.opts.flush_interval));
                }
            }
            let now = Instant::now();
            if let Some(at) = self.retry_at.filter(|at| now < *at) {
                let stopping = sh.lock().stopping;
                let down_long = self
                    .down_since
                    .is_some_and(|d| now - d >= sh.opts.spill_after);
                if stopping || down_long {
                    let all: Vec<_> = sh.lock().queue.drain(..).collect();
                    sh.spill(all);
                }
                if stopping {
                    break;
                }
                std::thread::sleep((at - now).min(Duration::from_millis(50)));
                sh.cv.notify_all();
                continue;
            }
            self.drain();
            let flushing = sh.lock().flush_waiters > 0;
            if sh.opts.replay_spool
                && self.retry_at.is_none_or(|at| Instant::now() >= at)
                && (Instant::now() >= self.replay_next || flushing)
                && sh.spool().replayable_bytes() > 0
            {
                self.replay();
                self.replay_next = Instant::now() + Duration::from_secs(1);
            }
            sh.cv.notify_all();
            let st = sh.lock();
            if st.stopping && (st.queue.is_empty() || self.retry_at.is_some()) {
                break;
            }
        }
        let rest: Vec<_> = sh.lock().queue.drain(..).collect();
        sh.spill(rest);
        sh.cv.notify_all();
    }

    fn drain(&mut self) {
        let sh = Arc::clone(&self.shared);
        loop {
            let batch: Vec<Vec<u8>> = {
                let mut st = sh.lock();
                let n = st.queue.len().min(sh.opts.batch_size);
                if n == 0 {
                    return;
                }
                st.busy = true;
                st.queue.drain(..n).collect()
            };
            let (outcome, why) = sh.post(&batch);
            let failed = !matches!(outcome, Sent::Ok);
            if failed {
                // Crash-safe while we back off; the replay sends it.
                sh.spill(batch);
                self.failed(outcome, &why);
            } else {
                self.ok();
            }
            sh.lock().busy = false;
            if failed {
                return;
            }
        }
    }

    fn replay(&mut self) {
        let sh = Arc::clone(&self.shared);
        sh.lock().busy = true;
        let segments = sh.spool().claim();
        let mut all_done = true;
        for seg in segments {
            if !all_done {
                continue; // released (unlocked) as it drops
            }
            for chunk in seg.records.chunks(sh.opts.batch_size) {
                let (outcome, why) = sh.post(chunk);
                if !matches!(outcome, Sent::Ok) {
                    self.failed(outcome, &why);
                    all_done = false;
                    break;
                }
                sh.lock().stats.replayed += chunk.len() as u64;
            }
            if all_done {
                if seg.corrupt_bytes > 0 {
                    warn(&format!(
                        "{} unreadable bytes at the end of {} (torn write)",
                        seg.corrupt_bytes,
                        seg.path.display()
                    ));
                }
                sh.spool().done(seg);
                self.ok();
            }
        }
        let mut st = sh.lock();
        if all_done {
            st.replay_pending = false;
        }
        st.busy = false;
    }

    fn failed(&mut self, outcome: Sent, why: &str) {
        self.failures += 1;
        let sh = &self.shared;
        sh.lock().stats.retried += 1;
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            warn(&format!(
                "cannot deliver events to {} ({why}); they wait in memory and then in the spool \
                 at {}, and are sent when delivery works again",
                sh.opts.url,
                sh.spool().dir.display()
            ));
        }
        let delay = match outcome {
            Sent::Config => sh.opts.backoff_max,
            Sent::Retry(ra) => sh.backoff(self.failures, ra),
            Sent::Ok => Duration::ZERO,
        };
        self.retry_at = Some(Instant::now() + delay);
    }

    fn ok(&mut self) {
        if let Some(since) = self.down_since.take() {
            warn(&format!(
                "delivery to {} works again after {:.1} s; spooled events are being sent",
                self.shared.opts.url,
                since.elapsed().as_secs_f64()
            ));
        }
        self.failures = 0;
        self.retry_at = None;
    }
}
