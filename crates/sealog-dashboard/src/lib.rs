//! Sealog's web dashboard: a single-page app embedded in the binary, cookie sessions for it,
//! and an in-browser verifier for receipts (`assets/verify.js`).
//!
//! The page is plain HTML, CSS and JavaScript in `assets/`, embedded at compile time: no
//! build step, no CDN, no network access beyond the server that serves it. Every response of
//! this router carries a strict Content-Security-Policy ([`CONTENT_SECURITY_POLICY`]), so no
//! inline script or style can run, and the page inserts every value with `textContent`.
//!
//! # Wiring it into the server
//!
//! ```no_run
//! use sealog_auth::{Authenticator, Principal};
//! use sealog_dashboard::{router, DashboardOptions};
//! # #[derive(Clone)] struct Keys;
//! # impl Authenticator for Keys {
//! #     fn authenticate(&self, _key: &str) -> Option<Principal> { None }
//! #     fn principal(&self, _key_id: &str) -> Option<Principal> { None }
//! # }
//! # let keys = Keys;
//! let (dashboard, sessions) = router(keys, DashboardOptions::default());
//! let app: axum::Router = axum::Router::new()
//!     // .route("/v1/...", ...)  the JSON API, whose auth layer also calls `sessions`
//!     .merge(dashboard);
//! ```
//!
//! The router owns `GET /`, `GET /ui` and `GET /ui/{*path}` (the app), `GET /assets/{*file}`,
//! and `GET|POST|DELETE /ui/session`. Mount it at the root with `merge`, not `nest`: the page
//! calls `/v1/...` and `/ui/session` with absolute paths.
//!
//! **The session cookie is an alternative to a bearer key.** The page never holds the API key:
//! it signs in once (`POST /ui/session`, the key is checked by your `sealog_auth::Authenticator`), and from
//! then on calls the JSON API (docs/DESIGN.md §4) with only the `sealog_session` cookie. So the server's
//! auth layer must, for every `/v1/...` request without an `Authorization` header, call
//! [`Sessions::session_principal`] with the request's headers and method and treat a returned
//! [`Principal`] exactly as if its key had been presented as a bearer token (same role, same log
//! scope). A request that carries an `Authorization` header should be judged by that header
//! alone. `session_principal` already enforces CSRF protection: for any method other than
//! `GET`, `HEAD` and `OPTIONS` it requires the `X-CSRF-Token` header to equal the session's
//! token (compared in constant time) and refuses a cross-origin `Origin` or
//! `Sec-Fetch-Site: cross-site`; so the integrator needs no CSRF code of its own. It never
//! returns an `Ingest` principal (such keys cannot sign in).
//!
//! The server must not add `Access-Control-Allow-Credentials` CORS headers for these routes;
//! the CSRF token travels in `GET /ui/session` and is only readable by same-origin script.
//! The dashboard's own routes authenticate themselves: do not put the API's bearer-auth layer
//! in front of them (the page and its assets must load before anyone has signed in).
//!
//! # Session endpoints
//!
//! - `POST /ui/session` with JSON `{"api_key": "…"}` (or a form field `api_key`): `200` with
//!   `{"key_id", "role", "log", "csrf_token", "expires_in"}` and `Set-Cookie: sealog_session=<64
//!   hex>; Max-Age=<ttl>; Path=/; HttpOnly; SameSite=Strict[; Secure]` (a form post gets `303`
//!   to `/` instead of the JSON). A wrong key is `401`, an ingest key `403`, a cross-origin
//!   post `403`, a malformed body `400`; errors are `{"error": {"code", "message"}}`.
//! - `GET /ui/session`: the same JSON for the current session, or `401`.
//! - `DELETE /ui/session` with `X-CSRF-Token`: `204`, the session is destroyed and the cookie
//!   cleared; a live session with a missing or wrong token is `403`.
//!
//! Sessions live in memory (at most [`MAX_SESSIONS`], [`MAX_SESSIONS_PER_KEY`] per key, whose
//! next sign-in ends its own oldest) and, with [`DashboardOptions::session_file`], in a file
//! that lets them survive a restart. Sign-in is rate-limited per address and per key
//! ([`SIGN_INS_PER_SECOND`]; `429` with `Retry-After`); the address comes from the request's
//! `ConnectInfo<SocketAddr>` extension, which the server inserts. With several `sealog serve`
//! nodes a user stays on the node that signed them in unless the load balancer is sticky.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use sealog_auth::{Authenticator, Principal, Role};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use subtle::ConstantTimeEq;

mod assets;
mod sessions;

use sessions::Refused;
pub use sessions::{MAX_SESSIONS, MAX_SESSIONS_PER_KEY, SIGN_INS_PER_SECOND, Sessions};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sealog_session";
/// Header that must carry the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Content-Security-Policy sent with every dashboard response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/// Longest API key accepted at sign-in, in bytes; longer ones are refused unchecked.
const MAX_API_KEY_LEN: usize = 1024;

/// How the dashboard issues sessions.
#[derive(Clone, Debug)]
pub struct DashboardOptions {
    /// Mark the cookie `Secure`; set it whenever the server is reached over TLS.
    pub secure_cookies: bool,
    /// How long a session lives after sign-in (no sliding renewal: re-sign-in after it).
    pub session_ttl: Duration,
    /// Where sessions are kept so that they survive a restart (hashes of the cookies, never
    /// the cookies); `None` keeps them in memory only.
    pub session_file: Option<PathBuf>,
}

impl Default for DashboardOptions {
    /// Plain-HTTP cookies and eight-hour sessions, for `sealog serve` on localhost.
    fn default() -> Self {
        DashboardOptions {
            secure_cookies: false,
            session_ttl: Duration::from_secs(8 * 3600),
            session_file: None,
        }
    }
}

/// The values of every `sealog_session` cookie in the request.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Whether the request may come from another site: an `Origin` that is not this host, or a
/// `Sec-Fetch-Site` saying so. Browsers send `Origin` on every non-GET fetch and form post.
fn cross_origin(headers: &HeaderMap) -> bool {
    // `same-site` counts as foreign too: a sibling subdomain is not this dashboard.
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok();
    let origin_host = origin.and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    });
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

/// Methods that must not change state, so need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl Sessions {
    /// The principal of the request's dashboard session, for the server's auth layer to
    /// accept instead of a bearer key (see the crate documentation).
    ///
    /// Returns `None` without a live `sealog_session` cookie. For methods other than `GET`,
    /// `HEAD` and `OPTIONS` it also returns `None` unless the `X-CSRF-Token` header equals the
    /// session's token and the request is not cross-origin.
    pub fn session_principal(&self, headers: &HeaderMap, method: &Method) -> Option<Principal> {
        let found = self.lookup(session_cookies(headers))?;
        if !is_safe(method) && (cross_origin(headers) || !csrf_matches(headers, &found.csrf)) {
            return None;
        }
        Some(found.principal)
    }
}

fn csrf_matches(headers: &HeaderMap, csrf: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(csrf.as_bytes())))
}

#[derive(Clone)]
struct AppState<A> {
    auth: A,
    sessions: Sessions,
    options: DashboardOptions,
}

/// Builds the dashboard router and the session handle the server's auth layer consults.
///
/// See the crate documentation for the routes and how to wire [`Sessions`].
pub fn router<A: Authenticator>(auth: A, options: DashboardOptions) -> (Router, Sessions) {
    let sessions = Sessions::new(auth.clone(), options.session_file.clone());
    let state = AppState {
        auth,
        sessions: sessions.clone(),
        options,
    };
    let router = Router::new()
        .route("/", get(assets::index))
        .route("/ui", get(assets::index))
        .route(
            "/ui/session",
            get(whoami::<A>).post(sign_in::<A>).delete(sign_out::<A>),
        )
        .route("/ui/{*path}", get(assets::index))
        .route("/assets/{*file}", get(assets::asset))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state);
    (router, sessions)
}

/// Adds the security headers to every response of the dashboard, including errors.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    // For browsers that predate `frame-ancestors`.
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// A JSON error in the API's shape, `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SignIn {
    api_key: String,
}

#[derive(Serialize)]
struct SessionInfo {
    key_id: String,
    role: Role,
    log: Option<String>,
    csrf_token: String,
    expires_in: u64,
}

fn session_info(principal: Principal, csrf_token: String, left: Duration) -> SessionInfo {
    SessionInfo {
        key_id: principal.key_id,
        role: principal.role,
        log: principal.log,
        csrf_token,
        expires_in: left.as_secs(),
    }
}

fn cookie(options: &DashboardOptions, value: &str, max_age: u64) -> HeaderValue {
    let secure = if options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{SESSION_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&c).expect("cookie is ASCII without control characters")
}

/// `POST /ui/session`: signs in with an API key sent as JSON `{"api_key"}` or as a form field.
async fn sign_in<A: Authenticator>(State(st): State<AppState<A>>, req: Request) -> Response {
    // A cross-site sign-in could plant the attacker's session in the victim's browser.
    if cross_origin(req.headers()) {
        return error(StatusCode::FORBIDDEN, "forbidden", "cross-origin request");
    }
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        Form::<SignIn>::from_request(req, &())
            .await
            .map(|f| f.0)
            .ok()
    } else {
        Json::<SignIn>::from_request(req, &())
            .await
            .map(|j| j.0)
            .ok()
    };
    let Some(SignIn { api_key }) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected JSON {\"api_key\": \"…\"} or a form with api_key",
        );
    };
    let unauthorized = || error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    if api_key.is_empty() || api_key.len() > MAX_API_KEY_LEN {
        return unauthorized();
    }
    // The key id is public (`slk_<id>_…`); attempts at one key are counted by it.
    let key_id = api_key.split('_').nth(1).unwrap_or("");
    if let Err(refused) = st.sessions.admit_sign_in(peer, key_id) {
        return refusal(refused);
    }
    let Some(principal) = st.auth.authenticate(&api_key) else {
        return unauthorized();
    };
    if principal.role == Role::Ingest {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "ingest keys cannot sign in to the dashboard; use a read or admin key",
        );
    }
    let ttl = st.options.session_ttl;
    let (id, csrf) = match st.sessions.create(principal.clone(), ttl) {
        Ok(created) => created,
        Err(refused) => return refusal(refused),
    };
    let set_cookie = cookie(&st.options, &id, ttl.as_secs().max(1));
    let mut res = if is_form {
        // A plain form post (JavaScript disabled or not yet loaded) lands back on the app.
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    } else {
        Json(session_info(principal, csrf, ttl)).into_response()
    };
    res.headers_mut().insert(header::SET_COOKIE, set_cookie);
    res
}

/// The answer to a sign-in the session store refused.
fn refusal(refused: Refused) -> Response {
    match refused {
        Refused::RateLimited(after) => {
            let mut res = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many sign-in attempts from this address or for this key; wait and retry",
            );
            let secs = after.as_secs_f64().ceil().max(1.0) as u64;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            res
        }
        Refused::Full => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "sessions_full",
            "the dashboard holds as many sessions as it can; use an API key, or retry later",
        ),
    }
}

/// `GET /ui/session`: who is signed in, with the CSRF token for state-changing calls.
async fn whoami<A: Authenticator>(State(st): State<AppState<A>>, headers: HeaderMap) -> Response {
    match st.sessions.lookup(session_cookies(&headers)) {
        Some(found) => Json(session_info(found.principal, found.csrf, found.left)).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in"),
    }
}

/// `DELETE /ui/session`: signs out (needs the CSRF token, like every state change).
async fn sign_out<A: Authenticator>(State(st): State<AppState<A>>, headers: HeaderMap) -> Response {
    if let Some(found) = st.sessions.lookup(session_cookies(&headers)) {
        if cross_origin(&headers) || !csrf_matches(&headers, &found.csrf) {
            return error(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header",
            );
        }
        st.sessions.remove(&found.key);
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st.options, "", 0));
    res
}
