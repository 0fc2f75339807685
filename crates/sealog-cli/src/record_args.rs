//! Where and how the recorders of agents Sealog cannot change (`sealog mcp-proxy`, `sealog
//! hook`) record: one set of flags, read into the Rust SDK's options the same way by both.

use clap::Args;
use sealog_client::Options;
use std::path::PathBuf;

/// The flags that point a recorder at a log.
#[derive(Args)]
pub struct RecordArgs {
    /// The Sealog server's URL.
    #[arg(long, env = "SEALOG_URL", default_value = "http://127.0.0.1:7300")]
    server: String,
    /// The log to record into.
    #[arg(long, default_value = "default")]
    log: String,
    /// An ingest key for the log.
    #[arg(long, env = "SEALOG_API_KEY", hide_env_values = true)]
    token: String,
    /// The key of the payload commitments (hex, `base64:…` or text, 16+ bytes); without one
    /// the commitments are made under a random key and can not be checked later.
    #[arg(long, env = "SEALOG_COMMITMENT_KEY", hide_env_values = true)]
    commitment_key: Option<String>,
    /// Record content (prompts, tool arguments and results) in plain instead of as commitments.
    #[arg(long)]
    capture_content: bool,
    /// With --capture-content: remove e-mail addresses, phone numbers, API keys, JWTs, bearer
    /// tokens, IBANs and card numbers from the plain content first.
    #[arg(long, requires = "capture_content")]
    redact: bool,
    /// Where events wait until they are sent (default `$SEALOG_SPOOL_DIR` or
    /// `~/.local/state/sealog/spool`).
    #[arg(long, env = "SEALOG_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
}

impl RecordArgs {
    /// The SDK options these flags give, over what the environment gives.
    pub fn options(&self) -> Result<Options, String> {
        let mut opts = Options {
            url: self.server.clone(),
            log: self.log.clone(),
            api_key: Some(self.token.clone()),
            capture_content: self.capture_content,
            redact: self.redact,
            ..Options::from_env()
        };
        if let Some(k) = &self.commitment_key {
            opts.commitment_key =
                Some(sealog_client::parse_commitment_key(k).map_err(|e| e.to_string())?);
        }
        if let Some(d) = &self.spool_dir {
            opts.spool_dir = d.clone();
        }
        Ok(opts)
    }
}
