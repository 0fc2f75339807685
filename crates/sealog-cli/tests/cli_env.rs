//! The commands that talk to a server read `SEALOG_URL` and `SEALOG_API_KEY` (the names the
//! Python SDK reads), and the old names `SEALOG_SERVER` and `SEALOG_TOKEN` only when the new ones
//! are unset, with one warning for each old name used. Over the real binary and server.

mod support;

use std::process::Command;
use support::Serve;

const VARS: [&str; 4] = [
    "SEALOG_URL",
    "SEALOG_API_KEY",
    "SEALOG_SERVER",
    "SEALOG_TOKEN",
];

/// What a finished `sealog` run gave back.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The deprecation warnings it printed.
    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains("deprecated"))
            .collect()
    }
}

/// Runs `sealog ARGS` with exactly the variables `envs` of the four above set.
fn sealog(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealog"));
    cmd.args(args);
    for var in VARS {
        cmd.env_remove(var);
    }
    let out = cmd.envs(envs.iter().copied()).output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sealog logs list` succeeded against the server (only a right URL and key list `default`).
fn listed_default(run: &Run) -> bool {
    run.ok && run.stdout.lines().any(|l| l.starts_with("default "))
}

const WARN_URL: &str =
    "sealog: the environment variable SEALOG_SERVER is deprecated; set SEALOG_URL instead";
const WARN_KEY: &str =
    "sealog: the environment variable SEALOG_TOKEN is deprecated; set SEALOG_API_KEY instead";

#[test]
fn the_new_names_are_read_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let run = sealog(
        &["logs", "list"],
        &[("SEALOG_URL", &server.url), ("SEALOG_API_KEY", &admin)],
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    // Without a key from anywhere the command refuses, naming the new variable.
    let run = sealog(&["logs", "list"], &[("SEALOG_URL", &server.url)]);
    assert!(!run.ok);
    assert!(run.stderr.contains("--token"), "{}", run.stderr);
}

#[test]
fn the_old_names_are_still_read_with_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let run = sealog(
        &["logs", "list"],
        &[("SEALOG_SERVER", &server.url), ("SEALOG_TOKEN", &admin)],
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.warnings(), [WARN_URL, WARN_KEY], "{}", run.stderr);

    // One old name, one flag: one warning, for the name used.
    let run = sealog(
        &["logs", "list", "--server", &server.url],
        &[("SEALOG_TOKEN", &admin)],
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.warnings(), [WARN_KEY], "{}", run.stderr);

    // An empty new name counts as unset.
    let run = sealog(
        &["logs", "list"],
        &[
            ("SEALOG_URL", ""),
            ("SEALOG_SERVER", &server.url),
            ("SEALOG_API_KEY", &admin),
        ],
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.warnings(), [WARN_URL], "{}", run.stderr);

    // `sealog bench ingest` reads the same variables.
    let run = sealog(
        &[
            "bench",
            "ingest",
            "--events",
            "20",
            "--batch",
            "10",
            "--concurrency",
            "1",
        ],
        &[("SEALOG_SERVER", &server.url), ("SEALOG_TOKEN", &admin)],
    );
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("(20 accepted)"), "{}", run.stdout);
    assert_eq!(run.warnings(), [WARN_URL, WARN_KEY], "{}", run.stderr);
}

#[test]
fn the_new_names_and_flags_win_over_the_old_ones_and_an_unused_old_name_is_not_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    // The old names point at nothing and hold a wrong key: reading them would fail.
    let stale = [
        ("SEALOG_SERVER", "http://127.0.0.1:1"),
        ("SEALOG_TOKEN", "sealog_wrong_key_value"),
    ];
    let run = sealog(
        &["logs", "list"],
        &[
            stale[0],
            stale[1],
            ("SEALOG_URL", &server.url),
            ("SEALOG_API_KEY", &admin),
        ],
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    let run = sealog(
        &["logs", "list", "--server", &server.url, "--token", &admin],
        &stale,
    );
    assert!(listed_default(&run), "{}{}", run.stdout, run.stderr);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    // A command that reads neither variable does not warn either (it fails for its own reason).
    let missing = dir.path().join("missing.zip");
    let run = sealog(
        &["verify", missing.to_str().unwrap(), "--log-key", "x"],
        &stale,
    );
    assert!(!run.ok && !run.stderr.is_empty());
    assert!(run.warnings().is_empty(), "{}", run.stderr);
}
