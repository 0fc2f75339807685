//! Who is calling: a bearer API key, or a dashboard session cookie; and what they may do.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use sealog_auth::{Principal, Role};

/// An authenticated caller who passed the rate limit.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, &parts.headers, &parts.method)
    }
}

/// Authenticates a request by its bearer key or, without an Authorization header, its
/// dashboard session (CSRF-checked), then applies the key's rate limit.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Caller, ApiError> {
    {
        let principal = match headers.get(AUTHORIZATION) {
            // A request with an Authorization header is judged by that header alone.
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .ok_or_else(|| {
                        unauthorized("the Authorization header must be `Bearer <api key>`")
                    })?;
                state
                    .keys
                    .authenticate(key.trim())
                    .ok_or_else(|| unauthorized("unknown or revoked API key"))?
            }
            None => state
                .sessions
                .session_principal(headers, method)
                .ok_or_else(|| {
                    unauthorized(
                        "send an API key as `Authorization: Bearer <key>`; the first start of \
                         the server wrote an admin key to <data dir>/admin.token",
                    )
                })?,
        };
        if let Err(after) = state.limiter.check(&principal.key_id) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "key {} exceeded its limit of {} requests per second; retry after the \
                     Retry-After delay",
                    principal.key_id,
                    state.limiter.per_second()
                ),
            )
            .retry_after(after));
        }
        Ok(Caller(principal))
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl Caller {
    /// Refuses unless the key may act on `log` at all (its own log, or server-wide).
    fn scope(&self, log: &str) -> Result<(), ApiError> {
        match &self.0.log {
            Some(own) if own != log => Err(ApiError::forbidden(format!(
                "key {} is scoped to log {own:?} and cannot use log {log:?}",
                self.0.key_id
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses unless the key may read `log` (role read or admin).
    pub fn read(&self, log: &str) -> Result<(), ApiError> {
        self.scope(log)?;
        match self.0.role {
            Role::Read | Role::Admin => Ok(()),
            Role::Ingest => Err(ApiError::forbidden(format!(
                "key {} has the ingest role, which can only record events; reading needs a \
                 read or admin key",
                self.0.key_id
            ))),
        }
    }

    /// Refuses unless the key may record events in `log` (role ingest or admin).
    pub fn ingest(&self, log: &str) -> Result<(), ApiError> {
        self.scope(log)?;
        match self.0.role {
            Role::Ingest | Role::Admin => Ok(()),
            Role::Read => Err(ApiError::forbidden(format!(
                "key {} has the read role; recording events needs an ingest or admin key",
                self.0.key_id
            ))),
        }
    }

    /// Refuses unless the key administers `log` (its admin, or a server-wide admin).
    pub fn admin(&self, log: &str) -> Result<(), ApiError> {
        self.scope(log)?;
        match self.0.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "key {} is not an admin key of log {log:?}",
                self.0.key_id
            ))),
        }
    }

    /// Refuses unless the key is a server-wide admin key (creating logs).
    pub fn server_admin(&self) -> Result<(), ApiError> {
        match (&self.0.log, self.0.role) {
            (None, Role::Admin) => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "key {} is not a server-wide admin key; use the key in <data dir>/admin.token",
                self.0.key_id
            ))),
        }
    }
}
