//! Which edition, and an item as placed in one: what the store records and
//! the delivery log names, shared by `editions`, `store` and `deliver`.

use crate::items::Item;

/// Which edition: a newsletter's id and the edition's number, named so
/// that the delivery log and the store cannot swap or mistake them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct EditionRef {
    pub(crate) newsletter: String,
    /// No. 1, 2, … within the newsletter.
    pub(crate) number: u32,
}

/// An item as placed in an edition: what the store records, so a rebuild
/// lays out the same items in the same places.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub(crate) section: String,
    pub(crate) featured: bool,
    /// A tender of an earlier edition listed again until its deadline: read
    /// from that edition's record, never recorded again.
    pub(crate) still_open: bool,
    pub(crate) item: Item,
}

/// One correction an editor makes to a draft: recorded in the store with
/// who and when, and applied, in the order made, on every rebuild of the
/// draft. Items are named by the id `bulletin items` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Correction {
    /// Not in this edition, nor in the newsletter's later ones: recorded
    /// with a `never` rule on the item, which an `Add` of it takes back.
    Drop { item: String },
    /// Any stored item, into `section` (by default the one it is classified
    /// to, or the first that takes its kind), at the section's end.
    Add { item: String, section: Option<String> },
    /// To `section`, at `position` (1 = first; by default the end).
    Move {
        item: String,
        section: String,
        position: Option<usize>,
    },
    /// The item's title, in this edition.
    Retitle { item: String, title: String },
    /// The item's one-line teaser (shown under "More"), in this edition.
    Teaser { item: String, teaser: String },
    /// The editor's introduction, Markdown, shown at the top; empty removes it.
    Intro { markdown: String },
}

impl Correction {
    /// The item it is about, if any.
    pub(crate) fn item(&self) -> Option<&str> {
        match self {
            Correction::Drop { item }
            | Correction::Add { item, .. }
            | Correction::Move { item, .. }
            | Correction::Retitle { item, .. }
            | Correction::Teaser { item, .. } => Some(item),
            Correction::Intro { .. } => None,
        }
    }

    /// The same correction about item `id` instead (an id given as a
    /// prefix, resolved); an introduction is about no item and stays.
    pub(crate) fn with_item(self, id: String) -> Correction {
        match self {
            Correction::Drop { .. } => Correction::Drop { item: id },
            Correction::Add { section, .. } => Correction::Add { item: id, section },
            Correction::Move {
                section, position, ..
            } => Correction::Move {
                item: id,
                section,
                position,
            },
            Correction::Retitle { title, .. } => Correction::Retitle { item: id, title },
            Correction::Teaser { teaser, .. } => Correction::Teaser { item: id, teaser },
            intro @ Correction::Intro { .. } => intro,
        }
    }

    /// Its name in the store and in `editions show`.
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Correction::Drop { .. } => "drop",
            Correction::Add { .. } => "add",
            Correction::Move { .. } => "move",
            Correction::Retitle { .. } => "retitle",
            Correction::Teaser { .. } => "teaser",
            Correction::Intro { .. } => "intro",
        }
    }
}
