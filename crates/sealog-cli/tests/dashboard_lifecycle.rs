//! The data lifecycle in the dashboard, in a real headless Chromium against the real binary:
//! an event's encrypted input and output are shown decrypted to a read key's session, as text
//! (hostile content never becomes markup), and as "content erased on T" once the subject was
//! erased; incidents are listed with their range, hold and sealed pack.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::Chromium;
use fixture::*;
use serde_json::{Value, json};
use support::Serve;

const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">PRIVATE-MARKER-51c2";

fn private_event(id: &str, subject: &str, now: u64) -> Value {
    json!({
        "id": id, "ts": ts(now), "agent": {"id": "support-bot"},
        "action": "llm_call", "status": "ok",
        "input": {"private": {"prompt": HOSTILE}},
        "output": {"private": "the answer"},
        "context": {"subject": {"pseudo_id": subject}},
    })
}

/// The text of the event page's private-content boxes, once filled.
fn shown(page: &cdp::Page<'_>) -> Vec<String> {
    let texts = page.run(
        "await waitFor(() => document.querySelectorAll('div.private-content > *').length === 2,
           'the private content');
         return [...document.querySelectorAll('div.private-content')].map((d) => d.textContent);",
    );
    serde_json::from_value(texts).unwrap()
}

#[test]
fn a_read_session_sees_decrypted_content_as_text_and_erased_content_says_when() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (_, read) = create_key(&server, &admin, "read", "auditor");
    let now = now_ms();
    let (one, two) = (uuid_at(now, 1), uuid_at(now, 2));
    record(
        &server,
        &admin,
        &[
            private_event(&one, "pseudo-1", now),
            private_event(&two, "pseudo-2", now),
        ],
    );

    let chromium = Chromium::launch();
    let page = chromium.page(1200, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &read, "Checkpoint size");
    goto_hash(&page, &format!("#/logs/default/events/{one}"));
    let boxes = shown(&page);
    assert!(boxes[0].contains("Decrypted content"), "{boxes:?}");
    assert!(
        boxes[0].contains(&serde_json::to_string(HOSTILE).unwrap()),
        "{boxes:?}"
    );
    assert!(boxes[1].contains("\"the answer\""), "{boxes:?}");
    let injected = page.run(
        "return {imgs: document.querySelectorAll('main img').length, pwned: window.__pwned ?? null};",
    );
    assert_eq!(injected, json!({"imgs": 0, "pwned": null}));

    let erased = post(
        &server,
        &admin,
        "/v1/logs/default/subjects/pseudo-1/erasure",
        &json!({"reason": "GDPR Art. 17"}),
    );
    assert_eq!(erased.status, 200, "{}", erased.body);
    let when = erased.json()["erased"].as_str().unwrap().to_owned();
    goto_hash(&page, &format!("#/logs/default/events/{two}"));
    assert!(
        shown(&page)[1].contains("\"the answer\""),
        "another subject is kept"
    );
    goto_hash(&page, &format!("#/logs/default/events/{one}"));
    let boxes = shown(&page);
    for b in &boxes {
        assert!(
            b.starts_with(&format!("content erased on {when}")),
            "{boxes:?}"
        );
        assert!(b.contains("GDPR Art. 17"), "{boxes:?}");
        assert!(!b.contains("PRIVATE-MARKER"), "{boxes:?}");
    }
    assert_no_page_errors(&page);
}

#[test]
fn incidents_are_listed_with_their_hold_and_a_pack_to_download() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (_, read) = create_key(&server, &admin, "read", "auditor");
    let now = now_ms();
    record(
        &server,
        &admin,
        &[private_event(&uuid_at(now, 1), "pseudo-1", now)],
    );
    let made = post(
        &server,
        &admin,
        "/v1/logs/default/incidents",
        &json!({"title": HOSTILE, "since": ts(now - 60_000), "until": ts(now + 60_000)}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();

    let chromium = Chromium::launch();
    let page = chromium.page(1400, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &read, "Checkpoint size");
    goto_hash(&page, "#/logs/default/incidents");
    let row = page.run(
        "await waitFor(() => document.querySelector('table.incidents tbody a'), 'the incident');
         const cells = [...document.querySelectorAll('table.incidents tbody td')];
         const a = document.querySelector('table.incidents tbody a');
         const got = await fetch(a.getAttribute('href'), {credentials: 'same-origin'});
         return {cells: cells.map((c) => c.textContent), href: a.getAttribute('href'),
           status: got.status, bytes: (await got.arrayBuffer()).byteLength,
           imgs: document.querySelectorAll('main img').length, pwned: window.__pwned ?? null};",
    );
    assert_eq!(row["cells"][0], HOSTILE, "{row}");
    assert_eq!(row["cells"][4], made["hold"], "{row}");
    assert!(
        row["cells"][5]
            .as_str()
            .unwrap()
            .starts_with("pack (3 events, SHA-256 "),
        "{row}"
    );
    assert_eq!(row["href"], made["pack"]["url"], "{row}");
    assert_eq!(
        (&row["status"], &row["bytes"]),
        (&json!(200), &made["pack"]["bytes"]),
        "{row}"
    );
    assert_eq!((&row["imgs"], &row["pwned"]), (&json!(0), &Value::Null));
    assert_no_page_errors(&page);
}
