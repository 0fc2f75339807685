//! stdio mode: spawn the MCP server and relay newline-delimited JSON-RPC both ways, as read.

use super::approval::{Gate, Verdict};
use super::policy::{self, Policy};
use super::recorder::{Dir, Note};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

type Shared<T> = Arc<Mutex<T>>;

/// Relays until the server's stdout closes; returns the server's exit code. A held call
/// waits in a thread of its own while the rest of the traffic flows.
pub fn run(
    command: &[String],
    (policy, gate): (&Policy, &Gate),
    tx: &Sender<Note>,
) -> Result<ExitCode, String> {
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command[0]))?;
    let to_server = Arc::new(Mutex::new(child.stdin.take().expect("piped")));
    let from_server = child.stdout.take().expect("piped");
    let out = Arc::new(Mutex::new(std::io::stdout()));

    let (up_out, up_tx) = (Arc::clone(&out), tx.clone());
    let up = std::thread::spawn(move || {
        relay(BufReader::new(from_server), |line| {
            let at = (Instant::now(), SystemTime::now());
            // Noted before it is relayed (an unbounded channel: this never waits), so that the
            // recorder sees a request before the answer it gets on the other thread.
            let _ = up_tx.send(message(Dir::ToClient, line, at));
            write(&up_out, line)
        });
    });
    let (policy, gate, down_tx) = (policy.clone(), gate.clone(), tx.clone());
    std::thread::spawn(move || {
        relay(BufReader::new(std::io::stdin()), |line| {
            if let Some((request, reason)) = policy::refused(&policy, line) {
                write(&out, &policy::error_reply(&request, &reason))?;
                let session = String::new();
                let _ = down_tx.send(Note::Blocked {
                    session,
                    request,
                    reason,
                });
                return Ok(());
            }
            if let Some(request) = gate.holds(line) {
                let (gate, tx, line) = (gate.clone(), down_tx.clone(), line.to_vec());
                let (out, to_server) = (Arc::clone(&out), Arc::clone(&to_server));
                std::thread::spawn(move || match gate.hold(&tx, "", &request) {
                    Verdict::Approved => forward(&to_server, &tx, &line),
                    Verdict::Refused(why) => write(&out, &policy::error_reply(&request, &why)),
                });
                return Ok(());
            }
            forward(&to_server, &down_tx, line)
        });
        // The last `to_server` dropped (a held call's, if one waits) closes the server's
        // stdin: the client is gone.
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

fn write(to: &Shared<impl Write>, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = to.lock().unwrap_or_else(|e| e.into_inner());
    o.write_all(bytes).and_then(|()| o.flush())
}

/// Notes `line` for the recorder, then sends it to the server: noted first, so that the
/// recorder never sees the server's answer before the request it answers.
fn forward(to_server: &Shared<impl Write>, tx: &Sender<Note>, line: &[u8]) -> std::io::Result<()> {
    let at = (Instant::now(), SystemTime::now());
    let _ = tx.send(message(Dir::ToServer, line, at));
    write(to_server, line)
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
