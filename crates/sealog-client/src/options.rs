//! The client's options: the Python SDK's, with the same defaults and environment variables.

use crate::{Error, Rejection};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A callback for events the server rejects.
pub type OnReject = Arc<dyn Fn(&Rejection) + Send + Sync>;

/// What a [`crate::Client`] is built from. `Options::from_env()` reads `SEALOG_URL`
/// (default `http://127.0.0.1:7300`), `SEALOG_LOG` (`default`), `SEALOG_API_KEY`,
/// `SEALOG_AGENT` (`rust`), `SEALOG_COMMITMENT_KEY` (hex, `base64:…` or text) and
/// `SEALOG_SPOOL_DIR`.
#[derive(Clone)]
pub struct Options {
    /// The server.
    pub url: String,
    /// The log to record into.
    pub log: String,
    /// An ingest key (a read key too, for [`crate::Client::get_receipt`]).
    pub api_key: Option<String>,
    /// The `agent` object of every event (`{"id": …}` at least).
    pub agent: Value,
    /// The commitment key (at least 16 bytes); without one a random per-process key is used,
    /// with a warning, and its commitments can not be checked.
    pub commitment_key: Option<Vec<u8>>,
    /// Send `input` / `output` in plain rather than as commitments.
    pub capture_content: bool,
    /// Redact plain content (JSON strings) before it leaves the process: e-mail addresses,
    /// phone numbers, API keys, JWTs, bearer tokens, IBANs and card numbers become
    /// `[<category>]`.
    pub redact: bool,
    /// Events per request (≥ 1).
    pub batch_size: usize,
    /// The longest wait before a partial batch is sent (> 0).
    pub flush_interval: Duration,
    /// Events held in memory (≥ 1); at this many the queue goes to the spool.
    pub max_queue: usize,
    /// The spool root (one directory per server and log beneath it).
    pub spool_dir: PathBuf,
    /// The spool's cap in bytes; past it events are dropped and a `gap` event records them.
    pub spool_max_bytes: u64,
    /// Sync each spool append to disk (survives a power loss, not only a crash).
    pub spool_fsync: bool,
    /// How long the server may be down before queued events go to the spool.
    pub spill_after: Duration,
    /// The first wait between retries (> 0).
    pub backoff_base: Duration,
    /// The longest wait between retries (> 0).
    pub backoff_max: Duration,
    /// The longest wait for one request (> 0).
    pub request_timeout: Duration,
    /// Called with each event the server rejects (from the delivery thread).
    pub on_reject: Option<OnReject>,
    /// Send what earlier processes left in the spool (for this log and key). `false` for a
    /// short-lived process that only writes there ([`crate::Client::spool`]).
    pub replay_spool: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A commitment key as the other SDKs read it: `base64:…`, `hex:…`, even-length hex, or text.
pub fn parse_commitment_key(s: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine as _;
    let s = s.trim();
    let raw = if let Some(b) = s.strip_prefix("base64:") {
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|e| Error::Options(format!("commitment key: {e}")))?
    } else if let Some(h) = s.strip_prefix("hex:") {
        hex(h).ok_or_else(|| Error::Options("commitment key: bad hex after hex:".into()))?
    } else {
        hex(s)
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| s.as_bytes().to_vec())
    };
    Ok(raw)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Options {
    /// The defaults, with what the environment sets.
    pub fn from_env() -> Options {
        Options {
            url: env("SEALOG_URL").unwrap_or_else(|| "http://127.0.0.1:7300".into()),
            log: env("SEALOG_LOG").unwrap_or_else(|| "default".into()),
            api_key: env("SEALOG_API_KEY"),
            agent: json!({"id": env("SEALOG_AGENT").unwrap_or_else(|| "rust".into())}),
            commitment_key: env("SEALOG_COMMITMENT_KEY")
                .and_then(|k| parse_commitment_key(&k).ok()),
            capture_content: false,
            redact: false,
            batch_size: 1000,
            flush_interval: Duration::from_millis(200),
            max_queue: 50_000,
            spool_dir: crate::spool::default_root(),
            spool_max_bytes: 256 << 20,
            spool_fsync: true,
            spill_after: Duration::from_secs(2),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            on_reject: None,
            replay_spool: true,
        }
    }

    /// Refuses a value that would stall or spin the worker, naming the option.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::Options(m.into()));
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return bad("url must be http(s)://host…");
        }
        if self.batch_size == 0 || self.max_queue == 0 {
            return bad("batch_size and max_queue must be at least 1");
        }
        for (name, d) in [
            ("flush_interval", self.flush_interval),
            ("backoff_base", self.backoff_base),
            ("backoff_max", self.backoff_max),
            ("request_timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return bad(&format!("{name} must be greater than 0"));
            }
        }
        if self.agent["id"].as_str().is_none_or(str::is_empty) {
            return bad("agent must be an object with a non-empty \"id\"");
        }
        Ok(())
    }
}
