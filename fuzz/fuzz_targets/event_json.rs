//! Event validation must never panic, and what it accepts must be canonical, within limits,
//! and validate again from its own canonical bytes to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::event::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(ok) = parse(data, &limits) {
        assert!(ok.canonical.len() <= limits.max_event_bytes);
        let again = parse(&ok.canonical, &limits).expect("canonical bytes of a valid event validate");
        assert_eq!(again.canonical, ok.canonical);
        assert_eq!(again.event, ok.event);
    }
});
