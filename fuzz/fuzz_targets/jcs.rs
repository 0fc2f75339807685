//! Canonicalization must be idempotent and its output must parse strictly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::jcs;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = jcs::parse_strict(data) {
        let canonical = jcs::canonicalize(&value);
        let reparsed = jcs::parse_strict(&canonical).expect("canonical JSON parses strictly");
        assert_eq!(jcs::canonicalize(&reparsed), canonical);
    }
});
