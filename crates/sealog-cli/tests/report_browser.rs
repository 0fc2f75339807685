//! The evidence pack's human report as an auditor reads it: exported by the real `sealog
//! export` from a real server, opened from disk in a real headless Chromium, and its "How to
//! verify" command copied as the browser shows it and run in a shell.

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/review.rs"]
mod review;
mod support;

use cdp::{Chromium, Page};
use review::{COMMITMENT, reviewed_id, session};
use sealog_evidence::archive::{ReadLimits, read_zip};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Serve, call};

/// A pack exported from a real server, with the log's vkey.
struct Exported {
    dir: tempfile::TempDir,
    vkey: String,
    _server: Serve,
}

impl Exported {
    /// Where the pack is: `pack.zip`, the name the report's command uses.
    fn pack(&self) -> PathBuf {
        self.dir.path().join("pack.zip")
    }

    /// Writes the pack's `name` next to it and returns its path.
    fn extract(&self, name: &str) -> PathBuf {
        let files = read_zip(
            std::fs::File::open(self.pack()).unwrap(),
            ReadLimits::default(),
        )
        .unwrap();
        let path = self.dir.path().join(name);
        std::fs::write(&path, &files[name]).unwrap();
        path
    }
}

/// Records [`session`] and exports the whole log as `pack.zip` with `sealog export`.
fn export() -> Exported {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let body = serde_json::to_vec(&json!({ "events": session() })).unwrap();
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let reply = call("POST", &url, Some(&admin), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["rejected"], 0, "{}", reply.body);
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    );
    let vkey = info.json()["vkey"].as_str().unwrap().to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["export", "--server", &server.url, "--token", &admin, "-o"])
        .arg(dir.path().join("pack.zip"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Exported {
        dir,
        vkey,
        _server: server,
    }
}

/// Opens `report.html` from disk in a new tab.
fn open_report<'b>(chromium: &'b Chromium, report: &Path) -> Page<'b> {
    let page = chromium.page(1200, 900);
    page.goto(&format!("file://{}", report.display()));
    page
}

#[test]
fn the_verify_command_of_the_report_runs_as_pasted() {
    let ex = export();
    let chromium = Chromium::launch();
    let page = open_report(&chromium, &ex.extract("report.html"));
    // What a reader selects and copies: the code block after "How to verify", as rendered.
    let shown = page.run(
        "const h = [...document.querySelectorAll('h2')].find((e) => e.textContent === 'How to verify');
         let n = h.nextElementSibling;
         while (n && n.tagName !== 'PRE') n = n.nextElementSibling;
         return n.innerText;",
    );
    let command = shown.as_str().unwrap();
    assert_eq!(
        command,
        format!("sealog verify pack.zip --log-key '{}'", ex.vkey),
        "the command as the browser shows it"
    );
    assert!(!command.contains(['\u{FFFD}', '<', '>']), "{command:?}");

    // Pasted into a shell next to the pack, with `sealog` on PATH, it verifies the pack.
    let bin = Path::new(env!("CARGO_BIN_EXE_sealog")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = Command::new("sh")
        .args(["-c", command])
        .current_dir(ex.dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{run:?}");
    assert!(
        stdout.starts_with("VALID: 8 entries of log test.local/default"),
        "{stdout}"
    );
    // The Markdown report gives the same line.
    let md = std::fs::read_to_string(ex.extract("report.md")).unwrap();
    assert!(md.contains(&format!("```sh\n{command}\n```")), "{md}");
}

/// The rows of the table after the element whose text starts with `heading`, as the browser
/// shows them: each row's cells by column name.
fn table_after(page: &Page, heading: &str) -> Vec<serde_json::Map<String, Value>> {
    let rows = page.run(&format!(
        "const h = [...document.querySelectorAll('h2, p')].find((e) => e.textContent.startsWith({heading}));
         let t = h.nextElementSibling;
         while (t && t.tagName !== 'TABLE') t = t.nextElementSibling;
         const [head, ...body] = [...t.rows].map((r) => [...r.cells].map((c) => c.innerText));
         return body.map((cells) => Object.fromEntries(cells.map((c, i) => [head[i], c])));",
        heading = cdp::js(heading),
    ));
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// The `details` cell of the row of `rows` whose `column` is `value`.
fn details_where(rows: &[serde_json::Map<String, Value>], column: &str, value: &str) -> String {
    let row = rows
        .iter()
        .find(|r| r[column] == value)
        .unwrap_or_else(|| panic!("no row with {column} {value}: {rows:?}"));
    row["details"].as_str().unwrap().to_owned()
}

#[test]
fn the_report_shows_what_happened_and_links_a_review_to_its_event() {
    let ex = export();
    let chromium = Chromium::launch();
    let report = ex.extract("report.html");
    let page = open_report(&chromium, &report);

    let timeline = table_after(&page, "Timeline of session r-1");
    assert_eq!(timeline.len(), 8, "{timeline:?}");
    let by_seq = |seq: &str| details_where(&timeline, "seq", seq);
    assert_eq!(by_seq("1"), "model gpt-4o-mini");
    assert_eq!(by_seq("2"), "tool lookup_order");
    assert_eq!(by_seq("3"), "tool issue_refund · error TimeoutError");
    assert_eq!(by_seq("4"), "outcome escalated · reason amount_over_limit");
    assert_eq!(by_seq("5"), "outcome blocked · reason pii_detected");
    assert_eq!(by_seq("0"), "");

    let flagged = table_after(&page, "Policy flags, blocks and errors");
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert_eq!(
        details_where(&flagged, "status", "error"),
        "tool issue_refund · error TimeoutError"
    );
    assert_eq!(
        details_where(&flagged, "status", "blocked"),
        "outcome blocked · reason pii_detected"
    );

    // The review's target is a link; following it lands on the reviewed decision's row.
    let oversight = table_after(&page, "Human oversight");
    assert_eq!(oversight[0]["target"], reviewed_id().as_str());
    page.click("document.querySelector('td a[href^=\"#event-\"]')");
    let landed = page.run(
        "await waitFor(() => location.hash, 'the link followed');
         const row = document.getElementById(decodeURIComponent(location.hash.slice(1))).parentElement;
         return [location.hash, [...row.cells].map((c) => c.innerText)];",
    );
    assert_eq!(landed[0], format!("#event-{}", reviewed_id()));
    let cells: Vec<&str> = landed[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        cells.contains(&"decision") && cells.contains(&"4"),
        "{cells:?}"
    );

    // Committed content stays out of both reports; the Markdown one says the same.
    let html = std::fs::read_to_string(&report).unwrap();
    let md = std::fs::read_to_string(ex.extract("report.md")).unwrap();
    for text in [&html, &md] {
        assert!(!text.contains(COMMITMENT), "the commitment is shown");
    }
    assert!(
        md.contains("| 3 | ") && md.contains("tool issue\\_refund · error TimeoutError"),
        "{md}"
    );
}
