//! Subject access (GDPR Art. 15 and 20): `GET /v1/logs/{log}/subjects/{pseudo_id}` lists every
//! event whose `context.subject.pseudo_id` is the subject, each with its decrypted content
//! where it still exists, and the subject's erasure if there was one. The log is scanned (the
//! query index does not index subjects), so the answer costs a read of the whole log.

use crate::auth::Caller;
use crate::content::{encrypted_ref, store};
use crate::error::{ApiError, ApiResult};
use crate::read::{blocking, event_json};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use sealog_core::leaf::Leaf;
use sealog_storage::content::{ContentError, LogContent};
use serde_json::{Map, Value, json};

/// Entries read at a time.
const CHUNK: u64 = 4096;

/// `GET /v1/logs/{log}/subjects/{pseudo_id}` (read and admin keys).
pub async fn subject_access(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, subject)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.read(&name)?;
    let log = state.log(&name)?;
    let content = store(&state, &name)?;
    blocking(&log, move |log| {
        let needle = format!(
            "\"pseudo_id\":{}",
            sealog_core::jcs::string_literal(&subject)
        );
        let (size, mut events, mut erasure) = (log.size(), Vec::new(), None);
        for start in (0..size).step_by(CHUNK as usize) {
            let leaves = log.entries(start, (start + CHUNK).min(size))?;
            for (index, bytes) in (start..).zip(leaves) {
                if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    continue;
                }
                let Ok(leaf) = Leaf::parse(&bytes) else {
                    continue;
                };
                if leaf.event["context"]["subject"]["pseudo_id"] != subject.as_str() {
                    continue;
                }
                let mut out = event_json(index, &bytes)?;
                let (decrypted, erased) = decrypt(&content, &leaf.event)?;
                if !decrypted.is_empty() {
                    out["content"] = Value::Object(decrypted);
                }
                if erased.is_some() {
                    erasure = erased;
                }
                events.push(out);
            }
        }
        Ok(Json(
            json!({"subject": subject, "events": events, "erased": erasure, "size": size}),
        ))
    })
    .await
}

/// The event's encrypted payloads, decrypted; and, if they were erased, when and why.
fn decrypt(content: &LogContent, event: &Value) -> ApiResult<(Map<String, Value>, Option<Value>)> {
    let (mut out, mut erased) = (Map::new(), None);
    let id = event["id"].as_str().unwrap_or_default();
    for field in ["input", "output"] {
        let Some((subject, key_id, sha)) = encrypted_ref(event, field) else {
            continue;
        };
        match content.open_blob(&subject, &key_id, &sha, id) {
            Ok(plain) => {
                let value = serde_json::from_slice(&plain).map_err(|e| {
                    ApiError::internal(format!("the content of {id} is not JSON: {e}"))
                })?;
                out.insert(field.into(), value);
            }
            Err(ContentError::Erased(t)) => {
                erased = Some(json!({"erased": t.erased, "reason": t.reason, "event": t.event_id}));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((out, erased))
}
