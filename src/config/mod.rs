//! `config.toml`: the newsletters, their classification rules and the sources.
//!
//! Read in two steps, as ripgrep and zola do: serde reads the file into
//! private `Raw*` structs that keep each value's span, then one validation
//! builds the [`Config`] the rest of bulletin uses, holding parsed values
//! (`Url`, `Mailbox`, [`NewsletterId`](newsletter::NewsletterId), a [`Source`]'s [`Location`]) so no
//! caller parses again. Every error the user sees names `file:line:column`,
//! the field (`source[2].newsletters`) and what would be valid, so a typo is
//! fixed without reading the code.

mod alerts;
mod fetch;
mod located;
mod mail;
mod newsletter;
mod signup;
mod site;
mod source;
mod subject;
mod terms;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use alerts::{Alerts, DRAFT_WAITING_DAYS};
pub(crate) use fetch::Fetch;
pub use located::TomlError;
pub(crate) use located::{from_toml, line_column};
pub(crate) use mail::{BounceAddress, VERP_TOKEN_LEN};
pub use mail::{Dkim, DkimAlgorithm, Mail, Relay, Security, Smtp, Transport};
pub use newsletter::Schedule;
pub(crate) use newsletter::{
    Approval, Audience, Empty, Newsletter, Order, Section, UnknownNewsletter, find as find_newsletter,
};
pub use signup::Signup;
pub(crate) use site::Site;
pub(crate) use source::{FeedKind, Location, Source};
pub(crate) use subject::Piece;
pub use subject::Subject;

use alerts::RawAlerts;
use located::Invalid;
use mail::RawMail;
use newsletter::RawNewsletter;
use site::RawSite;
use source::RawSource;

/// `config.toml` as written: what serde reads, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: RawSite,
    #[serde(default)]
    fetch: Fetch,
    #[serde(default)]
    classify: Classify,
    #[serde(default)]
    store: Store,
    mail: Option<RawMail>,
    alerts: Option<RawAlerts>,
    #[serde(rename = "newsletter")]
    newsletters: Vec<RawNewsletter>,
    #[serde(rename = "source")]
    sources: Vec<RawSource>,
}

/// The whole configuration, validated.
#[derive(Debug)]
pub struct Config {
    /// Site-wide settings: name, base URL, date format, output folder.
    pub site: Site,
    /// HTTP fetching limits.
    pub fetch: Fetch,
    /// Classification defaults.
    pub classify: Classify,
    /// Where bulletin keeps its memory.
    pub store: Store,
    /// How editions are mailed; without it, nothing is sent.
    pub mail: Option<Mail>,
    /// Who is mailed when a run fails or a draft waits too long; none: nobody.
    pub alerts: Option<Alerts>,
    /// The newsletters, in the order they are listed everywhere; ids unique.
    pub newsletters: Vec<Newsletter>,
    /// Where items come from.
    pub sources: Vec<Source>,
    /// Folder relative paths are resolved against: the config file's folder.
    pub root: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Classify {
    /// Score an item needs to join a newsletter; default 3.
    pub threshold: f32,
    /// Multiplier for a term found in the title rather than the body; default 2.
    pub title_weight: f32,
    /// The most points the learned model adds to or takes from an item's
    /// score; default 4. 0 turns the model off.
    pub model_weight: f32,
}

impl Default for Classify {
    fn default() -> Self {
        Classify {
            threshold: 3.0,
            title_weight: 2.0,
            model_weight: 4.0,
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

    /// Parses and validates config text; `path` only labels errors, `root`
    /// is the folder relative paths are resolved against.
    pub fn parse(path: &Path, text: &str, root: PathBuf) -> Result<Config, TomlError> {
        let raw: RawConfig = from_toml(path, text, 1)?;
        Config::validate(raw, root).map_err(|invalid| invalid.located(path, text))
    }

    /// Checks what serde cannot (values, and references between sections)
    /// in the order the file is read, turning each value into its type.
    fn validate(raw: RawConfig, root: PathBuf) -> Result<Config, Invalid> {
        let subscribe_span = raw.site.subscribe_url_span();
        let site = Site::try_from(raw.site)?;
        let mut newsletters: Vec<Newsletter> = Vec::with_capacity(raw.newsletters.len());
        for (i, newsletter) in raw.newsletters.into_iter().enumerate() {
            let newsletter = newsletter.validate(i, &newsletters)?;
            newsletters.push(newsletter);
        }
        let sources = raw
            .sources
            .into_iter()
            .enumerate()
            .map(|(i, source)| source.validate(i, &newsletters, &root))
            .collect::<Result<_, _>>()?;
        let mail = raw.mail.map(Mail::try_from).transpose()?;
        if let (Some(span), Some(form), Some(mail)) = (subscribe_span, &site.subscribe_url, &mail) {
            own_path(span, form, mail)?;
        }
        let alerts = raw.alerts.map(|a| a.validate(mail.is_some())).transpose()?;
        Ok(Config {
            site,
            fetch: raw.fetch,
            classify: raw.classify,
            store: raw.store,
            mail,
            alerts,
            newsletters,
            sources,
            root,
        })
    }

    /// The newsletter `id` names, or the error every command shows.
    pub fn newsletter(&self, id: &str) -> Result<&Newsletter, UnknownNewsletter> {
        newsletter::find(&self.newsletters, id)
    }

    pub fn out_dir(&self) -> PathBuf {
        self.root.join(&self.site.out_dir)
    }

    pub(crate) fn store_path(&self) -> PathBuf {
        self.root.join(&self.store.path)
    }
}

/// `bulletin serve` tells its pages apart by path alone: a sign-up form on
/// the unsubscribe or preference page's path could never be reached.
fn own_path(span: std::ops::Range<usize>, form: &url::Url, mail: &Mail) -> Result<(), Invalid> {
    let pages = [
        ("unsubscribe_url", &mail.unsubscribe_url),
        ("preferences_url", mail.preferences_url()),
    ];
    match pages.iter().find(|(_, page)| page.path() == form.path()) {
        Some((field, _)) => Err(Invalid::new(
            span,
            "site.subscribe_url",
            format!(
                "{:?} has the path of `mail.{field}`; `bulletin serve` answers both, so give it its own",
                form.as_str()
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

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
        assert_eq!(config.site.date_format, "%d/%m/%Y");
        assert_eq!(config.fetch.concurrency, 4);
        assert_eq!(config.newsletters[0].window_days, 7);
        assert_eq!(
            config.sources[0].location,
            Location::Feed("feeds/a.xml".into(), FeedKind::News)
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
    fn a_desk_path_must_be_a_path_of_its_own() {
        let with = |path: &str| {
            parse(&MINIMAL.replace(
                "base_url = \"https://example.eu/\"",
                &format!("base_url = \"https://example.eu/\"\ndesk_path = {path:?}"),
            ))
        };
        for bad in ["desk", "/desk/", "/", "/a b", "//desk", "/desk?x"] {
            let err = with(bad).unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.line),
                ("site.desk_path", 5),
                "{bad:?}: {err}"
            );
            assert!(err.message.contains("is not a desk path"), "{err}");
        }
        assert_eq!(with("/editors/desk-2").unwrap().site.desk_path, "/editors/desk-2");
        assert_eq!(parse(MINIMAL).unwrap().site.desk_path, "/desk");
    }

    #[test]
    fn a_time_zone_must_be_one_of_the_tz_database() {
        let with = |zone: &str| {
            parse(&MINIMAL.replace(
                "base_url = \"https://example.eu/\"",
                &format!("base_url = \"https://example.eu/\"\ntime_zone = {zone:?}"),
            ))
        };
        for bad in ["Europe/Bruxelles", "CEST", "+01:00", ""] {
            let err = with(bad).unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.line, err.column),
                ("site.time_zone", 5, 13),
                "{bad:?}: {err}"
            );
            assert!(err.message.contains("is not a time zone"), "{err}");
        }
        assert_eq!(with("Asia/Tokyo").unwrap().site.time_zone, chrono_tz::Asia::Tokyo);
        assert_eq!(parse(MINIMAL).unwrap().site.time_zone, chrono_tz::UTC);
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
    fn rejects_a_signup_setting_no_form_can_work_with_at_its_line() {
        let with = |setting: &str| {
            parse(&MINIMAL.replace(
                "base_url = \"https://example.eu/\"\n",
                &format!("base_url = \"https://example.eu/\"\n\n[site.signup]\n{setting}\n"),
            ))
        };
        let err = with("per_hour = 0").unwrap_err();
        assert_eq!(
            (err.line, err.column, err.field.as_str()),
            (7, 12, "site.signup.per_hour"),
            "{err}"
        );
        assert!(err.message.contains("the least is 1"), "{err}");
        let err = with("expiry_days = 400").unwrap_err();
        assert_eq!(err.field, "site.signup.expiry_days", "{err}");
        assert!(err.message.contains("1 to 365 days"), "{err}");
        let err = with("consent_text = \"  \"").unwrap_err();
        assert_eq!(err.field, "site.signup.consent_text", "{err}");
        let config = with("consent_version = \"2026-12\"\nhash_client_addresses = true").unwrap();
        assert_eq!(config.site.signup.consent_version, "2026-12");
        assert!(config.site.signup.hash_client_addresses);
        assert_eq!(config.site.signup.expiry_days, 7);
    }

    #[test]
    fn http_feed_is_a_url_location() {
        let text = MINIMAL.replace("feeds/a.xml", "https://example.org/feed.xml");
        let config = parse(&text).unwrap();
        assert!(matches!(
            config.sources[0].location,
            Location::Url(_, FeedKind::News)
        ));
    }
}
