//! The proxy's tool policy: a deny list, or an allow list, of tool names (globs with `*`).

/// Which tools may be called.
#[derive(Default, Clone)]
pub struct Policy {
    /// Tools refused (`--deny-tool`).
    pub deny: Vec<String>,
    /// If not empty, the only tools allowed (`--allow-tool`).
    pub allow: Vec<String>,
}

impl Policy {
    /// Why `tool` is refused, or None if it may be called.
    pub fn refuses(&self, tool: &str) -> Option<String> {
        if let Some(p) = self.deny.iter().find(|p| glob(p, tool)) {
            return Some(format!(
                "tool {tool:?} is denied by the proxy's policy ({p})"
            ));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|p| glob(p, tool)) {
            return Some(format!("tool {tool:?} is not on the proxy's allow list"));
        }
        None
    }

    /// True when no tool is refused, so messages need not be looked at on the relay's path.
    pub fn is_open(&self) -> bool {
        self.deny.is_empty() && self.allow.is_empty()
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut tail) = name.strip_prefix(head) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let (last, middle) = parts.split_last().expect("split yields one part at least");
    for m in middle {
        match tail.find(m) {
            Some(i) => tail = &tail[i + m.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// If `line` is a `tools/call` that `policy` refuses: the request and the reason.
pub fn refused(policy: &Policy, line: &[u8]) -> Option<(serde_json::Value, String)> {
    if policy.is_open() || memchr_tools_call(line).is_none() {
        return None;
    }
    let req: serde_json::Value = serde_json::from_slice(line).ok()?;
    if req["method"] != "tools/call" {
        return None;
    }
    let reason = policy.refuses(req["params"]["name"].as_str().unwrap_or(""))?;
    Some((req, reason))
}

fn memchr_tools_call(line: &[u8]) -> Option<usize> {
    line.windows(10).position(|w| w == b"tools/call")
}

/// The JSON-RPC error a refused call gets.
pub fn error_reply(req: &serde_json::Value, reason: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": req["id"],
        "error": {"code": -32001, "message": format!("blocked by Sealog: {reason}")},
    }))
    .expect("JSON");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("delete_*", "delete_file"));
        assert!(glob("*_file", "delete_file"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(!glob("exec", "exec2"));
        assert!(glob("*", ""));
    }

    #[test]
    fn deny_beats_allow_and_allow_closes_the_rest() {
        let p = Policy {
            deny: vec!["rm*".into()],
            allow: vec!["r*".into(), "echo".into()],
        };
        assert!(p.refuses("rmdir").is_some());
        assert!(p.refuses("read").is_none());
        assert!(p.refuses("write").is_some());
    }
}
