//! `--require-approval`: the proxy holds a `tools/call` of such a tool, never forwarding it
//! until a reviewer approves it through the approvals API (or the dashboard). The held call is
//! on the record as a `pending` tool_call; the decision is the `human_oversight` event the
//! server records; when nobody decides in time the proxy records a rejection by
//! [`TIMEOUT_REVIEWER`] itself.

use super::policy::glob;
use super::recorder::Note;
use sealog_client::{Client, Event};
use sealog_core::approval::{TIMEOUT_REVIEWER, decision_id};
use serde_json::{Value, json};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

/// How often the proxy asks for the decision.
const POLL: Duration = Duration::from_millis(100);

/// Which calls wait for a reviewer, and where decisions are read.
#[derive(Clone)]
pub struct Gate {
    /// Tools held (globs with `*`).
    pub tools: Vec<String>,
    /// How long a call waits for its decision before it is rejected.
    pub timeout: Duration,
    /// `{server}/v1/logs/{log}/approvals`.
    pub api: String,
    /// The proxy's (ingest) key.
    pub token: String,
    /// Records the timeout when the server can not be told.
    pub client: Client,
    http: ureq::Agent,
}

/// A reviewer's answer.
pub enum Verdict {
    /// Forward the call.
    Approved,
    /// Answer the client this error instead.
    Refused(String),
}

impl Gate {
    /// A gate holding calls of `tools`; decisions are read from `(server URL, log, key)`.
    pub fn new(
        tools: Vec<String>,
        timeout: Duration,
        (server, log, token): (&str, &str, &str),
        client: Client,
    ) -> Gate {
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        Gate {
            tools,
            timeout,
            api: format!("{}/v1/logs/{log}/approvals", server.trim_end_matches('/')),
            token: token.to_owned(),
            client,
            http,
        }
    }

    /// If `message` is a `tools/call` that must wait for a reviewer: the request.
    pub fn holds(&self, message: &[u8]) -> Option<Value> {
        if self.tools.is_empty() || !message.windows(10).any(|w| w == b"tools/call") {
            return None;
        }
        let req: Value = serde_json::from_slice(message).ok()?;
        let name = req["params"]["name"].as_str()?;
        (req["method"] == "tools/call" && self.tools.iter().any(|p| glob(p, name))).then_some(req)
    }

    /// Puts `req` on the record as held and waits (blocking) for its decision.
    pub fn hold(&self, tx: &Sender<Note>, session: &str, req: &Value) -> Verdict {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let _ = tx.send(Note::Held {
            session: session.to_owned(),
            request: req.clone(),
            id: id.clone(),
        });
        let verdict = self.wait(&id);
        if let Verdict::Approved = verdict {
            let _ = tx.send(Note::Approved {
                session: session.to_owned(),
                call_id: req["id"].clone(),
                held: id,
            });
        }
        verdict
    }

    /// Polls the decision on `id` until there is one or the time is up.
    fn wait(&self, id: &str) -> Verdict {
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            if let Some(v) = self.decision(id) {
                return v;
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
        let reason = format!("no reviewer decided within {} ms", self.timeout.as_millis());
        let body = json!({"decision": "rejected", "timeout": true, "reason": reason});
        let posted = self
            .http
            .post(format!("{}/{id}", self.api))
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes());
        match posted.map(|r| r.status().as_u16()) {
            Ok(200) => {}
            // Decided just before the time was up: that decision stands.
            Ok(409) => {
                if let Some(v) = self.decision(id) {
                    return v;
                }
            }
            _ => self.record_timeout(id, &reason),
        }
        Verdict::Refused(format!("the call was held for approval and {reason}"))
    }

    /// The decision on `id`, or None while it is pending (or can not be read).
    fn decision(&self, id: &str) -> Option<Verdict> {
        let mut r = self
            .http
            .get(format!("{}/{id}", self.api))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .ok()?;
        if r.status() != 200 {
            return None; // 404 until the held call is ingested
        }
        let d: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
        match d["decision"].as_str()? {
            "approved" => Some(Verdict::Approved),
            "pending" => None,
            other => Some(Verdict::Refused(format!(
                "the call was {other} by {}{}",
                d["reviewer"].as_str().unwrap_or("a reviewer"),
                d["reason"]
                    .as_str()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// The timeout as the server would have recorded it, through the spool (same id).
    fn record_timeout(&self, id: &str, reason: &str) {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let at = sealog_core::leaf::format_received(micros);
        let ev = Event::new("human_oversight")
            .id(&decision_id(id).expect("a UUID"))
            .agent(json!({"id": "sealog"}))
            .context(
                "oversight",
                json!({"required": true, "reviewer": TIMEOUT_REVIEWER, "decision": "rejected",
                       "reason": reason, "target": id, "reviewed_at": at}),
            )
            .attribute("approval.target", json!(id));
        if let Err(e) = self.client.record(ev) {
            eprintln!("sealog mcp-proxy: could not record the timeout of held call {id}: {e}");
        }
    }
}
