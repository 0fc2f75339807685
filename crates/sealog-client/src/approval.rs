//! Human approval of a call before it runs (EU AI Act Art. 14): [`Client::require_approval`]
//! records the call as a `pending` tool_call and waits for a reviewer's decision, which the
//! server records as a `human_oversight` event targeting it (dashboard or
//! `POST /v1/logs/{log}/approvals/{event_id}`). Nobody deciding in time is a rejection by
//! [`TIMEOUT_REVIEWER`], on the record too.

use crate::{Client, Error, Event, http};
use sealog_core::approval::{TIMEOUT_REVIEWER, decision_id};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

/// How often the decision is asked for.
const POLL: Duration = Duration::from_millis(100);

/// A reviewer's decision on a held call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The id of the held (`pending`) event.
    pub event_id: String,
    /// `approved` or `rejected`.
    pub decision: String,
    /// Who decided: the reviewer's key label, or `sealog-timeout`.
    pub reviewer: String,
    /// Why, if the reviewer said.
    pub reason: Option<String>,
}

impl Decision {
    /// True when the call may run.
    pub fn approved(&self) -> bool {
        self.decision == "approved"
    }
}

impl Client {
    /// Records `call` (a `tool_call` event, its input committed as usual) with status
    /// `pending`, durably, and blocks until a reviewer decides or `timeout` passes (then it is
    /// rejected by `sealog-timeout`). Errs only if the server can not take the held call.
    ///
    /// ```no_run
    /// # fn run(client: sealog_client::Client) -> Result<(), sealog_client::Error> {
    /// use sealog_client::Event;
    /// let call = Event::new("tool_call")
    ///     .context("tool", serde_json::json!({"name": "delete_file"}))
    ///     .input(serde_json::json!({"path": "/srv"}));
    /// let d = client.require_approval(call, std::time::Duration::from_secs(300))?;
    /// if d.approved() { /* run it */ }
    /// # Ok(()) }
    /// ```
    pub fn require_approval(&self, call: Event, timeout: Duration) -> Result<Decision, Error> {
        let held = call
            .status("pending")
            .context("oversight", json!({"required": true}));
        let receipt = self.record_sync(held, "durable")?;
        Ok(self.await_decision(&receipt.id, timeout))
    }

    /// Waits for the decision on the held event `event_id` (recorded by the caller), up to
    /// `timeout`; then records the rejection by `sealog-timeout` (through the approvals API,
    /// where a decision that landed first stands; else through the spool).
    pub fn await_decision(&self, event_id: &str, timeout: Duration) -> Decision {
        let path = format!("/approvals/{}", http::url_escape(event_id));
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(d) = self.decision(&path, event_id) {
                return d;
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
        let reason = format!("no reviewer decided within {} ms", timeout.as_millis());
        let body = json!({"decision": "rejected", "timeout": true, "reason": reason});
        match self.inner.shared.http.post(&path, &body).map(|a| a.status) {
            Ok(200) => {}
            Ok(409) => {
                if let Some(d) = self.decision(&path, event_id) {
                    return d;
                }
            }
            _ => self.spool_timeout(event_id, &reason),
        }
        Decision {
            event_id: event_id.into(),
            decision: "rejected".into(),
            reviewer: TIMEOUT_REVIEWER.into(),
            reason: Some(reason),
        }
    }

    /// The decision on `event_id`, or None while it is pending (or can not be read).
    fn decision(&self, path: &str, event_id: &str) -> Option<Decision> {
        let a = self.inner.shared.http.get(path).ok()?;
        let text = |k: &str| a.body[k].as_str().map(str::to_owned);
        match (a.status, text("decision")?.as_str()) {
            (200, d @ ("approved" | "rejected")) => Some(Decision {
                event_id: event_id.into(),
                decision: d.into(),
                reviewer: text("reviewer").unwrap_or_default(),
                reason: text("reason"),
            }),
            _ => None, // pending, or 404 until the held call is in the log
        }
    }

    /// The timeout as the server would have recorded it (same id, so never two decisions).
    fn spool_timeout(&self, event_id: &str, reason: &str) {
        let at = crate::event::format_ts(SystemTime::now());
        let oversight = json!({"required": true, "reviewer": TIMEOUT_REVIEWER,
            "decision": "rejected", "reason": reason, "target": event_id, "reviewed_at": at});
        let ev = Event::new("human_oversight")
            .id(&decision_id(event_id).unwrap_or_default())
            .agent(json!({"id": "sealog"}))
            .context("oversight", oversight)
            .attribute("approval.target", Value::from(event_id));
        if let Err(e) = self.record(ev) {
            eprintln!("sealog: could not record the timeout of held call {event_id}: {e}");
        }
    }
}
