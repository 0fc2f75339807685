//! The Rust SDK of Sealog: record what an agent does into a tamper-evident log.
//!
//! [`Client::record`] never blocks on the network and never loses an event silently: events are
//! queued in memory, sent by one background thread in gzip'd batches, retried with jittered
//! exponential backoff (at least the server's `Retry-After`), written to a crash-safe disk
//! spool while the server is down (replayed on the next start, in the Python and TypeScript
//! SDKs' format), and a spool that is full records a `gap` event for what it had to drop.
//! Payloads are sent as `hmac-sha256:` commitments unless content capture is opted into.
//!
//! ```no_run
//! use sealog_client::{Client, Event, Options};
//! use serde_json::json;
//!
//! let log = Client::new(Options {
//!     url: "http://127.0.0.1:7300".into(),
//!     log: "default".into(),
//!     api_key: Some("slk_…".into()),
//!     commitment_key: Some(b"a tenant secret of 16+ bytes".to_vec()),
//!     ..Options::from_env()
//! })?;
//! let session = log.session(None);
//! session.start(json!({}))?;
//! session.record(
//!     Event::new("tool_call")
//!         .context("tool", json!({"name": "search"}))
//!         .input(json!({"q": "weather"}))
//!         .output(json!("sunny")),
//! )?;
//! session.end("ok")?;
//! let receipt = log.record_sync(Event::new("decision"), "checkpoint")?;
//! println!("{} at index {:?}", receipt.id, receipt.index);
//! log.close(std::time::Duration::from_secs(5));
//! # Ok::<(), sealog_client::Error>(())
//! ```

mod approval;
mod delivery;
mod event;
mod http;
mod options;
mod redact;
mod session;
pub mod spool;

pub use approval::Decision;
pub use event::{Event, Payload};
pub use options::{OnReject, Options, parse_commitment_key};
pub use session::Session;

use delivery::{Shared, State};
use sealog_core::commitment::CommitmentKey;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Why a call failed.
#[derive(Debug)]
pub enum Error {
    /// A bad option (the message says which and what to pass).
    Options(String),
    /// The event is not valid (it was not queued).
    Invalid(String),
    /// The server rejected the event (`record_sync`).
    Rejected(Rejection),
    /// No acknowledgement in time (`record_sync`): the event was spooled and will be sent.
    Delivery(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Error::Options(m) => write!(f, "bad option: {m}"),
            Error::Invalid(m) => write!(f, "invalid event: {m}"),
            Error::Rejected(r) => write!(f, "event {} rejected: {} {}", r.id, r.code, r.message),
            Error::Delivery(m) => write!(f, "not delivered: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// An event the server refused, and why.
#[derive(Clone, Debug)]
pub struct Rejection {
    /// The event's id.
    pub id: String,
    /// The server's error code.
    pub code: String,
    /// The server's message.
    pub message: String,
}

/// The server's receipt for one event.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// The event's id.
    pub id: String,
    /// `accepted` or `duplicate`.
    pub status: String,
    /// Its index in the log, once sequenced.
    pub index: Option<u64>,
    /// Its leaf hash (hex).
    pub leaf_hash: Option<String>,
    /// The tlog-proof text, with `wait=checkpoint`.
    pub proof: Option<String>,
    /// The whole per-event result.
    pub raw: Value,
}

/// Delivery counters.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Events in memory.
    pub queued: u64,
    /// Acknowledged by the server (duplicates included).
    pub sent: u64,
    /// Acknowledged as already stored.
    pub duplicates: u64,
    /// Written to the spool.
    pub spooled: u64,
    /// Sent from the spool.
    pub replayed: u64,
    /// Failed attempts.
    pub retried: u64,
    /// Refused by the server.
    pub rejected: u64,
    /// Dropped by a full spool (recorded by a `gap` event).
    pub lost: u64,
    /// Refused locally as invalid.
    pub invalid: u64,
    /// Bytes in the spool directory.
    pub spool_bytes: u64,
}

/// Prints a warning on stderr, as every Sealog tool does.
pub(crate) fn warn(message: &str) {
    eprintln!("sealog: {message}");
}

/// A client for one log. Cheap to clone (clones share the queue and the worker).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    key: CommitmentKey,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Client {
    /// Checks the options, opens the spool and starts the worker (which replays whatever an
    /// earlier process left in the spool for this log and key).
    pub fn new(mut opts: Options) -> Result<Client, Error> {
        opts.url = opts.url.trim_end_matches('/').to_owned();
        opts.check()?;
        let key = match &opts.commitment_key {
            Some(k) => CommitmentKey::new(k).map_err(|e| Error::Options(e.to_string()))?,
            None => {
                warn(
                    "no commitment key (or SEALOG_COMMITMENT_KEY); using a random per-process \
                     key, so commitments can not be checked later",
                );
                let mut k = [0u8; 32];
                getrandom::fill(&mut k).map_err(|e| Error::Options(e.to_string()))?;
                CommitmentKey::new(&k).expect("32 bytes")
            }
        };
        let dir = spool::dir_for(&opts.spool_dir, &opts.url, &opts.log);
        let spool = spool::Spool::open(
            dir.clone(),
            spool::key_id(opts.api_key.as_deref()),
            opts.spool_max_bytes,
            opts.spool_fsync,
        )
        .map_err(|e| Error::Options(format!("cannot open the spool {}: {e}", dir.display())))?;
        let pending = opts.replay_spool && spool.replayable_bytes() > 0;
        if pending {
            let (events, segments) = spool.count_replayable();
            warn(&format!(
                "{events} event(s) spooled earlier for {} ({segments} segment(s)) wait in {}; \
                 they are sent when the server answers",
                opts.url,
                dir.display()
            ));
        }
        if !spool.foreign.is_empty() {
            warn(&format!(
                "{} spooled segment(s) in {} were written under another API key; they are not \
                 sent under this one",
                spool.foreign.len(),
                dir.display()
            ));
        }
        let agent = opts.agent.clone();
        let http = http::Http::new(
            &opts.url,
            &opts.log,
            opts.api_key.as_deref(),
            opts.request_timeout,
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                replay_pending: pending,
                ..State::default()
            }),
            cv: Default::default(),
            spool: Mutex::new(spool),
            http,
            opts,
            make_gap: Box::new(move |attrs| {
                let now = SystemTime::now();
                let ev = json!({
                    "id": event::uuid7(now), "ts": event::format_ts(now), "agent": agent,
                    "action": "gap", "status": "error", "attributes": attrs,
                });
                serde_json::to_vec(&ev).expect("JSON")
            }),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("sealog-delivery".into())
            .spawn(move || delivery::run(worker_shared))
            .map_err(|e| Error::Options(format!("cannot start the delivery thread: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                shared,
                key,
                worker: Mutex::new(Some(worker)),
            }),
        })
    }

    /// Queues an event; returns its id at once. An invalid event is counted, reported and
    /// not queued.
    pub fn record(&self, ev: Event) -> Result<String, Error> {
        self.record_in(ev, None)
    }

    pub(crate) fn record_in(
        &self,
        ev: Event,
        session: Option<&dyn Fn() -> Value>,
    ) -> Result<String, Error> {
        let (id, bytes) = self.build(ev, session).inspect_err(|e| {
            self.inner.shared.lock().stats.invalid += 1;
            warn(&e.to_string());
        })?;
        self.inner.shared.enqueue(bytes);
        Ok(id)
    }

    /// Writes an event durably to the spool without sending it; returns its id. For a
    /// short-lived process that must return at once (a coding agent's hook): the next client
    /// of the same log and key that replays the spool sends it.
    pub fn spool(&self, ev: Event) -> Result<String, Error> {
        self.spool_in(ev, None)
    }

    pub(crate) fn spool_in(
        &self,
        ev: Event,
        session: Option<&dyn Fn() -> Value>,
    ) -> Result<String, Error> {
        let (id, bytes) = self.build(ev, session)?;
        self.inner.shared.spill(vec![bytes]);
        Ok(id)
    }

    /// Sends one event now and returns the server's receipt: `wait` is `durable` (on the
    /// server's disk) or `checkpoint` (also under a signed checkpoint, with a tlog-proof).
    /// On giving up (within `request_timeout`) the event is spooled and will still be sent.
    pub fn record_sync(&self, ev: Event, wait: &str) -> Result<Receipt, Error> {
        if wait != "durable" && wait != "checkpoint" {
            return Err(Error::Options(
                "wait must be \"durable\" or \"checkpoint\"".into(),
            ));
        }
        let (id, bytes) = self.build(ev, None)?;
        let sh = &self.inner.shared;
        let body = delivery::batch_body(std::slice::from_ref(&bytes));
        let deadline = Instant::now() + sh.opts.request_timeout;
        let mut attempt = 0;
        loop {
            let mut retry_after = None;
            match sh.http.post_events(&body, Some(wait)) {
                Ok(a) if a.results().is_some_and(|r| !r.is_empty()) => {
                    let r = a.results().expect("results")[0].clone();
                    return self.receipt(id, r);
                }
                Ok(a) if (400..500).contains(&a.status) && ![408, 425, 429].contains(&a.status) => {
                    let (code, message) = a.error_parts();
                    return Err(Error::Rejected(Rejection { id, code, message }));
                }
                Ok(a) => retry_after = a.retry_after,
                Err(_) => {}
            }
            attempt += 1;
            sh.lock().stats.retried += 1;
            let wait_for = sh.backoff(attempt, retry_after);
            if Instant::now() + wait_for > deadline {
                sh.spill(vec![bytes]);
                return Err(Error::Delivery(format!(
                    "no acknowledgement within {:?}; event spooled",
                    sh.opts.request_timeout
                )));
            }
            std::thread::sleep(wait_for);
        }
    }

    fn receipt(&self, id: String, r: Value) -> Result<Receipt, Error> {
        let status = r["status"].as_str().unwrap_or_default().to_owned();
        if status != "accepted" && status != "duplicate" {
            let code = r["error"]["code"].as_str().unwrap_or("rejected").into();
            let message = r["error"]["message"].as_str().unwrap_or_default().into();
            self.inner.shared.lock().stats.rejected += 1;
            return Err(Error::Rejected(Rejection { id, code, message }));
        }
        let mut st = self.inner.shared.lock();
        st.stats.sent += 1;
        st.stats.duplicates += u64::from(status == "duplicate");
        Ok(Receipt {
            id,
            status,
            index: r["index"].as_u64(),
            leaf_hash: r["leaf_hash"].as_str().map(str::to_owned),
            proof: r["proof"].as_str().map(str::to_owned),
            raw: r,
        })
    }

    /// A new session (`id`, or a fresh UUIDv7): its events are numbered by `seq`.
    pub fn session(&self, id: Option<&str>) -> Session {
        let id = id.map_or_else(|| event::uuid7(SystemTime::now()), str::to_owned);
        Session::new(self.clone(), id)
    }

    /// A session whose next event is number `next_seq`: a session that another process
    /// began (each hook of a coding agent runs in a process of its own).
    pub fn resume_session(&self, id: &str, next_seq: u64) -> Session {
        Session::resume(self.clone(), id.into(), next_seq)
    }

    /// `ev` made a policy flag (`policy_flag`) with status `status` (`blocked`, …) and
    /// `reason` (in its attributes and decision block), ready to record.
    pub fn flag(&self, reason: &str, status: &str, ev: Event) -> Event {
        let ev = Event {
            action: "policy_flag".into(),
            status: status.into(),
            ..ev
        };
        ev.attribute("reason", json!(reason)).context(
            "decision",
            json!({"outcome": status, "reason_codes": [reason]}),
        )
    }

    /// Delivery counters.
    pub fn stats(&self) -> Stats {
        let sh = &self.inner.shared;
        let spool_bytes = sh.spool.lock().map(|s| s.size_bytes()).unwrap_or(0);
        let st = sh.lock();
        Stats {
            queued: st.queue.len() as u64,
            spool_bytes,
            ..st.stats.clone()
        }
    }

    /// The most recent events the server rejected.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.inner
            .shared
            .lock()
            .rejections
            .iter()
            .cloned()
            .collect()
    }

    /// The tlog-proof of an event (`GET …/events/{id}/proof`; needs a read key).
    pub fn get_receipt(&self, event_id: &str) -> Result<String, Error> {
        let path = format!("/events/{}/proof", http::url_escape(event_id));
        match self.inner.shared.http.get(&path) {
            Ok(a) if a.status == 200 => Ok(a.text),
            Ok(a) => Err(Error::Delivery(format!("{}: {}", a.status, a.error()))),
            Err(e) => Err(Error::Delivery(e)),
        }
    }

    /// Waits until everything queued (and this process's spool) was acknowledged; true if so.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.shared.flush(timeout)
    }

    /// Flushes with a bounded wait, spools whatever is left and stops the worker.
    pub fn close(&self, timeout: Duration) -> bool {
        self.inner.close(timeout)
    }

    fn build(
        &self,
        ev: Event,
        session: Option<&dyn Fn() -> Value>,
    ) -> Result<(String, Vec<u8>), Error> {
        let opts = &self.inner.shared.opts;
        let at = ev.ts.unwrap_or_else(SystemTime::now);
        let id = ev.id.clone().unwrap_or_else(|| event::uuid7(at));
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert("ts".into(), json!(event::format_ts(at)));
        m.insert(
            "agent".into(),
            ev.agent.unwrap_or_else(|| opts.agent.clone()),
        );
        m.insert("action".into(), json!(ev.action));
        m.insert("status".into(), json!(ev.status));
        if let Some(s) = ev.started {
            m.insert("started".into(), json!(event::format_ts(s)));
        }
        let plain = ev.content.unwrap_or(opts.capture_content);
        for (name, p) in [("input", &ev.input), ("output", &ev.output)] {
            if let Some(p) = p {
                let v = if plain {
                    event::plain(p, opts.redact)
                } else {
                    event::commitment(&self.inner.key, p)
                };
                m.insert(name.into(), v);
            }
        }
        if !ev.context.is_empty() {
            m.insert("context".into(), Value::Object(ev.context));
        }
        if !ev.attributes.is_empty() {
            m.insert("attributes".into(), Value::Object(ev.attributes));
        }
        if let Some(t) = ev.trace {
            m.insert("trace".into(), t);
        }
        let mut value = Value::Object(m);
        sealog_core::event::validate(&value, &sealog_core::event::Limits::default())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        // Numbered last, once nothing can fail: a number taken by a dropped event would look
        // like a gap in the session.
        if let Some(s) = session {
            value["session"] = s();
        }
        Ok((id, serde_json::to_vec(&value).expect("JSON")))
    }
}

impl Inner {
    fn close(&self, timeout: Duration) -> bool {
        let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) else {
            return true;
        };
        let ok = self.shared.flush(timeout);
        self.shared.lock().stopping = true;
        self.shared.cv.notify_all();
        let _ = worker.join();
        if let Ok(mut s) = self.shared.spool.lock() {
            s.close();
        }
        ok
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close(Duration::from_secs(5));
    }
}
