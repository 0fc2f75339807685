//! A log's own witness policy, set through the API (`PUT /v1/logs/{log}/witness-policy`): it
//! takes precedence over the server-wide `--witness-policy`, is kept in
//! `DIR/witnessing/<log>.policy` (written with the durable-write helper before it is used),
//! and is picked up by the log's witnessing task at once, without a restart.

use super::{BACKOFF, LogWitnessing, WitnessStatus, Witnessing};
use sealog_core::note::Verifier;
use sealog_core::policy::Policy;
use sealog_storage::Log;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

/// Parses a witness policy for a witnessed log strictly: a valid tlog-policy in which every
/// witness has an `http://` or `https://` URL to send checkpoints to and every `log` line, if
/// any, names `log`'s own key. Every error names its line.
pub fn parse_policy(text: &[u8], log: Option<&Verifier>) -> Result<Policy, String> {
    let policy = Policy::parse(text).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(text);
    for (i, line) in text.split('\n').enumerate() {
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        let at = |message: String| format!("policy line {}: {message}", i + 1);
        match fields.as_slice() {
            ["witness", name, _] => {
                return Err(at(format!(
                    "witness {name:?} has no URL to send checkpoints to"
                )));
            }
            ["witness", name, _, url]
                if !(url.starts_with("http://") || url.starts_with("https://")) =>
            {
                return Err(at(format!(
                    "witness {name:?} has the URL {url:?}, which is not http:// or https://"
                )));
            }
            ["log", vkey, ..] => {
                let same = Verifier::from_vkey(vkey)
                    .is_ok_and(|v| log.is_none_or(|l| v.public_key() == l.public_key()));
                if !same {
                    return Err(at(format!(
                        "the log key {vkey:?} is not this log's key; name only the log's own \
                         key, or no log line"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(policy)
}

impl Witnessing {
    fn policy_path(&self, log: &str) -> PathBuf {
        self.dir.join(format!("{log}.policy"))
    }

    /// The log's own policy, if one was set; one that no longer parses is logged and ignored
    /// (the server-wide one applies).
    pub(super) fn load_policy(&self, log: &str) -> Option<Arc<Policy>> {
        let text = std::fs::read(self.policy_path(log)).ok()?;
        match parse_policy(&text, None) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::error!(log, "ignoring the log's witness policy: {e}");
                None
            }
        }
    }

    /// The log's own policy text, if one was set.
    pub fn own_policy_text(&self, log: &str) -> Option<String> {
        std::fs::read_to_string(self.policy_path(log)).ok()
    }

    /// Sets (`Some`: the text and its parsed policy) or removes (`None`) `log`'s own policy:
    /// stored durably first, then applied to the log's witnessing at once.
    pub fn set_policy(
        self: &Arc<Self>,
        log: &Log,
        own: Option<(&[u8], Policy)>,
    ) -> std::io::Result<()> {
        let path = self.policy_path(log.name());
        std::fs::create_dir_all(&self.dir)?;
        let own = match own {
            Some((text, policy)) => {
                sealog_storage::durable::write_file(&path, text, 0o600)?;
                Some(Arc::new(policy))
            }
            None => {
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    return Err(e);
                }
                sealog_storage::durable::sync_dir(&self.dir)?;
                None
            }
        };
        let own_policy = own.is_some();
        let effective = own.or_else(|| self.policy.clone());
        match (self.log(log.name()), effective) {
            (Some(lw), Some(policy)) => self.replace_policy(log, &lw, policy, own_policy),
            (None, Some(policy)) => self.start_log(log.clone(), policy, own_policy),
            (Some(lw), None) => {
                let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
                logs.remove(log.name());
                lw.stopped.store(true, Ordering::Relaxed);
                lw.changed.notify_one();
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Puts `log` under `policy`: a witness that stays (same name and key) keeps what it
    /// cosigned; the others start afresh. The task is woken to call the new witnesses.
    fn replace_policy(&self, log: &Log, lw: &LogWitnessing, policy: Arc<Policy>, own: bool) {
        let mut state = lw.lock();
        let old_policy = state.policy.clone();
        let mut old: Vec<Option<WitnessStatus>> = std::mem::take(&mut state.witnesses)
            .into_iter()
            .map(Some)
            .collect();
        state.witnesses = policy
            .witnesses()
            .iter()
            .map(|w| {
                let kept = old_policy
                    .witnesses()
                    .iter()
                    .position(|o| o.name == w.name && o.verifier == w.verifier)
                    .and_then(|i| old[i].take());
                kept.unwrap_or(WitnessStatus {
                    backoff: BACKOFF.0,
                    ..WitnessStatus::default()
                })
            })
            .collect();
        (state.policy, state.own_policy) = (policy, own);
        let cp = log.checkpoint();
        self.settle(log.name(), lw, &mut state, &cp);
        drop(state);
        lw.changed.notify_one();
    }
}
