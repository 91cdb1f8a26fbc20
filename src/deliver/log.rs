//! The delivery log as the sending workers write it, with group commit.
//!
//! A message is marked `sending` before it goes to the server, and the
//! worker waits until that mark is committed: so a killed send leaves at
//! most one message per worker in doubt. Its outcome is queued without
//! waiting, and lands with the next commit, at the latest together with
//! the same worker's next mark, or with [`Log::flush`] at the end. Rows that
//! come in while a commit runs wait for the next one and go in together. A
//! commit writes whole pages, however few rows change, so with eight
//! workers this takes the log from two commits a message to one per batch
//! of messages, without widening the window of doubt.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::store::{Delivery, Store};

pub struct Log<'s> {
    edition: (&'s str, u32),
    now: DateTime<Utc>,
    store: Mutex<Committed<'s>>,
    queue: Mutex<Queued>,
}

/// The store, and how far the log is written.
struct Committed<'s> {
    store: &'s mut Store,
    /// Every row queued up to this number is committed.
    through: u64,
    /// A commit failed: the rows it held, and any after, are not written.
    failed: Option<String>,
}

/// Rows waiting for the next commit; `count` numbers every row ever queued.
#[derive(Default)]
struct Queued {
    rows: Vec<Delivery>,
    count: u64,
}

impl<'s> Log<'s> {
    pub fn new(store: &'s mut Store, edition: (&'s str, u32), now: DateTime<Utc>) -> Log<'s> {
        Log {
            edition,
            now,
            store: Mutex::new(Committed {
                store,
                through: 0,
                failed: None,
            }),
            queue: Mutex::default(),
        }
    }

    /// Reads from the store between commits.
    pub fn read<T>(&self, read: impl FnOnce(&Store) -> T) -> T {
        read(self.store.lock().expect("poisoned").store)
    }

    /// Queues the `sending` mark (or any row) and returns once it is
    /// committed, with every row queued before it.
    pub fn record(&self, row: Delivery) -> Result<(), String> {
        let ticket = self.queue(row);
        self.commit_through(ticket)
    }

    /// Queues an outcome, to be committed with the next mark or the flush.
    /// Fails only once an earlier commit has failed.
    pub fn settle(&self, row: Delivery) -> Result<(), String> {
        self.queue(row);
        match &self.store.lock().expect("poisoned").failed {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Commits whatever is still queued: call it once the workers are done.
    pub fn flush(&self) -> Result<(), String> {
        let count = self.queue.lock().expect("poisoned").count;
        self.commit_through(count)
    }

    fn queue(&self, row: Delivery) -> u64 {
        let mut queue = self.queue.lock().expect("poisoned");
        queue.rows.push(row);
        queue.count += 1;
        queue.count
    }

    /// Returns once every row up to `ticket` is committed, committing all
    /// that is queued if no other worker's commit has taken it.
    fn commit_through(&self, ticket: u64) -> Result<(), String> {
        let mut committed = self.store.lock().expect("poisoned");
        if committed.through >= ticket {
            return Ok(()); // another worker's commit took it
        }
        if let Some(error) = &committed.failed {
            return Err(error.clone());
        }
        let (rows, last) = {
            let mut queue = self.queue.lock().expect("poisoned");
            (std::mem::take(&mut queue.rows), queue.count)
        };
        match committed.store.record_deliveries(self.edition, &rows, self.now) {
            Ok(()) => {
                committed.through = last;
                Ok(())
            }
            Err(error) => Err(committed.failed.insert(error.to_string()).clone()),
        }
    }
}
