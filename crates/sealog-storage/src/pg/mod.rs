//! The PostgreSQL store: every log of an engine in one shared database, so that several
//! server nodes serve one set of logs. The second implementation of `LogStore`, beside the
//! embedded files (module `store`); the schema is in `migrations/` (module `migrate`).
//!
//! ```text
//! sealog_logs                one row per log: sealed signing key, size, latest checkpoint,
//!                            writer lease (holder, epoch, expiry by the database's clock)
//! sealog_entries             (log, index) → leaf bytes, leaf hash
//! sealog_tree_hashes         (log, tile level 1..7, node index) → hash of tree level 8·L
//! sealog_checkpoint_history  (log, size) → signed note, signing time
//! sealog_documents           name → version, JSON body: the server's keys and log settings,
//!                            each log's legal holds
//! ```
//!
//! `sealog migrate` copies a data directory's logs in (module `import`), and `sealog fsck
//! --store` checks every log's rows (module `fsck`).
//!
//! Only the holder of a log's lease (module `lease`) writes it, and every write names the
//! epoch it holds: a group commit is one transaction that first advances the log's size where
//! the epoch and the old size still match, then inserts the entries and their tree hashes; a
//! checkpoint is stored by the same kind of compare and swap. A node that lost its lease (a
//! pause, a partition) finds its writes refused and stops. The derived query index stays on
//! each node, rebuilt from the entries.
//!
//! The storage interface is synchronous (the sequencer and integrator are threads, reads come
//! from anywhere, tokio workers included), the driver is async: each [`Database`] owns a
//! small runtime of its own that runs the queries, and a caller waits on a channel for the
//! answer, never entering a runtime itself.

mod append;
mod catalog;
mod documents;
mod fsck;
mod import;
mod lease;
mod migrate;
mod nodes;
mod store;
mod tls;

pub use documents::{Document, SharedDocuments};
pub use fsck::fsck_store;
pub(crate) use import::{Import, ImportStart};
pub use lease::Leader;
pub(crate) use store::PgStore;

use crate::EngineError;
use crate::content::crypto::SecretKey;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// How to reach the shared PostgreSQL store, and how this node takes part in it.
#[derive(Clone)]
pub struct PgOptions {
    /// The connection URL, `postgres://user@host:port/database?sslmode=…`.
    pub url: String,
    /// The operator's key sealing every log's signing key in the database.
    pub store_key: SecretKey,
    /// How long a writer lease lasts unless renewed; renewed every third of it.
    pub lease: Duration,
    /// A PEM file of the CAs the database's certificate may chain to, besides the public web
    /// roots (with `sslmode=require`).
    pub ca_file: Option<std::path::PathBuf>,
    /// Where this node answers HTTP (`--advertise-url`), stored with every lease it takes so
    /// that the nodes with its logs on standby can hand it their requests; `None` when it
    /// advertises none (its logs' requests are then refused elsewhere, not forwarded).
    pub advertise_url: Option<String>,
}

impl PgOptions {
    /// The URL with any password replaced by `***`, for messages.
    pub fn redacted_url(&self) -> String {
        redacted_url(&self.url)
    }
}

/// The URL without its password, and never the store key: options are logged.
impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &redacted_url(&self.url))
            .field("lease", &self.lease)
            .field("ca_file", &self.ca_file)
            .field("advertise_url", &self.advertise_url)
            .finish_non_exhaustive()
    }
}

/// The default lease: long enough for a loaded database to answer a renewal in time, short
/// enough that a dead node's logs move within seconds.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// The pool of connections to the shared database, and the runtime its queries run on.
pub(crate) struct Database {
    runtime: RuntimeHandle,
    pool: Pool,
    options: PgOptions,
    /// This process's name in lease rows: unique per process, so a restarted node waits for
    /// its old leases to expire like any other node.
    pub(crate) node: String,
}

/// A runtime shut down in the background when dropped, so that a store may be dropped on any
/// thread (a tokio worker included).
struct RuntimeHandle(Option<tokio::runtime::Runtime>);

impl Drop for RuntimeHandle {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Database {
    /// Connects to the database of `options.url` and brings its schema up to date.
    pub(crate) fn connect(options: PgOptions) -> Result<Arc<Database>, EngineError> {
        let mut config: tokio_postgres::Config = options.url.parse().map_err(|e| {
            EngineError::invalid(format!(
                "the store URL {} is not a PostgreSQL URL: {e}",
                redacted_url(&options.url)
            ))
        })?;
        // An acknowledgement means committed to disk, whatever the server's default says.
        config.options("-c synchronous_commit=on");
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("sealog");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sealog-pg")
            .enable_all()
            .build()
            .map_err(|e| EngineError::io("cannot start the database runtime", e))?;
        let recycling = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if tls::required(&mut config) {
            let connector = tls::connector(options.ca_file.as_deref())?;
            Manager::from_config(config, connector, recycling())
        } else {
            Manager::from_config(config, tokio_postgres::NoTls, recycling())
        };
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| EngineError::invalid(format!("cannot build the database pool: {e}")))?;
        let node = format!(
            "{}/{}/{}",
            rustix::system::uname().nodename().to_string_lossy(),
            std::process::id(),
            crate::content::crypto::random_id(4)
                .map_err(|e| EngineError::io("no randomness for the node name", e))?
        );
        let db = Database {
            runtime: RuntimeHandle(Some(runtime)),
            pool,
            options,
            node,
        };
        let pool = db.pool.clone();
        db.run(async move { migrate::apply(&pool).await })
            .map_err(|e| {
                EngineError::io(
                    format_args!("cannot prepare the store {}", redacted_url(&db.options.url)),
                    e,
                )
            })?;
        Ok(Arc::new(db))
    }

    /// Runs `query` on the database runtime and waits for its answer, from any thread.
    pub(crate) fn run<T, F>(&self, query: F) -> io::Result<T>
    where
        F: Future<Output = io::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let runtime = self.runtime.0.as_ref().expect("set until dropped");
        runtime.spawn(async move {
            let _ = tx.send(query.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the database runtime stopped"))?
    }

    /// A pool handle, for queries moved onto the runtime.
    pub(crate) fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Spawns a background task on the database runtime.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let runtime = self.runtime.0.as_ref().expect("set until dropped");
        runtime.spawn(task);
    }
}

/// A driver or pool failure as an I/O error that says what the database said.
pub(crate) fn db_error(e: impl Into<DbFailure>) -> io::Error {
    io::Error::other(e.into().0)
}

/// The text of a database failure.
pub(crate) struct DbFailure(String);

impl From<tokio_postgres::Error> for DbFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        DbFailure(match e.as_db_error() {
            Some(db) => format!("PostgreSQL: {}: {}", db.severity(), db.message()),
            None => {
                // The driver's own text is terse ("error performing TLS handshake"): say why.
                let mut text = format!("PostgreSQL: {e}");
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                text
            }
        })
    }
}

impl From<deadpool_postgres::PoolError> for DbFailure {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            e => DbFailure(format!("PostgreSQL connection pool: {e}")),
        }
    }
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn urls_lose_their_password_only() {
        assert_eq!(
            redacted_url("postgres://sealog:s3cret@db:5432/sealog?sslmode=require"),
            "postgres://sealog:***@db:5432/sealog?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://sealog@db/sealog"),
            "postgres://sealog@db/sealog"
        );
        assert_eq!(redacted_url("host=db user=x"), "host=db user=x");
    }
}
