//! A session recorded over OTLP in the dashboard: its events have no seq, so the timeline
//! says its completeness cannot be proven instead of "no gaps". The real `sealog serve`, real
//! HTTP and a real headless Chromium.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::Chromium;
use fixture::{assert_no_page_errors, create_key, goto_hash, sign_in};
use serde_json::json;
use support::{Serve, call_with};

#[test]
fn an_otlp_session_is_not_shown_as_complete() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (_, ingest) = create_key(&server, &admin, "ingest", "otel");
    let (_, read) = create_key(&server, &admin, "read", "reader");
    let span = |id: &str| {
        json!({"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": id, "name": "chat",
               "startTimeUnixNano": "1765000000000000000", "endTimeUnixNano": "1765000001000000000",
               "attributes": [
                 {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                 {"key": "gen_ai.conversation.id", "value": {"stringValue": "otel-conv"}}]})
    };
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [span("00f067aa0ba902b1"), span("00f067aa0ba902b2")]}]}]});
    let reply = call_with(
        "POST",
        &format!("{}/otlp/v1/traces", server.url),
        Some(&ingest),
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &read, "Checkpoint size");
    goto_hash(&page, "#/logs/default/sessions/otel-conv");
    let text = page.run("return await waitText('Span tree');");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("2 events · 2 events of this page carry no seq"),
        "{text}"
    );
    assert!(
        text.contains("cannot be proven") && !text.contains("no gaps"),
        "{text}"
    );
    assert_no_page_errors(&page);
}
