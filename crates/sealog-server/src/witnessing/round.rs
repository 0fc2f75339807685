//! One log's witnessing loop: for the latest checkpoint, call every witness that has not
//! cosigned it and is not backing off, all at once; record what they answered; wait for the
//! next checkpoint or the next retry.

use super::client::{self, Answer};
use super::{BACKOFF, LogState, LogWitnessing, Witnessing};
use sealog_core::checkpoint::Checkpoint;
use sealog_core::note::Note;
use sealog_core::policy::Policy;
use sealog_storage::{Log, SignedCheckpoint};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

/// One witness's answer in a round.
pub(super) struct Outcome {
    witness: usize,
    answer: Answer,
    /// A size learned from a 409 on the way (then retried from it).
    learned: Option<u64>,
    latency: Duration,
}

/// Runs until the log stops signing checkpoints or no longer has a witness policy; each
/// round under the policy the log has when it starts.
pub(super) async fn run(witnessing: Arc<Witnessing>, log: Log, lw: Arc<LogWitnessing>) {
    let agent = client::agent(super::CALL_TIMEOUT);
    loop {
        if lw.stopped.load(Ordering::Relaxed) {
            return;
        }
        let cp = log.checkpoint();
        let now = Instant::now();
        let (due, next_retry, policy) = {
            let state = lw.lock();
            let pending = |s: &&super::WitnessStatus| !matches!(&s.cosignature, Some((size, _)) if *size == cp.size);
            let due: Vec<(usize, u64)> = state
                .witnesses
                .iter()
                .enumerate()
                .filter(|(_, s)| pending(s) && s.retry_at.is_none_or(|t| t <= now))
                .map(|(i, s)| (i, s.cosigned_size.unwrap_or(0)))
                .collect();
            let next = state
                .witnesses
                .iter()
                .filter(pending)
                .filter_map(|s| s.retry_at)
                .min();
            (due, next, state.policy.clone())
        };
        if due.is_empty() {
            let sleep = next_retry.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(now)
            });
            tokio::select! {
                next = log.wait_checkpoint(cp.size + 1) => if next.is_err() { return },
                () = tokio::time::sleep(sleep) => {}
                () = lw.changed.notified() => {}
            }
            continue;
        }
        let calls = due.into_iter().map(|(i, old)| {
            let (agent, log, policy, cp) = (agent.clone(), log.clone(), policy.clone(), cp.clone());
            tokio::task::spawn_blocking(move || call(&agent, &log, &policy, i, old, &cp))
        });
        let outcomes = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        witnessing.apply(log.name(), &lw, &policy, &cp, outcomes);
    }
}

/// Calls witness `i` for `cp` from `old`; on a 409 naming another size not beyond `cp`,
/// calls once more from that size.
fn call(
    agent: &ureq::Agent,
    log: &Log,
    policy: &Policy,
    i: usize,
    old: u64,
    cp: &SignedCheckpoint,
) -> Outcome {
    let started = Instant::now();
    let witness = &policy.witnesses()[i];
    let outcome = |answer, learned| Outcome {
        witness: i,
        answer,
        learned,
        latency: started.elapsed(),
    };
    let parsed = Note::parse(&cp.note)
        .map_err(|e| e.to_string())
        .and_then(|n| Checkpoint::parse_body(&n.text).map_err(|e| e.to_string()));
    let checkpoint = match parsed {
        Ok(c) => c,
        Err(e) => {
            return outcome(
                Answer::Failed(format!("the log's own checkpoint: {e}")),
                None,
            );
        }
    };
    let (mut old, mut learned) = (old, None);
    loop {
        if old > cp.size {
            return outcome(Answer::Conflict(old), learned);
        }
        let proof = if old == 0 || old == cp.size {
            Vec::new()
        } else {
            match log.consistency_proof(old, cp.size) {
                Ok(p) => p,
                Err(e) => {
                    return outcome(Answer::Failed(format!("consistency proof: {e}")), learned);
                }
            }
        };
        let body = client::body(old, &proof, &cp.note);
        match client::add_checkpoint(agent, witness, &checkpoint, &cp.note, body) {
            Answer::Conflict(n) if learned.is_none() && n != old && n <= cp.size => {
                (old, learned) = (n, Some(n));
            }
            answer => return outcome(answer, learned),
        }
    }
}

/// Records one outcome in the log's state: cosignatures, learned sizes, errors and backoff,
/// and forks (loudly).
pub(super) fn record(
    log: &str,
    policy: &Policy,
    state: &mut LogState,
    cp: &SignedCheckpoint,
    o: Outcome,
) {
    let name = &policy.witnesses()[o.witness].name;
    let s = &mut state.witnesses[o.witness];
    s.latency = Some(o.latency);
    if let Some(n) = o.learned {
        s.cosigned_size = Some(n);
    }
    let fork = match o.answer {
        Answer::Cosigned(sig) => {
            s.answers[0] += 1;
            s.cosigned_size = Some(cp.size);
            s.cosignature = Some((cp.size, sig));
            s.last_cosigned = Some(SystemTime::now());
            (s.last_error, s.retry_at, s.backoff) = (None, None, BACKOFF.0);
            return;
        }
        Answer::Conflict(n) if n > cp.size => {
            s.answers[1] += 1;
            s.cosigned_size = Some(n);
            Some(format!(
                "witness {name} has cosigned a tree of size {n}, larger than this log's checkpoint \
                 of size {}: the log lost or rewrote entries the witness saw (a data directory \
                 restored from an older copy, or another server signing with this log's key)",
                cp.size
            ))
        }
        Answer::Inconsistent(why) => {
            s.answers[2] += 1;
            Some(format!(
                "witness {name} refused checkpoint {} as inconsistent with the tree of size {} it \
                 cosigned ({why}): the log's history differs from what the witness saw",
                cp.size,
                s.cosigned_size.unwrap_or(0)
            ))
        }
        Answer::Conflict(n) => {
            s.answers[1] += 1;
            s.last_error = Some(format!("409 again, from size {n}"));
            None
        }
        Answer::Failed(e) => {
            s.answers[3] += 1;
            s.last_error = Some(e);
            None
        }
    };
    s.retry_at = Some(Instant::now() + s.backoff);
    s.backoff = (s.backoff * 2).min(BACKOFF.1);
    if let Some(fork) = fork {
        s.last_error = Some(fork.clone());
        if state.fork.is_none() {
            tracing::error!(log, "FORK DETECTED: {fork}");
            state.fork = Some(fork);
        }
    }
}
