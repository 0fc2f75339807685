//! Known-answer tests from `tests/data/notes.json` (see `tests/data/notes.README.md`): every
//! signature line, vkey, checkpoint and cosignature must reproduce exactly.

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::cosignature::{self, CosignatureError, CosignatureVerifier};
use sealog_core::merkle::EMPTY_ROOT;
use sealog_core::note::{self, Note, NoteError, Signer, Verifier};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/notes.json")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))
}

fn seed(v: &Value) -> [u8; 32] {
    let hex = s(v, "seed_hex");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

/// The note made of `text` and one signature line.
fn note_bytes(text: &str, line: &str) -> Vec<u8> {
    format!("{text}\n{line}\n").into_bytes()
}

#[test]
fn signed_notes_verify() {
    let v = vectors();
    let notes = v["signed_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 3);
    for n in notes {
        let verifier = Verifier::from_vkey(s(n, "vkey")).unwrap();
        assert_eq!(verifier.vkey(), s(n, "vkey"));
        let bytes = note_bytes(s(n, "text"), s(n, "signature_line"));
        let parsed = Note::parse(&bytes).unwrap();
        assert_eq!(parsed.text, s(n, "text"));
        assert_eq!(parsed.to_bytes(), bytes, "round trip");
        let sig = parsed.verified_by(&verifier).unwrap();
        assert_eq!(sig.name, verifier.name());
        assert_eq!(sig.key_id, verifier.key_id());
    }
}

#[test]
fn skey_signs_exact_line() {
    let v = vectors();
    let n = &v["signed_notes"][0];
    let signer = Signer::from_skey(s(n, "skey")).unwrap();
    assert_eq!(signer.skey(), s(n, "skey"));
    assert_eq!(signer.vkey(), s(n, "vkey"));
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    let signed = note::sign(s(n, "text"), &[&signer]).unwrap();
    assert_eq!(signed, note_bytes(s(n, "text"), s(n, "signature_line")));
    // The seed inside the skey gives the same signer.
    let seed = signer.skey().splitn(5, '+').nth(4).map(|b64| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    });
    let seed: [u8; 32] = seed.unwrap()[1..].try_into().unwrap();
    assert_eq!(
        Signer::from_seed("PeterNeumann", seed).unwrap().skey(),
        s(n, "skey")
    );
}

#[test]
fn go_doubly_signed_note() {
    // The example of Go's sumdb/note package documentation: both signatures on one text.
    let v = vectors();
    let (a, b) = (&v["signed_notes"][0], &v["signed_notes"][1]);
    let bytes = format!(
        "{}\n{}\n{}\n",
        s(a, "text"),
        s(a, "signature_line"),
        s(b, "signature_line")
    );
    let parsed = Note::parse(bytes.as_bytes()).unwrap();
    assert_eq!(parsed.signatures.len(), 2);
    for n in [a, b] {
        parsed
            .verified_by(&Verifier::from_vkey(s(n, "vkey")).unwrap())
            .unwrap();
    }
}

#[test]
fn altered_notes_fail() {
    let v = vectors();
    for n in v["signed_notes"].as_array().unwrap() {
        let verifier = Verifier::from_vkey(s(n, "vkey")).unwrap();
        let good = Note::parse(&note_bytes(s(n, "text"), s(n, "signature_line"))).unwrap();
        let invalid = NoteError::InvalidSignature {
            name: verifier.name().to_owned(),
            key_id: verifier.key_id(),
        };

        let mut text = good.clone();
        text.text = text.text.replacen('e', "E", 1);
        assert_eq!(
            text.verified_by(&verifier),
            Err(invalid.clone()),
            "altered text"
        );

        for bit in [0, 7, 200, 511] {
            let mut sig = good.clone();
            sig.signatures[0].signature[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                sig.verified_by(&verifier),
                Err(invalid.clone()),
                "flipped bit {bit}"
            );
        }

        let mut id = good.clone();
        id.signatures[0].key_id ^= 1;
        assert!(
            matches!(
                id.verified_by(&verifier),
                Err(NoteError::NoSignatureFrom { .. })
            ),
            "altered key id: a signature from an unknown key is ignored"
        );

        let mut name = good.clone();
        name.signatures[0].name.push('x');
        assert!(matches!(
            name.verified_by(&verifier),
            Err(NoteError::NoSignatureFrom { .. })
        ));
    }
}

#[test]
fn checkpoint_vector() {
    let v = vectors();
    let c = &v["checkpoints"][0];
    let body = s(c, "body");
    let cp = Checkpoint::parse_body(body).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_body(), body);

    let log = Signer::from_seed(&cp.origin, seed(c)).unwrap();
    assert_eq!(log.vkey(), s(c, "vkey"));
    let signed = checkpoint::sign(&cp, &log);
    assert_eq!(signed, note_bytes(body, s(c, "signature_line")));

    let verifier = Verifier::from_vkey(s(c, "vkey")).unwrap();
    let (opened, note) = checkpoint::open(&signed, &verifier).unwrap();
    assert_eq!(opened, cp);
    assert_eq!(note.signatures.len(), 1);
}

#[test]
fn empty_tree_checkpoint() {
    let v = vectors();
    let body = format!("example.com/empty\n0\n{}\n", s(&v, "empty_tree_root_b64"));
    let cp = Checkpoint::parse_body(&body).unwrap();
    assert_eq!((cp.size, cp.root), (0, EMPTY_ROOT));
    assert_eq!(cp.to_body(), body);
}

#[test]
fn cosignature_vector() {
    let v = vectors();
    let c = &v["cosignatures"][0];
    let witness = Signer::from_seed(s(c, "name"), seed(c)).unwrap();
    let verifier = CosignatureVerifier::from_signer(&witness);
    assert_eq!(verifier.vkey(), s(c, "vkey"));
    assert_eq!(
        CosignatureVerifier::from_vkey(s(c, "vkey")).unwrap(),
        verifier
    );

    let cp = Checkpoint::parse_body(s(c, "checkpoint_body")).unwrap();
    let timestamp = c["timestamp"].as_u64().unwrap();
    assert_eq!(
        cosignature::signed_message(&cp, timestamp),
        s(c, "signed_message").as_bytes()
    );

    let sig = cosignature::cosign(&cp, &witness, timestamp);
    assert_eq!(sig.to_line(), format!("{}\n", s(c, "signature_line")));
    assert_eq!(verifier.verify(&cp, &sig), Ok(timestamp));

    // Another timestamp is another message.
    let mut moved = sig.clone();
    moved.signature[7] ^= 1;
    assert!(matches!(
        verifier.verify(&cp, &moved),
        Err(CosignatureError::Invalid { .. })
    ));
}

#[test]
fn cosigned_checkpoint_note() {
    let v = vectors();
    let (c, w) = (&v["checkpoints"][0], &v["cosignatures"][0]);
    let log = Signer::from_seed("example.com/behind-the-sofa", seed(c)).unwrap();
    let witness = Signer::from_seed(s(w, "name"), seed(w)).unwrap();
    let cp = Checkpoint::parse_body(s(c, "body")).unwrap();
    let signed = checkpoint::sign(&cp, &log);
    let ts = w["timestamp"].as_u64().unwrap();
    let cosigned =
        cosignature::add_cosignatures(&signed, &[cosignature::cosign(&cp, &witness, ts)]).unwrap();
    let expected = format!(
        "{}\n{}\n{}\n",
        s(c, "body"),
        s(c, "signature_line"),
        s(w, "signature_line")
    );
    assert_eq!(String::from_utf8(cosigned.clone()).unwrap(), expected);

    let (opened, note) = checkpoint::open(&cosigned, &log.verifier()).unwrap();
    let verifier = CosignatureVerifier::from_vkey(s(w, "vkey")).unwrap();
    assert_eq!(verifier.verify_in(&note, &opened), Ok(Some(ts)));
    // The log's own signature is not a cosignature by the witness.
    let other = Signer::from_seed("witness.example/w2", [9; 32]).unwrap();
    assert_eq!(
        CosignatureVerifier::from_signer(&other).verify_in(&note, &opened),
        Ok(None)
    );

    // A newer cosignature by the same witness replaces the older line.
    let again =
        cosignature::add_cosignatures(&cosigned, &[cosignature::cosign(&cp, &witness, ts + 60)])
            .unwrap();
    let note = Note::parse(&again).unwrap();
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(verifier.verify_in(&note, &opened), Ok(Some(ts + 60)));
}

#[test]
fn key_ids() {
    let v = vectors();
    let c = &v["cosignatures"][0];
    let witness = Signer::from_seed(s(c, "name"), seed(c)).unwrap();
    let public = witness.public_key();
    assert_eq!(
        note::key_id(s(c, "name"), note::ALG_COSIGNATURE_V1, &public),
        0xe75f6532
    );
    assert_eq!(
        note::key_id(s(c, "name"), note::ALG_ED25519, &public),
        witness.key_id()
    );
    assert_ne!(witness.key_id(), 0xe75f6532);
}
