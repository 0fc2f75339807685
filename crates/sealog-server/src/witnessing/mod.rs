//! The witnessed log (`--witness-policy`): for every new checkpoint of every log, each witness
//! of the tlog-policy is asked to cosign it (tlog-witness add-checkpoint), concurrently and
//! off the ingest path. The cosignatures that come back are attached to the checkpoint the
//! server serves; a checkpoint whose cosigners meet the policy's quorum is *witnessed*.
//!
//! Each witness is sent a consistency proof from the size it last cosigned, which the server
//! learns from a 409 and keeps in `DIR/witnessing/<log>.json`. A 422, or a witness that has
//! cosigned a larger tree than the log has, means the log is not consistent with what the
//! witness saw (a restored backup, a second server with the same key): the server reports
//! the fork loudly, keeps it in the same file, and never calls a checkpoint of that log
//! witnessed again until an operator investigates. It never repairs anything by itself.

mod client;
mod policy;
mod round;
pub mod routes;
mod status;

pub use policy::parse_policy;

use sealog_core::cosignature::add_cosignatures;
use sealog_core::note::NoteSignature;
use sealog_core::policy::Policy;
use sealog_storage::{Engine, SignedCheckpoint};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// Longest one add-checkpoint call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest wait before calling a failed witness again.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

/// Witnessing of every log of a server; inert for a log without a policy (its own, set through
/// the API, or the server-wide `--witness-policy`).
pub struct Witnessing {
    /// The server-wide policy, for the logs without their own.
    policy: Option<Arc<Policy>>,
    dir: PathBuf,
    alarm: Duration,
    logs: Mutex<HashMap<String, Arc<LogWitnessing>>>,
}

/// What the server remembers of one log's witnesses across restarts.
#[derive(Default, Serialize, Deserialize)]
struct Persisted {
    /// The size each witness (by policy name) last cosigned, as far as the server knows.
    cosigned: BTreeMap<String, u64>,
    /// Why the log is believed forked, once a witness said so.
    fork: Option<String>,
}

/// One witness as one log sees it.
#[derive(Default)]
struct WitnessStatus {
    cosigned_size: Option<u64>,
    cosignature: Option<(u64, NoteSignature)>,
    last_cosigned: Option<SystemTime>,
    latency: Option<Duration>,
    last_error: Option<String>,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Answers by kind: ok, conflict, inconsistent, failed.
    answers: [u64; 4],
}

struct LogState {
    /// The policy the log is witnessed under; `witnesses` follows its order.
    policy: Arc<Policy>,
    /// Whether it is the log's own (else the server-wide one).
    own_policy: bool,
    witnesses: Vec<WitnessStatus>,
    /// The latest checkpoint with the cosignatures it got so far.
    current: Option<SignedCheckpoint>,
    fork: Option<String>,
    /// Since when a checkpoint newer than the witnessed one has been waiting for a quorum.
    missed_since: Option<Instant>,
}

/// The witnessing of one log.
struct LogWitnessing {
    state: Mutex<LogState>,
    witnessed: watch::Sender<Option<SignedCheckpoint>>,
    /// Wakes the log's task when its policy changed, so that it starts over under the new one.
    changed: tokio::sync::Notify,
    /// Set when the log no longer has any policy: its task ends.
    stopped: AtomicBool,
}

impl LogWitnessing {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Witnessing {
    /// Witnessing under `policy` (none: off), remembering in `data/witnessing/`; a log whose
    /// quorum has been missed for longer than `alarm` makes `/readyz` fail.
    pub fn new(data: &std::path::Path, policy: Option<Arc<Policy>>, alarm: Duration) -> Self {
        Witnessing {
            policy,
            dir: data.join("witnessing"),
            alarm,
            logs: Mutex::new(HashMap::new()),
        }
    }

    fn log(&self, name: &str) -> Option<Arc<LogWitnessing>> {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.get(name).cloned()
    }

    /// Starts a witnessing task for every log of `engine`.
    pub fn start(self: &Arc<Self>, engine: &Engine) {
        for log in engine.logs() {
            self.watch(log);
        }
    }

    /// Starts witnessing `log` (at start, and for a log created while the server runs) under
    /// its own policy, else the server-wide one; without either it is not witnessed.
    pub fn watch(self: &Arc<Self>, log: sealog_storage::Log) {
        let own = self.load_policy(log.name());
        let own_policy = own.is_some();
        if let Some(policy) = own.or_else(|| self.policy.clone()) {
            self.start_log(log, policy, own_policy);
        }
    }

    /// Starts the witnessing task of `log` under `policy`.
    fn start_log(
        self: &Arc<Self>,
        log: sealog_storage::Log,
        policy: Arc<Policy>,
        own_policy: bool,
    ) {
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            tracing::error!(
                log = log.name(),
                "cannot create {}: {e}; not witnessed",
                self.dir.display()
            );
            return;
        }
        let persisted = self.load(log.name());
        let witnesses = policy
            .witnesses()
            .iter()
            .map(|w| WitnessStatus {
                cosigned_size: persisted.cosigned.get(&w.name).copied(),
                backoff: BACKOFF.0,
                ..WitnessStatus::default()
            })
            .collect();
        if let Some(fork) = &persisted.fork {
            tracing::error!(log = log.name(), "log is marked forked: {fork}");
        }
        let lw = Arc::new(LogWitnessing {
            state: Mutex::new(LogState {
                policy,
                own_policy,
                witnesses,
                current: None,
                fork: persisted.fork,
                missed_since: None,
            }),
            witnessed: watch::channel(None).0,
            changed: tokio::sync::Notify::new(),
            stopped: AtomicBool::new(false),
        });
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.insert(log.name().to_owned(), lw.clone());
        tokio::spawn(round::run(self.clone(), log, lw));
    }

    fn path(&self, log: &str) -> PathBuf {
        self.dir.join(format!("{log}.json"))
    }

    fn load(&self, log: &str) -> Persisted {
        match std::fs::read(self.path(log)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(log, "unreadable witnessing state, starting from none: {e}");
                Persisted::default()
            }),
            Err(_) => Persisted::default(),
        }
    }

    fn save(&self, log: &str, state: &LogState) {
        let persisted = Persisted {
            cosigned: state
                .policy
                .witnesses()
                .iter()
                .zip(&state.witnesses)
                .filter_map(|(w, s)| Some((w.name.clone(), s.cosigned_size?)))
                .collect(),
            fork: state.fork.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&persisted).unwrap_or_default();
        if let Err(e) = sealog_storage::durable::write_file(&self.path(log), &bytes, 0o600) {
            tracing::error!(log, "cannot save the witnessing state: {e}");
        }
    }

    /// Unless `log` is witnessed, the 400 for a `?wait=witnessed` on it (asked before the
    /// events are stored).
    pub fn check_witnessed(&self, log: &str) -> crate::error::ApiResult<()> {
        if self.log(log).is_some() {
            return Ok(());
        }
        Err(crate::error::ApiError::bad_request(format!(
            "log {log:?} is not witnessed (it has no witness policy of its own and the server \
             has no --witness-policy); use wait=checkpoint"
        )))
    }

    /// The witness policy `log` is witnessed under, if any.
    pub fn policy_of(&self, log: &str) -> Option<Arc<Policy>> {
        self.log(log).map(|lw| lw.lock().policy.clone())
    }

    /// The latest witnessed checkpoint of `log` since the server started, with its
    /// cosignatures.
    pub fn witnessed(&self, log: &str) -> Option<SignedCheckpoint> {
        self.log(log).and_then(|lw| lw.witnessed.borrow().clone())
    }

    /// `cp` with the cosignatures it got attached, if it is the latest checkpoint witnesses
    /// answered for; `cp` itself otherwise (and always without a policy).
    pub fn decorate(&self, log: &str, cp: SignedCheckpoint) -> SignedCheckpoint {
        let current = self.log(log).and_then(|lw| lw.lock().current.clone());
        match current {
            Some(c) if c.size == cp.size && c.root == cp.root => c,
            _ => cp,
        }
    }

    /// Waits up to `wait` for a witnessed checkpoint covering `size` entries; the error says
    /// why none came (no policy, a fork, each witness's last error).
    pub async fn wait_witnessed(
        &self,
        log: &str,
        size: u64,
        wait: Duration,
    ) -> Result<SignedCheckpoint, String> {
        let Some(lw) = self.log(log) else {
            return Err(format!("log {log:?} is not witnessed."));
        };
        let mut rx = lw.witnessed.subscribe();
        let waited = tokio::time::timeout(
            wait,
            rx.wait_for(|w| w.as_ref().is_some_and(|cp| cp.size >= size)),
        )
        .await;
        match waited {
            Ok(Ok(cp)) => Ok(cp.clone().expect("the predicate saw a checkpoint")),
            _ => Err(self.why_not_witnessed(log, &lw, wait)),
        }
    }

    /// Records the answers of one round for checkpoint `cp`, asked under `policy`, and
    /// recomputes what is witnessed; answers under a policy replaced meanwhile are dropped.
    fn apply(
        &self,
        log: &str,
        lw: &LogWitnessing,
        policy: &Arc<Policy>,
        cp: &SignedCheckpoint,
        answers: Vec<round::Outcome>,
    ) {
        let mut state = lw.lock();
        if !Arc::ptr_eq(&state.policy, policy) {
            return;
        }
        for outcome in answers {
            round::record(log, policy, &mut state, cp, outcome);
        }
        self.settle(log, lw, &mut state, cp);
    }

    /// Attaches the cosignatures `cp` has to it and, if they meet the quorum of the log's
    /// policy, makes it the witnessed checkpoint; saves what is learned.
    fn settle(&self, log: &str, lw: &LogWitnessing, state: &mut LogState, cp: &SignedCheckpoint) {
        let policy = state.policy.clone();
        let (names, sigs): (Vec<&str>, Vec<NoteSignature>) = policy
            .witnesses()
            .iter()
            .zip(&state.witnesses)
            .filter_map(|(w, s)| match &s.cosignature {
                Some((size, sig)) if *size == cp.size => Some((w.name.as_str(), sig.clone())),
                _ => None,
            })
            .unzip();
        let met = policy.check_quorum(&names).is_ok();
        if !sigs.is_empty()
            && let Ok(note) = add_cosignatures(&cp.note, &sigs)
        {
            state.current = Some(SignedCheckpoint { note, ..cp.clone() });
        }
        let witnessed_size = lw.witnessed.borrow().as_ref().map(|w| w.size);
        if met && state.fork.is_none() {
            if witnessed_size < Some(cp.size) {
                lw.witnessed.send_replace(state.current.clone());
            }
            state.missed_since = None;
        } else if witnessed_size != Some(cp.size) {
            state.missed_since.get_or_insert_with(Instant::now);
        }
        self.save(log, state);
    }
}

/// The witnessed checkpoint covering `size` entries of `log`, waiting up to the checkpoint
/// wait; a 503 `witness_timeout` saying why none came (each witness's last error).
pub async fn covering_witnessed(
    state: &crate::state::AppState,
    log: &sealog_storage::Log,
    size: u64,
) -> crate::error::ApiResult<SignedCheckpoint> {
    state.witnessing.check_witnessed(log.name())?;
    let wait = state.options.checkpoint_wait;
    state
        .witnessing
        .wait_witnessed(log.name(), size, wait)
        .await
        .map_err(|why| {
            let message = format!(
                "the events are stored durably, but {why} Fetch their receipts later, or retry \
                 with wait=checkpoint for receipts without the witnesses' cosignatures"
            );
            crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "witness_timeout",
                message,
            )
            .retry_after(log.checkpoint_interval())
        })
}
