//! API keys and per-log settings, kept in `DIR/server.json`, or on a shared PostgreSQL store
//! in the database, where every node sees the same ones (module `key_store`).
//!
//! A key is `slk_<id>_<secret>`: the 16-hex-digit id is public (it names the key in lists and
//! logs), the secret is 32 random bytes. Only SHA-256 of the whole key is stored; a presented
//! key is found by its id and its hash compared in constant time, so neither a lookup miss nor
//! a partial match is distinguishable by timing. (The secret has 256 bits of entropy, so a
//! plain hash is as strong as a slow password hash here.)
//!
//! The contents are small (keys and log settings, not events) and rewritten whole on every
//! change, in one durable step.

use crate::error::ServerError;
use crate::key_store::{self, KeyStore};
use sealog_auth::{Principal, Role};
use sealog_core::hex;
use sealog_storage::{Engine, ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Longest API key accepted; anything longer is refused without hashing.
const MAX_KEY_LEN: usize = 256;

/// One stored key (never the secret).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRecord {
    /// Public identifier.
    pub id: String,
    /// Lowercase hex SHA-256 of the whole key.
    pub hash: String,
    /// What the key may do.
    pub role: Role,
    /// The log it is scoped to; `None` for a server-wide admin key.
    pub log: Option<String>,
    /// A label chosen by its creator.
    #[serde(default)]
    pub label: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Revocation time, RFC 3339; a revoked key authenticates nothing.
    #[serde(default)]
    pub revoked: Option<String>,
}

impl KeyRecord {
    /// Who holds this key, as the API and the dashboard see them.
    fn principal(&self) -> Principal {
        Principal {
            key_id: self.id.clone(),
            role: self.role,
            log: self.log.clone(),
        }
    }
}

/// Settings of one log that the server (not the engine) keeps.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogSettings {
    /// Whether the log's checkpoint and hash tiles (`/tlog/{log}/checkpoint`,
    /// `/tlog/{log}/tile/<L>/…`) are readable without a key: hashes only, no event.
    #[serde(default)]
    pub public: bool,
    /// Whether its entry bundles (`/tlog/{log}/tile/entries/…`) are too. They hold every
    /// event whole (agents, sessions, attributes, commitments), so a public log publishes its
    /// contents only when this is set as well.
    #[serde(default)]
    pub public_entries: bool,
    /// OpenTelemetry ingest: whether content is kept, which non-AI spans are, and the key
    /// content is committed under.
    #[serde(default)]
    pub otlp: crate::otlp::settings::OtlpSettings,
    /// How long encrypted content is kept (docs/DESIGN.md §11, "Retention").
    #[serde(default)]
    pub retention: crate::retention::RetentionSettings,
}

/// Everything the key store keeps: `server.json`, or the shared store's document.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Contents {
    keys: Vec<KeyRecord>,
    #[serde(default)]
    logs: BTreeMap<String, LogSettings>,
}

/// What a revocation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The key is revoked (now or before).
    Done,
    /// There is no such key.
    NotFound,
    /// The key is the last active server-wide admin key, which is kept.
    LastAdmin,
}

fn active_server_admins(contents: &Contents) -> usize {
    contents
        .keys
        .iter()
        .filter(|k| k.log.is_none() && k.role == Role::Admin && k.revoked.is_none())
        .count()
}

/// The key store; cheap to clone.
#[derive(Clone)]
pub struct Keys {
    store: Arc<KeyStore>,
}

impl Keys {
    /// Loads `DIR/server.json`, or starts empty if it does not exist.
    pub fn open(dir: &Path) -> Result<Keys, ServerError> {
        Ok(Keys {
            store: KeyStore::file(dir.join("server.json"))?,
        })
    }

    /// The key store of a server over `engine`: the shared store's, which every node reads
    /// and writes, when the logs are in PostgreSQL; else `DIR/server.json`.
    pub fn open_for(dir: &Path, engine: &Engine) -> Result<Keys, ServerError> {
        match engine.shared_documents() {
            Some(documents) => Ok(Keys {
                store: KeyStore::shared(documents)?,
            }),
            None => Self::open(dir),
        }
    }

    /// Replaces every key and log setting by those of a `server.json`'s text (moving an
    /// embedded deployment to a shared store), in one durable step.
    pub fn store_server_json(&self, bytes: &[u8]) -> Result<(), ServerError> {
        let contents = key_store::parse(bytes, "the server.json given")?;
        self.store.change(|current| {
            *current = contents;
            Ok::<_, ServerError>(())
        })
    }

    /// Whether no key exists yet (a first start).
    pub fn is_empty(&self) -> bool {
        self.store.read(|c| c.keys.is_empty())
    }

    /// Creates and stores a key; returns its record and the secret key (shown once).
    pub fn create(
        &self,
        role: Role,
        log: Option<&str>,
        label: &str,
    ) -> Result<(KeyRecord, String), ServerError> {
        let (record, key) = Self::generate(role, log, label);
        self.insert(record.clone())?;
        Ok((record, key))
    }

    /// Makes a new key and its record without storing it.
    pub fn generate(role: Role, log: Option<&str>, label: &str) -> (KeyRecord, String) {
        let id = hex::encode(&random::<8>());
        let secret = base64_url(&random::<32>());
        let key = format!("slk_{id}_{secret}");
        let record =
            Self::record_of(&key, role, log, label).expect("a generated key is well formed");
        (record, key)
    }

    /// The record of a key made elsewhere (an operator's own admin key): it must have the
    /// shape of a generated one, `slk_<16 hex digits>_<at least 43 base64url characters>`.
    pub fn record_of(
        key: &str,
        role: Role,
        log: Option<&str>,
        label: &str,
    ) -> Result<KeyRecord, ServerError> {
        let shaped = key
            .strip_prefix("slk_")
            .and_then(|rest| rest.split_once('_'));
        let valid = shaped.is_some_and(|(id, secret)| {
            id.len() == 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && secret.len() >= 43
                && key.len() <= MAX_KEY_LEN
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let Some((id, _)) = shaped.filter(|_| valid) else {
            return Err(ServerError::new(
                ErrorKind::Invalid,
                "the provided admin key is not of the form slk_<16 lowercase hex digits>_<at \
                 least 43 base64url characters>; make one with `sealog keys generate`",
            ));
        };
        Ok(KeyRecord {
            id: id.to_owned(),
            hash: hex::encode(&Sha256::digest(key.as_bytes())),
            role,
            log: log.map(str::to_owned),
            label: label.to_owned(),
            created: now_rfc3339(),
            revoked: None,
        })
    }

    /// Stores a key made by [`Keys::generate`].
    pub fn insert(&self, record: KeyRecord) -> Result<(), ServerError> {
        self.store.change(|contents| {
            contents.keys.push(record);
            Ok(())
        })
    }

    /// Stores `record` only if no key exists yet, and says whether it did: a first start's
    /// admin key, which two nodes of a shared store starting together make only once.
    pub fn insert_first(&self, record: KeyRecord) -> Result<bool, ServerError> {
        self.store.change(|contents| {
            let first = contents.keys.is_empty();
            if first {
                contents.keys.push(record);
            }
            Ok(first)
        })
    }

    /// The keys of `log` (or the server-wide ones for `None`), oldest first.
    pub fn list(&self, log: Option<&str>) -> Vec<KeyRecord> {
        self.store.read(|contents| {
            contents
                .keys
                .iter()
                .filter(|k| k.log.as_deref() == log)
                .cloned()
                .collect()
        })
    }

    /// Revokes key `id` of `log` (`None`: a server-wide key). The last active server-wide
    /// admin key is kept: without it nobody could create logs or keys again.
    pub fn revoke(&self, log: Option<&str>, id: &str) -> Result<Revoked, ServerError> {
        self.store.change(|contents| {
            let Some(pos) = contents
                .keys
                .iter()
                .position(|k| k.id == id && k.log.as_deref() == log)
            else {
                return Ok(Revoked::NotFound);
            };
            if contents.keys[pos].revoked.is_some() {
                return Ok(Revoked::Done);
            }
            if log.is_none() && active_server_admins(contents) <= 1 {
                return Ok(Revoked::LastAdmin);
            }
            contents.keys[pos].revoked = Some(now_rfc3339());
            Ok(Revoked::Done)
        })
    }

    /// Replaces server-wide key `old_id` by a new admin key in one durable change: the new key
    /// is stored and the old one revoked together. Returns the new record and its secret.
    pub fn rotate_server_admin(
        &self,
        old_id: &str,
        label: &str,
    ) -> Result<(KeyRecord, String), ServerError> {
        let (record, key) = Self::generate(Role::Admin, None, label);
        self.store.change(|contents| {
            if let Some(old) = contents
                .keys
                .iter_mut()
                .find(|k| k.id == old_id && k.log.is_none())
            {
                old.revoked.get_or_insert_with(now_rfc3339);
            }
            contents.keys.push(record.clone());
            Ok::<_, ServerError>(())
        })?;
        Ok((record, key))
    }

    /// Who `key` belongs to, or `None` for an unknown, malformed or revoked key.
    pub fn authenticate(&self, key: &str) -> Option<Principal> {
        if key.len() > MAX_KEY_LEN {
            return None;
        }
        let id = key.strip_prefix("slk_")?.split('_').next()?;
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let record = self.record(id)?;
        let stored = hex::decode::<32>(&record.hash)?;
        let equal: bool = presented.ct_eq(&stored).into();
        (equal && record.revoked.is_none()).then(|| record.principal())
    }

    /// The holder of key `key_id` now, or `None` once it is revoked or unknown.
    pub fn principal(&self, key_id: &str) -> Option<Principal> {
        let record = self.record(key_id)?;
        record.revoked.is_none().then(|| record.principal())
    }

    /// The record of key `id`, current enough to authenticate by (module `key_store`).
    fn record(&self, id: &str) -> Option<KeyRecord> {
        self.store
            .find_current(|contents| contents.keys.iter().find(|k| k.id == id).cloned())
    }

    /// The settings of `log`.
    pub fn settings(&self, log: &str) -> LogSettings {
        self.store
            .read(|contents| contents.logs.get(log).cloned().unwrap_or_default())
    }

    /// Replaces the settings of `log`.
    pub fn set_settings(&self, log: &str, settings: LogSettings) -> Result<(), ServerError> {
        self.update_settings(log, |s| {
            *s = settings;
            Ok::<_, ServerError>(())
        })
    }

    /// Changes `log`'s settings with `change` under the store's lock and saves them, so that
    /// a read-modify-write cannot interleave with another (on a shared store, with another
    /// node's either); nothing changes if `change` or the save fails.
    pub fn update_settings<T, E: From<ServerError>>(
        &self,
        log: &str,
        change: impl FnOnce(&mut LogSettings) -> Result<T, E>,
    ) -> Result<T, E> {
        self.store.change(|contents| {
            let settings = contents.logs.entry(log.to_owned()).or_default();
            change(settings)
        })
    }
}

impl sealog_auth::Authenticator for Keys {
    fn authenticate(&self, api_key: &str) -> Option<Principal> {
        Keys::authenticate(self, api_key)
    }

    fn principal(&self, key_id: &str) -> Option<Principal> {
        Keys::principal(self, key_id)
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random number generator failed");
    b
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The current time as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 ns is valid");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("a current time formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_authenticate_only_themselves_and_stop_when_revoked() {
        let dir = std::env::temp_dir().join(format!("sealog-keys-{}", hex::encode(&random::<8>())));
        std::fs::create_dir_all(&dir).unwrap();
        let keys = Keys::open(&dir).unwrap();
        let (rec, key) = keys.create(Role::Ingest, Some("a"), "ci").unwrap();
        let who = keys.authenticate(&key).unwrap();
        assert_eq!((who.role, who.log.as_deref()), (Role::Ingest, Some("a")));
        // Same id, other secret; and a truncated key.
        let forged = format!("slk_{}_{}", rec.id, base64_url(&[0u8; 32]));
        assert!(keys.authenticate(&forged).is_none());
        assert!(keys.authenticate(&key[..key.len() - 1]).is_none());
        // The store survives a reopen, and holds no secret.
        let text = std::fs::read_to_string(dir.join("server.json")).unwrap();
        assert!(!text.contains(&key[21..]));
        let reopened = Keys::open(&dir).unwrap();
        assert!(reopened.authenticate(&key).is_some());
        assert_eq!(reopened.revoke(Some("a"), &rec.id).unwrap(), Revoked::Done);
        assert!(reopened.authenticate(&key).is_none());
        assert!(
            reopened.revoke(Some("b"), &rec.id).unwrap() == Revoked::NotFound,
            "another log's key"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
