//! The session store: who is signed in, bounded per key and in all, rate-limited at sign-in,
//! and (when given a file) kept across restarts.
//!
//! Sessions are keyed by SHA-256 of the cookie value, so a lookup's timing depends on the
//! hash, not on the secret, and the file holds hashes, never a cookie. Every use asks the key
//! store for the key's holder now, so a session never outlives its key's revocation nor keeps
//! a role the key lost.

use sealog_auth::{Authenticator, Principal, Role, TokenBucket};
use sealog_core::hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most live sessions in all. Signing in beyond it first drops expired sessions, then the
/// signing key's own oldest; a key never signs another key's session out.
pub const MAX_SESSIONS: usize = 10_000;
/// Most live sessions of one key; its next sign-in ends its oldest.
pub const MAX_SESSIONS_PER_KEY: usize = 16;
/// Sign-in attempts per second from one address, and for one key id (bursts of twice that).
pub const SIGN_INS_PER_SECOND: f64 = 5.0;
/// Most addresses and key ids whose sign-in rate is tracked at once (the idle ones go first).
const MAX_TRACKED: usize = 10_000;

/// One signed-in session, as kept in memory and in the file.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
    /// Unix milliseconds after which the session is over (milliseconds, so that a key's
    /// sessions made in one second still have an order: its oldest is ended first).
    pub(crate) expires: u64,
    /// Order of creation, which breaks ties of `expires`.
    #[serde(default)]
    pub(crate) serial: u64,
}

/// A live session found for a request: its key in the table, the key's holder now, its CSRF
/// token and how long it has left.
pub(crate) struct Found {
    pub(crate) key: [u8; 32],
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
    pub(crate) left: Duration,
}

/// Why a sign-in was not given a session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Too many attempts from this address or for this key: try again after the delay.
    RateLimited(Duration),
    /// The table is full of other keys' live sessions.
    Full,
}

/// The session store, shared by the dashboard router and the server's auth layer.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Mutex<Table>>,
    current: Arc<CurrentHolder>,
    file: Option<PathBuf>,
}

/// Resolves a key id to the key's holder now (`None` once revoked).
type CurrentHolder = dyn Fn(&str) -> Option<Principal> + Send + Sync;

#[derive(Default)]
struct Table {
    sessions: HashMap<[u8; 32], Session>,
    /// The next session's `serial`.
    serial: u64,
    by_peer: Buckets<IpAddr>,
    by_key: Buckets<String>,
}

/// The file's contents: hashed cookie → session.
#[derive(Serialize, Deserialize, Default)]
struct Saved {
    sessions: Vec<(String, Session)>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print session ids or CSRF tokens.
        f.write_str("Sessions")
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random number generator failed");
    hex::encode(&b)
}

/// The table key of a cookie value.
pub(crate) fn session_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// A store asking `auth` for keys' holders; with `file`, it loads the sessions kept there
    /// (a missing or unreadable file starts empty, with a warning) and saves each change.
    pub(crate) fn new<A: Authenticator>(auth: A, file: Option<PathBuf>) -> Self {
        let mut table = Table::default();
        if let Some(path) = &file {
            table.sessions = load(path);
            table.serial = table.sessions.values().map(|s| s.serial).max().unwrap_or(0);
        }
        Sessions {
            inner: Arc::new(Mutex::new(table)),
            current: Arc::new(move |key_id| auth.principal(key_id)),
            file,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every update is a single insert or remove: poisoning leaves nothing half done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one sign-in attempt from `peer` for key id `key_id`, or says how long to wait.
    pub(crate) fn admit_sign_in(&self, peer: Option<IpAddr>, key_id: &str) -> Result<(), Refused> {
        let mut table = self.lock();
        if let Some(peer) = peer {
            table.by_peer.take(peer).map_err(Refused::RateLimited)?;
        }
        table
            .by_key
            .take(key_id.to_owned())
            .map_err(Refused::RateLimited)
    }

    /// Creates a session for `principal`; returns its cookie value and CSRF token.
    pub(crate) fn create(
        &self,
        principal: Principal,
        ttl: Duration,
    ) -> Result<(String, String), Refused> {
        let (id, csrf) = (random_hex(), random_hex());
        let now = now_unix_ms();
        let mut table = self.lock();
        table.serial += 1;
        let serial = table.serial;
        let sessions = &mut table.sessions;
        sessions.retain(|_, s| s.expires > now);
        let own = |sessions: &HashMap<[u8; 32], Session>| {
            sessions
                .iter()
                .filter(|(_, s)| s.principal.key_id == principal.key_id)
                .min_by_key(|(_, s)| (s.expires, s.serial))
                .map(|(k, _)| *k)
        };
        let own_count = sessions
            .values()
            .filter(|s| s.principal.key_id == principal.key_id)
            .count();
        if own_count >= MAX_SESSIONS_PER_KEY || sessions.len() >= MAX_SESSIONS {
            match own(sessions) {
                Some(oldest) => {
                    sessions.remove(&oldest);
                }
                None => return Err(Refused::Full),
            }
        }
        let expires = now + u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1000);
        let session = Session {
            principal,
            csrf: csrf.clone(),
            expires,
            serial,
        };
        sessions.insert(session_key(&id), session);
        self.save(&table);
        Ok((id, csrf))
    }

    /// The live session named by one of `cookies`, with the key's holder now. Expired
    /// sessions, and sessions whose key was revoked or can no longer sign in, are removed.
    pub(crate) fn lookup<'a>(&self, cookies: impl Iterator<Item = &'a str>) -> Option<Found> {
        let now = now_unix_ms();
        let (key, session) = {
            let table = self.lock();
            cookies
                .map(session_key)
                .find_map(|k| table.sessions.get(&k).map(|s| (k, s.clone())))?
        };
        let holder = (self.current)(&session.principal.key_id);
        match holder {
            Some(principal) if session.expires > now && principal.role != Role::Ingest => {
                Some(Found {
                    key,
                    principal,
                    csrf: session.csrf,
                    left: Duration::from_millis(session.expires - now),
                })
            }
            _ => {
                self.remove(&key);
                None
            }
        }
    }

    /// Ends the session with table key `key`.
    pub(crate) fn remove(&self, key: &[u8; 32]) {
        let mut table = self.lock();
        if table.sessions.remove(key).is_some() {
            self.save(&table);
        }
    }

    /// Ends every session signed in with key `key_id` (its revocation); returns how many.
    pub fn end_key(&self, key_id: &str) -> usize {
        let mut table = self.lock();
        let before = table.sessions.len();
        table.sessions.retain(|_, s| s.principal.key_id != key_id);
        let ended = before - table.sessions.len();
        if ended > 0 {
            self.save(&table);
        }
        ended
    }

    /// How many unexpired sessions key `key_id` has, for the keys page.
    pub fn count_for(&self, key_id: &str) -> usize {
        let now = now_unix_ms();
        self.lock()
            .sessions
            .values()
            .filter(|s| s.principal.key_id == key_id && s.expires > now)
            .count()
    }

    /// Writes the table to the file, if there is one. A failure costs only the sessions'
    /// survival of a restart, so it is logged, not returned.
    fn save(&self, table: &Table) {
        let Some(path) = &self.file else { return };
        let saved = Saved {
            sessions: table
                .sessions
                .iter()
                .map(|(k, s)| (hex::encode(k), s.clone()))
                .collect(),
        };
        let bytes = serde_json::to_vec(&saved).expect("sessions serialize");
        if let Err(e) = sealog_storage::durable::write_file(path, &bytes, 0o600) {
            tracing::warn!(
                "cannot save dashboard sessions to {}: {e}; they will not survive a restart",
                path.display()
            );
        }
    }
}

/// The unexpired sessions kept in `path`.
fn load(path: &std::path::Path) -> HashMap<[u8; 32], Session> {
    let saved: Saved = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                "{} is not a session file ({e}); everyone signs in again",
                path.display()
            );
            Saved::default()
        }),
        Err(_) => Saved::default(),
    };
    let now = now_unix_ms();
    saved
        .sessions
        .into_iter()
        .filter(|(_, s)| s.expires > now)
        .filter_map(|(k, s)| Some((hex::decode::<32>(&k)?, s)))
        .collect()
}

/// A token bucket per name, at most [`MAX_TRACKED`] names (full buckets are forgotten first).
struct Buckets<K> {
    buckets: HashMap<K, TokenBucket>,
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Buckets {
            buckets: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq> Buckets<K> {
    /// Takes one token of `name`'s bucket, or says how long until one is there.
    fn take(&mut self, name: K) -> Result<(), Duration> {
        let (rate, burst) = (SIGN_INS_PER_SECOND, 2.0 * SIGN_INS_PER_SECOND);
        if self.buckets.len() >= MAX_TRACKED {
            self.buckets
                .retain(|_, bucket| !bucket.is_full(rate, burst));
            if self.buckets.len() >= MAX_TRACKED {
                self.buckets.clear();
            }
        }
        self.buckets
            .entry(name)
            .or_insert_with(|| TokenBucket::full(burst))
            .take(rate, burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Everyone;

    impl Authenticator for Everyone {
        fn authenticate(&self, _key: &str) -> Option<Principal> {
            None
        }
        fn principal(&self, key_id: &str) -> Option<Principal> {
            Some(read_key(key_id))
        }
    }

    fn read_key(key_id: &str) -> Principal {
        Principal {
            key_id: key_id.into(),
            role: Role::Read,
            log: Some("a".into()),
        }
    }

    #[test]
    fn a_key_ends_its_own_oldest_session_never_another_keys() {
        let sessions = Sessions::new(Everyone, None);
        let ttl = Duration::from_secs(60);
        let (other, _) = sessions.create(read_key("other"), ttl).unwrap();
        let mut mine = Vec::new();
        for _ in 0..MAX_SESSIONS_PER_KEY + 3 {
            mine.push(sessions.create(read_key("mine"), ttl).unwrap().0);
        }
        assert_eq!(sessions.count_for("mine"), MAX_SESSIONS_PER_KEY);
        assert!(sessions.lookup([other.as_str()].into_iter()).is_some());
        assert!(
            sessions
                .lookup([mine.last().unwrap().as_str()].into_iter())
                .is_some()
        );
    }

    #[test]
    fn sign_ins_are_rate_limited_per_address_and_per_key() {
        let sessions = Sessions::new(Everyone, None);
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let burst = (2.0 * SIGN_INS_PER_SECOND) as usize;
        for n in 0..burst {
            sessions
                .admit_sign_in(Some(peer), &format!("k{n}"))
                .unwrap();
        }
        let refused = sessions.admit_sign_in(Some(peer), "fresh");
        assert!(
            matches!(refused, Err(Refused::RateLimited(_))),
            "{refused:?}"
        );
        // Another address may still try, but not for a key that is being hammered.
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..burst {
            sessions.admit_sign_in(None, "hammered").unwrap();
        }
        assert!(sessions.admit_sign_in(Some(other), "hammered").is_err());
        assert!(sessions.admit_sign_in(Some(other), "calm").is_ok());
    }

    #[test]
    fn sessions_kept_in_a_file_survive_a_new_store_and_expired_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.json");
        let first = Sessions::new(Everyone, Some(file.clone()));
        let (kept, csrf) = first
            .create(read_key("k"), Duration::from_secs(60))
            .unwrap();
        let (gone, _) = first.create(read_key("k"), Duration::from_secs(1)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&kept), "the file holds hashes, not cookies");
        std::thread::sleep(Duration::from_millis(2100));
        let second = Sessions::new(Everyone, Some(file));
        let found = second.lookup([kept.as_str()].into_iter()).unwrap();
        assert_eq!((found.principal.key_id.as_str(), found.csrf), ("k", csrf));
        assert!(second.lookup([gone.as_str()].into_iter()).is_none());
    }
}
