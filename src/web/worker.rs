//! The one design of a thread that owns what the pages share: `serve`'s
//! store ([`super::keeper`]), the preview's snapshot and the editor's
//! changes ([`super::preview`]). The pages never touch it: they send it
//! work ([`Worker`]) and await the result, so the threads answering
//! connections never wait on SQLite or a rebuild, and the owner's work is
//! done one job at a time, in the order it arrived.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

/// One piece of work for the owner, given the time (the command's clock)
/// it runs at.
pub(super) type Job<S> = Box<dyn FnOnce(&mut S, DateTime<Utc>) + Send>;

/// The pages' side of the owner's thread: work goes in, results come back.
pub(super) struct Worker<S>(Sender<Job<S>>);

impl<S> Clone for Worker<S> {
    fn clone(&self) -> Self {
        Worker(self.0.clone())
    }
}

impl<S: 'static> Worker<S> {
    /// Queues `work` and returns at once; `false` when the thread has stopped.
    pub(super) fn queue(&self, work: impl FnOnce(&mut S, DateTime<Utc>) + Send + 'static) -> bool {
        self.0.send(Box::new(work)).is_ok()
    }

    /// Runs `work` after what is queued before it and returns its result;
    /// `None` when the thread has stopped.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut S, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        self.ask(work)?.await.ok()
    }

    /// [`Worker::run`] for a thread of the command's own (the sign-up's
    /// mailer), which waits for the answer.
    pub(super) fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut S, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        self.ask(work)?.blocking_recv().ok()
    }

    fn ask<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut S, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<oneshot::Receiver<T>> {
        let (reply, answer) = oneshot::channel();
        let queued = self.queue(move |owner, now| {
            // The page that asked may be gone: nobody to tell.
            let _ = reply.send(work(owner, now));
        });
        queued.then_some(answer)
    }
}

/// What the owner does besides the jobs.
pub(super) trait Owner {
    /// On every wake, a job or [`Rhythm::every`] without one, before the
    /// jobs that arrived together: `serve` tries its spool again.
    fn woken(&mut self) {}
    /// After the jobs that arrived together, or after a quiet
    /// [`Rhythm::every`]: `serve` commits the unsubscribes they queued in
    /// one transaction; the preview rebuilds when a watched file changed.
    fn settled(&mut self, now: DateTime<Utc>);
    /// Once every [`Worker`] is gone (the server stopped).
    fn stopped(&mut self) {}
}

/// How the owner's thread wakes and takes its jobs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rhythm {
    /// The longest it sleeps without a job.
    pub(super) every: Duration,
    /// Jobs taken together at most, before [`Owner::settled`].
    pub(super) batch: usize,
}

/// A worker and the queue its owner's thread reads.
pub(super) fn channel<S>() -> (Worker<S>, Receiver<Job<S>>) {
    let (sender, queue) = std::sync::mpsc::channel();
    (Worker(sender), queue)
}

/// The owner's thread: runs each job as it arrives, the ones that arrived
/// together as one batch, until every [`Worker`] is dropped.
pub(super) fn work<S: Owner>(
    owner: &mut S,
    queue: &Receiver<Job<S>>,
    rhythm: Rhythm,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) {
    loop {
        let first = match queue.recv_timeout(rhythm.every) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        owner.woken();
        let mut jobs: Vec<Job<S>> = first.into_iter().collect();
        while !jobs.is_empty()
            && jobs.len() < rhythm.batch
            && let Ok(job) = queue.try_recv()
        {
            jobs.push(job);
        }
        for job in jobs {
            job(owner, now());
        }
        owner.settled(now());
    }
    owner.stopped();
}
