//! `sealog verify`: what it reads, what it prints, and its exit codes. The CLI parses the
//! arguments into [`VerifyArgs`] and calls [`verify`].

use crate::archive::ReadLimits;
use crate::render::count;
use crate::verify::{VerifyError, verify_receipt, verify_zip};
use sealog_core::cosignature::CosignatureVerifier;
use sealog_core::evidence::Trust;
use sealog_core::note::Verifier;
use sealog_core::policy::Policy;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// Exit code: everything verified.
pub const EXIT_VALID: u8 = 0;
/// Exit code: the file was read and something failed verification.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: wrong usage or unreadable input; nothing was verified.
pub const EXIT_USAGE: u8 = 2;

/// The arguments of `sealog verify`.
#[derive(Clone, Debug, Default)]
pub struct VerifyArgs {
    /// An evidence pack (`.zip`) or a receipt (`.tlog-proof`).
    pub file: PathBuf,
    /// The log's vkey, obtained independently of the file.
    pub log_key: Option<String>,
    /// Witness vkeys that must each have cosigned.
    pub witnesses: Vec<String>,
    /// A tlog-policy file whose quorum must be met.
    pub policy: Option<PathBuf>,
    /// Print JSON instead of text.
    pub json: bool,
    /// Threads to verify a pack on (0: every core).
    pub threads: usize,
    /// A PEM file of the TSA roots that the pack's RFC 3161 time-stamps must chain to.
    pub tsa_roots: Option<PathBuf>,
}

/// Why nothing could be verified.
struct Usage(String);

const TOFU: &str = "refusing to verify without --log-key: a key taken from the file itself \
would let whoever forged the file also forge its key. Get the log's public key (vkey) from the \
log's operator through a channel you trust — `GET /v1/logs/<log>` on the server you record to, \
or your own records from when you set the log up — and pass it as \
--log-key '<origin>+<key id>+<key>'. Pin that key and reuse it for every later verification.";

/// Runs `sealog verify`, printing to `out` and problems to `err`; returns the exit code.
pub fn verify(args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run(args, out) {
        Ok(code) => code,
        Err(Usage(message)) => {
            if args.json {
                let _ = writeln!(out, "{}", json!({ "valid": false, "error": message }));
            }
            let _ = writeln!(err, "sealog verify: {message}");
            EXIT_USAGE
        }
    }
}

fn run(args: &VerifyArgs, out: &mut dyn Write) -> Result<u8, Usage> {
    let trust = trust(args)?;
    let roots = match &args.tsa_roots {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| Usage(format!("cannot read --tsa-roots {}: {e}", path.display())))?;
            Some(
                crate::tsp::Roots::from_pem(&pem)
                    .map_err(|e| Usage(format!("--tsa-roots {}: {e}", path.display())))?,
            )
        }
    };
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(
            match verify_zip(&bytes, ReadLimits::default(), &trust, threads) {
                Err(VerifyError::Archive(e)) => {
                    return Err(Usage(format!("{}: {e}", args.file.display())));
                }
                Ok(report) => {
                    let lifecycle = crate::erasures::notes(&bytes);
                    let mut value = serde_json::to_value(&report).unwrap_or_default();
                    value["erasures"] = json!(lifecycle.erasures);
                    value["retention"] = json!(lifecycle.retention);
                    let mut text = report.to_string();
                    let content = if report.valid {
                        match crate::content::notes(&bytes, ReadLimits::default().max_total_bytes) {
                            Ok(content) => content,
                            Err(e) => return Ok(invalid(out, args.json, &e)),
                        }
                    } else {
                        None
                    };
                    value["content"] = json!(content);
                    let content = content.map(|c| c.lines()).unwrap_or_default();
                    let lifecycle_lines = lifecycle.erasures.into_iter().chain(lifecycle.retention);
                    for line in content.into_iter().chain(lifecycle_lines) {
                        text.push_str(&line);
                        text.push('\n');
                    }
                    if report.valid {
                        match pack_findings(&bytes, &trust, roots.as_ref()) {
                            Ok(found) => {
                                text.push_str(&found.text());
                                value["timestamps"] = found.value["timestamps"].clone();
                                value["witnessing"] = found.value["witnesses"].clone();
                                value["not_proven"] = found.value["not_proven"].clone();
                            }
                            Err(e) => return Ok(invalid(out, args.json, &e)),
                        }
                    }
                    print(out, args.json, &value, &text);
                    if report.valid {
                        EXIT_VALID
                    } else {
                        EXIT_INVALID
                    }
                }
                Err(e) => invalid(out, args.json, &e),
            },
        );
    }
    if bytes.starts_with(b"c2sp.org/tlog-proof@v1\n") {
        return Ok(match verify_receipt(&bytes, &trust) {
            Ok(r) => {
                let index = r.index;
                let text = format!(
                    "VALID: the event at index {index} is in log {} as of its signed checkpoint of {}{}\n{}",
                    r.checkpoint.origin,
                    count(r.checkpoint.size, "entry", "entries"),
                    if r.witnesses.is_empty() {
                        String::new()
                    } else {
                        format!(", cosigned by {}", r.witnesses.join(", "))
                    },
                    String::from_utf8_lossy(&r.leaf),
                );
                let leaf: serde_json::Value =
                    serde_json::from_slice(&r.leaf).unwrap_or(serde_json::Value::Null);
                let found = receipt_findings(&bytes, &trust);
                let report = json!({
                    "valid": true, "index": index, "origin": r.checkpoint.origin,
                    "checkpoint_size": r.checkpoint.size, "witnesses": r.witnesses, "leaf": leaf,
                    "witnessing": found.value["witnesses"], "not_proven": found.value["not_proven"],
                });
                print(
                    out,
                    args.json,
                    &report,
                    &format!("{text}\n{}", found.text()),
                );
                EXIT_VALID
            }
            Err(e) => invalid(out, args.json, &e),
        });
    }
    Err(Usage(format!(
        "{} is neither an evidence pack (ZIP) nor a receipt (c2sp.org/tlog-proof@v1)",
        args.file.display()
    )))
}

/// What the cosignatures of a verified receipt's checkpoint add, and what is still not proven.
fn receipt_findings(receipt: &[u8], trust: &Trust) -> crate::assurance::Findings {
    let checkpoint = sealog_core::tlog_proof::TlogProof::parse(receipt)
        .map(|p| p.checkpoint)
        .unwrap_or_default();
    let stamps = crate::timestamps::Stamps::for_receipt();
    crate::assurance::findings(&checkpoint, b"", trust, stamps)
}

/// What the witnesses and time-stamps of a verified pack add, and what is still not proven;
/// an error when a time-stamp does not verify against the pinned roots.
fn pack_findings(
    zip: &[u8],
    trust: &Trust,
    roots: Option<&crate::tsp::Roots>,
) -> Result<crate::assurance::Findings, String> {
    let stamps = crate::timestamps::notes(zip, roots)?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| e.to_string())?;
    let checkpoint = crate::timestamps::read(&mut archive, sealog_core::evidence::CHECKPOINT)?;
    let consistency = crate::timestamps::read(&mut archive, sealog_core::evidence::CONSISTENCY)?;
    Ok(crate::assurance::findings(
        &checkpoint,
        &consistency,
        trust,
        stamps,
    ))
}

fn trust(args: &VerifyArgs) -> Result<Trust, Usage> {
    let vkey = args.log_key.as_deref().ok_or_else(|| Usage(TOFU.into()))?;
    let log = Verifier::from_vkey(vkey.trim())
        .map_err(|e| Usage(format!("--log-key is not a valid vkey: {e}")))?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            CosignatureVerifier::from_vkey(w.trim())
                .map_err(|e| Usage(format!("--witness {w:?} is not a valid witness vkey: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let policy = match &args.policy {
        None => None,
        Some(path) => {
            let text = std::fs::read(path)
                .map_err(|e| Usage(format!("cannot read --policy {}: {e}", path.display())))?;
            Some(
                Policy::parse(&text)
                    .map_err(|e| Usage(format!("--policy {}: {e}", path.display())))?,
            )
        }
    };
    Ok(Trust {
        log,
        witnesses,
        policy,
    })
}

/// Reports a pack or receipt that could not be verified at all; returns the exit code.
fn invalid(out: &mut dyn Write, json: bool, e: &dyn std::fmt::Display) -> u8 {
    let report = json!({"valid": false, "failures": [{"message": e.to_string()}]});
    print(out, json, &report, &format!("INVALID: {e}"));
    EXIT_INVALID
}

fn print(out: &mut dyn Write, json: bool, value: &impl serde::Serialize, text: &str) {
    let _ = if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    } else {
        write!(
            out,
            "{}{}",
            text,
            if text.ends_with('\n') { "" } else { "\n" }
        )
    };
}
