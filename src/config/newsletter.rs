//! `[[newsletter]]`: each newsletter's identity, audience, schedule,
//! classification rules and sections.

use std::collections::BTreeMap;
use std::fmt;

use chrono::Weekday;
use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;

use super::located::Invalid;
use super::mail::mailbox;
use super::subject::Subject;
use crate::items::Kind;

/// A newsletter's stable identifier (`eu-japan-news`): lowercase letters,
/// digits and `-`, as checked when the config is read. Used in paths, the
/// command line, subscriber lists and the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NewsletterId(String);

impl NewsletterId {
    /// The id, if `id` is one: non-empty, lowercase letters, digits and `-`.
    fn new(id: &str) -> Option<NewsletterId> {
        let valid = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        valid.then(|| NewsletterId(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NewsletterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for NewsletterId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NewsletterId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for NewsletterId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
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

/// Why a `schedule` table names no schedule; serde places it at the table.
#[derive(Debug, thiserror::Error)]
enum ScheduleError {
    #[error("every_weeks = {0}: expected 1 to 52")]
    EveryWeeks(u32),
    #[error("week_of_month = {0}: expected 1 to 5 (5 = the last)")]
    WeekOfMonth(u32),
    #[error("day_of_month = {0}: expected 1 to 31")]
    DayOfMonth(u32),
    #[error(
        "expected {{ weekday = \"monday\" }} with optional every_weeks or week_of_month, or {{ day_of_month = N }}"
    )]
    Shape,
}

impl TryFrom<ScheduleSpec> for Schedule {
    type Error = ScheduleError;

    fn try_from(spec: ScheduleSpec) -> Result<Self, ScheduleError> {
        match spec {
            ScheduleSpec {
                weekday: Some(weekday),
                every_weeks,
                week_of_month: None,
                day_of_month: None,
            } => match every_weeks.unwrap_or(1) {
                every @ 1..=52 => Ok(Schedule::Weekly { weekday, every }),
                other => Err(ScheduleError::EveryWeeks(other)),
            },
            ScheduleSpec {
                weekday: Some(weekday),
                every_weeks: None,
                week_of_month: Some(week),
                day_of_month: None,
            } => match week {
                1..=5 => Ok(Schedule::MonthlyWeekday { weekday, week }),
                other => Err(ScheduleError::WeekOfMonth(other)),
            },
            ScheduleSpec {
                weekday: None,
                every_weeks: None,
                week_of_month: None,
                day_of_month: Some(day),
            } => match day {
                1..=31 => Ok(Schedule::MonthlyDay { day }),
                other => Err(ScheduleError::DayOfMonth(other)),
            },
            _ => Err(ScheduleError::Shape),
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

/// Whether an edition waits for an editor before it is mailed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// Published and mailed by `bulletin run` as soon as it is due.
    #[default]
    Auto,
    /// A due edition is a draft, rebuilt with the editor's corrections,
    /// until `bulletin approve` freezes it; only then is it mailed.
    Required,
}

/// Who may receive a newsletter; enforced when sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Audience {
    /// Every subscriber of the newsletter.
    Everyone,
    /// Only companies and organisations based in the EU-27.
    EuOrganisations,
}

/// `[[newsletter]]` as written, with the spans errors point at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsletter {
    id: Spanned<String>,
    title: String,
    description: String,
    audience: Audience,
    subject: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    reply_to: Option<Spanned<String>>,
    #[serde(default = "default_window_days")]
    window_days: u32,
    #[serde(default)]
    schedule: Schedule,
    #[serde(default)]
    empty: Empty,
    #[serde(default)]
    approval: Approval,
    threshold: Option<f32>,
    #[serde(default)]
    kinds: BTreeMap<Kind, f32>,
    #[serde(default)]
    keywords: Vec<RawKeywords>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(rename = "section")]
    sections: Spanned<Vec<Section>>,
}

impl RawNewsletter {
    /// The newsletter, validated; `i` is its place in the file and
    /// `earlier` the ids of those listed before it.
    pub(super) fn validate(self, i: usize, earlier: &[Newsletter]) -> Result<Newsletter, Invalid> {
        let span = self.id.span();
        let field = format!("newsletter[{i}].id");
        let Some(id) = NewsletterId::new(self.id.get_ref()) else {
            return Err(Invalid::new(
                span,
                field,
                format!(
                    "{:?} must be lowercase letters, digits and '-'",
                    self.id.get_ref()
                ),
            ));
        };
        if earlier.iter().any(|n| n.id == id) {
            return Err(Invalid::new(
                span,
                field,
                format!("{:?} is defined twice", id.as_str()),
            ));
        }
        if self.sections.get_ref().is_empty() {
            return Err(Invalid::new(
                self.sections.span(),
                format!("newsletter[{i}].section"),
                "a newsletter needs at least one [[newsletter.section]]",
            ));
        }
        let subject = match &self.subject {
            Some(template) => subject(template, i)?,
            None => Subject::default(),
        };
        let keywords = self
            .keywords
            .into_iter()
            .enumerate()
            .map(|(k, raw)| {
                Ok(Keywords {
                    terms: expand(raw.terms, &format!("newsletter[{i}].keywords[{k}].terms"))?,
                    weight: raw.weight,
                })
            })
            .collect::<Result<_, Invalid>>()?;
        let exclude = expand(self.exclude, &format!("newsletter[{i}].exclude"))?;
        let address = |value: &Option<Spanned<String>>, key: &str| {
            value
                .as_ref()
                .map(|value| mailbox(value, &format!("newsletter[{i}].{key}")))
                .transpose()
        };
        Ok(Newsletter {
            from: address(&self.from, "from")?,
            reply_to: address(&self.reply_to, "reply_to")?,
            id,
            title: self.title,
            description: self.description,
            audience: self.audience,
            subject,
            window_days: self.window_days,
            schedule: self.schedule,
            empty: self.empty,
            approval: self.approval,
            threshold: self.threshold,
            kinds: self.kinds,
            keywords,
            exclude,
            sections: self.sections.into_inner(),
        })
    }
}

/// The subject template written at `template`, or where it is wrong: at
/// the placeholder itself when the string has no escapes (its span is then
/// the text and its two quotes), else at the string.
fn subject(template: &Spanned<String>, i: usize) -> Result<Subject, Invalid> {
    let span = template.span();
    Subject::parse(template.get_ref()).map_err(|(within, message)| {
        let plain = span.len() == template.get_ref().len() + 2;
        let at = if plain {
            span.start + 1 + within.start..span.start + 1 + within.end
        } else {
            span
        };
        Invalid::new(at, format!("newsletter[{i}].subject"), message)
    })
}

/// One newsletter, validated.
#[derive(Debug)]
pub struct Newsletter {
    /// Stable identifier, used in paths, the CLI and subscriber lists; unique.
    pub(crate) id: NewsletterId,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) audience: Audience,
    /// The mails' subject line; default [`DEFAULT_SUBJECT`](super::subject::DEFAULT_SUBJECT).
    pub subject: Subject,
    /// Its mails' From, when not `[mail]`'s (the tender digest comes from the
    /// JTPP Helpdesk); `[mail]`'s then goes in Sender. Default none.
    pub from: Option<Mailbox>,
    /// Its mails' Reply-To, when not `[mail]`'s; default none.
    pub reply_to: Option<Mailbox>,
    /// News, reports and press reviews published in the last N days are due; default 7.
    pub window_days: u32,
    /// When `bulletin run` publishes it; default weekly on Monday.
    pub schedule: Schedule,
    /// An edition with nothing due: `skip` (default) or `publish`.
    pub empty: Empty,
    /// `auto` (default): published and mailed when due; `required`: a draft until approved.
    pub approval: Approval,
    /// Overrides `classify.threshold` for this newsletter.
    pub threshold: Option<f32>,
    /// Score added for an item of a given kind.
    pub kinds: BTreeMap<Kind, f32>,
    /// Weighted term lists.
    pub(crate) keywords: Vec<Keywords>,
    /// Terms that keep an item out of this newsletter whatever its score.
    pub exclude: Vec<String>,
    /// Sections in the order they appear in an edition; at least one.
    pub sections: Vec<Section>,
}

impl Newsletter {
    /// The first section that takes items of this kind.
    pub(crate) fn section_for(&self, kind: Kind) -> Option<&Section> {
        self.sections.iter().find(|s| s.kinds.contains(&kind))
    }
}

fn default_window_days() -> u32 {
    7
}

/// `[[newsletter.keywords]]` as written: terms may name a built-in list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeywords {
    terms: Vec<Spanned<String>>,
    weight: f32,
}

/// A weighted term list, with every `@list` replaced by its terms.
#[derive(Debug)]
pub(crate) struct Keywords {
    /// Words or phrases, matched case-insensitively (whole words for Latin text).
    pub(crate) terms: Vec<String>,
    /// Score per matching term found in the body; the title counts `title_weight` times.
    pub(crate) weight: f32,
}

/// The terms as written, each `"@name"` replaced by the terms of the
/// built-in list it names (see `terms.rs`); an unknown name is an error at
/// its place in the file, naming the lists there are.
fn expand(written: Vec<Spanned<String>>, field: &str) -> Result<Vec<String>, Invalid> {
    let mut terms = Vec::with_capacity(written.len());
    for term in written {
        let Some(name) = term.get_ref().strip_prefix('@') else {
            terms.push(term.into_inner());
            continue;
        };
        match super::terms::list(name) {
            Some(list) => terms.extend(list.map(str::to_string)),
            None => {
                return Err(Invalid::new(
                    term.span(),
                    field,
                    format!(
                        "no built-in term list {:?}; expected one of: {}",
                        term.get_ref(),
                        super::terms::names()
                    ),
                ));
            }
        }
    }
    Ok(terms)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub(crate) id: String,
    pub(crate) title: String,
    /// Item kinds this section takes.
    pub(crate) kinds: Vec<Kind>,
    /// Order of the items; default newest first.
    #[serde(default)]
    pub order: Order,
    /// Items shown in full.
    pub(crate) limit: usize,
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

/// A newsletter id that names none of the config's newsletters.
#[derive(Debug, thiserror::Error)]
#[error("unknown newsletter {id:?}; expected one of: {expected}")]
pub struct UnknownNewsletter {
    pub(crate) id: String,
    /// The ids there are, in config order, comma-separated.
    pub(crate) expected: String,
}

/// The newsletter `id` names: the one check every command, the subscriber
/// import and the config's own sources use, so they say the same.
pub(crate) fn find<'a>(newsletters: &'a [Newsletter], id: &str) -> Result<&'a Newsletter, UnknownNewsletter> {
    newsletters.iter().find(|n| n.id == id).ok_or_else(|| {
        let ids: Vec<&str> = newsletters.iter().map(|n| n.id.as_str()).collect();
        UnknownNewsletter {
            id: id.to_string(),
            expected: ids.join(", "),
        }
    })
}
