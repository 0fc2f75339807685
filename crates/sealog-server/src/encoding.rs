//! How hashes and proofs appear in JSON: standard base64, as in checkpoints and tlog-proofs.

use base64::Engine;
use sealog_core::merkle::Hash;

/// Standard base64 of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 of a hash.
pub fn hash_b64(hash: &Hash) -> String {
    b64(hash)
}

/// Each hash of a proof, in standard base64.
pub fn proof_b64(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(hash_b64).collect()
}
