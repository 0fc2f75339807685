//! What the human report shows of a pack's entries, gathered in one streaming pass that keeps
//! only the rows the report prints, so a report of a million entries costs neither a million
//! parsed documents in memory nor a scan per session.

use sealog_core::evidence::ProofLine;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;

/// One event as a report row.
pub(crate) struct Row {
    pub index: u64,
    /// The event's id.
    pub id: String,
    pub ts: String,
    pub seq: Option<u64>,
    pub agent: String,
    pub action: String,
    pub status: String,
    /// What an auditor looks for without opening the event: its model, tool, decision
    /// outcome, reasons and error type (never a payload, which may be committed content).
    pub details: String,
    /// reviewer, role, decision, target, reason — for oversight events.
    pub oversight: [String; 5],
}

/// The rows and figures the report needs.
#[derive(Default)]
pub(crate) struct Digest {
    /// Earliest and latest event time.
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    /// For each session shown as a timeline: its first rows by `seq`.
    pub timelines: BTreeMap<String, Vec<Row>>,
    /// Human oversight events: how many, and the first rows.
    pub oversight: (usize, Vec<Row>),
    /// Policy flags, blocked actions and errors: how many, and the first rows.
    pub flagged: (usize, Vec<Row>),
    /// Events that name their data sources.
    pub with_data: usize,
    /// The server's records of retention, prunes, holds, erasures and incidents.
    pub lifecycle: crate::lifecycle::Lifecycle,
}

#[derive(Deserialize)]
struct LeafView<'a> {
    #[serde(borrow)]
    event: EventView<'a>,
}

#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    ts: Cow<'a, str>,
    #[serde(borrow, default)]
    action: Cow<'a, str>,
    #[serde(borrow, default)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    agent: Option<AgentView<'a>>,
    #[serde(borrow, default)]
    session: Option<SessionView<'a>>,
    #[serde(borrow, default)]
    context: Option<ContextView<'a>>,
    #[serde(default)]
    attributes: Option<AttributesView>,
}

/// The attributes a report row shows; any type is accepted, as attributes are free-form.
#[derive(Deserialize)]
struct AttributesView {
    #[serde(rename = "error.type", default)]
    error_type: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct AgentView<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SessionView<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct ContextView<'a> {
    #[serde(default)]
    data: Option<IgnoredAny>,
    #[serde(borrow, default)]
    oversight: Option<OversightView<'a>>,
    #[serde(borrow, default)]
    model: Option<NamedView<'a>>,
    #[serde(borrow, default)]
    tool: Option<NamedView<'a>>,
    #[serde(borrow, default)]
    decision: Option<DecisionView<'a>>,
}

/// A block named by its `id` (a model) or `name` (a tool).
#[derive(Deserialize, Default)]
#[serde(default)]
struct NamedView<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionView<'a> {
    #[serde(borrow)]
    outcome: Option<Cow<'a, str>>,
    reason_codes: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OversightView<'a> {
    #[serde(borrow)]
    reviewer: Cow<'a, str>,
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    decision: Cow<'a, str>,
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(borrow)]
    reason: Cow<'a, str>,
}

impl EventView<'_> {
    fn row(&self, index: u64) -> Row {
        let o = self.context.as_ref().and_then(|c| c.oversight.as_ref());
        let field = |pick: fn(&OversightView<'_>) -> String| o.map_or_else(String::new, pick);
        Row {
            index,
            id: self.id.clone().into_owned(),
            ts: self.ts.clone().into_owned(),
            seq: self.session.as_ref().and_then(|s| s.seq),
            agent: self
                .agent
                .as_ref()
                .map_or_else(String::new, |a| a.id.clone().into_owned()),
            action: self.action.clone().into_owned(),
            status: self.status.clone().into_owned(),
            details: self.details(),
            oversight: [
                field(|o| o.reviewer.to_string()),
                field(|o| o.role.to_string()),
                field(|o| o.decision.to_string()),
                field(|o| o.target.to_string()),
                field(|o| o.reason.to_string()),
            ],
        }
    }

    /// The row's details: `model …`, `tool …`, `outcome …`, `reason …`, `error …`, those the
    /// event has, joined with ` · `.
    fn details(&self) -> String {
        let c = self.context.as_ref();
        let decision = c.and_then(|c| c.decision.as_ref());
        let reasons = decision.map(|d| d.reason_codes.join(", "));
        let error = self.attributes.as_ref().and_then(|a| a.error_type.as_ref());
        let facts = [
            ("model", c.and_then(|c| c.model.as_ref()?.id.as_deref())),
            ("tool", c.and_then(|c| c.tool.as_ref()?.name.as_deref())),
            ("outcome", decision.and_then(|d| d.outcome.as_deref())),
            ("reason", reasons.as_deref().filter(|r| !r.is_empty())),
            ("error", error.and_then(serde_json::Value::as_str)),
        ];
        let shown: Vec<String> = facts
            .iter()
            .filter_map(|(label, value)| value.map(|v| format!("{label} {v}")))
            .collect();
        shown.join(" · ")
    }
}

/// Keeps the first `max` of `rows` by (`seq`, index), sorting only now and then.
fn keep_first(rows: &mut Vec<Row>, max: usize, done: bool) {
    if done || rows.len() >= 2 * max {
        rows.sort_by_key(|r| (r.seq, r.index));
        rows.truncate(max);
    }
}

/// Reads every entry once, with its line of proofs. `timeline_sessions` are the sessions to
/// show as a timeline; `max_rows` bounds every list.
pub(crate) fn digest(
    entries: &mut dyn BufRead,
    proofs: &mut dyn BufRead,
    timeline_sessions: &[&str],
    max_rows: usize,
) -> std::io::Result<Digest> {
    let mut d = Digest {
        timelines: timeline_sessions
            .iter()
            .map(|s| ((*s).to_owned(), Vec::new()))
            .collect(),
        ..Digest::default()
    };
    let (mut leaf_line, mut proof_line) = (Vec::new(), Vec::new());
    while next_line(entries, &mut leaf_line)? && next_line(proofs, &mut proof_line)? {
        let (Ok(proof), Ok(leaf)) = (
            serde_json::from_slice::<ProofLine>(&proof_line),
            serde_json::from_slice::<LeafView<'_>>(&leaf_line),
        ) else {
            continue;
        };
        let (e, index) = (leaf.event, proof.index);
        if !e.ts.is_empty() {
            if d.first_ts.as_deref().is_none_or(|t| *e.ts < *t) {
                d.first_ts = Some(e.ts.clone().into_owned());
            }
            if d.last_ts.as_deref().is_none_or(|t| *e.ts > *t) {
                d.last_ts = Some(e.ts.clone().into_owned());
            }
        }
        if let Some(rows) = e.session.as_ref().and_then(|s| d.timelines.get_mut(&*s.id)) {
            rows.push(e.row(index));
            keep_first(rows, max_rows, false);
        }
        if e.action == "human_oversight" {
            d.oversight.0 += 1;
            if d.oversight.1.len() < max_rows {
                d.oversight.1.push(e.row(index));
            }
        }
        if e.action == "policy_flag" || e.status == "error" || e.status == "blocked" {
            d.flagged.0 += 1;
            if d.flagged.1.len() < max_rows {
                d.flagged.1.push(e.row(index));
            }
        }
        if e.context.as_ref().is_some_and(|c| c.data.is_some()) {
            d.with_data += 1;
        }
        let by_server = e.agent.as_ref().is_some_and(|a| a.id == "sealog");
        if by_server
            && crate::lifecycle::ACTIONS.contains(&&*e.action)
            && let Ok(leaf) = serde_json::from_slice::<serde_json::Value>(&leaf_line)
        {
            d.lifecycle.add(index, &leaf["event"]);
        }
    }
    for rows in d.timelines.values_mut() {
        keep_first(rows, max_rows, true);
    }
    Ok(d)
}

/// Reads the next line into `line`, without its newline; false at the end.
pub(crate) fn next_line(from: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    if from.read_until(b'\n', line)? == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(true)
}
