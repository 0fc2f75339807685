//! Lowercase hexadecimal, the one encoding of hashes, ids and secrets shown to people (key
//! hashes, session ids, root hashes in messages, manifest digests).

/// `bytes` as lowercase hex, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Exactly `N` bytes from `2 × N` hex digits (either case), or `None`.
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digits = s.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let value = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *o = (value(pair[0])? << 4) | value(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_hex_of_the_length() {
        let bytes = [0x00, 0x7f, 0x80, 0xff, 0x0a];
        assert_eq!(encode(&bytes), "007f80ff0a");
        assert_eq!(decode::<5>("007f80ff0a"), Some(bytes));
        assert_eq!(decode::<5>("007F80FF0A"), Some(bytes));
        for bad in [
            "007f80ff0",
            "007f80ff0a00",
            "007f80ff0g",
            "+07f80ff0a",
            "00 f80ff0a",
        ] {
            assert_eq!(decode::<5>(bad), None, "{bad}");
        }
        assert_eq!(encode(&[]), "");
        assert_eq!(decode::<0>(""), Some([]));
    }
}
