//! One personalised message per subscriber and edition. The edition is
//! rendered once; each message only fills in the greeting and the signed
//! unsubscribe link, and gets a Message-ID derived from newsletter, edition
//! and address under the signing key, so a message sent twice is
//! recognisably the same message, and a report that returns it proves
//! which subscriber's copy it was.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use super::dkim::{KeyError, Signer};
use crate::audience::token::{Key, Purpose, seal, sign, verp};
use crate::config::{BounceAddress, Mail, Site};
use crate::editions::Edition;
use crate::items::escape_html;
use crate::render::{GREETING, PREFERENCES_URL, Reader, UNSUBSCRIBE_URL, render_edition, subject};

/// An edition rendered for mail, ready to personalise.
pub struct MailTemplate {
    newsletter: String,
    number: u32,
    subject: String,
    html: Part,
    text: Part,
    from: Mailbox,
    /// `[mail]`'s From, when the newsletter has its own: who sends on its behalf.
    sender: Option<Mailbox>,
    reply_to: Option<Mailbox>,
    list_id: String,
    unsubscribe_url: url::Url,
    preferences_url: url::Url,
    /// The bare address of the `mailto:` link (a display name has no place in a URL).
    unsubscribe_mailto: lettre::Address,
    /// Right-hand side of every Message-ID, and the default DKIM signing
    /// domain (DMARC aligns with From): the From address's domain.
    domain: String,
    date: SystemTime,
    /// The DKIM keys that sign every message: none, one, or two (RFC 8463).
    signers: Vec<Signer>,
    /// `[mail] bounce_address`: each message's envelope sender is its VERP address.
    bounce: Option<BounceAddress>,
}

/// One subscriber's copy of the edition.
pub struct Personal {
    pub html: String,
    pub(crate) text: String,
}

/// One message, ready for a transport.
pub struct Letter {
    pub(crate) message_id: String,
    /// Who sends it, to whom.
    pub(crate) envelope: Envelope,
    /// The message as it goes out: DKIM signatures, then the message.
    pub bytes: Vec<u8>,
}

impl Letter {
    /// A message that no DKIM key signs.
    pub(crate) fn unsigned(message_id: String, message: &Message) -> Letter {
        Letter {
            message_id,
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
        }
    }
}

impl MailTemplate {
    /// `root` resolves a relative DKIM key path.
    pub fn new(
        edition: &Edition,
        site: &Site,
        mail: &Mail,
        root: &Path,
        now: DateTime<Utc>,
    ) -> Result<MailTemplate, MessageError> {
        let rendered = render_edition(edition, site, Reader::Mail).map_err(MessageError::Render)?;
        let newsletter = edition.newsletter;
        let from = newsletter.from.as_ref().unwrap_or(&mail.from);
        let domain = from.email.domain().to_ascii_lowercase();
        let id = newsletter.id.as_str();
        let list_domain = mail
            .list_id_domain
            .clone()
            .unwrap_or_else(|| mail.from.email.domain().to_ascii_lowercase());
        Ok(MailTemplate {
            newsletter: id.to_string(),
            number: edition.number,
            subject: subject(edition, site),
            html: Part::new(&rendered.html),
            text: Part::new(&rendered.text),
            sender: (*from != mail.from).then(|| mail.from.clone()),
            from: from.clone(),
            reply_to: newsletter.reply_to.clone().or_else(|| mail.reply_to.clone()),
            list_id: format!(
                "\"{}\" <{id}.{list_domain}>",
                edition.newsletter.title.replace('"', "'")
            ),
            unsubscribe_url: mail.unsubscribe_url.clone(),
            preferences_url: mail.preferences_url.clone(),
            unsubscribe_mailto: mail.unsubscribe_mailto.email.clone(),
            signers: mail
                .dkim
                .iter()
                .map(|dkim| Signer::new(dkim, &domain, root))
                .collect::<Result<_, _>>()?,
            domain,
            date: SystemTime::from(now),
            bounce: mail.bounce_address.clone(),
        })
    }

    /// What fills the blanks for one subscriber.
    fn blanks(&self, key: &Key, email: &str, name: &str) -> Blanks {
        let token = sign(key, email, &self.newsletter);
        let mut unsubscribe = self.unsubscribe_url.clone();
        unsubscribe.query_pairs_mut().append_pair("t", &token);
        let mut preferences = self.preferences_url.clone();
        preferences
            .query_pairs_mut()
            .append_pair("t", &seal(key, Purpose::Preferences, email));
        let greeting = if name.is_empty() {
            "Dear reader,".to_string()
        } else {
            format!("Dear {name},")
        };
        let html = [
            escape_html(&greeting),
            escape_html(unsubscribe.as_str()),
            escape_html(preferences.as_str()),
        ];
        let text = [greeting, unsubscribe.to_string(), preferences.to_string()];
        Blanks {
            token,
            unsubscribe,
            html,
            text,
        }
    }

    /// The HTML and text one subscriber gets: greeting, unsubscribe and
    /// preference links filled in. What `bulletin preview` shows "as" a subscriber.
    pub fn personalise(&self, key: &Key, email: &str, name: &str) -> Personal {
        let Blanks { html, text, .. } = self.blanks(key, email, name);
        Personal {
            html: self.html.fill(&html),
            text: self.text.fill(&text),
        }
    }

    /// The message for one subscriber; `email` must already be valid.
    pub fn letter(&self, key: &Key, email: &str, name: &str) -> Result<Letter, MessageError> {
        let Blanks {
            token,
            unsubscribe,
            html,
            text,
        } = self.blanks(key, email, name);
        let to = Mailbox::new(display_name(name), ascii_domain(email)?);
        let message_id = message_id(key, &self.newsletter, self.number, email, &self.domain);
        let mailto = format!("mailto:{}?subject=unsubscribe%20{token}", self.unsubscribe_mailto);
        let mut builder = Message::builder();
        if let Some(envelope) = self.envelope(key, email, &to) {
            builder = builder.envelope(envelope);
        }
        let mut builder = builder
            .from(self.from.clone())
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(message_id.clone()))
            .date(self.date)
            .raw_header(header("List-Id", self.list_id.clone()))
            .raw_header(header("List-Unsubscribe", format!("<{unsubscribe}>, <{mailto}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if let Some(sender) = &self.sender {
            builder = builder.sender(sender.clone());
        }
        let part = |content_type: ContentType, part: &Part, blanks: &[String; 3]| {
            SinglePart::builder().header(content_type).body(part.body(blanks))
        };
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &self.text, &text))
                    .singlepart(part(ContentType::TEXT_HTML, &self.html, &html)),
            )
            .map_err(|source| MessageError::Build {
                email: email.to_string(),
                source,
            })?;
        let mut letter = Letter::unsigned(message_id, &message);
        if !self.signers.is_empty() {
            let time = self
                .date
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs());
            let mut signed: Vec<u8> = self
                .signers
                .iter()
                .flat_map(|signer| signer.sign(&letter.bytes, time).into_bytes())
                .collect();
            signed.append(&mut letter.bytes);
            letter.bytes = signed;
        }
        Ok(letter)
    }

    /// `local+<token>@domain`, where this subscriber's copy bounces to
    /// (the message's bytes stay the same: only the envelope names it).
    fn envelope(&self, key: &Key, email: &str, to: &Mailbox) -> Option<Envelope> {
        let bounce = self.bounce.as_ref()?;
        let token = verp(key, &self.newsletter, self.number, email);
        let address = lettre::Address::new(format!("{}+{token}", bounce.local), &bounce.domain)
            .expect("bounce_address is checked at load, the token is base32");
        Some(Envelope::new(Some(address), vec![to.email.clone()]).expect("one recipient"))
    }
}

/// What fills one subscriber's blanks, each part's values in the order of
/// [`BLANKS`].
struct Blanks {
    /// The signed unsubscribe token (also in the `mailto:` link).
    token: String,
    /// The unsubscribe link with the token.
    unsubscribe: url::Url,
    /// Greeting and links, escaped for the HTML part.
    html: [String; 3],
    /// Greeting and links as they are, for the text part.
    text: [String; 3],
}

/// The blanks of a mail template, in the order their values come.
const BLANKS: [&str; 3] = [GREETING, UNSUBSCRIBE_URL, PREFERENCES_URL];

/// One rendered part of the mail (text or HTML), cut at its blanks once so
/// that each message is joined from pieces encoded in advance: encoding the
/// whole part for every message was most of a send's work.
struct Part {
    /// The text around the blanks, with CRLF line endings: one more piece than blanks.
    pieces: Vec<String>,
    /// Which blank follows each piece, by its index in [`BLANKS`].
    blanks: Vec<usize>,
    /// The pieces quoted-printable encoded; `None` for a part that is mostly
    /// non-ASCII, which goes as base64 (encoded whole, which is fast).
    encoded: Option<Vec<String>>,
}

impl Part {
    fn new(rendered: &str) -> Part {
        let crlf = rendered.replace("\r\n", "\n").replace('\n', "\r\n");
        let (mut pieces, mut blanks) = (Vec::new(), Vec::new());
        let mut rest = crlf.as_str();
        while let Some((at, blank)) = BLANKS
            .iter()
            .enumerate()
            .filter_map(|(blank, mark)| rest.find(mark).map(|at| (at, blank)))
            .min()
        {
            pieces.push(rest[..at].to_string());
            blanks.push(blank);
            rest = &rest[at + BLANKS[blank].len()..];
        }
        pieces.push(rest.to_string());
        let encoded = quoted_printable_suits(&crlf).then(|| pieces.iter().map(|p| encode_line(p)).collect());
        Part {
            pieces,
            blanks,
            encoded,
        }
    }

    /// The part with the blanks filled with `values` (greeting, unsubscribe link, preference link).
    fn fill(&self, values: &[String; 3]) -> String {
        let mut out = String::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + 200);
        for (piece, blank) in self.pieces.iter().zip(self.blanks.iter().map(Some).chain([None])) {
            out.push_str(piece);
            if let Some(&blank) = blank {
                out.push_str(&values[blank]);
            }
        }
        out
    }

    /// The part's encoded body for one message.
    fn body(&self, values: &[String; 3]) -> Body {
        let Some(encoded) = &self.encoded else {
            return Body::new_with_encoding(self.fill(values), ContentTransferEncoding::Base64)
                .expect("base64 encodes anything");
        };
        let mut out = String::with_capacity(encoded.iter().map(String::len).sum::<usize>() + 400);
        for (piece, blank) in encoded.iter().zip(self.blanks.iter().map(Some).chain([None])) {
            out.push_str(piece);
            if let Some(&blank) = blank {
                out.push_str(&encode_line(&values[blank]));
            }
        }
        Body::dangerous_pre_encoded(out.into_bytes(), ContentTransferEncoding::QuotedPrintable)
    }
}

/// Quoted-printable unless more than a third of the bytes would need
/// escaping (mostly Japanese text, say): then base64 is shorter. The same
/// rule as lettre's own choice.
fn quoted_printable_suits(text: &str) -> bool {
    let escaped = text
        .bytes()
        .filter(|b| !matches!(b, b'\t' | b' '..=b'~' | b'\r' | b'\n'))
        .count();
    escaped <= text.len() / 3
}

/// `text` quoted-printable encoded and ending in a line break: a soft one
/// (`=` CRLF, which decodes to nothing) when the text does not end in one,
/// so encoded pieces join without a line growing past 76 characters.
fn encode_line(text: &str) -> String {
    // Lines of at most 75, leaving room for that last `=`.
    let options = quoted_printable::Options::default().line_length_limit(75);
    let mut encoded = quoted_printable::encode_with_options(text, options);
    if !encoded.ends_with("\r\n") {
        encoded.push_str("=\r\n");
    }
    encoded
}

/// Characters of a subscriber's name kept in the `To:` header: a name of
/// thousands made a line longer than RFC 5322's 998. The greeting keeps
/// the whole name.
const NAME_IN_HEADER: usize = 64;

/// The name for the `To:` header: at most [`NAME_IN_HEADER`] characters,
/// cut after a whole word where there is one; `None` for no name.
fn display_name(name: &str) -> Option<String> {
    let name = name.trim();
    let Some((cut, _)) = name.char_indices().nth(NAME_IN_HEADER) else {
        return Some(name.to_string()).filter(|n| !n.is_empty());
    };
    let head = &name[..cut];
    let words = match head.rfind(' ') {
        Some(space) if space > cut / 2 => &head[..space],
        _ => head,
    };
    Some(words.trim_end().to_string())
}

/// The address with its domain in ASCII (IDNA: `bücher.example` is
/// `xn--bcher-kva.example`), as the envelope and the headers need it; the
/// local part as it is (a non-ASCII one needs SMTPUTF8).
pub(crate) fn ascii_domain(email: &str) -> Result<lettre::Address, MessageError> {
    let refused = |reason: String| MessageError::Address {
        email: email.to_string(),
        reason,
    };
    let (user, domain) = email
        .rsplit_once('@')
        .ok_or_else(|| refused("not an address".into()))?;
    let domain =
        idna::domain_to_ascii(domain).map_err(|e| refused(format!("the domain is not valid ({e})")))?;
    lettre::Address::new(user, domain).map_err(|e| refused(e.to_string()))
}

/// Why a message could not be made: for the edition (its template, the
/// DKIM key), or for one recipient.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("rendering the mail template")]
    Render(#[source] askama::Error),
    #[error(transparent)]
    Dkim(#[from] KeyError),
    /// An address lettre refuses; the reason is kept as the delivery's.
    #[error("{email}: {reason}")]
    Address { email: String, reason: String },
    #[error("building the message for {email}")]
    Build {
        email: String,
        #[source]
        source: lettre::error::Error,
    },
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// `<token.newsletter.number@domain>`, the token the copy's VERP address
/// carries (see [`verp`]): the same for the same edition and address on
/// every run, different for any other, and made only with the signing key,
/// so a complaint or a DSN that returns the message's headers is proven to
/// be about this subscriber's copy (`bulletin bounces`), and no one can
/// compute another subscriber's.
pub(crate) fn message_id(key: &Key, newsletter: &str, number: u32, email: &str, domain: &str) -> String {
    let token = verp(key, newsletter, number, email);
    format!("<{token}.{newsletter}.{number}@{domain}>")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use base64::Engine;
    use lettre::message::header::ContentTransferEncoding;

    use super::{Key, Part, ascii_domain, display_name, message_id};

    #[test]
    fn long_names_are_cut_after_a_word_and_domains_go_as_punycode() {
        assert_eq!(display_name("  Jane Doe "), Some("Jane Doe".into()));
        assert_eq!(display_name(" "), None);
        let cut = display_name(&"Longname ".repeat(333)).unwrap();
        assert!(cut.len() <= 64 && cut.ends_with("Longname"), "{cut}");
        assert_eq!(display_name(&"x".repeat(3000)).unwrap().len(), 64);
        assert_eq!(display_name(&"山田".repeat(100)).unwrap().chars().count(), 64);
        assert_eq!(
            ascii_domain("a@Bücher.example").unwrap().to_string(),
            "a@xn--bcher-kva.example"
        );
        assert_eq!(
            ascii_domain("jörg@example.de").unwrap().to_string(),
            "jörg@example.de"
        );
    }
    use crate::render::{GREETING, PREFERENCES_URL, UNSUBSCRIBE_URL};

    /// What a mail reader gets back from a part's encoded body.
    fn decoded(part: &Part, values: &[String; 3]) -> String {
        let body = part.body(values);
        let encoding = body.encoding();
        let bytes = body.into_vec();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.split("\r\n").all(|line| line.len() <= 76),
            "a line over 76 characters"
        );
        let raw = match encoding {
            ContentTransferEncoding::QuotedPrintable => decode_quoted_printable(&text),
            ContentTransferEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(text.replace("\r\n", ""))
                .unwrap(),
            other => panic!("unexpected encoding {other:?}"),
        };
        String::from_utf8(raw).unwrap()
    }

    /// RFC 2045's quoted-printable, strictly: `=XX` octets, `=` at a line's
    /// end a soft break. (The quoted_printable crate's decoder rejects a soft
    /// break after a hard one, which RFC 2045 and Python's quopri accept.)
    fn decode_quoted_printable(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let lines: Vec<&str> = text.split("\r\n").collect();
        for (index, line) in lines.iter().enumerate() {
            let (line, soft) = match line.strip_suffix('=') {
                Some(line) => (line, true),
                None => (*line, false),
            };
            let mut bytes = line.bytes();
            while let Some(byte) = bytes.next() {
                assert!(matches!(byte, b'\t' | b' '..=b'~'), "raw byte {byte:#x}");
                if byte == b'=' {
                    let hex: String = [bytes.next().unwrap(), bytes.next().unwrap()]
                        .iter()
                        .map(|&b| b as char)
                        .collect();
                    assert_eq!(hex, hex.to_ascii_uppercase(), "hex digits are upper case");
                    out.push(u8::from_str_radix(&hex, 16).unwrap());
                } else {
                    out.push(byte);
                }
            }
            if !soft && index + 1 < lines.len() {
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    proptest::proptest! {
        /// A message joined from pieces encoded in advance decodes to the
        /// part with its blanks filled in, whatever the text and the names.
        #[test]
        fn joined_pieces_decode_to_the_filled_part(
            pieces in proptest::collection::vec("(\\PC|\n|=| ){0,200}", 1..5),
            blanks in proptest::collection::vec(0usize..3, 4),
            greeting in "\\PC{0,40}",
            link in "[ -~]{0,120}",
            preferences in "[ -~]{0,120}",
        ) {
            let mut rendered = pieces[0].clone();
            for (piece, blank) in pieces[1..].iter().zip(&blanks) {
                rendered.push_str([GREETING, UNSUBSCRIBE_URL, PREFERENCES_URL][*blank]);
                rendered.push_str(piece);
            }
            let part = Part::new(&rendered);
            let values = [greeting, link, preferences];
            let filled = part.fill(&values);
            proptest::prop_assert_eq!(&filled, &rendered
                .replace('\n', "\r\n")
                .replace(GREETING, &values[0])
                .replace(UNSUBSCRIBE_URL, &values[1])
                .replace(PREFERENCES_URL, &values[2]));
            proptest::prop_assert_eq!(decoded(&part, &values), filled);
        }
    }

    #[test]
    fn mostly_japanese_parts_go_as_base64_and_others_as_quoted_printable() {
        let values = [
            "Dear 山田太郎,".to_string(),
            "https://x.eu/u?t=1".to_string(),
            "https://x.eu/p?t=2".to_string(),
        ];
        let japanese = Part::new(&format!(
            "{GREETING}\n日本の産業政策ニュース\n{UNSUBSCRIBE_URL}\n"
        ));
        assert!(japanese.encoded.is_none());
        assert_eq!(
            decoded(&japanese, &values),
            "Dear 山田太郎,\r\n日本の産業政策ニュース\r\nhttps://x.eu/u?t=1\r\n"
        );
        let english = Part::new(&format!("{GREETING}\nNews from Japan, {}\n", "long ".repeat(40)));
        assert!(english.encoded.is_some());
        assert!(decoded(&english, &values).starts_with("Dear 山田太郎,\r\nNews from Japan, long"));
    }

    proptest::proptest! {
        /// Message-IDs are stable, and unique per (newsletter, edition, subscriber).
        #[test]
        fn message_ids_are_unique_per_edition_and_subscriber(
            emails in proptest::collection::hash_set("[a-z]{1,8}@[a-z]{1,8}\\.eu", 1..30),
            numbers in proptest::collection::hash_set(1u32..500, 1..5),
        ) {
            let mut seen = HashSet::new();
            for email in &emails {
                for number in &numbers {
                    let id = message_id(&key(), "about-japan", *number, email, "eu-japan.eu");
                    proptest::prop_assert_eq!(&id, &message_id(&key(), "about-japan", *number, email, "eu-japan.eu"));
                    proptest::prop_assert!(seen.insert(id));
                }
            }
        }
    }

    fn key() -> Key {
        Key::new(b"0123456789abcdef-test-key".to_vec()).unwrap()
    }

    #[test]
    fn message_ids_are_stable_distinct_and_keyed() {
        let a = message_id(&key(), "about-japan", 3, "jane@example.eu", "eu-japan.eu");
        assert_eq!(
            a,
            message_id(&key(), "about-japan", 3, "jane@example.eu", "eu-japan.eu")
        );
        assert_ne!(
            a,
            message_id(&key(), "about-japan", 4, "jane@example.eu", "eu-japan.eu")
        );
        assert_ne!(
            a,
            message_id(&key(), "about-japan", 3, "john@example.eu", "eu-japan.eu")
        );
        assert_ne!(
            a,
            message_id(&key(), "tech-transfer", 3, "jane@example.eu", "eu-japan.eu")
        );
        assert!(
            a.starts_with('<') && a.ends_with(".about-japan.3@eu-japan.eu>"),
            "{a}"
        );
        let other = Key::new(b"another-key-of-16-bytes".to_vec()).unwrap();
        assert_ne!(
            a,
            message_id(&other, "about-japan", 3, "jane@example.eu", "eu-japan.eu"),
            "without the key, no one computes it"
        );
        let token = a[1..].split('.').next().unwrap();
        let opened = crate::audience::token::open_verp(&key(), token).expect("the copy's own token");
        assert_eq!(
            opened.address(),
            crate::audience::token::verp_address(&key(), "jane@example.eu")
        );
    }
}
