//! The normalised `Item` every source stage produces, and what makes two
//! items the same one.

mod clean;
mod html;
mod link;
mod story;
mod teaser;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex::hex;

pub use clean::{clean_block, clean_text, for_terminal};
pub(crate) use html::to_text_with_references;
pub use html::{escape_html, sanitize, to_text};
pub use link::canonical_link;
pub(crate) use story::{richness, same_stories, stem};
pub use teaser::{display_width, teaser};

/// What an item is; decides its section and its order there.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    News,
    Event,
    Tender,
    Report,
    PressReview,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::News => "news",
            Kind::Event => "event",
            Kind::Tender => "tender",
            Kind::Report => "report",
            Kind::PressReview => "press-review",
        }
    }
}

/// The fields only some kinds have: an event without dates or a tender
/// without a deadline cannot be built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Details {
    News,
    Report,
    PressReview,
    Event {
        start: NaiveDate,
        end: NaiveDate,
        place: String,
    },
    Tender {
        entity: String,
        reference: String,
        deadline: NaiveDate,
    },
}

impl Details {
    /// The plain details of a kind that carries no extra fields.
    pub(crate) fn plain(kind: Kind) -> Option<Details> {
        match kind {
            Kind::News => Some(Details::News),
            Kind::Report => Some(Details::Report),
            Kind::PressReview => Some(Details::PressReview),
            Kind::Event | Kind::Tender => None,
        }
    }

    /// The same details with their free text (place, entity, reference)
    /// cleaned like every other text a source gives.
    fn cleaned(self) -> Details {
        match self {
            Details::Event { start, end, place } => Details::Event {
                start,
                end,
                place: clean_text(&place),
            },
            Details::Tender {
                entity,
                reference,
                deadline,
            } => Details::Tender {
                entity: clean_text(&entity),
                reference: clean_text(&reference),
                deadline,
            },
            plain => plain,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Details::News => Kind::News,
            Details::Report => Kind::Report,
            Details::PressReview => Kind::PressReview,
            Details::Event { .. } => Kind::Event,
            Details::Tender { .. } => Kind::Tender,
        }
    }
}

/// One normalised item, whatever source it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// 16 hex digits, stable across runs: derived from the guid or the link.
    pub(crate) id: String,
    /// Name of the configured source that gave it.
    pub(crate) source: String,
    /// Original publisher for the "Source: …" line.
    pub(crate) credit: String,
    pub title: String,
    /// Absolute, canonical (tracking parameters and fragment dropped).
    pub(crate) link: String,
    /// UTC; `None` when the feed gives no usable date.
    pub(crate) published: Option<DateTime<Utc>>,
    /// Sanitised HTML: safe to put in a mail as it is.
    pub summary_html: String,
    /// The summary as plain text, paragraphs separated by a blank line.
    pub summary_text: String,
    /// One line, cut on a word boundary (or by width for CJK), ending in "…" when cut.
    pub teaser: String,
    pub(crate) categories: Vec<String>,
    #[serde(flatten)]
    pub(crate) details: Details,
    /// Other sources that carried the same item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) also_in: Vec<String>,
    /// The newsletters a local item names in its `newsletters`: it joins
    /// those and no other, whatever the rules say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) newsletters: Vec<String>,
}

impl Item {
    pub(crate) fn kind(&self) -> Kind {
        self.details.kind()
    }
}

/// The fields a source stage reads, before normalisation.
#[derive(Debug, Default)]
pub struct Draft {
    pub guid: Option<String>,
    pub title: String,
    pub link: String,
    pub published: Option<DateTime<Utc>>,
    /// Untrusted HTML.
    pub summary_html: String,
    pub(crate) categories: Vec<String>,
    /// The publisher the item names for its "Source:" line, if it names one.
    pub(crate) credit: Option<String>,
    /// The newsletters a local item names (valid ids).
    pub(crate) newsletters: Vec<String>,
}

impl Draft {
    /// Normalises a draft: sanitises, derives text and teaser, fixes the id.
    /// Every text a feed or a local file gave is cleaned here (see
    /// [`clean_text`]), after entities are decoded, so no source can bring
    /// control characters or the mail templates' blanks to a reader.
    pub fn into_item(self, source: &str, details: Details, teaser_width: usize) -> Item {
        let raw_link = clean_text(&self.link);
        let link = canonical_link(&raw_link).unwrap_or(raw_link);
        let summary_html = clean_block(&sanitize(
            &self.summary_html,
            url::Url::parse(&link).ok().as_ref(),
        ));
        let summary_text = to_text(&summary_html);
        let title = clean_text(&self.title);
        let teaser_source = if summary_text.is_empty() {
            &title
        } else {
            &summary_text
        };
        Item {
            id: stable_id(source, self.guid.as_deref(), &link, &title),
            source: source.to_string(),
            credit: self
                .credit
                .map(|c| collapse_whitespace(&clean_text(&c)))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| source.to_string()),
            teaser: teaser(&collapse_whitespace(teaser_source), teaser_width),
            title,
            link,
            published: self.published,
            summary_html,
            summary_text,
            categories: self.categories.iter().map(|c| clean_text(c)).collect(),
            details: details.cleaned(),
            also_in: Vec::new(),
            newsletters: self.newsletters,
        }
    }
}

/// A guid that looks like a URI is global; a bare one ("42") only means
/// something within its source.
fn stable_id(source: &str, guid: Option<&str>, link: &str, title: &str) -> String {
    let key = match guid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(guid) if guid.contains(':') => format!("guid\0{guid}"),
        Some(guid) => format!("guid\0{source}\0{guid}"),
        None if !link.is_empty() => format!("link\0{link}"),
        None => format!("title\0{source}\0{title}"),
    };
    let digest = Sha256::digest(key.as_bytes());
    hex(&digest[..8])
}

pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_collapsed(&mut out, text);
    out
}

/// `text`'s words, one space between each, added to `out`.
fn push_collapsed(out: &mut String, text: &str) {
    for (index, word) in text.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Items merged as they come: the same story (same id or same canonical
/// link) is kept once, as first seen, so sources listed first in the config
/// win.
#[derive(Default)]
pub(crate) struct Dedup {
    kept: Vec<Item>,
    keys: Keys,
}

/// What [`Dedup::add`] did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Kept, last of [`Dedup::into_items`].
    New,
    /// Merged into one kept before.
    Merged,
}

impl Dedup {
    pub(crate) fn add(&mut self, item: Item) -> Added {
        match self.keys.find(&item) {
            Some(index) => {
                merge(&mut self.kept[index], &item);
                Added::Merged
            }
            None => {
                self.keys.keep(&item, self.kept.len());
                self.kept.push(item);
                Added::New
            }
        }
    }

    pub(crate) fn into_items(self) -> Vec<Item> {
        self.kept
    }
}

/// Where each kept item is, by its id and by its link: an item with either
/// is the same story.
#[derive(Default)]
pub(crate) struct Keys(HashMap<String, usize>);

impl Keys {
    /// Where the story `item` tells was kept, if it was.
    pub(crate) fn find(&self, item: &Item) -> Option<usize> {
        self.0.get(&item.id).or_else(|| self.0.get(&item.link)).copied()
    }

    /// Notes `item` as kept at `index`.
    pub(crate) fn keep(&mut self, item: &Item, index: usize) {
        self.0.insert(item.id.clone(), index);
        if !item.link.is_empty() {
            self.0.insert(item.link.clone(), index);
        }
    }
}

/// Another copy of a story merged into the one kept: its categories, and
/// its source and those it was also in, as "also in".
pub(crate) fn merge(into: &mut Item, other: &Item) {
    for category in &other.categories {
        if !into.categories.contains(category) {
            into.categories.push(category.clone());
        }
    }
    for source in std::iter::once(&other.source).chain(&other.also_in) {
        if *source != into.source && !into.also_in.contains(source) {
            into.also_in.push(source.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dedup(items: Vec<Item>) -> Vec<Item> {
        let mut dedup = Dedup::default();
        for item in items {
            dedup.add(item);
        }
        dedup.into_items()
    }

    fn draft(guid: Option<&str>, link: &str) -> Draft {
        Draft {
            guid: guid.map(str::to_string),
            title: "Title".into(),
            link: link.into(),
            summary_html: "<p>Body</p>".into(),
            ..Draft::default()
        }
    }

    #[test]
    fn bare_guids_are_scoped_to_their_source() {
        let a = draft(Some("42"), "https://a.example/1").into_item("A", Details::News, 100);
        let b = draft(Some("42"), "https://b.example/1").into_item("B", Details::News, 100);
        assert_ne!(a.id, b.id);
        assert_eq!(dedup(vec![a, b]).len(), 2);
    }

    #[test]
    fn merges_same_link_across_feeds() {
        let a = draft(None, "https://a.example/story?utm_source=x").into_item("A", Details::News, 100);
        let mut b = draft(Some("urn:b:1"), "https://a.example/story").into_item("B", Details::News, 100);
        b.categories = vec!["trade".into()];
        let merged = dedup(vec![a, b]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].source, "A");
        assert_eq!(merged[0].also_in, ["B"]);
        assert_eq!(merged[0].categories, ["trade"]);
    }

    #[test]
    fn merges_same_uri_guid_across_feeds() {
        let a = draft(Some("tag:x,2026:1"), "https://a.example/1").into_item("A", Details::News, 100);
        let b = draft(Some("tag:x,2026:1"), "https://mirror.example/1").into_item("B", Details::News, 100);
        assert_eq!(dedup(vec![a, b]).len(), 1);
    }

    #[test]
    fn id_is_stable_and_short() {
        let a = draft(Some("tag:x,2026:1"), "https://a.example/1").into_item("A", Details::News, 100);
        assert_eq!(a.id.len(), 16);
        assert_eq!(a.id, stable_id("other", Some("tag:x,2026:1"), "", ""));
    }
}
