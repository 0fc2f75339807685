//! Human approval of a held call (EU AI Act Art. 14): a call held for review is a `pending`
//! event; the reviewer's decision is a `human_oversight` event whose id is derived from the
//! held event's, so that a call has at most one decision in a log (a second one is a
//! duplicate id) and its decision is found by id, at any age.

use sha2::{Digest, Sha256};

/// The reviewer named on a decision the proxy or an SDK records when nobody decided in time.
pub const TIMEOUT_REVIEWER: &str = "sealog-timeout";

/// The id of the decision on the held event `target` (a UUIDv7): the held event's time with
/// random bits from SHA-256 of the target id. `None` if `target` is not a UUID.
pub fn decision_id(target: &str) -> Option<String> {
    let held = uuid::Uuid::try_parse(target).ok()?;
    let millis = u64::from_be_bytes(held.as_bytes()[..8].try_into().ok()?) >> 16;
    let digest = Sha256::digest(format!("sealog approval decision\n{}", held.hyphenated()));
    let random: [u8; 10] = digest[..10].try_into().ok()?;
    Some(
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .hyphenated()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_id_is_a_uuid_v7_of_the_held_time_and_fixed_per_target() {
        let target = "0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20";
        let id = decision_id(target).unwrap();
        assert_eq!(Some(id.clone()), decision_id(target));
        assert!(id.starts_with("0190b3a4-8d0e-7"), "{id}");
        let u = uuid::Uuid::try_parse(&id).unwrap();
        assert_eq!(
            (u.get_version_num(), u.get_variant()),
            (7, uuid::Variant::RFC4122)
        );
        assert_ne!(
            decision_id("0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d21"),
            Some(id)
        );
        assert_eq!(decision_id("not a uuid"), None);
    }
}
