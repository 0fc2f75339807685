//! The engine: one data directory, its lock, and every log in it.
//!
//! ```text
//! DIR/LOCK                 held (flock) by the one process that has the directory open
//! DIR/logs/<name>/key      the log's signing key (C2SP skey), mode 0600
//! DIR/logs/<name>/checkpoint, entries/, offsets, hashes/   (modules `checkpoint_file`, `store`)
//! DIR/logs/<name>/index/   the derived query index
//! ```
//!
//! Anything else in `DIR` belongs to the server and is left alone.
//!
//! With [`EngineOptions::postgres`] the logs (entries, tree hashes, checkpoints, keys) are in
//! a shared PostgreSQL store instead (module `pg`), and `DIR` keeps what is this node's
//! own: the lock and each log's derived index. A log whose writer lease another node holds
//! waits on standby, and this node takes it over when that lease runs out.

use crate::checkpoint_lock::{CheckpointLock, DirLock};
use crate::durable::{self, sync_dir};
use crate::faults::{FaultInjector, Faults};
use crate::lock;
use crate::log::{Log, LogEnv};
use crate::log_store::LogStore;
mod shared;

use crate::pg::{Database, PgStore, SharedDocuments};
use crate::store::Store;
use crate::types::now_micros;
use crate::{EngineError, EngineOptions, ErrorKind, SignedCheckpoint, checkpoint_file};
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::EMPTY_ROOT;
use sealog_core::note::Signer;
use shared::{Standby, fair_share, full_share};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every log of one data directory.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    dir: PathBuf,
    /// What every log opens with.
    env: LogEnv,
    logs: Mutex<BTreeMap<String, Log>>,
    /// When each failed log was last reopened (or tried to be).
    reopened: Mutex<BTreeMap<String, Instant>>,
    /// Logs that could not be opened (with [`Engine::open_serving`]), and why; never served.
    damaged: BTreeMap<String, String>,
    /// Logs of the shared store that another node writes now: taken over when its lease
    /// runs out.
    standby: Mutex<BTreeMap<String, Standby>>,
    /// Set by [`Engine::shutdown`]: nothing is reopened or taken over after it.
    shut_down: std::sync::atomic::AtomicBool,
    /// The nodes serving the shared store, this one included, as last counted.
    live_nodes: std::sync::atomic::AtomicUsize,
}

/// How often a log that stopped on a storage failure is reopened, at most.
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(1);

impl Drop for EngineInner {
    /// Without a `shutdown`, still let the threads finish what is queued and stop.
    fn drop(&mut self) {
        for log in lock(&self.logs).values() {
            log.inner.queue.close("the engine was dropped");
        }
    }
}

impl Engine {
    /// An unnamed temporary file in the data directory, for work too large for memory (an
    /// evidence pack being built). It is never named where the file system allows (else
    /// unlinked at once), so it disappears when closed, a crash included, and it takes the
    /// disk the data lives on, not memory.
    pub fn scratch_file(&self) -> std::io::Result<File> {
        tempfile::tempfile_in(&self.inner.dir)
    }

    /// The bytes an unprivileged process may still write on the data directory's file system.
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        let stat = rustix::fs::statvfs(&self.inner.dir)?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Opens (creating if needed) the data directory, takes its lock file, and recovers every
    /// log in it. Refuses to open when another process holds the lock or when a log's stored
    /// tree disagrees with its last signed checkpoint, saying what is wrong.
    pub fn open(dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        Self::open_inner(dir, options, Faults::default(), false)
    }

    /// [`Engine::open`] for a server: a log that cannot be opened is left as it is and
    /// reported by [`Engine::damaged`] and [`Engine::ready`], and the other logs are served.
    /// Only a failure of the whole data directory (its lock, its options) stops the open.
    pub fn open_serving(dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        Self::open_inner(dir, options, Faults::default(), true)
    }

    /// The logs that could not be opened, and why.
    pub fn damaged(&self) -> &BTreeMap<String, String> {
        &self.inner.damaged
    }

    /// [`Engine::open`], with every write and fsync of the logs' write paths going through
    /// `injector`: for crash-safety tests.
    pub fn open_with_faults(
        dir: &Path,
        options: EngineOptions,
        injector: Arc<dyn FaultInjector>,
    ) -> Result<Engine, EngineError> {
        Self::open_inner(dir, options, Faults::new(injector), false)
    }

    /// Takes the lock and opens every log, all writes going through `faults`.
    fn open_inner(
        dir: &Path,
        options: EngineOptions,
        faults: Faults,
        serving: bool,
    ) -> Result<Engine, EngineError> {
        options.check(dir)?;
        let lock_file = lock_dir(dir)?;
        let checkpoint_lock = options
            .checkpoint_lock
            .as_deref()
            .map(|lock| Arc::new(DirLock::new(lock, faults.clone())) as Arc<dyn CheckpointLock>);
        let database = options
            .postgres
            .clone()
            .map(Database::connect)
            .transpose()?;
        let names = match &database {
            Some(db) => db.log_names()?,
            None => log_names(dir)?,
        };
        let live_nodes = match &database {
            Some(db) => db.heartbeat()?,
            None => 1,
        };
        let share = fair_share(names.len(), live_nodes);
        let env = LogEnv {
            options,
            faults,
            lock_file,
            checkpoint_lock,
            database,
        };
        let mut logs = BTreeMap::new();
        let mut damaged = BTreeMap::new();
        let mut standby = BTreeMap::new();
        for name in names {
            let path = log_dir(dir, &name);
            if logs.len() >= share {
                let full = EngineError::new(ErrorKind::Busy, full_share(share, live_nodes));
                tracing::info!(log = name, "on standby: {full}");
                standby.insert(
                    name.clone(),
                    Standby::of(env.database.as_deref(), &name, &full),
                );
                continue;
            }
            match open_log(&path, &name, &env) {
                Ok(log) => {
                    logs.insert(name, log);
                }
                Err(e) if e.kind() == ErrorKind::Busy && env.database.is_some() => {
                    tracing::info!(log = name, "on standby: {e}");
                    let entry = Standby::of(env.database.as_deref(), &name, &e);
                    standby.insert(name, entry);
                }
                Err(e) => {
                    let why = format!(
                        "cannot open log {name:?} in {}: {e}. Nothing was changed beyond \
                         cutting an unacknowledged torn tail; investigate with `sealog fsck \
                         --data {}`",
                        dir.display(),
                        dir.display()
                    );
                    if !serving {
                        logs.values().for_each(Log::stop);
                        return Err(EngineError::new(e.kind(), why));
                    }
                    tracing::error!("{why}; the other logs are served");
                    damaged.insert(name, why);
                }
            }
        }
        let shared = env.database.is_some();
        let engine = Engine {
            inner: Arc::new(EngineInner {
                dir: dir.to_owned(),
                env,
                logs: Mutex::new(logs),
                reopened: Mutex::new(BTreeMap::new()),
                damaged,
                standby: Mutex::new(standby),
                shut_down: Default::default(),
                live_nodes: live_nodes.into(),
            }),
        };
        if shared {
            engine.watch_leases()?;
        }
        Ok(engine)
    }

    /// Whether [`Engine::shutdown`] was called.
    fn is_shut_down(&self) -> bool {
        self.inner
            .shut_down
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether log `name` is open here and has not stopped on a failure (a lost lease
    /// among them), without trying anything else: the cheap check before [`Engine::log`].
    pub fn is_open(&self, name: &str) -> bool {
        lock(&self.inner.logs)
            .get(name)
            .is_some_and(|log| log.inner.queue.failure().is_none())
    }

    /// Creates a log with a fresh Ed25519 key whose name is `origin`. Fails if `name` is taken
    /// or not a valid log name (see [`check_log_name`]).
    pub fn create_log(&self, name: &str, origin: &str) -> Result<Log, EngineError> {
        check_log_name(name)?;
        let mut logs = lock(&self.inner.logs);
        if logs.contains_key(name) || self.inner.damaged.contains_key(name) {
            return Err(EngineError::new(
                ErrorKind::AlreadyExists,
                format!("a log called {name:?} already exists"),
            ));
        }
        let dir = log_dir(&self.inner.dir, name);
        let failed = |e: EngineError| e.context(format_args!("cannot create log {name:?}"));
        match &self.inner.env.database {
            Some(db) => {
                let (signer, cp) = new_log_key(origin)?;
                db.create_log(name, &signer, &cp).map_err(failed)?;
            }
            None => create_files(&dir, origin).map_err(failed)?,
        }
        let log = open_log(&dir, name, &self.inner.env).map_err(failed)?;
        logs.insert(name.to_owned(), log.clone());
        Ok(log)
    }

    /// The log called `name`.
    ///
    /// A log that stopped on a storage failure (a full disk, an I/O error) is reopened here,
    /// at most every [`REOPEN_INTERVAL`]: recovery cuts what the failed group left
    /// half-written, exactly as after a crash, so once the cause is gone (space freed) the log
    /// takes appends again without a restart. Until then the failed log is returned and
    /// answers `Unavailable` with the reason.
    ///
    /// On a shared store, a log on standby (another node writes it) is taken over here once
    /// that node's lease ran out; until then it is `None`. A name this node does not know is
    /// looked up in the store's catalog first, so that a log created through another node
    /// is found at once.
    pub fn log(&self, name: &str) -> Option<Log> {
        let mut logs = lock(&self.inner.logs);
        let Some(log) = logs.get(name).cloned() else {
            drop(logs);
            return self.take_over(name);
        };
        if log.inner.queue.failure().is_none() || self.is_shut_down() {
            return Some(log);
        }
        if !self.may_retry(name, REOPEN_INTERVAL) {
            return Some(log);
        }
        log.stop();
        let dir = log_dir(&self.inner.dir, name);
        match open_log(&dir, name, &self.inner.env) {
            Ok(fresh) => {
                tracing::info!(log = name, "reopened after a storage failure");
                logs.insert(name.to_owned(), fresh.clone());
                Some(fresh)
            }
            // Another node took the log over: this one serves it no more, until it can take
            // it back.
            Err(why) if why.kind() == ErrorKind::Busy && self.inner.env.database.is_some() => {
                tracing::info!(log = name, "on standby: {why}");
                logs.remove(name);
                let entry = Standby::of(self.inner.env.database.as_deref(), name, &why);
                lock(&self.inner.standby).insert(name.to_owned(), entry);
                None
            }
            Err(why) => {
                tracing::warn!(log = name, %why, "a failed log could not be reopened yet");
                Some(log)
            }
        }
    }

    /// Whether opening log `name` again may be tried now (at most every `interval`); if
    /// so, the try is noted.
    fn may_retry(&self, name: &str, interval: Duration) -> bool {
        let mut reopened = lock(&self.inner.reopened);
        if reopened.get(name).is_some_and(|at| at.elapsed() < interval) {
            return false;
        }
        reopened.insert(name.to_owned(), Instant::now());
        true
    }

    /// The shared store's documents (keys, settings), or `None` on the embedded store.
    pub fn shared_documents(&self) -> Option<SharedDocuments> {
        self.inner.env.database.clone().map(SharedDocuments::new)
    }

    /// Every log, sorted by name.
    pub fn logs(&self) -> Vec<Log> {
        lock(&self.inner.logs).values().cloned().collect()
    }

    /// Stops taking appends, commits what is queued, signs a final checkpoint for every log
    /// that grew, and stops the background threads. Later appends answer `Unavailable`.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        self.inner
            .shut_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let logs = self.logs();
        if let Some(db) = &self.inner.env.database {
            db.leave();
        }
        // Close every queue first so that all logs drain at once.
        for log in &logs {
            log.inner.queue.close("the log is shutting down");
        }
        let mut failures = Vec::new();
        for log in &logs {
            log.stop();
            failures.extend(log.ready().err());
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(EngineError::new(ErrorKind::Io, failures.join("; ")))
        }
    }

    /// Whether every log can still write (the data directory is writable and no log stopped
    /// on a storage failure).
    pub fn ready(&self) -> Result<(), EngineError> {
        if !self.inner.damaged.is_empty() {
            let whys: Vec<&str> = self.inner.damaged.values().map(String::as_str).collect();
            return Err(EngineError::new(
                ErrorKind::Unavailable,
                format!("{} (the other logs are served)", whys.join("; ")),
            ));
        }
        let names: Vec<String> = lock(&self.inner.logs).keys().cloned().collect();
        // Looking a failed log up is what reopens it.
        for log in names.iter().filter_map(|name| self.log(name)) {
            log.ready()
                .map_err(|why| EngineError::new(ErrorKind::Unavailable, why))?;
        }
        let probe = self.inner.dir.join("logs").join(".ready-probe");
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| {
                EngineError::io(
                    format_args!(
                        "the data directory {} is not writable",
                        self.inner.dir.display()
                    ),
                    e,
                )
            })
    }
}

/// Checks a log name: 1 to 63 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter
/// or digit. The error ([`ErrorKind::Invalid`]) says what is wrong.
pub fn check_log_name(name: &str) -> Result<(), EngineError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 63 {
        return Err(EngineError::invalid(format!(
            "a log name has 1 to 63 characters, {name:?} has {}",
            name.len()
        )));
    }
    if let Some(c) = name.chars().find(|&c| !ok_char(c)) {
        return Err(EngineError::invalid(format!(
            "a log name uses only a-z, 0-9, '-' and '_'; {name:?} contains {c:?}"
        )));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(EngineError::invalid(format!(
            "a log name starts with a letter or digit, not {name:?}"
        )));
    }
    Ok(())
}

/// Creates `dir` (if needed) and takes its lock, or says who holds it.
pub(crate) fn lock_dir(dir: &Path) -> Result<Arc<File>, EngineError> {
    let fail = |e| {
        EngineError::io(
            format_args!("cannot use the data directory {}", dir.display()),
            e,
        )
    };
    if !dir.join("logs").is_dir() {
        std::fs::create_dir_all(dir.join("logs")).map_err(fail)?;
        sync_dir(dir).map_err(fail)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))
        .map_err(fail)?;
    match file.try_lock() {
        Ok(()) => Ok(Arc::new(file)),
        Err(TryLockError::WouldBlock) => Err(EngineError::new(
            ErrorKind::Busy,
            format!(
                "the data directory {} is in use by another Sealog process (it holds {}); stop \
                 that process first",
                dir.display(),
                dir.join("LOCK").display()
            ),
        )),
        Err(TryLockError::Error(e)) => Err(fail(e)),
    }
}

/// Takes the lock a server holds on its data directory `dir` (`DIR/LOCK`) without creating
/// or changing anything, so that no server changes the directory while a command reads it;
/// refuses one that a running process holds. A directory without the file has never been
/// served, so nothing holds it (`None`). The lock lasts as long as the file.
pub fn hold_stopped_dir(dir: &Path) -> Result<Option<File>, EngineError> {
    let path = dir.join("LOCK");
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(EngineError::io(
                format_args!("cannot open {}", path.display()),
                e,
            ));
        }
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(EngineError::new(
            ErrorKind::Busy,
            format!(
                "the data directory {} is in use by a running server (it holds {}); stop the \
                 server first",
                dir.display(),
                path.display()
            ),
        )),
        Err(TryLockError::Error(e)) => Err(EngineError::io(
            format_args!("cannot lock {}", path.display()),
            e,
        )),
    }
}

/// Opens the log in its directory `dir`: over the embedded store of its files, or over the
/// shared store (taking its writer lease), the directory keeping its derived index.
fn open_log(dir: &Path, name: &str, env: &LogEnv) -> Result<Log, EngineError> {
    let store: Arc<dyn LogStore> = match &env.database {
        None => Arc::new(
            Store::open(dir, env.faults.clone())
                .map_err(|e| EngineError::io("cannot open the log files", e))?,
        ),
        Some(db) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::io(format_args!("cannot create {}", dir.display()), e))?;
            Arc::new(PgStore::open(db, name)?)
        }
    };
    Log::open(dir, store.clone(), name, env).inspect_err(|_| store.release())
}

/// The directory of log `name`.
pub(crate) fn log_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("logs").join(name)
}

/// The logs in `dir`, sorted. Entries that are not log names (such as an interrupted
/// creation, `.new-<name>`) are skipped.
pub(crate) fn log_names(dir: &Path) -> Result<Vec<String>, EngineError> {
    let logs = dir.join("logs");
    let fail = |e| EngineError::io(format_args!("cannot list {}", logs.display()), e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&logs).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        if let Some(name) = entry.file_name().to_str()
            && check_log_name(name).is_ok()
            && entry.path().is_dir()
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Creates a new log's files under a temporary name, then renames it into place, so that a
/// crash leaves either no log or a whole one.
fn create_files(dir: &Path, origin: &str) -> Result<(), EngineError> {
    if dir.exists() {
        return Err(EngineError::new(
            ErrorKind::AlreadyExists,
            format!("{} already exists", dir.display()),
        ));
    }
    let (signer, cp) = new_log_key(origin)?;
    let parent = dir.parent().expect("a log dir has a parent");
    let name = dir
        .file_name()
        .expect("a log dir has a name")
        .to_string_lossy();
    let tmp = parent.join(format!(".new-{name}"));
    let io = |e| EngineError::io(format_args!("writing {}", tmp.display()), e);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io)?;
    }
    std::fs::create_dir(&tmp).map_err(io)?;
    durable::write_file(&tmp.join("key"), signer.skey().as_bytes(), 0o600).map_err(io)?;
    Store::create(&tmp).map_err(io)?;
    checkpoint_file::store(&tmp, &cp, &Faults::default()).map_err(io)?;
    std::fs::rename(&tmp, dir).map_err(io)?;
    sync_dir(parent).map_err(io)
}

/// A fresh Ed25519 key named `origin` and the checkpoint of the empty tree it signed.
fn new_log_key(origin: &str) -> Result<(Signer, SignedCheckpoint), EngineError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| EngineError::new(ErrorKind::Io, format!("no randomness for the key: {e}")))?;
    let bad_origin =
        |e: &dyn std::fmt::Display| EngineError::invalid(format!("bad origin {origin:?}: {e}"));
    let signer = Signer::from_seed(origin, seed).map_err(|e| bad_origin(&e))?;
    let empty = Checkpoint {
        origin: origin.to_owned(),
        size: 0,
        root: EMPTY_ROOT,
        extensions: Vec::new(),
    };
    empty.check().map_err(|e| bad_origin(&e))?;
    let cp = SignedCheckpoint {
        size: 0,
        root: EMPTY_ROOT,
        note: checkpoint::sign(&empty, &signer),
        signed_unix_micros: now_micros(),
    };
    Ok((signer, cp))
}
