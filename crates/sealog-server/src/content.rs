//! Private content (docs/DESIGN.md "Data lifecycle"): an input or output sent as
//! `{"private": <JSON>, "media_type"?}` in an event with `context.subject.pseudo_id` is
//! encrypted under that subject's data key before the event is validated, and the event keeps
//! only the `encrypted` reference; `GET /v1/logs/{log}/events/{id}/content` decrypts it for
//! read and admin keys.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ingest::BodyFormat;
use crate::read::{blocking, find};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealog_core::event::{EventError, FieldError, ValidatedEvent};
use sealog_core::{jcs, leaf::Leaf};
use sealog_storage::content::{ContentError, LogContent, SealBatch, Sealed};
use sealog_storage::{Log, ReadError};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The payload fields that may be private.
pub const FIELDS: [&str; 2] = ["input", "output"];

/// Actions only the server records; an event sent with one is refused.
pub const SERVER_ACTIONS: [&str; 6] = [
    "erasure",
    "legal_hold",
    "legal_hold_lifted",
    "prune",
    "retention_changed",
    "incident",
];

/// The actions of the format an agent may send: all but [`SERVER_ACTIONS`].
pub fn agent_actions() -> Vec<&'static str> {
    let agent = |a: &&str| !SERVER_ACTIONS.contains(a);
    sealog_core::event::ACTIONS
        .iter()
        .copied()
        .filter(agent)
        .collect()
}

/// The log's content store, as a 500 if it cannot be opened.
pub fn store(state: &AppState, log: &str) -> ApiResult<Arc<LogContent>> {
    state
        .content
        .log(log)
        .map_err(|e| ApiError::internal(format!("cannot open the content store of {log}: {e}")))
}

impl From<ContentError> for ApiError {
    fn from(e: ContentError) -> Self {
        match e {
            ContentError::Erased(t) => ApiError::new(
                StatusCode::GONE,
                "erased",
                format!(
                    "the content of subject {:?} was erased on {} (reason: {}); the events and \
                     their proofs remain",
                    t.subject, t.erased, t.reason
                ),
            ),
            ContentError::Held(h) => ApiError::new(
                StatusCode::CONFLICT,
                "held",
                format!(
                    "legal hold {} (reason: {}, placed {}) covers this; it must be lifted \
                     (DELETE …/holds/{}) before the erasure can run",
                    h.id, h.reason, h.placed, h.id
                ),
            ),
            ContentError::Missing(m) => ApiError::not_found(m),
            e @ (ContentError::Corrupt(_) | ContentError::Io(_)) => {
                ApiError::internal(e.to_string())
            }
        }
    }
}

/// Problems found while sealing, by the event's position in the batch.
pub type Refused = Vec<(usize, FieldError)>;

/// Seals the private payloads of a batch and returns the body to validate instead, or `None`
/// when no event has one. Blobs are durable when this returns. A body that does not parse is
/// left to the validator to describe.
pub fn seal_body(
    state: &AppState,
    log: &Log,
    body: &[u8],
    format: BodyFormat,
) -> ApiResult<Option<(Vec<u8>, Refused)>> {
    if !body.windows(9).any(|w| w == b"\"private\"") {
        return Ok(None);
    }
    let content = store(state, log.name())?;
    let mut batch = content.batch();
    let mut refused = Refused::new();
    let mut seal = |at: usize, raw: &[u8]| -> ApiResult<Option<Vec<u8>>> {
        match seal_event(&mut batch, &content, log, raw) {
            Ok(out) => Ok(out),
            Err(Refusal::Field(e)) => {
                refused.push((at, e));
                Ok(None)
            }
            Err(Refusal::Api(e)) => Err(e),
        }
    };
    let out = match format {
        BodyFormat::Json => {
            #[derive(Deserialize)]
            struct Batch<'a> {
                #[serde(borrow)]
                events: Vec<&'a RawValue>,
            }
            let Ok(parsed) = serde_json::from_slice::<Batch>(body) else {
                return Ok(None);
            };
            let mut events = Vec::with_capacity(parsed.events.len());
            for (at, raw) in parsed.events.iter().enumerate() {
                let raw = raw.get().as_bytes();
                events.push(seal(at, raw)?.unwrap_or_else(|| raw.to_vec()));
            }
            [&b"{\"events\":["[..], &events.join(&b","[..]), b"]}"].concat()
        }
        BodyFormat::Ndjson => {
            let mut lines = Vec::new();
            let mut at = 0;
            for line in body.split(|&b| b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    lines.push(line.to_vec());
                    continue;
                }
                lines.push(seal(at, line)?.unwrap_or_else(|| line.to_vec()));
                at += 1;
            }
            lines.join(&b"\n"[..])
        }
    };
    batch
        .commit()
        .map_err(|e| ApiError::internal(format!("cannot sync content: {e}")))?;
    Ok(Some((out, refused)))
}

/// Replaces the results of the events refused while sealing, and refuses events that claim
/// an action only the server records.
pub fn refuse(
    parsed: &mut [Result<ValidatedEvent, (Option<String>, EventError)>],
    refused: Refused,
) {
    for item in parsed.iter_mut() {
        if let Ok(ev) = item
            && SERVER_ACTIONS.contains(&ev.event.action.as_str())
        {
            let error = field(
                "action",
                format!(
                    "`{}` is recorded by the server itself (POST …/erasure, …/holds, …/incidents); an agent \
                 records its own actions or `x-<name>`",
                    ev.event.action
                ),
            );
            *item = Err((
                Some(ev.event.id.clone()),
                EventError {
                    errors: vec![error],
                },
            ));
        }
    }
    for (at, error) in refused {
        if let Some(item) = parsed.get_mut(at) {
            let id = match item {
                Ok(ev) => Some(ev.event.id.clone()),
                Err((id, _)) => id.clone(),
            };
            *item = Err((
                id,
                EventError {
                    errors: vec![error],
                },
            ));
        }
    }
}

enum Refusal {
    Field(FieldError),
    Api(ApiError),
}

fn field(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.into(),
        message: message.into(),
    }
}

/// The event with its private payloads sealed, or `None` if it has none (or is not an
/// object: the validator says why).
fn seal_event(
    batch: &mut SealBatch<'_>,
    content: &LogContent,
    log: &Log,
    raw: &[u8],
) -> Result<Option<Vec<u8>>, Refusal> {
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(raw) else {
        return Ok(None);
    };
    let private: Vec<&str> = FIELDS
        .into_iter()
        .filter(|f| event.get(*f).and_then(|p| p.get("private")).is_some())
        .collect();
    if private.is_empty() {
        return Ok(None);
    }
    let subject = event
        .get("context")
        .and_then(|c| c.get("subject"))
        .and_then(|s| s.get("pseudo_id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Refusal::Field(field(
                "context.subject.pseudo_id",
                "an event with a private input or output needs the data subject's pseudo id: \
                 its content is encrypted under that subject's key",
            ))
        })?
        .to_owned();
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::Field(field("id", "must be a string")))?
        .to_owned();
    for name in private {
        let payload = event[name].as_object().expect("has `private`");
        if let Some(extra) = payload
            .keys()
            .find(|k| !["private", "media_type"].contains(&k.as_str()))
        {
            return Err(Refusal::Field(field(
                &format!("{name}.{extra}"),
                "a private payload has only `private` and, optionally, `media_type`",
            )));
        }
        let plaintext = jcs::canonicalize(&payload["private"]);
        let sealed = match resent(content, log, &id, name, &plaintext)? {
            Some(sealed) => sealed,
            None => batch.seal(&subject, &id, &plaintext).map_err(|e| match e {
                ContentError::Erased(t) => Refusal::Field(field(
                    name,
                    format!(
                        "the data subject {subject:?} was erased on {}; content about it is \
                         no longer stored: give a new data subject a new pseudo id, or send a \
                         commitment",
                        t.erased
                    ),
                )),
                e => Refusal::Api(e.into()),
            })?,
        };
        let mut out = Map::new();
        out.insert(
            "encrypted".into(),
            json!({"subject": subject, "key_id": sealed.key_id, "ciphertext_sha256": sealed.ciphertext_sha256}),
        );
        out.insert("size".into(), json!(plaintext.len()));
        if let Some(media_type) = payload.get("media_type") {
            out.insert("media_type".into(), media_type.clone());
        }
        event.insert(name.into(), Value::Object(out));
    }
    Ok(Some(
        serde_json::to_vec(&event).expect("a JSON value serializes"),
    ))
}

/// For a re-sent event already stored with this very content: its blob, so that the resent
/// event is the same event (a `duplicate`) and not a conflicting one with a fresh nonce.
fn resent(
    content: &LogContent,
    log: &Log,
    id: &str,
    field: &str,
    plaintext: &[u8],
) -> Result<Option<Sealed>, Refusal> {
    let Ok(number) = uuid::Uuid::try_parse(id) else {
        return Ok(None);
    };
    let api = |e: ReadError| Refusal::Api(e.into());
    let Some(index) = log.find_id(number.as_u128()).map_err(api)? else {
        return Ok(None);
    };
    let Ok(leaf) = Leaf::parse(&log.entry(index).map_err(api)?) else {
        return Ok(None);
    };
    let Some(r) = encrypted_ref(&leaf.event, field) else {
        return Ok(None);
    };
    match content.open_blob(&r.0, &r.1, &r.2, id) {
        Ok(stored) if stored.as_slice() == plaintext => Ok(Some(Sealed {
            key_id: r.1,
            ciphertext_sha256: r.2,
        })),
        _ => Ok(None),
    }
}

/// The `(subject, key_id, ciphertext_sha256)` of an event's encrypted payload `field`.
pub fn encrypted_ref(event: &Value, field: &str) -> Option<(String, String, String)> {
    let r = event.get(field)?.get("encrypted")?;
    let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    Some((s("subject")?, s("key_id")?, s("ciphertext_sha256")?))
}

/// An encrypted payload opened: its plaintext, or why it cannot be read.
pub type Opened = Result<Zeroizing<Vec<u8>>, ContentError>;

/// Each encrypted payload of `event` (`input`, then `output`), by field, opened.
pub fn open_payloads(content: &LogContent, event: &Value) -> Vec<(&'static str, Opened)> {
    let id = event["id"].as_str().unwrap_or_default();
    FIELDS
        .into_iter()
        .filter_map(|field| {
            let (subject, key_id, sha) = encrypted_ref(event, field)?;
            Some((field, content.open_blob(&subject, &key_id, &sha, id)))
        })
        .collect()
}

/// `GET /v1/logs/{log}/events/{id}/content` (read and admin keys): the event's encrypted
/// input and output, decrypted; 410 once its subject was erased.
pub async fn get_content(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let index = find(&log, &id).await?;
    let content = store(&state, &name)?;
    blocking(&log, move |log| {
        let leaf = Leaf::parse(&log.entry(index)?)
            .map_err(|e| ReadError::Corrupt(format!("stored leaf {index} does not parse: {e}")))?;
        let mut out = Map::new();
        for (field, opened) in open_payloads(&content, &leaf.event) {
            let plain = opened.map_err(|e| crate::retention::unreadable(&content, index, e))?;
            let value: Value = serde_json::from_slice(&plain)
                .map_err(|e| ApiError::internal(format!("the content of {id} is not JSON: {e}")))?;
            out.insert(field.into(), value);
        }
        if out.is_empty() {
            return Err(ApiError::not_found(format!(
                "event {id} has no encrypted content: its payloads are commitments, plain \
                 content or absent"
            )));
        }
        Ok(Json(Value::Object(out)))
    })
    .await
}
