//! Witnesses and time-stamps on the dashboard: the logs overview shows each log's quorum,
//! every witness's state and last cosigned size, the latest time-stamp and its TSA, and a fork
//! loudly; an event's page says whether a witnessed and a time-stamped checkpoint covers it.
//! The real `sealog serve`, three real `sealog witness serve`, the local TSA and a real
//! headless Chromium; a witness named like markup is shown as text.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;
mod tsa;
mod witness;

use cdp::{Chromium, Page};
use fixture::{assert_no_page_errors, goto_hash, sign_in};
use serde_json::{Value, json};
use support::{Serve, log_until, record_waiting, uuid7};
use tsa::{Tsa, make_pki};
use witness::ThreeWitnesses;

/// A witness name a hostile policy author could write.
const MARKUP: &str = "<img/src=x/onerror=window.__pwned=1>";

fn record(server: &Serve, token: &str, first: u64, n: u64, wait: &str) -> u16 {
    record_waiting(server, token, first, n, wait).status
}

/// The overview's row of `default`: the Witnesses cell's lines and the Time-stamp cell.
fn overview(page: &Page) -> Value {
    page.run(
        "await waitFor(() => document.querySelector('table.logs tbody tr td .witnessing'), 'the witnesses');
         const head = [...document.querySelectorAll('table.logs th')].map((th) => th.textContent);
         const cells = document.querySelector('table.logs tbody tr').cells;
         const w = cells[head.indexOf('Witnesses')];
         return {summary: w.querySelector('.witnessing > div').textContent,
                 witnesses: [...w.querySelectorAll('li')].map((li) => li.textContent),
                 stamp: cells[head.indexOf('Time-stamp')].textContent,
                 alarms: [...document.querySelectorAll('.fork-alarm')].map((a) => a.textContent),
                 seen: inspect('overview')};",
    )
}

#[test]
fn the_overview_and_an_event_show_witnesses_time_stamps_and_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, data) = (dir.path().join("pki"), dir.path().join("data"));
    make_pki(&pki);
    let tsa = Tsa::start(&pki, "ok");
    let mut three = ThreeWitnesses::start(dir.path(), &data);
    let token = three.token.clone();
    let policy_file = three.two_of_three_policy(["W0", "W1", MARKUP]);
    let roots = pki.join("root.pem");
    let args = [
        "--witness-policy",
        policy_file.to_str().unwrap(),
        "--tsa-url",
        &tsa.url,
        "--tsa-roots",
        roots.to_str().unwrap(),
        "--tsa-interval-ms",
        "100",
        "--checkpoint-interval-ms",
        "50",
        "--checkpoint-wait-ms",
        "3000",
    ];
    let server = Serve::start(&data, &args);
    assert_eq!(record(&server, &token, 1, 3, "witnessed"), 200);
    log_until(&server, &token, |l| {
        l["timestamping"]["latest"]["size"] == 3
    });
    // An old copy of the data, restored later to fork the log.
    server.kill();
    let backup = dir.path().join("backup");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&data)
        .arg(&backup)
        .status()
        .unwrap();
    assert!(copied.success());
    let server = Serve::start(&data, &args);
    three.witnesses[2].take().unwrap().kill();
    assert_eq!(record(&server, &token, 10, 2, "witnessed"), 200);
    let log = log_until(&server, &token, |l| {
        l["timestamping"]["latest"]["size"] == 5
            && l["witnessing"]["witnesses"][2]["last_error"].is_string()
    });
    let gen_time = log["timestamping"]["latest"]["gen_time"].as_str().unwrap();
    let w2_error = log["witnessing"]["witnesses"][2]["last_error"]
        .as_str()
        .unwrap();

    let chromium = Chromium::launch();
    let page = chromium.page(1400, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &token, "Checkpoint size");
    let shown = overview(&page);
    let requirement = format!("quorum \"two-of-three\" (2 of W0, W1, {MARKUP})");
    assert_eq!(
        shown["summary"],
        format!("{requirement}; witnessed up to size 5")
    );
    let w = shown["witnesses"].as_array().unwrap();
    assert!(
        w[0].as_str()
            .unwrap()
            .starts_with("W0: up to date: cosigned size 5, "),
        "{shown}"
    );
    assert!(
        w[1].as_str()
            .unwrap()
            .starts_with("W1: up to date: cosigned size 5, ")
    );
    assert_eq!(w[2], format!("{MARKUP}: failing: {w2_error}"));
    assert_eq!(
        shown["stamp"],
        format!("size 5 at {gen_time} by CN=Sealog Test TSA")
    );
    assert_eq!(shown["alarms"], json!([]));
    assert_eq!(shown["seen"]["suspicious"], json!([]), "{shown}");

    // An event under the witnessed, time-stamped checkpoint; the stopped witness cosigned the
    // first checkpoint, which covers it too.
    goto_hash(&page, &format!("#/logs/default/events/{}", uuid7(1)));
    let card = page.run(
        "await waitFor(() => document.querySelector('section.anchors'), 'the card');
         return [...document.querySelectorAll('section.anchors p')].map((p) => p.textContent);",
    );
    assert_eq!(
        card,
        json!([
            format!(
                "Witnessed: the checkpoint of size 5, which covers this event, met the \
                 {requirement}. Cosigned past it by W0 (size 5), W1 (size 5), {MARKUP} (size 3)."
            ),
            format!(
                "Time-stamped: recorded no later than {gen_time}, per TSA CN=Sealog Test TSA \
                 (the time-stamp of the checkpoint of size 5)."
            ),
            "As the server reports it. To check the cosignatures and time-stamps yourself, \
             export an evidence pack and run sealog verify with --policy (your witnesses) and \
             --tsa-roots (your TSAs).",
        ])
    );

    // The old copy restored, then new events: the witnesses refuse, the overview alarms.
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(&backup, &data).unwrap();
    let server = Serve::start(&data, &args);
    assert_eq!(record(&server, &token, 60, 20, "witnessed"), 503);
    let fork =
        log_until(&server, &token, |l| l["witnessing"]["fork"].is_string())["witnessing"]["fork"]
            .as_str()
            .unwrap()
            .to_owned();
    // The restored copy predates the sign-in, so the page signs in again.
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &token, "Checkpoint size");
    let shown = overview(&page);
    assert_eq!(
        shown["alarms"],
        json!([format!(
            "FORK DETECTED on log default{fork}A witness says this log's history is not the one \
             it cosigned before: a data directory restored from an old copy, or a second server \
             with the same key. Its checkpoints are no longer called witnessed. Find out what \
             happened before anything else; nothing is repaired by itself."
        )])
    );
    let alarm = page.run("return document.querySelector('.fork-alarm').getAttribute('role');");
    assert_eq!(alarm, "alert");
    assert_eq!(shown["seen"]["suspicious"], json!([]), "{shown}");
    assert_eq!(shown["seen"]["pwned"], Value::Null);
    assert_no_page_errors(&page);
}
