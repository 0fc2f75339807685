//! `sealog migrate --from DIR --to postgres://…` (an embedded deployment into a PostgreSQL
//! store, proven) and `sealog fsck` (a stopped data directory, or a PostgreSQL store).

use crate::client::say;
use crate::store::StoreSettings;
use clap::Args;
use sealog_storage::{DEFAULT_BATCH_ENTRIES, PgOptions};
use std::path::PathBuf;

/// Flags of `sealog migrate`.
#[derive(Args)]
pub(crate) struct MigrateArgs {
    /// The data directory of a stopped server (it is locked and only read).
    #[arg(long)]
    from: PathBuf,
    /// The PostgreSQL store to copy the logs into, `postgres://user@host:port/db` (with
    /// `?sslmode=require` across a network); it must not have any of them yet.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    key: StoreKeyArgs,
    /// Entries copied per transaction.
    #[arg(long, default_value_t = DEFAULT_BATCH_ENTRIES)]
    batch_entries: usize,
}

/// Flags of `sealog fsck`.
#[derive(Args)]
pub(crate) struct FsckArgs {
    /// The data directory (the server must be stopped).
    #[arg(long, default_value = "./sealog-data")]
    data: PathBuf,
    /// Check the logs of this PostgreSQL store instead, `postgres://user@host:port/db`
    /// (nodes may keep serving it; a log being appended to is checked up to where it was).
    #[arg(long)]
    store: Option<String>,
    #[command(flatten)]
    key: StoreKeyArgs,
}

/// How to open the logs' signing keys in a PostgreSQL store.
#[derive(Args)]
pub(crate) struct StoreKeyArgs {
    /// A file (mode 0600) holding the store key, 64 hex digits, that seals the logs' signing
    /// keys in the database: the one the store's nodes use. Also `SEALOG_STORE_KEY` (the key
    /// itself).
    #[arg(long)]
    store_key_file: Option<PathBuf>,
    /// A PEM file of the CAs the database's certificate may chain to, besides the public web
    /// roots (TLS with `sslmode=require` in the URL).
    #[arg(long)]
    store_ca_file: Option<PathBuf>,
}

impl StoreKeyArgs {
    /// The store at `url` (if any) with these key flags and `SEALOG_STORE_KEY`.
    fn resolve(self, url: Option<String>) -> Result<Option<PgOptions>, String> {
        StoreSettings {
            url,
            key_file: self.store_key_file,
            key: std::env::var("SEALOG_STORE_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
            lease_ms: None,
            ca_file: self.store_ca_file,
        }
        .resolve()
    }
}

/// Runs `sealog migrate`: prints what became of each log, and fails unless every one was
/// copied and proven.
pub(crate) fn migrate(args: MigrateArgs) -> Result<(), String> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        return Err(format!(
            "--to takes a postgres://user@host:port/database URL, not {:?}",
            args.to.split("://").next().unwrap_or_default()
        ));
    }
    let to = args
        .key
        .resolve(Some(args.to))?
        .ok_or("--to needs a PostgreSQL URL")?;
    let report =
        sealog_storage::migrate(&args.from, to, args.batch_entries).map_err(|e| e.to_string())?;
    say(&report)?;
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!(
            "the copy of {} is not proven (see above): the logs concerned stay unserved in the \
             store; {} is unchanged",
            args.from.display(),
            args.from.display()
        ))
    }
}

/// Runs `sealog fsck` on a data directory or, with `--store`, on a PostgreSQL store.
pub(crate) fn fsck(args: FsckArgs) -> Result<(), String> {
    let store = args.key.resolve(args.store)?;
    let (report, what) = match store {
        Some(options) => {
            let what = format!("the store {}", options.redacted_url());
            (sealog_storage::fsck_store(options), what)
        }
        None => {
            let _held = sealog_storage::hold_stopped_dir(&args.data).map_err(|e| e.to_string())?;
            (
                sealog_storage::fsck(&args.data),
                args.data.display().to_string(),
            )
        }
    };
    let report = report.map_err(|e| e.to_string())?;
    say(&report)?;
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!(
            "{what} is inconsistent (see above); keep a copy of it before changing anything"
        ))
    }
}
