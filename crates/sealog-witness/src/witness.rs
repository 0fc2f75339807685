//! The add-checkpoint decision (tlog-witness §add-checkpoint, the revision that answers 422
//! for another root at the cosigned size), independent of HTTP.

use crate::config::WitnessedLog;
use crate::metrics::Metrics;
use crate::request;
use crate::store::{Latest, Store};
use sealog_auth::TokenBucket;
use sealog_core::checkpoint::Checkpoint;
use sealog_core::cosignature::cosign;
use sealog_core::merkle::{EMPTY_ROOT, verify_consistency};
use sealog_core::note::{Note, NoteError, NoteSignature, Signer};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Why a request was not cosigned: the HTTP status the spec names and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 403, 404, 409, 422, 429 or 500.
    pub status: u16,
    /// What was wrong, for the client's operator.
    pub message: String,
    /// For 409: the size the witness last cosigned (the body, as `text/x.tlog.size`).
    pub cosigned_size: Option<u64>,
    /// For 429: when to try again.
    pub retry_after: Option<Duration>,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
        cosigned_size: None,
        retry_after: None,
    }
}

/// Default add-checkpoint rate a log gets when its list entry sets no `qpd`.
pub const DEFAULT_RATE_PER_SECOND: f64 = 10.0;

/// A log the witness cosigns for, with its request budget.
struct Log {
    config: WitnessedLog,
    rate: f64,
    burst: f64,
    bucket: Mutex<TokenBucket>,
}

/// A witness: its key, its logs, its store.
pub struct Witness {
    signer: Signer,
    logs: HashMap<String, Log>,
    store: Store,
    /// Request counts and cosigned sizes, for `/metrics`.
    pub metrics: Metrics,
}

impl Witness {
    /// A witness cosigning as `signer` for `logs`, remembering in `store`. A log without a
    /// `qpd` may make `default_rate` requests a second.
    pub fn new(signer: Signer, logs: Vec<WitnessedLog>, store: Store, default_rate: f64) -> Self {
        let logs = logs
            .into_iter()
            .map(|config| {
                let rate = config.qpd.map_or(default_rate, |q| q as f64 / 86_400.0);
                let burst = (rate * 60.0).clamp(1.0, 100.0);
                let log = Log {
                    rate,
                    burst,
                    bucket: Mutex::new(TokenBucket::full(burst)),
                    config,
                };
                (log.config.origin.clone(), log)
            })
            .collect();
        Witness {
            signer,
            logs,
            store,
            metrics: Metrics::default(),
        }
    }

    /// The witness's signing key (its vkey is what logs and verifiers pin).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The durable store (the read path serves from it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The origins the witness cosigns for.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// Handles one add-checkpoint body: on success, the cosignature line to return, after the
    /// new state is durable. Blocks on the database.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, Refusal> {
        let (origin, result) = self.judge(body, now);
        self.metrics.count(origin.as_deref(), result.as_ref().err());
        if let (Some(origin), Err(r)) = (&origin, &result)
            && r.status == 422
        {
            tracing::warn!(origin, "refused an inconsistent checkpoint: {}", r.message);
            if let Err(e) = self
                .store
                .record_refusal(origin, now, r.status, &r.message, body)
            {
                tracing::error!(origin, "cannot record a refused checkpoint: {e}");
            }
        }
        result
    }

    /// Runs every check; returns the origin once the log is known and authenticated.
    fn judge(&self, body: &[u8], now: u64) -> (Option<String>, Result<String, Refusal>) {
        let parsed = request::parse(body)
            .map_err(|m| refuse(400, m))
            .and_then(|req| {
                let note = Note::parse(req.note).map_err(|e| refuse(400, e.to_string()))?;
                let cp =
                    Checkpoint::parse_body(&note.text).map_err(|e| refuse(400, e.to_string()))?;
                Ok((req, note, cp))
            });
        let (req, note, cp) = match parsed {
            Ok(p) => p,
            Err(r) => return (None, Err(r)),
        };
        let Some(log) = self.logs.get(&cp.origin) else {
            let msg = format!("this witness does not witness the log {:?}", cp.origin);
            return (None, Err(refuse(404, msg)));
        };
        let result = authenticate(log, &note).and_then(|log_sigs| {
            self.check_request(log, req.old, &req.proof, &cp)?;
            self.cosign_if_consistent(&cp, req.old, &req.proof, &note.text, log_sigs, now)
        });
        // An unauthenticated request must not be counted under a log's name.
        let known = !matches!(&result, Err(r) if r.status == 403);
        (known.then(|| cp.origin.clone()), result)
    }

    /// The checks that need no stored state: sizes, the empty tree, the rate limit.
    fn check_request(
        &self,
        log: &Log,
        old: u64,
        proof: &[sealog_core::merkle::Hash],
        cp: &Checkpoint,
    ) -> Result<(), Refusal> {
        if old > cp.size {
            let msg = format!("old size {old} is beyond the checkpoint's size {}", cp.size);
            return Err(refuse(400, msg));
        }
        let limited = log
            .bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(log.rate, log.burst);
        if let Err(wait) = limited {
            let mut r = refuse(429, format!("log {:?} is over its request rate", cp.origin));
            r.retry_after = Some(wait);
            return Err(r);
        }
        if cp.size == 0 && cp.root != EMPTY_ROOT {
            return Err(refuse(
                422,
                "a checkpoint of size 0 must have the empty tree's root",
            ));
        }
        if old == 0 && !proof.is_empty() {
            return Err(refuse(
                422,
                "the consistency proof from size 0 must be empty",
            ));
        }
        Ok(())
    }

    /// The atomic part: compare with the latest cosigned checkpoint, cosign, persist.
    fn cosign_if_consistent(
        &self,
        cp: &Checkpoint,
        old: u64,
        proof: &[sealog_core::merkle::Hash],
        text: &str,
        log_sigs: Vec<NoteSignature>,
        now: u64,
    ) -> Result<String, Refusal> {
        let next = Latest {
            size: cp.size,
            root: cp.root,
        };
        let decide = |prev: Option<&Latest>| {
            let cosigned = prev.map_or(0, |p| p.size);
            if old != cosigned {
                let mut r = refuse(
                    409,
                    format!("this witness last cosigned size {cosigned}, not {old}"),
                );
                r.cosigned_size = Some(cosigned);
                return Err(r);
            }
            if let Some(prev) = prev.filter(|_| old > 0) {
                verify_consistency(old, cp.size, proof, &prev.root, &cp.root).map_err(|e| {
                    if old == cp.size {
                        refuse(
                            422,
                            format!("size {old} was cosigned with another root hash"),
                        )
                    } else {
                        refuse(
                            422,
                            format!("the consistency proof from size {old} does not verify: {e}"),
                        )
                    }
                })?;
            }
            // tlog-witness: the timestamp must never be zero.
            let sig = cosign(cp, &self.signer, now.max(1));
            let mut signatures = log_sigs;
            signatures.push(sig.clone());
            let note = Note {
                text: text.to_owned(),
                signatures,
            };
            Ok((note.to_bytes(), sig.to_line()))
        };
        match self.store.check_and_set(&cp.origin, &next, now, decide) {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(origin = cp.origin, "witness store: {e}");
                Err(refuse(
                    500,
                    "the witness cannot write its state; nothing was cosigned",
                ))
            }
        }
    }
}

/// The log signatures from trusted keys; 403 when there is none or one fails to verify.
fn authenticate(log: &Log, note: &Note) -> Result<Vec<NoteSignature>, Refusal> {
    let mut sigs = Vec::new();
    for key in &log.config.keys {
        match note.verified_by(key) {
            Ok(sig) => sigs.push(sig.clone()),
            Err(NoteError::NoSignatureFrom { .. }) => {}
            Err(e) => return Err(refuse(403, e.to_string())),
        }
    }
    if sigs.is_empty() {
        let msg = format!(
            "the checkpoint carries no signature from a key this witness trusts for {:?}",
            log.config.origin
        );
        return Err(refuse(403, msg));
    }
    Ok(sigs)
}
