//! The dashboard's rendering time with a large log, for `bench/dashboard.sh` (an ignored test:
//! it measures, it does not check). Each main page is timed in a real headless Chromium against
//! a filled, running server.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, js};
use fixture::{assert_no_page_errors, goto_hash, sign_in};
use serde_json::Value;
use support::call;

/// The median of `xs` (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times the main pages in the browser against a server that `bench/dashboard.sh` started and
/// filled: `$SEALOG_BENCH_URL`, signed in with `$SEALOG_BENCH_TOKEN`, `$SEALOG_BENCH_RUNS` runs
/// of each page (default 5). Each run goes to the page from another one inside the app ("in
/// app": from the start of the app's render to its `sealog:page` measure, when the page shows
/// its data, and to the next frame drawn), then loads it afresh in a new document ("new load":
/// from navigation start to that measure). Prints a table; asserts only that every page showed
/// what it should, never how fast.
#[test]
#[ignore = "a benchmark against a filled server; run bench/dashboard.sh"]
fn render_times() {
    let url = std::env::var("SEALOG_BENCH_URL").expect("set SEALOG_BENCH_URL");
    let token = std::env::var("SEALOG_BENCH_TOKEN").expect("set SEALOG_BENCH_TOKEN");
    let runs: usize = std::env::var("SEALOG_BENCH_RUNS").map_or(5, |r| r.parse().unwrap());
    let api = |path: &str| {
        let r = call("GET", &format!("{url}{path}"), Some(&token), None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    };
    let info = api("/v1/logs/default");
    let newest = &api("/v1/logs/default/events?limit=1")["events"][0]["event"];
    let id = newest["id"].as_str().unwrap().to_owned();
    let session = newest["session"]["id"].as_str().unwrap().to_owned();
    let agent = newest["agent"]["id"].as_str().unwrap().to_owned();
    println!(
        "log size {}, index lag {}; event {id}, session {session}",
        info["size"], info["index_lag"]
    );

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{url}/"));
    sign_in(&page, &token, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(info["vkey"].as_str().unwrap())
    ));
    // The newest event's own microsecond: a time range that the zone maps narrow down.
    let at = sealog_storage::index::parse_ts(newest["ts"].as_str().unwrap()).unwrap();
    let (since, until) = (
        sealog_core::leaf::format_received(at),
        sealog_core::leaf::format_received(at + 1),
    );
    // (name, route, what the populated page shows)
    let pages = [
        (
            "logs overview",
            "#/".to_owned(),
            "document.querySelector('table.logs tbody tr')",
        ),
        (
            "events, no filter",
            "#/logs/default".to_owned(),
            "rows().length === 100",
        ),
        (
            "events, agent=",
            format!("#/logs/default?agent={agent}"),
            "rows().length === 100",
        ),
        (
            "events, session=",
            format!("#/logs/default?session={session}"),
            "rows().length > 0",
        ),
        (
            "events, action=&status=",
            "#/logs/default?action=tool_call&status=ok".to_owned(),
            "rows().length === 100",
        ),
        (
            "events, status=error (none)",
            "#/logs/default?status=error".to_owned(),
            "/0 events loaded/.test(text())",
        ),
        (
            "events, since=&until=",
            format!("#/logs/default?since={since}&until={until}"),
            "rows().length > 0",
        ),
        (
            "event + verify in browser",
            format!("#/logs/default/events/{id}"),
            "text().includes('Verified: entry')",
        ),
        (
            "session view",
            format!("#/logs/default/sessions/{session}"),
            "text().includes('Span tree')",
        ),
    ];
    println!(
        "\n| page | in app: data shown | in app: next frame | new load: data shown | slowest API call (in app, last run) |"
    );
    println!("|---|---|---|---|---|");
    for (name, route, shown) in &pages {
        let (mut ready, mut painted, mut loaded) = (Vec::new(), Vec::new(), Vec::new());
        let mut slowest = Value::Null;
        for run in 0..runs {
            // In the app: from an empty page to this one.
            goto_hash(&page, &format!("#/bench-{run}"));
            let m = page.run(&format!(
                "const measured = nextMeasure();
                 location.hash = {route};
                 const m = await measured;
                 const painted = await nextPaint();
                 await waitFor(() => {shown}, 'the populated page');
                 return {{ready: m.duration, painted: painted - m.startTime, api: apiSince(m.startTime)}};",
                route = js(route),
            ));
            ready.push(m["ready"].as_f64().unwrap());
            painted.push(m["painted"].as_f64().unwrap());
            slowest = m["api"][0].clone();
            // A new document: HTML, scripts, session check, then the page.
            page.goto("about:blank");
            page.goto(&format!("{url}/{route}"));
            let m = page.run(&format!(
                "const m = await waitFor(() => performance.getEntriesByName('sealog:page')[0], 'the page');
                 await waitFor(() => {shown}, 'the populated page');
                 return m.startTime + m.duration;"
            ));
            loaded.push(m.as_f64().unwrap());
        }
        let range = |xs: &mut Vec<f64>| {
            let med = median(xs);
            format!("{med:.0} ms ({:.0}–{:.0})", xs[0], xs[xs.len() - 1])
        };
        println!(
            "| {name} | {} | {} | {} | {} |",
            range(&mut ready),
            range(&mut painted),
            range(&mut loaded),
            match slowest.as_array() {
                Some(a) => format!("`{}` {} ms", a[0].as_str().unwrap(), a[1]),
                None => "–".to_owned(),
            }
        );
    }
    assert_no_page_errors(&page);
}
