//! Signing in to the dashboard and out of it, end to end: the real `sealog serve`, real HTTP
//! and a real headless Chromium driven with real typing and clicks (`dashboard/cdp.rs`). A
//! reader's key opens a session cookie that script cannot read and that dies with sign-out; an
//! admin creates and revokes a key while forged requests without the CSRF token fail, and when
//! the session ends elsewhere the open page asks for a key again.

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
use fixture::*;
use reader::*;
use serde_json::{Value, json};
use support::{Serve, call_with};

#[test]
fn a_reader_signs_in_holds_a_cookie_script_cannot_read_and_signs_out() {
    let demo = demo_log();
    let (server, ingest_key, read_key, read_id) = (
        &demo.server,
        &demo.ingest_key,
        &demo.read_key,
        &demo.read_id,
    );
    let flag_id = demo.gap_flag_id();
    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));

    // Sign-in refuses an ingest key and a wrong key, then takes the read key.
    sign_in(&page, ingest_key, "ingest keys cannot sign in");
    sign_in(&page, "sealog_not_a_key", "invalid API key");
    assert!(session_cookie(&page, server).is_none());
    sign_in(&page, read_key, "Checkpoint size");
    assert_eq!(
        page.run("return document.getElementById('api-key');"),
        Value::Null,
        "the key field is gone"
    );
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str()
            .unwrap()
            .contains(&format!("{read_id} · read · log default")),
        "{nav}"
    );
    let cookie = session_cookie(&page, server).expect("a session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/", "{cookie}");
    assert_eq!(cookie["secure"], false, "plain HTTP: {cookie}");
    assert_eq!(
        page.run("return document.cookie;"),
        "",
        "script cannot read it"
    );
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    assert_eq!(
        with_cookie(server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        200
    );

    // Keys are for admins: a read key sees no Keys tab, but it may list the incidents.
    goto_hash(&page, "#/logs/default");
    assert_eq!(
        page.run(
            "await waitFor(() => document.querySelector('nav.tabs a'), 'the log tabs');
             return [...document.querySelectorAll('nav.tabs a')].map((a) => a.textContent);"
        ),
        json!(["Events", "Export", "Incidents"])
    );
    assert_no_page_errors(&page);

    // Sign out: the cookie is gone from the browser and dead on the server.
    then_fresh(&page, || page.click("el('#nav button', 'Sign out')"));
    page.run("await waitText('API key (read or admin)');");
    assert!(session_cookie(&page, server).is_none());
    assert_eq!(page.run("return (await fetch('/ui/session')).status;"), 401);
    assert_eq!(
        with_cookie(server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        401
    );
    assert_eq!(with_cookie(server, "GET", "/ui/session", &stolen), 401);
    // A deep link now asks for a key instead of showing data.
    goto_hash(&page, &format!("#/logs/default/events/{flag_id}"));
    page.run("await waitText('API key (read or admin)');");
    assert!(
        !page
            .run("return text();")
            .as_str()
            .unwrap()
            .contains("policy_flag")
    );
}

#[test]
fn an_admin_creates_and_revokes_a_key_forgeries_fail_and_an_ended_session_asks_for_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let keys_of = |server: &Serve| {
        get(server, &admin, "/v1/logs/default/keys").json()["keys"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = keys_of(&server).len();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str().unwrap().contains("· admin · all logs"),
        "{nav}"
    );
    page.click("el('table.logs a', 'default')");
    page.click("el('nav.tabs a', 'Keys')");
    page.run("await waitText('Create a key');");

    // Create a read key with a label that looks like markup.
    page.type_into("document.getElementById('k-label')", "ci <b>bot</b>");
    page.run("el('#k-role').value = 'read';");
    page.click("el('form.card button', 'Create')");
    page.run("await waitText('Copy it now');");
    let secret = page.run("return el('pre.cmd').textContent;");
    let secret = secret.as_str().unwrap().to_owned();
    let keys = keys_of(&server);
    assert_eq!(keys.len(), before + 1);
    let new = keys.iter().find(|k| k["label"] == "ci <b>bot</b>").unwrap();
    assert_eq!(new["role"], "read");
    let new_id = new["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&server, &secret, "/v1/logs/default/events?limit=1").status,
        200,
        "the secret shown is the key's"
    );
    let row = page.run(&format!(
        "await waitFor(() => [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id}), 'the new key');
         const tr = [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id});
         return {{cells: [...tr.cells].map((c) => c.textContent), bold: tr.querySelectorAll('b').length}};",
        id = js(&new_id)
    ));
    assert_eq!(row["cells"][1], "ci <b>bot</b>", "the label as text");
    assert_eq!(row["bold"], 0);

    // The session cookie alone cannot change anything: without the CSRF token, or with a
    // wrong one, creating a key is refused and nothing is created.
    let forged = page.run(
        "const post = (headers) => fetch('/v1/logs/default/keys', {method: 'POST',
           headers: {'Content-Type': 'application/json', ...headers},
           body: JSON.stringify({label: 'forged', role: 'admin'})}).then((r) => r.status);
         return [await post({}), await post({'X-CSRF-Token': '0'.repeat(64)})];",
    );
    assert_eq!(forged, json!([401, 401]));
    let forged_delete = page.run(&format!(
        "return (await fetch('/v1/logs/default/keys/' + {}, {{method: 'DELETE'}})).status;",
        js(&new_id)
    ));
    assert_eq!(forged_delete, 401);
    assert_eq!(keys_of(&server).len(), before + 1);
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 200);

    // Revoke it with its button (the confirmation dialog answered "OK").
    page.click(&format!(
        "[...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).querySelector('button')",
        js(&new_id)
    ));
    page.run(&format!(
        "await waitText({});",
        js(&format!("Key {new_id} revoked."))
    ));
    let dialogs = page.events("Page.javascriptDialogOpening");
    assert_eq!(dialogs.len(), 1, "{dialogs:?}");
    assert_eq!(
        dialogs[0]["message"],
        format!("Revoke key {new_id}?").as_str()
    );
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 401);
    let revoked = keys_of(&server)
        .into_iter()
        .find(|k| k["id"] == new_id.as_str())
        .unwrap();
    assert!(!revoked["revoked"].is_null(), "{revoked}");
    // When the page says so, its list says so too.
    let state = page.run(&format!(
        "return [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).cells[4].textContent;",
        js(&new_id)
    ));
    assert!(state.as_str().unwrap().starts_with("revoked"), "{state}");
    assert_no_page_errors(&page);

    // The session ends elsewhere (as when it expires): the open overview notices at its next
    // refresh and asks for a key again.
    goto_hash(&page, "#/");
    page.run("await waitText('Checkpoint size');");
    let cookie = session_cookie(&page, &server).unwrap();
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    let me = call_with(
        "GET",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen)],
        None,
    );
    assert_eq!(me.status, 200, "{}", me.body);
    let csrf = me.json()["csrf_token"].as_str().unwrap().to_owned();
    let ended = call_with(
        "DELETE",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(ended.status, 204, "{}", ended.body);
    page.run("await waitFor(() => document.getElementById('api-key'), 'the sign-in form', 8000);");
    assert_eq!(with_cookie(&server, "GET", "/ui/session", &stolen), 401);
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/keys", &stolen),
        401
    );
}
