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

/// A free `127.0.0.1` address, so that a witness can be restarted where it was.
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A log made by a first `sealog serve` on `data` (then stopped), and three witnesses of it.
pub struct ThreeWitnesses {
    /// The server-wide admin key.
    pub token: String,
    /// The log `default`'s vkey.
    pub vkey: String,
    /// `w{i}.test/w` in `DIR/w{i}` at `addrs[i]`; `None` once the test stopped one.
    pub witnesses: Vec<Option<Witness>>,
    /// Where each witness listens.
    pub addrs: Vec<String>,
    /// The log list the witnesses read.
    list: PathBuf,
    dir: PathBuf,
}

impl ThreeWitnesses {
    /// Starts a server on `data` to make the log and its key, stops it, and starts three
    /// witnesses of that key under `dir`.
    pub fn start(dir: &Path, data: &Path) -> ThreeWitnesses {
        let first = crate::support::Serve::start(data, &[]);
        let token = first.admin_token();
        let vkey = crate::support::log_until(&first, &token, |_| true)["vkey"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(first.terminate().success());
        let list = dir.join("logs");
        std::fs::write(&list, format!("log {vkey}\nquorum none\n")).unwrap();
        let mut three = ThreeWitnesses {
            token,
            vkey,
            witnesses: Vec::new(),
            addrs: (0..3).map(|_| free_addr()).collect(),
            list,
            dir: dir.to_owned(),
        };
        three.witnesses = (0..3).map(|i| Some(three.start_witness(i))).collect();
        three
    }

    /// Starts witness `i` (again) at its address, on its data.
    pub fn start_witness(&self, i: usize) -> Witness {
        let name = format!("w{i}.test/w");
        let data = self.dir.join(format!("w{i}"));
        Witness::start(&data, &self.list, &self.addrs[i], &["--name", &name])
    }

    /// Writes `DIR/policy`: the witnesses under `names` and the quorum `two-of-three`, 2 of
    /// them; returns its path.
    pub fn two_of_three_policy(&self, names: [&str; 3]) -> PathBuf {
        let mut policy = String::new();
        for (w, name) in self.witnesses.iter().flatten().zip(names) {
            policy.push_str(&format!("witness {name} {} {}\n", w.vkey(), w.url));
        }
        policy.push_str(&format!(
            "group two-of-three 2 {}\nquorum two-of-three\n",
            names.join(" ")
        ));
        let path = self.dir.join("policy");
        std::fs::write(&path, policy).unwrap();
        path
    }
}
