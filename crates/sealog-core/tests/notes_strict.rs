//! Strictness of the signed-note and key parsers: each malformed input, and the error it must
//! give. (Checkpoints, cosignatures and tlog-proofs are in `checkpoint_strict.rs`.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::cosignature::CosignatureVerifier;
use sealog_core::note::{self, ALG_COSIGNATURE_V1, ALG_ED25519, Note, NoteError, Signer, Verifier};

fn signer(name: &str) -> Signer {
    Signer::from_seed(name, [1; 32]).unwrap()
}

/// A valid signature line for `text` by `name`.
fn line(name: &str, text: &str) -> String {
    let signed = note::sign(text, &[&signer(name)]).unwrap();
    String::from_utf8(signed).unwrap()[text.len() + 1..].to_owned()
}

fn bad_line(line: usize, reason: &'static str) -> NoteError {
    NoteError::BadSignatureLine { line, reason }
}

#[test]
fn malformed_notes() {
    let sig = line("a.example/k", "hello\n");
    let sig2 = line("b.example/k", "hello\n");
    let many: String = (0..101)
        .map(|i| line(&format!("k{i}"), "hello\n"))
        .collect();
    let cases: Vec<(String, NoteError)> = vec![
        (
            format!("hello\n\n{}", sig.trim_end()),
            NoteError::MissingFinalNewline,
        ),
        ("hello\n".into(), NoteError::NoSeparator),
        (format!("hello\n{sig}"), NoteError::NoSeparator),
        ("hello\n\n".into(), NoteError::NoSignatures),
        (format!("hello\n\n{sig}\n"), NoteError::NoSignatures),
        (
            format!("hello\n\n\n{sig}"),
            NoteError::TextEndsWithBlankLine,
        ),
        (format!("\n\n{sig}"), NoteError::TextEndsWithBlankLine),
        (
            format!("hello\r\n\r\n{sig}"),
            NoteError::ControlCharacter {
                line: 1,
                byte: b'\r',
            },
        ),
        (
            format!("hel\0lo\n\n{sig}"),
            NoteError::ControlCharacter { line: 1, byte: 0 },
        ),
        (
            format!("hello\n\n{}", sig.replace(' ', "\t")),
            NoteError::ControlCharacter {
                line: 3,
                byte: b'\t',
            },
        ),
        (
            "hello\n\n- a.example/k AAAAAAAA\n".into(),
            bad_line(3, "it does not start with an em dash and a space"),
        ),
        (
            "hello\n\n—a.example/k AAAAAAAA\n".into(),
            bad_line(3, "it does not start with an em dash and a space"),
        ),
        (
            "hello\n\n— a.example/k\n".into(),
            bad_line(3, "no space between the key name and the signature"),
        ),
        (
            "hello\n\n— a.example/k AAAA!AAA\n".into(),
            bad_line(3, "signature is not valid base64"),
        ),
        (
            "hello\n\n— a.example/k AAAAAAA\n".into(),
            bad_line(3, "signature is not valid base64"),
        ),
        (
            "hello\n\n— a.example/k AAAAAAB=\n".into(),
            bad_line(3, "signature is not valid base64"),
        ),
        (
            "hello\n\n— a.example/k  AAAAAAAA\n".into(),
            bad_line(3, "signature is not valid base64"),
        ),
        (
            "hello\n\n— a.example/k AAAAAA==\n".into(),
            bad_line(3, "signature is too short"),
        ),
        (
            "hello\n\n— a.example/k \n".into(),
            bad_line(3, "signature is too short"),
        ),
        (
            "hello\n\n—  AAAAAAAA\n".into(),
            bad_line(3, "invalid key name"),
        ),
        (
            "hello\n\n— a+b AAAAAAAA\n".into(),
            bad_line(3, "invalid key name"),
        ),
        (
            "hello\n\n— a\u{a0}b AAAAAAAA\n".into(),
            bad_line(3, "invalid key name"),
        ),
        (
            format!("hello\n\n{sig}{sig2}x\n"),
            bad_line(5, "it does not start with an em dash and a space"),
        ),
        (
            format!("hello\nworld\n\n{sig}{sig2}{sig}"),
            NoteError::DuplicateSignature {
                line: 6,
                name: "a.example/k".into(),
                key_id: signer("a.example/k").key_id(),
            },
        ),
        (format!("hello\n\n{many}"), NoteError::TooManySignatures),
        (
            format!("{}\n\n{sig}", "x".repeat(note::MAX_NOTE_SIZE)),
            NoteError::TooLarge {
                size: note::MAX_NOTE_SIZE + 2 + sig.len(),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            Note::parse(input.as_bytes()),
            Err(want),
            "input {:?}",
            &input[..input.len().min(80)]
        );
    }
    let mut latin1 = b"hello\nw\xf6rld\n\n".to_vec();
    latin1.extend_from_slice(sig.as_bytes());
    assert_eq!(Note::parse(&latin1), Err(NoteError::NotUtf8 { line: 2 }));
}

#[test]
fn accepted_notes() {
    let sig = line("a.example/k", "a\n\nb\n");
    // The text may hold blank lines; the last blank line separates.
    let n = Note::parse(format!("a\n\nb\n\n{sig}").as_bytes()).unwrap();
    assert_eq!(n.text, "a\n\nb\n");
    n.verified_by(&signer("a.example/k").verifier()).unwrap();
    // Exactly 100 signatures, and DEL and non-ASCII text, are fine.
    let many: String = (0..100)
        .map(|i| line(&format!("k{i}"), "\u{7f}é\n"))
        .collect();
    assert_eq!(
        Note::parse(format!("\u{7f}é\n\n{many}").as_bytes())
            .unwrap()
            .signatures
            .len(),
        100
    );
    // An unknown signature alongside a known one is ignored.
    let text = "hello\n";
    let mixed = format!(
        "{text}\n— other.example/k AAAAAAAA\n{}",
        line("a.example/k", text)
    );
    let n = Note::parse(mixed.as_bytes()).unwrap();
    assert_eq!(
        n.verified_by(&signer("a.example/k").verifier())
            .unwrap()
            .name,
        "a.example/k"
    );
}

#[test]
fn sign_refuses_bad_text_and_signers() {
    let a = signer("a.example/k");
    let b = signer("b.example/k");
    assert_eq!(
        note::sign("hello", &[&a]),
        Err(NoteError::TextNotTerminated)
    );
    assert_eq!(note::sign("", &[&a]), Err(NoteError::TextNotTerminated));
    assert_eq!(
        note::sign("hello\n\n", &[&a]),
        Err(NoteError::TextEndsWithBlankLine)
    );
    assert_eq!(
        note::sign("he\rllo\n", &[&a]),
        Err(NoteError::ControlCharacter {
            line: 1,
            byte: b'\r'
        })
    );
    assert_eq!(note::sign("hello\n", &[]), Err(NoteError::NoSignatures));
    assert!(matches!(
        note::sign("hello\n", &[&a, &b, &a]),
        Err(NoteError::DuplicateSignature { line: 5, .. })
    ));
    let both = Note::parse(&note::sign("hello\n", &[&a, &b]).unwrap()).unwrap();
    both.verified_by(&a.verifier()).unwrap();
    both.verified_by(&b.verifier()).unwrap();
}

#[test]
fn unknown_key_and_bad_signature() {
    let a = signer("a.example/k");
    let signed = note::sign("hello\n", &[&a]).unwrap();
    let n = Note::parse(&signed).unwrap();
    let other = Signer::from_seed("z.example/k", [2; 32]).unwrap();
    let err = n.verified_by(&other.verifier()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "note is not signed by key z.example/k+{:08x} (it is signed by a.example/k+{:08x})",
            other.key_id(),
            a.key_id()
        )
    );
    // Same name and ID, wrong signature: an error, never a skip.
    let mut forged = n.clone();
    forged.signatures.push(forged.signatures[0].clone());
    forged.signatures[1].signature[0] ^= 1;
    assert!(matches!(
        forged.verified_by(&a.verifier()),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A signature of the wrong length from a known key is invalid too.
    forged.signatures[1].signature.truncate(10);
    assert!(matches!(
        forged.verified_by(&a.verifier()),
        Err(NoteError::InvalidSignature { .. })
    ));
}

/// A vkey from raw parts, with a correct key ID.
fn vkey(name: &str, alg: u8, key: &[u8]) -> String {
    let id = note::key_id(name, alg, key);
    format!(
        "{name}+{id:08x}+{}",
        STANDARD.encode([&[alg], key].concat())
    )
}

#[test]
fn malformed_keys() {
    let s = signer("a.example/k");
    let pk = s.public_key();
    let good = s.vkey();
    let (prefix, b64) = good.rsplit_once('+').unwrap();
    let malformed = |reason| NoteError::MalformedKey {
        kind: "verifier key",
        reason,
    };
    // Identity point: small order. Then the same point spelled with y = p + 1.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let cases: Vec<(String, NoteError)> = vec![
        (
            "a.example/k".into(),
            malformed("expected <name>+<key ID>+<key>"),
        ),
        (
            prefix.to_owned(),
            malformed("expected <name>+<key ID>+<key>"),
        ),
        (
            format!("a.example/k+ABCDEF12+{b64}"),
            malformed("key ID is not eight lowercase hex digits"),
        ),
        (
            good.replacen('+', "+0", 1),
            malformed("key ID is not eight lowercase hex digits"),
        ),
        (
            format!("{prefix}+{}", &b64[..b64.len() - 1]),
            malformed("key is not valid base64"),
        ),
        (format!("{prefix}+"), malformed("key is empty")),
        (
            vkey("a.example/k", ALG_ED25519, &pk[..31]),
            malformed("Ed25519 public key is not 32 bytes"),
        ),
        (
            vkey("a.example/k", ALG_ED25519, &identity),
            malformed("Ed25519 public key has small order"),
        ),
        (
            vkey("a.example/k", ALG_ED25519, &non_canonical),
            malformed("Ed25519 public key is not canonically encoded"),
        ),
        (
            vkey("a b", ALG_ED25519, &pk),
            NoteError::InvalidKeyName {
                name: "a b".into(),
                reason: "it contains a space",
            },
        ),
        (
            vkey("", ALG_ED25519, &pk),
            NoteError::InvalidKeyName {
                name: "".into(),
                reason: "it is empty",
            },
        ),
        (
            vkey("a.example/k", ALG_COSIGNATURE_V1, &pk),
            NoteError::WrongKeyType {
                kind: "verifier key",
                expected: 1,
                found: 4,
            },
        ),
        (
            vkey("a.example/k", 0x06, &pk),
            NoteError::WrongKeyType {
                kind: "verifier key",
                expected: 1,
                found: 6,
            },
        ),
        (
            good.replacen("a.example/k", "b.example/k", 1),
            NoteError::KeyIdMismatch {
                kind: "verifier key",
                name: "b.example/k".into(),
                claimed: s.key_id(),
                computed: note::key_id("b.example/k", ALG_ED25519, &pk),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Verifier::from_vkey(&input), Err(want), "vkey {input:?}");
    }
    // Some 32-byte strings are not curve points at all.
    let not_point = (2u8..=255).find_map(|b| {
        let mut k = [0u8; 32];
        k[0] = b;
        Verifier::from_vkey(&vkey("a.example/k", ALG_ED25519, &k)).err()
    });
    assert_eq!(
        not_point,
        Some(malformed("Ed25519 public key is not a curve point"))
    );
    // The error message names the types.
    assert_eq!(
        Verifier::from_vkey(&vkey("w", ALG_COSIGNATURE_V1, &pk))
            .unwrap_err()
            .to_string(),
        "verifier key has signature type 0x04 (Ed25519 cosignature/v1), expected 0x01 (Ed25519)"
    );
    // And the other way round.
    assert!(matches!(
        CosignatureVerifier::from_vkey(&good),
        Err(NoteError::WrongKeyType {
            expected: 4,
            found: 1,
            ..
        })
    ));
}

#[test]
fn malformed_skeys() {
    let s = signer("a.example/k");
    let skey = s.skey();
    let kind = "signer key";
    let malformed = |reason| NoteError::MalformedKey { kind, reason };
    let cases: Vec<(String, NoteError)> = vec![
        (
            skey.replacen("PRIVATE+KEY+", "", 1),
            malformed("does not start with PRIVATE+KEY+"),
        ),
        (
            skey.replacen("PRIVATE", "private", 1),
            malformed("does not start with PRIVATE+KEY+"),
        ),
        (
            skey[..skey.len() - 1].to_owned(),
            malformed("key is not valid base64"),
        ),
        (
            format!(
                "PRIVATE+KEY+a.example/k+{:08x}+{}",
                s.key_id(),
                STANDARD.encode([4; 33])
            ),
            NoteError::WrongKeyType {
                kind,
                expected: 1,
                found: 4,
            },
        ),
        (
            format!(
                "PRIVATE+KEY+a.example/k+{:08x}+{}",
                s.key_id(),
                STANDARD.encode([1; 32])
            ),
            malformed("Ed25519 seed is not 32 bytes"),
        ),
        (
            skey.replacen(&format!("{:08x}", s.key_id()), "00000000", 1),
            NoteError::KeyIdMismatch {
                kind,
                name: "a.example/k".into(),
                claimed: 0,
                computed: s.key_id(),
            },
        ),
    ];
    for (input, want) in cases {
        let err = Signer::from_skey(&input).unwrap_err();
        assert!(
            !err.to_string().contains(&skey[skey.len() - 20..]),
            "errors never echo the secret"
        );
        assert_eq!(err, want, "skey {input:?}");
    }
    for name in ["", "a b", "a+b", "a\tb", "a\nb", "a\u{2003}b", "a\u{1}b"] {
        assert!(
            matches!(
                Signer::from_seed(name, [0; 32]),
                Err(NoteError::InvalidKeyName { .. })
            ),
            "{name:?}"
        );
    }
    assert_eq!(
        format!("{s:?}"),
        format!("Signer(a.example/k+{:08x})", s.key_id())
    );
}
