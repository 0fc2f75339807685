//! The dashboard router over HTTP semantics: sign-in, cookies, refusals, sign-out, expiry,
//! CSRF, and security headers on every response.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use sealog_auth::Role;
use sealog_dashboard::{DashboardOptions, Sessions, router};
use serde_json::Value;
use std::time::Duration;
use tower::ServiceExt;

fn app(secure: bool, ttl: Duration) -> (Router, Sessions) {
    router(
        support::StubAuth,
        DashboardOptions {
            secure_cookies: secure,
            session_ttl: ttl,
            session_file: None,
        },
    )
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

async fn json(res: Response<Body>) -> Value {
    let body = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

fn sign_in_req(key: &str) -> Request<Body> {
    Request::post("/ui/session")
        .header(header::HOST, "dash.test")
        .header(header::ORIGIN, "http://dash.test")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({ "api_key": key }).to_string(),
        ))
        .unwrap()
}

/// Signs in with `key`; returns the cookie pair (`sealog_session=…`) and the CSRF token.
async fn sign_in(app: &Router, key: &str) -> (String, String) {
    let res = send(app, sign_in_req(key)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let body = json(res).await;
    (pair, body["csrf_token"].as_str().unwrap().to_owned())
}

fn assert_security_headers(h: &HeaderMap) {
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
}

async fn assert_error(res: Response<Body>, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    assert_security_headers(res.headers());
    let body = json(res).await;
    let code = body["error"]["code"].as_str().expect("error.code");
    assert!(body["error"]["message"].is_string(), "error.message");
    code.to_owned()
}

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie() {
    let (app, sessions) = app(true, Duration::from_secs(3600));
    let res = send(&app, sign_in_req("read-key")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_security_headers(res.headers());
    let cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 1);
    let cookie = cookies[0].as_str();
    let mut attrs = cookie.split("; ");
    let (name, value) = attrs.next().unwrap().split_once('=').unwrap();
    assert_eq!(name, "sealog_session");
    assert_eq!(value.len(), 64, "256-bit id in hex");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    let attrs: Vec<&str> = attrs.collect();
    for want in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=3600",
    ] {
        assert!(attrs.contains(&want), "cookie {cookie} lacks {want}");
    }
    let body = json(res).await;
    assert_eq!(body["key_id"], "k-read");
    assert_eq!(body["role"], "read");
    assert_eq!(body["log"], "demo");
    let csrf = body["csrf_token"].as_str().unwrap();
    assert_eq!(csrf.len(), 64);
    assert!(
        !body.to_string().contains("read-key"),
        "the API key is never echoed"
    );

    // The session authenticates GET API calls for the server's auth layer.
    let mut h = HeaderMap::new();
    h.insert(
        header::COOKIE,
        format!("other=1; {name}={value}").parse().unwrap(),
    );
    let p = sessions.session_principal(&h, &Method::GET).unwrap();
    assert_eq!(
        (p.key_id.as_str(), p.role, p.log.as_deref()),
        ("k-read", Role::Read, Some("demo"))
    );

    // GET /ui/session says who is signed in and repeats the CSRF token.
    let res = send(
        &app,
        Request::get("/ui/session")
            .header(header::COOKIE, format!("{name}={value}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["csrf_token"], csrf);

    // Without TLS the cookie is not Secure.
    let (plain, _) = self::app(false, Duration::from_secs(60));
    let res = send(&plain, sign_in_req("admin-key")).await;
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!cookie.contains("Secure"));
    assert!(cookie.contains("Max-Age=60"));
    assert_eq!(json(res).await["log"], Value::Null);
}

#[tokio::test]
async fn form_sign_in_redirects_home() {
    let (app, _) = app(false, Duration::from_secs(60));
    let req = Request::post("/ui/session")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("api_key=read-key"))
        .unwrap();
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/");
    assert!(res.headers().contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn wrong_and_ingest_keys_are_refused() {
    let (app, _) = app(false, Duration::from_secs(60));
    for key in ["nope", "", &"x".repeat(5000)] {
        let res = send(&app, sign_in_req(key)).await;
        assert!(!res.headers().contains_key(header::SET_COOKIE));
        assert_eq!(
            assert_error(res, StatusCode::UNAUTHORIZED).await,
            "unauthorized"
        );
    }
    let res = send(&app, sign_in_req("ingest-key")).await;
    assert!(!res.headers().contains_key(header::SET_COOKIE));
    assert_eq!(assert_error(res, StatusCode::FORBIDDEN).await, "forbidden");
    // Malformed bodies are a 400, in the same error shape.
    let res = send(
        &app,
        Request::post("/ui/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{"))
            .unwrap(),
    )
    .await;
    assert_error(res, StatusCode::BAD_REQUEST).await;
    // A sign-in posted from another site is refused (login CSRF).
    let mut req = sign_in_req("read-key");
    req.headers_mut()
        .insert(header::ORIGIN, "https://evil.test".parse().unwrap());
    assert_error(send(&app, req).await, StatusCode::FORBIDDEN).await;
    // Not signed in.
    let res = send(
        &app,
        Request::get("/ui/session").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(res, StatusCode::UNAUTHORIZED).await;
}

fn delete(cookie: &str, csrf: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut b = Request::delete("/ui/session")
        .header(header::HOST, "dash.test")
        .header(header::COOKIE, cookie);
    if let Some(c) = csrf {
        b = b.header("x-csrf-token", c);
    }
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn sign_out_needs_csrf_and_ends_the_session() {
    let (app, sessions) = app(false, Duration::from_secs(60));
    let (cookie, csrf) = sign_in(&app, "read-key").await;
    let mut h = HeaderMap::new();
    h.insert(header::COOKIE, cookie.parse().unwrap());

    assert_eq!(
        assert_error(
            send(&app, delete(&cookie, None, None)).await,
            StatusCode::FORBIDDEN
        )
        .await,
        "csrf"
    );
    let wrong = "0".repeat(64);
    assert_error(
        send(&app, delete(&cookie, Some(&wrong), None)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_error(
        send(&app, delete(&cookie, Some(&csrf), Some("http://evil.test"))).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        sessions.session_principal(&h, &Method::GET).is_some(),
        "refused sign-outs keep the session"
    );

    let res = send(&app, delete(&cookie, Some(&csrf), Some("http://dash.test"))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_security_headers(res.headers());
    let clear = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        clear.starts_with("sealog_session=;") && clear.contains("Max-Age=0"),
        "{clear}"
    );
    assert!(sessions.session_principal(&h, &Method::GET).is_none());
    let res = send(
        &app,
        Request::get("/ui/session")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn session_principal_enforces_csrf_on_state_changes() {
    let (app, sessions) = app(false, Duration::from_secs(60));
    let (cookie, csrf) = sign_in(&app, "admin-key").await;
    let headers = |csrf: Option<&str>, origin: Option<&str>, site: Option<&str>| {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "dash.test".parse().unwrap());
        h.insert(header::COOKIE, cookie.parse().unwrap());
        if let Some(c) = csrf {
            h.insert("x-csrf-token", c.parse().unwrap());
        }
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        if let Some(s) = site {
            h.insert("sec-fetch-site", s.parse().unwrap());
        }
        h
    };
    for m in [Method::GET, Method::HEAD] {
        assert!(
            sessions
                .session_principal(&headers(None, None, None), &m)
                .is_some()
        );
    }
    for m in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
        assert!(
            sessions
                .session_principal(&headers(None, None, None), &m)
                .is_none(),
            "{m} without token"
        );
        assert!(
            sessions
                .session_principal(&headers(Some("bad"), None, None), &m)
                .is_none()
        );
        assert!(
            sessions
                .session_principal(&headers(Some(&csrf), Some("http://evil.test"), None), &m)
                .is_none()
        );
        assert!(
            sessions
                .session_principal(&headers(Some(&csrf), Some("null"), None), &m)
                .is_none()
        );
        assert!(
            sessions
                .session_principal(&headers(Some(&csrf), None, Some("cross-site")), &m)
                .is_none()
        );
        assert!(
            sessions
                .session_principal(
                    &headers(Some(&csrf), Some("http://dash.test"), Some("same-origin")),
                    &m
                )
                .is_some()
        );
        assert!(
            sessions
                .session_principal(&headers(Some(&csrf), None, None), &m)
                .is_some()
        );
    }
    // Unknown cookies and no cookie authenticate nothing.
    let mut h = HeaderMap::new();
    assert!(sessions.session_principal(&h, &Method::GET).is_none());
    h.insert(
        header::COOKIE,
        format!("sealog_session={}", "a".repeat(64))
            .parse()
            .unwrap(),
    );
    assert!(sessions.session_principal(&h, &Method::GET).is_none());
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    let (app, sessions) = app(false, Duration::from_millis(1200));
    let (cookie, _) = sign_in(&app, "read-key").await;
    let mut h = HeaderMap::new();
    h.insert(header::COOKIE, cookie.parse().unwrap());
    assert!(sessions.session_principal(&h, &Method::GET).is_some());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(sessions.session_principal(&h, &Method::GET).is_none());
    let res = send(
        &app,
        Request::get("/ui/session")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn every_page_and_asset_carries_the_security_headers() {
    let (app, _) = app(false, Duration::from_secs(60));
    let pages = [
        ("/", "text/html"),
        ("/ui", "text/html"),
        ("/ui/logs/demo/events/x", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/api.js", "text/javascript"),
        ("/assets/dom.js", "text/javascript"),
        ("/assets/approvals.js", "text/javascript"),
        ("/assets/anchors.js", "text/javascript"),
        ("/assets/incidents.js", "text/javascript"),
        ("/assets/verify.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        // verify.js's fallback imports these by relative path, one folder down.
        ("/assets/vendor/noble-ed25519/index.js", "text/javascript"),
        ("/assets/vendor/noble-hashes/sha2.js", "text/javascript"),
        ("/assets/vendor/noble-hashes/_md.js", "text/javascript"),
        ("/assets/vendor/noble-hashes/_u64.js", "text/javascript"),
        ("/assets/vendor/noble-hashes/utils.js", "text/javascript"),
        ("/assets/vendor/noble-ed25519/LICENSE", "text/plain"),
        ("/assets/vendor/noble-hashes/LICENSE", "text/plain"),
    ];
    for (path, ty) in pages {
        let res = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_security_headers(res.headers());
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(ty),
            "{path}"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = res.headers()[header::ETAG].clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let text = std::str::from_utf8(&body).unwrap();
        // No inline script, style or handler could run under the CSP; keep the page free of them.
        if ty == "text/html" {
            assert!(
                !text.contains("<style") && !text.contains(" style=") && !text.contains(" on"),
                "{path}"
            );
            for tag in text.split("<script").skip(1) {
                assert!(
                    tag.trim_start()
                        .starts_with("type=\"module\" src=\"/assets/"),
                    "{path}: inline script"
                );
            }
        } else {
            assert!(
                !text.contains("innerHTML")
                    && !text.contains("insertAdjacentHTML")
                    && !text.contains("document.write"),
                "{path}"
            );
            assert!(
                !text.contains("eval(") && !text.contains("new Function"),
                "{path}"
            );
        }
        let res = send(
            &app,
            Request::get(path)
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_security_headers(res.headers());
    }
    let res = send(
        &app,
        Request::get("/assets/nope.js").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_security_headers(res.headers());
    // Only the listed files are served: no other path under the folder, no way out of it.
    for path in [
        "/assets/vendor/noble-hashes/sha3.js",
        "/assets/vendor/noble-hashes/package.json",
        "/assets/vendor/README.md",
        "/assets/vendor/../app.js",
        "/assets/vendor%2Fnoble-hashes%2Fsha2.js/x",
    ] {
        let res = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
