//! A log's OpenTelemetry settings and its commitment key: `PATCH /v1/logs/{log}` sets
//! `otlp_content` and `otlp_other_spans`; `POST /v1/logs/{log}/otlp/commitment-key` hands the
//! key to the log's admin once, `…/rotate` replaces it.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sealog_core::commitment::CommitmentKey;
use sealog_core::hex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What becomes of spans that are not AI work (HTTP, database, framework spans).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OtherSpans {
    /// Kept when their trace holds an AI span in the same request, or did in an earlier one.
    #[default]
    InAiTraces,
    /// Always kept.
    Keep,
    /// Never kept.
    Drop,
}

/// The OpenTelemetry settings of one log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtlpSettings {
    /// Whether content (prompts, completions, tool arguments and results) is kept as it came;
    /// otherwise it is replaced by commitments.
    #[serde(default)]
    pub keep_content: bool,
    /// Which non-AI spans are kept.
    #[serde(default)]
    pub other_spans: OtherSpans,
    /// The key content is committed under; made at the first need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_key: Option<StoredKey>,
}

/// A commitment key as the server keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Public name of the key, recorded in every event committed under it.
    pub id: String,
    /// The secret, standard base64 of 32 random bytes.
    pub secret: String,
    /// When it was made, RFC 3339.
    pub created: String,
    /// Whether the admin has fetched it (it is handed out once).
    #[serde(default)]
    pub fetched: bool,
}

impl StoredKey {
    /// A fresh random key.
    pub fn generate() -> ApiResult<StoredKey> {
        let mut secret = [0u8; 32];
        let mut id = [0u8; 8];
        getrandom::fill(&mut secret)
            .and_then(|()| getrandom::fill(&mut id))
            .map_err(|e| ApiError::internal(format!("no randomness for a commitment key: {e}")))?;
        Ok(StoredKey {
            id: format!("ck_{}", hex::encode(&id)),
            secret: BASE64.encode(secret),
            created: now(),
            fetched: false,
        })
    }

    /// The key for committing.
    pub fn key(&self) -> ApiResult<CommitmentKey> {
        let bytes = BASE64
            .decode(&self.secret)
            .map_err(|e| ApiError::internal(format!("stored commitment key unreadable: {e}")))?;
        CommitmentKey::new(&bytes).map_err(|e| ApiError::internal(e.to_string()))
    }

    fn shown(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.secret,
            "created": self.created,
            "scheme": "hmac-sha256",
        })
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The log's commitment key, made and saved first if it has none.
pub async fn commitment_key(state: &AppState, log: &str) -> ApiResult<StoredKey> {
    if let Some(key) = state.keys.settings(log).otlp.commitment_key {
        return Ok(key);
    }
    let (keys, name) = (state.keys.clone(), log.to_owned());
    blocking(move || {
        keys.update_settings(&name, |settings| {
            // Another request may have made one meanwhile.
            if let Some(key) = &settings.otlp.commitment_key {
                return Ok(key.clone());
            }
            let key = StoredKey::generate()?;
            settings.otlp.commitment_key = Some(key.clone());
            Ok(key)
        })
    })
    .await
}

/// `POST /v1/logs/{log}/otlp/commitment-key` (admin): the key OTLP content is committed
/// under, shown once; later calls get 409 and must rotate.
pub async fn fetch_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    commitment_key(&state, &name).await?;
    let keys = state.keys.clone();
    // Checked and marked under one write, so that of two concurrent calls one gets 409.
    let key = blocking(move || {
        keys.update_settings(&name, |settings| {
            let stored = settings
                .otlp
                .commitment_key
                .as_mut()
                .ok_or_else(|| ApiError::internal("the commitment key just made is missing"))?;
            if stored.fetched {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "already_fetched",
                    format!(
                        "commitment key {} was handed out already and is shown only once; \
                         POST /v1/logs/{name}/otlp/commitment-key/rotate makes a new one",
                        stored.id
                    ),
                ));
            }
            stored.fetched = true;
            Ok(stored.clone())
        })
    })
    .await?;
    Ok(Json(key.shown()))
}

/// `POST /v1/logs/{log}/otlp/commitment-key/rotate` (admin): a new key, shown in this
/// response only; later content is committed under it. Events keep naming the key they
/// were committed under, so keep the old key to prove their content.
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.admin(&name)?;
    state.log(&name)?;
    let keys = state.keys.clone();
    let (key, replaced) = blocking(move || {
        keys.update_settings(&name, |settings| {
            let mut key = StoredKey::generate()?;
            key.fetched = true;
            let previous = settings.otlp.commitment_key.replace(key.clone());
            Ok::<_, ApiError>((key, previous.map(|p| p.id)))
        })
    })
    .await?;
    let mut shown = key.shown();
    shown["replaced"] = json!(replaced);
    Ok(Json(shown))
}
