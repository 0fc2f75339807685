//! The list of logs a witness cosigns for, read from one file in either of two formats:
//!
//! - a C2SP tlog-policy file, whose `log <vkey> [<url>]` lines name the logs (the origin is
//!   the key name; witness, group and quorum lines are parsed and ignored), the same file a
//!   Sealog verifier uses;
//! - the witness network's `logs/v0` list: a `logs/v0` header line, an optional `revision N`
//!   line, then blank-line-separated entries of `vkey`, optional `origin` (the key name by
//!   default), optional `qpd` (add-checkpoint requests a day), and `bastion`/`contact` lines
//!   that a witness needs not act on. `#` starts a comment line.

use sealog_core::checkpoint::parse_decimal;
use sealog_core::note::Verifier;
use sealog_core::policy::Policy;

/// One log the witness cosigns for.
#[derive(Clone, Debug)]
pub struct WitnessedLog {
    /// The checkpoint origin line that identifies the log.
    pub origin: String,
    /// The keys whose signature on a checkpoint of this origin the witness trusts.
    pub keys: Vec<Verifier>,
    /// The add-checkpoint requests a day the log may make, when the list says.
    pub qpd: Option<u64>,
}

/// Reads a log list in either format; errors name the line.
pub fn parse_log_list(bytes: &[u8]) -> Result<Vec<WitnessedLog>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the log list is not UTF-8".to_owned())?;
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let logs = if first == Some("logs/v0") {
        parse_logs_v0(text)?
    } else {
        let policy = Policy::parse(bytes).map_err(|e| format!("tlog-policy log list: {e}"))?;
        policy
            .logs()
            .iter()
            .map(|l| WitnessedLog {
                origin: l.verifier.name().to_owned(),
                keys: vec![l.verifier.clone()],
                qpd: None,
            })
            .collect()
    };
    merge_origins(logs)
}

/// Joins entries that name the same origin (a log with several keys) and refuses an empty
/// list.
fn merge_origins(logs: Vec<WitnessedLog>) -> Result<Vec<WitnessedLog>, String> {
    let mut merged: Vec<WitnessedLog> = Vec::new();
    for log in logs {
        match merged.iter_mut().find(|m| m.origin == log.origin) {
            Some(m) => {
                m.keys.extend(log.keys);
                m.qpd = m.qpd.max(log.qpd);
            }
            None => merged.push(log),
        }
    }
    if merged.is_empty() {
        return Err("the log list names no log".into());
    }
    Ok(merged)
}

/// An entry of a `logs/v0` list being read.
#[derive(Default)]
struct Entry {
    vkey: Option<Verifier>,
    origin: Option<String>,
    qpd: Option<u64>,
    line: usize,
}

impl Entry {
    fn finish(self) -> Result<Option<WitnessedLog>, String> {
        if self.line == 0 {
            return Ok(None);
        }
        let key = self
            .vkey
            .ok_or_else(|| format!("line {}: log entry has no vkey line", self.line))?;
        Ok(Some(WitnessedLog {
            origin: self.origin.unwrap_or_else(|| key.name().to_owned()),
            keys: vec![key],
            qpd: self.qpd,
        }))
    }
}

/// Parses the `logs/v0` format; unknown keywords are skipped, as a newer list may add some.
fn parse_logs_v0(text: &str) -> Result<Vec<WitnessedLog>, String> {
    let mut logs = Vec::new();
    let mut entry = Entry::default();
    let mut header = true;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            header = false;
            logs.extend(std::mem::take(&mut entry).finish()?);
            continue;
        }
        let (keyword, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.trim();
        let err = |what: String| format!("line {n}: {what}");
        match (header, keyword) {
            (true, "logs/v0" | "revision") => continue,
            (true, _) => return Err(err("expected a blank line after the header".into())),
            (false, _) if entry.line == 0 => entry.line = n,
            _ => {}
        }
        match keyword {
            "vkey" if entry.vkey.is_some() => return Err(err("second vkey in one entry".into())),
            "vkey" => {
                entry.vkey = Some(Verifier::from_vkey(value).map_err(|e| err(e.to_string()))?)
            }
            "origin" if value.is_empty() => return Err(err("empty origin".into())),
            "origin" => entry.origin = Some(value.to_owned()),
            "qpd" => {
                entry.qpd =
                    Some(parse_decimal(value.as_bytes()).map_err(|e| err(format!("qpd {e}")))?)
            }
            _ => {}
        }
    }
    logs.extend(entry.finish()?);
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealog_core::note::Signer;

    fn vkey(name: &str, seed: u8) -> String {
        Signer::from_seed(name, [seed; 32]).unwrap().vkey()
    }

    #[test]
    fn reads_a_logs_v0_list_with_comments_origins_and_rates() {
        let list = format!(
            "# header\nlogs/v0\nrevision 3\n\nvkey {}\nqpd 86400\ncontact ops (at) a.example\n\n\
             # second\norigin b.example/other\nvkey {}\nbastion none\nqpd 24\n",
            vkey("a.example/log", 1),
            vkey("b.example/log", 2)
        );
        let logs = parse_log_list(list.as_bytes()).unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].origin, "a.example/log");
        assert_eq!(logs[0].qpd, Some(86400));
        assert_eq!(logs[1].origin, "b.example/other");
        assert_eq!(logs[1].qpd, Some(24));
    }

    #[test]
    fn reads_the_log_lines_of_a_policy_file() {
        let list = format!("log {}\nquorum none\n", vkey("a.example/log", 1));
        let logs = parse_log_list(list.as_bytes()).unwrap();
        assert_eq!(logs[0].origin, "a.example/log");
        assert_eq!(logs[0].keys.len(), 1);
    }

    #[test]
    fn an_entry_without_a_key_or_with_a_bad_one_names_its_line() {
        let err = parse_log_list(b"logs/v0\n\norigin x\nqpd 1\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("no vkey"), "{err}");
        let err = parse_log_list(b"logs/v0\n\nvkey nope\n").unwrap_err();
        assert!(err.starts_with("line 3"), "{err}");
        let err = parse_log_list(b"logs/v0\n").unwrap_err();
        assert!(err.contains("no log"), "{err}");
    }

    #[test]
    fn two_keys_for_one_origin_make_one_log() {
        let list = format!(
            "logs/v0\n\nvkey {}\n\norigin a.example/log\nvkey {}\n",
            vkey("a.example/log", 1),
            vkey("a.example/log", 2)
        );
        let logs = parse_log_list(list.as_bytes()).unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].keys.len(), 2);
    }
}
