//! Unsubscribe tokens: who leaves which newsletter, sealed so that only
//! bulletin can read or make one. A token is AES-SIV (RFC 5297) of
//! `email\nnewsletter` under a key derived from the signing key: opaque
//! (the address appears in no URL and no server log), authenticated (any
//! changed byte fails), and deterministic (the same subscriber and
//! newsletter always get the same token, so messages stay byte-stable and
//! `serve` needs no lookup to read one).
//!
//! Tokens of the first format, `base64(email\nnewsletter).base64(hmac)`,
//! are still in people's mailboxes: they are accepted, never issued.

use aes_siv::siv::Aes128Siv;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the AES-SIV key is derived with: a key used for one purpose only.
const SEAL_LABEL: &[u8] = b"bulletin unsubscribe token v2 (AES-SIV)";
/// Associated data of every sealed token: a token is for this, nothing else.
const SEAL_CONTEXT: &[u8] = b"unsubscribe";
/// The smallest entropy a key may show by [`estimated_bits`].
const MIN_BITS: f64 = 64.0;
const HOW_TO_MAKE_ONE: &str = "generate one with `openssl rand -base64 32`";

/// The signing key, read from the environment variable the config names.
#[derive(Clone)]
pub struct Key {
    /// Checks first-format tokens.
    mac: Vec<u8>,
    /// Seals and opens tokens.
    seal: [u8; 32],
}

impl Key {
    pub(crate) fn from_env(variable: &str) -> Result<Key, KeyError> {
        let missing = || KeyError::Missing {
            variable: variable.to_string(),
        };
        let value = std::env::var(variable).map_err(|_| missing())?;
        Key::new(value.into_bytes()).map_err(|weakness| match weakness {
            KeyError::Weak(weakness) => KeyError::WeakIn {
                variable: variable.to_string(),
                weakness,
            },
            other => other,
        })
    }

    /// Refuses a key someone could guess: under 16 bytes, only whitespace,
    /// or too few different bytes for 64 bits by a simple estimate.
    pub fn new(bytes: Vec<u8>) -> Result<Key, KeyError> {
        check_strength(&bytes).map_err(KeyError::Weak)?;
        let mut derive = mac(&bytes);
        derive.update(SEAL_LABEL);
        let seal = derive.finalize().into_bytes().into();
        Ok(Key { mac: bytes, seal })
    }

    fn siv(&self) -> Aes128Siv {
        Aes128Siv::new(&self.seal.into())
    }

    /// A keyed hash of `value` for `purpose`, hex: the same value always
    /// gives the same hash, which tells nothing of it without the key (an
    /// erased address in the suppression list, a client's IP in a consent
    /// record). Each purpose hashes under its own derived key.
    pub(crate) fn keyed_hash(&self, purpose: &str, value: &[u8]) -> String {
        crate::hex::hex(&self.keyed_digest(purpose, value))
    }

    /// [`Key::keyed_hash`]'s bytes.
    fn keyed_digest(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut derive = mac(&self.mac);
        derive.update(b"bulletin keyed hash: ");
        derive.update(purpose.as_bytes());
        let mut hash = mac(&derive.finalize().into_bytes());
        hash.update(value);
        hash.finalize().into_bytes().into()
    }
}

/// What a VERP token names: an edition and an address, each by a keyed
/// hash (the token stays short, and shows neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verp {
    newsletter: [u8; 4],
    /// The edition's number.
    pub(crate) number: u32,
    address: [u8; 8],
}

impl Verp {
    /// Whether the token was made for newsletter `id`.
    pub(crate) fn is_newsletter(&self, key: &Key, id: &str) -> bool {
        self.newsletter == verp_newsletter(key, id)
    }

    /// The keyed hash of the address it was made for: see [`verp_address`].
    pub(crate) fn address(&self) -> [u8; 8] {
        self.address
    }
}

fn verp_newsletter(key: &Key, id: &str) -> [u8; 4] {
    let digest = key.keyed_digest("verp newsletter", id.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The keyed hash a VERP token names an address by: match a token to a
/// subscriber by computing it for each.
pub(crate) fn verp_address(key: &Key, email: &str) -> [u8; 8] {
    let digest = key.keyed_digest("verp address", email.to_ascii_lowercase().as_bytes());
    let mut address = [0; 8];
    address.copy_from_slice(&digest[..8]);
    address
}

/// The MAC that makes a VERP token bulletin's own: 8 bytes, as a bounce
/// can be forged at most one guess per mail.
fn verp_mac(key: &Key, payload: &[u8]) -> [u8; 8] {
    let digest = key.keyed_digest("verp mac", payload);
    let mut tag = [0; 8];
    tag.copy_from_slice(&digest[..8]);
    tag
}

/// The VERP token of `email`'s copy of edition `number` of `newsletter`:
/// newsletter (4 bytes), number (4), address (8) and a MAC (8), in
/// lowercase base32, since some MTAs lowercase the local part and it must
/// fit in 64 octets with the `bounces+` before it.
pub(crate) fn verp(key: &Key, newsletter: &str, number: u32, email: &str) -> String {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&verp_newsletter(key, newsletter));
    bytes.extend_from_slice(&number.to_be_bytes());
    bytes.extend_from_slice(&verp_address(key, email));
    let tag = verp_mac(key, &bytes);
    bytes.extend_from_slice(&tag);
    base32(&bytes)
}

/// What a VERP token names, if bulletin made it with `key` (any case).
pub(crate) fn open_verp(key: &Key, token: &str) -> Option<Verp> {
    let bytes = from_base32(&token.to_ascii_lowercase())?;
    let (payload, tag) = bytes.split_at_checked(16)?;
    let expected = verp_mac(key, payload);
    // Constant-time, as any MAC check.
    if tag.len() != 8 || tag.iter().zip(expected).fold(0, |d, (a, b)| d | (a ^ b)) != 0 {
        return None;
    }
    let mut newsletter = [0; 4];
    newsletter.copy_from_slice(&payload[..4]);
    let mut address = [0; 8];
    address.copy_from_slice(&payload[8..16]);
    Some(Verp {
        newsletter,
        number: u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
        address,
    })
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32, lowercase, without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// [`base32`]'s bytes back; `None` for a character outside its alphabet.
fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = BASE32.iter().position(|&b| b == c)?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// What a sealed token is for: its associated data, so that a token made
/// for one purpose opens for no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `email\nnewsletter`: leave one newsletter.
    Unsubscribe,
    /// `email`: the preference centre's link.
    Preferences,
}

impl Purpose {
    fn context(self) -> &'static [u8] {
        match self {
            Purpose::Unsubscribe => SEAL_CONTEXT,
            Purpose::Preferences => b"preferences",
        }
    }
}

/// `payload` sealed for `purpose`, base64url: opaque, authenticated, and
/// the same for the same payload (messages stay byte-stable).
pub(crate) fn seal(key: &Key, purpose: Purpose, payload: &str) -> String {
    let sealed = key
        .siv()
        .encrypt([purpose.context()], payload.as_bytes())
        .expect("AES-SIV seals any payload with one associated-data item");
    URL_SAFE_NO_PAD.encode(sealed)
}

/// The payload of a token [`seal`] made with `key` for `purpose`.
pub(crate) fn open(key: &Key, purpose: Purpose, token: &str) -> Option<String> {
    let sealed = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let payload = key.siv().decrypt([purpose.context()], &sealed).ok()?;
    String::from_utf8(payload).ok()
}

fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// Why a signing key is refused, or where it is missing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the unsubscribe signing key is missing: set the environment variable {variable} ({HOW_TO_MAKE_ONE})"
    )]
    Missing { variable: String },
    #[error("{0}; {HOW_TO_MAKE_ONE}")]
    Weak(Weakness),
    #[error("{variable}: {weakness}; {HOW_TO_MAKE_ONE}")]
    WeakIn { variable: String, weakness: Weakness },
}

/// What makes a key guessable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Weakness {
    #[error("the signing key needs at least 16 bytes")]
    Short,
    #[error("the signing key is only whitespace")]
    Whitespace,
    #[error(
        "the signing key is too easy to guess: {distinct} different characters in {len} bytes, about {bits:.0} \
         bits by a simple estimate, {MIN_BITS:.0} needed"
    )]
    Guessable { distinct: usize, len: usize, bits: f64 },
}

fn check_strength(bytes: &[u8]) -> Result<(), Weakness> {
    if bytes.len() < 16 {
        return Err(Weakness::Short);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Weakness::Whitespace);
    }
    let bits = estimated_bits(bytes);
    if bits < MIN_BITS {
        let mut distinct = bytes.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        return Err(Weakness::Guessable {
            distinct: distinct.len(),
            len: bytes.len(),
            bits,
        });
    }
    Ok(())
}

/// The key's length times the Shannon entropy of its byte frequencies: an
/// upper bound on what it holds (a repeated or dictionary key scores
/// higher than it deserves), so a key scoring under it is surely weak.
fn estimated_bits(bytes: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let total = bytes.len() as f64;
    let per_byte: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum();
    per_byte * total
}

/// What a token says: this address leaves this newsletter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub email: String,
    pub newsletter: String,
}

/// The sealed token, base64url: safe in a URL and a mailto subject.
pub fn sign(key: &Key, email: &str, newsletter: &str) -> String {
    seal(key, Purpose::Unsubscribe, &format!("{email}\n{newsletter}"))
}

/// The request a token carries, if bulletin made it with `key`.
pub fn verify(key: &Key, token: &str) -> Option<Unsubscribe> {
    let token = token.trim();
    let payload = match token.split_once('.') {
        Some((payload, signature)) => {
            String::from_utf8(verify_first_format(key, payload, signature)?).ok()?
        }
        None => open(key, Purpose::Unsubscribe, token)?,
    };
    let (email, newsletter) = payload.split_once('\n')?;
    Some(Unsubscribe {
        email: email.to_string(),
        newsletter: newsletter.to_string(),
    })
}

/// `base64(payload).base64(hmac)`, as bulletin issued before tokens were sealed.
fn verify_first_format(key: &Key, payload: &str, signature: &str) -> Option<Vec<u8>> {
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut check = mac(&key.mac);
    check.update(&payload);
    check.verify_slice(&signature).ok()?;
    Some(payload)
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
        assert_eq!(
            token,
            sign(&key(), "jane@example.eu", "about-japan"),
            "the same every time"
        );
    }

    #[test]
    fn a_token_shows_neither_the_address_nor_the_newsletter() {
        let token = sign(&key(), "jane@example.eu", "about-japan");
        let clear = [
            "jane".to_string(),
            "example".to_string(),
            "about-japan".to_string(),
            URL_SAFE_NO_PAD.encode("jane@example.eu"),
            URL_SAFE_NO_PAD.encode("jane@example.eu\nabout-japan"),
            URL_SAFE_NO_PAD.encode("jane@exa"),
            URL_SAFE_NO_PAD.encode("about-japan"),
        ];
        for text in clear {
            assert!(!token.contains(&text), "{token} shows {text}");
        }
        let decoded = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!decoded.windows(4).any(|w| w == b"jane" || w == b"japa"));
        assert_ne!(
            sign(&key(), "jane@example.eu", "about-japan"),
            sign(&key(), "jane@example.eu", "tech-transfer"),
            "each newsletter its own token"
        );
    }

    #[test]
    fn a_first_format_token_is_still_accepted() {
        let payload = "jane@example.eu\nabout-japan";
        let mut signature = mac(b"0123456789abcdef-test-key");
        signature.update(payload.as_bytes());
        let old = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature.finalize().into_bytes())
        );
        let request = verify(&key(), &old).unwrap();
        assert_eq!(request.email, "jane@example.eu");
        let mut forged = old.clone();
        forged.replace_range(0..2, "AA");
        assert_eq!(verify(&key(), &forged), None);
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
    fn a_verp_token_names_its_edition_and_address_and_nothing_else() {
        let token = verp(&key(), "about-japan", 12, "Jane@Example.eu");
        assert_eq!(token.len(), crate::config::VERP_TOKEN_LEN);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
            "{token}"
        );
        let opened = open_verp(&key(), &token.to_ascii_uppercase()).expect("opens in any case");
        assert_eq!(opened.number, 12);
        assert!(opened.is_newsletter(&key(), "about-japan"));
        assert!(!opened.is_newsletter(&key(), "tech-transfer"));
        assert_eq!(opened.address(), verp_address(&key(), "jane@example.eu"));
        assert_ne!(opened.address(), verp_address(&key(), "john@example.eu"));
        let other = Key::new(b"another-key-of-16-bytes".to_vec()).unwrap();
        assert_eq!(open_verp(&other, &token), None);
        for index in 0..token.len() {
            let mut forged = token.clone().into_bytes();
            forged[index] = if forged[index] == b'a' { b'b' } else { b'a' };
            assert_eq!(
                open_verp(&key(), std::str::from_utf8(&forged).unwrap()),
                None,
                "byte {index}"
            );
        }
        assert_eq!(
            base32(b"foobar"),
            "mzxw6ytboi",
            "RFC 4648's test vector, lowercase"
        );
        assert_eq!(from_base32("mzxw6ytboi").unwrap(), b"foobar");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Key::new(b"short".to_vec()).is_err());
    }

    #[test]
    fn guessable_keys_are_refused_and_generated_ones_accepted() {
        for weak in [
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            " \t \n \t \n \t \n \t \n \t \n \t \n \t \n \t \n",
            "abababababababababababababababab",
            "abcabcabcabcabcabcabcabcabcabcab",
            "0000000011111111",
        ] {
            let error = Key::new(weak.as_bytes().to_vec())
                .err()
                .unwrap_or_else(|| panic!("{weak:?} accepted"));
            assert!(error.to_string().contains("openssl rand -base64 32"), "{error}");
        }
        for good in [
            "q3Vt0yJb2m4mX1rZ9sGkQ0w7nP8cE5fA1dL6hT2uYxI=", // openssl rand -base64 32
            "3f9a1c07d2b84e65a0c1f7e29b3d8c44",             // openssl rand -hex 16
            "test-signing-key-0123456789",
            "benchmark-signing-key",
            "hostile-test-signing-key",
            "bulletin-preview-stand-in-key",
        ] {
            assert!(Key::new(good.as_bytes().to_vec()).is_ok(), "{good:?} refused");
        }
    }
}
