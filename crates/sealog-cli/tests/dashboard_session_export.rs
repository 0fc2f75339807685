//! A session's timeline and its evidence pack in the dashboard, end to end: the session with
//! a missing seq shows the gap, the flag and the review; a whole session shows none; the
//! session's pack is downloaded by clicking and verified offline with the command the page
//! shows. The real `sealog serve`, real HTTP and a real headless Chromium.

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
use std::time::Duration;

#[test]
fn a_reader_follows_a_session_with_a_gap_and_exports_it_as_a_pack() {
    let demo = demo_log();
    let (url, log_vkey) = (&demo.server.url, &demo.log_vkey);
    let flag_id = demo.gap_flag_id();
    let chromium = Chromium::launch();
    let downloads = tempfile::tempdir().unwrap();
    chromium.allow_downloads(downloads.path());
    let page = chromium.page(1280, 900);
    sign_in_reader(&page, &demo);
    // The export's command names the pinned key.
    goto_hash(&page, &format!("#/logs/default/events/{flag_id}"));
    pin_key(&page, log_vkey);

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
        .args(["--log-key", log_vkey, "--json"])
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
    assert_no_page_errors(&page);
}
