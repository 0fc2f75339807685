//! The two uses of XChaCha20-Poly1305: a data key sealing one blob (the event id as associated
//! data) and a key-encryption key wrapping a data key (the log, subject and key id as
//! associated data). A sealed message is its fresh random 24-byte nonce followed by the
//! ciphertext and tag.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::io;
use zeroize::Zeroizing;

/// Length of a key: 256 bits.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// A secret key, wiped from memory when dropped.
pub type SecretKey = Zeroizing<[u8; KEY_LEN]>;

/// A fresh random key.
pub fn random_key() -> io::Result<SecretKey> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut()).map_err(io::Error::other)?;
    Ok(key)
}

/// `n` random bytes as lowercase hex, for ids.
pub fn random_id(n: usize) -> io::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    Ok(sealog_core::hex::encode(&bytes))
}

/// Encrypts `msg` under `key` with a fresh nonce, binding `aad`.
pub fn seal(key: &SecretKey, msg: &[u8], aad: &[u8]) -> io::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(io::Error::other)?;
    let cipher = XChaCha20Poly1305::new(&(**key).into());
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg, aad })
        .map_err(|_| io::Error::other("encryption failed"))?;
    Ok([&nonce[..], &sealed].concat())
}

/// Decrypts what [`seal`] made, or `None` if it was made with another key or `aad`, or altered.
pub fn open(key: &SecretKey, sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, msg) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(&(**key).into());
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg, aad })
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_its_key_and_associated_data_and_nonces_are_fresh() {
        let key = random_key().unwrap();
        let a = seal(&key, b"hello", b"event-1").unwrap();
        let b = seal(&key, b"hello", b"event-1").unwrap();
        assert_ne!(a, b, "a fresh nonce per message");
        assert_eq!(open(&key, &a, b"event-1").unwrap().as_slice(), b"hello");
        assert!(open(&key, &a, b"event-2").is_none());
        assert!(open(&random_key().unwrap(), &a, b"event-1").is_none());
        let mut altered = a.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open(&key, &altered, b"event-1").is_none());
        assert!(open(&key, &a[..10], b"event-1").is_none());
    }
}
