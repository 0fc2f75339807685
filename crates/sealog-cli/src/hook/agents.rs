//! What each agent's hook payload becomes: Claude Code's and Gemini CLI's documented events.
//!
//! Both send one JSON object with `session_id`, `hook_event_name`, `cwd` and the event's own
//! fields. Prompts, tool input and tool output are payloads (committed unless content capture
//! is on); names, ids and the event kind are kept in clear.

use super::Agent;
use sealog_client::Event;
use serde_json::{Value, json};

/// One hook payload, read.
pub struct Hook {
    /// The agent's session id.
    pub session: String,
    /// The event to record (ignored when `ends`).
    pub event: Event,
    /// True for the session's end: a `session_end` with its count is recorded.
    pub ends: bool,
}

/// Reads `p`, the payload of `agent`'s hook; `agent_id` overrides the recorded agent id.
pub fn read(agent: Agent, p: &Value, agent_id: Option<&str>) -> Result<Hook, String> {
    let name = p["hook_event_name"]
        .as_str()
        .ok_or("the payload has no \"hook_event_name\"")?;
    let session = p["session_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("the payload has no \"session_id\"")?
        .to_owned();
    let (default_id, event, ends) = match agent {
        Agent::ClaudeCode => ("claude-code", claude_code(name, p), name == "SessionEnd"),
        Agent::GeminiCli => ("gemini-cli", gemini_cli(name, p), name == "SessionEnd"),
    };
    let event = event
        .agent(json!({"id": agent_id.unwrap_or(default_id)}))
        .attribute("hook.event", json!(name));
    Ok(Hook {
        session,
        event,
        ends,
    })
}

/// A tool call's event before (`pending`) or after it ran.
fn tool(p: &Value, status: &str, call_id: &Value) -> Event {
    let mut tool = json!({"name": p["tool_name"].as_str().unwrap_or("?")});
    if let Some(id) = call_id.as_str() {
        tool["call_id"] = json!(id);
    }
    Event::new("tool_call")
        .status(status)
        .context("tool", tool)
        .input(p["tool_input"].clone())
}

fn session_start(p: &Value) -> Event {
    let mut ev = Event::new("session_start");
    for (from, to) in [
        ("source", "hook.source"),
        ("model", "hook.model"),
        ("cwd", "cwd"),
    ] {
        if let Some(v) = p[from].as_str() {
            ev = ev.attribute(to, json!(v));
        }
    }
    ev
}

/// Claude Code: SessionStart, UserPromptSubmit, PreToolUse, PostToolUse (and
/// PostToolUseFailure), Stop, SubagentStop, Notification, PreCompact, SessionEnd.
fn claude_code(name: &str, p: &Value) -> Event {
    let call_id = &p["tool_use_id"];
    match name {
        "SessionStart" => session_start(p),
        "UserPromptSubmit" => Event::new("x-user_prompt").input(p["prompt"].clone()),
        "PreToolUse" => tool(p, "pending", call_id),
        "PostToolUse" => tool(p, "ok", call_id).output(p["tool_response"].clone()),
        "PostToolUseFailure" => tool(p, "error", call_id).output(p["error"].clone()),
        "Stop" | "SubagentStop" => Event::new("x-turn_end")
            .attribute("hook.stop_hook_active", p["stop_hook_active"].clone()),
        "Notification" => Event::new("x-notification").input(p["message"].clone()),
        _ => Event::new("x-hook"),
    }
}

/// Gemini CLI: SessionStart, BeforeAgent, AfterAgent, BeforeTool, AfterTool, Notification,
/// SessionEnd (model hooks fire per chunk and are recorded as plain `x-hook` marks).
fn gemini_cli(name: &str, p: &Value) -> Event {
    match name {
        "SessionStart" => session_start(p),
        "BeforeAgent" => Event::new("x-user_prompt").input(p["prompt"].clone()),
        "AfterAgent" => Event::new("x-turn_end")
            .input(p["prompt"].clone())
            .output(p["prompt_response"].clone()),
        "BeforeTool" => tool(p, "pending", &Value::Null),
        "AfterTool" => {
            let failed = !p["tool_response"]["error"].is_null();
            tool(p, if failed { "error" } else { "ok" }, &Value::Null)
                .output(p["tool_response"].clone())
        }
        "Notification" => Event::new("x-notification")
            .attribute("hook.notification_type", p["notification_type"].clone())
            .input(p["message"].clone()),
        _ => Event::new("x-hook"),
    }
}
