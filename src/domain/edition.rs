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
