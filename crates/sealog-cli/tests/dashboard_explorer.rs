//! The dashboard's overview and events explorer, end to end over the demo log: paging,
//! filters typed into the form, the live tail, the chart that counts every matching event, and
//! a refused filter shown as an error. The real `sealog serve`, real HTTP and a real headless
//! Chromium.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/demo.rs"]
mod demo;
#[path = "dashboard/fixture.rs"]
mod fixture;
#[path = "dashboard/reader.rs"]
mod reader;
mod support;

use cdp::Chromium;
use demo::*;
use fixture::*;
use reader::*;
use serde_json::{Value, json};
use std::collections::HashSet;

#[test]
fn a_reader_pages_filters_and_tails_the_events() {
    let demo = demo_log();
    let (server, ingest_key, events) = (&demo.server, &demo.ingest_key, &demo.events);
    let total = events.len();
    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    sign_in_reader(&page, &demo);

    // The overview: the one log this key may read, its size and checkpoint, no key pinned yet.
    let overview: Vec<Vec<String>> = serde_json::from_value(page.run(
        "await waitFor(() => document.querySelector('table.logs tbody tr'), 'the logs table');
         return [...document.querySelectorAll('table.logs tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent));",
    ))
    .unwrap();
    assert_eq!(overview.len(), 1, "{overview:?}");
    let row = &overview[0];
    assert_eq!(row[0], "default");
    assert_eq!(row[1], total.to_string(), "{row:?}");
    assert_eq!(row[2], total.to_string(), "checkpoint size: {row:?}");
    assert!(
        row[3].contains(" s ago)"),
        "checkpoint time and age: {row:?}"
    );
    assert_eq!(row[4], "0", "index lag: {row:?}");
    assert_eq!(row[5], "measuring…", "{row:?}");
    assert_eq!(row[6], "not witnessed", "witnesses: {row:?}");
    assert_eq!(row[7], "not time-stamped", "time-stamp: {row:?}");
    assert_eq!(row[8], "not pinned");

    // The explorer: newest first, 100 per page, "Load more" for the rest, each event once.
    page.click("el('table.logs a', 'default')");
    let first = page.run(
        "await waitFor(() => rows().length === 100, 'the first page');
         return {rows: rows(), more: !el('button', 'Load more').hidden};",
    );
    assert_eq!(first["more"], true);
    // The chart counts every event of the log, per bucket and action, not only the 100 rows
    // loaded: most of what it counts is on pages not loaded.
    let all_events: Vec<&Value> = events.iter().collect();
    assert_eq!(assert_chart_counts(&page, &all_events), total as u64);
    assert!(total > first["rows"].as_array().unwrap().len());
    // Events recorded meanwhile do not shift the pages: the cursor means "older than this".
    let late: Vec<Value> = (0..3)
        .map(|n| {
            json!({"id": uuid_at(now_ms(), 900 + n), "ts": ts(now_ms()), "agent": {"id": "late-agent"},
                "action": "decision", "status": "ok"})
        })
        .collect();
    record(server, ingest_key, &late);
    page.click("el('button', 'Load more')");
    let all = explorer_rows(&page);
    assert_eq!(all.len(), total);
    let indices: Vec<u64> = all.iter().map(|r| r[0].parse().unwrap()).collect();
    let expected: Vec<u64> = (0..total as u64).rev().collect();
    assert_eq!(indices, expected, "every event once, newest first");
    let ids: HashSet<&str> = all.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(ids.len(), total);
    assert!(
        events
            .iter()
            .all(|e| ids.contains(e["id"].as_str().unwrap()))
    );

    // Filters, typed into the form: by agent, then by action and status together, then by time.
    page.type_into("document.getElementById('f-agent')", "research-agent");
    then_fresh(&page, || page.click("el('button', 'Filter')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default?agent=research-agent",
        "the filter is in the URL"
    );
    let rows = explorer_rows(&page);
    let research: Vec<&Value> = events
        .iter()
        .filter(|e| e["agent"]["id"] == "research-agent")
        .collect();
    let want = research.len();
    assert_eq!(rows.len(), want, "{rows:?}");
    assert!(rows.iter().all(|r| r[2] == "research-agent"), "{rows:?}");
    // The chart counts what the filter matches.
    assert_chart_counts(&page, &research);

    // Live tail: a matching event recorded now shows up at the top within a poll.
    page.click("el('#tail')");
    let tailed = json!({"id": uuid_at(now_ms(), 999), "ts": ts(now_ms()),
        "agent": {"id": "research-agent"}, "action": "llm_call", "status": "ok"});
    let at = record(server, ingest_key, std::slice::from_ref(&tailed))
        [tailed["id"].as_str().unwrap()]
    .index;
    let top = page.run(&format!(
        "await waitFor(() => rows().length === {}, 'the tailed event', 10000);
         return {{first: rows()[0], status: el('p.muted[role=status]').textContent}};",
        want + 1
    ));
    assert_eq!(top["first"][0], at.to_string().as_str());
    assert_eq!(top["first"][7], tailed["id"]);
    assert_eq!(
        top["status"],
        format!("1 new event; {} loaded.", want + 1).as_str()
    );
    // The tail redraws the chart with the new event.
    page.run(&format!(
        "await waitFor(() => el('.chart figcaption').textContent.includes('all {} matching events'), 'the chart to count the tailed event', 10000);",
        want + 1
    ));

    page.type_into("document.getElementById('f-agent')", "");
    page.type_into("document.getElementById('f-action')", "tool_call");
    page.type_into("document.getElementById('f-status')", "error");
    then_fresh(&page, || page.click("el('button', 'Filter')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default?action=tool_call&status=error"
    );
    let rows = explorer_rows(&page);
    let want: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| e["action"] == "tool_call" && e["status"] == "error")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(!want.is_empty());
    let got: Vec<&str> = rows.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(got, want);

    let gap_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["session"]["id"] == GAP_SESSION)
        .collect();
    assert_eq!(gap_events.len(), GAP_SESSION_EVENTS);
    let since = gap_events[1]["ts"].as_str().unwrap();
    let until = gap_events[4]["ts"].as_str().unwrap();
    page.type_into("document.getElementById('f-action')", "");
    page.type_into("document.getElementById('f-status')", "");
    page.type_into("document.getElementById('f-since')", since);
    page.type_into("document.getElementById('f-until')", until);
    then_fresh(&page, || page.press("Enter"));
    let rows = explorer_rows(&page);
    let want: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| {
            let t = e["ts"].as_str().unwrap();
            since <= t && t < until
        })
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(want.len(), 3, "the flag, the retrieval and the LLM call");
    let got: Vec<&str> = rows.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(got, want);

    // An invalid time is the server's 400, shown as an error.
    page.type_into("document.getElementById('f-since')", "yesterday");
    then_fresh(&page, || page.press("Enter"));
    page.run("await waitText('is not an RFC 3339 time');");
    assert_eq!(
        page.run("return el('#f-since').value;"),
        "yesterday",
        "the form stays, to correct the filter"
    );
    assert_no_page_errors(&page);
}
