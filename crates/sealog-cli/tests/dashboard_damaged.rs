//! A log the server could not open is shown on the dashboard's logs page with the reason, as
//! the real `sealog serve` reports it, in a real headless Chromium; the other logs are listed
//! and served as usual.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::Chromium;
use fixture::{assert_no_page_errors, sign_in};
use serde_json::json;
use support::{Serve, call, event, uuid7};

#[test]
fn a_damaged_log_is_named_on_the_logs_page_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let r = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&admin),
        Some(br#"{"name": "second"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let events: Vec<_> = (0..5).map(|i| event(&uuid7(i), "a")).collect();
    let body = json!({ "events": events }).to_string();
    let url = format!("{}/v1/logs/second/events?wait=checkpoint", server.url);
    assert_eq!(
        call("POST", &url, Some(&admin), Some(body.as_bytes())).status,
        200
    );
    assert!(server.terminate().success());
    // Entries the signed checkpoint covers go missing: the log must not be served.
    let segment = data
        .join("logs/second/entries")
        .join(format!("{:020}.seg", 0));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(10).unwrap();

    let server = Serve::start(&data, &[]);
    let chromium = Chromium::launch();
    let page = chromium.page(1200, 800);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    let shown = page.run(
        "return await waitFor(() => document.querySelector('.damaged-logs')?.textContent || null,
           'the damaged logs');",
    );
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("Log second could not be opened and is not served")
            && shown.contains("sealog fsck"),
        "{shown}"
    );
    let listed = page.run("return document.querySelector('table.logs').textContent;");
    assert!(listed.as_str().unwrap().contains("default"), "{listed}");
    assert_no_page_errors(&page);
}
