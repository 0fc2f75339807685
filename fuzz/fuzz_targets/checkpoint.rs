//! Checkpoint bodies: a parsed body re-emits to the same text; opening a signed note with a
//! fixed key never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::note::Signer;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_body(text) {
            assert_eq!(cp.to_body(), text, "a parsed checkpoint re-emits byte for byte");
        }
    }
    let signer = Signer::from_seed("fuzz.example/log", [7; 32]).unwrap();
    let _ = checkpoint::open(data, &signer.verifier());
});
