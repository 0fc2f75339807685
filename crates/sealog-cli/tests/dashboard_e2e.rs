//! The dashboard end to end: the real `sealog serve` binary, real HTTP, and a real headless
//! Chromium driven with real clicks and typing over the DevTools protocol (`dashboard/cdp.rs`).
//!
//! Events are recorded through the API by an ingest key. Then a reader signs in, filters the
//! explorer, pages through it, checks an event's inclusion proof in the browser against the log
//! key they pinned (and sees it refused against another log's key), follows the session with a
//! gap, downloads an evidence pack and verifies it with `sealog verify`, and signs out, after
//! which the session cookie no longer opens anything. An admin creates and revokes a key while
//! forged requests without the CSRF token fail, and when the session ends elsewhere the open
//! page asks for a key again. An ignored test renders the README's screenshots
//! (`scripts/screenshots`). Hostile event data is in `dashboard_xss.rs`, accessibility in
//! `dashboard_a11y.rs`, plain HTTP in `dashboard_insecure.rs`, timings in `dashboard_render.rs`.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/demo.rs"]
mod demo;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, Page, js};
use demo::*;
use fixture::*;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use support::{Serve, call_with};

// ---------------------------------------------------------------------------------------------
// The server side: keys, logs and events over the real HTTP API.

/// A request carrying only the given `Cookie` header, as a replayed stolen cookie would.
fn with_cookie(server: &Serve, method: &str, path: &str, cookie: &str) -> u16 {
    call_with(
        method,
        &format!("{}{path}", server.url),
        None,
        &[("Cookie", cookie)],
        None,
    )
    .status
}

// ---------------------------------------------------------------------------------------------
// The browser side.

/// The `sealog_session` cookie the browser holds for the server, if any.
fn session_cookie(page: &Page, server: &Serve) -> Option<Value> {
    page.cookies(&server.url)
        .into_iter()
        .find(|c| c["name"] == "sealog_session")
}

/// Waits until the explorer has loaded every matching event, and returns its rows.
fn explorer_rows(page: &Page) -> Vec<Vec<String>> {
    let rows = page.run(
        "await waitFor(() => /events loaded \\(end\\)/.test(el('p.muted[role=status]').textContent), 'the last page of events');
         return rows();",
    );
    serde_json::from_value(rows).unwrap()
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let rest = &text[text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// The explorer's chart once drawn: its caption, and each bar as (action, count, from, to).
fn chart_bars(page: &Page) -> (String, Vec<(String, u64, String, String)>) {
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
fn assert_chart_counts(page: &Page, events: &[&Value]) -> u64 {
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

#[test]
fn a_reader_signs_in_filters_verifies_follows_a_gap_exports_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = server.url.clone();
    let log_vkey = vkey(&server, &admin, "default");
    // `<name>+<key id>`: what the page reports as the key that signed (the key itself is base64,
    // which has its own '+' signs).
    let key_name = log_vkey
        .splitn(3, '+')
        .take(2)
        .collect::<Vec<_>>()
        .join("+");
    let other = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(other.status, 201, "{}", other.body);
    let other_vkey = other.json()["vkey"].as_str().unwrap().to_owned();
    let (read_id, read_key) = create_key(&server, &admin, "read", "auditor");
    let (_, ingest_key) = create_key(&server, &admin, "ingest", "agents");
    let events = demo_events(now_ms());
    let recorded = record(&server, &ingest_key, &events);
    let total = events.len();
    assert!(total > 100, "the explorer must need a second page");

    let chromium = Chromium::launch();
    let downloads = tempfile::tempdir().unwrap();
    chromium.allow_downloads(downloads.path());
    let page = chromium.page(1280, 900);
    page.goto(&format!("{url}/"));

    // Sign-in refuses an ingest key and a wrong key, then takes the read key.
    sign_in(&page, &ingest_key, "ingest keys cannot sign in");
    sign_in(&page, "sealog_not_a_key", "invalid API key");
    assert!(session_cookie(&page, &server).is_none());
    sign_in(&page, &read_key, "Checkpoint size");
    assert_eq!(
        page.run("return document.getElementById('api-key');"),
        Value::Null,
        "the key field is gone"
    );
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str()
            .unwrap()
            .contains(&format!("{read_id} · read · log default")),
        "{nav}"
    );
    let cookie = session_cookie(&page, &server).expect("a session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/", "{cookie}");
    assert_eq!(cookie["secure"], false, "plain HTTP: {cookie}");
    assert_eq!(
        page.run("return document.cookie;"),
        "",
        "script cannot read it"
    );
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        200
    );

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
    assert_eq!(row[6], "none", "witnesses: {row:?}");
    assert_eq!(row[7], "not pinned");

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
    record(&server, &ingest_key, &late);
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
    let at = record(&server, &ingest_key, std::slice::from_ref(&tailed))
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
        format!("1 new events; {} loaded.", want + 1).as_str()
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

    // Pin the log key, typed in as the operator handed it out.
    goto_hash(&page, &format!("#/logs/default?session={GAP_SESSION}"));
    assert_eq!(explorer_rows(&page).len(), GAP_SESSION_EVENTS);
    page.type_into("document.querySelector('details.card input')", &log_vkey);
    page.click("el('button', 'Pin key')");
    page.run(&format!(
        "await waitText({});",
        js(&format!("Pinned {key_name}."))
    ));

    // Open the flagged event: its proof is checked in the browser against the pinned key.
    let flag = gap_events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();
    let flag_id = flag["id"].as_str().unwrap();
    let flag_rec = &recorded[flag_id];
    page.click(&format!("el('table.events a', {})", js(flag_id)));
    let detail = page.run("return await waitText('Verified: entry');");
    let detail = detail.as_str().unwrap();
    let cp_size = number_after(detail, "in the checkpoint of size ");
    let log_size = get(&server, &admin, "/v1/logs/default").json()["size"]
        .as_u64()
        .unwrap();
    assert!(cp_size > flag_rec.index && cp_size <= log_size, "{detail}");
    assert!(
        detail.contains(&format!(
            "Verified: entry {} of test.local/default, in the checkpoint of size {cp_size} signed by {key_name}.",
            flag_rec.index
        )),
        "{detail}"
    );
    assert!(!detail.contains("Proof verified, but"), "{detail}");
    assert!(detail.contains("What this proves") && detail.contains("What it does not prove"));
    let proof = page.run(
        "const dd = [...document.querySelectorAll('section.proof dt')].find((d) => d.textContent === 'leaf hash');
         return dd.nextElementSibling.textContent;",
    );
    assert_eq!(proof, flag_rec.leaf_hash.as_str(), "the verified leaf hash");
    for shown in [
        "policy_flag",
        "blocked",
        "refund-limit",
        "needs_review",
        "sess-refund-4821 #4",
    ] {
        assert!(
            detail.contains(shown),
            "event detail lacks {shown:?}: {detail}"
        );
    }
    // JSON is laid out on lines (with the control characters inside strings escaped).
    let attributes = page.run(
        "const card = [...document.querySelectorAll('section.card')].find((c) => c.querySelector('h2').textContent === 'Attributes');
         return card.querySelector('pre').textContent;",
    );
    assert_eq!(
        attributes,
        "{\n  \"amount_eur\": 742,\n  \"order\": \"4821\"\n}"
    );
    let leaf = page.run("return el('section.proof pre').textContent;");
    assert!(
        leaf.as_str()
            .unwrap()
            .contains(&format!("\"id\":\"{flag_id}\"")),
        "{leaf}"
    );

    // Against another log's key the same proof is refused; the right key verifies it again.
    page.click("el('details.card summary')");
    page.click("el('button', 'Unpin')");
    page.run("await waitText('Pin the log key above');");
    page.type_into("document.querySelector('details.card input')", &other_vkey);
    page.click("el('button', 'Pin key')");
    let refused = page.run("return await waitText('Not verified');");
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("checkpoint is not signed by the pinned key test.local/staging+"),
        "{refused}"
    );
    page.click("el('button', 'Unpin')");
    page.type_into("document.querySelector('details.card input')", &log_vkey);
    page.click("el('button', 'Pin key')");
    page.run("await waitText('Verified: entry');");

    // The session: seq order, the missing seq 3 flagged, the flag and the oversight highlighted.
    page.click("el('section.card a', 'sess-refund-4821 #4')");
    let session = page.run(
        "const t = await waitText('Span tree');
         const items = [...document.querySelectorAll('ol.timeline li')];
         return {
           text: t,
           seqs: [...document.querySelectorAll('ol.timeline .seq')].map((e) => e.textContent),
           gaps: items.filter((li) => li.classList.contains('gap')).map((li) => li.textContent),
           flagged: items.filter((li) => li.classList.contains('flag')).map((li) => li.textContent),
           oversight: items.filter((li) => li.classList.contains('oversight')).map((li) => li.textContent),
           nested: document.querySelectorAll('ul.tree > li > ul > li').length,
         };",
    );
    let text = session["text"].as_str().unwrap();
    assert_eq!(
        session["seqs"],
        json!(["#0", "#1", "#2", "#4", "#5", "#6", "#7"])
    );
    assert_eq!(session["gaps"], json!(["Gap: seq 3 missing"]));
    assert!(text.contains("7 events · 1 gap flagged"), "{text}");
    let flagged = session["flagged"].as_array().unwrap();
    assert!(
        flagged.len() == 1 && flagged[0].as_str().unwrap().contains("policy_flag"),
        "{flagged:?}"
    );
    let oversight = session["oversight"].as_array().unwrap();
    assert!(
        oversight.len() == 1
            && oversight[0]
                .as_str()
                .unwrap()
                .contains("oversight: approved by alice@example.com"),
        "{oversight:?}"
    );
    assert!(
        text.contains("took 1840 ms"),
        "the LLM call's duration: {text}"
    );
    assert!(
        text.contains("human_oversight ok reviewed ")
            && text.contains(" 89 s after the previous event oversight: approved"),
        "the wait for the reviewer: {text}"
    );
    assert_eq!(
        session["nested"], 6,
        "six steps under the session's root span"
    );

    // A session recorded whole has no gap.
    goto_hash(&page, &format!("#/logs/default/sessions/{FULL_SESSION}"));
    let full = page.run("return await waitText('Span tree');");
    assert!(
        full.as_str().unwrap().contains("5 events · no gaps"),
        "{full}"
    );
    assert_eq!(
        page.run("return document.querySelectorAll('li.gap').length;"),
        0
    );

    // Export: the session's events as a pack, downloaded by clicking, verified offline with the
    // command the page shows.
    goto_hash(&page, "#/logs/default");
    then_fresh(&page, || page.click("el('nav.tabs a', 'Export')"));
    page.type_into("document.getElementById('f-session')", GAP_SESSION);
    then_fresh(&page, || page.click("el('button', 'Update')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default/export?session=sess-refund-4821"
    );
    let command =
        page.run("await waitText('Download evidence pack'); return el('pre.cmd').textContent;");
    let command = command.as_str().unwrap();
    let file = command
        .strip_prefix("sealog verify ")
        .and_then(|c| c.strip_suffix(&format!(" --log-key '{log_vkey}'")))
        .unwrap_or_else(|| panic!("the command names the file and the pinned key: {command}"));
    page.watch_responses("*/v1/logs/default/export*");
    page.click("el('a.button', 'Download evidence pack')");
    let done = chromium.wait_event("Browser.downloadProgress", Duration::from_secs(30), |p| {
        p["state"] == "completed" || p["state"] == "canceled"
    });
    assert_eq!(done["state"], "completed", "{done}");
    let begun = &chromium.events("Browser.downloadWillBegin")[0]["params"];
    assert_eq!(
        begun["suggestedFilename"], file,
        "the browser saves the file the command names"
    );
    assert_eq!(
        begun["url"],
        format!("{url}/v1/logs/default/export?session=sess-refund-4821").as_str()
    );
    let pack = downloads.path().join(file);
    let bytes = std::fs::read(&pack).unwrap();
    assert!(bytes.starts_with(b"PK\x03\x04"), "a ZIP");
    let response = page
        .events("Fetch.requestPaused")
        .into_iter()
        .find(|r| r["request"]["url"] == begun["url"])
        .expect("the export's response");
    assert_eq!(response["responseStatusCode"], 200);
    let header = |name: &str| {
        response["responseHeaders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/zip"));
    assert_eq!(
        header("content-disposition"),
        Some(format!("attachment; filename=\"{file}\""))
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(&pack)
        .args(["--log-key", &log_vkey, "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verify.status.code(), Some(0), "{report}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["entries"], GAP_SESSION_EVENTS);
    assert_eq!(report["filters"], json!({"session": GAP_SESSION}));
    assert_eq!(report["oversight"], 1);
    assert_eq!(report["sessions"][0]["complete"], false, "{report}");

    // A filter that matches nothing offers no download.
    page.type_into("document.getElementById('f-session')", "no-such-session");
    then_fresh(&page, || page.click("el('button', 'Update')"));
    page.run("await waitText('nothing to export');");
    assert_eq!(
        page.run("return document.querySelectorAll('a.button').length;"),
        0
    );

    // Keys are for admins: a read key sees no Keys tab.
    assert_eq!(
        page.run("return [...document.querySelectorAll('nav.tabs a')].map((a) => a.textContent);"),
        json!(["Events", "Export"])
    );
    assert_no_page_errors(&page);

    // Sign out: the cookie is gone from the browser and dead on the server.
    then_fresh(&page, || page.click("el('#nav button', 'Sign out')"));
    page.run("await waitText('API key (read or admin)');");
    assert!(session_cookie(&page, &server).is_none());
    assert_eq!(page.run("return (await fetch('/ui/session')).status;"), 401);
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        401
    );
    assert_eq!(with_cookie(&server, "GET", "/ui/session", &stolen), 401);
    // A deep link now asks for a key instead of showing data.
    goto_hash(&page, &format!("#/logs/default/events/{flag_id}"));
    page.run("await waitText('API key (read or admin)');");
    assert!(
        !page
            .run("return text();")
            .as_str()
            .unwrap()
            .contains("policy_flag")
    );
}

#[test]
fn an_admin_creates_and_revokes_a_key_forgeries_fail_and_an_ended_session_asks_for_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let keys_of = |server: &Serve| {
        get(server, &admin, "/v1/logs/default/keys").json()["keys"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = keys_of(&server).len();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str().unwrap().contains("· admin · all logs"),
        "{nav}"
    );
    page.click("el('table.logs a', 'default')");
    page.click("el('nav.tabs a', 'Keys')");
    page.run("await waitText('Create a key');");

    // Create a read key with a label that looks like markup.
    page.type_into("document.getElementById('k-label')", "ci <b>bot</b>");
    page.run("el('#k-role').value = 'read';");
    page.click("el('form.card button', 'Create')");
    page.run("await waitText('Copy it now');");
    let secret = page.run("return el('pre.cmd').textContent;");
    let secret = secret.as_str().unwrap().to_owned();
    let keys = keys_of(&server);
    assert_eq!(keys.len(), before + 1);
    let new = keys.iter().find(|k| k["label"] == "ci <b>bot</b>").unwrap();
    assert_eq!(new["role"], "read");
    let new_id = new["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&server, &secret, "/v1/logs/default/events?limit=1").status,
        200,
        "the secret shown is the key's"
    );
    let row = page.run(&format!(
        "await waitFor(() => [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id}), 'the new key');
         const tr = [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id});
         return {{cells: [...tr.cells].map((c) => c.textContent), bold: tr.querySelectorAll('b').length}};",
        id = js(&new_id)
    ));
    assert_eq!(row["cells"][1], "ci <b>bot</b>", "the label as text");
    assert_eq!(row["bold"], 0);

    // The session cookie alone cannot change anything: without the CSRF token, or with a
    // wrong one, creating a key is refused and nothing is created.
    let forged = page.run(
        "const post = (headers) => fetch('/v1/logs/default/keys', {method: 'POST',
           headers: {'Content-Type': 'application/json', ...headers},
           body: JSON.stringify({label: 'forged', role: 'admin'})}).then((r) => r.status);
         return [await post({}), await post({'X-CSRF-Token': '0'.repeat(64)})];",
    );
    assert_eq!(forged, json!([401, 401]));
    let forged_delete = page.run(&format!(
        "return (await fetch('/v1/logs/default/keys/' + {}, {{method: 'DELETE'}})).status;",
        js(&new_id)
    ));
    assert_eq!(forged_delete, 401);
    assert_eq!(keys_of(&server).len(), before + 1);
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 200);

    // Revoke it with its button (the confirmation dialog answered "OK").
    page.click(&format!(
        "[...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).querySelector('button')",
        js(&new_id)
    ));
    page.run(&format!(
        "await waitText({});",
        js(&format!("Key {new_id} revoked."))
    ));
    let dialogs = page.events("Page.javascriptDialogOpening");
    assert_eq!(dialogs.len(), 1, "{dialogs:?}");
    assert_eq!(
        dialogs[0]["message"],
        format!("Revoke key {new_id}?").as_str()
    );
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 401);
    let revoked = keys_of(&server)
        .into_iter()
        .find(|k| k["id"] == new_id.as_str())
        .unwrap();
    assert!(!revoked["revoked"].is_null(), "{revoked}");
    // When the page says so, its list says so too.
    let state = page.run(&format!(
        "return [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).cells[4].textContent;",
        js(&new_id)
    ));
    assert!(state.as_str().unwrap().starts_with("revoked"), "{state}");
    assert_no_page_errors(&page);

    // The session ends elsewhere (as when it expires): the open overview notices at its next
    // refresh and asks for a key again.
    goto_hash(&page, "#/");
    page.run("await waitText('Checkpoint size');");
    let cookie = session_cookie(&page, &server).unwrap();
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    let me = call_with(
        "GET",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen)],
        None,
    );
    assert_eq!(me.status, 200, "{}", me.body);
    let csrf = me.json()["csrf_token"].as_str().unwrap().to_owned();
    let ended = call_with(
        "DELETE",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(ended.status, 204, "{}", ended.body);
    page.run("await waitFor(() => document.getElementById('api-key'), 'the sign-in form', 8000);");
    assert_eq!(with_cookie(&server, "GET", "/ui/session", &stolen), 401);
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/keys", &stolen),
        401
    );
}

// ---------------------------------------------------------------------------------------------
// Screenshots for the README.

/// Renders the main pages over the demo events into `$SEALOG_SCREENSHOTS` (see
/// `scripts/screenshots`). Ignored by default: it checks nothing the tests above do not.
#[test]
#[ignore = "writes the README's screenshots; run scripts/screenshots"]
fn screenshots() {
    let out = std::env::var("SEALOG_SCREENSHOTS")
        .expect("set SEALOG_SCREENSHOTS to the directory to write into");
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The server name shows in every origin; make it look like a deployment.
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let (_, ingest) = create_key(&server, &admin, "ingest", "support-bot (prod)");
    create_key(&server, &admin, "ingest", "research-agent (staging)");
    create_key(&server, &admin, "read", "auditor: Q3 review");
    // The newest events arrive while the overview is open, so it measures an ingest rate.
    let events = demo_events(now_ms());
    let (older, newer) = events.split_at(events.len() - 24);
    record(&server, &ingest, older);
    // A second log, whose key this reader has not pinned.
    let staging = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(staging.status, 201, "{}", staging.body);
    let research: Vec<Value> = events
        .iter()
        .filter(|e| e["agent"]["id"] == "research-agent")
        .cloned()
        .collect();
    record_in(&server, &admin, "staging", &research);
    let flag = events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 800);
    page.color_scheme("light");
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(&log_vkey)
    ));
    std::thread::sleep(Duration::from_millis(2000));
    record(&server, &ingest, newer);
    page.run("await waitFor(() => !text().includes('measuring'), 'an ingest rate', 8000);");
    let shot = |name: &str, height: u32| {
        page.run("await sleep(200);");
        page.screenshot(&out.join(name), height);
    };
    page.viewport(1280, 360);
    shot("logs.png", 360);

    page.viewport(1280, 800);
    goto_hash(&page, "#/logs/default");
    page.run("await waitFor(() => rows().length === 100, 'the events');");
    shot("events.png", 1000);

    goto_hash(
        &page,
        &format!("#/logs/default/events/{}", flag["id"].as_str().unwrap()),
    );
    page.run("await waitText('Verified: entry');");
    page.run("document.querySelector('section.proof details').open = true;");
    shot("event.png", 2400);

    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session.png", 1200);

    goto_hash(&page, "#/logs/default/keys");
    page.run("await waitText('Create a key');");
    page.run("el('#k-label').value = 'ci-pipeline'; el('#k-role').value = 'ingest';");
    page.click("el('form.card button', 'Create')");
    page.run("await waitText('Copy it now');");
    shot("keys.png", 900);

    goto_hash(
        &page,
        &format!("#/logs/default/export?session={GAP_SESSION}"),
    );
    page.run("await waitText('Download evidence pack');");
    shot("export.png", 700);

    page.color_scheme("dark");
    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session-dark.png", 1200);

    page.color_scheme("light");
    page.viewport(390, 844);
    goto_hash(&page, "#/logs/default");
    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session-phone.png", 844);
}
