//! Dashboard sessions over real HTTP: a session acts only as long as its key does. Revoking a
//! key ends its sessions at once, for reads and writes alike, and the key list says how many
//! sessions each key has.

mod support;

use serde_json::{Value, json};
use support::{Serve, call, call_with};

/// Signs in with `key`; returns the cookie header value and the CSRF token.
fn sign_in(url: &str, key: &str) -> (String, String) {
    let body = json!({"api_key": key}).to_string();
    let mut resp = support::agent()
        .post(format!("{url}/ui/session"))
        .header("Content-Type", "application/json")
        .header("Origin", url)
        .send(body.as_bytes())
        .expect("the server answers");
    assert_eq!(resp.status(), 200);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let info: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    (cookie, info["csrf_token"].as_str().unwrap().to_owned())
}

/// A request carrying only the session cookie (and the CSRF token for writes).
fn with_session(method: &str, url: &str, cookie: &str, csrf: &str, body: Option<&Value>) -> u16 {
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    let origin = format!("http://{host}");
    let body = body.map(Value::to_string);
    let headers = [
        ("Cookie", cookie),
        ("X-CSRF-Token", csrf),
        ("Origin", origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    call_with(
        method,
        url,
        None,
        &headers,
        body.as_deref().map(str::as_bytes),
    )
    .status
}

#[test]
fn revoking_a_key_ends_its_dashboard_sessions_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let root = server.admin_token();
    let keys_url = format!("{}/v1/logs/default/keys", server.url);
    let created = call(
        "POST",
        &keys_url,
        Some(&root),
        Some(
            json!({"role": "admin", "label": "ops"})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let (key, id) = (
        created.json()["key"].as_str().unwrap().to_owned(),
        created.json()["id"].as_str().unwrap().to_owned(),
    );

    let (cookie, csrf) = sign_in(&server.url, &key);
    let events = format!("{}/v1/logs/default/events", server.url);
    assert_eq!(with_session("GET", &events, &cookie, &csrf, None), 200);
    let listed = call("GET", &keys_url, Some(&root), None).json();
    let row = |listed: &Value| {
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id.as_str())
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&listed)["sessions"], 1, "{listed}");

    let revoked = call("DELETE", &format!("{keys_url}/{id}"), Some(&root), None);
    assert_eq!(revoked.status, 204, "{}", revoked.body);

    // The session is gone for reads, for minting a new key, and for the dashboard itself.
    assert_eq!(with_session("GET", &events, &cookie, &csrf, None), 401);
    let mint = json!({"role": "admin", "label": "persist"});
    assert_eq!(
        with_session("POST", &keys_url, &cookie, &csrf, Some(&mint)),
        401
    );
    let whoami = format!("{}/ui/session", server.url);
    assert_eq!(with_session("GET", &whoami, &cookie, &csrf, None), 401);
    let listed = call("GET", &keys_url, Some(&root), None).json();
    assert_eq!(row(&listed)["sessions"], 0, "{listed}");
    // Nothing was minted through the dead session.
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "{listed}");
}
