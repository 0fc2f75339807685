//! A headless Chromium driven over the Chrome DevTools Protocol on a pipe
//! (`--remote-debugging-pipe`): no WebDriver binary, no npm, no WebSocket client.
//!
//! Chromium reads NUL-terminated JSON commands from its fd 3 and writes replies and events to
//! its fd 4; a shell `exec` moves our two pipes there. Tests drive pages with real input events
//! (mouse clicks, typed text, Enter) and read the DOM with scripts built from `driver.js`.
//! JavaScript dialogs (`confirm`) are answered "OK" and recorded, so a test can assert which
//! ones appeared; watched responses are let through and recorded likewise.

#![allow(dead_code)] // Each test uses a different subset.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Helpers every page script can use; see `driver.js`.
const DRIVER: &str = include_str!("driver.js");

/// Installed before any page script runs: records CSP violations and uncaught errors.
const INIT: &str = "window.__violations = []; window.__errors = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || e.sample}`));
window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));";

/// Makes `http://sealog.test:PORT/` reach this machine's loopback: a plain-HTTP origin that is
/// not localhost, so not a secure context (the page gets no WebCrypto), as a dashboard reached
/// by a team's internal host name would be.
pub const INSECURE_HOST_RULES: &str = "--host-resolver-rules=MAP sealog.test 127.0.0.1";

/// Longest wait for one protocol reply (scripts that wait for the page have their own limits).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running headless Chromium.
pub struct Chromium {
    child: Child,
    conn: Mutex<Conn>,
    _profile: tempfile::TempDir,
}

struct Conn {
    writer: std::io::PipeWriter,
    incoming: Receiver<Value>,
    next_id: u64,
    /// Events received so far, oldest first.
    events: Vec<Value>,
}

impl Conn {
    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> u64 {
        self.try_send(session, method, params)
            .unwrap_or_else(|e| panic!("write {method} to Chromium's DevTools pipe: {e}"))
    }

    /// Sends a command; an error if Chromium is gone (the pipe is closed). Never panics, so
    /// that `Drop` can use it while a failed test unwinds.
    fn try_send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> std::io::Result<u64> {
        self.next_id += 1;
        let mut msg = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.writer.write_all(&bytes)?;
        Ok(self.next_id)
    }

    /// Takes the next message off the pipe, answering dialogs as it goes.
    fn pump(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match self.incoming.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => panic!("Chromium exited"),
        };
        if msg["method"] == "Fetch.requestPaused" {
            // A response held for inspection (see `Page::watch_responses`): let it through.
            let session = msg["sessionId"].as_str().map(str::to_owned);
            let id = msg["params"]["requestId"].clone();
            self.send(
                session.as_deref(),
                "Fetch.continueRequest",
                json!({"requestId": id}),
            );
        }
        if msg["method"] == "Page.javascriptDialogOpening" {
            // A person clicking "OK"; the reply to this command is not awaited.
            let session = msg["sessionId"].as_str().map(str::to_owned);
            self.send(
                session.as_deref(),
                "Page.handleJavaScriptDialog",
                json!({"accept": true}),
            );
        }
        Some(msg)
    }
}

impl Chromium {
    /// Starts `$CHROMIUM` (default `/usr/bin/chromium`) headless, with a fresh profile.
    pub fn launch() -> Chromium {
        Chromium::launch_with(&[])
    }

    /// [`Chromium::launch`] with extra command-line flags, such as [`INSECURE_HOST_RULES`].
    pub fn launch_with(flags: &[&str]) -> Chromium {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = std::io::pipe().unwrap();
        let (res_read, res_write) = std::io::pipe().unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&chromium)
            .args([
                "--headless",
                // Tests run as root in containers, where the sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(flags)
            .arg("about:blank")
            .stdin(Stdio::from(cmd_read))
            .stdout(Stdio::from(res_write))
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("run {chromium} (apt-get install chromium): {e}"));
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = res_read;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            loop {
                let n = match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|&b| b == 0) {
                    let msg: Value = serde_json::from_slice(&buf[..end]).expect("CDP sends JSON");
                    buf.drain(..=end);
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
            }
        });
        let browser = Chromium {
            child,
            conn: Mutex::new(Conn {
                writer: cmd_write,
                incoming,
                next_id: 0,
                events: Vec::new(),
            }),
            _profile: profile,
        };
        browser.check_started(&chromium);
        browser
    }

    /// Fails the test, saying how to get Chromium, unless it answers on its pipe.
    fn check_started(&self, chromium: &str) {
        let mut conn = self.conn();
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut answered = false;
        if let Ok(id) = conn.try_send(None, "Browser.getVersion", json!({})) {
            let left = || deadline.saturating_duration_since(Instant::now());
            while let Ok(msg) = conn.incoming.recv_timeout(left()) {
                if msg["id"] == id {
                    answered = true;
                    break;
                }
                conn.events.push(msg);
            }
        }
        drop(conn);
        assert!(
            answered,
            "Chromium did not start from {chromium}: install it (apt-get install -y chromium) \
             or set CHROMIUM to its path"
        );
    }

    fn conn(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends a command (to a page's session, or to the browser) and returns its result, or the
    /// protocol's error object.
    pub fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        let mut conn = self.conn();
        let id = conn.send(session, method, params);
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let msg = conn
                .pump(deadline)
                .unwrap_or_else(|| panic!("Chromium did not answer {method} in {REPLY_TIMEOUT:?}"));
            if msg["id"] == id {
                return match msg.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(msg["result"].clone()),
                };
            }
            if msg.get("method").is_some() {
                conn.events.push(msg);
            }
        }
    }

    /// [`Chromium::try_call`] that panics on a protocol error.
    pub fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// Events called `method` received so far.
    pub fn events(&self, method: &str) -> Vec<Value> {
        let mut conn = self.conn();
        while let Some(msg) = conn.pump(Instant::now()) {
            if msg.get("method").is_some() {
                conn.events.push(msg);
            }
        }
        conn.events
            .iter()
            .filter(|e| e["method"] == method)
            .cloned()
            .collect()
    }

    /// Waits up to `timeout` for an event called `method` whose params satisfy `pred`
    /// (including one that already arrived).
    pub fn wait_event(
        &self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut conn = self.conn();
        let hit = |e: &Value| e["method"] == method && pred(&e["params"]);
        if let Some(e) = conn.events.iter().find(|e| hit(e)) {
            return e["params"].clone();
        }
        let deadline = Instant::now() + timeout;
        while let Some(msg) = conn.pump(deadline) {
            if msg.get("method").is_some() {
                conn.events.push(msg.clone());
                if hit(&msg) {
                    return msg["params"].clone();
                }
            }
        }
        panic!("no {method} event within {timeout:?}")
    }

    /// Opens a new tab with a `width`×`height` viewport.
    pub fn page(&self, width: u32, height: u32) -> Page<'_> {
        let target =
            self.call(None, "Target.createTarget", json!({"url": "about:blank"}))["targetId"]
                .as_str()
                .unwrap()
                .to_owned();
        let session = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )["sessionId"]
            .as_str()
            .unwrap()
            .to_owned();
        let page = Page {
            browser: self,
            session,
        };
        page.call("Page.enable", json!({}));
        page.call("Runtime.enable", json!({}));
        page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": INIT}),
        );
        page.viewport(width, height);
        page
    }

    /// Saves downloads into `dir` under the names the page suggests, and reports them.
    pub fn allow_downloads(&self, dir: &Path) {
        self.call(
            None,
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": dir, "eventsEnabled": true}),
        );
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // No panic here: a panic in a destructor while a failed test unwinds aborts the test
        // process, and the servers it started would never be stopped.
        let _ = self.conn().try_send(None, "Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab.
pub struct Page<'b> {
    browser: &'b Chromium,
    session: String,
}

impl Page<'_> {
    /// A command to this tab.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params)
    }

    /// This tab's events called `method` so far.
    pub fn events(&self, method: &str) -> Vec<Value> {
        self.browser
            .events(method)
            .into_iter()
            .filter(|e| e["sessionId"] == self.session.as_str())
            .map(|e| e["params"].clone())
            .collect()
    }

    /// Sets the viewport size.
    pub fn viewport(&self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
    }

    /// Emulates `prefers-color-scheme: dark` (or light).
    pub fn color_scheme(&self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Loads `url` and waits for its load event.
    pub fn goto(&self, url: &str) {
        let loads = self.events("Page.loadEventFired").len();
        let nav = self.call("Page.navigate", json!({"url": url}));
        assert!(nav.get("errorText").is_none(), "navigating to {url}: {nav}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.events("Page.loadEventFired").len() == loads {
            assert!(Instant::now() < deadline, "{url} did not load in 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `body` as the body of an async function in the page, with `driver.js`'s helpers in
    /// scope, and returns what it returns (as JSON). A thrown error fails the test with its
    /// message (the helpers' messages include what the page showed).
    pub fn run(&self, body: &str) -> Value {
        let expression = format!("(async () => {{\n{DRIVER}\n{body}\n}})()");
        let r = self.call(
            "Runtime.evaluate",
            json!({
                "expression": expression,
                "awaitPromise": true,
                "returnByValue": true,
                "userGesture": true,
            }),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            let what = ex["exception"]["description"]
                .as_str()
                .or(ex["text"].as_str())
                .unwrap_or("?");
            panic!("page script failed: {what}\n--- script ---\n{body}");
        }
        r["result"]["value"].clone()
    }

    /// A real left click in the middle of the element `element_expr` (a JavaScript expression,
    /// waited for until it yields an element; of its first line, if it wraps) after scrolling
    /// it into view; fails if the element is hidden or covered.
    pub fn click(&self, element_expr: &str) {
        let at = self.run(&format!(
            "const target = await waitFor(() => {element_expr}, {src});
             target.scrollIntoView({{block: 'center'}});
             // The first line box: the middle of a link that wraps may be between its lines.
             const r = target.getClientRects()[0] || target.getBoundingClientRect();
             const x = r.x + r.width / 2, y = r.y + r.height / 2;
             const top = document.elementFromPoint(x, y);
             if (!r.width || !r.height || !(top === target || target.contains(top)))
               throw new Error('not clickable (hidden or covered): ' + target.outerHTML.slice(0, 200));
             return [x, y];",
            src = js(&format!("something to click: {element_expr}")),
        ));
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        );
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Focuses the field `element_expr` (waited for like [`Page::click`]'s), selects what it
    /// holds and types `text` over it (an empty `text` deletes it).
    pub fn type_into(&self, element_expr: &str, text: &str) {
        self.run(&format!(
            "const target = await waitFor(() => {element_expr}, {src});
             target.focus();
             target.select();",
            src = js(&format!("a field: {element_expr}")),
        ));
        if text.is_empty() {
            self.press("Backspace");
        } else {
            self.call("Input.insertText", json!({"text": text}));
        }
    }

    /// Presses a key such as `Enter` or `Tab` on the focused element.
    pub fn press(&self, key: &str) {
        let (code, text) = match key {
            "Enter" => (13, "\r"),
            "Tab" => (9, ""),
            "Backspace" => (8, ""),
            other => panic!("no key code for {other}"),
        };
        for kind in ["keyDown", "keyUp"] {
            let mut ev = json!({"type": kind, "key": key, "code": key,
                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code});
            if kind == "keyDown" && !text.is_empty() {
                ev["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", ev);
        }
    }

    /// Reports the responses to requests whose URL matches `pattern` (`*` wildcards) as
    /// `Fetch.requestPaused` events, with their status and headers; unlike `Network` events
    /// this includes responses that become downloads.
    pub fn watch_responses(&self, pattern: &str) {
        self.call(
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": pattern, "requestStage": "Response"}]}),
        );
    }

    /// The tab's cookies for `url`, HttpOnly ones included.
    pub fn cookies(&self, url: &str) -> Vec<Value> {
        self.call("Network.getCookies", json!({"urls": [url]}))["cookies"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// A PNG of the whole page (up to `max_height` pixels tall) at the viewport's width.
    pub fn screenshot(&self, path: &Path, max_height: u32) {
        use base64::Engine as _;
        let size = self.run(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];",
        );
        let width = size[0].as_f64().unwrap();
        let height = size[1].as_f64().unwrap().min(f64::from(max_height));
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// `s` as a JavaScript string literal.
pub fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
