//! Strictness of the checkpoint, cosignature and tlog-proof parsers: each malformed input, and
//! the error it must give. (Notes and keys are in `notes_strict.rs`.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::checkpoint::{self, Checkpoint, CheckpointError};
use sealog_core::cosignature::{self, CosignatureError, CosignatureVerifier};
use sealog_core::note::{self, Note, NoteError, Signer};
use sealog_core::tlog_proof::{TlogProof, TlogProofError};

const ROOT_B64: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

fn signer(name: &str) -> Signer {
    Signer::from_seed(name, [1; 32]).unwrap()
}
#[test]
fn malformed_checkpoints() {
    let body = |size: &str, root: &str| format!("example.com/log\n{size}\n{root}\n");
    let short_root = STANDARD.encode([0u8; 31]);
    let long_root = STANDARD.encode([0u8; 33]);
    let cases: Vec<(String, CheckpointError)> = vec![
        (
            body("5", ROOT_B64).trim_end().into(),
            CheckpointError::MissingFinalNewline,
        ),
        ("".into(), CheckpointError::MissingFinalNewline),
        (
            "example.com/log\n5\n".into(),
            CheckpointError::TooFewLines(2),
        ),
        ("\n".into(), CheckpointError::TooFewLines(1)),
        (
            format!("\n5\n{ROOT_B64}\n"),
            CheckpointError::BadOrigin("is empty"),
        ),
        (
            format!("example.com/ log\n5\n{ROOT_B64}\n"),
            CheckpointError::BadOrigin("contains a space or a control character"),
        ),
        (
            format!("example.com/\u{3000}log\n5\n{ROOT_B64}\n"),
            CheckpointError::BadOrigin("contains a space or a control character"),
        ),
        (
            format!("example.com/log\r\n5\n{ROOT_B64}\n"),
            CheckpointError::ControlCharacter { line: 1 },
        ),
        (
            format!("example.com/log\n5\n{ROOT_B64}\next\u{7f}\n"),
            CheckpointError::ControlCharacter { line: 4 },
        ),
        (
            body("05", ROOT_B64),
            CheckpointError::BadSize("has a leading zero"),
        ),
        (
            body("00", ROOT_B64),
            CheckpointError::BadSize("has a leading zero"),
        ),
        (
            body("+5", ROOT_B64),
            CheckpointError::BadSize("is not a decimal number"),
        ),
        (
            body("-5", ROOT_B64),
            CheckpointError::BadSize("is not a decimal number"),
        ),
        (
            body(" 5", ROOT_B64),
            CheckpointError::BadSize("is not a decimal number"),
        ),
        (
            body("5.0", ROOT_B64),
            CheckpointError::BadSize("is not a decimal number"),
        ),
        (
            body("0x5", ROOT_B64),
            CheckpointError::BadSize("is not a decimal number"),
        ),
        (body("", ROOT_B64), CheckpointError::BadSize("is empty")),
        (
            body("18446744073709551616", ROOT_B64),
            CheckpointError::BadSize("exceeds 2^64-1"),
        ),
        (
            body("99999999999999999999999", ROOT_B64),
            CheckpointError::BadSize("exceeds 2^64-1"),
        ),
        (
            body("5", &short_root),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            body("5", &long_root),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            body("5", ROOT_B64.trim_end_matches('=')),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            body("5", &ROOT_B64.replace('I', "J")),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            body("5", &ROOT_B64.replace('/', "_")),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            body("5", ""),
            CheckpointError::BadRoot("is not a 32-byte hash in padded base64"),
        ),
        (
            format!("{}\n", body("5", ROOT_B64)),
            CheckpointError::EmptyExtension { line: 4 },
        ),
        (
            format!("{}a\n\nb\n", body("5", ROOT_B64)),
            CheckpointError::EmptyExtension { line: 5 },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Checkpoint::parse_body(&input), Err(want), "body {input:?}");
    }
    // The largest size, and extension lines, round-trip.
    let max = format!("{}x y\n+\n", body("18446744073709551615", ROOT_B64));
    let cp = Checkpoint::parse_body(&max).unwrap();
    assert_eq!((cp.size, cp.extensions.len()), (u64::MAX, 2));
    assert_eq!(cp.to_body(), max);
}

#[test]
fn checkpoint_open() {
    let log = signer("example.com/log");
    let cp = Checkpoint::parse_body(&format!("example.com/log\n5\n{ROOT_B64}\n")).unwrap();
    let signed = checkpoint::sign(&cp, &log);
    assert_eq!(checkpoint::open(&signed, &log.verifier()).unwrap().0, cp);
    let other_origin = Checkpoint {
        origin: "example.com/other".into(),
        ..cp.clone()
    };
    assert_eq!(
        checkpoint::open(&checkpoint::sign(&other_origin, &log), &log.verifier()),
        Err(CheckpointError::OriginMismatch {
            origin: "example.com/other".into(),
            key_name: "example.com/log".into()
        })
    );
    let impostor = Signer::from_seed("example.com/log", [3; 32]).unwrap();
    let err = checkpoint::open(&checkpoint::sign(&cp, &impostor), &log.verifier()).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::Note(NoteError::NoSignatureFrom { .. })
        ),
        "{err}"
    );
    // A malformed body under a valid signature is still refused.
    let bad = note::sign("example.com/log\n05\nroot\n", &[&log]).unwrap();
    assert_eq!(
        checkpoint::open(&bad, &log.verifier()),
        Err(CheckpointError::BadSize("has a leading zero"))
    );
    assert_eq!(
        Checkpoint {
            origin: "a b".into(),
            ..cp.clone()
        }
        .check(),
        Err(CheckpointError::BadOrigin(
            "contains a space or a control character"
        ))
    );
    assert_eq!(
        Checkpoint {
            extensions: vec!["x\ny".into()],
            ..cp
        }
        .check(),
        Err(CheckpointError::ControlCharacter { line: 4 })
    );
}

#[test]
fn cosignature_failures() {
    let witness = signer("w.example/w");
    let v = CosignatureVerifier::from_signer(&witness);
    let cp = Checkpoint::parse_body(&format!("example.com/log\n5\n{ROOT_B64}\n")).unwrap();
    let good = cosignature::cosign(&cp, &witness, 1_700_000_000);
    let (name, key_id) = (v.name().to_owned(), v.key_id());
    assert_eq!(v.verify(&cp, &good), Ok(1_700_000_000));

    let mut short = good.clone();
    short.signature.pop();
    assert_eq!(
        v.verify(&cp, &short),
        Err(CosignatureError::BadLength {
            name: name.clone(),
            key_id,
            len: 71
        })
    );

    let mut late = good.clone();
    late.signature[0] = 0x80;
    let timestamp = u64::from_be_bytes(late.signature[..8].try_into().unwrap());
    assert_eq!(
        v.verify(&cp, &late),
        Err(CosignatureError::TimestampTooLarge {
            name: name.clone(),
            key_id,
            timestamp
        })
    );

    let other_cp = Checkpoint {
        size: 6,
        ..cp.clone()
    };
    assert_eq!(
        v.verify(&other_cp, &good),
        Err(CosignatureError::Invalid {
            name: name.clone(),
            key_id
        })
    );

    // A plain note signature (type 0x01) by the same key is not a cosignature.
    let plain = Note::parse(&checkpoint::sign(&cp, &witness))
        .unwrap()
        .signatures[0]
        .clone();
    assert!(matches!(
        v.verify(&cp, &plain),
        Err(CosignatureError::WrongKey { .. })
    ));

    // In a note: a bad line from a known witness is an error.
    let signed = checkpoint::sign(&cp, &signer("example.com/log"));
    let mut bad = good.clone();
    bad.signature[20] ^= 1;
    let note = Note::parse(&cosignature::add_cosignatures(&signed, &[bad]).unwrap()).unwrap();
    assert_eq!(
        v.verify_in(&note, &cp),
        Err(CosignatureError::Invalid { name, key_id })
    );

    // add_cosignatures keeps the note valid.
    let dup = cosignature::add_cosignatures(&signed, &[good.clone(), good.clone()]);
    assert!(matches!(dup, Err(NoteError::DuplicateSignature { .. })));
    let mut nameless = good;
    nameless.name = "a b".into();
    assert!(matches!(
        cosignature::add_cosignatures(&signed, &[nameless]),
        Err(NoteError::BadSignatureLine { .. })
    ));
}

fn sample_proof(extra: Option<&[u8]>, hashes: usize) -> TlogProof {
    let log = signer("example.com/log");
    let cp = Checkpoint::parse_body(&format!("example.com/log\n5\n{ROOT_B64}\n")).unwrap();
    TlogProof {
        extra: extra.map(<[u8]>::to_vec),
        index: 3,
        inclusion: (0..hashes).map(|i| [i as u8; 32]).collect(),
        checkpoint: checkpoint::sign(&cp, &log),
    }
}

#[test]
fn tlog_proof_round_trip() {
    for proof in [
        sample_proof(Some(b"leaf"), 3),
        sample_proof(None, 0),
        sample_proof(Some(b""), 64),
    ] {
        let bytes = proof.to_bytes();
        assert_eq!(TlogProof::parse(&bytes), Ok(proof.clone()));
        assert_eq!(TlogProof::parse(&bytes).unwrap().to_bytes(), bytes);
    }
    let text = String::from_utf8(sample_proof(Some(b"leaf"), 1).to_bytes()).unwrap();
    assert!(text.starts_with(&format!(
        "c2sp.org/tlog-proof@v1\nextra bGVhZg==\nindex 3\n{}\n\nexample.com/log\n5\n",
        STANDARD.encode([0u8; 32])
    )));
}

#[test]
fn malformed_tlog_proofs() {
    let good = String::from_utf8(sample_proof(Some(b"leaf"), 2).to_bytes()).unwrap();
    let (head, checkpoint) = good.split_once("\n\n").unwrap();
    let with_head = |h: &str| format!("{h}\n\n{checkpoint}");
    let bad = |line, reason| TlogProofError::BadLine { line, reason };
    let h0 = STANDARD.encode([0u8; 32]);
    let too_many: String = (0..65).map(|_| format!("{h0}\n")).collect();
    let cases: Vec<(String, TlogProofError)> = vec![
        (good.replacen("@v1", "@v2", 1), TlogProofError::BadHeader),
        (
            good.replacen("tlog-proof@v1\n", "tlog-proof@v1\r\n", 1),
            TlogProofError::BadHeader,
        ),
        (
            "".into(),
            bad(1, "unexpected end of proof (missing line or newline)"),
        ),
        (
            "c2sp.org/tlog-proof@v1\nindex 3".into(),
            bad(2, "unexpected end of proof (missing line or newline)"),
        ),
        (
            "c2sp.org/tlog-proof@v1\nindex 3\n".into(),
            bad(3, "unexpected end of proof (missing line or newline)"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nextra bGVhZg\nindex 3"),
            bad(2, "extra data is not valid base64"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nextra  bGVhZg==\nindex 3"),
            bad(2, "extra data is not valid base64"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex 3\nextra bGVhZg=="),
            bad(3, "is not a 32-byte hash in padded base64"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nIndex 3"),
            bad(2, "expected \"index <n>\""),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex  3"),
            bad(2, "is not a decimal number"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex 03"),
            bad(2, "has a leading zero"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex +3"),
            bad(2, "is not a decimal number"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex 18446744073709551616"),
            bad(2, "exceeds 2^64-1"),
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex"),
            bad(2, "expected \"index <n>\""),
        ),
        (
            with_head(&format!("c2sp.org/tlog-proof@v1\nindex 3\n{}", &h0[..43])),
            bad(3, "is not a 32-byte hash in padded base64"),
        ),
        (
            with_head(&format!("c2sp.org/tlog-proof@v1\nindex 3\n{h0} ")),
            bad(3, "is not a 32-byte hash in padded base64"),
        ),
        (
            with_head(&format!(
                "c2sp.org/tlog-proof@v1\nindex 3\n{}",
                too_many.trim_end()
            )),
            TlogProofError::TooManyHashes { line: 67 },
        ),
        (
            format!("{head}\n{checkpoint}"),
            bad(6, "is not a 32-byte hash in padded base64"),
        ),
        (
            format!("{head}\n\n"),
            TlogProofError::Checkpoint {
                line: 7,
                source: CheckpointError::Note(NoteError::MissingFinalNewline),
            },
        ),
        (
            format!("{head}\n\n\n{checkpoint}"),
            TlogProofError::Checkpoint {
                line: 7,
                source: CheckpointError::BadOrigin("is empty"),
            },
        ),
        (
            with_head("c2sp.org/tlog-proof@v1\nindex 3").replacen("\n5\n", "\n05\n", 1),
            TlogProofError::Checkpoint {
                line: 4,
                source: CheckpointError::BadSize("has a leading zero"),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            TlogProof::parse(input.as_bytes()),
            Err(want),
            "proof {input:?}"
        );
    }
}
