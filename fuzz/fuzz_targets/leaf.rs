//! Leaf parsing must never panic; a leaf built from a valid event parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::{event, leaf};

fuzz_target!(|data: &[u8]| {
    let _ = leaf::Leaf::parse(data);
    if let Ok(ok) = event::parse(data, &event::Limits::default()) {
        let bytes = leaf::build("fuzz.example/log", 1_700_000_000_000_000, &ok.canonical);
        let parsed = leaf::Leaf::parse(&bytes).expect("a built leaf parses");
        assert_eq!(jcs_bytes(&parsed.event), ok.canonical);
    }
});

fn jcs_bytes(v: &serde_json::Value) -> Vec<u8> {
    sealog_core::jcs::canonicalize(v)
}
