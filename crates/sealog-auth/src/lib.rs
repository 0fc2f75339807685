//! Sealog's authorization model, in one small crate that the server and the dashboard both
//! use: the [`Role`] of an API key, the [`Principal`] that holds one, and the
//! [`Authenticator`] that checks a presented key.
//!
//! The server owns the key store and implements [`Authenticator`] over it; the dashboard only
//! calls it when someone signs in. Keeping the model here, rather than in either of them, means
//! the dashboard is a client of the server's authorization, not its owner.

use serde::{Deserialize, Serialize};

/// What an API key may do (docs/DESIGN.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Query events, proofs and exports.
    Read,
    /// Read, plus manage keys (and logs, for a server-wide admin).
    Admin,
    /// Append events only; refused by the dashboard.
    Ingest,
}

/// The holder of an API key, as the server's key store knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The key's public identifier (never the secret).
    pub key_id: String,
    /// The key's role.
    pub role: Role,
    /// The log the key is scoped to; `None` for a server-wide admin key.
    pub log: Option<String>,
}

/// Checks an API key. Implemented by the server over its (hashed) key store.
pub trait Authenticator: Clone + Send + Sync + 'static {
    /// Returns who the key belongs to, or `None` for an unknown or revoked key.
    fn authenticate(&self, api_key: &str) -> Option<Principal>;

    /// The holder of the key with id `key_id` as the key store knows it now, or `None` once
    /// the key is revoked or gone. Whatever acted for a key earlier (a dashboard session) asks
    /// this on every request, so a revocation or a change of role takes effect at once.
    fn principal(&self, key_id: &str) -> Option<Principal>;
}
