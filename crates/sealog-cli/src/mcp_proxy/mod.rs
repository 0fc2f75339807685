//! `sealog mcp-proxy`: records an agent's MCP traffic without changing it.
//!
//! Between an MCP client and an MCP server, over stdio (the proxy spawns the server) or
//! HTTP (a reverse proxy, for Streamable HTTP and the older HTTP+SSE transport), it relays every message as it came and records each
//! request/response pair as an event (docs/DESIGN.md, "The MCP audit proxy"). An optional tool
//! policy refuses calls with a JSON-RPC error and leaves a `policy_flag` event; calls of the
//! tools under `--require-approval` wait for a reviewer's decision.

mod approval;
mod http;
mod policy;
mod recorder;
mod sse;
mod stdio;
mod tap;

use clap::Args;
use sealog_client::{Client, Options};
use std::process::ExitCode;

/// `sealog mcp-proxy …`.
#[derive(Args)]
pub struct McpProxyArgs {
    #[command(flatten)]
    record: crate::record_args::RecordArgs,
    /// The agent id to record (default: the MCP client's `clientInfo.name`).
    #[arg(long)]
    agent: Option<String>,
    /// Refuse calls of this tool (repeatable; `*` globs).
    #[arg(long = "deny-tool", value_name = "TOOL")]
    deny: Vec<String>,
    /// Allow only calls of these tools (repeatable; `*` globs).
    #[arg(long = "allow-tool", value_name = "TOOL")]
    allow: Vec<String>,
    /// Hold calls of this tool until a reviewer approves them through the approvals API or
    /// the dashboard (repeatable; `*` globs).
    #[arg(long = "require-approval", value_name = "TOOL")]
    require_approval: Vec<String>,
    /// How long a held call waits for its decision before it is rejected.
    #[arg(long, default_value_t = 300_000, value_name = "MS")]
    approval_timeout_ms: u64,
    /// HTTP (Streamable HTTP or HTTP+SSE): the address to listen on (with `--upstream`).
    #[arg(long, requires = "upstream", conflicts_with = "command")]
    listen: Option<String>,
    /// HTTP: the MCP server's origin (`http://host:port`); paths are kept.
    #[arg(long, requires = "listen")]
    upstream: Option<String>,
    /// stdio: the MCP server's command and arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Runs the proxy until the MCP session (stdio) or the process (HTTP) ends.
pub fn run(args: McpProxyArgs) -> ExitCode {
    match start(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sealog mcp-proxy: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(args: McpProxyArgs) -> Result<ExitCode, String> {
    let opts = Options {
        // A proxy's server is near: find it again soon after it comes back.
        backoff_max: std::time::Duration::from_secs(2),
        ..args.record.options()?
    };
    let client = Client::new(opts).map_err(|e| e.to_string())?;
    let policy = policy::Policy {
        deny: args.deny.clone(),
        allow: args.allow.clone(),
    };
    let gate = approval::Gate {
        tools: args.require_approval.clone(),
        timeout: std::time::Duration::from_millis(args.approval_timeout_ms),
        client: client.clone(),
    };
    let (tx, recorder) = recorder::spawn(client.clone(), args.agent.clone());
    let code = match (&args.listen, &args.upstream) {
        (Some(listen), Some(upstream)) => http::run(listen, upstream, (&policy, &gate), &tx)?,
        _ if args.command.is_empty() => {
            return Err(
                "give the MCP server's command after `--`, or --listen and --upstream \
                        for Streamable HTTP"
                    .into(),
            );
        }
        _ => stdio::run(&args.command, (&policy, &gate), &tx)?,
    };
    drop(tx);
    let _ = recorder.join();
    if !client.close(std::time::Duration::from_secs(10)) {
        eprintln!(
            "sealog mcp-proxy: some events are not acknowledged yet; they wait in the spool and \
             are sent by the next run"
        );
    }
    Ok(code)
}
