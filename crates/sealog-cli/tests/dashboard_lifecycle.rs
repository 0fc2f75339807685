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

/// An admin freezes an incident with the form (typed into its labelled fields): an error of
/// the API is shown as the API said it, the incident is then listed and its pack downloads
/// and verifies; a read key's session lists incidents but has no form.
#[test]
fn an_admin_freezes_an_incident_with_the_form_and_downloads_its_pack() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (_, read) = create_key(&server, &admin, "read", "auditor");
    let now = now_ms();
    record(
        &server,
        &admin,
        &[
            private_event(&uuid_at(now, 1), "pseudo-1", now),
            private_event(&uuid_at(now, 2), "pseudo-2", now),
        ],
    );

    let chromium = Chromium::launch();
    let page = chromium.page(1400, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    goto_hash(&page, "#/logs/default/incidents");
    page.run("await waitText('Freeze an incident');");
    let field = |id: &str| format!("document.getElementById('{id}')");
    page.type_into(&field("i-title"), HOSTILE);
    page.type_into(&field("i-subject"), "pseudo-1");
    page.type_into(&field("i-reason"), "serious incident report 7");
    // The range as local times in the datetime fields; first backwards, which the API refuses.
    let set_range = |from_ms: u64, to_ms: u64| {
        page.run(&format!(
            "const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000)
               .toISOString().slice(0, 19);
             document.getElementById('i-since').value = local({from_ms});
             document.getElementById('i-until').value = local({to_ms});"
        ));
    };
    set_range(now + 60_000, now - 60_000);
    page.click("el('form.freeze button', 'Freeze')");
    let refused = page.run(
        "return (await waitFor(() => document.querySelector('main p.error'), 'the error')).textContent;",
    );
    assert_eq!(refused, "since must be before until");
    set_range(now - 60_000, now + 60_000);
    page.type_into(&field("i-reason"), "serious incident report 7");
    page.press("Enter");
    let row = page.run(
        "await waitText('frozen: its range is held');
         await waitFor(() => document.querySelector('table.incidents tbody a'), 'the pack link');
         const cells = [...document.querySelectorAll('table.incidents tbody td')];
         const a = document.querySelector('table.incidents tbody a');
         const got = new Uint8Array(await (await fetch(a.getAttribute('href'),
           {credentials: 'same-origin'})).arrayBuffer());
         let bin = '';
         for (const b of got) bin += String.fromCharCode(b);
         return {cells: cells.map((c) => c.textContent), pack: btoa(bin),
           imgs: document.querySelectorAll('main img').length, pwned: window.__pwned ?? null};",
    );
    assert_eq!(row["cells"][0], HOSTILE, "{row}");
    assert_eq!(row["cells"][2], "subject pseudo-1", "{row}");
    // Event 1 (pseudo-1's), the hold's event and the incident's.
    assert!(
        row["cells"][5]
            .as_str()
            .unwrap()
            .starts_with("pack (3 events, SHA-256 "),
        "{row}"
    );
    assert_eq!((&row["imgs"], &row["pwned"]), (&json!(0), &Value::Null));
    use base64::Engine as _;
    let pack = base64::engine::general_purpose::STANDARD
        .decode(row["pack"].as_str().unwrap())
        .unwrap();
    let path = dir.path().join("incident.zip");
    std::fs::write(&path, &pack).unwrap();
    support::verify(&path, &fixture::vkey(&server, &admin, "default"));
    let listed = get(&server, &admin, "/v1/logs/default/incidents").json();
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        listed["incidents"][0]["reason"],
        "serious incident report 7"
    );
    assert_no_page_errors(&page);

    // A read key's session lists the incident, without the form.
    fixture::then_fresh(&page, || page.click("el('#nav button', 'Sign out')"));
    sign_in(&page, &read, "Checkpoint size");
    goto_hash(&page, "#/logs/default/incidents");
    let seen = page.run(
        "await waitFor(() => document.querySelector('table.incidents tbody a'), 'the incident');
         return {form: document.querySelector('form.freeze') !== null,
           fields: document.querySelectorAll('main input').length};",
    );
    assert_eq!(seen, json!({"form": false, "fields": 0}));
    assert_no_page_errors(&page);
}
