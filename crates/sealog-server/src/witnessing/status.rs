//! What the witnessing shows: per log and witness in `GET /v1/logs/{log}`, in `/metrics`, in
//! `/readyz`, and in the error of a `?wait=witnessed` that timed out.

use super::{LogWitnessing, Witnessing};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// Answer kinds, in the order of `WitnessStatus::answers`.
const ANSWERS: [&str; 4] = ["cosigned", "conflict", "inconsistent", "failed"];

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Witnessing {
    /// The `witnessing` object of a log's summary: the quorum, the witnessed checkpoint's
    /// size, a fork if one was reported, and each witness's last cosigned size, age, latency
    /// and last error. `null` when the server has no policy.
    pub fn status(&self, log: &str) -> Value {
        let Some(lw) = self.log(log) else {
            return Value::Null;
        };
        let witnessed = lw.witnessed.borrow().as_ref().map(|cp| cp.size);
        let state = lw.lock();
        let policy = &state.policy;
        let witnesses: Vec<Value> = policy
            .witnesses()
            .iter()
            .zip(&state.witnesses)
            .map(|(w, s)| {
                let age = s
                    .last_cosigned
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .map(|d| d.as_secs());
                json!({
                    "name": w.name,
                    "url": w.url,
                    "cosigned_size": s.cosigned_size,
                    "last_cosigned_age_seconds": age,
                    "latency_ms": s.latency.map(|d| d.as_millis() as u64),
                    "last_error": s.last_error,
                })
            })
            .collect();
        json!({
            "quorum": policy.quorum().map(|q| policy.name_of(q).to_owned()),
            "requirement": sealog_evidence::assurance::quorum_words(policy),
            "policy_source": if state.own_policy { "log" } else { "server" },
            "witnessed_size": witnessed,
            "quorum_missed_seconds": state.missed_since.map(|t| t.elapsed().as_secs()),
            "fork": state.fork,
            "witnesses": witnesses,
        })
    }

    /// Why no checkpoint of `log` was witnessed within `wait`.
    pub(super) fn why_not_witnessed(
        &self,
        log: &str,
        lw: &LogWitnessing,
        wait: Duration,
    ) -> String {
        let state = lw.lock();
        if let Some(fork) = &state.fork {
            return format!("log {log} is reported forked, so nothing is witnessed: {fork}.");
        }
        let policy = &state.policy;
        let mut why = format!(
            "no checkpoint covering the events met the witness quorum within {} s; witnesses:",
            wait.as_secs()
        );
        for (w, s) in policy.witnesses().iter().zip(&state.witnesses) {
            let last = s.last_error.as_deref().unwrap_or("no error");
            let _ = write!(
                why,
                " {} (cosigned size {:?}; last error: {last});",
                w.name, s.cosigned_size
            );
        }
        why.pop();
        why.push('.');
        why
    }

    /// `Err` naming every log that is reported forked or whose quorum has been missed for
    /// longer than the alarm.
    pub fn ready(&self) -> Result<(), String> {
        let logs = self
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut problems = Vec::new();
        for (name, lw) in logs.iter() {
            let state = lw.lock();
            if state.fork.is_some() {
                problems.push(format!("log {name} is reported forked by a witness"));
            } else if let Some(t) = state.missed_since.filter(|t| t.elapsed() > self.alarm) {
                let secs = t.elapsed().as_secs();
                problems.push(format!(
                    "log {name} has missed its witness quorum for {secs} s"
                ));
            }
        }
        problems.sort();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Prometheus text for every log and witness.
    pub fn render(&self) -> String {
        let logs = self
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if logs.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "# HELP sealog_witness_answers_total add-checkpoint answers by log, witness and kind.\n\
             # TYPE sealog_witness_answers_total counter\n\
             # HELP sealog_witness_cosigned_size The size each witness last cosigned.\n\
             # TYPE sealog_witness_cosigned_size gauge\n\
             # HELP sealog_witness_latency_seconds The last add-checkpoint call's duration.\n\
             # TYPE sealog_witness_latency_seconds gauge\n\
             # HELP sealog_witnessed_size The size of the latest checkpoint that met the quorum.\n\
             # TYPE sealog_witnessed_size gauge\n\
             # HELP sealog_log_forked 1 if a witness reported the log inconsistent with what it saw.\n\
             # TYPE sealog_log_forked gauge\n",
        );
        let mut names: Vec<&String> = logs.keys().collect();
        names.sort();
        for log in names {
            let lw = &logs[log];
            let witnessed = lw.witnessed.borrow().as_ref().map_or(0, |cp| cp.size);
            let state = lw.lock();
            for (w, s) in state.policy.witnesses().iter().zip(&state.witnesses) {
                let l = format!("log=\"{log}\",witness=\"{}\"", label(&w.name));
                for (kind, n) in ANSWERS.iter().zip(s.answers) {
                    let _ = writeln!(
                        out,
                        "sealog_witness_answers_total{{{l},kind=\"{kind}\"}} {n}"
                    );
                }
                let size = s.cosigned_size.unwrap_or(0);
                let _ = writeln!(out, "sealog_witness_cosigned_size{{{l}}} {size}");
                let secs = s.latency.map_or(0.0, |d| d.as_secs_f64());
                let _ = writeln!(out, "sealog_witness_latency_seconds{{{l}}} {secs}");
            }
            let _ = writeln!(out, "sealog_witnessed_size{{log=\"{log}\"}} {witnessed}");
            let forked = u8::from(state.fork.is_some());
            let _ = writeln!(out, "sealog_log_forked{{log=\"{log}\"}} {forked}");
        }
        out
    }
}
