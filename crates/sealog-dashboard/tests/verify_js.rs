//! `assets/verify.js` in a real headless Chromium, against the shared receipt vectors and
//! against mutations of them; on every case its verdict must equal sealog-core's.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_js_agrees_with_the_core_in_chromium() {
    let cases = cases();
    let json_cases: Vec<Value> = cases
        .iter()
        .map(
            |c| json!({"name": c.name, "receipt_b64": STANDARD.encode(&c.receipt), "vkey": c.vkey}),
        )
        .collect();
    let body = serde_json::to_string(&json_cases).unwrap();
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
    let got = support::run_in_chromium(&format!("http://{addr}/test/verify.html"), &mut rx).await;
    let got: Value = serde_json::from_str(&got).unwrap();
    assert!(got.get("fatal").is_none(), "page failed: {}", got["fatal"]);
    let results = got["results"].as_array().unwrap();
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
            "{}: verify.js says {js} ({}), core says {rust}",
            c.name, r["error"]
        );
        if !js {
            assert_eq!(
                r["typed"], true,
                "{}: not a VerifyError: {}",
                c.name, r["error"]
            );
        }
        if let Some(why) = c.error_contains {
            let err = r["error"].as_str().unwrap_or_default();
            assert!(
                err.contains(why),
                "{}: refused for {err:?}, not {why:?}",
                c.name
            );
        }
        if let Some(h) = &c.leaf_hash {
            assert_eq!(
                r["leafHash"].as_str(),
                Some(h.as_str()),
                "{}: leaf hash",
                c.name
            );
        }
        valid += usize::from(js);
    }
    // The vectors' 8 valid receipts plus the re-signed ones.
    assert!(valid >= 9, "only {valid} cases verified");
    assert!(results.len() - valid >= 25, "too few refusals exercised");
}
