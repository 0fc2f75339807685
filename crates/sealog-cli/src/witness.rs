//! `sealog witness serve`: a standalone C2SP tlog-witness.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

/// `sealog witness ...`.
#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Cosign the checkpoints of the logs in --log-list, each only if it is consistent with
    /// the last one cosigned (POST /add-checkpoint). The first start writes the witness's
    /// public key to DATA/witness.vkey.
    Serve(WitnessServeArgs),
}

/// Flags of `sealog witness serve`.
#[derive(Args)]
pub struct WitnessServeArgs {
    /// Data directory: the witness key and the latest cosigned checkpoint of each log.
    #[arg(long, env = "SEALOG_WITNESS_DATA")]
    data: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "SEALOG_WITNESS_LISTEN", default_value = "127.0.0.1:7380")]
    listen: String,
    /// The logs to witness: a tlog-policy file (its `log` lines) or a witness network
    /// `logs/v0` list. Read at start.
    #[arg(long, env = "SEALOG_WITNESS_LOG_LIST")]
    log_list: PathBuf,
    /// The witness key's name, used when the first start creates the key (e.g. your domain
    /// and a path: witness.example.com/w1).
    #[arg(long, env = "SEALOG_WITNESS_NAME", default_value = "sealog-witness")]
    name: String,
    /// add-checkpoint requests a second a log may make when its list entry gives no qpd.
    #[arg(long, default_value_t = sealog_witness::DEFAULT_RATE_PER_SECOND)]
    rate: f64,
}

/// Reads the tlog-policy of `sealog serve --witness-policy`.
pub fn read_policy(path: &std::path::Path) -> Result<Arc<sealog_core::policy::Policy>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the witness policy {}: {e}", path.display()))?;
    let policy = sealog_server::parse_policy(&bytes, None)
        .map_err(|e| format!("the witness policy {} is invalid: {e}", path.display()))?;
    Ok(Arc::new(policy))
}

/// Runs a `sealog witness` subcommand.
pub fn run(cmd: WitnessCommand) -> Result<(), String> {
    let WitnessCommand::Serve(args) = cmd;
    crate::serve::init_tracing();
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(format!(
            "--rate must be a positive number, not {}",
            args.rate
        ));
    }
    let list = std::fs::read(&args.log_list)
        .map_err(|e| format!("cannot read the log list {}: {e}", args.log_list.display()))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        crate::serve::private_data_dir(&args.data)?;
        let witness = sealog_witness::open(&args.data, &args.name, &list, args.rate)?;
        let vkey = args.data.join("witness.vkey");
        println!("sealog witness listening on http://{addr}");
        println!(
            "witness key: {}",
            std::fs::read_to_string(&vkey).unwrap_or_default().trim()
        );
        sealog_witness::http::serve(Arc::new(witness), listener, stop())
            .await
            .map_err(|e| e.to_string())
    })
}

/// Resolves on SIGTERM or SIGINT.
async fn stop() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler installs");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
