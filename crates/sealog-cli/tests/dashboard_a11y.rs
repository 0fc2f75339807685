//! An accessibility audit of the dashboard: axe-core (vendored, `dashboard/vendor/`) run in a
//! real headless Chromium over each main page — sign-in, logs overview, events explorer, event
//! detail with its verified proof, session view, export, keys, incidents — in the light and the dark
//! theme on a laptop's screen and in the light theme on a phone's, against the real
//! `sealog serve`. No page may have a violation of "serious" or
//! "critical" impact; the others are printed (run with `--nocapture` to read them).

#[path = "dashboard/cdp.rs"]
mod cdp;
#[path = "dashboard/fixture.rs"]
mod fixture;
mod support;

use cdp::{Chromium, Page, js};
use fixture::{GAP_SESSION, create_key, goto_hash, record, sign_in, vkey};
use serde_json::{Value, json};
use support::Serve;

const AXE: &str = include_str!("dashboard/vendor/axe-core/axe.min.js");

/// Runs axe over the whole document; returns its violations as
/// `{id, impact, help, nodes: [{target, html, summary}]}`.
fn audit(page: &Page) -> Vec<Value> {
    let found = page.run(
        "if (!window.axe) throw new Error('axe-core is not loaded');
         // Every rule of WCAG 2.0-2.2 A and AA and axe's best practices, including target-size
         // (WCAG 2.2's 24-pixel targets), which axe leaves off by default.
         const r = await axe.run(document, {resultTypes: ['violations'],
           runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice']},
           rules: {'target-size': {enabled: true}}});
         const ran = [...r.passes, ...r.violations, ...r.incomplete, ...r.inapplicable].map((x) => x.id);
         for (const rule of ['color-contrast', 'target-size', 'label', 'aria-allowed-attr', 'region']) {
           if (!ran.includes(rule)) throw new Error(`axe did not run ${rule}`);
         }
         return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
           nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 160),
             summary: n.failureSummary}))}));",
    );
    found.as_array().unwrap().clone()
}

/// The visible text fields and selects, and those whose border, which shows where they are,
/// has less than 3:1 contrast with what surrounds them (WCAG 1.4.11, which axe does not
/// check), and the same for the chart's bars and legend swatches by their fill:
/// `{measured, faint: [[what, ratio]]}`.
fn faint_fields(page: &Page) -> Value {
    page.run(
        "const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
         const lum = ([r, g, b]) => [r, g, b].map((v) => v / 255)
           .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
           .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
         const behind = (el) => {
           for (let e = el.parentElement; e; e = e.parentElement) {
             const c = rgb(getComputedStyle(e).backgroundColor);
             if (c.length < 4 || c[3] > 0) return c;
           }
           return [255, 255, 255];
         };
         const fields = [...document.querySelectorAll('input:not([type=checkbox]), select')]
           .filter((el) => el.getClientRects().length > 0)
           .map((el) => {
             const [a, b] = [lum(rgb(getComputedStyle(el).borderTopColor)), lum(behind(el))];
             return [el.id || el.getAttribute('aria-label') || el.name, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
           });
         const marks = [...document.querySelectorAll('.chart rect')]
           .map((el) => {
             const [a, b] = [lum(rgb(getComputedStyle(el).fill)), lum(behind(el))];
             return [`chart ${el.getAttribute('class')}`, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
           });
         const all = fields.concat(marks);
         return {measured: all.length, faint: all.filter(([, ratio]) => !(ratio >= 3))};",
    )
}

/// Waits until nothing on the page is still loading or checking.
fn settled(page: &Page, ready: &str) {
    page.run(&format!(
        "await waitText({});
         await waitFor(() => !/Loading…|Checking…/.test(text()), 'the page to finish loading');
         await nextPaint();",
        js(ready)
    ));
}

struct Finding {
    theme: &'static str,
    page: &'static str,
    violation: Value,
}

#[test]
fn every_main_page_has_no_serious_or_critical_accessibility_violation_in_either_theme_or_on_a_phone()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let (_, ingest) = create_key(&server, &admin, "ingest", "agents");
    create_key(&server, &admin, "read", "auditor");
    let events = fixture::events(fixture::now_ms());
    record(&server, &ingest, &events);
    let flag = events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    // axe is put into every document before the page's own scripts (DevTools scripts are not
    // subject to the page's Content-Security-Policy, which stays on for everything else).
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": AXE}),
    );
    page.goto(&format!("{}/", server.url));
    assert_eq!(
        page.run("return axe.version;"),
        "4.14.1",
        "the vendored axe-core"
    );

    let mut findings = Vec::new();
    let mut audited = Vec::new();
    let mut measured = 0;
    // Each theme on a laptop, and the light one on a phone as well (where targets are small
    // and the layout reflows).
    for (theme, background, width, height) in [
        ("light", "rgb(255, 255, 255)", 1280, 900),
        ("dark", "rgb(17, 20, 24)", 1280, 900),
        ("phone", "rgb(255, 255, 255)", 390, 844),
    ] {
        page.viewport(width, height);
        page.color_scheme(if theme == "dark" { "dark" } else { "light" });
        assert_eq!(
            page.run("return getComputedStyle(document.body).backgroundColor;"),
            background,
            "the {theme} theme is the one shown"
        );
        let mut check = |name: &'static str| {
            audited.push(format!("{theme}/{name}"));
            let fields = faint_fields(&page);
            assert_eq!(
                fields["faint"],
                json!([]),
                "{theme}/{name}: faint field borders or chart marks"
            );
            measured += fields["measured"].as_u64().unwrap();
            for v in audit(&page) {
                findings.push(Finding {
                    theme,
                    page: name,
                    violation: v,
                });
            }
        };

        // Sign-in, blank and after a refused key (the error is announced).
        settled(&page, "API key (read or admin)");
        check("sign-in");
        sign_in(&page, "sealog_not_a_key", "invalid API key");
        check("sign-in refused");
        sign_in(&page, &admin, "Checkpoint size");
        page.run(&format!(
            "localStorage.setItem('sealog.pin.default', {});",
            js(&log_vkey)
        ));
        settled(&page, "Refreshed");
        check("logs overview");

        goto_hash(&page, "#/logs/default");
        settled(&page, "loaded (end)");
        page.run("await waitFor(() => document.querySelector('.chart figcaption'), 'the chart');");
        check("events explorer");

        goto_hash(&page, &format!("#/logs/default/events/{flag}"));
        settled(&page, "Verified: entry");
        check("event detail");

        goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
        settled(&page, "Span tree");
        page.run("await waitText('1 gap flagged');");
        check("session view");

        goto_hash(
            &page,
            &format!("#/logs/default/export?session={GAP_SESSION}"),
        );
        settled(&page, "Download evidence pack");
        check("export");

        goto_hash(&page, "#/logs/default/keys");
        settled(&page, "Create a key");
        check("keys");

        goto_hash(&page, "#/logs/default/incidents");
        settled(&page, "Freeze an incident");
        check("incidents");

        fixture::assert_no_page_errors(&page);
        fixture::then_fresh(&page, || page.click("el('#nav button', 'Sign out')"));
    }
    assert_eq!(audited.len(), 27, "{audited:?}");
    // In each pass at least: sign-in's key field twice, the six filters of the explorer and
    // of export, and the key form's label and role.
    assert!(measured >= 3 * 16, "only {measured} fields measured");

    let mut blocking = Vec::new();
    for f in &findings {
        let v = &f.violation;
        let line = format!(
            "{}/{}: [{}] {} — {}: {}",
            f.theme,
            f.page,
            v["impact"].as_str().unwrap_or("?"),
            v["id"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or(""),
            v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| format!(
                    "{} ({})",
                    n["target"].as_str().unwrap_or(""),
                    n["summary"].as_str().unwrap_or("").replace('\n', " ")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        eprintln!("{line}");
        if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
            blocking.push(line);
        }
    }
    eprintln!(
        "axe-core: {} findings on {} page audits",
        findings.len(),
        audited.len()
    );
    assert!(
        blocking.is_empty(),
        "serious or critical accessibility violations:\n{}",
        blocking.join("\n")
    );
}
