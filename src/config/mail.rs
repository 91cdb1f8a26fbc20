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
    bounce_address: Option<Spanned<String>>,
    #[serde(default = "default_soft_bounces")]
    suppress_after_soft_bounces: Spanned<u32>,
    #[serde(default = "default_soft_bounce_days")]
    soft_bounce_days: Spanned<u32>,
    #[serde(default)]
    trust_bounce_addresses: bool,
    smtp: Option<Spanned<Smtp>>,
    #[serde(default)]
    relays: Vec<Spanned<Relay>>,
    dkim: Option<Spanned<Signatures>>,
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
    /// Where bounces go: with it set, each message's envelope sender is
    /// `local+<token>@domain` (VERP), the token naming the edition and the
    /// address, so a bounce matches its subscriber even when the report
    /// does not say who bounced; default none (the From address).
    pub(crate) bounce_address: Option<BounceAddress>,
    /// Soft bounces in a row, within [`Mail::soft_bounce_days`], after which an
    /// address is no longer sent to; default 3.
    pub suppress_after_soft_bounces: u32,
    /// The days the soft bounces in a row must fall within; default 15.
    pub soft_bounce_days: u32,
    /// Whether `bulletin bounces` may act on the address a report merely
    /// names (and on SES notifications, whose signature it does not check);
    /// default false: a report changes a subscriber only with a token
    /// bulletin made for that subscriber's copy. Only for a mailbox that
    /// no one but the operator's own mail system writes to.
    pub trust_bounce_addresses: bool,
    /// The SMTP server, for `transport = "smtp"`: `[mail.smtp]`, or the
    /// first of `[[mail.relays]]`.
    pub smtp: Smtp,
    /// Every relay messages are spread over: `[[mail.relays]]`, or
    /// `[mail.smtp]` alone with weight 1. Never empty.
    relays: Vec<Relay>,
    /// DKIM signing: none (leave it to the relay, the default), one key,
    /// or an RSA and an Ed25519 key both signing (RFC 8463).
    pub(crate) dkim: Vec<Dkim>,
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
            bounce_address: raw.bounce_address.as_ref().map(bounce_address).transpose()?,
            suppress_after_soft_bounces: at_least_one(
                &raw.suppress_after_soft_bounces,
                "mail.suppress_after_soft_bounces",
            )?,
            soft_bounce_days: at_least_one(&raw.soft_bounce_days, "mail.soft_bounce_days")?,
            trust_bounce_addresses: raw.trust_bounce_addresses,
            relays: relays(raw.smtp.as_ref(), &raw.relays)?,
            smtp: match (raw.smtp, raw.relays.into_iter().next()) {
                (Some(smtp), _) => smtp.into_inner(),
                (None, Some(relay)) => relay.into_inner().smtp,
                (None, None) => Smtp::default(),
            },
            dkim: raw.dkim.map(signatures).transpose()?.unwrap_or_default(),
        })
    }
}

impl Mail {
    /// Whether bounces go to a VERP address (`bounce_address` is set).
    pub fn has_bounce_address(&self) -> bool {
        self.bounce_address.is_some()
    }

    /// The VERP envelope sender as written in the config's terms:
    /// `local+<token>@domain`; none without `bounce_address`.
    pub(crate) fn bounce_address(&self) -> Option<String> {
        self.bounce_address
            .as_ref()
            .map(|b| format!("{}+<token>@{}", b.local, b.domain))
    }

    /// The relays messages are spread over, by weight: one or more.
    pub fn relays(&self) -> &[Relay] {
        &self.relays
    }

    /// The preference centre's page (`preferences_url`, or its default).
    pub fn preferences_url(&self) -> &Url {
        &self.preferences_url
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

/// The VERP envelope sender's parts: `local+<token>@domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BounceAddress {
    /// The local part before the `+`, e.g. `bounces`.
    pub(crate) local: String,
    /// The domain, in lowercase.
    pub(crate) domain: String,
}

/// The longest local part `bounce_address` may have: with `+` and the
/// token, a VERP address's local part must stay within the 64 octets of
/// RFC 5321.
const BOUNCE_LOCAL_MAX: usize = 64 - 1 - VERP_TOKEN_LEN;

/// The length of a VERP token (`deliver::token::verp`): 24 bytes in base32.
pub(crate) const VERP_TOKEN_LEN: usize = 39;

/// `bounce_address`: a bare ASCII address without a `+`, short enough for VERP.
fn bounce_address(value: &Spanned<String>) -> Result<BounceAddress, Invalid> {
    let invalid = |why: String| Invalid::new(value.span(), "mail.bounce_address", why);
    let text = value.get_ref();
    let address: lettre::Address = text.parse().map_err(|e| {
        invalid(format!(
            "{text:?} is not a bare mail address (like bounces@example.eu): {e}"
        ))
    })?;
    let local = address.user().to_string();
    if !local.is_ascii() || local.contains('+') || local.len() > BOUNCE_LOCAL_MAX {
        return Err(invalid(format!(
            "{text:?}: the part before @ must be ASCII, without '+', and at most {BOUNCE_LOCAL_MAX} \
             characters, so that `{local}+<token>` stays within 64"
        )));
    }
    Ok(BounceAddress {
        local: local.to_ascii_lowercase(),
        domain: address.domain().to_ascii_lowercase(),
    })
}

/// A count or a number of days that must be at least 1.
fn at_least_one(value: &Spanned<u32>, field: &str) -> Result<u32, Invalid> {
    match *value.get_ref() {
        0 => Err(Invalid::new(
            value.span(),
            field,
            "must be at least 1".to_string(),
        )),
        n => Ok(n),
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

/// `[mail.dkim]` (one key) or `[[mail.dkim]]` (one per algorithm).
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a [mail.dkim] table, or [[mail.dkim]] tables of selector, key_path and algorithm"
)]
pub(super) enum Signatures {
    One(Dkim),
    Both(Vec<Dkim>),
}

/// The keys that sign: one, or two of different algorithms (a verifier
/// takes the one it knows, RFC 8463).
fn signatures(value: Spanned<Signatures>) -> Result<Vec<Dkim>, Invalid> {
    let span = value.span();
    let keys = match value.into_inner() {
        Signatures::One(dkim) => vec![dkim],
        Signatures::Both(keys) => keys,
    };
    let algorithms: std::collections::HashSet<_> = keys.iter().map(|k| k.algorithm).collect();
    if keys.is_empty() || keys.len() > 2 || algorithms.len() != keys.len() {
        return Err(Invalid::new(
            span,
            "mail.dkim",
            "give one key, or two: one \"rsa\" and one \"ed25519\"".to_string(),
        ));
    }
    Ok(keys)
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

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
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

/// One of `[[mail.relays]]`: every key of `[mail.smtp]`, its share of the
/// messages and how long it rests after failing.
#[derive(Debug, Clone)]
pub struct Relay {
    /// How to reach it, its connections, rate and retries.
    pub smtp: Smtp,
    /// Its share of the messages, against the other relays' weights; default 1.
    pub weight: u32,
    /// Seconds a relay that failed (refused, 421, TLS, AUTH, timeouts)
    /// is left out before it is tried again; default 60.
    pub cooldown_secs: u64,
}

impl Relay {
    /// `[mail.smtp]` as the only relay.
    fn alone(smtp: Smtp) -> Relay {
        Relay {
            smtp,
            weight: 1,
            cooldown_secs: DEFAULT_COOLDOWN_SECS,
        }
    }

    /// `host:port`, how the send report names it.
    pub fn name(&self) -> String {
        format!("{}:{}", self.smtp.host, self.smtp.port)
    }
}

const DEFAULT_COOLDOWN_SECS: u64 = 60;

/// A relay's table: `weight` and `cooldown_secs` taken out, the rest read
/// as `[mail.smtp]` is, so the two can never differ in a key.
impl<'de> Deserialize<'de> for Relay {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Relay, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let weight = match table.remove("weight") {
            None => 1,
            Some(value) => match value.try_into::<u32>() {
                Ok(weight) if weight > 0 => weight,
                _ => return Err(D::Error::custom("weight: must be a whole number of at least 1")),
            },
        };
        let cooldown_secs = match table.remove("cooldown_secs") {
            None => DEFAULT_COOLDOWN_SECS,
            Some(value) => value
                .try_into::<u64>()
                .ok()
                .filter(|secs| *secs <= 86_400)
                .ok_or_else(|| {
                    D::Error::custom("cooldown_secs: must be a whole number of seconds, at most a day")
                })?,
        };
        let smtp = toml::Value::Table(table)
            .try_into::<Smtp>()
            .map_err(|e| D::Error::custom(e.message()))?;
        Ok(Relay {
            smtp,
            weight,
            cooldown_secs,
        })
    }
}

/// The relays: `[[mail.relays]]`, or `[mail.smtp]` alone; not both, and
/// no relay twice (its share would be counted twice).
fn relays(smtp: Option<&Spanned<Smtp>>, relays: &[Spanned<Relay>]) -> Result<Vec<Relay>, Invalid> {
    if let (Some(smtp), Some(_)) = (smtp, relays.first()) {
        return Err(Invalid::new(
            smtp.span(),
            "mail.smtp",
            "give either [mail.smtp] or [[mail.relays]], not both: with relays, each names its server"
                .to_string(),
        ));
    }
    if relays.is_empty() {
        return Ok(vec![Relay::alone(
            smtp.map(|smtp| smtp.get_ref().clone()).unwrap_or_default(),
        )]);
    }
    let mut seen = std::collections::HashSet::new();
    for relay in relays {
        let name = relay.get_ref().name();
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(Invalid::new(
                relay.span(),
                "mail.relays",
                format!("{name} is listed twice"),
            ));
        }
    }
    Ok(relays.iter().map(|relay| relay.get_ref().clone()).collect())
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

fn default_soft_bounces() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}

fn default_soft_bounce_days() -> Spanned<u32> {
    Spanned::new(0..0, 15)
}
