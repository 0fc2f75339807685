//! A local RFC 3161 TSA for the tests: a root CA and a TSA certificate made with `openssl
//! req`/`openssl x509`, served by `tsa_server.py` (`openssl ts -reply` behind HTTP).

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tsa/tsa_server.py");

/// Runs `openssl` with `args` in `dir`, expecting success.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `DIR/root.pem` (a P-256 CA) and `DIR/tsa.pem`+`tsa.key` (a P-256 TSA certificate it
/// issued, with the critical timeStamping extended key usage).
pub fn make_pki(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "root.key",
                "-out",
                "root.pem",
                "-subj",
                "/CN=Sealog Test Root",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req", "-new"][..],
            &ec,
            &[
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/CN=Sealog Test TSA",
            ],
        ]
        .concat(),
    );
    issue_tsa_cert(
        dir,
        "tsa.pem",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=critical,timeStamping\n",
        &["-CAcreateserial"],
    );
}

/// Issues `DIR/OUT`, a certificate of the key of `DIR/tsa.csr` by the root of [`make_pki`],
/// with the openssl extensions `ext` and the serial flags `serial` (`-CAcreateserial`, or
/// `-set_serial N`).
pub fn issue_tsa_cert(dir: &Path, out: &str, ext: &str, serial: &[&str]) {
    let cnf = format!("{out}.cnf");
    std::fs::write(dir.join(&cnf), ext).unwrap();
    let issue = [
        "x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key",
    ];
    let rest = ["-out", out, "-days", "30", "-extfile", &cnf];
    openssl(dir, &[&issue[..], serial, &rest].concat());
}

/// A running local TSA.
pub struct Tsa {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
}

impl Tsa {
    /// Starts the TSA of `dir` (see [`make_pki`]) answering in `mode` (ok, garbage,
    /// wrong-nonce).
    pub fn start(dir: &Path, mode: &str) -> Tsa {
        Tsa::launch(dir, mode, &[])
    }

    /// Starts the TSA of `dir`, answering only queries carrying `header` (`Name: value`).
    pub fn start_requiring(dir: &Path, header: &str) -> Tsa {
        Tsa::launch(dir, "ok", &[("TSA_REQUIRE_HEADER", header)])
    }

    fn launch(dir: &Path, mode: &str, envs: &[(&str, &str)]) -> Tsa {
        let python = std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(python)
            .args([SCRIPT, dir.to_str().unwrap(), mode])
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{line:?}"));
        Tsa {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
