//! Every failure of the API as `{"error": {"code", "message"}}` with the right status, and the
//! server's own typed errors.
//!
//! Failures below the API carry an [`ErrorKind`]; [`ApiError::from_kind`] is the one place
//! that maps a kind to a status and a code. A 500 never carries the internal message to the
//! client: the message is kept in the response's extensions, and the request middleware
//! (`ops::observe`) logs it with the request id and answers with that id instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealog_storage::{AppendError, EngineError, ErrorKind, ReadError};
use std::time::Duration;

/// Why the server could not open, start, serve or keep its key store; each message says what
/// to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServerError {
    kind: ErrorKind,
    message: String,
}

impl ServerError {
    /// An error of `kind` whose message says what went wrong and what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServerError {
            kind,
            message: message.into(),
        }
    }

    /// An operating-system failure while `doing` something.
    pub fn io(doing: impl std::fmt::Display, e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{doing}: {e}"))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<EngineError> for ServerError {
    fn from(e: EngineError) -> Self {
        ServerError::new(e.kind(), e.to_string())
    }
}

/// An API failure: a status, a stable machine code and a message a user can act on.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, snake_case code for programs.
    pub code: &'static str,
    /// What went wrong and what to do, for people. For a 500 this is the internal detail,
    /// which goes to the server log only.
    pub message: String,
    /// For 429 and 503: when to try again.
    pub retry_after: Option<Duration>,
}

/// The detail of a 500, kept out of the body: the request middleware logs it with the
/// request id.
#[derive(Clone, Debug)]
pub struct InternalDetail(pub String);

/// What a client is told instead of a 500's internal detail.
pub fn internal_message(request_id: &str) -> String {
    format!(
        "the server failed to answer this request; nothing about it is lost from the log. The \
         server's log holds the details under request id {request_id}: give it to the operator"
    )
}

impl ApiError {
    /// A failure with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer to a failure of `kind`: the one mapping from kinds to statuses and codes.
    pub fn from_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        let (status, code) = match kind {
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::AlreadyExists => (StatusCode::CONFLICT, "exists"),
            ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ErrorKind::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Pruned => (StatusCode::GONE, "pruned"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        Self::new(status, code, message)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 413: the body, or something in it, is larger than the server accepts.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 404: no such thing (or not visible to this caller).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 403: authenticated, but the key's role or log does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500: a storage or internal failure; `detail` goes to the server log, never to the
    /// client.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// Adds a `Retry-After`.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let internal = self.status.is_server_error() && self.code == "internal";
        let shown = if internal {
            // Replaced by the middleware with one that names the request id.
            internal_message("(unknown)")
        } else {
            self.message.clone()
        };
        let body = serde_json::json!({"error": {"code": self.code, "message": shown}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if internal {
            response
                .extensions_mut()
                .insert(InternalDetail(self.message));
        }
        if let Some(after) = self.retry_after {
            // Whole seconds, rounded up: `Retry-After: 0` would invite a hot loop.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        ApiError::from_kind(e.kind(), e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::from_kind(e.kind(), e.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        ApiError::from_kind(e.kind(), e.to_string())
    }
}

/// How long a client told `unavailable` should wait: a log that stopped on a storage failure
/// is reopened at most this often, and a shutdown takes about as long.
const UNAVAILABLE_RETRY: Duration = sealog_storage::REOPEN_INTERVAL;

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Busy { retry_after } => ApiError::from_kind(
                ErrorKind::Busy,
                "the log's write queue is full; nothing of this request was stored, retry it \
                 after the Retry-After delay",
            )
            .retry_after(retry_after),
            AppendError::Unavailable(why) => ApiError::from_kind(
                ErrorKind::Unavailable,
                format!("the log cannot take writes: {why}"),
            )
            .retry_after(UNAVAILABLE_RETRY),
        }
    }
}

/// A blocking task that did not finish (it panicked): an internal failure.
impl From<std::io::Error> for ApiError {
    /// A failed disk operation is the server's fault: a 500 whose detail is only logged.
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("a background task failed: {e}"))
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
