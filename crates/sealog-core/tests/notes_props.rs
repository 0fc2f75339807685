//! Properties of the signed-note family's parsers on mutated inputs: they never panic, and
//! whatever they accept has exactly one spelling (re-encoding gives back the input bytes).

use proptest::prelude::*;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::cosignature;
use sealog_core::note::{Note, Signer};
use sealog_core::policy::Policy;
use sealog_core::tlog_proof::TlogProof;

/// A valid receipt-shaped tlog-proof: extra, index, two hashes, a cosigned checkpoint.
fn sample() -> Vec<u8> {
    let log = Signer::from_seed("example.com/log", [1; 32]).unwrap();
    let w = Signer::from_seed("w.example/w", [2; 32]).unwrap();
    let cp = Checkpoint {
        origin: "example.com/log".into(),
        size: 10,
        root: [7; 32],
        extensions: vec!["ext".into()],
    };
    let note = cosignature::add_cosignatures(
        &checkpoint::sign(&cp, &log),
        &[cosignature::cosign(&cp, &w, 1_700_000_000)],
    )
    .unwrap();
    TlogProof {
        extra: Some(b"leaf".to_vec()),
        index: 3,
        inclusion: vec![[1; 32], [2; 32]],
        checkpoint: note,
    }
    .to_bytes()
}

/// Edits: (position, byte, kind) with kind 0 = replace, 1 = insert, 2 = delete.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(pos, byte, kind) in edits {
        let pos = pos % (bytes.len() + 1);
        match kind % 3 {
            0 if pos < bytes.len() => bytes[pos] = byte,
            1 => bytes.insert(pos, byte),
            _ if pos < bytes.len() => {
                bytes.remove(pos);
            }
            _ => {}
        }
    }
    bytes
}

/// Bytes biased towards the characters that matter to these formats.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'\n'),
        Just(b' '),
        Just(b'+'),
        Just(b'='),
        Just(b'0'),
        Just(b'\r'),
        Just(0xe2),
        any::<u8>()
    ]
}

proptest! {
    #[test]
    fn parsers_accept_only_one_spelling(edits in prop::collection::vec((any::<usize>(), interesting_byte(), any::<u8>()), 0..4)) {
        let proof = mutate(sample(), &edits);
        if let Ok(p) = TlogProof::parse(&proof) {
            prop_assert_eq!(p.to_bytes(), proof.clone());
        }
        // The same edits, applied to the checkpoint note and to its body alone.
        let note = TlogProof::parse(&sample()).unwrap().checkpoint;
        let note = mutate(note, &edits);
        if let Ok(n) = Note::parse(&note) {
            prop_assert_eq!(n.to_bytes(), note.clone());
            if let Ok(cp) = Checkpoint::parse_body(&n.text) {
                prop_assert_eq!(cp.to_body(), n.text);
            }
        }
        let _ = Policy::parse(&proof);
    }
}
