//! Per-session completeness: every `seq` from 0 present, and the count a `session_end`
//! declares matching what the pack holds.

use super::report::SessionReport;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
struct Session {
    seqs: Vec<u64>,
    /// Events without a `seq` (recorded from OpenTelemetry).
    unsequenced: u64,
    /// Whether a `session_end` was seen, and what it declared.
    ended: bool,
    declared: Option<u64>,
    started: bool,
    first_ts: String,
    last_ts: String,
}

/// Sessions seen so far, by id.
#[derive(Clone, Debug, Default)]
pub(super) struct Sessions(BTreeMap<String, Session>);

/// What one entry tells about its session.
pub(super) struct SessionEntry<'a> {
    pub(super) id: &'a str,
    pub(super) seq: Option<u64>,
    pub(super) count: Option<u64>,
    pub(super) action: &'a str,
    pub(super) ts: &'a str,
}

impl Sessions {
    pub(super) fn add(&mut self, e: SessionEntry<'_>) {
        let s = match self.0.get_mut(e.id) {
            Some(s) => s,
            None => self.0.entry(e.id.to_owned()).or_default(),
        };
        match e.seq {
            Some(seq) => s.seqs.push(seq),
            None => s.unsequenced += 1,
        }
        if e.action == "session_start" {
            s.started = true;
        }
        if e.action == "session_end" {
            s.ended = true;
            s.declared = e.count;
        }
        if s.first_ts.is_empty() || e.ts < s.first_ts.as_str() {
            s.first_ts.replace_range(.., e.ts);
        }
        if e.ts > s.last_ts.as_str() {
            s.last_ts.replace_range(.., e.ts);
        }
    }

    /// Adds what a later run of entries saw.
    pub(super) fn merge(&mut self, later: Sessions) {
        for (id, l) in later.0 {
            let Some(s) = self.0.get_mut(&id) else {
                self.0.insert(id, l);
                continue;
            };
            s.seqs.extend_from_slice(&l.seqs);
            s.unsequenced += l.unsequenced;
            s.started |= l.started;
            if l.ended {
                s.ended = true;
                s.declared = l.declared;
            }
            if s.first_ts.is_empty() || (!l.first_ts.is_empty() && l.first_ts < s.first_ts) {
                s.first_ts = l.first_ts;
            }
            if l.last_ts > s.last_ts {
                s.last_ts = l.last_ts;
            }
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
                let total = s.seqs.len() as u64 + s.unsequenced;
                let mut problems = Vec::new();
                if s.unsequenced > 0 {
                    problems.push(format!(
                        "{} events carry no seq (recorded from OpenTelemetry, which numbers \
                         nothing): whether the session is complete cannot be proven",
                        s.unsequenced
                    ));
                }
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
                    Some(n) if n != total => problems.push(format!(
                        "session_end declares {n} events; the pack holds {total}"
                    )),
                    Some(_) => {}
                    None => problems.push("no session_end in the pack".into()),
                }
                if !s.started {
                    problems.push("no session_start in the pack".into());
                }
                SessionReport {
                    id,
                    events: total,
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
