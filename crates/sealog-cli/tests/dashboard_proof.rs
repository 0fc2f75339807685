//! An event's inclusion proof checked in the dashboard, end to end: the reader pins the log
//! key as the operator handed it out, opens a flagged event and sees its proof verified in the
//! browser, then refused against another log's key. The real `sealog serve`, real HTTP and a
//! real headless Chromium.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/demo.rs"]
mod demo;
#[path = "dashboard/fixture.rs"]
mod fixture;
#[path = "dashboard/reader.rs"]
mod reader;
mod support;

use cdp::{Chromium, js};
use demo::*;
use fixture::*;
use reader::*;
use serde_json::Value;

#[test]
fn a_reader_verifies_an_events_proof_against_the_pinned_key_only() {
    let demo = demo_log();
    let (server, admin, events, recorded) =
        (&demo.server, &demo.admin, &demo.events, &demo.recorded);
    let (log_vkey, other_vkey) = (&demo.log_vkey, &demo.other_vkey);
    let key_name = key_name(log_vkey);
    let gap_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["session"]["id"] == GAP_SESSION)
        .collect();
    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    sign_in_reader(&page, &demo);

    // Pin the log key, typed in as the operator handed it out.
    goto_hash(&page, &format!("#/logs/default?session={GAP_SESSION}"));
    assert_eq!(explorer_rows(&page).len(), GAP_SESSION_EVENTS);
    pin_key(&page, log_vkey);

    // Open the flagged event: its proof is checked in the browser against the pinned key.
    let flag = gap_events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();
    let flag_id = flag["id"].as_str().unwrap();
    let flag_rec = &recorded[flag_id];
    page.click(&format!("el('table.events a', {})", js(flag_id)));
    let detail = page.run("return await waitText('Verified: entry');");
    let detail = detail.as_str().unwrap();
    let cp_size = number_after(detail, "in the checkpoint of size ");
    let log_size = get(server, admin, "/v1/logs/default").json()["size"]
        .as_u64()
        .unwrap();
    assert!(cp_size > flag_rec.index && cp_size <= log_size, "{detail}");
    assert!(
        detail.contains(&format!(
            "Verified: entry {} of test.local/default, in the checkpoint of size {cp_size} signed by {key_name}.",
            flag_rec.index
        )),
        "{detail}"
    );
    assert!(!detail.contains("Proof verified, but"), "{detail}");
    assert!(detail.contains("What this proves") && detail.contains("What it does not prove"));
    let proof = page.run(
        "const dd = [...document.querySelectorAll('section.proof dt')].find((d) => d.textContent === 'leaf hash');
         return dd.nextElementSibling.textContent;",
    );
    assert_eq!(proof, flag_rec.leaf_hash.as_str(), "the verified leaf hash");
    for shown in [
        "policy_flag",
        "blocked",
        "refund-limit",
        "needs_review",
        "sess-refund-4821 #4",
    ] {
        assert!(
            detail.contains(shown),
            "event detail lacks {shown:?}: {detail}"
        );
    }
    // JSON is laid out on lines (with the control characters inside strings escaped).
    let attributes = page.run(
        "const card = [...document.querySelectorAll('section.card')].find((c) => c.querySelector('h2').textContent === 'Attributes');
         return card.querySelector('pre').textContent;",
    );
    assert_eq!(
        attributes,
        "{\n  \"amount_eur\": 742,\n  \"order\": \"4821\"\n}"
    );
    let leaf = page.run("return el('section.proof pre').textContent;");
    assert!(
        leaf.as_str()
            .unwrap()
            .contains(&format!("\"id\":\"{flag_id}\"")),
        "{leaf}"
    );

    // Against another log's key the same proof is refused; the right key verifies it again.
    page.click("el('details.card summary')");
    page.click("el('button', 'Unpin')");
    page.run("await waitText('Pin the log key above');");
    page.type_into("document.querySelector('details.card input')", other_vkey);
    page.click("el('button', 'Pin key')");
    let refused = page.run("return await waitText('Not verified');");
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("checkpoint is not signed by the pinned key test.local/staging+"),
        "{refused}"
    );
    page.click("el('button', 'Unpin')");
    page.type_into("document.querySelector('details.card input')", log_vkey);
    page.click("el('button', 'Pin key')");
    page.run("await waitText('Verified: entry');");
    assert_no_page_errors(&page);
}
