//! The part of `sealog migrate` that is not a log: the directory's API keys and log settings
//! (`DIR/server.json`) and each log's legal holds (`DIR/content/<log>/holds.json`), copied into
//! the store's shared documents, where every node reads them.
//!
//! Each goes in whole, in its own locked transaction, before any log is copied: a rerun finds
//! it already there, byte for byte, and goes on; a store holding *other* keys or holds is
//! refused, since replacing them would lock its users out or lift holds silently.

use crate::content::Hold;
use crate::pg::{Database, SharedDocuments};
use crate::{EngineError, ErrorKind};
use std::path::Path;
use std::sync::Arc;

/// Copies `from`'s keys and settings and the holds of `logs` into the store; returns one line
/// per document copied or found already there.
pub(crate) fn copy(
    db: &Arc<Database>,
    from: &Path,
    logs: &[&str],
) -> Result<Vec<String>, EngineError> {
    let documents = SharedDocuments::new(Arc::clone(db));
    let mut done = Vec::new();
    let server = from.join("server.json");
    if let Some(text) = read(&server, |bytes| {
        serde_json::from_slice::<serde_json::Value>(bytes).map(drop)
    })? {
        done.push(put(
            &documents,
            "server",
            &text,
            "API keys and log settings",
        )?);
    }
    for log in logs {
        let path = from.join("content").join(log).join("holds.json");
        let Some(text) = read(&path, |bytes| {
            serde_json::from_slice::<Vec<Hold>>(bytes).map(drop)
        })?
        else {
            continue;
        };
        let what = format!("legal holds of log {log}");
        done.push(put(&documents, &format!("holds/{log}"), &text, &what)?);
    }
    Ok(done)
}

/// The text of the file at `path` if it exists, once `check` accepts it.
fn read(
    path: &Path,
    check: impl FnOnce(&[u8]) -> serde_json::Result<()>,
) -> Result<Option<String>, EngineError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(EngineError::io(
                format_args!("cannot read {}", path.display()),
                e,
            ));
        }
    };
    check(&bytes).map_err(|e| {
        EngineError::new(
            ErrorKind::Corrupt,
            format!("{} is damaged ({e}), so nothing was copied", path.display()),
        )
    })?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        EngineError::new(
            ErrorKind::Corrupt,
            format!("{} is not UTF-8", path.display()),
        )
    })
}

/// Stores `text` as document `name` unless the store has it already; refuses another text.
fn put(
    documents: &SharedDocuments,
    name: &str,
    text: &str,
    what: &str,
) -> Result<String, EngineError> {
    let wanted: serde_json::Value =
        serde_json::from_str(text).map_err(|e| EngineError::invalid(e.to_string()))?;
    let changed = documents.update(name, |current| match current {
        None => Ok((true, Some(text.to_owned()))),
        Some(stored) if serde_json::from_str::<serde_json::Value>(stored).ok() == Some(wanted) => {
            Ok((false, None))
        }
        Some(_) => Err(EngineError::new(
            ErrorKind::AlreadyExists,
            format!(
                "the store already holds other {what}: `sealog migrate` copies only into a \
                 store no node has used (use an empty database); nothing was copied"
            ),
        )),
    })??;
    Ok(if changed.0 {
        format!("{what}: copied")
    } else {
        format!("{what}: already in the store, the same")
    })
}
