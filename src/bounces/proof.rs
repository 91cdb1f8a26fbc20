//! What proves that a report is about a message bulletin sent, and to
//! whom: a token only bulletin makes, with the signing key, and puts in
//! one subscriber's copy. Anyone can mail the bounce address and name any
//! address in a report, so a named address proves nothing; a token does,
//! and the subscriber it names is the one a report changes.
//!
//! Where the tokens are: the VERP address the copy's bounces go to (a
//! report mailed back to it, or returning the envelope sender); the copy's
//! `Message-ID`, whose first part is the same token (see
//! `message::message_id`), and its `List-Unsubscribe` token, both in a
//! report that returns the message or its headers (ARF complaints, most
//! DSNs).

use crate::audience::token::{Key, Unsubscribe, Verp, open_verp, verify};
use crate::config::VERP_TOKEN_LEN;

/// How a mail was proven to be about the subscriber it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// The VERP token of the address the report came back to (or names).
    Verp,
    /// The keyed Message-ID of the returned message.
    MessageId,
    /// The sealed unsubscribe token: the returned message's
    /// `List-Unsubscribe`, or a mailed unsubscribe's subject or text.
    ListUnsubscribe,
    /// No token: the address the report names, under
    /// `[mail] trust_bounce_addresses`.
    TrustedAddress,
}

impl Proof {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Proof::Verp => "verp",
            Proof::MessageId => "message-id",
            Proof::ListUnsubscribe => "list-unsubscribe",
            Proof::TrustedAddress => "trusted-address",
        }
    }
}

/// At most this many candidates of each kind are checked in one mail: a
/// genuine report holds one or two, and a hostile one must not make the
/// reader compute a MAC for every few bytes it sends.
const MAX_CANDIDATES: usize = 32;

/// The tokens in one mail that bulletin made, each with where it was.
pub(super) struct Tokens {
    /// VERP tokens, from the VERP address or a Message-ID.
    pub(super) verp: Vec<(Verp, Proof)>,
    /// Unsubscribe tokens of a returned `List-Unsubscribe` header.
    pub(super) unsubscribe: Vec<Unsubscribe>,
}

/// Every token bulletin made in `haystack` (the mail's text, its parts and
/// the returned message): after `local+` (the bounce address's local part),
/// as a `Message-ID:`'s first part, in a `List-Unsubscribe:` field.
pub(super) fn tokens(key: &Key, haystack: &str, bounce_local: Option<&str>) -> Tokens {
    // ASCII lowercasing keeps every byte where it was: positions found in
    // `lower` are positions in `haystack`.
    let lower = haystack.to_ascii_lowercase();
    let mut verp = Vec::new();
    if let Some(local) = bounce_local {
        let prefix = format!("{local}+");
        let found = after(&lower, &prefix).filter_map(|rest| rest.get(..VERP_TOKEN_LEN));
        verp.extend(
            found
                .take(MAX_CANDIDATES)
                .filter_map(|token| open_verp(key, token))
                .map(|v| (v, Proof::Verp)),
        );
    }
    let ids = after(&lower, "message-id:")
        .filter_map(|rest| {
            let id = rest.trim_start_matches([' ', '\t', '\r', '\n', '<']);
            id.get(..VERP_TOKEN_LEN)
                .filter(|_| id.as_bytes().get(VERP_TOKEN_LEN) == Some(&b'.'))
        })
        .take(MAX_CANDIDATES);
    verp.extend(
        ids.filter_map(|token| open_verp(key, token))
            .map(|v| (v, Proof::MessageId)),
    );
    // Each field's value is read up to 2,000 bytes: only so many fields.
    let unsubscribe = after(&lower, "list-unsubscribe:")
        .take(MAX_CANDIDATES)
        .map(|rest| &haystack[haystack.len() - rest.len()..])
        .flat_map(|value| unsubscribe_candidates(field_value(value)))
        .take(MAX_CANDIDATES)
        .filter_map(|token| verify(key, token))
        .collect();
    Tokens { verp, unsubscribe }
}

/// What follows each occurrence of `needle` in `text`.
fn after<'t>(text: &'t str, needle: &str) -> impl Iterator<Item = &'t str> {
    let skip = needle.len();
    text.match_indices(needle).map(move |(at, _)| &text[at + skip..])
}

/// A header field's value: up to the first line that does not continue
/// it (folded lines start with a space or a tab), at most 2,000 bytes.
fn field_value(rest: &str) -> &str {
    let rest = &rest[..floor_boundary(rest, 2000)];
    let mut end = 0;
    for line in rest.split_inclusive('\n') {
        if end > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        end += line.len();
    }
    &rest[..end]
}

fn floor_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// The words of a `List-Unsubscribe` value that may be tokens: the `t=`
/// of its URL, the last word of its `mailto:` subject (`%20` a space).
fn unsubscribe_candidates(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '%')))
        .map(|word| word.rsplit("%20").next().unwrap_or(word))
        .filter(|word| word.len() >= 20 && !word.contains('%'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::token::{sign, verp};

    fn key() -> Key {
        Key::new(b"0123456789abcdef-test-key".to_vec()).unwrap()
    }

    #[test]
    fn finds_bulletin_tokens_where_a_report_returns_them_and_no_others() {
        let key = key();
        let token = verp(&key, "about-japan", 3, "jane@example.eu");
        let unsubscribe = sign(&key, "jane@example.eu", "about-japan");
        let headers = format!(
            "Return-Path: <BOUNCES+{}@eu-japan.eu>\r\nMessage-ID:\r\n <{token}.about-japan.3@eu-japan.eu>\r\n\
             List-Unsubscribe: <https://x.eu/unsubscribe?t={unsubscribe}>,\r\n \
             <mailto:unsubscribe@eu-japan.eu?subject=unsubscribe%20{unsubscribe}>\r\n",
            token.to_uppercase()
        );
        let found = tokens(&key, &headers, Some("bounces"));
        let proofs: Vec<Proof> = found.verp.iter().map(|(_, proof)| *proof).collect();
        assert_eq!(proofs, [Proof::Verp, Proof::MessageId]);
        assert!(found.verp.iter().all(|(v, _)| v.number == 3));
        assert_eq!(found.unsubscribe.len(), 2, "the URL's and the mailto's");
        assert!(found.unsubscribe.iter().all(|u| u.email == "jane@example.eu"));

        let other = Key::new(b"another-key-of-16-bytes".to_vec()).unwrap();
        let nothing = tokens(&other, &headers, Some("bounces"));
        assert!(nothing.verp.is_empty() && nothing.unsubscribe.is_empty());
        // An unkeyed Message-ID of the old form, and words that only look like tokens.
        let forged = "Message-ID: <0123456789abcdef01234567.about-japan.3@eu-japan.eu>\r\n\
                      List-Unsubscribe: <https://x.eu/unsubscribe?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAA>\r\n";
        let none = tokens(&key, forged, Some("bounces"));
        assert!(none.verp.is_empty() && none.unsubscribe.is_empty());
    }
}
