//! Where `sealog serve` keeps its logs: the embedded store in the data directory (the
//! default), or a shared PostgreSQL store (`--store postgres://…`) whose logs' signing keys
//! are sealed under the operator's store key.

use sealog_storage::{DEFAULT_LEASE, PgOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The store settings as given by flags, the config file or the environment.
pub(crate) struct StoreSettings {
    /// `--store`: a `postgres://` or `postgresql://` URL.
    pub(crate) url: Option<String>,
    /// `--store-key-file`: a file holding the store key as 64 hex digits.
    pub(crate) key_file: Option<PathBuf>,
    /// `SEALOG_STORE_KEY`: the store key itself, as 64 hex digits.
    pub(crate) key: Option<String>,
    /// `--lease-ms`: how long a writer lease lasts.
    pub(crate) lease_ms: Option<u64>,
    /// `--store-ca-file`: the CAs the database's certificate may chain to.
    pub(crate) ca_file: Option<PathBuf>,
}

impl StoreSettings {
    /// The shared store to use, or `None` for the embedded one. The error says which
    /// setting is wrong.
    pub(crate) fn resolve(self) -> Result<Option<PgOptions>, String> {
        let Some(url) = self.url else {
            if self.key_file.is_some() || self.lease_ms.is_some() || self.ca_file.is_some() {
                return Err(
                    "--store-key-file, --store-ca-file and --lease-ms need --store \
                     postgres://… (the embedded store keeps its keys in the data directory)"
                        .into(),
                );
            }
            return Ok(None);
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "--store takes a postgres://user@host:port/database URL, not {:?}",
                url.split("://").next().unwrap_or_default()
            ));
        }
        let hex = match (self.key_file, self.key) {
            (Some(path), _) => read_key_file(&path)?,
            (None, Some(key)) => key,
            (None, None) => {
                return Err(
                    "a PostgreSQL store needs a store key, which seals the logs' signing keys \
                     in the database: --store-key-file FILE (64 hex digits, e.g. from \
                     `openssl rand -hex 32`) or SEALOG_STORE_KEY; every node of the store \
                     needs the same one"
                        .into(),
                );
            }
        };
        let key: [u8; 32] = sealog_core::hex::decode(hex.trim())
            .ok_or("the store key is not 64 hex digits (32 bytes)")?;
        let lease = self.lease_ms.map_or(DEFAULT_LEASE, Duration::from_millis);
        Ok(Some(PgOptions {
            url,
            store_key: key.into(),
            lease,
            ca_file: self.ca_file,
            // Known once the listener is bound (`serve`).
            advertise_url: None,
        }))
    }
}

/// The URL this node advertises with its leases: `given` (`--advertise-url`), checked, or
/// `http://<addr>` when the node listens on a concrete address without TLS; `None` (with a
/// warning) otherwise, and then other nodes answer 503 for the logs this node writes instead
/// of handing it their requests.
pub(crate) fn advertise_url(
    given: Option<&str>,
    addr: std::net::SocketAddr,
    tls: bool,
) -> Result<Option<String>, String> {
    if let Some(url) = given {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "--advertise-url takes an http://host:port URL (nodes hand each other requests \
                 over plain HTTP on their private network), not {url:?}"
            )
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "--advertise-url takes http://host:port with no path, not {url:?}"
            ));
        }
        return Ok(Some(format!("http://{authority}")));
    }
    if addr.ip().is_unspecified() || tls {
        let why = if tls {
            "it serves TLS"
        } else {
            "it listens on every address"
        };
        tracing::warn!(
            "this node advertises no URL ({why}): other nodes answer 503 for the logs it \
             writes instead of handing it their requests; set --advertise-url http://host:port"
        );
        return Ok(None);
    }
    Ok(Some(format!("http://{addr}")))
}

/// The store key file's text; refused if others may read it.
fn read_key_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let fail =
        |e: std::io::Error| format!("cannot read the store key file {}: {e}", path.display());
    let mode = std::fs::metadata(path).map_err(fail)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the store key file {} may be read by others (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    std::fs::read_to_string(path).map_err(fail)
}
