//! The dashboard's search box: a search typed into the events explorer shows exactly the events
//! that hold its words, the chart counts them, the search is in the URL and a search the server
//! refuses is shown as its error. The real `sealog serve`, real HTTP and a real headless
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
use fixture::*;
use reader::*;
use serde_json::Value;

#[test]
fn a_reader_searches_the_events() {
    let demo = demo_log();
    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    sign_in_reader(&page, &demo);
    page.click("el('table.logs a', 'default')");
    page.run("await waitFor(() => rows().length > 0, 'the first page');");

    // A field word (the knowledge-base searches), then a bare word in another case than the
    // event's ("EUR", which only the card charges carry, in an attribute).
    for (search, hash, keep) in [
        (
            "tool:search_kb",
            "#/logs/default?q=tool%3Asearch_kb",
            (|e: &Value| e["context"]["tool"]["name"] == "search_kb") as fn(&Value) -> bool,
        ),
        ("eur", "#/logs/default?q=eur", |e: &Value| {
            e["attributes"]["currency"] == "EUR"
        }),
    ] {
        page.type_into("document.getElementById('f-q')", search);
        then_fresh(&page, || page.click("el('button', 'Filter')"));
        assert_eq!(page.run("return location.hash;"), hash);
        let want: Vec<&Value> = demo.events.iter().filter(|e| keep(e)).collect();
        assert!(!want.is_empty(), "{search}");
        let rows = explorer_rows(&page);
        let got: Vec<&str> = rows.iter().map(|r| r[7].as_str()).collect();
        let ids: Vec<&str> = want
            .iter()
            .rev()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, ids, "{search}");
        assert_chart_counts(&page, &want);
    }

    // A search the server refuses is its 400, shown; the form keeps what was typed.
    page.type_into("document.getElementById('f-q')", "tool:");
    then_fresh(&page, || page.press("Enter"));
    page.run("await waitText('has no value after the colon');");
    assert_eq!(page.run("return el('#f-q').value;"), "tool:");
    assert_no_page_errors(&page);
}
