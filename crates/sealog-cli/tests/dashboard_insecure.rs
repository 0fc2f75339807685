//! The dashboard over plain HTTP on a host name, as a team's internal `http://sealog.intra:8080/`
//! would be: not a secure context, so the browser offers no WebCrypto. The real `sealog serve`,
//! a real headless Chromium that reaches it as `http://sealog.test:PORT/`
//! (`--host-resolver-rules`), real clicks and typing.
//!
//! A reader pins the log key and opens an event: its inclusion proof and checkpoint signature
//! are checked by the vendored JavaScript verify.js falls back to, and the page says so. The
//! same event is refused when the proof is tampered with on its way to the page (a flipped
//! signature bit, a flipped inclusion-hash bit) and when another log's key is pinned, and
//! verified again once the tampering stops.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, INSECURE_HOST_RULES, js};
use fixture::{GAP_SESSION, create_key, goto_hash, key_name, post, record, sign_in, vkey};
use serde_json::{Value, json};
use support::Serve;

/// Installed in the page: every proof response goes through `window.__tamper(text)` while
/// that is set, as a machine in the middle would change it. The helpers flip one bit of the
/// pinned key's signature or of the first inclusion hash, and re-encode it canonically, so
/// that the receipt still parses and the cryptographic check is what refuses it.
const TAMPER: &str = r#"
if (!window.__realFetch) {
  window.__realFetch = window.fetch.bind(window);
  window.__tamper = null;
  window.__tampered = 0;
  window.fetch = async (input, init) => {
    const res = await window.__realFetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (!window.__tamper || !url.pathname.endsWith('/proof')) return res;
    const text = new TextDecoder().decode(await res.arrayBuffer());
    const changed = window.__tamper(text);
    if (changed === text) throw new Error('the tampering changed nothing');
    window.__tampered++;
    return new Response(changed, { status: res.status, headers: res.headers });
  };
  const flip = (b64, at) => {
    const b = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    b[at] ^= 1;
    return btoa(String.fromCharCode(...b));
  };
  window.__flipSignature = (keyName) => (text) => text.split('\n').map((l) =>
    (l.startsWith(`\u2014 ${keyName} `) ? `\u2014 ${keyName} ${flip(l.slice(keyName.length + 3), 4 + 10)}` : l)).join('\n');
  window.__flipInclusionHash = (text) => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('index ')) + 1;
    if (lines[at] === '') throw new Error('no inclusion hash to flip');
    lines[at] = flip(lines[at], 0);
    return lines.join('\n');
  };
}
"#;

/// The proof section of the event page once it has a verdict.
fn verdict(page: &cdp::Page) -> String {
    page.run(
        "return (await waitFor(() => {
           const p = document.querySelector('section.proof');
           return p && /Verified|Not verified/.test(p.textContent) && p.textContent;
         }, 'the proof check')).trim();",
    )
    .as_str()
    .unwrap()
    .to_owned()
}

#[test]
fn an_event_is_verified_in_the_browser_without_webcrypto_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let signer = key_name(&log_vkey);
    let other = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(other.status, 201, "{}", other.body);
    let other_vkey = other.json()["vkey"].as_str().unwrap().to_owned();
    let (_, reader) = create_key(&server, &admin, "read", "auditor");
    let (_, ingest) = create_key(&server, &admin, "ingest", "agents");
    let events = fixture::events(fixture::now_ms());
    let recorded = record(&server, &ingest, &events);
    let flag = events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();
    let flag_id = flag["id"].as_str().unwrap();
    let flag_rec = &recorded[flag_id];
    assert!(
        flag_rec.index > 0,
        "the event has a non-empty inclusion proof"
    );

    let chromium = Chromium::launch_with(&[INSECURE_HOST_RULES]);
    let page = chromium.page(1280, 900);
    let port = server.url.rsplit_once(':').unwrap().1;
    let origin = format!("http://sealog.test:{port}");
    page.goto(&format!("{origin}/"));
    assert_eq!(
        page.run("return [location.origin, isSecureContext, typeof crypto.subtle];"),
        json!([origin, false, "undefined"]),
        "a plain-HTTP host name: no secure context, no WebCrypto"
    );

    // Sign in and pin the key by typing it, as over HTTPS: its key ID is checked with the
    // fallback's SHA-256.
    sign_in(&page, &reader, "Checkpoint size");
    goto_hash(&page, &format!("#/logs/default?session={GAP_SESSION}"));
    page.type_into("document.querySelector('details.card input')", &log_vkey);
    page.click("el('button', 'Pin key')");
    page.run(&format!(
        "await waitText({});",
        js(&format!("Pinned {signer}."))
    ));
    // A key whose ID does not match is refused there, before any proof is checked.
    let mut bad_id = log_vkey.clone();
    let at = bad_id.find('+').unwrap() + 1;
    let swapped = if &bad_id[at..=at] == "0" { "1" } else { "0" };
    bad_id.replace_range(at..=at, swapped);
    page.type_into("document.querySelector('details.card input')", &bad_id);
    page.click("el('button', 'Pin key')");
    page.run("await waitText('does not match the key (expected');");

    // The event page: verified on the vendored code, and it says which.
    page.click(&format!("el('table.events a', {})", js(flag_id)));
    let proof = verdict(&page);
    assert!(
        proof.contains(&format!(
            "Verified: entry {} of test.local/default",
            flag_rec.index
        )),
        "{proof}"
    );
    assert!(proof.contains(&format!("signed by {signer}.")), "{proof}");
    assert!(
        proof.contains(
            "checked withSHA-256 by @noble/hashes 2.4.0, Ed25519 by @noble/ed25519 3.2.0: \
             JavaScript shipped with the dashboard"
        ),
        "{proof}"
    );
    // The leaf hash computed in the page is the one the server reported at ingest.
    assert!(
        proof.contains(&format!("leaf hash{}", flag_rec.leaf_hash)),
        "{proof}"
    );
    let loaded = page.run(
        "return performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname)
           .filter((p) => p.startsWith('/assets/vendor/')).sort();",
    );
    assert_eq!(
        loaded,
        json!([
            "/assets/vendor/noble-ed25519/index.js",
            "/assets/vendor/noble-hashes/_md.js",
            "/assets/vendor/noble-hashes/_u64.js",
            "/assets/vendor/noble-hashes/sha2.js",
            "/assets/vendor/noble-hashes/utils.js",
        ]),
        "the fallback came from this server"
    );

    // Tampered on the way: one bit of the signature, then one bit of an inclusion hash.
    page.run(TAMPER);
    let event_hash = format!("#/logs/default/events/{flag_id}");
    let cases: [(&str, String, String); 2] = [
        (
            "signature",
            format!(
                "window.__flipSignature({})",
                js(signer.split_once('+').unwrap().0)
            ),
            format!("Not verified: invalid signature from the pinned key {signer}"),
        ),
        (
            "inclusion",
            "window.__flipInclusionHash".into(),
            format!(
                "Not verified: the leaf is not in the tree at index {}: computed root does not \
                 match the checkpoint root",
                flag_rec.index
            ),
        ),
    ];
    for (n, (name, tamper, refusal)) in cases.iter().enumerate() {
        page.run(&format!("window.__tamper = {tamper};"));
        goto_hash(&page, &format!("{event_hash}?tampered={name}"));
        let proof = verdict(&page);
        assert!(proof.contains(refusal), "{name}: {proof}");
        assert!(!proof.contains("Verified:"), "{name}: {proof}");
        assert_eq!(
            page.run("return window.__tampered;"),
            json!(n + 1),
            "{name}: the proof went through the tampering"
        );
    }
    // Untouched again, the same proof verifies.
    page.run("window.__tamper = null;");
    goto_hash(&page, &format!("{event_hash}?tampered=no"));
    let proof = verdict(&page);
    assert!(
        proof.starts_with("Inclusion proofVerified: entry"),
        "{proof}"
    );

    // Another log's key pinned instead: refused, naming both keys.
    page.click("el('details.card summary')");
    page.type_into("document.querySelector('details.card input')", &other_vkey);
    then_verdict_changes(&page, || page.click("el('button', 'Pin key')"));
    let proof = verdict(&page);
    assert!(
        proof.contains(&format!(
            "Not verified: checkpoint is not signed by the pinned key {} (it is signed by {signer})",
            key_name(&other_vkey)
        )),
        "{proof}"
    );
    fixture::assert_no_page_errors(&page);
}

/// Runs `action` and waits until the proof section shows a new verdict.
fn then_verdict_changes(page: &cdp::Page, action: impl FnOnce()) {
    page.run(
        "for (const c of document.querySelector('section.proof').children) c.dataset.testStale = '1';",
    );
    action();
    let fresh: Value = page.run(
        "return await waitFor(() => [...document.querySelector('section.proof').querySelectorAll('p.good, p.bad')]
           .some((p) => !p.dataset.testStale), 'the new verdict');",
    );
    assert_eq!(fresh, json!(true));
}
