//! RFC 3161 anchoring (`--tsa-url`, `--tsa-roots`): every log's checkpoint is time-stamped by
//! a TSA, at most once per interval and only when the tree grew, by one task per log off the
//! ingest path. The message imprint is the SHA-256 of the checkpoint's text (the signed note
//! body, without its signature lines). A reply is checked when it arrives (see [`sealog_evidence::tsp`]) and
//! only then stored, durably, as `DIR/timestamps/<log>/<size>.tsr` (the DER TimeStampResp)
//! and served at `GET /v1/logs/{log}/checkpoints/{size}/timestamp`. A failed request is
//! logged, counted and shown on the log's summary, never stored.

mod client;

use sealog_evidence::tsp::{self as token, Roots, Stamp};
use sealog_storage::{Log, SignedCheckpoint};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The TSAs to ask and how often (`--tsa-url`, `--tsa-roots`, `--tsa-auth-header`,
/// `--tsa-interval-ms`).
pub struct TsaConfig {
    /// The TSAs' URLs, asked in order until one grants a time-stamp.
    pub urls: Vec<String>,
    /// The roots the TSAs' certificates must chain to.
    pub roots: Roots,
    /// A header sent with every request (`Name: value`), e.g. a TSA's credentials.
    pub auth_header: Option<(String, String)>,
    /// The least time between two time-stamps of one log.
    pub interval: Duration,
}

impl std::fmt::Debug for TsaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth header's value is a secret.
        f.debug_struct("TsaConfig")
            .field("urls", &self.urls)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// A stored time-stamp: the checkpoint size, what it proves, and the TSA's URL (unknown for
/// one loaded at start).
type Latest = (u64, Stamp, Option<String>);

/// One log's time-stamping as the summary and `/metrics` show it.
#[derive(Default)]
struct LogStatus {
    /// The latest stored time-stamp.
    latest: Option<Latest>,
    last_error: Option<String>,
    requests: u64,
    failures: u64,
}

/// The time-stamping of every log of a server; inert without TSAs.
pub struct Timestamping {
    config: Option<Arc<TsaConfig>>,
    dir: PathBuf,
    logs: Mutex<HashMap<String, Arc<Mutex<LogStatus>>>>,
}

impl Timestamping {
    /// Time-stamping with `config` (none: off), storing tokens under `data/timestamps/`.
    pub fn new(data: &Path, config: Option<Arc<TsaConfig>>) -> Self {
        Timestamping {
            config,
            dir: data.join("timestamps"),
            logs: Mutex::default(),
        }
    }

    fn status_of(&self, log: &str) -> Option<Arc<Mutex<LogStatus>>> {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(log)
            .cloned()
    }

    /// Starts a time-stamping task for every log of `engine`.
    pub fn start(self: &Arc<Self>, engine: &sealog_storage::Engine) {
        for log in engine.logs() {
            self.watch(log);
        }
    }

    /// Starts time-stamping `log` (at start, and for a log created while the server runs).
    pub fn watch(self: &Arc<Self>, log: Log) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let status = Arc::new(Mutex::new(LogStatus {
            latest: self.load_latest(log.name(), &config.roots),
            ..LogStatus::default()
        }));
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.insert(log.name().to_owned(), status.clone());
        tokio::spawn(run(self.clone(), log, status, config));
    }

    fn log_dir(&self, log: &str) -> PathBuf {
        self.dir.join(log)
    }

    /// The roots the TSAs' certificates must chain to, if the server time-stamps.
    pub fn roots(&self) -> Option<&Roots> {
        self.config.as_deref().map(|c| &c.roots)
    }

    /// The stored reply for checkpoint `size` of `log`, if any.
    pub fn token(&self, log: &str, size: u64) -> Option<Vec<u8>> {
        std::fs::read(self.log_dir(log).join(format!("{size}.tsr"))).ok()
    }

    /// The largest stored time-stamp of `log`, checked again against the roots.
    fn load_latest(&self, log: &str, roots: &Roots) -> Option<Latest> {
        let entries = std::fs::read_dir(self.log_dir(log)).ok()?;
        let size = entries
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".tsr")?
                    .parse::<u64>()
                    .ok()
            })
            .max()?;
        let reply = self.token(log, size)?;
        let text = std::fs::read(self.log_dir(log).join(format!("{size}.checkpoint"))).ok()?;
        match token::verify(&reply, &token::imprint(&text), None, roots) {
            Ok(stamp) => Some((size, stamp, None)),
            Err(e) => {
                tracing::error!(log, size, "the stored time-stamp does not verify: {e}");
                None
            }
        }
    }

    /// Stores a checked reply for `cp` (with the checkpoint text it imprints) durably.
    fn store(&self, log: &str, size: u64, text: &[u8], reply: &[u8]) -> std::io::Result<()> {
        let dir = self.log_dir(log);
        std::fs::create_dir_all(&dir)?;
        let write = sealog_storage::durable::write_file;
        write(&dir.join(format!("{size}.checkpoint")), text, 0o644)?;
        write(&dir.join(format!("{size}.tsr")), reply, 0o644)
    }

    /// The `timestamping` object of a log's summary: the latest time-stamp (size, genTime,
    /// TSA), the last error and the counts. `null` without TSAs.
    pub fn status(&self, log: &str) -> Value {
        let Some(status) = self.status_of(log) else {
            return Value::Null;
        };
        let s = status.lock().unwrap_or_else(PoisonError::into_inner);
        let latest = s.latest.as_ref().map(|(size, stamp, url)| {
            json!({"size": size, "gen_time": stamp.gen_time_rfc3339(), "tsa": stamp.tsa, "url": url})
        });
        json!({"latest": latest, "last_error": s.last_error, "requests": s.requests, "failures": s.failures})
    }

    /// The Prometheus counters of time-stamp requests and failures per log.
    pub fn render(&self) -> String {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        if logs.is_empty() {
            return out;
        }
        let mut names: Vec<&String> = logs.keys().collect();
        names.sort();
        for (metric, help) in [
            (
                "sealog_tsa_requests_total",
                "RFC 3161 time-stamp requests sent.",
            ),
            (
                "sealog_tsa_failures_total",
                "Time-stamp requests that failed or were refused.",
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for name in &names {
                let s = logs[*name].lock().unwrap_or_else(PoisonError::into_inner);
                let n = if metric.contains("requests") {
                    s.requests
                } else {
                    s.failures
                };
                let _ = writeln!(
                    out,
                    "{metric}{{log=\"{}\"}} {n}",
                    name.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
        }
        out
    }
}

/// The checkpoint text a time-stamp imprints: the note body, without the signature lines.
pub fn checkpoint_text(cp: &SignedCheckpoint) -> Vec<u8> {
    match cp.note.windows(2).position(|w| w == b"\n\n") {
        Some(i) => cp.note[..=i].to_vec(),
        None => cp.note.clone(),
    }
}

/// One log's loop: wait for the tree to grow, time-stamp its checkpoint, wait the interval.
async fn run(
    ts: Arc<Timestamping>,
    log: Log,
    status: Arc<Mutex<LogStatus>>,
    config: Arc<TsaConfig>,
) {
    let agent = client::agent();
    let mut stamped = status
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .latest
        .as_ref()
        .map_or(0, |l| l.0);
    loop {
        let Ok(cp) = log.wait_checkpoint(stamped + 1).await else {
            return;
        };
        let (ts2, config2, agent2, name) = (
            ts.clone(),
            config.clone(),
            agent.clone(),
            log.name().to_owned(),
        );
        let outcome =
            tokio::task::spawn_blocking(move || stamp(&ts2, &agent2, &config2, &name, &cp)).await;
        if let Ok((requests, result)) = outcome
            && let Some(size) = record(log.name(), &status, requests, result)
        {
            stamped = size;
        }
        tokio::time::sleep(config.interval).await;
    }
}

/// Counts one attempt; the size now time-stamped if it succeeded.
fn record(
    log: &str,
    status: &Mutex<LogStatus>,
    requests: u64,
    result: Result<Latest, String>,
) -> Option<u64> {
    let mut s = status.lock().unwrap_or_else(PoisonError::into_inner);
    s.requests += requests;
    match result {
        Ok(latest) => {
            s.failures += requests - 1;
            let size = latest.0;
            s.latest = Some(latest);
            s.last_error = None;
            Some(size)
        }
        Err(e) => {
            s.failures += requests;
            tracing::warn!(log, "time-stamp failed: {e}");
            s.last_error = Some(e);
            None
        }
    }
}

/// Asks the TSAs in order for a time-stamp of `cp` until one grants a valid one, which is
/// stored; the number of requests sent and the stored time-stamp or every TSA's error.
fn stamp(
    ts: &Timestamping,
    agent: &ureq::Agent,
    config: &TsaConfig,
    log: &str,
    cp: &SignedCheckpoint,
) -> (u64, Result<Latest, String>) {
    let text = checkpoint_text(cp);
    let imprint = token::imprint(&text);
    let mut errors = Vec::new();
    for (i, url) in config.urls.iter().enumerate() {
        let nonce = token::nonce();
        let result = client::post(
            agent,
            url,
            config.auth_header.as_ref(),
            token::request(&imprint, &nonce),
        )
        .and_then(|reply| {
            Ok((
                token::verify(&reply, &imprint, Some(&nonce), &config.roots)?,
                reply,
            ))
        });
        match result {
            Ok((stamp, reply)) => {
                if let Err(e) = ts.store(log, cp.size, &text, &reply) {
                    errors.push(format!("cannot store the time-stamp: {e}"));
                    return (i as u64 + 1, Err(errors.join("; ")));
                }
                return (i as u64 + 1, Ok((cp.size, stamp, Some(url.clone()))));
            }
            Err(e) => errors.push(format!("{url}: {e}")),
        }
    }
    (config.urls.len() as u64, Err(errors.join("; ")))
}

/// `GET /v1/logs/{log}/checkpoints/{size}/timestamp`: the stored TimeStampResp.
pub async fn get_timestamp(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    caller: crate::auth::Caller,
    axum::extract::Path((name, size)): axum::extract::Path<(String, String)>,
) -> crate::error::ApiResult<impl axum::response::IntoResponse> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let size = sealog_core::checkpoint::parse_decimal(size.as_bytes()).map_err(|e| {
        crate::error::ApiError::bad_request(format!(
            "the checkpoint size {size:?} {e}; give a decimal tree size"
        ))
    })?;
    let ts = &state.timestamping;
    let Some(reply) = ts.token(log.name(), size) else {
        let why = if ts.config.is_none() {
            "the server has no --tsa-url".to_owned()
        } else {
            let latest = ts.status_of(log.name()).and_then(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .latest
                    .as_ref()
                    .map(|l| l.0)
            });
            match latest {
                Some(l) => format!("the latest time-stamped checkpoint has size {l}"),
                None => "no checkpoint of it has been time-stamped yet".to_owned(),
            }
        };
        return Err(crate::error::ApiError::not_found(format!(
            "log {name:?} has no time-stamp for the checkpoint of size {size}: {why}"
        )));
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/timestamp-reply",
        )],
        reply,
    ))
}
