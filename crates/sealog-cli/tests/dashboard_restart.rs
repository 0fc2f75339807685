//! A dashboard sign-in outlives a restart of the server: a reader signed in before an upgrade
//! or a crash is still signed in after it. The real `sealog serve`, restarted on its data
//! directory, and a real headless Chromium keeping its cookie.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::Chromium;
use fixture::{assert_no_page_errors, sign_in};
use support::Serve;

#[test]
fn a_sign_in_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let chromium = Chromium::launch();
    let page = chromium.page(1200, 800);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    assert!(server.terminate().success());

    // Cookies belong to the host, not the port: the restarted server gets the same cookie.
    let server = Serve::start(&data, &[]);
    page.goto(&format!("{}/", server.url));
    let shown = page.run(
        "return await waitFor(() => text().includes('Checkpoint size') ? 'signed in'
           : document.getElementById('api-key') ? 'asked for a key' : null, 'the page');",
    );
    assert_eq!(shown, "signed in");
    assert_no_page_errors(&page);
}
