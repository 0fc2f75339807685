//! `assets/verify.js` in a real headless Chromium, against the shared receipt vectors and
//! against mutations of them, the RFC 9162 inclusion vectors, SHA-256 known answers and
//! Ed25519 signatures at the edges where implementations differ; on every case its verdict
//! must equal sealog-core's. Every case runs on both of verify.js's paths: WebCrypto, and the
//! vendored pure JavaScript it falls back to outside a secure context, forced on a secure page
//! and chosen by itself on a page served as `http://sealog.test:PORT/`.

mod support;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::note::{Note, Signer, Verifier};
use sealog_core::receipt;
use sealog_core::tlog_proof::TlogProof;
use serde_json::{Value, json};

struct Case {
    name: String,
    receipt: Vec<u8>,
    vkey: String,
    /// What the spec vectors say, when the case is one of them.
    expected: Option<bool>,
    leaf_hash: Option<String>,
    /// For refusals whose reason matters (the verdict alone would not show the check ran).
    error_contains: Option<&'static str>,
}

fn rust_accepts(receipt: &[u8], vkey: &str) -> bool {
    Verifier::from_vkey(vkey).is_ok_and(|v| receipt::verify(receipt, &v, None).is_ok())
}

/// Byte-level edits of a valid receipt.
fn replace(r: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(r).unwrap();
    assert!(s.contains(from), "mutation anchor {from:?} not found");
    s.replacen(from, to, 1).into_bytes()
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/vectors/receipts.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vkey = v["log_vkey"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for (list, ok) in [("valid", true), ("invalid", false)] {
        for c in v[list].as_array().unwrap() {
            out.push(Case {
                name: format!("{list}/{}", c["name"].as_str().unwrap()),
                receipt: c["receipt"].as_str().unwrap().as_bytes().to_vec(),
                vkey: c
                    .get("vkey")
                    .and_then(Value::as_str)
                    .unwrap_or(&vkey)
                    .to_owned(),
                expected: Some(ok),
                leaf_hash: c["leaf_hash"].as_str().map(str::to_owned),
                error_contains: None,
            });
        }
    }
    // Mutations of the first valid receipt, to exercise the parser's strictness.
    let base = out[0].receipt.clone();
    let proof = TlogProof::parse(&base).unwrap();
    let note = Note::parse(&proof.checkpoint).unwrap();
    let cp = Checkpoint::parse_body(&note.text).unwrap();
    let first_hash = STANDARD.encode(proof.inclusion[0]);
    let sig_line = note.signatures[0].to_line();
    let mut noncanonical_hash = first_hash.clone();
    // The last base64 digit before '=' carries 2 unused bits; setting one keeps the bytes.
    let last = noncanonical_hash.as_bytes()[42];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.iter().position(|&b| b == last).unwrap();
    noncanonical_hash.replace_range(42..43, &(alphabet[pos ^ 1] as char).to_string());
    let other = Signer::from_seed("sealog.example/other", [9; 32]).unwrap();
    let same_name = Signer::from_seed(&cp.origin, [11; 32]).unwrap();
    let resigned = |signer: &Signer| {
        receipt::make(
            proof.extra.as_deref().unwrap(),
            proof.index,
            proof.inclusion.clone(),
            checkpoint::sign(&cp, signer),
        )
        .to_bytes()
    };
    let mut mutants: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "leading-zero-index",
            replace(&base, "index 0\n", "index 00\n"),
            vkey.clone(),
        ),
        (
            "index-plus-sign",
            replace(&base, "index 0\n", "index +0\n"),
            vkey.clone(),
        ),
        (
            "noncanonical-hash",
            replace(&base, &first_hash, &noncanonical_hash),
            vkey.clone(),
        ),
        (
            "crlf-header",
            replace(&base, "tlog-proof@v1\n", "tlog-proof@v1\r\n"),
            vkey.clone(),
        ),
        (
            "bad-header",
            replace(&base, "tlog-proof@v1", "tlog-proof@v2"),
            vkey.clone(),
        ),
        (
            "no-extra",
            {
                let s = String::from_utf8(base.clone()).unwrap();
                let start = s.find("extra ").unwrap();
                let end = start + s[start..].find('\n').unwrap() + 1;
                format!("{}{}", &s[..start], &s[end..]).into_bytes()
            },
            vkey.clone(),
        ),
        (
            "dropped-hash",
            replace(&base, &format!("{first_hash}\n"), ""),
            vkey.clone(),
        ),
        (
            "duplicated-hash",
            replace(
                &base,
                &format!("{first_hash}\n"),
                &format!("{first_hash}\n{first_hash}\n"),
            ),
            vkey.clone(),
        ),
        (
            "two-blank-lines",
            replace(&base, "\n\n", "\n\n\n"),
            vkey.clone(),
        ),
        (
            "trailing-blank-line",
            [base.clone(), b"\n".to_vec()].concat(),
            vkey.clone(),
        ),
        (
            "no-final-newline",
            base[..base.len() - 1].to_vec(),
            vkey.clone(),
        ),
        (
            "size-leading-zero",
            replace(
                &base,
                &format!("\n{}\n", cp.size),
                &format!("\n0{}\n", cp.size),
            ),
            vkey.clone(),
        ),
        (
            "hyphen-not-em-dash",
            replace(&base, "\u{2014} ", "- "),
            vkey.clone(),
        ),
        (
            "duplicate-signature",
            replace(&base, &sig_line, &format!("{sig_line}{sig_line}")),
            vkey.clone(),
        ),
        ("wrong-pinned-key", base.clone(), other.vkey()),
        ("key-id-mismatch", base.clone(), {
            let mut k = vkey.clone();
            let id_at = k.find('+').unwrap() + 1;
            let flipped = if &k[id_at..id_at + 1] == "0" {
                "1"
            } else {
                "0"
            };
            k.replace_range(id_at..id_at + 1, flipped);
            k
        }),
        ("uppercase-key-id", base.clone(), {
            let (name, rest) = vkey.split_once('+').unwrap();
            let (id, key) = rest.split_once('+').unwrap();
            format!("{name}+{}+{key}", id.to_uppercase())
        }),
        ("origin-mismatch", resigned(&other), other.vkey()),
        ("resigned-same-name", resigned(&same_name), same_name.vkey()),
        (
            "resigned-but-old-key-pinned",
            resigned(&same_name),
            vkey.clone(),
        ),
        (
            "cosigned-by-other-too",
            {
                let mut both = resigned(&same_name);
                let extra = Note::parse(&checkpoint::sign(&cp, &other))
                    .unwrap()
                    .signatures[0]
                    .to_line();
                both.extend_from_slice(extra.as_bytes());
                both
            },
            same_name.vkey(),
        ),
    ];
    // The pinned key's name and id on a signature that does not verify.
    for (name, byte) in [("bad-signature-r", 0), ("bad-signature-s", 40)] {
        let mut forged = note.signatures[0].clone();
        forged.signature[byte] ^= 1;
        mutants.push((
            name,
            replace(&base, &sig_line, &forged.to_line()),
            vkey.clone(),
        ));
    }
    // A key ID that the signature line and the vkey agree on, but that the key does not derive.
    {
        let mut wrong_id = note.signatures[0].clone();
        wrong_id.key_id ^= 1;
        let (name, rest) = vkey.split_once('+').unwrap();
        let key = rest.split_once('+').unwrap().1;
        let claimed = format!("{name}+{:08x}+{key}", wrong_id.key_id);
        mutants.push((
            "underived-key-id",
            replace(&base, &sig_line, &wrong_id.to_line()),
            claimed,
        ));
    }
    // Checkpoints with extension lines, signed for real: a non-empty one is fine, an empty
    // one is not.
    for (name, ext) in [
        ("extension-line", "ext\n"),
        ("empty-extension-line", "\nx\n"),
    ] {
        let text = format!("{}{ext}", cp.to_body());
        let signed = sealog_core::note::sign(&text, &[&same_name]).unwrap();
        let r = receipt::make(
            proof.extra.as_deref().unwrap(),
            proof.index,
            proof.inclusion.clone(),
            signed,
        );
        mutants.push((name, r.to_bytes(), same_name.vkey()));
    }
    // Every valid vector with a bit flipped in its leaf must fail.
    let flipped = {
        let mut leaf = proof.extra.clone().unwrap();
        leaf[10] ^= 1;
        receipt::make(
            &leaf,
            proof.index,
            proof.inclusion.clone(),
            proof.checkpoint.clone(),
        )
        .to_bytes()
    };
    mutants.push(("flipped-leaf-bit", flipped, vkey.clone()));
    for (name, receipt, vkey) in mutants {
        out.push(Case {
            name: format!("mutant/{name}"),
            receipt,
            vkey,
            expected: None,
            leaf_hash: None,
            error_contains: None,
        });
    }
    // Weak or mis-encoded pinned keys, with correctly derived key IDs: the key itself is refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut above_p = [0xffu8; 32];
    above_p[31] = 0x7f;
    for (name, public, why) in [
        ("small-order-key", identity, "small order"),
        ("noncanonical-key", above_p, "not canonically encoded"),
    ] {
        let id = sealog_core::note::key_id(&cp.origin, 1, &public);
        let raw = [&[1u8][..], &public].concat();
        out.push(Case {
            name: format!("key/{name}"),
            receipt: base.clone(),
            vkey: format!("{}+{id:08x}+{}", cp.origin, STANDARD.encode(raw)),
            expected: Some(false),
            leaf_hash: None,
            error_contains: Some(why),
        });
    }
    out
}

/// An Ed25519 signature from `tests/data/ed25519-edge.json` (see `ed25519-edge.mjs`).
struct SigCase {
    name: String,
    vkey: String,
    message: Vec<u8>,
    signature: Vec<u8>,
    /// What the generator expects of the core, of noble's cofactored `verify()`, and of a bare
    /// cofactorless check (BoringSSL's, which WebCrypto runs).
    core: bool,
    cofactored: bool,
    boringssl: bool,
}

fn signature_cases() -> Vec<SigCase> {
    let v: Value = serde_json::from_str(include_str!("data/ed25519-edge.json")).unwrap();
    let b = |c: &Value, k: &str| STANDARD.decode(c[k].as_str().unwrap()).unwrap();
    let mut out: Vec<SigCase> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| SigCase {
            name: c["name"].as_str().unwrap().to_owned(),
            vkey: c["vkey"].as_str().unwrap().to_owned(),
            message: b(c, "message_b64"),
            signature: b(c, "signature_b64"),
            core: c["core"].as_bool().unwrap(),
            cofactored: c["cofactored"].as_bool().unwrap(),
            boringssl: c["boringssl"].as_bool().unwrap(),
        })
        .collect();
    // The signed-note vectors (Go's, the C2SP example, generated ones), and each with a bit of
    // its signature flipped.
    let notes: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sealog-core/tests/data/notes.json"
    )))
    .unwrap();
    let mut signed = Vec::new();
    for n in notes["signed_notes"].as_array().unwrap() {
        signed.push((
            n["vkey"].clone(),
            n["text"].clone(),
            n["signature_line"].clone(),
        ));
    }
    for n in notes["checkpoints"].as_array().unwrap() {
        signed.push((
            n["vkey"].clone(),
            n["body"].clone(),
            n["signature_line"].clone(),
        ));
    }
    for (i, (vkey, text, line)) in signed.into_iter().enumerate() {
        let raw = STANDARD
            .decode(line.as_str().unwrap().rsplit_once(' ').unwrap().1)
            .unwrap();
        let sig = raw[4..].to_vec();
        for (suffix, flip) in [
            ("", None),
            ("/flipped-r", Some(3)),
            ("/flipped-s", Some(50)),
        ] {
            let mut signature = sig.clone();
            if let Some(at) = flip {
                signature[at] ^= 0x10;
            }
            out.push(SigCase {
                name: format!("note-{i}{suffix}"),
                vkey: vkey.as_str().unwrap().to_owned(),
                message: text.as_str().unwrap().as_bytes().to_vec(),
                signature,
                core: flip.is_none(),
                cofactored: flip.is_none(),
                boringssl: flip.is_none(),
            });
        }
    }
    out
}

fn core_accepts_signature(c: &SigCase) -> bool {
    Verifier::from_vkey(&c.vkey).is_ok_and(|v| v.verify(&c.message, &c.signature))
}

/// An RFC 9162 inclusion vector (`sealog-core/tests/data/rfc9162-merkle/inclusion/`).
struct InclusionCase {
    name: String,
    vector: Value,
}

fn inclusion_cases() -> Vec<InclusionCase> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let root = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sealog-core/tests/data/rfc9162-merkle/inclusion"
    ));
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| InclusionCase {
            name: p.strip_prefix(&root).unwrap().display().to_string(),
            vector: serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
        })
        .collect()
}

/// Leaves for SHA-256 known answers, across the padding boundaries of its 64-byte blocks.
fn leaves() -> Vec<Vec<u8>> {
    [0usize, 1, 54, 55, 56, 63, 64, 65, 119, 120, 1000, 100_000]
        .iter()
        .map(|&n| (0..n).map(|i| (i * 31 + n) as u8).collect())
        .collect()
}

fn leaf_hash_hex(leaf: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update([0u8])
        .chain_update(leaf)
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves the test page with every case and opens `http://{host}:PORT/test/verify.html` with
/// `?modes=` in Chromium; returns what the page reported.
async fn run_page(host: &str, modes: &str, flags: &[&str]) -> Value {
    let receipts: Vec<Value> = cases()
        .iter()
        .map(
            |c| json!({"name": c.name, "receipt_b64": STANDARD.encode(&c.receipt), "vkey": c.vkey}),
        )
        .collect();
    let inclusion: Vec<Value> = inclusion_cases()
        .iter()
        .map(|c| {
            let v = &c.vector;
            json!({"name": c.name, "leafHash": v["leafHash"], "root": v["root"],
                "index": v["leafIdx"].to_string(), "size": v["treeSize"].to_string(),
                "proof": if v["proof"].is_null() { json!([]) } else { v["proof"].clone() }})
        })
        .collect();
    let signatures: Vec<Value> = signature_cases()
        .iter()
        .map(|c| {
            json!({"name": c.name, "vkey": c.vkey, "message_b64": STANDARD.encode(&c.message),
                "signature_b64": STANDARD.encode(&c.signature)})
        })
        .collect();
    let leaves: Vec<String> = leaves().iter().map(|l| STANDARD.encode(l)).collect();
    let body = serde_json::to_string(&json!({"receipts": receipts, "inclusion": inclusion,
        "signatures": signatures, "leaves": leaves}))
    .unwrap();
    let (dashboard, _) = sealog_dashboard::router(support::StubAuth, Default::default());
    let app =
        Router::new()
            .route(
                "/test/verify.html",
                get(|| async {
                    (
                        [("content-type", "text/html")],
                        include_str!("pages/verify.html"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/test/verify-test.js",
                get(|| async {
                    (
                        [("content-type", "text/javascript")],
                        include_str!("pages/verify-test.js"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/test/cases.json",
                get(move || async move {
                    ([("content-type", "application/json")], body).into_response()
                }),
            )
            .merge(dashboard);
    let (addr, mut rx) = support::serve(app).await;
    let url = format!(
        "http://{host}:{}/test/verify.html?modes={modes}",
        addr.port()
    );
    let got = support::run_in_chromium_with(&url, &mut rx, flags).await;
    let got: Value = serde_json::from_str(&got).unwrap();
    assert!(got.get("fatal").is_none(), "page failed: {}", got["fatal"]);
    got
}

/// The run of `mode` in a page's report.
fn run_of<'a>(got: &'a Value, mode: &str) -> &'a Value {
    got["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == mode)
        .unwrap_or_else(|| panic!("no run in mode {mode}"))
}

const JS: &str = "@noble/hashes 2.4.0";
const JS_ED: &str = "@noble/ed25519 3.2.0";

/// Every verdict of one run equals the core's (and the vectors'), and the successful receipt
/// checks say they ran on `engine`.
fn assert_agrees_with_the_core(run: &Value, engine: &Value) {
    let mode = run["mode"].as_str().unwrap();
    assert_eq!(&run["info"], engine, "{mode}: the implementation used");
    let cases = cases();
    let results = run["receipts"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    let mut valid = 0;
    for (c, r) in cases.iter().zip(results) {
        assert_eq!(r["name"], c.name.as_str());
        let js = r["ok"].as_bool().unwrap();
        let rust = rust_accepts(&c.receipt, &c.vkey);
        if let Some(expected) = c.expected {
            assert_eq!(rust, expected, "{}: core disagrees with the vector", c.name);
        }
        assert_eq!(
            js, rust,
            "{mode} {}: verify.js says {js} ({}), core says {rust}",
            c.name, r["error"]
        );
        if js {
            assert_eq!(&r["crypto"], engine, "{mode} {}", c.name);
        } else {
            assert_eq!(
                r["typed"], true,
                "{mode} {}: not a VerifyError: {}",
                c.name, r["error"]
            );
        }
        if let Some(why) = c.error_contains {
            let err = r["error"].as_str().unwrap_or_default();
            assert!(
                err.contains(why),
                "{mode} {}: refused for {err:?}, not {why:?}",
                c.name
            );
        }
        if let Some(h) = &c.leaf_hash {
            assert_eq!(
                r["leafHash"].as_str(),
                Some(h.as_str()),
                "{mode} {}: leaf hash",
                c.name
            );
        }
        valid += usize::from(js);
    }
    // The vectors' 8 valid receipts plus the re-signed ones.
    assert!(valid >= 9, "{mode}: only {valid} cases verified");
    assert!(
        results.len() - valid >= 25,
        "{mode}: too few refusals exercised"
    );

    let inclusion = inclusion_cases();
    let results = run["inclusion"].as_array().unwrap();
    assert_eq!(results.len(), inclusion.len());
    assert!(
        inclusion.len() >= 90,
        "{} inclusion vectors",
        inclusion.len()
    );
    for (c, r) in inclusion.iter().zip(results) {
        assert_eq!(r["name"], c.name.as_str());
        let want = !c.vector["wantErr"].as_bool().unwrap();
        assert_eq!(
            r["ok"], want,
            "{mode} inclusion {} ({}): {}",
            c.name, c.vector["desc"], r["error"]
        );
    }

    let sigs = signature_cases();
    let results = run["signatures"].as_array().unwrap();
    assert_eq!(results.len(), sigs.len());
    for (c, r) in sigs.iter().zip(results) {
        assert_eq!(r["name"], c.name.as_str());
        let rust = core_accepts_signature(c);
        assert_eq!(
            rust, c.core,
            "{}: the core's verdict is not the expected one",
            c.name
        );
        assert_eq!(
            r["ok"], rust,
            "{mode} signature {}: verify.js disagrees with the core ({})",
            c.name, r["error"]
        );
    }

    let want: Vec<String> = leaves().iter().map(|l| leaf_hash_hex(l)).collect();
    assert_eq!(
        run["leafHashes"],
        json!(want),
        "{mode}: SHA-256 leaf hashes"
    );
}

/// What noble's own `verify()` and a bare WebCrypto call say: where they differ from the core,
/// only verify.js's own rules keep it in line (so these cases would catch their loss).
fn assert_raw_verdicts(got: &Value, webcrypto: bool) {
    let sigs = signature_cases();
    let raw = got["raw"].as_array().unwrap();
    assert_eq!(raw.len(), sigs.len());
    for (c, r) in sigs.iter().zip(raw) {
        assert_eq!(
            r["cofactored"], c.cofactored,
            "{}: noble's verify()",
            c.name
        );
        if webcrypto {
            assert_eq!(r["webcrypto"], c.boringssl, "{}: bare WebCrypto", c.name);
        } else {
            assert_eq!(r["webcrypto"], Value::Null);
        }
    }
    assert!(
        sigs.iter().any(|c| c.cofactored && !c.core),
        "a case where noble's verify() alone would be wrong"
    );
    assert!(
        sigs.iter().any(|c| c.boringssl && !c.core),
        "a case where WebCrypto alone would be wrong"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_agrees_with_the_core_on_both_paths_in_chromium() {
    let got = run_page("127.0.0.1", "webcrypto,js,auto,auto-without-ed25519", &[]).await;
    assert_eq!(got["secure"], true, "http://127.0.0.1 is a secure context");
    let web = json!({"sha256": "WebCrypto", "ed25519": "WebCrypto"});
    let js = json!({"sha256": JS, "ed25519": JS_ED});
    assert_agrees_with_the_core(run_of(&got, "webcrypto"), &web);
    assert_agrees_with_the_core(run_of(&got, "js"), &js);
    // Left to choose, it takes WebCrypto where there is one.
    assert_agrees_with_the_core(run_of(&got, "auto"), &web);
    // A WebCrypto without Ed25519: its SHA-256, and the fallback's Ed25519.
    assert_agrees_with_the_core(
        run_of(&got, "auto-without-ed25519"),
        &json!({"sha256": "WebCrypto", "ed25519": JS_ED}),
    );
    assert_raw_verdicts(&got, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_falls_back_to_javascript_outside_a_secure_context() {
    let got = run_page(
        "sealog.test",
        "auto,webcrypto",
        &[support::INSECURE_HOST_RULES],
    )
    .await;
    assert_eq!(got["secure"], false, "plain HTTP on a host name");
    assert_eq!(got["subtle"], "undefined", "no WebCrypto here");
    assert_agrees_with_the_core(
        run_of(&got, "auto"),
        &json!({"sha256": JS, "ed25519": JS_ED}),
    );
    // Insisting on WebCrypto here refuses every receipt, and says why.
    let web = run_of(&got, "webcrypto");
    let why = "WebCrypto is not available here (this page is not a secure context)";
    assert_eq!(web["infoError"], why);
    for r in web["receipts"].as_array().unwrap() {
        assert_eq!(r["ok"], false, "{}", r["name"]);
        assert_eq!(r["error"], why, "{}", r["name"]);
        assert_eq!(r["typed"], true, "{}", r["name"]);
    }
    assert_raw_verdicts(&got, false);
}
