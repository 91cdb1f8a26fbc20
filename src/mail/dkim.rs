//! DKIM signatures (RFC 6376, relaxed/relaxed), made with ring, the crypto
//! rustls already links: its RSA signs several times faster than the
//! pure-Rust `rsa` crate lettre's signer uses, which cost most of a
//! signed send's speed. RSA-SHA256 and Ed25519-SHA256 (RFC 8463), one or
//! both on each message.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use crate::config::{Dkim, DkimAlgorithm};

/// The headers a DKIM signature covers: the List-Unsubscribe pair among
/// them, so nobody on the way can change where unsubscribing leads.
const SIGNED_HEADERS: [&str; 10] = [
    "From",
    "Sender",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// One signing identity: domain, selector and key.
pub(crate) struct Signer {
    domain: String,
    selector: String,
    key: SigningKey,
}

enum SigningKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Why a DKIM key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("mail.dkim.key_path {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "mail.dkim.key_path {}: others may read or change it (mode {mode:04o}): \
         a private key must be readable by its owner (and group) only: chmod 600",
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("mail.dkim.key_path {}: not a usable {algorithm} key: {why}", path.display())]
    Unusable {
        path: PathBuf,
        algorithm: &'static str,
        why: String,
    },
}

impl Signer {
    /// The key of `[mail.dkim]`, its file's permissions checked; the domain
    /// defaults to `from_domain`.
    pub(crate) fn new(dkim: &Dkim, from_domain: &str, root: &Path) -> Result<Signer, KeyError> {
        let path = root.join(&dkim.key_path);
        let text = read_private(&path)?;
        let unusable = |algorithm, why: String| KeyError::Unusable {
            path: path.clone(),
            algorithm,
            why,
        };
        let key = match dkim.algorithm {
            DkimAlgorithm::Rsa => SigningKey::Rsa(rsa_key(&text).map_err(|why| unusable("RSA", why))?),
            DkimAlgorithm::Ed25519 => {
                SigningKey::Ed25519(ed25519_key(&text).map_err(|why| unusable("Ed25519", why))?)
            }
        };
        Ok(Signer {
            domain: dkim.domain.clone().unwrap_or_else(|| from_domain.to_string()),
            selector: dkim.selector.clone(),
            key,
        })
    }

    /// The `DKIM-Signature:` header line (folded, ending in CRLF) for the
    /// message `bytes` (headers, blank line, body), signed at `time`
    /// (seconds since the epoch).
    pub(crate) fn sign(&self, bytes: &[u8], time: u64) -> String {
        let (head, body) = split(bytes);
        let body_hash = STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, &relaxed_body(body)));
        let fields = fields(head);
        let mut signed = Vec::new();
        let mut names = Vec::new();
        for name in SIGNED_HEADERS {
            // The last of a name's fields, as verifiers take them.
            if let Some((field, value)) = fields
                .iter()
                .rev()
                .find(|(field, _)| field.eq_ignore_ascii_case(name))
            {
                relaxed_header(&mut signed, field, value);
                names.push(name.to_ascii_lowercase());
            }
        }
        let algorithm = match self.key {
            SigningKey::Rsa(_) => "rsa-sha256",
            SigningKey::Ed25519(_) => "ed25519-sha256",
        };
        let value = format!(
            "v=1; a={algorithm}; c=relaxed/relaxed; d={}; s={}; t={time}; h={}; bh={body_hash}; b=",
            self.domain,
            self.selector,
            names.join(":"),
        );
        let mut own = Vec::new();
        relaxed_header(&mut own, "DKIM-Signature", value.as_bytes());
        // The signature's own field goes in without its line break.
        signed.extend_from_slice(&own[..own.len() - 2]);
        let signature = match &self.key {
            SigningKey::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &signed, &mut signature)
                    .expect("an RSA key ring accepted signs");
                signature
            }
            SigningKey::Ed25519(key) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, &signed);
                key.sign(digest.as_ref()).as_ref().to_vec()
            }
        };
        format!(
            "DKIM-Signature: {}\r\n",
            fold(&value, &STANDARD.encode(signature))
        )
    }
}

/// The key file's text, refused when others may read it or anyone but
/// its owner change it.
fn read_private(path: &Path) -> Result<String, KeyError> {
    let file = |source| KeyError::File {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(file)?.permissions().mode() & 0o7777;
        if mode & 0o027 != 0 {
            return Err(KeyError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    std::fs::read_to_string(path).map_err(file)
}

/// An RSA key in PEM: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
fn rsa_key(text: &str) -> Result<RsaKeyPair, String> {
    let key =
        PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| format!("not a PEM private key ({e})"))?;
    let pair = match &key {
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
        _ => return Err("not an RSA key".into()),
    }
    .map_err(|e| e.to_string())?;
    if pair.public().modulus_len() < 128 {
        return Err("shorter than 1024 bits, which receivers reject".into());
    }
    Ok(pair)
}

/// An Ed25519 key: its 32-byte seed in base64, or PKCS#8 PEM.
fn ed25519_key(text: &str) -> Result<Ed25519KeyPair, String> {
    if let Ok(PrivateKeyDer::Pkcs8(der)) = PrivateKeyDer::from_pem_slice(text.as_bytes()) {
        return Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der()).map_err(|e| e.to_string());
    }
    let seed = STANDARD
        .decode(text.trim())
        .map_err(|_| "neither PKCS#8 PEM nor a base64 seed".to_string())?;
    Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| format!("the seed is {} bytes, not 32", seed.len()))
}

/// The header block and the body, split at the first empty line.
fn split(bytes: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memmem::find(bytes, b"\r\n\r\n") {
        Some(at) => (&bytes[..at + 2], &bytes[at + 4..]),
        None => (bytes, b""),
    }
}

/// Each header field as (name, value with its folds), in order.
fn fields(head: &[u8]) -> Vec<(&str, &[u8])> {
    let mut fields: Vec<(&str, &[u8])> = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < head.len() {
        let end = memchr::memmem::find(&head[at..], b"\r\n").map_or(head.len(), |n| at + n);
        let next = end + 2;
        // A field ends where a line does not begin with white space.
        if next >= head.len() || !matches!(head[next], b' ' | b'\t') {
            let field = &head[start..end.min(head.len())];
            if let Some(colon) = memchr::memchr(b':', field) {
                let name = std::str::from_utf8(&field[..colon]).unwrap_or_default();
                fields.push((name.trim(), &field[colon + 1..]));
            }
            start = next;
        }
        at = next;
    }
    fields
}

/// One header field, relaxed: the name in lowercase, the value unfolded,
/// runs of white space as one space, none at its ends; then CRLF.
fn relaxed_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend(name.trim().bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &byte in value {
        match byte {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = started,
            _ => {
                if space {
                    out.push(b' ');
                    space = false;
                }
                started = true;
                out.push(byte);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The body, relaxed: runs of white space in a line as one space, none at
/// a line's end, no empty lines at the end, and a final CRLF unless empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut empty_lines = 0;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let start = out.len();
        let mut space = false;
        for &byte in line {
            if byte == b' ' || byte == b'\t' {
                space = true;
            } else {
                if space {
                    out.push(b' ');
                    space = false;
                }
                out.push(byte);
            }
        }
        if out.len() == start {
            empty_lines += 1;
        } else {
            // Empty lines before a line with text are kept.
            let text = out.split_off(start);
            out.extend(std::iter::repeat_n(b"\r\n".as_slice(), empty_lines).flatten());
            out.extend_from_slice(&text);
            out.extend_from_slice(b"\r\n");
            empty_lines = 0;
        }
    }
    out
}

/// The header's value with the signature, folded at 76 columns: tags at
/// their semicolons, the signature anywhere (white space in `b=` is ignored).
fn fold(value: &str, signature: &str) -> String {
    let mut folded = String::with_capacity(value.len() + signature.len() + 64);
    let mut column = "DKIM-Signature: ".len();
    for (i, tag) in value.split("; ").enumerate() {
        let tag = if i == 0 {
            tag.to_string()
        } else {
            format!(" {tag}")
        };
        if i > 0 {
            folded.push(';');
            column += 1;
        }
        if column + tag.len() > 76 && i > 0 {
            folded.push_str("\r\n\t");
            folded.push_str(tag.trim_start());
            column = 1 + tag.len();
        } else {
            folded.push_str(&tag);
            column += tag.len();
        }
    }
    for (i, chunk) in signature.as_bytes().chunks(72).enumerate() {
        if i > 0 || column + chunk.len() > 76 {
            folded.push_str("\r\n\t");
        }
        folded.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        column = 1 + chunk.len();
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::{relaxed_body, relaxed_header};

    #[test]
    fn relaxed_body_keeps_inner_empty_lines_and_drops_trailing_ones() {
        assert_eq!(relaxed_body(b"a  b \r\n\r\nc\t\r\n\r\n\r\n"), b"a b\r\n\r\nc\r\n");
        assert_eq!(relaxed_body(b"\r\n\r\n"), b"");
        assert_eq!(relaxed_body(b""), b"");
    }

    #[test]
    fn relaxed_header_unfolds_and_squeezes_white_space() {
        let mut out = Vec::new();
        relaxed_header(&mut out, "Subject", b" A  long\r\n\tsubject \t");
        assert_eq!(out, b"subject:A long subject\r\n");
    }
}
