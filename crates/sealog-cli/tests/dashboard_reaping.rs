//! A dashboard test whose browser cannot start fails with a message that says how to get
//! Chromium, and stops the `sealog serve` it started: no panic in a destructor aborts the test
//! process and leaves the server running.

#[path = "dashboard/cdp.rs"]
mod cdp;
mod support;

use std::process::Command;
use support::Serve;

/// Where the inner test writes the pid of the server it starts.
const PID_FILE: &str = "SEALOG_TEST_PID_FILE";

/// Whether process `pid` still exists (a zombie counts as gone: it has stopped).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|s| !s.starts_with('Z'))
    })
}

#[test]
#[ignore = "run by a_test_whose_browser_cannot_start_stops_its_server, in a child process"]
fn starts_a_server_then_a_browser_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    std::fs::write(std::env::var(PID_FILE).unwrap(), server.pid().to_string()).unwrap();
    let chromium = cdp::Chromium::launch();
    chromium.page(800, 600);
}

#[test]
fn a_test_whose_browser_cannot_start_stops_its_server() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("serve.pid");
    // Output to a file, not a pipe: a server left running would hold a pipe open forever.
    let log = dir.path().join("inner.log");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "starts_a_server_then_a_browser_that_is_not_there",
            "--ignored",
            "--test-threads=1",
        ])
        .env(PID_FILE, &pid_file)
        .env("CHROMIUM", dir.path().join("no-chromium-here"))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap_or_else(|e| panic!("the inner test started no server ({e}): {text}"))
        .parse()
        .unwrap();
    let left_running = running(pid);
    if left_running {
        // Clean up after the bug this test is about.
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert_eq!(
        status.code(),
        Some(101),
        "a test failure, not an abort: {text}"
    );
    assert!(
        text.contains("Chromium did not start") && text.contains("apt-get install -y chromium"),
        "{text}"
    );
    assert!(!left_running, "sealog serve (pid {pid}) was left running");
}
