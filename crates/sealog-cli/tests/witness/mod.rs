//! Runs the real `sealog witness serve` binary on a free port.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `sealog witness serve`.
pub struct Witness {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data directory.
    pub data: PathBuf,
}

impl Witness {
    /// Starts `sealog witness serve --data DATA --log-list LIST` with `extra` flags on `listen`
    /// (`127.0.0.1:0` for a free port) and waits until it listens.
    pub fn start(data: &Path, list: &Path, listen: &str, extra: &[&str]) -> Witness {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(["witness", "serve", "--listen", listen])
            .arg("--data")
            .arg(data)
            .arg("--log-list")
            .arg(list)
            .args(extra)
            .env("SEALOG_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the sealog binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("sealog witness serve prints its address");
            if let Some((_, url)) = line.split_once(" listening on ") {
                break url.trim().to_owned();
            }
        };
        Witness {
            child,
            url,
            data: data.to_owned(),
        }
    }

    /// The witness's cosigner vkey from `DATA/witness.vkey`.
    pub fn vkey(&self) -> String {
        std::fs::read_to_string(self.data.join("witness.vkey"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Kills the witness with `SIGKILL`.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
