//! What every request shares: the engine, the key store, sessions, limits and metrics.

use crate::body::BodyBudget;
use crate::export_limits::ExportLimits;
use crate::keys::Keys;
use crate::metrics::Metrics;
use sealog_auth::TokenBucket;
use sealog_core::event::Limits;
use sealog_dashboard::Sessions;
use sealog_storage::{Engine, Log};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Limits and names of one server; the CLI fills them from flags, a config file and the
/// environment.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The server name: log origins are `<name>/<log>`.
    pub name: String,
    /// Largest request body, after decompression.
    pub max_body_bytes: usize,
    /// The bytes all in-flight ingest bodies may hold at once (compressed and decompressed);
    /// past it an ingest gets 503 `busy` with `Retry-After`.
    pub max_inflight_body_bytes: usize,
    /// Most events in one ingest request.
    pub max_batch_events: usize,
    /// Requests per second per API key (with a burst of twice that); 0 disables the limit.
    pub rate_limit_per_key: u32,
    /// Longest `?wait=checkpoint` (and an export of selected events) waits for a covering
    /// checkpoint.
    pub checkpoint_wait: Duration,
    /// Longest a request may take until its response starts (an export's download is not
    /// counted); past it the client gets a 503 `timeout`.
    pub request_timeout: Duration,
    /// Longest in-flight requests get to finish after a shutdown signal, before their
    /// connections are closed and the engine stops.
    pub drain_timeout: Duration,
    /// Longest an HTTP/1 connection may take to send a request's headers, and longest it may
    /// stay idle between requests; then it is closed.
    pub header_timeout: Duration,
    /// Longest a request's body may take to arrive, from the request's start; past it the
    /// client gets 408 `body_timeout`.
    pub body_timeout: Duration,
    /// Most connections open at once; a connection beyond it is closed at once.
    pub max_connections: usize,
    /// Most connections open at once from one IP address.
    pub max_connections_per_peer: usize,
    /// Whether `/metrics` answers without a key (it names every log); otherwise it needs the
    /// server-wide admin key.
    pub public_metrics: bool,
    /// Most exports one key may run at once.
    pub max_exports_per_key: usize,
    /// Longest an export's download may go unread before it is dropped with its scratch file.
    pub export_idle_timeout: Duration,
    /// Free bytes the data directory's disk keeps for ingest: below it exports get 507.
    pub export_disk_reserve_bytes: u64,
    /// Limits on each event.
    pub event_limits: Limits,
    /// Whether the server is reached over TLS (dashboard cookies get `Secure`).
    pub tls: bool,
    /// The witnesses to ask for cosignatures and the quorum (`--witness-policy`).
    pub witness_policy: Option<Arc<sealog_core::policy::Policy>>,
    /// How long a log may miss its witness quorum before `/readyz` reports it.
    pub witness_alarm: Duration,
    /// The TSAs that time-stamp every log's checkpoints (`--tsa-url`).
    pub tsa: Option<Arc<crate::timestamping::TsaConfig>>,
    /// Where each log's key-encryption key lives (`<dir>/<log>.kek`) instead of
    /// `<data dir>/content/<log>/kek`.
    pub kek_dir: Option<std::path::PathBuf>,
    /// How often content past retention is pruned (the first time one interval after start).
    pub prune_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            name: "localhost".into(),
            max_body_bytes: 16 << 20,
            max_inflight_body_bytes: 256 << 20,
            max_batch_events: 10_000,
            rate_limit_per_key: 1_000,
            checkpoint_wait: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            drain_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_peer: 256,
            public_metrics: false,
            max_exports_per_key: 2,
            export_idle_timeout: Duration::from_secs(60),
            export_disk_reserve_bytes: 256 << 20,
            event_limits: Limits::default(),
            tls: false,
            witness_policy: None,
            witness_alarm: Duration::from_secs(60),
            tsa: None,
            kek_dir: None,
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// The state of a running server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The log engine.
    pub engine: Engine,
    /// API keys and per-log settings.
    pub keys: Keys,
    /// Dashboard sessions (an alternative to bearer keys).
    pub sessions: Sessions,
    /// Limits and names.
    pub options: Arc<ServerOptions>,
    /// Per-key request rate limiter.
    pub limiter: Arc<RateLimiter>,
    /// The memory in-flight ingest bodies share.
    pub body_budget: BodyBudget,
    /// `DIR/admin.token`, where a first start keeps the admin key it made.
    pub admin_token_file: Arc<std::path::Path>,
    /// Exports running per key, and their bounds.
    pub exports: Arc<ExportLimits>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Witness cosignatures of every log's checkpoints.
    pub witnessing: Arc<crate::witnessing::Witnessing>,
    /// RFC 3161 time-stamps of every log's checkpoints.
    pub timestamping: Arc<crate::timestamping::Timestamping>,
    /// The traces each log's OTLP ingest saw holding AI spans.
    pub otlp: Arc<crate::otlp::AiTraces>,
    /// Encrypted content, data keys and legal holds.
    pub content: Arc<sealog_storage::content::ContentStore>,
    /// The clock retention trusts: never ahead of the monotonic time since the start.
    pub retention_clock: sealog_storage::clock::RetentionClock,
    /// Where each log's incidents and their sealed packs are kept (`DIR/incidents`).
    pub incidents: Arc<std::path::Path>,
    /// The client that hands a standby log's requests to its leader (shared store only).
    pub forwarder: crate::forward::Forwarder,
}

impl AppState {
    /// The log called `name`, or a 404 saying which logs exist is the admin's business.
    pub fn log(&self, name: &str) -> Result<Log, crate::error::ApiError> {
        if let Some(why) = self.engine.damaged().get(name) {
            return Err(crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "log_damaged",
                format!("{why}; the operator must repair it and restart the server"),
            ));
        }
        if let Some(log) = self.engine.log(name) {
            return Ok(log);
        }
        if let Some(why) = self.engine.standby().get(name) {
            return Err(crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "log_on_standby",
                format!("{why}; another node of the store serves it now"),
            ));
        }
        self.engine.log(name).ok_or_else(|| {
            crate::error::ApiError::not_found(format!(
                "there is no log called {name:?}; an admin creates one with POST /v1/logs"
            ))
        })
    }
}

/// Runs `work` (disk reads and writes, proofs, fsyncs) on the blocking pool, so that it never
/// holds up an async worker thread and the requests queued on it.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::ApiResult<T> + Send + 'static,
) -> crate::error::ApiResult<T> {
    tokio::task::spawn_blocking(work).await?
}

/// A token bucket per API key.
pub struct RateLimiter {
    per_second: u32,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimiter {
    /// A limiter of `per_second` requests per key with a burst of twice that; 0 disables it.
    pub fn new(per_second: u32) -> Self {
        RateLimiter {
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The configured rate.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_second);
        let burst = 2.0 * rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        // Only authenticated key ids get here, so the map is bounded by the number of keys.
        buckets
            .entry(key.to_owned())
            .or_insert_with(|| TokenBucket::full(burst))
            .take(rate, burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_other_keys_are_not_affected() {
        let limiter = RateLimiter::new(5);
        for _ in 0..10 {
            limiter.check("a").unwrap();
        }
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200));
        limiter.check("b").unwrap();
        assert!(RateLimiter::new(0).check("a").is_ok());
    }
}
