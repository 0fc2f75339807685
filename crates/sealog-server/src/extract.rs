//! Extractors whose rejections are JSON errors like every other failure of the API.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON request body (`Content-Type: application/json`), or why it is not one.
///
/// The extractor itself never rejects: the handler calls [`JsonBody::parsed`] after it has
/// checked the caller's role, so a caller without the right gets 403, not a description of
/// the body the route expects.
pub struct JsonBody<T>(Result<T, ApiError>);

impl<T> JsonBody<T> {
    /// The parsed body, or the 4xx error that says what is wrong with it.
    pub fn parsed(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(
            axum::Json::<T>::from_request(req, state)
                .await
                .map(|axum::Json(value)| value)
                .map_err(json_rejection),
        ))
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    let message = e.body_text();
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            e.status(),
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonDataError(_) => ApiError::new(e.status(), "invalid_body", message),
        _ => ApiError::new(e.status(), "bad_request", message),
    }
}

/// Query parameters; unknown or malformed ones are a 400 that names them.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

/// A query that does not parse, as the 400 that names what is wrong.
pub(crate) fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::bad_request(e.body_text())
}
