//! The optional redactor for plain content: removes common secrets and personal data before an
//! event leaves the process, as the Python SDK's does for the categories here (`email`,
//! `api_key`, `jwt`, `bearer_token`, `card_number` with its Luhn check). A match becomes
//! `[<category>]` and the payload lists what was removed (`redacted`).

use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

type Check = fn(&str) -> bool;

fn patterns() -> &'static [(&'static str, Regex, Option<Check>)] {
    static P: OnceLock<Vec<(&'static str, Regex, Option<Check>)>> = OnceLock::new();
    P.get_or_init(|| {
        let rx = |s: &str| Regex::new(s).expect("a valid pattern");
        vec![
            (
                "jwt",
                rx(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
                None,
            ),
            (
                "bearer_token",
                rx(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*"),
                None,
            ),
            (
                "api_key",
                rx(concat!(
                    r"\b(?:sk-ant-[A-Za-z0-9_-]{20,}|sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}",
                    r"|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36,}",
                    r"|github_pat_[A-Za-z0-9_]{40,}|AIza[0-9A-Za-z_-]{35}",
                    r"|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
                    r"|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})"
                )),
                None,
            ),
            (
                "email",
                rx(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
                None,
            ),
            (
                "card_number",
                rx(r"\b(?:\d[ -]?){12,18}\d\b"),
                Some(luhn_ok),
            ),
        ]
    })
}

/// Whether the digits of `s` pass the Luhn check (as card numbers do).
fn luhn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (1, dd) if dd > 9 => dd - 9,
            (1, dd) => dd,
            _ => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

fn redact_text(text: &str, found: &mut BTreeSet<&'static str>) -> String {
    let mut out = text.to_owned();
    for (name, rx, check) in patterns() {
        out = rx
            .replace_all(&out, |m: &regex::Captures| {
                let s = &m[0];
                if check.is_some_and(|c| !c(s)) {
                    return s.to_owned();
                }
                found.insert(name);
                format!("[{name}]")
            })
            .into_owned();
    }
    out
}

/// `value` with every string redacted, and the categories removed (sorted).
pub fn redact(value: &Value) -> (Value, Vec<&'static str>) {
    fn walk(v: &Value, found: &mut BTreeSet<&'static str>) -> Value {
        match v {
            Value::String(s) => Value::String(redact_text(s, found)),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, found)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), walk(x, found))).collect())
            }
            other => other.clone(),
        }
    }
    let mut found = BTreeSet::new();
    let out = walk(value, &mut found);
    (out, found.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_addresses_are_replaced_and_named() {
        let (out, found) = redact(&json!({
            "to": "ada@example.org",
            "auth": ["Bearer abcdefghijklmnopqrstuvwx"],
            "card": "4111 1111 1111 1111",
            "not_a_card": "1234 5678 9012 3456",
            "n": 5,
        }));
        assert_eq!(out["to"], "[email]");
        assert_eq!(out["auth"][0], "[bearer_token]");
        assert_eq!(out["card"], "[card_number]");
        assert_eq!(out["not_a_card"], "1234 5678 9012 3456");
        assert_eq!(out["n"], 5);
        assert_eq!(found, ["bearer_token", "card_number", "email"]);
    }
}
