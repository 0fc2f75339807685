//! `sealog hook <agent>`: records the payload a coding agent's hook passes on stdin.
//!
//! The hook must never hold the agent up: the event is written durably to the spool (no
//! network), a detached `sealog hook <agent> --deliver` is started to send the spool, and the
//! hook returns at once. Each hook runs in a process of its own, so the session's `seq` is kept
//! in a small locked counter file beside the spool. Exit codes are the agents' own: 0 when the
//! event is on disk, 1 (a non-blocking warning for both agents) when it could not be recorded,
//! never 2 (which would block the agent's action).

mod agents;

use clap::{Args, ValueEnum};
use sealog_client::{Client, Options, spool};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The coding agents whose hook payloads `sealog hook` reads.
#[derive(Clone, Copy, ValueEnum)]
pub enum Agent {
    /// Claude Code (`hooks` in `.claude/settings.json`).
    ClaudeCode,
    /// Gemini CLI (`hooks` in `.gemini/settings.json`).
    GeminiCli,
}

/// `sealog hook …`.
#[derive(Args)]
pub struct HookArgs {
    /// The agent whose hook payload is on stdin.
    #[arg(value_enum)]
    agent: Agent,
    #[command(flatten)]
    record: crate::record_args::RecordArgs,
    /// The agent id to record (default: `claude-code` or `gemini-cli`).
    #[arg(long = "agent-id")]
    agent_id: Option<String>,
    /// Send the spool and exit (what the hook starts in the background).
    #[arg(long, hide = true)]
    deliver: bool,
}

/// Runs the hook (or, with `--deliver`, the background sender).
pub fn run(args: HookArgs) -> ExitCode {
    let result = if args.deliver {
        deliver(&args)
    } else {
        record(&args)
    };
    match result {
        Ok(()) => {
            if matches!(args.agent, Agent::GeminiCli) && !args.deliver {
                println!("{{}}"); // Gemini CLI parses stdout as JSON on exit 0
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sealog hook: {message}; the agent goes on, this event is not recorded");
            ExitCode::from(1)
        }
    }
}

fn record(args: &HookArgs) -> Result<(), String> {
    let mut text = Vec::new();
    std::io::stdin()
        .take(16 << 20)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read the hook payload: {e}"))?;
    let payload: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("the hook payload on stdin is not JSON ({e})"))?;
    let hook = agents::read(args.agent, &payload, args.agent_id.as_deref())?;
    let opts = Options {
        replay_spool: false,
        ..args.record.options()?
    };
    let counters = opts.spool_dir.join("hook-sessions");
    let client = Client::new(opts).map_err(|e| e.to_string())?;
    let seq = next_seq(&counters, &hook.session, hook.ends)?;
    let session = client.resume_session(&hook.session, seq);
    let written = if hook.ends {
        session.spool_end("ok")
    } else {
        session.spool(hook.event)
    };
    written.map_err(|e| e.to_string())?;
    client.close(Duration::ZERO);
    start_delivery();
    Ok(())
}

/// Takes the session's next `seq` from its counter file (under an exclusive lock); a session
/// that ends has its counter removed.
fn next_seq(dir: &Path, session: &str, ends: bool) -> Result<u64, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name: String = session
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    let path = dir.join(format!("{name}.seq"));
    let io = |e: std::io::Error| format!("session counter {}: {e}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    f.lock().map_err(io)?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(io)?;
    let seq = text.trim().parse::<u64>().unwrap_or(0);
    if ends {
        std::fs::remove_file(&path).map_err(io)?;
    } else {
        f.set_len(0).map_err(io)?;
        f.rewind().map_err(io)?;
        write!(f, "{}", seq + 1).map_err(io)?;
    }
    Ok(seq)
}

/// Starts `sealog hook … --deliver` detached (its own process group, no terminal, nothing
/// inherited), with this process's arguments and environment; does not wait for it.
fn start_delivery() {
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let started = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .arg("--deliver")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
    if let Err(e) = started {
        eprintln!(
            "sealog hook: cannot start the delivery in the background ({e}); the event waits in the spool"
        );
    }
}

/// Sends the spool until it is empty or the server stays away; one sender at a time.
///
/// A hook whose sender finds the lock taken leaves its event to the sender holding it. So that
/// event is not stranded when it lands just after the holder's last look, the holder looks at
/// the spool again once it has let the lock go (after a pause in which that hook exits and
/// releases its segment), and starts over if anything is left and the lock is free.
fn deliver(args: &HookArgs) -> Result<(), String> {
    let opts = args.record.options()?;
    let dir = spool::dir_for(&opts.spool_dir, opts.url.trim_end_matches('/'), &opts.log);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for _ in 0..5 {
        let lock =
            std::fs::File::create(dir.join("hook-deliver.lock")).map_err(|e| e.to_string())?;
        if lock.try_lock().is_err() {
            return Ok(()); // another sender is at it, and will look again after it
        }
        let delivered = send_spool(&opts, &dir)?;
        drop(lock);
        if !delivered {
            return Ok(()); // the server stays away: the next hook's sender tries again
        }
        std::thread::sleep(Duration::from_millis(200));
        if replayable(&opts, &dir) == 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// Sends what the spool holds, in a few rounds; `false` if the server did not take it all.
fn send_spool(opts: &Options, dir: &Path) -> Result<bool, String> {
    for _ in 0..5 {
        let client = Client::new(opts.clone()).map_err(|e| e.to_string())?;
        let done = client.flush(Duration::from_secs(10));
        client.close(Duration::from_secs(1));
        if !done {
            return Ok(false);
        }
        if replayable(opts, dir) == 0 {
            return Ok(true);
        }
    }
    Ok(true)
}

/// How many spooled events of this key wait to be sent.
fn replayable(opts: &Options, dir: &Path) -> usize {
    let key = spool::key_id(opts.api_key.as_deref());
    spool::Spool::open(dir.to_path_buf(), key, u64::MAX, false)
        .map(|s| s.count_replayable().0)
        .unwrap_or(0)
}
