//! Where the keys and log settings of module `keys` are kept, behind one small interface:
//! read the contents, or change them in one durable step.
//!
//! - On the embedded store, in `DIR/server.json`, rewritten whole on every change (written to
//!   a temporary file, fsynced, renamed into place, the directory fsynced).
//! - On a shared PostgreSQL store, in the store's document `server` (module
//!   `sealog_storage::pg::documents`), which every node reads and writes: a change locks the
//!   document's row from its read to its write, so two nodes changing keys at once apply one
//!   change after the other. Each node caches the contents and looks at the document's
//!   version every [`REFRESH_INTERVAL`]; authentication also reads through the cache when it
//!   does not know a key (one made on another node a moment ago) or when the cache was not
//!   confirmed current for [`FRESH_FOR`]. So a key made on one node authenticates on every
//!   node at once, and a revoked one stops authenticating on every node within
//!   [`FRESH_FOR`] of the revocation's commit, even if the refresh thread stalls; a node that
//!   cannot reach the database refuses keys rather than trust a stale cache. Read-throughs
//!   run one at a time and are shared by the requests that wait for them, so unknown keys
//!   sent at any rate cost the database one small query at a time.

use crate::error::ServerError;
use crate::keys::Contents;
use sealog_storage::{Document, ErrorKind, SharedDocuments, durable};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How often a node of a shared store checks whether the keys or settings changed.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(200);

/// How long a node's cached keys may go unconfirmed before authentication reads through to
/// the database: the bound on how long a key revoked on another node still works here.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The shared store's document that holds what `DIR/server.json` holds on the embedded one.
const DOCUMENT: &str = "server";

/// The keys and log settings, cached, and where they are kept.
pub(crate) struct KeyStore {
    backend: Backend,
    cache: Mutex<Cached>,
    /// Held by the one refresh that runs.
    refreshing: Mutex<()>,
}

enum Backend {
    File(PathBuf),
    Shared(SharedDocuments),
}

struct Cached {
    contents: Contents,
    /// The shared document's version the contents are (0 for a file).
    version: i64,
    /// When the contents were last confirmed current.
    checked: Instant,
}

impl KeyStore {
    /// The store of `path` (a `server.json`), empty if the file does not exist.
    pub(crate) fn file(path: PathBuf) -> Result<Arc<KeyStore>, ServerError> {
        let contents = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes, &path.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => {
                return Err(ServerError::io(
                    format_args!("cannot read {}", path.display()),
                    e,
                ));
            }
        };
        Ok(Self::with(Backend::File(path), contents, 0))
    }

    /// The store in the shared database's documents, loaded now and refreshed every
    /// [`REFRESH_INTERVAL`] by a thread of its own while the store lives.
    pub(crate) fn shared(documents: SharedDocuments) -> Result<Arc<KeyStore>, ServerError> {
        let document = documents.read(DOCUMENT)?;
        let contents = parse_document(&document)?;
        let store = Self::with(Backend::Shared(documents), contents, document.version);
        let weak = Arc::downgrade(&store);
        std::thread::Builder::new()
            .name("sealog-keys".into())
            .spawn(move || refresh_until_dropped(weak))
            .map_err(|e| ServerError::io("cannot start the key refresh thread", e))?;
        Ok(store)
    }

    fn with(backend: Backend, contents: Contents, version: i64) -> Arc<KeyStore> {
        Arc::new(KeyStore {
            backend,
            cache: Mutex::new(Cached {
                contents,
                version,
                checked: Instant::now(),
            }),
            refreshing: Mutex::new(()),
        })
    }

    /// `read` of the cached contents (current within [`REFRESH_INTERVAL`] on a shared store).
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Contents) -> T) -> T {
        read(&self.lock().contents)
    }

    /// `find` of contents current enough to authenticate by: on a shared store, read again
    /// from the database when `find` finds nothing in the cache or the cache is older than
    /// [`FRESH_FOR`]; `None` if that read fails.
    pub(crate) fn find_current<T>(&self, find: impl Fn(&Contents) -> Option<T>) -> Option<T> {
        if let Backend::Shared(_) = self.backend {
            {
                let cache = self.lock();
                if cache.checked.elapsed() < FRESH_FOR
                    && let Some(found) = find(&cache.contents)
                {
                    return Some(found);
                }
            }
            if let Err(e) = self.refresh() {
                tracing::warn!("refusing a key, the key store cannot be read: {e}");
                return None;
            }
        }
        find(&self.lock().contents)
    }

    /// Changes the contents with `change` in one durable step, on the newest contents (on a
    /// shared store, as every node sees them, locked against other changes until written).
    /// Nothing changes if `change` or the write fails; nothing is written if `change` leaves
    /// the contents as they were.
    pub(crate) fn change<T, E: From<ServerError>>(
        &self,
        change: impl FnOnce(&mut Contents) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::File(path) => {
                let mut cache = self.lock();
                let mut next = cache.contents.clone();
                let out = change(&mut next)?;
                if next != cache.contents {
                    save(path, &next)?;
                    cache.contents = next;
                }
                Ok(out)
            }
            Backend::Shared(documents) => {
                let checked = Instant::now();
                let changed = documents
                    .update(DOCUMENT, |body| {
                        let mut next = match body {
                            Some(text) => parse(text.as_bytes(), DOCUMENT)?,
                            None => Contents::default(),
                        };
                        let before = next.clone();
                        let out = change(&mut next)?;
                        Ok::<_, E>((out, (next != before).then(|| to_json(&next))))
                    })
                    .map_err(ServerError::from)?;
                let (out, document) = changed?;
                self.install(&document, checked)?;
                Ok(out)
            }
        }
    }

    /// On a shared store, brings the cache up to the database's newest version. One refresh
    /// runs at a time, and a caller that waited for one begun after it asked takes that one's
    /// result: requests with unknown keys, however many, cost one query at a time.
    fn refresh(&self) -> Result<(), ServerError> {
        let Backend::Shared(documents) = &self.backend else {
            return Ok(());
        };
        let asked = Instant::now();
        let _one = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.lock().checked >= asked {
            return Ok(());
        }
        let checked = Instant::now();
        let version = documents.version(DOCUMENT)?;
        if version == self.lock().version {
            let mut cache = self.lock();
            cache.checked = cache.checked.max(checked);
            return Ok(());
        }
        self.install(&documents.read(DOCUMENT)?, checked)
    }

    /// Caches `document`, read from the database after `checked`, unless the cache holds a
    /// newer version already.
    fn install(&self, document: &Document, checked: Instant) -> Result<(), ServerError> {
        let contents = parse_document(document)?;
        let mut cache = self.lock();
        if document.version > cache.version {
            *cache = Cached {
                contents,
                version: document.version,
                checked,
            };
        } else if document.version == cache.version {
            cache.checked = cache.checked.max(checked);
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Cached> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The refresh thread: every [`REFRESH_INTERVAL`] until the store is dropped. A failure is
/// logged once until the next success.
fn refresh_until_dropped(store: Weak<KeyStore>) {
    let mut failing = false;
    loop {
        std::thread::sleep(REFRESH_INTERVAL);
        let Some(store) = store.upgrade() else { return };
        match store.refresh() {
            Ok(()) if failing => {
                tracing::info!("the shared key store is readable again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!("cannot refresh the shared key store: {e}");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// Parses the contents of `server.json` (or its document), `what` naming it in the error.
pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Contents, ServerError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ServerError::new(ErrorKind::Corrupt, format!("{what} is damaged: {e}")))
}

fn parse_document(document: &Document) -> Result<Contents, ServerError> {
    match &document.body {
        Some(text) => parse(text.as_bytes(), "the store's key document"),
        None => Ok(Contents::default()),
    }
}

fn to_json(contents: &Contents) -> String {
    serde_json::to_string(contents).expect("the key store serializes")
}

/// Writes the whole file atomically and durably (module `durable` of the engine).
fn save(path: &std::path::Path, contents: &Contents) -> Result<(), ServerError> {
    let bytes = serde_json::to_vec_pretty(contents).expect("the key store serializes");
    durable::write_file(path, &bytes, 0o600)
        .map_err(|e| ServerError::io(format_args!("cannot save {}", path.display()), e))
}
