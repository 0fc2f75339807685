//! The time-stamping settings of `sealog serve` (`--tsa-url`, `--tsa-roots`,
//! `--tsa-auth-header`, `--tsa-interval-ms`), checked and read into the server's config.

use sealog_evidence::tsp::Roots;
use sealog_server::timestamping::TsaConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The settings as given (flag, config file or environment).
pub struct Settings {
    /// The TSAs' URLs.
    pub urls: Vec<String>,
    /// The PEM file of pinned roots.
    pub roots: Option<PathBuf>,
    /// `Name: value`.
    pub auth_header: Option<String>,
    /// The interval between two time-stamps of one log.
    pub interval_ms: Option<u64>,
}

/// The server's TSA config; none without URLs.
pub fn config(s: Settings) -> Result<Option<Arc<TsaConfig>>, String> {
    if s.urls.is_empty() {
        if s.roots.is_some() || s.auth_header.is_some() {
            return Err("--tsa-roots and --tsa-auth-header need --tsa-url".into());
        }
        return Ok(None);
    }
    let Some(path) = s.roots else {
        return Err("--tsa-url needs --tsa-roots, the PEM roots the TSA must chain to".into());
    };
    let pem = std::fs::read(&path)
        .map_err(|e| format!("cannot read the TSA roots {}: {e}", path.display()))?;
    let roots = Roots::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    let auth_header = match s.auth_header {
        Some(h) => match h.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                Some((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => return Err(format!("--tsa-auth-header {h:?} is not `Name: value`")),
        },
        None => None,
    };
    if s.interval_ms == Some(0) {
        return Err("--tsa-interval-ms must be at least 1".into());
    }
    Ok(Some(Arc::new(TsaConfig {
        urls: s.urls,
        roots,
        auth_header,
        interval: Duration::from_millis(s.interval_ms.unwrap_or(60_000)),
    })))
}
