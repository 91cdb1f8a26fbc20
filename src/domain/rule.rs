//! A lasting rule: an editor's word that an item, a source's items or the
//! items with a term are never (or always) in a newsletter, whatever the
//! config's rules and the model say. The store keeps them with who and
//! when; the classifier applies them and names them in its reasons.

use std::fmt;

use chrono::{DateTime, Utc};

/// Never or always in the newsletter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stance {
    Never,
    Always,
}

impl Stance {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stance::Never => "never",
            Stance::Always => "always",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Stance> {
        match text {
            "never" => Some(Stance::Never),
            "always" => Some(Stance::Always),
            _ => None,
        }
    }
}

/// What a rule is about, from the narrowest to the widest: a rule about
/// one item wins over one about its source, which wins over a term.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub(crate) enum Target {
    /// An item, by the id `bulletin items` prints.
    Item(String),
    /// Every item of a source, by its configured name.
    Source(String),
    /// Every item whose title, text or categories have the term (a whole
    /// word in Latin script, anywhere in Japanese), case aside.
    Term(String),
}

impl Target {
    /// Its kind's name in the store and on the command line.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Target::Item(_) => "item",
            Target::Source(_) => "source",
            Target::Term(_) => "term",
        }
    }

    /// Narrowest first: an item, a source, a term.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Target::Item(_) => 0,
            Target::Source(_) => 1,
            Target::Term(_) => 2,
        }
    }

    pub(crate) fn value(&self) -> &str {
        match self {
            Target::Item(v) | Target::Source(v) | Target::Term(v) => v,
        }
    }

    pub(crate) fn from_parts(kind: &str, value: String) -> Option<Target> {
        match kind {
            "item" => Some(Target::Item(value)),
            "source" => Some(Target::Source(value)),
            "term" => Some(Target::Term(value)),
            _ => None,
        }
    }
}

/// What a rule says, before it is recorded: never (or always), and about what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ruling {
    pub(crate) stance: Stance,
    pub(crate) target: Target,
}

/// One lasting rule as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Rule {
    /// Its number, for `bulletin rules remove`.
    pub(crate) id: i64,
    pub(crate) newsletter: String,
    pub(crate) stance: Stance,
    pub(crate) target: Target,
    pub(crate) by: String,
    pub(crate) at: DateTime<Utc>,
    /// How it came: `bulletin rules add`, the review page, or an item
    /// dropped from an edition ("dropped from No. 1").
    pub(crate) origin: String,
}

/// E.g. `rule #3: never in eu-japan-news, item 4e52bfafbc289784 (keiko, 2026-11-23: dropped from No. 1)`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule #{}: {} in {}, {} {:?} ({}, {}: {})",
            self.id,
            self.stance.as_str(),
            self.newsletter,
            self.target.kind(),
            self.target.value(),
            self.by,
            self.at.format("%Y-%m-%d"),
            self.origin
        )
    }
}
