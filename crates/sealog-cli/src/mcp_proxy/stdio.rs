//! stdio mode: spawn the MCP server and relay newline-delimited JSON-RPC both ways, as read.

use super::policy::{self, Policy};
use super::recorder::{Dir, Note};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Relays until the server's stdout closes; returns the server's exit code.
pub fn run(command: &[String], policy: &Policy, tx: &Sender<Note>) -> Result<ExitCode, String> {
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command[0]))?;
    let mut to_server = child.stdin.take().expect("piped");
    let from_server = child.stdout.take().expect("piped");
    let out = Arc::new(Mutex::new(std::io::stdout()));

    let (up_out, up_tx) = (Arc::clone(&out), tx.clone());
    let up = std::thread::spawn(move || {
        relay(BufReader::new(from_server), |line| {
            let at = (Instant::now(), SystemTime::now());
            let mut o = up_out.lock().unwrap_or_else(|e| e.into_inner());
            o.write_all(line).and_then(|()| o.flush())?;
            drop(o);
            let _ = up_tx.send(message(Dir::ToClient, line, at));
            Ok(())
        });
    });
    let (policy, down_tx) = (policy.clone(), tx.clone());
    std::thread::spawn(move || {
        relay(BufReader::new(std::io::stdin()), |line| {
            let at = (Instant::now(), SystemTime::now());
            if let Some((request, reason)) = policy::refused(&policy, line) {
                let reply = policy::error_reply(&request, &reason);
                let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                o.write_all(&reply).and_then(|()| o.flush())?;
                drop(o);
                let session = String::new();
                let _ = down_tx.send(Note::Blocked {
                    session,
                    request,
                    reason,
                });
                return Ok(());
            }
            to_server.write_all(line).and_then(|()| to_server.flush())?;
            let _ = down_tx.send(message(Dir::ToServer, line, at));
            Ok(())
        });
        // Dropping `to_server` closes the server's stdin: the client is gone.
    });
    let _ = up.join();
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the server: {e}"))?;
    let _ = tx.send(Note::End {
        session: String::new(),
    });
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

fn message(dir: Dir, line: &[u8], at: (Instant, SystemTime)) -> Note {
    Note::Message {
        session: String::new(),
        dir,
        exchange: 0,
        bytes: line.to_vec(),
        at,
    }
}

/// Calls `forward` with each line (its newline included) until EOF or a write fails.
fn relay(mut input: impl BufRead, mut forward: impl FnMut(&[u8]) -> std::io::Result<()>) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if forward(&line).is_err() {
                    return;
                }
            }
        }
    }
}
