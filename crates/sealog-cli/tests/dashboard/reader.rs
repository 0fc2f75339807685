//! The demo log a reader explores in the dashboard's browser tests — the demo events of
//! `demo.rs` in the log `default` of a real `sealog serve`, a second log `staging`, a read key
//! and an ingest key — and the steps and readings those tests share. Included with `#[path]`
//! next to `cdp.rs`, `demo.rs`, `fixture.rs` and `support`.

#![allow(dead_code)] // Each test uses a different subset.

use super::cdp::{Page, js};
use super::demo::demo_events;
use super::fixture::*;
use super::support::{Serve, call_with};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A server holding the demo log, and the keys of its reader and its agents.
pub struct DemoLog {
    /// The running server (stopped before its directory is removed).
    pub server: Serve,
    /// The first-start admin key.
    pub admin: String,
    /// The vkey of the log `default`.
    pub log_vkey: String,
    /// The vkey of the other log, `staging`.
    pub other_vkey: String,
    /// The read key's id and secret.
    pub read_id: String,
    pub read_key: String,
    /// The ingest key that recorded the events.
    pub ingest_key: String,
    /// The demo events, in time order, and what the server said about each.
    pub events: Vec<Value>,
    pub recorded: HashMap<String, Recorded>,
    _dir: tempfile::TempDir,
}

/// Starts a server and records the demo events through an ingest key.
pub fn demo_log() -> DemoLog {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let other = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(other.status, 201, "{}", other.body);
    let other_vkey = other.json()["vkey"].as_str().unwrap().to_owned();
    let (read_id, read_key) = create_key(&server, &admin, "read", "auditor");
    let (_, ingest_key) = create_key(&server, &admin, "ingest", "agents");
    let events = demo_events(now_ms());
    let recorded = record(&server, &ingest_key, &events);
    assert!(events.len() > 100, "the explorer must need a second page");
    DemoLog {
        server,
        admin,
        log_vkey,
        other_vkey,
        read_id,
        read_key,
        ingest_key,
        events,
        recorded,
        _dir: dir,
    }
}

impl DemoLog {
    /// The id of the policy flag in the session with a gap.
    pub fn gap_flag_id(&self) -> String {
        let flag = self
            .events
            .iter()
            .find(|e| e["session"]["id"] == GAP_SESSION && e["action"] == "policy_flag")
            .expect("the gap session has a policy flag");
        flag["id"].as_str().unwrap().to_owned()
    }
}

/// Opens the dashboard in `page` and signs in with the read key.
pub fn sign_in_reader(page: &Page, demo: &DemoLog) {
    page.goto(&format!("{}/", demo.server.url));
    sign_in(page, &demo.read_key, "Checkpoint size");
}

/// Pins `vkey` in the pin panel of the page shown, typed in as the operator handed it out.
pub fn pin_key(page: &Page, vkey: &str) {
    page.type_into("document.querySelector('details.card input')", vkey);
    page.click("el('button', 'Pin key')");
    page.run(&format!(
        "await waitText({});",
        js(&format!("Pinned {}.", key_name(vkey)))
    ));
}

/// A request carrying only the given `Cookie` header, as a replayed stolen cookie would.
pub fn with_cookie(server: &Serve, method: &str, path: &str, cookie: &str) -> u16 {
    call_with(
        method,
        &format!("{}{path}", server.url),
        None,
        &[("Cookie", cookie)],
        None,
    )
    .status
}

/// The `sealog_session` cookie the browser holds for the server, if any.
pub fn session_cookie(page: &Page, server: &Serve) -> Option<Value> {
    page.cookies(&server.url)
        .into_iter()
        .find(|c| c["name"] == "sealog_session")
}

/// Waits until the explorer has loaded every matching event, and returns its rows.
pub fn explorer_rows(page: &Page) -> Vec<Vec<String>> {
    let rows = page.run(
        "await waitFor(() => /loaded \\(end\\)/.test(el('p.muted[role=status]').textContent), 'the last page of events');
         return rows();",
    );
    serde_json::from_value(rows).unwrap()
}

/// The number after `prefix` in `text`.
pub fn number_after(text: &str, prefix: &str) -> u64 {
    let rest = &text[text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// The explorer's chart once drawn: its caption, and each bar as (action, count, from, to).
pub fn chart_bars(page: &Page) -> (String, Vec<(String, u64, String, String)>) {
    let chart = page.run(
        "const caption = await waitFor(() => document.querySelector('.chart figcaption'), 'the chart');
         return {caption: caption.textContent,
           bars: [...document.querySelectorAll('.chart svg rect title')].map((t) => t.textContent)};",
    );
    let bars = chart["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            // "<action>: <count> (<from> to <to>)"
            let t = t.as_str().unwrap();
            let (action, rest) = t.rsplit_once(": ").unwrap();
            let (n, range) = rest.split_once(" (").unwrap();
            let (from, to) = range.trim_end_matches(')').split_once(" to ").unwrap();
            (
                action.to_owned(),
                n.parse().unwrap(),
                from.to_owned(),
                to.to_owned(),
            )
        })
        .collect();
    (chart["caption"].as_str().unwrap().to_owned(), bars)
}

/// Checks that every bar of the chart counts exactly the `events` of its action and time
/// range, and that together they count all of them; returns how many that is.
pub fn assert_chart_counts(page: &Page, events: &[&Value]) -> u64 {
    let (caption, bars) = chart_bars(page);
    let us = |t: &str| sealog_storage::index::parse_ts(t).unwrap();
    for (action, n, from, to) in &bars {
        let want = events
            .iter()
            .filter(|e| {
                let t = us(e["ts"].as_str().unwrap());
                e["action"] == action.as_str() && us(from) <= t && t < us(to)
            })
            .count() as u64;
        assert_eq!(*n, want, "{action} from {from} to {to}");
    }
    let charted: u64 = bars.iter().map(|b| b.1).sum();
    assert_eq!(charted, events.len() as u64, "every event is in a bar");
    // The table beside the chart (for keyboards and screen readers) says the same.
    let table = page.run(
        "const t = el('.chart-data table');
         return {head: [...t.querySelectorAll('thead th')].map((c) => c.textContent),
           rows: [...t.querySelectorAll('tbody tr')].map((r) => [...r.children].map((c) => c.textContent))};",
    );
    let head: Vec<&str> = table["head"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let mut cells = Vec::new();
    let mut all = 0;
    for row in table["rows"].as_array().unwrap() {
        let row: Vec<&str> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(row.len(), head.len());
        for (action, n) in head[1..head.len() - 1].iter().zip(&row[1..row.len() - 1]) {
            let n: u64 = n.parse().unwrap();
            if n > 0 {
                cells.push((action.to_string(), n, row[0].to_owned()));
            }
        }
        all += row[row.len() - 1].parse::<u64>().unwrap();
    }
    let mut from_bars: Vec<_> = bars
        .iter()
        .map(|(a, n, from, _)| (a.clone(), *n, from.clone()))
        .collect();
    from_bars.sort();
    cells.sort();
    assert_eq!(cells, from_bars, "the table has one cell per bar");
    assert_eq!(all, charted);
    assert!(
        caption.starts_with(&format!(
            "Events over time by action: all {charted} matching events, in "
        )),
        "{caption}"
    );
    charted
}
