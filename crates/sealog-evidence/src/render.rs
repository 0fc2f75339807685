//! The human part of a pack: `report.md` and `report.html`, built from one document model so
//! the two always say the same thing. Every value from the log is escaped for its format.

use crate::assurance::Findings;
use crate::content::ContentSummary;
use crate::digest::{Row, digest};
use sealog_core::evidence::{Report, SessionReport};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::BufRead;

/// Sessions shown as a timeline; the rest are summarised in the sessions table.
const MAX_TIMELINES: usize = 50;
/// Sessions listed in the sessions table, incomplete ones first.
const MAX_SESSION_ROWS: usize = 1000;
/// Events shown per timeline and per list.
const MAX_ROWS: usize = 200;

enum Block {
    Heading(String),
    Para(String),
    Code(String),
    Table(Vec<&'static str>, Vec<Vec<Cell>>),
}

/// A table cell: its text, the anchor it is (an event's first row), and the anchor it
/// links to (an oversight event's target), in the HTML report.
#[derive(Default)]
struct Cell {
    text: String,
    anchor: Option<String>,
    link: Option<String>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell {
            text,
            ..Cell::default()
        }
    }
}

/// The anchor of the row that shows the event `id`.
fn event_anchor(id: &str) -> String {
    format!("event-{id}")
}

/// Keeps only the first anchor of each name, and drops links to anchors the document lacks
/// (an oversight event's target that no table shows).
fn resolve_links(doc: &mut [Block]) {
    let mut anchors = std::collections::BTreeSet::new();
    for cell in table_cells(doc) {
        if let Some(anchor) = cell.anchor.take()
            && anchors.insert(anchor.clone())
        {
            cell.anchor = Some(anchor);
        }
    }
    for cell in table_cells(doc) {
        cell.link.take_if(|to| !anchors.contains(to));
    }
}

/// Every cell of every table of `doc`, in order.
fn table_cells(doc: &mut [Block]) -> impl Iterator<Item = &mut Cell> {
    doc.iter_mut()
        .flat_map(|block| match block {
            Block::Table(_, rows) => &mut rows[..],
            _ => &mut [][..],
        })
        .flatten()
}

fn count_table(title: &'static str, counts: &BTreeMap<String, u64>) -> Block {
    let rows = counts
        .iter()
        .map(|(k, n)| vec![k.clone().into(), n.to_string().into()])
        .collect();
    Block::Table(vec![title, "events"], rows)
}

/// Builds the document: what is proven, counts, sessions, oversight, flags, the compliance
/// mapping and how to verify.
fn document(
    report: &Report,
    entries: &mut dyn BufRead,
    proofs: &mut dyn BufRead,
    vkey: &str,
    findings: &Findings,
    content: Option<&ContentSummary>,
) -> std::io::Result<Vec<Block>> {
    // Incomplete sessions first: they are what a reader must not miss.
    let mut sessions: Vec<_> = report.sessions.iter().collect();
    sessions.sort_by_key(|s| s.complete);
    let shown: Vec<&str> = sessions
        .iter()
        .take(MAX_TIMELINES)
        .map(|s| s.id.as_str())
        .collect();
    let mut d = digest(entries, proofs, &shown, MAX_ROWS)?;
    let first = d.first_ts.take().unwrap_or_else(|| "—".into());
    let last = d.last_ts.take().unwrap_or_else(|| "—".into());
    let mut doc = introduction(report, &first, &last, vkey);
    doc.extend(witnesses_and_time_stamps(findings, vkey));
    if let Some(content) = content {
        doc.push(Block::Heading("Content of private events".into()));
        doc.extend(content.lines().into_iter().map(Block::Para));
    }
    doc.push(Block::Heading("Counts".into()));
    doc.push(count_table("agent", &report.by_agent));
    doc.push(count_table("action", &report.by_action));
    doc.push(count_table("status", &report.by_status));
    doc.extend(session_blocks(&sessions, &shown, &d.timelines));
    doc.push(Block::Heading(format!(
        "Human oversight ({})",
        d.oversight.0
    )));
    doc.push(oversight_table(&d.oversight.1));
    doc.push(Block::Heading(format!(
        "Policy flags, blocks and errors ({})",
        d.flagged.0
    )));
    doc.push(event_table(&d.flagged.1, false));
    doc.push(Block::Heading(
        "Mapping to record-keeping requirements".into(),
    ));
    doc.push(Block::Para(
        "This table points to the evidence present in the pack for each requirement. It is \
         evidence for an assessment, not a claim that any system complies."
            .into(),
    ));
    doc.push(compliance(&Figures {
        report,
        with_data: d.with_data,
        oversight: d.oversight.0,
        flagged: d.flagged.0,
        first: &first,
        last: &last,
        lifecycle: &d.lifecycle,
    }));
    resolve_links(&mut doc);
    Ok(doc)
}

/// The opening blocks: the title, what the pack holds and over which period, what its
/// verification proves (and does not), and the command that verifies it.
fn introduction(report: &Report, first: &str, last: &str, vkey: &str) -> Vec<Block> {
    vec![
        Block::Heading(format!("Evidence pack — {}", report.origin)),
        Block::Para(format!(
            "This pack holds {}: {}. Each is proven, by an inclusion proof, to be in the log \
             {} as of its signed checkpoint of {} (root {}), exported {}.",
            count(report.entries, "event", "events"), scope(report), report.origin,
            count(report.checkpoint_size, "entry", "entries"), report.checkpoint_root, report.exported_at
        )),
        Block::Para(format!("Recorded between {first} and {last}.")),
        Block::Heading("What the verification proves".into()),
        Block::Para(
            "If `sealog verify` accepts this pack with the log's public key obtained independently \
             of the pack, then every event here was recorded in the log exactly as shown, the log's \
             operator cannot have changed or removed it later without the checkpoint's signature \
             breaking, and every earlier checkpoint listed is consistent with this one (the log only \
             grew). It does not prove that the recorded facts are true, nor that an agent recorded \
             everything it did: session gaps below show where events are missing."
                .into(),
        ),
        Block::Heading("How to verify".into()),
        Block::Para(
            "Run this, after checking that the key in it is the log's public key as you obtained \
             it from the log's operator (it is copied from this pack, which is not proof):"
                .into(),
        ),
        Block::Code(verify_command(vkey)),
        Block::Para(
            "To require a witness's cosignature, add --witness followed by that witness's \
             public key, in single quotes, once for each witness."
                .into(),
        ),
    ]
}

/// The section on what the witnesses and time-stamps add and what is still not proven, as
/// the exporting server found under its own witness policy and TSA roots, and how an auditor
/// checks them under theirs.
fn witnesses_and_time_stamps(findings: &Findings, vkey: &str) -> Vec<Block> {
    let row = |what: &str, text: &str| -> Vec<Cell> {
        vec![what.to_owned().into(), text.to_owned().into()]
    };
    let rows = findings
        .shown
        .iter()
        .map(|s| row("shown", s))
        .chain(findings.not_proven.iter().map(|s| row("not proven", s)))
        .collect();
    vec![
        Block::Heading("Witnesses and time-stamps".into()),
        Block::Para(
            "What independent witnesses and time-stamping authorities add to the log's own \
             signature, as the server found when it exported this pack, under its own witness \
             policy and TSA roots. Check them under the witnesses and TSAs you trust:"
                .into(),
        ),
        Block::Code(format!(
            "{} --policy your-policy.txt --tsa-roots your-tsa-roots.pem",
            verify_command(vkey)
        )),
        Block::Table(vec!["finding", "statement"], rows),
    ]
}

/// The one-line shell command that verifies the pack against `vkey`: the key in single
/// quotes, so that no shell expands or redirects any part of it when the line is pasted.
fn verify_command(vkey: &str) -> String {
    format!("sealog verify pack.zip --log-key {}", shell_quote(vkey))
}

/// `s` as one single-quoted shell word (a `'` inside becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Which events the pack holds: the whole log, or those matching the export's filters (said
/// so that a reader knows the pack discloses nothing else).
fn scope(report: &Report) -> String {
    if report.filters.is_empty() {
        return "the whole log".to_owned();
    }
    let f: Vec<String> = report
        .filters
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!(
        "the events matching {} (no other event is disclosed)",
        f.join(", ")
    )
}

/// The sessions section: a table of the first sessions (incomplete first, as `sessions` is
/// sorted), a note counting those left out, and a timeline of each session in `shown`.
fn session_blocks(
    sessions: &[&SessionReport],
    shown: &[&str],
    timelines: &BTreeMap<String, Vec<Row>>,
) -> Vec<Block> {
    let mut doc = vec![Block::Heading("Sessions".into())];
    doc.push(Block::Table(
        vec!["session", "events", "complete", "first", "last", "problems"],
        sessions
            .iter()
            .take(MAX_SESSION_ROWS)
            .map(|s| {
                [
                    s.id.clone(),
                    s.events.to_string(),
                    if s.complete { "yes" } else { "NO" }.into(),
                    s.first_ts.clone(),
                    s.last_ts.clone(),
                    s.problems.join("; "),
                ]
                .map(Cell::from)
                .into()
            })
            .collect(),
    ));
    if sessions.len() > MAX_SESSION_ROWS {
        let hidden = &sessions[MAX_SESSION_ROWS..];
        doc.push(Block::Para(format!(
            "… and {} more sessions, {} of them incomplete (`sealog verify --json` lists every \
             one).",
            hidden.len(),
            hidden.iter().filter(|s| !s.complete).count()
        )));
    }
    for &id in shown {
        doc.push(Block::Para(format!("Timeline of session {id}")));
        doc.push(event_table(&timelines[id], true));
    }
    doc
}

/// The human oversight events: who reviewed what, deciding what, and why; the target links
/// to the reviewed event's row where the report shows it.
fn oversight_table(rows: &[Row]) -> Block {
    Block::Table(
        vec![
            "index", "ts", "reviewer", "role", "decision", "target", "reason",
        ],
        rows.iter()
            .map(|r| {
                let mut row = vec![index_cell(r), r.ts.clone().into()];
                row.extend(r.oversight.iter().cloned().map(Cell::from));
                let target = &mut row[5];
                target.link = (!target.text.is_empty()).then(|| event_anchor(&target.text));
                row
            })
            .collect(),
    )
}

/// A row's log index, the anchor that oversight targets link to.
fn index_cell(r: &Row) -> Cell {
    Cell {
        text: r.index.to_string(),
        anchor: Some(event_anchor(&r.id)),
        link: None,
    }
}

fn event_table(rows: &[Row], with_seq: bool) -> Block {
    let mut head = vec!["index", "ts", "agent", "action", "status", "details"];
    if with_seq {
        head.insert(1, "seq");
    }
    let rows = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                index_cell(r),
                r.ts.clone().into(),
                r.agent.clone().into(),
                r.action.clone().into(),
                r.status.clone().into(),
                r.details.clone().into(),
            ];
            if with_seq {
                row.insert(1, r.seq.map_or_else(String::new, |s| s.to_string()).into());
            }
            row
        })
        .collect();
    Block::Table(head, rows)
}

/// The figures of a pack that the compliance mapping cites.
struct Figures<'a> {
    report: &'a Report,
    /// Events that name their data sources.
    with_data: usize,
    /// Human oversight events.
    oversight: usize,
    /// Policy flags, blocked actions and errors.
    flagged: usize,
    /// The earliest and latest event time.
    first: &'a str,
    last: &'a str,
    /// Retention, prunes, holds, erasures and incidents as the server recorded them.
    lifecycle: &'a crate::lifecycle::Lifecycle,
}

impl Figures<'_> {
    /// How many events of the pack have this action.
    fn count(&self, action: &str) -> u64 {
        self.report.by_action.get(action).copied().unwrap_or(0)
    }
}

/// A requirement, what it asks for, and the evidence in the pack that bears on it.
type Requirement = (&'static str, &'static str, String);

/// The compliance mapping: each record-keeping requirement next to the pack's evidence.
fn compliance(f: &Figures) -> Block {
    Block::Table(
        vec!["requirement", "asks for", "evidence in this pack"],
        ai_act_requirements(f)
            .into_iter()
            .chain(data_protection_requirements(f.lifecycle))
            .chain(standard_requirements(f))
            .map(|(a, b, c)| vec![a.to_owned().into(), b.to_owned().into(), c.into()])
            .collect(),
    )
}

/// The EU AI Act's record-keeping articles (Art. 12 and those it serves).
fn ai_act_requirements(f: &Figures) -> [Requirement; 8] {
    let Figures {
        report,
        with_data,
        oversight,
        flagged,
        first,
        last,
        lifecycle,
    } = f;
    [
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
                f.count("config_change")
            ),
        ),
        (
            "EU AI Act Art. 12(2)(b), Art. 72",
            "post-market monitoring",
            format!(
                "{} model calls, {} tool calls, {} decisions, by agent and over time",
                f.count("llm_call"),
                f.count("tool_call"),
                f.count("decision")
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
                "this pack spans {first} to {last}; {}; {}",
                lifecycle.retention(),
                lifecycle.prunes()
            ),
        ),
        (
            "EU AI Act Art. 73(6)",
            "no alteration of evidence after a serious incident",
            lifecycle.incidents(),
        ),
    ]
}

/// The data-protection duties that the lifecycle records bear on (GDPR).
fn data_protection_requirements(lifecycle: &crate::lifecycle::Lifecycle) -> [Requirement; 3] {
    [
        (
            "GDPR Art. 5(1)(e)",
            "personal data kept no longer than necessary",
            format!("{}; {}", lifecycle.retention(), lifecycle.prunes()),
        ),
        (
            "GDPR Art. 17",
            "erasure of a data subject's personal data",
            lifecycle.erasures(),
        ),
        (
            "GDPR Art. 17(3)(e), Art. 18",
            "keeping what a legal claim or an order needs",
            lifecycle.holds(),
        ),
    ]
}

/// The management-system and risk-framework controls on event logging (ISO/IEC 42001, NIST
/// AI RMF).
fn standard_requirements(f: &Figures) -> [Requirement; 3] {
    let Figures {
        report,
        oversight,
        flagged,
        ..
    } = f;
    [
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
    ]
}

/// `report.md` and `report.html` of a pack, from its verification report and one pass over
/// its entries and their proof lines.
pub fn reports(
    report: &Report,
    entries: &mut dyn BufRead,
    proofs: &mut dyn BufRead,
    vkey: &str,
    findings: &Findings,
    content: Option<&ContentSummary>,
) -> std::io::Result<(String, String)> {
    let doc = document(report, entries, proofs, vkey, findings, content)?;
    Ok((markdown(&doc), html(&doc)))
}

/// `report.md`.
fn markdown(doc: &[Block]) -> String {
    let mut out = String::new();
    for block in doc {
        match block {
            Block::Heading(h) => {
                let level = if out.is_empty() { "#" } else { "##" };
                let _ = writeln!(out, "{level} {}\n", md(h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "{}\n", md(p));
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
                    let cells: Vec<String> = row.iter().map(|c| md(&c.text)).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// `report.html`: a self-contained page with no script.
fn html(doc: &[Block]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Sealog evidence pack</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}\
         table{border-collapse:collapse;margin:0 0 1.5em}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}\
         pre{background:#eee;padding:1em;overflow:auto}</style></head><body>\n",
    );
    let mut first = true;
    for block in doc {
        match block {
            Block::Heading(h) => {
                let tag = if first { "h1" } else { "h2" };
                let _ = writeln!(out, "<{tag}>{}</{tag}>", esc(h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "<p>{}</p>", esc(p));
            }
            Block::Code(c) => {
                // Line breaks are the layout of a code block, not control characters to hide.
                let lines: Vec<String> = c.lines().map(esc).collect();
                let _ = writeln!(out, "<pre><code>{}</code></pre>", lines.join("\n"));
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
                        html_cell(&mut out, c);
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

/// Writes one `<td>`: with the `id` of its anchor, and its text a link to its target.
fn html_cell(out: &mut String, c: &Cell) {
    match &c.anchor {
        Some(a) => {
            let _ = write!(out, "<td id=\"{}\">", esc(a));
        }
        None => out.push_str("<td>"),
    }
    match &c.link {
        Some(to) => {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(to), esc(&c.text));
        }
        None => out.push_str(&esc(&c.text)),
    }
    out.push_str("</td>");
}

/// `n` and the noun that goes with it: `1 entry`, `2 entries`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
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
