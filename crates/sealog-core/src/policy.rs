//! Trust policies ([c2sp.org/tlog-policy](https://c2sp.org/tlog-policy)): which logs a
//! verifier accepts, which witnesses it knows, and which sets of witness cosignatures make a
//! checkpoint trustworthy (the quorum).
//!
//! ```text
//! log example.com/log+1a2b3c4d+AW…
//! witness X1 w1.example/w+5e6f7a8b+BA…
//! witness X2 w2.example/w+9c0d1e2f+BA…
//! group X-witnesses 2 X1 X2
//! quorum X-witnesses
//! ```
//!
//! A quorum turns "the log says so" into "the log and independent witnesses say so": a log
//! that shows one history to one party and another to someone else must get witnesses to
//! cosign both, which they refuse.
//!
//! The parser is strict and every error carries its line number: keywords are `log`,
//! `witness`, `group` and `quorum`; log keys must be Ed25519 note keys (type 0x01) and
//! witness keys `cosignature/v1` keys (type 0x04); witnesses and groups share one namespace
//! in which `none` is reserved; a group may only name witnesses and groups defined on earlier
//! lines, each name may be a group member at most once in the whole file, and `1 ≤ k ≤ n`;
//! a public key may appear once among the logs and once among the witnesses; exactly one
//! `quorum` line. The file must be UTF-8 (the spec allows other high-bit octets but
//! recommends UTF-8); names compare byte for byte, without Unicode normalization. A missing
//! newline after the last line is accepted.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::note::{Note, NoteError, Verifier};

/// Most logs, witnesses and groups (each) a policy may define; the spec recommends
/// supporting at least 32.
pub const MAX_ENTRIES: usize = 256;

/// A log the policy accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// The log's key; its name is the log's origin.
    pub verifier: Verifier,
    /// Optional URL (meaning is application specific).
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The witness's name in this policy file (not its key name).
    pub name: String,
    /// The witness's cosignature key.
    pub verifier: CosignatureVerifier,
    /// Optional URL (the witness's submission prefix).
    pub url: Option<String>,
}

/// A witness or a group, by index into [`Policy::witnesses`] or [`Policy::groups`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// `Policy::witnesses()[i]`.
    Witness(usize),
    /// `Policy::groups()[i]`.
    Group(usize),
}

/// A group: satisfied when at least `threshold` of its members are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// `k`: how many members must be satisfied (`any` is 1, `all` is n).
    pub threshold: usize,
    /// The members, each defined before the group.
    pub members: Vec<Member>,
}

/// A parsed policy. Built only by [`Policy::parse`], so its references are always valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Option<Member>,
}

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A line is malformed.
    #[error("policy line {line}: {message}")]
    Line {
        /// 1-based line.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The file has no `quorum` line.
    #[error("policy has no quorum line")]
    NoQuorum,
}

/// The quorum is not satisfied by the witnesses that cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quorum not met: {have} of {need} required {what} cosigned (quorum {quorum:?})")]
pub struct QuorumNotMet {
    /// The quorum's name (a witness or a group).
    pub quorum: String,
    /// How many of its members are satisfied.
    pub have: usize,
    /// How many must be.
    pub need: usize,
    /// `"witnesses"`, `"groups"` or `"witnesses or groups"`: what the members are.
    pub what: &'static str,
}

/// A witness whose cosignature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The witness's name in the policy.
    pub name: String,
    /// The cosignature's timestamp (POSIX seconds).
    pub timestamp: u64,
}

/// The outcome of [`verify_checkpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The checkpoint, signed by one of the policy's logs.
    pub checkpoint: Checkpoint,
    /// The parsed note.
    pub note: Note,
    /// The witnesses whose cosignatures verified, in policy order.
    pub cosigned: Vec<Cosigned>,
    /// Whether those witnesses satisfy the quorum, and if not, why.
    pub quorum: Result<(), QuorumNotMet>,
}

/// Why [`verify_checkpoint`] refused a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The checkpoint is malformed or its log signature is bad.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The policy has no log whose key name is the checkpoint's origin.
    #[error("the policy has no log with origin {0:?}")]
    UnknownLog(String),
    /// A known witness's cosignature does not verify.
    #[error(transparent)]
    Cosignature(#[from] CosignatureError),
}

/// Splits a line into fields separated by runs of spaces and tabs.
fn fields(line: &str) -> Vec<&str> {
    line.split([' ', '\t']).filter(|f| !f.is_empty()).collect()
}

/// Checks one raw line's bytes and returns it as text: only tab may be a control character,
/// and the text must be UTF-8.
fn line_text(raw: &[u8]) -> Result<&str, String> {
    if let Some(b) = raw.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!(
            "control character {b:#04x} (only tab and newline are allowed)"
        ));
    }
    std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".into())
}

/// Reads a group's threshold: `all` (n), `any` (1) or a decimal `k` with `1 ≤ k ≤ n`.
fn group_threshold(name: &str, k: &str, n: usize) -> Result<usize, String> {
    match k {
        "all" => Ok(n),
        "any" => Ok(1),
        k => match checkpoint::parse_decimal(k.as_bytes()) {
            Ok(k) if (1..=n as u64).contains(&k) => Ok(k as usize),
            Ok(k) => Err(format!(
                "group {name:?}: threshold {k} is not between 1 and {n}"
            )),
            Err(why) => Err(format!("group {name:?}: threshold {why}")),
        },
    }
}

/// A policy being parsed, with what the rules across lines need remembered.
struct Parser {
    policy: Policy,
    /// Names already listed as a group member anywhere: each may be a member only once.
    used: Vec<Member>,
    /// Whether a `quorum` line was seen (`quorum none` leaves `policy.quorum` unset).
    has_quorum: bool,
}

impl Parser {
    /// Applies one line's fields (keyword first, not a comment) to the policy.
    fn line(&mut self, keyword: &str, args: &[&str]) -> Result<(), String> {
        match (keyword, args) {
            ("log", [vkey, rest @ ..]) if rest.len() <= 1 => self.log(vkey, rest.first().copied()),
            ("witness", [name, vkey, rest @ ..]) if rest.len() <= 1 => {
                self.witness(name, vkey, rest.first().copied())
            }
            ("group", [name, k, names @ ..]) if !names.is_empty() => self.group(name, k, names),
            ("quorum", [name]) => self.quorum(name),
            ("log", _) => Err("expected \"log <vkey> [<url>]\"".into()),
            ("witness", _) => Err("expected \"witness <name> <vkey> [<url>]\"".into()),
            ("group", _) => Err("expected \"group <name> all|any|<k> <member>...\"".into()),
            ("quorum", _) => Err("expected \"quorum <name>\"".into()),
            (other, _) => Err(format!("unknown keyword {other:?}")),
        }?;
        let p = &self.policy;
        if p.logs.len().max(p.witnesses.len()).max(p.groups.len()) > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} logs, witnesses or groups"));
        }
        Ok(())
    }

    /// `log <vkey> [<url>]`: a log key may appear once.
    fn log(&mut self, vkey: &str, url: Option<&str>) -> Result<(), String> {
        let verifier = Verifier::from_vkey(vkey).map_err(|e| format!("log key: {e}"))?;
        let logs = &mut self.policy.logs;
        if logs
            .iter()
            .any(|l| l.verifier.public_key() == verifier.public_key())
        {
            return Err("duplicate log key".into());
        }
        logs.push(PolicyLog {
            verifier,
            url: url.map(str::to_owned),
        });
        Ok(())
    }

    /// `witness <name> <vkey> [<url>]`: a new name, and a key no other witness has.
    fn witness(&mut self, name: &str, vkey: &str, url: Option<&str>) -> Result<(), String> {
        self.policy.check_new_name(name)?;
        let verifier = CosignatureVerifier::from_vkey(vkey)
            .map_err(|e| format!("witness {name:?} key: {e}"))?;
        let witnesses = &mut self.policy.witnesses;
        if witnesses
            .iter()
            .any(|w| w.verifier.public_key() == verifier.public_key())
        {
            return Err(format!(
                "witness {name:?} repeats the key of another witness"
            ));
        }
        witnesses.push(PolicyWitness {
            name: name.to_owned(),
            verifier,
            url: url.map(str::to_owned),
        });
        Ok(())
    }

    /// `group <name> all|any|<k> <member>...`: members must be defined on earlier lines and
    /// not yet be a member of any group.
    fn group(&mut self, name: &str, k: &str, names: &[&str]) -> Result<(), String> {
        self.policy.check_new_name(name)?;
        let threshold = group_threshold(name, k, names.len())?;
        let mut members = Vec::with_capacity(names.len());
        for m in names {
            let member = self.policy.lookup(m).ok_or_else(|| {
                format!("group {name:?}: member {m:?} is not defined on an earlier line")
            })?;
            if self.used.contains(&member) {
                return Err(format!(
                    "group {name:?}: {m:?} is already a member of a group"
                ));
            }
            self.used.push(member);
            members.push(member);
        }
        self.policy.groups.push(Group {
            name: name.to_owned(),
            threshold,
            members,
        });
        Ok(())
    }

    /// `quorum <name>`: exactly once, naming `none` or an earlier witness or group.
    fn quorum(&mut self, name: &str) -> Result<(), String> {
        if self.has_quorum {
            return Err("second quorum line".into());
        }
        self.has_quorum = true;
        if name != "none" {
            let q = self
                .policy
                .lookup(name)
                .ok_or_else(|| format!("quorum {name:?} is not defined on an earlier line"))?;
            self.policy.quorum = Some(q);
        }
        Ok(())
    }
}

impl Policy {
    /// Parses a policy file strictly; see the module documentation.
    pub fn parse(bytes: &[u8]) -> Result<Policy, PolicyError> {
        let mut parser = Parser {
            policy: Policy {
                logs: Vec::new(),
                witnesses: Vec::new(),
                groups: Vec::new(),
                quorum: None,
            },
            used: Vec::new(),
            has_quorum: false,
        };
        let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = i + 1;
            let err = |message: String| PolicyError::Line { line, message };
            let f = fields(line_text(raw).map_err(err)?);
            let Some((&keyword, args)) = f.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            parser.line(keyword, args).map_err(err)?;
        }
        if !parser.has_quorum {
            return Err(PolicyError::NoQuorum);
        }
        Ok(parser.policy)
    }

    /// Checks that a witness or group name is new and not reserved.
    fn check_new_name(&self, name: &str) -> Result<(), String> {
        if name == "none" {
            return Err("the name \"none\" is reserved".into());
        }
        if self.lookup(name).is_some() {
            return Err(format!("duplicate name {name:?}"));
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<Member> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Some(Member::Witness(i));
        }
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(Member::Group)
    }

    /// The logs the policy accepts.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The witnesses the policy knows.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The groups, in definition order (members always precede their group).
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The quorum, or `None` for `quorum none` (no cosignature required).
    pub fn quorum(&self) -> Option<Member> {
        self.quorum
    }

    /// The name of a witness or group.
    pub fn name_of(&self, m: Member) -> &str {
        match m {
            Member::Witness(i) => self.witnesses.get(i).map_or("", |w| &w.name),
            Member::Group(i) => self.groups.get(i).map_or("", |g| &g.name),
        }
    }

    /// Checks whether the witnesses named in `cosigned` (policy names, e.g. from
    /// [`Policy::verified_witnesses`]) satisfy the quorum.
    pub fn check_quorum<S: AsRef<str>>(&self, cosigned: &[S]) -> Result<(), QuorumNotMet> {
        let Some(quorum) = self.quorum else {
            return Ok(());
        };
        let witness_ok: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| cosigned.iter().any(|c| c.as_ref() == w.name))
            .collect();
        // have[i]: how many members of group i are satisfied. Groups only name earlier
        // groups, so one pass in definition order evaluates them all.
        let mut have: Vec<usize> = Vec::with_capacity(self.groups.len());
        let ok = |m: Member, have: &[usize]| match m {
            Member::Witness(i) => witness_ok.get(i) == Some(&true),
            Member::Group(i) => self
                .groups
                .get(i)
                .zip(have.get(i))
                .is_some_and(|(g, &h)| h >= g.threshold),
        };
        for g in &self.groups {
            have.push(g.members.iter().filter(|&&m| ok(m, &have)).count());
        }
        if ok(quorum, &have) {
            return Ok(());
        }
        let group = match quorum {
            Member::Group(i) => self.groups.get(i).zip(have.get(i)),
            Member::Witness(_) => None,
        };
        let (have, need, members) = match group {
            Some((g, &h)) => (h, g.threshold, g.members.as_slice()),
            None => (0, 1, std::slice::from_ref(&quorum)),
        };
        let witnesses = members
            .iter()
            .filter(|m| matches!(m, Member::Witness(_)))
            .count();
        let what = match witnesses {
            0 => "groups",
            w if w == members.len() => "witnesses",
            _ => "witnesses or groups",
        };
        Err(QuorumNotMet {
            quorum: self.name_of(quorum).to_owned(),
            have,
            need,
            what,
        })
    }

    /// Verifies the cosignature of every known witness present in `note` (the signed form of
    /// `cp`) and returns those that verified. A known witness's bad cosignature is an error.
    pub fn verified_witnesses(
        &self,
        note: &Note,
        cp: &Checkpoint,
    ) -> Result<Vec<Cosigned>, CosignatureError> {
        let mut out = Vec::new();
        for w in &self.witnesses {
            if let Some(timestamp) = w.verifier.verify_in(note, cp)? {
                out.push(Cosigned {
                    name: w.name.clone(),
                    timestamp,
                });
            }
        }
        Ok(out)
    }
}

/// Verifies a cosigned checkpoint note against a policy: it must be signed by a policy log
/// whose key name is its origin; every known witness's cosignature present must verify.
/// Returns the checkpoint, the witnesses that cosigned, and whether they meet the quorum.
pub fn verify_checkpoint(note: &[u8], policy: &Policy) -> Result<Witnessed, CheckError> {
    let parsed = Note::parse(note).map_err(CheckpointError::from)?;
    let origin = Checkpoint::parse_body(&parsed.text)?.origin;
    let mut opened = Err(CheckError::UnknownLog(origin.clone()));
    // Several keys may share the origin (key rotation): the first that signed wins.
    for log in policy.logs.iter().filter(|l| l.verifier.name() == origin) {
        opened = checkpoint::open(note, &log.verifier).map_err(CheckError::from);
        let unsigned = matches!(
            opened,
            Err(CheckError::Checkpoint(CheckpointError::Note(
                NoteError::NoSignatureFrom { .. }
            )))
        );
        if !unsigned {
            break;
        }
    }
    let (checkpoint, note) = opened?;
    let cosigned = policy.verified_witnesses(&note, &checkpoint)?;
    let quorum = policy.check_quorum(&cosigned.iter().map(|c| c.name.as_str()).collect::<Vec<_>>());
    Ok(Witnessed {
        checkpoint,
        note,
        cosigned,
        quorum,
    })
}
