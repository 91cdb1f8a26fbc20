//! `[mail]`: how editions are mailed: the addresses, the unsubscribe
//! link, the transport, the SMTP server and DKIM.

use std::path::PathBuf;

use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::fetch::within_a_day;
use super::located::Invalid;

/// `[mail]` as written, with the spans errors point at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    list_id_domain: Option<String>,
    unsubscribe_url: Spanned<String>,
    preferences_url: Option<Spanned<String>>,
    unsubscribe_mailto: Spanned<String>,
    signing_key_env: String,
    #[serde(default)]
    transport: Transport,
    #[serde(default = "default_hard_bounces")]
    suppress_after_hard_bounces: u32,
    #[serde(default)]
    smtp: Smtp,
    dkim: Option<Dkim>,
}

/// How editions are mailed, validated.
#[derive(Debug)]
pub struct Mail {
    /// The From header, e.g. `EU-Japan Centre <newsletters@eu-japan.eu>`.
    pub(crate) from: Mailbox,
    /// The Reply-To header; default none.
    pub reply_to: Option<Mailbox>,
    /// List-Id is `<newsletter-id.list_id_domain>`; default the From address's domain.
    pub list_id_domain: Option<String>,
    /// Where `bulletin serve` answers, e.g. `https://news.example.eu/unsubscribe`:
    /// http(s), without a query; the signed token is appended.
    pub(crate) unsubscribe_url: Url,
    /// The preference centre's page, linked from every mail's footer with a
    /// sealed token appended; `bulletin serve` answers it beside the
    /// unsubscribe page. Default: `preferences` beside `unsubscribe_url`'s
    /// last path segment (`https://news.example.eu/preferences`).
    pub(crate) preferences_url: Url,
    /// The address in the `List-Unsubscribe` mailto link, e.g. `unsubscribe@eu-japan.eu`.
    pub(crate) unsubscribe_mailto: Mailbox,
    /// Environment variable holding the unsubscribe signing key (at least 16 bytes).
    pub(crate) signing_key_env: String,
    /// `smtp` or `file` (one .eml per message under `<out_dir>/mail/`); default `file`.
    pub transport: Transport,
    /// Subscribers are no longer sent to after this many permanent (5xx) failures; default 2.
    pub suppress_after_hard_bounces: u32,
    /// The SMTP server, for `transport = "smtp"`.
    pub smtp: Smtp,
    /// DKIM signing; default none (leave it to the relay).
    pub(crate) dkim: Option<Dkim>,
}

impl TryFrom<RawMail> for Mail {
    type Error = Invalid;

    fn try_from(raw: RawMail) -> Result<Mail, Invalid> {
        let unsubscribe = endpoint(&raw.unsubscribe_url, "mail.unsubscribe_url")?;
        let preferences = match &raw.preferences_url {
            Some(value) => {
                let url = endpoint(value, "mail.preferences_url")?;
                if url.path() == unsubscribe.path() {
                    return Err(Invalid::new(
                        value.span(),
                        "mail.preferences_url",
                        format!(
                            "{:?} has the path of `unsubscribe_url`; `bulletin serve` answers both, so give it its own",
                            value.get_ref()
                        ),
                    ));
                }
                url
            }
            None => unsubscribe
                .join("preferences")
                .expect("a relative path joins any http(s) URL"),
        };
        Ok(Mail {
            from: mailbox(&raw.from, "mail.from")?,
            reply_to: raw
                .reply_to
                .as_ref()
                .map(|reply_to| mailbox(reply_to, "mail.reply_to"))
                .transpose()?,
            list_id_domain: raw.list_id_domain,
            unsubscribe_url: unsubscribe,
            preferences_url: preferences,
            unsubscribe_mailto: mailbox(&raw.unsubscribe_mailto, "mail.unsubscribe_mailto")?,
            signing_key_env: raw.signing_key_env,
            transport: raw.transport,
            suppress_after_hard_bounces: raw.suppress_after_hard_bounces,
            smtp: raw.smtp,
            dkim: raw.dkim,
        })
    }
}

/// A mailbox (`Name <address>` or a bare address), or the error at its place.
pub(super) fn mailbox(value: &Spanned<String>, field: &str) -> Result<Mailbox, Invalid> {
    value.get_ref().parse().map_err(|e| {
        Invalid::new(
            value.span(),
            field,
            format!("{:?} is not a mail address: {e}", value.get_ref()),
        )
    })
}

impl Mail {
    /// The preference centre's page (`preferences_url`, or its default).
    pub fn preferences_url(&self) -> &Url {
        &self.preferences_url
    }
}

/// A page of `bulletin serve`'s (unsubscribe, preferences): http(s), and
/// without a query, since the signed token is appended as one.
fn endpoint(value: &Spanned<String>, field: &str) -> Result<Url, Invalid> {
    match Url::parse(value.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Ok(url),
        _ => Err(Invalid::new(
            value.span(),
            field,
            format!(
                "{:?} must be an absolute http(s) URL without a query",
                value.get_ref()
            ),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The selector the public key is published under (`<selector>._domainkey.<domain>`).
    pub(crate) selector: String,
    /// The signing domain; default the From address's domain.
    pub(crate) domain: Option<String>,
    /// The private key: PKCS#1 PEM for `rsa`, a base64 seed for `ed25519`.
    pub(crate) key_path: PathBuf,
    /// `rsa` (default) or `ed25519`.
    #[serde(default)]
    pub(crate) algorithm: DkimAlgorithm,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DkimAlgorithm {
    #[default]
    Rsa,
    Ed25519,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Smtp,
    #[default]
    File,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// Plain SMTP: only for a relay on the same host or network.
    None,
    /// STARTTLS on the submission port.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// Default `localhost`.
    pub host: String,
    /// Default 587.
    pub port: u16,
    /// `none`, `starttls` (default) or `tls`.
    pub security: Security,
    /// Environment variables with the SMTP user name and password; none means no AUTH.
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    /// Seconds an SMTP command may take; default 30.
    #[serde(deserialize_with = "within_a_day")]
    pub timeout_secs: u64,
    /// Messages in flight at once, one connection each; default 4.
    pub concurrency: usize,
    /// Messages per second at most; 0 (default) for no limit.
    #[serde(deserialize_with = "rate")]
    pub rate_per_second: f64,
    /// Tries per message for 4xx replies and broken connections; default 4.
    pub max_attempts: u32,
    /// Wait before the first retry, doubled each time (with jitter); default 2000 ms.
    pub retry_delay_ms: u64,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: "localhost".into(),
            port: 587,
            security: Security::Starttls,
            username_env: None,
            password_env: None,
            timeout_secs: 30,
            concurrency: 4,
            rate_per_second: 0.0,
            max_attempts: 4,
            retry_delay_ms: 2000,
        }
    }
}

/// 0 (no limit) or at least one message a day: the pause between messages
/// must be a time a clock can count (1e-320 made `send` panic).
fn rate<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(deserializer)?;
    if rate == 0.0 || (rate.is_finite() && rate >= 1.0 / 86_400.0) {
        return Ok(rate);
    }
    Err(serde::de::Error::custom(format!(
        "{rate:?} must be 0 (no limit) or at least one message a day (0.0000116)"
    )))
}

fn default_hard_bounces() -> u32 {
    2
}
