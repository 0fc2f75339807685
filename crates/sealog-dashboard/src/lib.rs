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
//! Sessions live in memory (at most [`MAX_SESSIONS`]), so they end when the process restarts,
//! and with several `sealog serve` nodes a user stays on the node that signed them in unless
//! the load balancer is sticky.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use sealog_auth::{Authenticator, Principal, Role};
use sealog_core::hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

mod assets;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sealog_session";
/// Header that must carry the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Content-Security-Policy sent with every dashboard response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/// Most live sessions kept in memory; signing in beyond it evicts the session closest to
/// expiry, so a flood of sign-ins cannot exhaust memory.
pub const MAX_SESSIONS: usize = 10_000;
/// Longest API key accepted at sign-in, in bytes; longer ones are refused unchecked.
const MAX_API_KEY_LEN: usize = 1024;

/// How the dashboard issues sessions.
#[derive(Clone, Debug)]
pub struct DashboardOptions {
    /// Mark the cookie `Secure`; set it whenever the server is reached over TLS.
    pub secure_cookies: bool,
    /// How long a session lives after sign-in (no sliding renewal: re-sign-in after it).
    pub session_ttl: Duration,
}

impl Default for DashboardOptions {
    /// Plain-HTTP cookies and eight-hour sessions, for `sealog serve` on localhost.
    fn default() -> Self {
        DashboardOptions {
            secure_cookies: false,
            session_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

struct Session {
    principal: Principal,
    csrf: String,
    expires: Instant,
}

/// The in-memory session store, shared by the dashboard router and the server's auth layer.
///
/// Sessions are keyed by SHA-256 of the cookie value, so that a lookup's timing depends on
/// the hash, not on the secret.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<[u8; 32], Session>>>,
    /// The key store's current answer for a key id: every use of a session asks it, so a
    /// session never outlives its key's revocation nor keeps a role the key lost.
    current: Arc<CurrentHolder>,
}

/// Resolves a key id to the key's holder now (`None` once revoked).
type CurrentHolder = dyn Fn(&str) -> Option<Principal> + Send + Sync;

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print session ids or CSRF tokens.
        f.write_str("Sessions")
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random number generator failed");
    hex::encode(&b)
}

fn session_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
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
    fn new<A: Authenticator>(auth: A) -> Self {
        Sessions {
            inner: Arc::new(Mutex::new(HashMap::new())),
            current: Arc::new(move |key_id| auth.principal(key_id)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (every update is a single insert or remove), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a session; returns its cookie value and CSRF token.
    fn create(&self, principal: Principal, ttl: Duration) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
        }
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            session_key(&id),
            Session {
                principal,
                csrf: csrf.clone(),
                expires: now + ttl,
            },
        );
        (id, csrf)
    }

    /// The live session named by the request's cookie: its key, principal (as the key store
    /// knows the key now), CSRF token and remaining lifetime. Expired sessions, and sessions
    /// whose key was revoked or can no longer sign in, are removed on sight.
    fn lookup(&self, headers: &HeaderMap) -> Option<([u8; 32], Principal, String, Duration)> {
        let (key, snapshot, csrf, left) = self.live(headers)?;
        match (self.current)(&snapshot.key_id) {
            Some(now) if now.role != Role::Ingest => Some((key, now, csrf, left)),
            _ => {
                self.remove(&key);
                None
            }
        }
    }

    /// The unexpired session named by the request's cookie, with the principal it signed in
    /// as. Expired sessions are removed on sight.
    fn live(&self, headers: &HeaderMap) -> Option<([u8; 32], Principal, String, Duration)> {
        let now = Instant::now();
        let mut map = self.lock();
        for value in session_cookies(headers) {
            let key = session_key(value);
            match map.get(&key) {
                Some(s) if s.expires > now => {
                    return Some((key, s.principal.clone(), s.csrf.clone(), s.expires - now));
                }
                Some(_) => {
                    map.remove(&key);
                }
                None => {}
            }
        }
        None
    }

    /// Ends every session signed in with key `key_id` (its revocation); returns how many.
    pub fn end_key(&self, key_id: &str) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| s.principal.key_id != key_id);
        before - map.len()
    }

    /// How many unexpired sessions key `key_id` has, for the keys page.
    pub fn count_for(&self, key_id: &str) -> usize {
        let now = Instant::now();
        self.lock()
            .values()
            .filter(|s| s.principal.key_id == key_id && s.expires > now)
            .count()
    }

    /// The principal of the request's dashboard session, for the server's auth layer to
    /// accept instead of a bearer key (see the crate documentation).
    ///
    /// Returns `None` without a live `sealog_session` cookie. For methods other than `GET`,
    /// `HEAD` and `OPTIONS` it also returns `None` unless the `X-CSRF-Token` header equals the
    /// session's token and the request is not cross-origin.
    pub fn session_principal(&self, headers: &HeaderMap, method: &Method) -> Option<Principal> {
        let (_, principal, csrf, _) = self.lookup(headers)?;
        if !is_safe(method) && (cross_origin(headers) || !csrf_matches(headers, &csrf)) {
            return None;
        }
        Some(principal)
    }

    fn remove(&self, key: &[u8; 32]) {
        self.lock().remove(key);
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
    let sessions = Sessions::new(auth.clone());
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
    let (id, csrf) = st.sessions.create(principal.clone(), ttl);
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

/// `GET /ui/session`: who is signed in, with the CSRF token for state-changing calls.
async fn whoami<A: Authenticator>(State(st): State<AppState<A>>, headers: HeaderMap) -> Response {
    match st.sessions.lookup(&headers) {
        Some((_, principal, csrf, left)) => {
            Json(session_info(principal, csrf, left)).into_response()
        }
        None => error(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in"),
    }
}

/// `DELETE /ui/session`: signs out (needs the CSRF token, like every state change).
async fn sign_out<A: Authenticator>(State(st): State<AppState<A>>, headers: HeaderMap) -> Response {
    if let Some((key, _, csrf, _)) = st.sessions.lookup(&headers) {
        if cross_origin(&headers) || !csrf_matches(&headers, &csrf) {
            return error(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header",
            );
        }
        st.sessions.remove(&key);
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st.options, "", 0));
    res
}
