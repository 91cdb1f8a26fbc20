//! `config.toml`: the newsletters, their classification rules and the sources.
//!
//! Deserialised with serde, then validated as a whole. Every error the user
//! sees names `file:line:column`, the field (`source[2].newsletters`) and what
//! would be valid, so a typo is fixed without reading the code.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::Weekday;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::items::Kind;

/// The whole configuration, as read from `config.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Site-wide settings: name, base URL, date format, output folder.
    pub site: Site,
    /// HTTP fetching limits.
    #[serde(default)]
    pub fetch: Fetch,
    /// Classification defaults.
    #[serde(default)]
    pub classify: Classify,
    /// Where bulletin keeps its memory.
    #[serde(default)]
    pub store: Store,
    /// How editions are mailed; without it, nothing is sent.
    pub mail: Option<Mail>,
    /// The newsletters, in the order they are listed everywhere.
    #[serde(rename = "newsletter")]
    pub newsletters: Vec<Newsletter>,
    /// Where items come from.
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    /// Folder relative paths are resolved against: the config file's folder.
    #[serde(skip)]
    pub root: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Name of the publisher, shown in every footer.
    pub name: String,
    /// Absolute URL the archive is served from; links in mails are built on it.
    pub base_url: Spanned<String>,
    /// chrono format for dates shown to readers; default `%d/%m/%Y`.
    #[serde(default = "default_date_format")]
    pub date_format: Spanned<String>,
    /// Folder editions are written to; default `out`.
    #[serde(default = "default_out_dir")]
    pub out_dir: PathBuf,
    /// Width of a "More" teaser in display columns (CJK counts 2); default 100.
    #[serde(default = "default_teaser_width")]
    pub teaser_width: usize,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fetch {
    /// Whole-request time limit per feed, in seconds; default 20.
    #[serde(deserialize_with = "within_a_day")]
    pub timeout_secs: u64,
    /// Largest feed body accepted, in bytes; default 5 MB.
    pub max_bytes: u64,
    /// Feeds fetched at once; default 4.
    pub concurrency: usize,
    /// Feeds fetched at once from one host; default 2.
    pub per_host: usize,
    /// Time limit for the whole fetch, in seconds; feeds not started by then are reported; default 300.
    #[serde(deserialize_with = "within_a_day")]
    pub total_secs: u64,
    /// Redirects followed per feed; default 5.
    pub max_redirects: u32,
    /// Retries after a timeout, a broken connection, 429 or 5xx; default 2.
    pub retries: u32,
    /// Wait before the first retry (doubled each time, with jitter) unless Retry-After says otherwise; default 1000 ms.
    pub retry_delay_ms: u64,
    /// A source failing this many fetches in a row is flagged by `bulletin feeds`; default 3.
    pub flag_after_failures: u32,
    /// User-Agent header; default `bulletin/<version> (newsletter generator)`.
    pub user_agent: Option<String>,
}

impl Default for Fetch {
    fn default() -> Self {
        Fetch {
            timeout_secs: 20,
            max_bytes: 5_000_000,
            concurrency: 4,
            per_host: 2,
            total_secs: 300,
            max_redirects: 5,
            retries: 2,
            retry_delay_ms: 1000,
            flag_after_failures: 3,
            user_agent: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Classify {
    /// Score an item needs to join a newsletter; default 3.
    pub threshold: f32,
    /// Multiplier for a term found in the title rather than the body; default 2.
    pub title_weight: f32,
}

impl Default for Classify {
    fn default() -> Self {
        Classify {
            threshold: 3.0,
            title_weight: 2.0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// The SQLite file: items seen, feed cache headers, editions; default `bulletin.sqlite`.
    pub path: PathBuf,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            path: "bulletin.sqlite".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    /// The From header, e.g. `EU-Japan Centre <newsletters@eu-japan.eu>`.
    pub from: Spanned<String>,
    /// The Reply-To header; default none.
    pub reply_to: Option<Spanned<String>>,
    /// List-Id is `<newsletter-id.list_id_domain>`; default the From address's domain.
    pub list_id_domain: Option<String>,
    /// Where `bulletin serve` answers, e.g. `https://news.example.eu/unsubscribe`; the signed token is appended.
    pub unsubscribe_url: Spanned<String>,
    /// The mailto address in `List-Unsubscribe`, e.g. `unsubscribe@eu-japan.eu`.
    pub unsubscribe_mailto: Spanned<String>,
    /// Environment variable holding the unsubscribe signing key (at least 16 bytes).
    pub signing_key_env: String,
    /// `smtp` or `file` (one .eml per message under `<out_dir>/mail/`); default `file`.
    #[serde(default)]
    pub transport: Transport,
    /// Subscribers are no longer sent to after this many permanent (5xx) failures; default 2.
    #[serde(default = "default_hard_bounces")]
    pub suppress_after_hard_bounces: u32,
    /// The SMTP server, for `transport = "smtp"`.
    #[serde(default)]
    pub smtp: Smtp,
    /// DKIM signing; default none (leave it to the relay).
    pub dkim: Option<Dkim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The selector the public key is published under (`<selector>._domainkey.<domain>`).
    pub selector: String,
    /// The signing domain; default the From address's domain.
    pub domain: Option<String>,
    /// The private key: PKCS#1 PEM for `rsa`, a base64 seed for `ed25519`.
    pub key_path: PathBuf,
    /// `rsa` (default) or `ed25519`.
    #[serde(default)]
    pub algorithm: DkimAlgorithm,
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

/// Seconds a clock can count to: the deadlines computed from them cannot
/// overflow (a huge value made `fetch` panic; found by reading the fuzzed code).
fn within_a_day<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    const DAY: u64 = 86_400;
    let seconds = u64::deserialize(deserializer)?;
    if seconds > DAY {
        return Err(serde::de::Error::custom(format!(
            "{seconds} s is more than a day ({DAY} s)"
        )));
    }
    Ok(seconds)
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

/// When `bulletin run` publishes a newsletter's next edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ScheduleSpec")]
pub enum Schedule {
    /// On `weekday`, every `every` weeks (1 = weekly, 2 = fortnightly).
    Weekly { weekday: Weekday, every: u32 },
    /// On the `week`-th `weekday` of each month (5 = the last one).
    MonthlyWeekday { weekday: Weekday, week: u32 },
    /// On day `day` of each month (the month's last day when it is shorter).
    MonthlyDay { day: u32 },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Weekly {
            weekday: Weekday::Mon,
            every: 1,
        }
    }
}

/// `schedule` as written: `{ weekday = "monday" }`, `{ weekday = "monday",
/// every_weeks = 2 }`, `{ weekday = "monday", week_of_month = 4 }` or `{ day_of_month = 1 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleSpec {
    weekday: Option<Weekday>,
    every_weeks: Option<u32>,
    week_of_month: Option<u32>,
    day_of_month: Option<u32>,
}

impl TryFrom<ScheduleSpec> for Schedule {
    type Error = String;

    fn try_from(spec: ScheduleSpec) -> Result<Self, String> {
        match spec {
            ScheduleSpec {
                weekday: Some(weekday),
                every_weeks,
                week_of_month: None,
                day_of_month: None,
            } => match every_weeks.unwrap_or(1) {
                every @ 1..=52 => Ok(Schedule::Weekly { weekday, every }),
                other => Err(format!("every_weeks = {other}: expected 1 to 52")),
            },
            ScheduleSpec {
                weekday: Some(weekday),
                every_weeks: None,
                week_of_month: Some(week),
                day_of_month: None,
            } => match week {
                1..=5 => Ok(Schedule::MonthlyWeekday { weekday, week }),
                other => Err(format!("week_of_month = {other}: expected 1 to 5 (5 = the last)")),
            },
            ScheduleSpec {
                weekday: None,
                every_weeks: None,
                week_of_month: None,
                day_of_month: Some(day),
            } => match day {
                1..=31 => Ok(Schedule::MonthlyDay { day }),
                other => Err(format!("day_of_month = {other}: expected 1 to 31")),
            },
            _ => Err(
                "expected { weekday = \"monday\" } with optional every_weeks or week_of_month, \
                      or { day_of_month = N }"
                    .into(),
            ),
        }
    }
}

/// What an edition with no due item does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Empty {
    /// No edition: nothing is recorded or written.
    #[default]
    Skip,
    /// A short "nothing new" edition, numbered like any other.
    Publish,
}

/// Who may receive a newsletter; enforced when sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// Every subscriber of the newsletter.
    Everyone,
    /// Only companies and organisations based in the EU-27.
    EuOrganisations,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Newsletter {
    /// Stable identifier, used in paths, the CLI and subscriber lists.
    pub id: Spanned<String>,
    pub title: String,
    pub description: String,
    pub audience: Audience,
    /// News, reports and press reviews published in the last N days are due; default 7.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
    /// When `bulletin run` publishes it; default weekly on Monday.
    #[serde(default)]
    pub schedule: Schedule,
    /// An edition with nothing due: `skip` (default) or `publish`.
    #[serde(default)]
    pub empty: Empty,
    /// Overrides `classify.threshold` for this newsletter.
    pub threshold: Option<f32>,
    /// Score added for an item of a given kind.
    #[serde(default)]
    pub kinds: BTreeMap<Kind, f32>,
    /// Weighted term lists.
    #[serde(default)]
    pub keywords: Vec<Keywords>,
    /// Terms that keep an item out of this newsletter whatever its score.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Sections in the order they appear in an edition.
    #[serde(rename = "section")]
    pub sections: Spanned<Vec<Section>>,
}

impl Newsletter {
    /// The first section that takes items of this kind.
    pub fn section_for(&self, kind: Kind) -> Option<&Section> {
        self.sections.get_ref().iter().find(|s| s.kinds.contains(&kind))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keywords {
    /// Words or phrases, matched case-insensitively (whole words for Latin text).
    pub terms: Vec<String>,
    /// Score per matching term found in the body; the title counts `title_weight` times.
    pub weight: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    /// Item kinds this section takes.
    pub kinds: Vec<Kind>,
    /// Order of the items; default newest first.
    #[serde(default)]
    pub order: Order,
    /// Items shown in full.
    pub limit: usize,
    /// Further items shown as one-line "More" teasers; default 0.
    #[serde(default)]
    pub more: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    #[default]
    Newest,
    /// Events: soonest first.
    StartDate,
    /// Tenders: closing soonest first.
    Deadline,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Shown in reports and as the default "Source:" line.
    pub name: Spanned<String>,
    /// A feed: an http(s) URL or a file path (RSS, Atom or JSON Feed).
    pub feed: Option<Spanned<String>>,
    /// Local items: a file, folder or glob of `.toml` / `.md` files.
    pub local: Option<Spanned<String>>,
    /// Kind of the items it gives; default `news`.
    pub kind: Option<Spanned<Kind>>,
    /// Newsletters every item of this source joins (by `weight`).
    #[serde(default)]
    pub newsletters: Vec<Spanned<String>>,
    /// Score the default newsletters get; default the newsletter's threshold.
    pub weight: Option<f32>,
}

/// Where a source's items are read from, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Url(url::Url),
    Feed(PathBuf),
    Local(String),
}

impl Source {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    pub fn kind(&self) -> Kind {
        self.kind.as_ref().map_or(Kind::News, |k| *k.get_ref())
    }

    /// Exactly one of `feed` / `local` is set once the config is validated.
    pub fn location(&self, root: &Path) -> Location {
        match (&self.feed, &self.local) {
            (Some(feed), _) => match url::Url::parse(feed.get_ref()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Location::Url(url),
                _ => Location::Feed(root.join(feed.get_ref())),
            },
            (None, Some(local)) => Location::Local(root.join(local.get_ref()).to_string_lossy().into_owned()),
            (None, None) => unreachable!("validate() requires feed or local"),
        }
    }
}

type Invalid = (std::ops::Range<usize>, String, String);

/// Whether a chrono `format` can show a date. chrono finds out that a
/// specifier is unknown (`%=`) or wants what a date has not (`%H`, `%z`)
/// only when a date is written, where `to_string` panics: `bulletin check`
/// passed such a config, and `bulletin run` panicked with an edition
/// recorded and its files unwritten (found by fuzzing).
fn shows_a_date(format: &str) -> bool {
    use std::fmt::Write;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date");
    write!(String::new(), "{}", date.format(format)).is_ok()
}

/// A feed is an http(s) URL or a file path. A `file://` URL would be taken
/// for a relative path (and then not found); the message says which path
/// to write. A one-letter scheme is a Windows drive (`C:\feeds\a.xml`).
fn feed_scheme(feed: &str) -> Result<(), String> {
    match url::Url::parse(feed) {
        Ok(url) if url.scheme() == "file" => Err(match url.to_file_path() {
            Ok(path) => format!(
                "a file:// URL is not read; write the path instead: {:?}",
                path.display().to_string()
            ),
            Err(()) => "a file:// URL is not read; write the file's path instead".to_string(),
        }),
        Ok(url) if !matches!(url.scheme(), "http" | "https") && url.scheme().len() > 1 => Err(format!(
            "scheme {:?} is not supported; use http, https or a file path",
            url.scheme()
        )),
        _ => Ok(()),
    }
}

fn validate_mail(mail: &Mail) -> Result<(), Invalid> {
    let mailbox = |value: &Spanned<String>, field: &str| {
        value
            .get_ref()
            .parse::<lettre::message::Mailbox>()
            .map(|_| ())
            .map_err(|e| {
                (
                    value.span(),
                    field.to_string(),
                    format!("{:?} is not a mail address: {e}", value.get_ref()),
                )
            })
    };
    mailbox(&mail.from, "mail.from")?;
    if let Some(reply_to) = &mail.reply_to {
        mailbox(reply_to, "mail.reply_to")?;
    }
    mailbox(&mail.unsubscribe_mailto, "mail.unsubscribe_mailto")?;
    match url::Url::parse(mail.unsubscribe_url.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Ok(()),
        _ => Err((
            mail.unsubscribe_url.span(),
            "mail.unsubscribe_url".into(),
            format!(
                "{:?} must be an absolute http(s) URL without a query",
                mail.unsubscribe_url.get_ref()
            ),
        )),
    }
}

fn default_date_format() -> Spanned<String> {
    Spanned::new(0..0, "%d/%m/%Y".into())
}
fn default_out_dir() -> PathBuf {
    "out".into()
}
fn default_teaser_width() -> usize {
    100
}
fn default_window_days() -> u32 {
    7
}

/// An error in a TOML file, located for the user.
#[derive(Debug, thiserror::Error)]
pub struct TomlError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the offending field, e.g. `source[2].newsletters`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Where a span starts: 1-based line and column (in characters).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Deserialises `text`, turning any error into a located [`TomlError`].
/// `first_line` is the line of `path` that `text` starts on (front matter).
pub fn from_toml<T: DeserializeOwned>(path: &Path, text: &str, first_line: usize) -> Result<T, TomlError> {
    let located = |span: Option<std::ops::Range<usize>>, field: String, message: &str| {
        let (line, column) = line_column(text, span.map_or(0, |s| s.start));
        TomlError {
            path: path.to_owned(),
            line: line + first_line - 1,
            column,
            field,
            message: message.trim().to_string(),
        }
    };
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| located(e.span(), String::new(), e.message()))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        // `Spanned` fields show up in the path as an inner value; hide that.
        let field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let field = if field == "." { String::new() } else { field };
        located(e.inner().span(), field, e.inner().message())
    })
}

impl Config {
    /// Reads and validates the config file.
    pub fn from_file(path: &Path) -> Result<Config, TomlError> {
        let text = std::fs::read_to_string(path).map_err(|e| TomlError {
            path: path.to_owned(),
            line: 1,
            column: 1,
            field: String::new(),
            message: format!("cannot read the config: {e}"),
        })?;
        let root = path.parent().unwrap_or(Path::new("")).to_owned();
        Config::parse(path, &text, root)
    }

    /// Parses and validates config text; `path` only labels errors.
    pub fn parse(path: &Path, text: &str, root: PathBuf) -> Result<Config, TomlError> {
        let mut config: Config = from_toml(path, text, 1)?;
        config.root = root;
        config.validate().map_err(|(span, field, message)| {
            let (line, column) = line_column(text, span.start);
            TomlError {
                path: path.to_owned(),
                line,
                column,
                field,
                message,
            }
        })?;
        Ok(config)
    }

    pub fn newsletter(&self, id: &str) -> Option<&Newsletter> {
        self.newsletters.iter().find(|n| n.id.get_ref() == id)
    }

    pub fn newsletter_ids(&self) -> String {
        let ids: Vec<&str> = self.newsletters.iter().map(|n| n.id.get_ref().as_str()).collect();
        ids.join(", ")
    }

    pub fn out_dir(&self) -> PathBuf {
        self.root.join(&self.site.out_dir)
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join(&self.store.path)
    }

    /// Checks what serde cannot: references between sections and values.
    fn validate(&self) -> Result<(), Invalid> {
        let base = &self.site.base_url;
        match url::Url::parse(base.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err((
                    base.span(),
                    "site.base_url".into(),
                    format!("{:?} is not an absolute http(s) URL", base.get_ref()),
                ));
            }
        }
        let date_format = &self.site.date_format;
        if !shows_a_date(date_format.get_ref()) {
            return Err((
                date_format.span(),
                "site.date_format".into(),
                format!(
                    "{:?} cannot show a date; use date specifiers such as %d, %m, %Y, %B (no times, no time zones)",
                    date_format.get_ref()
                ),
            ));
        }
        for (i, newsletter) in self.newsletters.iter().enumerate() {
            let id = &newsletter.id;
            let valid_id = !id.get_ref().is_empty()
                && id
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid_id {
                return Err((
                    id.span(),
                    format!("newsletter[{i}].id"),
                    format!("{:?} must be lowercase letters, digits and '-'", id.get_ref()),
                ));
            }
            if self.newsletters[..i]
                .iter()
                .any(|n| n.id.get_ref() == id.get_ref())
            {
                return Err((
                    id.span(),
                    format!("newsletter[{i}].id"),
                    format!("{:?} is defined twice", id.get_ref()),
                ));
            }
            if newsletter.sections.get_ref().is_empty() {
                return Err((
                    newsletter.sections.span(),
                    format!("newsletter[{i}].section"),
                    "a newsletter needs at least one [[newsletter.section]]".into(),
                ));
            }
        }
        for (i, source) in self.sources.iter().enumerate() {
            self.validate_source(i, source)?;
        }
        if let Some(mail) = &self.mail {
            validate_mail(mail)?;
        }
        Ok(())
    }

    fn validate_source(&self, i: usize, source: &Source) -> Result<(), Invalid> {
        match (&source.feed, &source.local) {
            (Some(feed), Some(_)) => {
                return Err((
                    feed.span(),
                    format!("source[{i}]"),
                    format!("source {:?} sets both `feed` and `local`; use one", source.name()),
                ));
            }
            (None, None) => {
                return Err((
                    source.name.span(),
                    format!("source[{i}]"),
                    format!(
                        "source {:?} needs `feed` (a URL or file) or `local` (a glob)",
                        source.name()
                    ),
                ));
            }
            (Some(feed), None) => {
                feed_scheme(feed.get_ref())
                    .map_err(|message| (feed.span(), format!("source[{i}].feed"), message))?;
                if let Some(kind) = source
                    .kind
                    .as_ref()
                    .filter(|k| matches!(k.get_ref(), Kind::Event | Kind::Tender))
                {
                    return Err((
                        kind.span(),
                        format!("source[{i}].kind"),
                        "feeds carry no event dates or tender deadlines; use news, report or press-review, and local items for events and tenders".into(),
                    ));
                }
            }
            (None, Some(_)) => {}
        }
        for (j, id) in source.newsletters.iter().enumerate() {
            if self.newsletter(id.get_ref()).is_none() {
                return Err((
                    id.span(),
                    format!("source[{i}].newsletters[{j}]"),
                    format!(
                        "unknown newsletter {:?}; expected one of: {}",
                        id.get_ref(),
                        self.newsletter_ids()
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
name = "Centre"
base_url = "https://example.eu/"

[[newsletter]]
id = "news"
title = "News"
description = "d"
audience = "everyone"

[[newsletter.section]]
id = "news"
title = "News"
kinds = ["news"]
limit = 3

[[source]]
name = "A feed"
feed = "feeds/a.xml"
newsletters = ["news"]
"#;

    fn parse(text: &str) -> Result<Config, TomlError> {
        Config::parse(Path::new("config.toml"), text, PathBuf::new())
    }

    #[test]
    fn parses_minimal_config_with_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.site.date_format.get_ref(), "%d/%m/%Y");
        assert_eq!(config.fetch.concurrency, 4);
        assert_eq!(config.newsletters[0].window_days, 7);
        assert_eq!(
            config.sources[0].location(Path::new("")),
            Location::Feed("feeds/a.xml".into())
        );
    }

    #[test]
    fn rejects_unknown_newsletter_with_line_and_field() {
        let text = MINIMAL.replace(r#"newsletters = ["news"]"#, r#"newsletters = ["nesw"]"#);
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            "config.toml:21:16: source[0].newsletters[0]: unknown newsletter \"nesw\"; expected one of: news"
        );
    }

    #[test]
    fn rejects_unknown_key_with_line_and_field() {
        let text = MINIMAL.replace("limit = 3", "limit = 3\nlimt = 4");
        let err = parse(&text).unwrap_err();
        assert_eq!((err.line, err.column), (17, 1));
        assert_eq!(err.field, "newsletter[0].section[0].limt");
        assert!(err.message.contains("unknown field `limt`"), "{err}");
    }

    #[test]
    fn rejects_wrong_type_naming_the_field() {
        let text = MINIMAL.replace("limit = 3", "limit = \"three\"");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.field, "newsletter[0].section[0].limit");
        assert_eq!((err.line, err.column), (16, 9));
    }

    #[test]
    fn rejects_event_kind_for_a_feed() {
        let text = MINIMAL.replace(
            "feed = \"feeds/a.xml\"",
            "feed = \"feeds/a.xml\"\nkind = \"event\"",
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.field, "source[0].kind");
    }

    #[test]
    fn reads_schedules() {
        let with = |schedule: &str| {
            parse(&MINIMAL.replace(
                "audience = \"everyone\"",
                &format!("audience = \"everyone\"\nschedule = {schedule}"),
            ))
        };
        let schedule = |s: &str| with(s).unwrap().newsletters[0].schedule;
        assert_eq!(
            schedule("{ weekday = \"Friday\" }"),
            Schedule::Weekly {
                weekday: Weekday::Fri,
                every: 1
            }
        );
        assert_eq!(
            schedule("{ weekday = \"mon\", every_weeks = 2 }"),
            Schedule::Weekly {
                weekday: Weekday::Mon,
                every: 2
            }
        );
        assert_eq!(
            schedule("{ weekday = \"monday\", week_of_month = 4 }"),
            Schedule::MonthlyWeekday {
                weekday: Weekday::Mon,
                week: 4
            }
        );
        assert_eq!(schedule("{ day_of_month = 1 }"), Schedule::MonthlyDay { day: 1 });
        let err = with("{ day_of_month = 1, weekday = \"monday\" }").unwrap_err();
        assert_eq!(
            (err.line, err.field.as_str()),
            (11, "newsletter[0].schedule"),
            "{err}"
        );
        assert!(err.message.starts_with("expected { weekday"), "{err}");
    }

    #[test]
    fn http_feed_is_a_url_location() {
        let text = MINIMAL.replace("feeds/a.xml", "https://example.org/feed.xml");
        let config = parse(&text).unwrap();
        assert!(matches!(
            config.sources[0].location(Path::new("")),
            Location::Url(_)
        ));
    }
}
