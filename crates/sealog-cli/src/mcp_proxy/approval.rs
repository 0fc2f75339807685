//! `--require-approval`: the proxy holds a `tools/call` of such a tool, never forwarding it
//! until a reviewer approves it through the approvals API (or the dashboard). The held call is
//! on the record as a `pending` tool_call; the decision is the `human_oversight` event the
//! server records, and nobody deciding in time a rejection by `sealog-timeout`
//! ([`Client::await_decision`]).

use super::policy::glob;
use super::recorder::Note;
use sealog_client::Client;
use sealog_core::approval::TIMEOUT_REVIEWER;
use serde_json::Value;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// Which calls wait for a reviewer, and how long.
#[derive(Clone)]
pub struct Gate {
    /// Tools held (globs with `*`).
    pub tools: Vec<String>,
    /// How long a call waits for its decision before it is rejected.
    pub timeout: Duration,
    /// Reads the decisions (with the proxy's ingest key).
    pub client: Client,
}

/// A reviewer's answer.
pub enum Verdict {
    /// Forward the call.
    Approved,
    /// Answer the client this error instead.
    Refused(String),
}

impl Gate {
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
        let d = self.client.await_decision(&id, self.timeout);
        if !d.approved() {
            let reason = d.reason.unwrap_or_default();
            return Verdict::Refused(match d.reviewer.as_str() {
                TIMEOUT_REVIEWER => format!("the call was held for approval and {reason}"),
                who if reason.is_empty() => format!("the call was {} by {who}", d.decision),
                who => format!("the call was {} by {who}: {reason}", d.decision),
            });
        }
        let _ = tx.send(Note::Approved {
            session: session.to_owned(),
            call_id: req["id"].clone(),
            held: id,
        });
        Verdict::Approved
    }
}
