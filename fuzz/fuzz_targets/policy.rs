//! tlog-policy files: parsing never panics, and evaluating any quorum never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::policy::Policy;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(data) {
        let names: Vec<String> = policy.witnesses().iter().map(|w| w.name.clone()).collect();
        let _ = policy.check_quorum(&names);
        let _ = policy.check_quorum::<&str>(&[]);
    }
});
