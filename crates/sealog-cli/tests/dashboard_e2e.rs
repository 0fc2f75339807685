//! The README's screenshots (`scripts/screenshots`): an ignored test that renders the main
//! pages over the demo log in a real headless Chromium. The dashboard's end-to-end tests are
//! by concept: `dashboard_sign_in.rs`, `dashboard_explorer.rs`, `dashboard_proof.rs`,
//! `dashboard_session_export.rs`, `dashboard_details.rs`; hostile event data is in
//! `dashboard_xss.rs`, accessibility in `dashboard_a11y.rs`, plain HTTP in
//! `dashboard_insecure.rs`, timings in `dashboard_render.rs`.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/demo.rs"]
mod demo;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, js};
use demo::*;
use fixture::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::Serve;

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
