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

/// A token bucket: `rate` requests a second with bursts of `burst`, for the per-key request
/// limit of the API and the sign-in limits of the dashboard.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens.
    pub fn full(burst: f64) -> Self {
        TokenBucket {
            tokens: burst,
            last: std::time::Instant::now(),
        }
    }

    /// Takes one token, refilled at `rate` a second up to `burst`, or says how long until one
    /// is there.
    pub fn take(&mut self, rate: f64, burst: f64) -> Result<(), std::time::Duration> {
        let now = std::time::Instant::now();
        self.tokens = self.refilled(rate, burst, now);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(std::time::Duration::from_secs_f64(
                (1.0 - self.tokens) / rate,
            ))
        }
    }

    /// Whether the bucket has refilled to `burst`: it then holds no information.
    pub fn is_full(&self, rate: f64, burst: f64) -> bool {
        self.refilled(rate, burst, std::time::Instant::now()) >= burst
    }

    fn refilled(&self, rate: f64, burst: f64, now: std::time::Instant) -> f64 {
        (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_makes_the_caller_wait() {
        let mut bucket = TokenBucket::full(4.0);
        for _ in 0..4 {
            bucket.take(2.0, 4.0).unwrap();
        }
        let wait = bucket.take(2.0, 4.0).unwrap_err();
        assert!(wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_millis(500));
        assert!(!bucket.is_full(2.0, 4.0));
    }
}
