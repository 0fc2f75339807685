//! Receipts: make → verify round trips over a small hand-built tree, and each tampering
//! fails with the error that names it.

use sealog_core::checkpoint::{self, Checkpoint, CheckpointError};
use sealog_core::cosignature::{self, CosignatureError, CosignatureVerifier};
use sealog_core::merkle::{Hash, leaf_hash, node_hash};
use sealog_core::note::{Note, NoteError, Signer, Verifier};
use sealog_core::policy::{Policy, QuorumNotMet};
use sealog_core::receipt::{self, ReceiptError, VerifiedReceipt};
use sealog_core::tlog_proof::TlogProof;

const ORIGIN: &str = "sealog.example/agents";

fn leaves() -> Vec<Vec<u8>> {
    (0..5)
        .map(|i| format!(r#"{{"event":{{"n":{i}}},"v":1}}"#).into_bytes())
        .collect()
}

/// The tree of 5 leaves, by hand (RFC 6962: split at the largest power of two below n):
///
/// ```text
///            root
///          /      \
///        k          h4
///      /   \
///    i       j
///   / \     / \
///  h0  h1  h2  h3
/// ```
struct Tree {
    h: Vec<Hash>,
    i: Hash,
    j: Hash,
    k: Hash,
    root: Hash,
}

fn tree() -> Tree {
    let h: Vec<Hash> = leaves().iter().map(|l| leaf_hash(l)).collect();
    let i = node_hash(&h[0], &h[1]);
    let j = node_hash(&h[2], &h[3]);
    let k = node_hash(&i, &j);
    let root = node_hash(&k, &h[4]);
    Tree { h, i, j, k, root }
}

/// Inclusion proofs in the 5-leaf tree, leaf's sibling first.
fn proof(t: &Tree, index: usize) -> Vec<Hash> {
    match index {
        0 => vec![t.h[1], t.j, t.h[4]],
        1 => vec![t.h[0], t.j, t.h[4]],
        2 => vec![t.h[3], t.i, t.h[4]],
        3 => vec![t.h[2], t.i, t.h[4]],
        _ => vec![t.k],
    }
}

fn log() -> Signer {
    Signer::from_seed(ORIGIN, [1; 32]).unwrap()
}

fn witness(i: u8) -> Signer {
    Signer::from_seed(&format!("w{i}.example/witness"), [20 + i; 32]).unwrap()
}

fn checkpoint_of(t: &Tree) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size: 5,
        root: t.root,
        extensions: vec![],
    }
}

/// The checkpoint signed by `signer` and cosigned by `witnesses`.
fn signed(cp: &Checkpoint, signer: &Signer, witnesses: &[u8]) -> Vec<u8> {
    let sigs: Vec<_> = witnesses
        .iter()
        .map(|&i| cosignature::cosign(cp, &witness(i), 1_700_000_000))
        .collect();
    cosignature::add_cosignatures(&checkpoint::sign(cp, signer), &sigs).unwrap()
}

/// A 2-of-2 policy over witnesses 1 and 2, listing the log.
fn policy_2_of_2() -> Policy {
    let text = format!(
        "log {}\nwitness A {}\nwitness B {}\ngroup both all A B\nquorum both\n",
        log().vkey(),
        CosignatureVerifier::from_signer(&witness(1)).vkey(),
        CosignatureVerifier::from_signer(&witness(2)).vkey(),
    );
    Policy::parse(text.as_bytes()).unwrap()
}

fn receipt(index: usize, cp_note: Vec<u8>) -> Vec<u8> {
    let t = tree();
    receipt::make(&leaves()[index], index as u64, proof(&t, index), cp_note).to_bytes()
}

fn verify(r: &[u8], policy: Option<&Policy>) -> Result<VerifiedReceipt, ReceiptError> {
    receipt::verify(r, &Verifier::from_vkey(&log().vkey()).unwrap(), policy)
}

#[test]
fn hand_built_tree_matches_the_spec_shape() {
    // The proofs above are consistent with the root for every index.
    let t = tree();
    for (index, leaf) in leaves().iter().enumerate() {
        sealog_core::merkle::verify_inclusion(
            &leaf_hash(leaf),
            index as u64,
            5,
            &proof(&t, index),
            &t.root,
        )
        .unwrap();
    }
}

#[test]
fn round_trip_every_leaf() {
    let t = tree();
    let cp = checkpoint_of(&t);
    let note = signed(&cp, &log(), &[1, 2]);
    let policy = policy_2_of_2();
    for (index, leaf) in leaves().iter().enumerate() {
        let r = receipt(index, note.clone());
        let parsed = TlogProof::parse(&r).unwrap();
        assert_eq!(parsed.extra.as_deref(), Some(leaf.as_slice()));
        assert_eq!(parsed.to_bytes(), r);

        let v = verify(&r, None).unwrap();
        assert_eq!(
            v,
            VerifiedReceipt {
                leaf: leaf.clone(),
                index: index as u64,
                checkpoint: cp.clone(),
                witnesses: vec![]
            }
        );
        let v = verify(&r, Some(&policy)).unwrap();
        assert_eq!(v.witnesses, ["A", "B"]);
    }
}

#[test]
fn edited_leaf_byte() {
    let r = receipt(2, signed(&checkpoint_of(&tree()), &log(), &[]));
    let mut p = TlogProof::parse(&r).unwrap();
    if let Some(leaf) = p.extra.as_mut() {
        leaf[3] ^= 1;
    }
    let err = verify(&p.to_bytes(), None).unwrap_err();
    assert!(
        matches!(err, ReceiptError::NotInTree { index: 2, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("the leaf is not in the tree at index 2: "),
        "{err}"
    );
}

#[test]
fn wrong_index() {
    let r = receipt(2, signed(&checkpoint_of(&tree()), &log(), &[]));
    let mut p = TlogProof::parse(&r).unwrap();
    p.index = 3;
    assert!(matches!(
        verify(&p.to_bytes(), None),
        Err(ReceiptError::NotInTree { index: 3, .. })
    ));
    p.index = 5;
    let err = verify(&p.to_bytes(), None).unwrap_err();
    assert!(matches!(
        err,
        ReceiptError::IndexOutOfRange { index: 5, size: 5 }
    ));
    assert_eq!(
        err.to_string(),
        "leaf index 5 is outside the checkpoint's tree of size 5"
    );
}

#[test]
fn flipped_proof_bit() {
    let r = receipt(1, signed(&checkpoint_of(&tree()), &log(), &[]));
    for (hash, bit) in [(0, 0), (1, 77), (2, 255)] {
        let mut p = TlogProof::parse(&r).unwrap();
        p.inclusion[hash][bit / 8] ^= 1 << (bit % 8);
        assert!(matches!(
            verify(&p.to_bytes(), None),
            Err(ReceiptError::NotInTree { index: 1, .. })
        ));
    }
    // A truncated proof, too.
    let mut p = TlogProof::parse(&r).unwrap();
    p.inclusion.pop();
    assert!(matches!(
        verify(&p.to_bytes(), None),
        Err(ReceiptError::NotInTree { .. })
    ));
}

#[test]
fn bad_log_signature() {
    let note = signed(&checkpoint_of(&tree()), &log(), &[]);
    let mut n = Note::parse(&note).unwrap();
    n.signatures[0].signature[10] ^= 1;
    let err = verify(&receipt(0, n.to_bytes()), None).unwrap_err();
    assert!(matches!(
        err,
        ReceiptError::Checkpoint(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint note: invalid signature from key {ORIGIN}+{:08x}",
            log().key_id()
        )
    );
}

#[test]
fn resigned_with_another_key() {
    let impostor = Signer::from_seed(ORIGIN, [2; 32]).unwrap();
    let err = verify(
        &receipt(0, signed(&checkpoint_of(&tree()), &impostor, &[])),
        None,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ReceiptError::Checkpoint(CheckpointError::Note(NoteError::NoSignatureFrom { .. }))
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint note: note is not signed by key {ORIGIN}+{:08x} (it is signed by {ORIGIN}+{:08x})",
            log().key_id(),
            impostor.key_id()
        )
    );
}

#[test]
fn checkpoint_of_another_origin() {
    let cp = Checkpoint {
        origin: "sealog.example/other".into(),
        ..checkpoint_of(&tree())
    };
    let err = verify(&receipt(0, signed(&cp, &log(), &[])), None).unwrap_err();
    assert!(matches!(
        err,
        ReceiptError::Checkpoint(CheckpointError::OriginMismatch { .. })
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint origin \"sealog.example/other\" does not match the log key name \"{ORIGIN}\""
        )
    );
}

#[test]
fn missing_witness_under_2_of_2() {
    let r = receipt(4, signed(&checkpoint_of(&tree()), &log(), &[2]));
    let err = verify(&r, Some(&policy_2_of_2())).unwrap_err();
    assert!(matches!(
        &err,
        ReceiptError::QuorumNotMet(QuorumNotMet {
            have: 1,
            need: 2,
            what: "witnesses",
            ..
        })
    ));
    assert_eq!(
        err.to_string(),
        "quorum not met: 1 of 2 required witnesses cosigned (quorum \"both\")"
    );
    // Without a policy the same receipt verifies, vouched for by the log alone.
    assert!(verify(&r, None).is_ok());
}

#[test]
fn bad_witness_cosignature() {
    let cp = checkpoint_of(&tree());
    let mut bad = cosignature::cosign(&cp, &witness(1), 1_700_000_000);
    bad.signature[30] ^= 1;
    let note = cosignature::add_cosignatures(&signed(&cp, &log(), &[2]), &[bad]).unwrap();
    let err = verify(&receipt(0, note), Some(&policy_2_of_2())).unwrap_err();
    assert!(
        matches!(
            err,
            ReceiptError::Cosignature(CosignatureError::Invalid { .. })
        ),
        "{err}"
    );
}

#[test]
fn log_not_in_policy() {
    let other_log = Signer::from_seed("sealog.example/other", [3; 32]).unwrap();
    let text = format!("log {}\nquorum none\n", other_log.vkey());
    let policy = Policy::parse(text.as_bytes()).unwrap();
    let r = receipt(0, signed(&checkpoint_of(&tree()), &log(), &[]));
    assert!(matches!(
        verify(&r, Some(&policy)),
        Err(ReceiptError::LogNotInPolicy(_))
    ));
    // A policy without logs defers to the pinned key.
    let policy = Policy::parse(b"quorum none\n").unwrap();
    assert!(verify(&r, Some(&policy)).unwrap().witnesses.is_empty());
}

#[test]
fn malformed_receipts() {
    let note = signed(&checkpoint_of(&tree()), &log(), &[]);
    let mut p = TlogProof::parse(&receipt(0, note)).unwrap();
    p.extra = None;
    assert!(matches!(
        verify(&p.to_bytes(), None),
        Err(ReceiptError::MissingLeaf)
    ));
    assert!(matches!(
        verify(b"c2sp.org/tlog-proof@v2\n", None),
        Err(ReceiptError::Malformed(_))
    ));
}
