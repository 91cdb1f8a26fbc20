//! The stored items, decoded and made something else on every core: the
//! store hands out undecoded rows; decoding and classifying are most of a
//! build's time, so they run here, in parallel, not in the storage layer.

use std::num::NonZero;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use crate::items::Item;
use crate::store::{ItemOrder, ItemRow, Result, Store};

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
