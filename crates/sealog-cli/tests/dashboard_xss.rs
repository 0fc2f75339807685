//! Hostile event data in the dashboard, in a real headless Chromium against the real binary:
//! events whose fields carry script, HTML, entities, control and bidi characters, attribute
//! breakers and `javascript:` URLs are recorded through the API and shown on every page that
//! lays out an event; none of it executes or becomes markup, and the Content-Security-Policy
//! never has to block anything.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, js};
use fixture::*;
use serde_json::{Value, json};
use support::Serve;

const H_SCRIPT: &str = "<script>document.title='pwned';window.__pwned=1</script>";
const H_IMG: &str = "<img src=x onerror=\"document.title='pwned';window.__pwned=2\">";
const H_ENTITIES: &str = "&lt;b&gt;&amp;&#x3C;script&#x3E;";
/// Control characters are refused in identifiers, so they go into free text and attributes.
const H_CONTROL: &str = "ctl\u{0}\u{1b}[31m\u{202e}rev\u{7f}";
const H_ATTR: &str = "\"><svg onload=window.__pwned=3>";
const H_URL: &str = "javascript:window.__pwned=4";
/// A bidirectional override is allowed in identifiers; it must still be shown visibly.
const H_BIDI: &str = "admin\u{202e}gnp.exe";

fn hostile_events(now: u64) -> Vec<Value> {
    let t = now - 60_000;
    let agent =
        json!({"id": H_IMG, "name": H_SCRIPT, "version": H_ENTITIES, "environment": H_BIDI});
    let main = json!({
        "id": uuid_at(t, 1), "ts": ts(t + 500), "started": ts(t),
        "agent": agent, "action": "x-evil", "status": "ok",
        "session": {"id": H_SCRIPT, "seq": 0},
        "trace": {"trace_id": hex_id(1, 32), "span_id": hex_id(2, 16)},
        "input": {"content": {"html": format!("{H_SCRIPT}{H_IMG}"), "link": H_URL, "ctl": H_CONTROL}},
        "output": {"content": H_ATTR, "media_type": "text/html"},
        "context": {
            "tool": {"name": H_URL, "call_id": H_IMG},
            "oversight": {"reviewer": H_IMG, "decision": "approved", "reason": H_CONTROL},
            "x-evil": {H_SCRIPT: H_IMG, "ctl": H_CONTROL}
        },
        "attributes": {H_SCRIPT: H_CONTROL, "entities": H_ENTITIES, "attr": H_ATTR, "url": H_URL}
    });
    let oversight = json!({
        "id": uuid_at(t, 2), "ts": ts(t + 3000),
        "agent": {"id": "bot"}, "action": "human_oversight", "status": "ok",
        "session": {"id": H_SCRIPT, "seq": 2},
        "trace": {"trace_id": hex_id(1, 32), "span_id": hex_id(3, 16), "parent_span_id": hex_id(2, 16)},
        "context": {"oversight": {"reviewer": H_ATTR, "decision": "rejected", "reason": H_SCRIPT}}
    });
    vec![main, oversight]
}

#[test]
fn hostile_event_fields_render_as_text_and_nothing_executes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let events = hostile_events(now_ms());
    let recorded = record(&server, &admin, &events);
    let hostile_id = events[0]["id"].as_str().unwrap();
    let label_r = post(
        &server,
        &admin,
        "/v1/logs/default/keys",
        &json!({"role": "read", "label": H_IMG}),
    );
    assert_eq!(label_r.status, 201, "{}", label_r.body);

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(&log_vkey)
    ));

    let mut seen = Vec::new();
    let mut visit = |label: &str, hash: String, ready: &str| {
        goto_hash(&page, &hash);
        page.run(&format!("await waitText({});", js(ready)));
        // Give anything that might fire late (image errors, SVG loads) the time to do it.
        page.run("await sleep(300);");
        let got = page.run(&format!("return inspect({});", js(label)));
        seen.push(got);
    };
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    visit("events", "#/logs/default".into(), "loaded (end)");
    visit(
        "filtered",
        format!("#/logs/default?agent={}", enc(H_IMG)),
        "1 event loaded (end)",
    );
    visit(
        "detail",
        format!("#/logs/default/events/{hostile_id}"),
        "Verified: entry",
    );
    visit(
        "session",
        format!("#/logs/default/sessions/{}", enc(H_SCRIPT)),
        "Span tree",
    );
    visit("keys", "#/logs/default/keys".into(), "Create a key");
    visit(
        "export",
        format!("#/logs/default/export?agent={}", enc(H_IMG)),
        "Download evidence pack",
    );
    let export_href = page.run("return el('a.button').getAttribute('href');");

    assert!(
        page.events("Page.javascriptDialogOpening").is_empty(),
        "a dialog opened"
    );
    for p in &seen {
        let label = p["label"].as_str().unwrap();
        assert_eq!(p["pwned"], Value::Null, "{label}: a hostile script ran");
        assert_ne!(p["title"], "pwned", "{label}: a payload changed the title");
        assert_eq!(p["suspicious"], json!([]), "{label}: injected markup");
        assert_eq!(
            p["violations"],
            json!([]),
            "{label}: CSP had to block something"
        );
        assert_eq!(p["errors"], json!([]), "{label}: the page threw");
        let text = p["text"].as_str().unwrap();
        for raw in ['\u{0}', '\u{1b}', '\u{202e}', '\u{7f}'] {
            assert!(
                !text.contains(raw),
                "{label}: raw control character {raw:?} shown"
            );
        }
    }
    let text = |label: &str| {
        seen.iter().find(|p| p["label"] == label).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for s in [H_IMG, H_SCRIPT] {
        assert!(text("events").contains(s), "events list lacks {s:?}");
        assert!(text("filtered").contains(s), "filtered list lacks {s:?}");
    }
    let detail = text("detail");
    for s in [
        H_SCRIPT,
        H_IMG,
        H_ENTITIES,
        H_ATTR,
        H_URL,
        "admin\\u202egnp.exe",
        // Free text shown as a value, and inside JSON (where JSON escapes some controls).
        "ctl\\u0000\\u001b[31m\\u202erev\\u007f",
    ] {
        assert!(detail.contains(s), "event detail lacks {s:?}: {detail}");
    }
    // The hostile event's own proof verifies, and is this event's.
    let index = recorded[hostile_id].index;
    assert!(
        detail.contains(&format!("Verified: entry {index} of test.local/default")),
        "{detail}"
    );
    assert!(!detail.contains("Proof verified, but"), "{detail}");
    let session = text("session");
    assert!(session.contains("Gap: seq 1 missing"), "{session}");
    assert!(
        session.contains(&format!("oversight: rejected by {H_ATTR}")),
        "{session}"
    );
    assert!(text("keys").contains(H_IMG), "the hostile key label");
    assert_eq!(
        export_href,
        "/v1/logs/default/export?agent=%3Cimg+src%3Dx+onerror%3D%22document.title%3D%27pwned%27%3Bwindow.__pwned%3D2%22%3E"
    );
}
