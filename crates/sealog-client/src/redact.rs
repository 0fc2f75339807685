//! The optional redactor for plain content: removes common secrets and personal data before an
//! event leaves the process, with the Python and TypeScript SDKs' categories and patterns
//! (`email`, `phone`, `api_key`, `jwt`, `bearer_token`, `iban` with its mod-97 check,
//! `card_number` with its Luhn check; spec/vectors/redaction.json holds the examples all three
//! pass). A match becomes `[<category>]` and the payload lists what was removed (`redacted`).

use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

type Check = fn(&str) -> bool;

/// A category: its name, its pattern, the check a match must pass, and whether a match may
/// follow a word character or `+` (the other SDKs' `(?<![\w+])`, which `regex` lacks).
struct Category {
    name: &'static str,
    rx: Regex,
    check: Option<Check>,
    after_word: bool,
}

fn patterns() -> &'static [Category] {
    static P: OnceLock<Vec<Category>> = OnceLock::new();
    P.get_or_init(|| {
        let rx = |s: &str| Regex::new(s).expect("a valid pattern");
        let c = |name, rx, check| Category {
            name,
            rx,
            check,
            after_word: true,
        };
        vec![
            c(
                "jwt",
                rx(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
                None,
            ),
            c(
                "bearer_token",
                rx(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*"),
                None,
            ),
            c(
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
            c(
                "email",
                rx(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
                None,
            ),
            c(
                "iban",
                rx(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
                Some(iban_ok),
            ),
            c(
                "card_number",
                rx(r"\b(?:\d[ -]?){12,18}\d\b"),
                Some(luhn_ok),
            ),
            Category {
                name: "phone",
                rx: rx(concat!(
                    r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}",
                    r"\b"
                )),
                check: Some(phone_ok),
                after_word: false,
            },
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

/// Whether an IBAN candidate passes the ISO 13616 check (mod 97 of the rearranged digits is 1).
fn iban_ok(s: &str) -> bool {
    let s: Vec<char> = s.chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let rearranged = s[4..].iter().chain(&s[..4]);
    let mut rest = 0u32;
    for c in rearranged {
        let Some(v) = c.to_digit(36) else {
            return false;
        };
        // A letter is two digits (10..35), as in the decimal string the others build.
        rest = (rest * if v > 9 { 100 } else { 10 } + v) % 97;
    }
    rest == 1
}

/// Whether a phone candidate has 8 to 15 digits and is not a date.
fn phone_ok(s: &str) -> bool {
    static DATE: OnceLock<Regex> = OnceLock::new();
    let date = DATE.get_or_init(|| {
        Regex::new(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")
            .expect("a valid pattern")
    });
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (8..=15).contains(&digits) && !date.is_match(s)
}

/// Whether `text[..at]` ends in a word character or `+`.
fn after_word_or_plus(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c == '+' || c == '_' || c.is_alphanumeric())
}

/// `text` with each match of `cat` that passes its checks replaced by `[<name>]`.
fn replace(cat: &Category, text: &str, found: &mut BTreeSet<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(m) = cat.rx.find_at(text, from) {
        if !cat.after_word && after_word_or_plus(text, m.start()) {
            // No match may start here; as a look-behind would, try the next position.
            from = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        from = m.end(); // no pattern matches the empty string
        if cat.check.is_some_and(|c| !c(m.as_str())) {
            continue;
        }
        found.insert(cat.name);
        out.push_str(&text[copied..m.start()]);
        out.push('[');
        out.push_str(cat.name);
        out.push(']');
        copied = m.end();
    }
    out.push_str(&text[copied..]);
    out
}

fn redact_text(text: &str, found: &mut BTreeSet<&'static str>) -> String {
    patterns()
        .iter()
        .fold(text.to_owned(), |out, cat| replace(cat, &out, found))
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

    /// spec/vectors/redaction.json, which the Python and TypeScript SDKs' tests read too.
    #[test]
    fn the_shared_vectors_are_redacted_as_the_other_sdks_redact_them() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/vectors/redaction.json"
        );
        let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 20);
        for case in cases {
            let (out, found) = redact(&case["text"]);
            assert_eq!(out, case["redacted"], "{}", case["text"]);
            assert_eq!(json!(found), case["found"], "{}", case["text"]);
        }
    }

    #[test]
    fn iban_and_phone_checks() {
        assert!(iban_ok("GB82 WEST 1234 5698 7654 32") && iban_ok("DE89370400440532013000"));
        assert!(!iban_ok("GB00 WEST 1234 5698 7654 32") && !iban_ok("GB82 WEST 12"));
        assert!(phone_ok("+44 20 7946 0958") && !phone_ok("2024-01-05") && !phone_ok("1234567"));
    }
}
