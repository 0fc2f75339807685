//! Per-session completeness: every `seq` from 0 present, and the count a `session_end`
//! declares matching what the pack holds.

use super::chunk::EntrySummary;
use super::report::SessionReport;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
struct Session {
    seqs: Vec<u64>,
    declared: Option<u64>,
    started: bool,
    first_ts: String,
    last_ts: String,
}

/// Sessions seen so far, by id.
#[derive(Debug, Default)]
pub(super) struct Sessions(BTreeMap<String, Session>);

impl Sessions {
    pub(super) fn add(&mut self, e: &EntrySummary) {
        let Some((id, seq, count)) = &e.session else {
            return;
        };
        let s = self.0.entry(id.clone()).or_default();
        s.seqs.push(*seq);
        if e.action == "session_start" {
            s.started = true;
        }
        if e.action == "session_end" {
            s.declared = *count;
        }
        if s.first_ts.is_empty() || e.ts < s.first_ts {
            s.first_ts.clone_from(&e.ts);
        }
        if e.ts > s.last_ts {
            s.last_ts.clone_from(&e.ts);
        }
    }

    pub(super) fn report(self) -> Vec<SessionReport> {
        self.0
            .into_iter()
            .map(|(id, mut s)| {
                s.seqs.sort_unstable();
                let mut gaps = Vec::new();
                let mut repeated = Vec::new();
                let mut expected = 0u64;
                for &seq in &s.seqs {
                    if seq > expected {
                        gaps.push((expected, seq - 1));
                    } else if seq < expected {
                        repeated.push(seq);
                    }
                    expected = expected.max(seq + 1);
                }
                let mut problems = Vec::new();
                if !gaps.is_empty() {
                    let list: Vec<String> = gaps
                        .iter()
                        .map(|&(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}–{b}")
                            }
                        })
                        .collect();
                    problems.push(format!("missing seq {}", list.join(", ")));
                }
                if !repeated.is_empty() {
                    problems.push(format!("seq recorded more than once: {repeated:?}"));
                }
                match s.declared {
                    Some(n) if n != s.seqs.len() as u64 => problems.push(format!(
                        "session_end declares {n} events; the pack holds {}",
                        s.seqs.len()
                    )),
                    Some(_) => {}
                    None => problems.push("no session_end in the pack".into()),
                }
                if !s.started {
                    problems.push("no session_start in the pack".into());
                }
                SessionReport {
                    id,
                    events: s.seqs.len() as u64,
                    complete: problems.is_empty(),
                    declared_count: s.declared,
                    first_ts: s.first_ts,
                    last_ts: s.last_ts,
                    problems,
                }
            })
            .collect()
    }
}
