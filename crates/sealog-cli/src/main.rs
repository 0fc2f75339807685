//! `sealog`: run the server, verify evidence offline, and manage a running server.
//!
//! Every subcommand prints errors that say what to do, and exits non-zero on failure
//! (`sealog verify` has its own codes: 0 valid, 1 invalid, 2 usage or unreadable input).

mod bench;
mod bench_sdk;
mod client;
mod hook;
mod mcp_proxy;
mod migrate;
mod record_args;
mod serve;
mod store;
mod tsa;
mod witness;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Sealog: a tamper-evident flight recorder for AI agents.
#[derive(Parser)]
#[command(name = "sealog", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the serve flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server (first start on an empty directory creates the log `default` and an
    /// admin key).
    Serve(serve::ServeArgs),
    /// Verify an evidence pack (.zip) or a receipt (.tlog-proof) offline, against a pinned key.
    Verify(VerifyArgs),
    /// Download an evidence pack from a running server.
    Export(client::ExportArgs),
    /// Manage logs on a running server.
    #[command(subcommand)]
    Logs(client::LogsCommand),
    /// Manage API keys on a running server.
    #[command(subcommand)]
    Keys(client::KeysCommand),
    /// Re-derive every tree hash and checkpoint of a stopped server's data directory (or of a
    /// PostgreSQL store, with --store) and report the first inconsistency of each log.
    Fsck(migrate::FsckArgs),
    /// Copy a stopped server's logs into an empty PostgreSQL store and prove the copy.
    Migrate(migrate::MigrateArgs),
    /// Rebuild the query indexes of a stopped server's data directory from its logs.
    Reindex(DataArgs),
    /// Load generators.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run a C2SP tlog-witness that cosigns other logs' checkpoints.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Record an agent's MCP tool use: a proxy between an MCP client and server.
    McpProxy(mcp_proxy::McpProxyArgs),
    /// Record a coding agent's hook payload (stdin) and return at once.
    Hook(hook::HookArgs),
}

#[derive(Args)]
struct VerifyArgs {
    /// The evidence pack or receipt.
    file: PathBuf,
    /// The log's public key (vkey), obtained independently of the file.
    #[arg(long)]
    log_key: Option<String>,
    /// A witness vkey whose cosignature is required (repeatable).
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// A tlog-policy file whose quorum must be met.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Threads to verify on (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// A PEM file of the TSA roots the pack's RFC 3161 time-stamps must chain to; each event
    /// is then reported as recorded no later than its time-stamp's time.
    #[arg(long)]
    tsa_roots: Option<PathBuf>,
}

#[derive(Args)]
struct DataArgs {
    /// The data directory (the server must be stopped).
    #[arg(long, default_value = "./sealog-data")]
    data: PathBuf,
}

/// Environment variables renamed to the names the Python SDK reads, as (new, deprecated). The
/// deprecated name is still read when the new one is unset or empty, with a warning.
const RENAMED_ENV: [(&str, &str); 2] = [
    ("SEALOG_URL", "SEALOG_SERVER"),
    ("SEALOG_API_KEY", "SEALOG_TOKEN"),
];

/// A variable's value, with an empty one counting as unset.
fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Points every argument that reads a renamed variable at its deprecated name instead, for each
/// variable whose new name is unset and old name set, in `cmd` and all its subcommands.
fn read_deprecated_env(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| {
        let old = RENAMED_ENV.iter().find_map(|&(new, old)| {
            (arg.get_env()? == new && !env_set(new) && env_set(old)).then_some(old)
        });
        match old {
            Some(old) => arg.env(old),
            None => arg,
        }
    })
    .mut_subcommands(read_deprecated_env)
}

/// Warns, once per variable, about each deprecated name the command took a value from.
fn warn_deprecated_env(cmd: &clap::Command, matches: &ArgMatches) {
    if let Some((name, sub)) = matches.subcommand() {
        if let Some(cmd) = cmd.find_subcommand(name) {
            warn_deprecated_env(cmd, sub);
        }
        return;
    }
    for arg in cmd.get_arguments() {
        let Some(&(new, old)) = RENAMED_ENV
            .iter()
            .find(|(_, old)| arg.get_env().is_some_and(|e| e == *old))
        else {
            continue;
        };
        if matches.value_source(arg.get_id().as_str()) == Some(ValueSource::EnvVariable) {
            eprintln!("sealog: the environment variable {old} is deprecated; set {new} instead");
        }
    }
}

/// Parses the command line, reading deprecated variable names where the new ones are unset.
fn parse() -> Cli {
    let cmd = read_deprecated_env(Cli::command());
    let matches = cmd.clone().get_matches();
    warn_deprecated_env(&cmd, &matches);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Verify(args) => return verify(args),
        Command::Export(args) => client::export(&args),
        Command::Logs(cmd) => client::logs(cmd),
        Command::Keys(cmd) => client::keys(cmd),
        Command::Fsck(args) => migrate::fsck(args),
        Command::Migrate(args) => migrate::migrate(args),
        Command::Reindex(args) => reindex(&args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Witness(cmd) => witness::run(cmd),
        Command::McpProxy(args) => return mcp_proxy::run(args),
        Command::Hook(args) => return hook::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sealog: {message}");
            ExitCode::FAILURE
        }
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    let args = sealog_evidence::command::VerifyArgs {
        file: args.file,
        log_key: args.log_key,
        witnesses: args.witnesses,
        policy: args.policy,
        json: args.json,
        threads: args.threads,
        tsa_roots: args.tsa_roots,
    };
    let code = sealog_evidence::command::verify(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

fn reindex(args: &DataArgs) -> Result<(), String> {
    let entries = sealog_storage::reindex(&args.data).map_err(|e| e.to_string())?;
    client::say(format_args!(
        "reindexed {} in {}",
        sealog_evidence::render::count(entries, "entry", "entries"),
        args.data.display()
    ))
}
