//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): it cosigns a log's checkpoint only
//! after checking, against the latest checkpoint of that log it cosigned, that the log only
//! grew. It works for any log that publishes C2SP checkpoints with an Ed25519 note key, not
//! only Sealog's.
//!
//! The data directory holds the witness key (`witness.skey`, mode 0600, and the public
//! `witness.vkey` that logs and verifiers pin) and `witness.db`, the SQLite store of the
//! latest cosigned checkpoint per log.

pub mod config;
pub mod http;
pub mod metrics;
pub mod request;
pub mod store;
pub mod witness;

use sealog_core::cosignature::CosignatureVerifier;
use sealog_core::note::Signer;
use std::path::Path;

pub use witness::{DEFAULT_RATE_PER_SECOND, Refusal, Witness};

/// Opens the witness of data directory `data`, creating its key named `name` at first start;
/// `log_list` is the content of the log list file.
pub fn open(
    data: &Path,
    name: &str,
    log_list: &[u8],
    default_rate: f64,
) -> Result<Witness, String> {
    let logs = config::parse_log_list(log_list).map_err(|e| format!("log list: {e}"))?;
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let signer = load_or_create_key(data, name)?;
    let store = store::Store::open(&data.join("witness.db"))?;
    Ok(Witness::new(signer, logs, store, default_rate))
}

/// Reads `witness.skey`, or makes a new key and writes it and `witness.vkey`.
fn load_or_create_key(data: &Path, name: &str) -> Result<Signer, String> {
    let skey_path = data.join("witness.skey");
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let signer = match std::fs::read_to_string(&skey_path) {
        Ok(skey) => {
            let signer = Signer::from_skey(skey.trim())
                .map_err(|e| format!("{}: {e}", skey_path.display()))?;
            if signer.name() != name {
                return Err(format!(
                    "the witness key in {} is named {:?}, not {name:?}; pass --name {:?} or use another data directory",
                    skey_path.display(),
                    signer.name(),
                    signer.name()
                ));
            }
            signer
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| format!("no randomness for the witness key: {e}"))?;
            let signer =
                Signer::from_seed(name, seed).map_err(|e| format!("witness name {name:?}: {e}"))?;
            sealog_storage::durable::write_file(&skey_path, signer.skey().as_bytes(), 0o600)
                .map_err(|e| io(&skey_path, e))?;
            signer
        }
        Err(e) => return Err(io(&skey_path, e)),
    };
    let vkey_path = data.join("witness.vkey");
    let vkey = format!("{}\n", CosignatureVerifier::from_signer(&signer).vkey());
    if std::fs::read_to_string(&vkey_path).ok().as_deref() != Some(&vkey) {
        sealog_storage::durable::write_file(&vkey_path, vkey.as_bytes(), 0o644)
            .map_err(|e| io(&vkey_path, e))?;
    }
    Ok(signer)
}
