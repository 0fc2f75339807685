//! The pending-approvals page, in a real headless Chromium against the real binary: an admin
//! of the log sees the held calls (tool, agent, session, time; a hostile tool name as text),
//! approves one and rejects another with a reason, and the decisions are `human_oversight`
//! events naming the admin's key.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, js};
use fixture::*;
use serde_json::{Value, json};
use support::Serve;

const HOSTILE: &str = "<img src=x onerror=window.__pwned=1>";

fn held(id: &str, tool: &str, at: u64) -> Value {
    json!({
        "id": id, "ts": ts(at), "agent": {"id": "coder"}, "action": "tool_call",
        "status": "pending", "session": {"id": "s-approvals", "seq": 0},
        "context": {"tool": {"name": tool, "call_id": "1"}},
        "input": {"content": "the secret arguments"},
    })
}

#[test]
fn an_admin_approves_and_rejects_held_calls_from_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let root = server.admin_token();
    let (_, alice) = create_key(&server, &root, "admin", "alice");
    let now = now_ms();
    let (a, b) = (uuid_at(now - 2000, 1), uuid_at(now - 1000, 2));
    let mut second = held(&b, HOSTILE, now - 1000);
    second["session"]["id"] = json!("s-other");
    record(
        &server,
        &root,
        &[held(&a, "delete_file", now - 2000), second],
    );

    let chromium = Chromium::launch();
    let page = chromium.page(1200, 800);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &alice, "Checkpoint size");
    goto_hash(&page, "#/logs/default/approvals");
    let shown = page.run("return await waitText('delete_file');");
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains(HOSTILE) && shown.contains("coder") && shown.contains("s-approvals"),
        "{shown}"
    );
    assert!(!shown.contains("the secret arguments"), "{shown}");

    // Rows are newest first: the hostile one, then delete_file.
    page.click("document.querySelectorAll('table.approvals tbody tr')[1].querySelector('button')");
    page.run("await waitText('approved by alice');");
    page.type_into("document.getElementById('a-reason')", "not on prod");
    page.click(&format!(
        "[...document.querySelectorAll('table.approvals tbody tr')].find((r) => r.textContent.includes({}))?.querySelectorAll('button')[1]",
        js(HOSTILE)
    ));
    page.run("await waitText('No call is waiting for a decision.');");
    assert_no_page_errors(&page);
    assert_eq!(
        page.run("return window.__pwned === undefined;"),
        json!(true)
    );

    let decision =
        |id: &str| get(&server, &root, &format!("/v1/logs/default/approvals/{id}")).json();
    let (da, db) = (decision(&a), decision(&b));
    assert_eq!(
        (&da["decision"], &da["reviewer"]),
        (&json!("approved"), &json!("alice"))
    );
    assert_eq!(
        (&db["decision"], &db["reason"]),
        (&json!("rejected"), &json!("not on prod"))
    );
}
