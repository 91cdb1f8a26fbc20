//! Signed unsubscribe tokens: who, from which newsletter, and an HMAC that
//! proves bulletin wrote it. No database lookup is needed to check one, and
//! changing any byte makes it fail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signing key, read from the environment variable the config names.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn from_env(variable: &str) -> Result<Key, String> {
        let value = std::env::var(variable).map_err(|_| {
            format!("the unsubscribe signing key is missing: set the environment variable {variable}")
        })?;
        Key::new(value.into_bytes()).map_err(|e| format!("{variable}: {e}"))
    }

    pub fn new(bytes: Vec<u8>) -> Result<Key, String> {
        if bytes.len() < 16 {
            return Err("the signing key needs at least 16 bytes".into());
        }
        Ok(Key(bytes))
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(payload);
        mac
    }
}

/// What a token says: this address leaves this newsletter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub email: String,
    pub newsletter: String,
}

/// `payload.signature`, both base64url: safe in a URL and a mailto subject.
pub fn sign(key: &Key, email: &str, newsletter: &str) -> String {
    let payload = format!("{email}\n{newsletter}");
    let signature = key.mac(payload.as_bytes()).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The request a token carries, if bulletin signed it with `key`.
pub fn verify(key: &Key, token: &str) -> Option<Unsubscribe> {
    let (payload, signature) = token.trim().split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    key.mac(&payload).verify_slice(&signature).ok()?;
    let (email, newsletter) = std::str::from_utf8(&payload).ok()?.split_once('\n')?;
    Some(Unsubscribe {
        email: email.to_string(),
        newsletter: newsletter.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new(b"0123456789abcdef-test-key".to_vec()).unwrap()
    }

    #[test]
    fn a_signed_token_verifies() {
        let token = sign(&key(), "jane@example.eu", "about-japan");
        let request = verify(&key(), &token).unwrap();
        assert_eq!(request.email, "jane@example.eu");
        assert_eq!(request.newsletter, "about-japan");
    }

    #[test]
    fn any_changed_byte_fails() {
        let token = sign(&key(), "jane@example.eu", "about-japan");
        for index in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            if forged != token {
                assert_eq!(verify(&key(), &forged), None, "byte {index} changed");
            }
        }
    }

    #[test]
    fn another_key_fails() {
        let token = sign(&key(), "jane@example.eu", "about-japan");
        let other = Key::new(b"another-key-of-16-bytes".to_vec()).unwrap();
        assert_eq!(verify(&other, &token), None);
    }

    proptest::proptest! {
        /// Every token verifies to what was signed; any changed byte fails.
        #[test]
        fn tokens_verify_and_resist_tampering(
            local in "[a-zA-Z0-9._+-]{1,20}",
            domain in "[a-z0-9-]{1,12}\\.[a-z]{2,4}",
            newsletter in "[a-z-]{1,20}",
            index in 0usize..200,
            byte in 0u8..128,
        ) {
            let email = format!("{local}@{domain}");
            let token = sign(&key(), &email, &newsletter);
            let request = verify(&key(), &token).unwrap();
            proptest::prop_assert_eq!(&request.email, &email);
            proptest::prop_assert_eq!(&request.newsletter, &newsletter);
            let mut bytes = token.clone().into_bytes();
            let index = index % bytes.len();
            bytes[index] = byte;
            if let Ok(changed) = String::from_utf8(bytes)
                && changed != token
            {
                proptest::prop_assert_eq!(verify(&key(), &changed), None);
            }
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Key::new(b"short".to_vec()).is_err());
    }
}
