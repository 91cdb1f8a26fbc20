//! The stored items, decoded and made something else on every core: the
//! store hands out undecoded rows; decoding and classifying are most of a
//! build's time, so they run here, in parallel, not in the storage layer.

use std::num::NonZero;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use crate::items::{Item, for_terminal};
use crate::store::{ItemOrder, ItemRow, Result, Store};

/// The fewest characters of an id taken as a prefix, as git takes an
/// abbreviated object name: fewer would match most of a store.
pub(crate) const SHORTEST_PREFIX: usize = 4;

/// Why an item id, or the start of one, names no single stored item.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ItemIdError {
    #[error("no stored item {0:?}; `bulletin items` lists the items and their ids")]
    Unknown(String),
    #[error(
        "{0:?} is too short to name an item: give at least {SHORTEST_PREFIX} characters of its id \
         (`bulletin items` lists them)"
    )]
    TooShort(String),
    /// The prefix, and (id, title) of the first items it begins.
    #[error("{prefix:?} is ambiguous: it begins {}; give more of the id", listed(.candidates))]
    Ambiguous {
        prefix: String,
        candidates: Vec<(String, String)>,
    },
}

/// "ID (TITLE), ID (TITLE)", fit for a terminal.
fn listed(candidates: &[(String, String)]) -> String {
    candidates
        .iter()
        .map(|(id, title)| format!("{id} ({})", for_terminal(title)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stored item `given` names: its whole id, or (as git takes an
/// abbreviated object name) a unique start of one of at least
/// [`SHORTEST_PREFIX`] characters; an ambiguous start is refused, listing
/// the items it begins.
pub(crate) fn resolve_item(store: &Store, given: &str) -> anyhow::Result<String> {
    let given = given.trim().to_ascii_lowercase();
    if store.item(&given)?.is_some() {
        return Ok(given);
    }
    // Ten candidates are enough to see that more of the id is needed.
    let found = store.items_starting(&given, 10)?;
    Ok(pick(given, found)?)
}

/// The item of `placed` (id, title) that `given` names, by the same rule
/// as [`resolve_item`]: what a correction to a draft's own items reads.
pub(crate) fn resolve_among<'a>(
    given: &str,
    placed: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<String, ItemIdError> {
    let given = given.trim().to_ascii_lowercase();
    let found: Vec<(String, String)> = placed
        .filter(|(id, _)| id.starts_with(&given))
        .map(|(id, title)| (id.to_string(), title.to_string()))
        .collect();
    if found.iter().any(|(id, _)| *id == given) {
        return Ok(given);
    }
    pick(given, found)
}

/// The one id of `found` that `given` begins, or why there is none.
fn pick(given: String, mut found: Vec<(String, String)>) -> std::result::Result<String, ItemIdError> {
    if given.chars().count() < SHORTEST_PREFIX {
        return Err(ItemIdError::TooShort(given));
    }
    match found.len() {
        0 => Err(ItemIdError::Unknown(given)),
        1 => Ok(found.remove(0).0),
        _ => Err(ItemIdError::Ambiguous {
            prefix: given,
            candidates: found,
        }),
    }
}

/// Rows per message to the decoding threads: few enough to keep every core
/// busy, enough that the channel costs nothing.
const CHUNK: usize = 256;

/// Every stored item, oldest first seen first, made a `T` by `each` as it
/// is read, or left out when `each` gives `None`: the items are the bulk of
/// a run's memory, and are never all held twice (as stored text and as
/// items, or as items and as `T`s).
///
/// This thread reads the rows, a few hundred at a time, and threads on the
/// other cores decode them and run `each`. The `T`s are sorted after.
pub(crate) fn items_with<T: Send>(store: &Store, each: impl Fn(Item) -> Option<T> + Sync) -> Result<Vec<T>> {
    let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
    let (send, receive) = sync_channel::<Vec<ItemRow>>(cores);
    let receive = Mutex::new(receive);
    let path = store.path();
    let work = || -> Result<Vec<(ItemOrder, T)>> {
        let mut kept = Vec::new();
        loop {
            // A worker that panicked ends the run below; the others go on.
            let next = receive
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .recv();
            let Ok(chunk) = next else {
                return Ok(kept);
            };
            for row in chunk {
                let (order, item) = row.decode(path)?;
                if let Some(made) = each(item) {
                    kept.push((order, made));
                }
            }
        }
    };
    let (read, made) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores).map(|_| scope.spawn(work)).collect();
        let read = store.item_rows(CHUNK, |chunk| send.send(chunk).is_ok());
        drop(send); // the workers end once the queue is empty
        let made: Vec<_> = workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        (read, made)
    });
    read?;
    let mut items = Vec::new();
    for kept in made {
        items.extend(kept?);
    }
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(items.into_iter().map(|(_, item)| item).collect())
}
