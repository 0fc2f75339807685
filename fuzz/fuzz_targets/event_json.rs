//! Event validation must never panic, and what it accepts must be canonical, within limits,
//! and validate again from its own canonical bytes to the same event. "The same" is compared
//! in canonical form: free-form fields keep JSON numbers, and `100.0` and `100` (or `-0` and
//! `0`) are the same number, written one way in canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::event::{Limits, parse};
use sealog_core::jcs;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(ok) = parse(data, &limits) {
        assert!(ok.canonical.len() <= limits.max_event_bytes);
        let again = parse(&ok.canonical, &limits).expect("canonical bytes of a valid event validate");
        assert_eq!(again.canonical, ok.canonical);
        let typed = |e: &sealog_core::event::Event| {
            jcs::canonicalize(&serde_json::to_value(e).expect("an event serializes"))
        };
        assert_eq!(typed(&again.event), typed(&ok.event));
    }
});
