//! What the MCP tests share: the test Python and its scripts, an upstream MCP server over
//! Streamable HTTP, and `sealog mcp-proxy` in front of it.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The commitment key the tests' proxies use.
pub const KEY: &str = "a tenant secret of 16+ bytes";

/// The Python with the `mcp` package (`SEALOG_PYTHON`, as scripts/test sets it).
pub fn python() -> String {
    std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// The path of a script in `tests/mcp`.
pub fn script(name: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mcp")
        .join(name);
    p.to_string_lossy().into_owned()
}

/// A child process killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `server.py <mode>` on a free port, once it listens, and its `host:port`.
pub fn upstream(mode: &str) -> (Running, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Running(
        Command::new(python())
            .args([script("server.py"), mode.into(), port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let up = format!("127.0.0.1:{port}");
    let listening = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        TcpStream::connect(&up).is_ok()
    });
    assert!(listening, "the MCP server listens");
    (server, up)
}

/// `sealog mcp-proxy <args> --listen 127.0.0.1:0 --upstream http://<up>`, once it listens,
/// and the address it says it listens on.
pub fn http_proxy(args: &[String], up: &str) -> (Running, String) {
    let mut proxy = Running(
        Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(args)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                &format!("http://{up}"),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(proxy.0.stderr.take().unwrap());
    let addr = loop {
        let mut l = String::new();
        assert!(err.read_line(&mut l).unwrap() > 0, "the proxy ended early");
        if let Some(rest) = l.split_once("listening on ") {
            break rest.1.split(',').next().unwrap().to_owned();
        }
    };
    // The proxy keeps writing to stderr; a reader that drains it keeps it from blocking.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (proxy, addr)
}
