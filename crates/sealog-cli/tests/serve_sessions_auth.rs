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

/// A new read key of log `default`; returns its secret and id.
fn read_key(server: &Serve, admin: &str) -> (String, String) {
    let url = format!("{}/v1/logs/default/keys", server.url);
    let r = call("POST", &url, Some(admin), Some(br#"{"role": "read"}"#)).json();
    (
        r["key"].as_str().unwrap().to_owned(),
        r["id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_sign_in_survives_a_restart_and_a_revocation_still_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (key, id) = read_key(&server, &admin);
    let (cookie, csrf) = sign_in(&server.url, &key);
    let data = server.data.clone();
    drop(server);

    let server = Serve::start(&data, &[]);
    let logs = format!("{}/v1/logs/default", server.url);
    assert_eq!(with_session("GET", &logs, &cookie, &csrf, None), 200);
    assert_eq!(
        with_session(
            "GET",
            &format!("{}/ui/session", server.url),
            &cookie,
            &csrf,
            None
        ),
        200
    );
    let file = std::fs::read_to_string(data.join("sessions.json")).unwrap();
    let secret = cookie.split_once('=').unwrap().1;
    assert!(
        !file.contains(secret),
        "the file holds the cookie's hash, not the cookie"
    );
    let revoke = format!("{}/v1/logs/default/keys/{id}", server.url);
    assert_eq!(call("DELETE", &revoke, Some(&admin), None).status, 204);
    assert_eq!(with_session("GET", &logs, &cookie, &csrf, None), 401);
}

#[test]
fn a_key_holds_a_bounded_number_of_sessions_and_cannot_sign_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let (other_key, _) = read_key(&server, &admin);
    let (other, other_csrf) = sign_in(&server.url, &other_key);
    let (key, id) = read_key(&server, &admin);
    let logs = format!("{}/v1/logs/default", server.url);
    let mut mine = Vec::new();
    for _ in 0..sealog_dashboard::MAX_SESSIONS_PER_KEY + 2 {
        mine.push(sign_in(&server.url, &key));
        // Under the sign-in rate of one key.
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let info = call(
        "GET",
        &format!("{}/v1/logs/default/keys/{id}", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(
        info.json()["sessions"],
        sealog_dashboard::MAX_SESSIONS_PER_KEY
    );
    let (oldest, oldest_csrf) = &mine[0];
    assert_eq!(
        with_session("GET", &logs, oldest, oldest_csrf, None),
        401,
        "its own oldest ended"
    );
    let (newest, newest_csrf) = mine.last().unwrap();
    assert_eq!(with_session("GET", &logs, newest, newest_csrf, None), 200);
    assert_eq!(
        with_session("GET", &logs, &other, &other_csrf, None),
        200,
        "another key's stays"
    );
}

#[test]
fn sign_in_attempts_are_rate_limited_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let body = json!({"api_key": "slk_0000000000000000_wrong"}).to_string();
    let url = format!("{}/ui/session", server.url);
    let origin = [
        ("Origin", server.url.as_str()),
        ("Content-Type", "application/json"),
    ];
    let answers: Vec<_> = (0..30)
        .map(|_| call_with("POST", &url, None, &origin, Some(body.as_bytes())))
        .collect();
    assert_eq!(answers[0].status, 401, "{}", answers[0].body);
    let limited = answers
        .iter()
        .find(|r| r.status == 429)
        .expect("a flood is rate-limited");
    assert!(limited.retry_after.is_some());
    assert_eq!(limited.error_code(), "rate_limited");
}
