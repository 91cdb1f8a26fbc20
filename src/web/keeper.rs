//! `serve`'s store, owned by one thread ([`super::worker`]), never by the
//! threads answering connections. It commits the unsubscribes that arrived
//! together in one transaction and answers each request after that commit.
//! When another process holds the store, it waits at most [`BUSY_WAIT`],
//! keeps the requests in the [`Spool`] instead (on disk before the answer
//! goes out), and applies the spool as soon as the store is free. Every
//! other page's work on the store runs here too, in the order it arrived.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::worker::{Owner, Rhythm, Worker};
use crate::audience::Unsubscribe;
use crate::audience::spool::{Keeping, Spool};
use crate::causes::said_once;
use crate::store::{Store, StoreError, UnsubscribeRequest as Kept};

/// How long a request waits for a store another process holds.
const BUSY_WAIT: Duration = Duration::from_millis(500);
/// How often the kept unsubscribes are tried again while the store is busy.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Unsubscribes committed in one transaction at most.
const BATCH: usize = 1024;

/// The thread's rhythm: awake at least every [`RETRY_EVERY`], up to
/// [`BATCH`] jobs together.
pub(super) const RHYTHM: Rhythm = Rhythm {
    every: RETRY_EVERY,
    batch: BATCH,
};

/// The store, the spool beside it, and the unsubscribes of the jobs at hand.
pub(super) struct Keeper {
    store: Store,
    spool: Spool,
    /// Unsubscribes queued by the current batch, committed once it is done.
    pending: Vec<(Unsubscribe, oneshot::Sender<Outcome>)>,
    /// Requests wait in the spool.
    kept: bool,
    last_try: Option<Instant>,
}

/// How an unsubscribe went.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
    /// Committed to the store.
    Stored,
    /// The store was busy: kept in the spool, applied later.
    Kept,
    /// The store was busy and the spool full: not recorded, they try again later.
    Full,
    /// Neither: the person has to try again.
    Failed,
}

impl From<Keeping> for Outcome {
    fn from(keeping: Keeping) -> Outcome {
        match keeping {
            Keeping::Kept => Outcome::Kept,
            Keeping::Full => Outcome::Full,
        }
    }
}

impl Keeper {
    /// The store at `path`, waiting at most [`BUSY_WAIT`] for another process.
    pub(super) fn open(path: &std::path::Path) -> Result<Keeper, StoreError> {
        let store = Store::open(path)?;
        store.set_busy_timeout(BUSY_WAIT)?;
        let spool = Spool::beside(path);
        Ok(Keeper {
            store,
            kept: !spool.is_empty(),
            spool,
            pending: Vec::new(),
            last_try: None,
        })
    }

    /// Applies the spool; `true` when it is empty afterwards.
    fn apply_spool(&mut self) -> bool {
        match self.spool.apply(&mut self.store) {
            Ok(0) => true,
            Ok(count) => {
                eprintln!(
                    "applied {count} kept unsubscribe(s) from {}",
                    self.spool.path().display()
                );
                true
            }
            Err(_) => false,
        }
    }
}

impl Owner for Keeper {
    fn woken(&mut self) {
        if self.kept && self.last_try.is_none_or(|t| t.elapsed() >= RETRY_EVERY) {
            self.last_try = Some(Instant::now());
            self.kept = !self.apply_spool();
        }
    }

    fn settled(&mut self, at: DateTime<Utc>) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let requests: Vec<Kept> = batch
            .iter()
            .map(|(request, _)| Kept {
                email: request.email.clone(),
                newsletter: Some(request.newsletter.clone()),
                at,
            })
            .collect();
        // While earlier requests wait in the spool, later ones join them:
        // the store is likely still busy, and they stay in order.
        let stored = !self.kept
            && self
                .store
                .unsubscribe_many(&requests)
                .map_err(|e| {
                    eprintln!(
                        "warning: the store is unavailable ({}); keeping unsubscribes in {}",
                        said_once(&e),
                        self.spool.path().display()
                    )
                })
                .is_ok();
        let outcomes = if stored {
            vec![Outcome::Stored; batch.len()]
        } else {
            match self.spool.keep(&requests) {
                Ok(keeping) => {
                    if !self.kept {
                        self.last_try = Some(Instant::now());
                    }
                    self.kept = true;
                    keeping.into_iter().map(Outcome::from).collect()
                }
                Err(e) => {
                    eprintln!("error: unsubscribes neither stored nor kept: {}", said_once(&e));
                    vec![Outcome::Failed; batch.len()]
                }
            }
        };
        for ((_, done), outcome) in batch.into_iter().zip(outcomes) {
            let _ = done.send(outcome);
        }
    }

    fn stopped(&mut self) {
        if self.kept {
            self.apply_spool();
        }
    }
}

impl Worker<Keeper> {
    /// Runs `work` on the store, after what is queued before it, with the
    /// time it runs at; `None` when the store's thread has stopped.
    pub(super) async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        self.run(move |keeper, now| work(&mut keeper.store, now)).await
    }

    /// [`Worker::with_store`] for the sign-up's mailer thread, which waits.
    pub(super) fn with_store_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        self.run_blocking(move |keeper, now| work(&mut keeper.store, now))
    }

    /// One unsubscribe, committed with the others of its batch, or kept in
    /// the spool while the store is busy.
    pub(super) async fn unsubscribe(&self, request: Unsubscribe) -> Outcome {
        let (done, outcome) = oneshot::channel();
        if !self.queue(move |keeper, _| keeper.pending.push((request, done))) {
            return Outcome::Failed;
        }
        outcome.await.unwrap_or(Outcome::Failed)
    }
}
