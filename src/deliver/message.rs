//! One personalised message per subscriber and edition. The edition is
//! rendered once; each message only fills in the greeting and the signed
//! unsubscribe link, and gets a Message-ID derived from newsletter, edition
//! and address, so a message sent twice is recognisably the same message.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};

use super::token::{Key, sign};
use crate::config::{Dkim, DkimAlgorithm, Mail, Site};
use crate::editions::Edition;
use crate::hex::hex;
use crate::items::escape_html;
use crate::render::{GREETING, Reader, UNSUBSCRIBE_URL, render_edition, subject};

/// An edition rendered for mail, ready to personalise.
pub struct MailTemplate {
    newsletter: String,
    number: u32,
    subject: String,
    html: String,
    text: String,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    unsubscribe_url: url::Url,
    unsubscribe_mailto: String,
    /// Right-hand side of every Message-ID: the From address's domain.
    domain: String,
    date: SystemTime,
    dkim: Option<DkimConfig>,
}

/// One subscriber's copy of the edition.
pub struct Personal {
    pub html: String,
    pub text: String,
    pub unsubscribe: url::Url,
    token: String,
}

/// One message, ready for a transport.
pub struct Letter {
    pub message_id: String,
    pub message: Message,
}

impl MailTemplate {
    /// `root` resolves a relative DKIM key path.
    pub fn new(
        edition: &Edition,
        site: &Site,
        mail: &Mail,
        root: &Path,
        now: DateTime<Utc>,
    ) -> Result<MailTemplate, String> {
        let rendered = render_edition(edition, site, Reader::Mail).map_err(|e| format!("rendering: {e}"))?;
        let from: Mailbox = mail
            .from
            .get_ref()
            .parse()
            .map_err(|e| format!("mail.from: {e}"))?;
        let reply_to = match &mail.reply_to {
            Some(reply_to) => Some(
                reply_to
                    .get_ref()
                    .parse()
                    .map_err(|e| format!("mail.reply_to: {e}"))?,
            ),
            None => None,
        };
        let domain = from.email.domain().to_ascii_lowercase();
        let id = edition.newsletter.id.get_ref();
        let list_domain = mail.list_id_domain.clone().unwrap_or_else(|| domain.clone());
        Ok(MailTemplate {
            newsletter: id.clone(),
            number: edition.number,
            subject: subject(edition, site),
            html: rendered.html,
            text: rendered.text,
            from,
            reply_to,
            list_id: format!(
                "\"{}\" <{id}.{list_domain}>",
                edition.newsletter.title.replace('"', "'")
            ),
            unsubscribe_url: url::Url::parse(mail.unsubscribe_url.get_ref())
                .map_err(|e| format!("mail.unsubscribe_url: {e}"))?,
            unsubscribe_mailto: mail.unsubscribe_mailto.get_ref().clone(),
            dkim: mail
                .dkim
                .as_ref()
                .map(|dkim| dkim_config(dkim, &domain, root))
                .transpose()?,
            domain,
            date: SystemTime::from(now),
        })
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Size of the mail's HTML part: Gmail clips a message past ~100 KB.
    pub fn html_len(&self) -> usize {
        self.html.len()
    }

    /// The message for one subscriber; `email` must already be valid.
    /// The HTML and text one subscriber gets: greeting and unsubscribe link
    /// filled in. Also what `bulletin preview` shows "as" a subscriber.
    pub fn personalise(&self, key: &Key, email: &str, name: &str) -> Personal {
        let token = sign(key, email, &self.newsletter);
        let mut unsubscribe = self.unsubscribe_url.clone();
        unsubscribe.query_pairs_mut().append_pair("t", &token);
        let greeting = if name.is_empty() {
            "Dear reader,".to_string()
        } else {
            format!("Dear {name},")
        };
        Personal {
            html: self
                .html
                .replace(GREETING, &escape_html(&greeting))
                .replace(UNSUBSCRIBE_URL, &escape_html(unsubscribe.as_str())),
            text: self
                .text
                .replace(GREETING, &greeting)
                .replace(UNSUBSCRIBE_URL, unsubscribe.as_str()),
            unsubscribe,
            token,
        }
    }

    /// The message for one subscriber; `email` must already be valid.
    pub fn letter(&self, key: &Key, email: &str, name: &str) -> Result<Letter, String> {
        let Personal {
            html,
            text,
            unsubscribe,
            token,
        } = self.personalise(key, email, name);
        let address: lettre::Address = email.parse().map_err(|e| format!("{email}: {e}"))?;
        let to = Mailbox::new(Some(name.to_string()).filter(|n| !n.is_empty()), address);
        let message_id = message_id(&self.newsletter, self.number, email, &self.domain);
        let mailto = format!("mailto:{}?subject=unsubscribe%20{token}", self.unsubscribe_mailto);
        let mut builder = Message::builder()
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
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("building the message for {email}: {e}"))?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(Letter { message_id, message })
    }
}

/// The headers a DKIM signature covers: the List-Unsubscribe pair among
/// them, so nobody on the way can change where unsubscribing leads.
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

fn dkim_config(dkim: &Dkim, from_domain: &str, root: &Path) -> Result<DkimConfig, String> {
    let path = root.join(&dkim.key_path);
    let key =
        std::fs::read_to_string(&path).map_err(|e| format!("mail.dkim.key_path {}: {e}", path.display()))?;
    let algorithm = match dkim.algorithm {
        DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
        DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
    };
    let key = DkimSigningKey::new(key.trim(), algorithm)
        .map_err(|e| format!("mail.dkim.key_path {}: not a usable key ({e})", path.display()))?;
    Ok(DkimConfig::new(
        dkim.selector.clone(),
        dkim.domain.clone().unwrap_or_else(|| from_domain.to_string()),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// `<hash.newsletter.number@domain>`: the same for the same edition and
/// address on every run, different for any other.
pub fn message_id(newsletter: &str, number: u32, email: &str, domain: &str) -> String {
    let digest = Sha256::digest(format!("{newsletter}\0{number}\0{email}").as_bytes());
    let hash = hex(&digest[..12]);
    format!("<{hash}.{newsletter}.{number}@{domain}>")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::message_id;

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
                    let id = message_id("about-japan", *number, email, "eu-japan.eu");
                    proptest::prop_assert_eq!(&id, &message_id("about-japan", *number, email, "eu-japan.eu"));
                    proptest::prop_assert!(seen.insert(id));
                }
            }
        }
    }

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let a = message_id("about-japan", 3, "jane@example.eu", "eu-japan.eu");
        assert_eq!(a, message_id("about-japan", 3, "jane@example.eu", "eu-japan.eu"));
        assert_ne!(a, message_id("about-japan", 4, "jane@example.eu", "eu-japan.eu"));
        assert_ne!(a, message_id("about-japan", 3, "john@example.eu", "eu-japan.eu"));
        assert_ne!(
            a,
            message_id("tech-transfer", 3, "jane@example.eu", "eu-japan.eu")
        );
        assert!(a.starts_with('<') && a.ends_with("@eu-japan.eu>"));
    }
}
