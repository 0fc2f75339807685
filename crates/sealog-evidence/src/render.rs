//! The human part of a pack: `report.md` and `report.html`, built from one document model so
//! the two always say the same thing. Every value from the log is escaped for its format.

use crate::archive::Files;
use sealog_core::evidence::{ENTRIES, PROOFS, ProofLine, Report};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Sessions shown as a timeline; the rest are summarised in the sessions table.
const MAX_TIMELINES: usize = 50;
/// Events shown per timeline and per list.
const MAX_ROWS: usize = 200;

enum Block {
    Heading(String),
    Para(String),
    Code(String),
    Table(Vec<&'static str>, Vec<Vec<String>>),
}

/// What the report needs of each entry.
struct Entry {
    index: u64,
    event: Value,
}

impl Entry {
    fn text(&self, pointer: &str) -> String {
        match self.event.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

fn entries(files: &Files) -> Vec<Entry> {
    let (Some(leaves), Some(proofs)) = (files.get(ENTRIES), files.get(PROOFS)) else {
        return Vec::new();
    };
    let lines = sealog_core::evidence::lines;
    lines(leaves)
        .into_iter()
        .zip(lines(proofs))
        .filter_map(|(leaf, proof)| {
            let proof: ProofLine = serde_json::from_slice(proof).ok()?;
            let leaf: Value = serde_json::from_slice(leaf).ok()?;
            Some(Entry {
                index: proof.index,
                event: leaf.get("event")?.clone(),
            })
        })
        .collect()
}

fn count_table(title: &'static str, counts: &BTreeMap<String, u64>) -> Block {
    let rows = counts
        .iter()
        .map(|(k, n)| vec![k.clone(), n.to_string()])
        .collect();
    Block::Table(vec![title, "events"], rows)
}

/// Builds the document: what is proven, counts, sessions, oversight, flags, the compliance
/// mapping and how to verify.
fn document(report: &Report, files: &Files, vkey: &str) -> Vec<Block> {
    let entries = entries(files);
    let mut doc = vec![Block::Heading(format!("Evidence pack — {}", report.origin))];
    let scope = if report.filters.is_empty() {
        "the whole log".to_owned()
    } else {
        let f: Vec<String> = report
            .filters
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        format!(
            "the events matching {} (no other event is disclosed)",
            f.join(", ")
        )
    };
    doc.push(Block::Para(format!(
        "This pack holds {} events: {scope}. Each is proven, by an inclusion proof, to be in the log \
         {} as of its signed checkpoint of {} entries (root {}), exported {}.",
        report.entries, report.origin, report.checkpoint_size, report.checkpoint_root, report.exported_at
    )));
    let (first, last) = span(&entries);
    doc.push(Block::Para(format!("Recorded between {first} and {last}.")));
    doc.push(Block::Heading("What the verification proves".into()));
    doc.push(Block::Para(
        "If `sealog verify` accepts this pack with the log's public key obtained independently \
         of the pack, then every event here was recorded in the log exactly as shown, the log's \
         operator cannot have changed or removed it later without the checkpoint's signature \
         breaking, and every earlier checkpoint listed is consistent with this one (the log only \
         grew). It does not prove that the recorded facts are true, nor that an agent recorded \
         everything it did: session gaps below show where events are missing."
            .into(),
    ));
    doc.push(Block::Heading("How to verify".into()));
    doc.push(Block::Code(format!(
        "sealog verify pack.zip --log-key '{vkey}'\n# add --witness <vkey> for each witness you require"
    )));
    doc.push(Block::Heading("Counts".into()));
    doc.push(count_table("agent", &report.by_agent));
    doc.push(count_table("action", &report.by_action));
    doc.push(count_table("status", &report.by_status));
    doc.push(Block::Heading("Sessions".into()));
    doc.push(Block::Table(
        vec!["session", "events", "complete", "first", "last", "problems"],
        report
            .sessions
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    s.events.to_string(),
                    if s.complete { "yes" } else { "NO" }.into(),
                    s.first_ts.clone(),
                    s.last_ts.clone(),
                    s.problems.join("; "),
                ]
            })
            .collect(),
    ));
    for s in report.sessions.iter().take(MAX_TIMELINES) {
        let mut rows: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.text("/session/id") == s.id)
            .collect();
        rows.sort_by_key(|e| {
            (
                e.event.pointer("/session/seq").and_then(Value::as_u64),
                e.index,
            )
        });
        doc.push(Block::Para(format!("Timeline of session {}", s.id)));
        doc.push(event_table(&rows, true));
    }
    let oversight: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.text("/action") == "human_oversight")
        .collect();
    doc.push(Block::Heading(format!(
        "Human oversight ({})",
        oversight.len()
    )));
    doc.push(Block::Table(
        vec![
            "index", "ts", "reviewer", "role", "decision", "target", "reason",
        ],
        oversight
            .iter()
            .take(MAX_ROWS)
            .map(|e| {
                let o = |f: &str| e.text(&format!("/context/oversight/{f}"));
                vec![
                    e.index.to_string(),
                    e.text("/ts"),
                    o("reviewer"),
                    o("role"),
                    o("decision"),
                    o("target"),
                    o("reason"),
                ]
            })
            .collect(),
    ));
    let flagged: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            e.text("/action") == "policy_flag"
                || matches!(e.text("/status").as_str(), "error" | "blocked")
        })
        .collect();
    doc.push(Block::Heading(format!(
        "Policy flags, blocks and errors ({})",
        flagged.len()
    )));
    doc.push(event_table(&flagged, false));
    doc.push(Block::Heading(
        "Mapping to record-keeping requirements".into(),
    ));
    doc.push(Block::Para(
        "This table points to the evidence present in the pack for each requirement. It is \
         evidence for an assessment, not a claim that any system complies."
            .into(),
    ));
    doc.push(compliance(
        report,
        &entries,
        oversight.len(),
        flagged.len(),
        &first,
        &last,
    ));
    doc
}

fn event_table(rows: &[&Entry], with_seq: bool) -> Block {
    let mut head = vec!["index", "ts", "agent", "action", "status"];
    if with_seq {
        head.insert(1, "seq");
    }
    let rows = rows
        .iter()
        .take(MAX_ROWS)
        .map(|e| {
            let mut r = vec![
                e.index.to_string(),
                e.text("/ts"),
                e.text("/agent/id"),
                e.text("/action"),
                e.text("/status"),
            ];
            if with_seq {
                r.insert(1, e.text("/session/seq"));
            }
            r
        })
        .collect();
    Block::Table(head, rows)
}

fn span(entries: &[Entry]) -> (String, String) {
    let ts = entries
        .iter()
        .map(|e| e.text("/ts"))
        .filter(|t| !t.is_empty());
    let first = ts.clone().min().unwrap_or_else(|| "—".into());
    let last = ts.max().unwrap_or_else(|| "—".into());
    (first, last)
}

fn compliance(
    report: &Report,
    entries: &[Entry],
    oversight: usize,
    flagged: usize,
    first: &str,
    last: &str,
) -> Block {
    let count = |action: &str| report.by_action.get(action).copied().unwrap_or(0);
    let with_data = entries
        .iter()
        .filter(|e| e.event.pointer("/context/data").is_some())
        .count();
    let rows = [
        (
            "EU AI Act Art. 12(1)",
            "automatic recording of events over the system's lifetime",
            format!(
                "{} events recorded automatically, {first} to {last}, in a tamper-evident log",
                report.entries
            ),
        ),
        (
            "EU AI Act Art. 12(2)(a)",
            "situations that may present a risk or lead to a substantial modification",
            format!(
                "{flagged} policy flags, blocked actions and errors; {} configuration changes",
                count("config_change")
            ),
        ),
        (
            "EU AI Act Art. 12(2)(b), Art. 72",
            "post-market monitoring",
            format!(
                "{} model calls, {} tool calls, {} decisions, by agent and over time",
                count("llm_call"),
                count("tool_call"),
                count("decision")
            ),
        ),
        (
            "EU AI Act Art. 12(2)(c), Art. 26(5)",
            "monitoring of the operation by the deployer",
            format!(
                "{} sessions, of which {} complete",
                report.sessions.len(),
                report.sessions.iter().filter(|s| s.complete).count()
            ),
        ),
        (
            "EU AI Act Art. 12(3)",
            "remote biometric identification: period of use, reference database, matched input, verifying persons",
            format!(
                "period {first} to {last}; {with_data} events name their data sources; {oversight} human verifications (applies only to such systems)"
            ),
        ),
        (
            "EU AI Act Art. 14",
            "human oversight, override and stop",
            format!("{oversight} human oversight events"),
        ),
        (
            "EU AI Act Art. 19, Art. 26(6)",
            "logs kept at least six months",
            format!(
                "this pack spans {first} to {last}; retention is a property of the log's operation, not of the pack"
            ),
        ),
        (
            "ISO/IEC 42001 A.6.2.8",
            "AI system recording of event logs",
            format!(
                "{} events with agent, action, status and time",
                report.entries
            ),
        ),
        (
            "NIST AI RMF MEASURE 2.4",
            "functionality and behaviour monitored in production",
            format!(
                "{} actions across {} agents",
                report.by_action.len(),
                report.by_agent.len()
            ),
        ),
        (
            "NIST AI RMF MANAGE 4.1",
            "post-deployment monitoring plans implemented",
            format!("{flagged} flagged events and {oversight} oversight events recorded"),
        ),
    ];
    Block::Table(
        vec!["requirement", "asks for", "evidence in this pack"],
        rows.into_iter()
            .map(|(a, b, c)| vec![a.to_owned(), b.to_owned(), c])
            .collect(),
    )
}

/// `report.md`.
pub fn markdown(report: &Report, files: &Files, vkey: &str) -> String {
    let mut out = String::new();
    for block in document(report, files, vkey) {
        match block {
            Block::Heading(h) => {
                let level = if out.is_empty() { "#" } else { "##" };
                let _ = writeln!(out, "{level} {}\n", md(&h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "{}\n", md(&p));
            }
            Block::Code(c) => {
                let _ = writeln!(out, "```sh\n{}\n```\n", c.replace("```", "` ` `"));
            }
            Block::Table(head, rows) if rows.is_empty() => {
                let _ = writeln!(out, "_No {}._\n", head[0]);
            }
            Block::Table(head, rows) => {
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// `report.html`: a self-contained page with no script.
pub fn html(report: &Report, files: &Files, vkey: &str) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Sealog evidence pack</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}\
         table{border-collapse:collapse;margin:0 0 1.5em}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}\
         pre{background:#eee;padding:1em;overflow:auto}</style></head><body>\n",
    );
    let mut first = true;
    for block in document(report, files, vkey) {
        match block {
            Block::Heading(h) => {
                let tag = if first { "h1" } else { "h2" };
                let _ = writeln!(out, "<{tag}>{}</{tag}>", esc(&h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "<p>{}</p>", esc(&p));
            }
            Block::Code(c) => {
                let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(&c));
            }
            Block::Table(head, rows) if rows.is_empty() => {
                let _ = writeln!(out, "<p><em>No {}.</em></p>", esc(head[0]));
            }
            Block::Table(head, rows) => {
                out.push_str("<table><tr>");
                for h in head {
                    let _ = write!(out, "<th>{}</th>", esc(h));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", esc(&c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
        first = false;
    }
    out.push_str("</body></html>\n");
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for Markdown: punctuation that would format, HTML that a renderer would
/// interpret, and line breaks that would end a table row.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
