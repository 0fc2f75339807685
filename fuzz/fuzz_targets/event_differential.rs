//! The one-pass event parser must agree with the two-pass pipeline it replaced on every
//! input: the same typed event and canonical bytes, or the same errors in the same order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_bench::reference;
use sealog_core::event::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    assert_eq!(event::parse(data, &limits), reference::parse(data, &limits));
});
