//! tlog-proof files and receipts: parsing round-trips; receipt verification never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::note::Signer;
use sealog_core::{receipt, tlog_proof::TlogProof};

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        assert_eq!(proof.to_bytes(), data, "a parsed tlog-proof re-serializes byte for byte");
    }
    let signer = Signer::from_seed("fuzz.example/log", [7; 32]).unwrap();
    let _ = receipt::verify(data, &signer.verifier(), None);
});
