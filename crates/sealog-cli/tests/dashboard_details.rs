//! What the dashboard shows of each event without opening it: the events table and a
//! session's timeline name the model, the tool, the decision outcome, the reasons of a flag and
//! the error type — never committed content — and a review links to the event it reviewed.
//! The real `sealog serve`, real HTTP and a real headless Chromium.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
#[path = "dashboard/review.rs"]
mod review;
mod support;

use cdp::{Chromium, js};
use fixture::{assert_no_page_errors, goto_hash, record, sign_in};
use review::{COMMITMENT, reviewed_id, session};
use serde_json::Value;
use support::Serve;

/// The facts a row shows, by the event's `seq`.
fn expected() -> [(u64, &'static str); 8] {
    [
        (0, ""),
        (1, "model gpt-4o-mini"),
        (2, "tool lookup_order"),
        (3, "tool issue_refund · error TimeoutError"),
        (4, "outcome escalated · reason amount_over_limit"),
        (5, "outcome blocked · reason pii_detected"),
        (6, ""),
        (7, ""),
    ]
}

#[test]
fn rows_and_timelines_say_what_happened_and_a_review_links_to_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    record(&server, &admin, &session());
    let reviewed = format!("reviewed {}", reviewed_id());

    let chromium = Chromium::launch();
    let page = chromium.page(1400, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");

    // The events table: a Details column, read by the events' session seq.
    goto_hash(&page, "#/logs/default");
    let rows = page.run(
        "await waitFor(() => rows().length === 8, 'eight rows');
         const head = [...document.querySelectorAll('table.events th')].map((th) => th.textContent);
         const at = head.indexOf('Details'), session = head.indexOf('Session');
         return rows().map((cells) => [cells[session], cells[at]]);",
    );
    let rows: Vec<(String, String)> = serde_json::from_value(rows).unwrap();
    for (seq, facts) in expected() {
        let row = rows
            .iter()
            .find(|(s, _)| *s == format!("r-1 #{seq}"))
            .unwrap_or_else(|| panic!("no row of seq {seq}: {rows:?}"));
        let want = if seq == 6 { reviewed.as_str() } else { facts };
        assert_eq!(row.1, want, "seq {seq}");
    }

    // The session's timeline says the same.
    goto_hash(&page, "#/logs/default/sessions/r-1");
    let items = page.run(
        "await waitFor(() => document.querySelectorAll('ol.timeline li').length === 8, 'the timeline');
         return [...document.querySelectorAll('ol.timeline li')].map((li) =>
           [li.querySelector('.seq').textContent, li.querySelector('.facts').textContent]);",
    );
    let items: Vec<(String, String)> = serde_json::from_value(items).unwrap();
    for (seq, facts) in expected() {
        let want = if seq == 6 { reviewed.as_str() } else { facts };
        assert_eq!(items[seq as usize], (format!("#{seq}"), want.to_owned()));
    }
    let shown: Value = page.run("return document.body.innerText;");
    assert!(
        !shown.as_str().unwrap().contains(COMMITMENT),
        "committed content is shown"
    );

    // Following the review's link opens the reviewed decision.
    page.click(&format!(
        "[...document.querySelectorAll('ol.timeline .facts a')].find((a) => a.textContent === {})",
        js(&reviewed_id())
    ));
    page.run(&format!(
        "await waitFor(() => location.hash === {}, 'the reviewed event');
         await waitText('escalated');",
        js(&format!("#/logs/default/events/{}", reviewed_id()))
    ));
    assert_no_page_errors(&page);
}
