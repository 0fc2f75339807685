//! Signed notes: parsing never panics, and a parsed note serializes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::note::Note;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data, "a parsed note re-serializes byte for byte");
    }
});
