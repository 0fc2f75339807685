//! OTLP/HTTP on the wire: the request's encoding (protobuf or JSON), decoding with the
//! official message types, and answers in the request's encoding — errors as a
//! `google.rpc.Status`, with `Retry-After` where a retry may succeed.

use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How a request (and so its answer) is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`: OTLP/JSON (hex ids, integer enums).
    Json,
}

impl Encoding {
    fn media_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// The encoding the `Content-Type` names, or a 415.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ctype.split(';').next().unwrap_or("").trim() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {other:?} is not OTLP/HTTP; send application/x-protobuf or \
                 application/json"
            ),
        )),
    }
}

/// Decodes an OTLP request; a body that is not one is a 400 (not to be retried).
pub fn decode<T: prost::Message + Default + DeserializeOwned>(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<T, ApiError> {
    match encoding {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| {
            ApiError::bad_request(format!("the body is not an OTLP protobuf request: {e}"))
        }),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!("the body is not an OTLP/JSON request: {e}"))
        }),
    }
}

/// A successful answer.
pub fn ok<T: prost::Message + Serialize>(message: &T, encoding: Encoding) -> Response {
    let body = match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(message).expect("OTLP responses serialize"),
    };
    with_type(StatusCode::OK, body, encoding)
}

/// `google.rpc.Status`, the body of an OTLP error.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// A failure as OTLP answers it: the status (400 and 413 are final for an exporter, 429 and
/// 503 retried after `Retry-After`) with a `google.rpc.Status` body. An internal failure
/// keeps the API's own answer, which hides its detail and names the request id.
pub fn error(e: ApiError, encoding: Encoding) -> Response {
    if e.status == StatusCode::INTERNAL_SERVER_ERROR {
        return e.into_response();
    }
    let code = match e.status.as_u16() {
        401 => 16,
        403 => 7,
        404 => 5,
        408 | 503 => 14,
        429 | 507 => 8,
        _ => 3,
    };
    let status = RpcStatus {
        code,
        message: format!("{}: {}", e.code, e.message),
    };
    let body = match encoding {
        Encoding::Protobuf => prost::Message::encode_to_vec(&status),
        Encoding::Json => serde_json::to_vec(&status).expect("a status serializes"),
    };
    let mut response = with_type(e.status, body, encoding);
    if let Some(after) = e.retry_after {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}

fn with_type(status: StatusCode, body: Vec<u8>, encoding: Encoding) -> Response {
    let ctype = HeaderValue::from_static(encoding.media_type());
    (status, [(header::CONTENT_TYPE, ctype)], body).into_response()
}
