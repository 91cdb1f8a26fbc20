//! `bulletin serve`: the unsubscribe endpoint behind every mail's link,
//! the sign-up form with its confirmation page (`signup.rs`), and the
//! preference centre ([`super::preferences`]) behind its footer's link.
//!
//! GET shows a page with a button and changes nothing: mail scanners and
//! link previews follow links. POST (the button, or a mail client's RFC 8058
//! one-click request) checks the token and unsubscribes at once. No cookie,
//! no login, no redirect; a bad token gets a plain 400 page.
//!
//! The HTTP side runs on [`crate::server`]'s limits. The store is used by
//! one thread of its own, never by the thread answering connections: it
//! commits the unsubscribes that arrived together in one transaction and
//! answers each request after that commit. When another process holds the
//! store, it waits at most [`BUSY_WAIT`], keeps the requests in the
//! [`Spool`] instead (on disk before the answer goes out), answers 503 with
//! `Retry-After`, and applies the spool as soon as the store is free. A
//! request the full spool cannot take is answered 503 too, saying it was
//! not recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use askama::Template;
use chrono::{DateTime, Utc};
use hyper::Method;
use tokio::sync::oneshot;

use super::preferences::PreferenceCentre;
use super::server::{Handler, Hosts, Limits, Page, Request, Server, ServerError};
use super::signup::{Signup, SignupError};
use crate::audience::spool::{Keeping, Spool};
use crate::audience::token::{Key, Unsubscribe, verify};
use crate::causes::said_once;
use crate::config::Config;
use crate::store::{Store, StoreError, UnsubscribeRequest as Kept};

/// How long a request waits for a store another process holds.
const BUSY_WAIT: Duration = Duration::from_millis(500);
/// How often the kept unsubscribes are tried again while the store is busy.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// What a 503 asks a one-click client to wait before trying again.
const RETRY_AFTER_SECS: u32 = 60;
/// Unsubscribes committed in one transaction at most.
const BATCH: usize = 1024;

/// Serves until SIGTERM or Ctrl-C; prints the address it listens on first.
pub(crate) fn serve(
    config: Arc<Config>,
    listen: &str,
    limits: Limits,
    key: &Key,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<(), ServeError> {
    let mail = config.mail.as_ref().ok_or(ServeError::NoMail)?;
    let path = mail.unsubscribe_url.path().to_string();
    let (signup, mailer) = match Signup::new(&config, mail, key)? {
        Some((signup, mailer)) => (Some(signup), Some(mailer)),
        None => (None, None),
    };
    let preferences = PreferenceCentre::new(&config, mail);
    let store = Store::open(&config.store_path())?;
    store.set_busy_timeout(BUSY_WAIT)?;
    let spool = Spool::beside(&config.store_path());
    let server = Server::bind(listen)?;
    let addr = server.local_addr()?;
    println!("listening on http://{addr}{path}");
    let proxies = config.site.trusted_proxies.clone();
    let (jobs, queue) = std::sync::mpsc::channel();
    let endpoint = Arc::new(Endpoint {
        unsubscribe_path: path,
        signup,
        preferences,
        site_name: config.site.name.clone(),
        titles: config
            .newsletters
            .iter()
            .map(|n| (n.id.to_string(), n.title.clone()))
            .collect(),
        key: key.clone(),
        jobs,
    });
    let mailer = mailer.map(|mailer| (mailer, StoreQueue(endpoint.jobs.clone())));
    std::thread::scope(|scope| {
        scope.spawn(move || keep_store(store, &spool, &queue, now));
        if let Some((mailer, store)) = mailer {
            // Ends once the endpoint is dropped; the store's thread after it.
            scope.spawn(move || mailer.run(&store));
        }
        // Returns once every connection is closed; the endpoint, and with
        // it the queue's sender, is dropped with them: the store thread ends.
        server.run(endpoint, Hosts::Any, limits, proxies)
    })?;
    Ok(())
}

/// Why the unsubscribe endpoint could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error("no [mail] section in the config: there is nothing to unsubscribe from")]
    NoMail,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Signup(#[from] SignupError),
}

/// What the HTTP side knows: no store, only a queue to the store's thread.
pub(super) struct Endpoint {
    unsubscribe_path: String,
    /// The sign-up form, when `site.subscribe_url` is set.
    pub(super) signup: Option<Signup>,
    /// The preference centre, at `mail.preferences_url`'s path.
    preferences: PreferenceCentre,
    /// `[site] name`, on every page.
    pub(super) site_name: String,
    titles: HashMap<String, String>,
    pub(super) key: Key,
    jobs: Sender<Job>,
}

/// What the store's thread is asked to do.
enum Job {
    /// One unsubscribe, and where to say how it went: batched with the
    /// others that arrived together, kept in the spool while the store is
    /// busy.
    Unsubscribe {
        request: Unsubscribe,
        done: oneshot::Sender<Outcome>,
    },
    /// Any other page's work on the store, run on its own with the time
    /// it runs at; it sends its own answer back (see [`Endpoint::with_store`]).
    Work(StoreWork),
}

/// A page's work on the store, given the time it runs at.
type StoreWork = Box<dyn FnOnce(&mut Store, DateTime<Utc>) + Send>;

/// `work` as a job for the store's thread, and where its result arrives.
fn work_job<T: Send + 'static>(
    work: impl FnOnce(&mut Store, DateTime<Utc>) -> T + Send + 'static,
) -> (Job, oneshot::Receiver<T>) {
    let (reply, answer) = oneshot::channel();
    let job = Job::Work(Box::new(move |store: &mut Store, now| {
        let _ = reply.send(work(store, now));
    }));
    (job, answer)
}

/// The store's thread, for a thread of `serve`'s own (the sign-up's
/// mailer) that waits for each answer, as [`Endpoint::with_store`] awaits it.
pub(super) struct StoreQueue(Sender<Job>);

impl StoreQueue {
    /// Runs `work` on the store's thread and waits for its result; `None`
    /// when that thread has stopped.
    pub(super) fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        let (job, answer) = work_job(work);
        self.0.send(job).ok()?;
        answer.blocking_recv().ok()
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
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

impl Handler for Endpoint {
    async fn handle(&self, request: Request) -> Page {
        let Ok(url) = url::Url::parse(&format!("http://localhost{}", request.target)) else {
            return page(400, &Answer::BadRequest, &self.site_name);
        };
        // One arm per page `serve` shows.
        match url.path() {
            path if path == self.unsubscribe_path => self.unsubscribe_page(&request, &url).await,
            path if path == self.preferences.path() => self.preferences.answer(self, &request, &url).await,
            // Browsers ask for it on their own; a 404 shows as an error in their console.
            "/favicon.ico" => Page::text(204, String::new()),
            path if let Some(signup) = &self.signup
                && let Some(page) = signup.page(path) =>
            {
                self.signup_page(page, &request, &url).await
            }
            _ => page(404, &Answer::NotFound, &self.site_name),
        }
    }
}

impl Endpoint {
    /// The unsubscribe link's page: GET asks, POST unsubscribes.
    async fn unsubscribe_page(&self, request: &Request, url: &url::Url) -> Page {
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let Some(unsubscribe) = verify(&self.key, &token) else {
            return page(400, &Answer::InvalidLink, &self.site_name);
        };
        let title = self
            .titles
            .get(&unsubscribe.newsletter)
            .cloned()
            .unwrap_or_else(|| unsubscribe.newsletter.clone());
        match request.method {
            Method::GET | Method::HEAD => {
                let action = format!("{}?{}", url.path(), url.query().unwrap_or(""));
                let confirm = Answer::Confirm {
                    title: &title,
                    email: &unsubscribe.email,
                    action: &action,
                };
                page(200, &confirm, &self.site_name)
            }
            Method::POST => self.unsubscribe(unsubscribe, &title).await,
            _ => page(405, &Answer::MethodNotAllowed, &self.site_name),
        }
    }

    /// Runs `work` on the store's thread, after what is queued before it,
    /// with the time (`serve`'s clock) it runs at, and returns its result;
    /// `None` when that thread has stopped.
    pub(super) async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store, DateTime<Utc>) -> T + Send + 'static,
    ) -> Option<T> {
        let (job, answer) = work_job(work);
        self.jobs.send(job).ok()?;
        answer.await.ok()
    }

    async fn unsubscribe(&self, request: Unsubscribe, title: &str) -> Page {
        let email = request.email.clone();
        let (reply, outcome) = oneshot::channel();
        let outcome = match self.jobs.send(Job::Unsubscribe { request, done: reply }) {
            Ok(()) => outcome.await.unwrap_or(Outcome::Failed),
            Err(_) => Outcome::Failed,
        };
        match outcome {
            Outcome::Stored => page(200, &Answer::Done { title, email: &email }, &self.site_name),
            Outcome::Kept => Page {
                retry_after: Some(RETRY_AFTER_SECS),
                ..page(503, &Answer::Kept { title, email: &email }, &self.site_name)
            },
            Outcome::Full => Page {
                retry_after: Some(RETRY_AFTER_SECS),
                ..page(503, &Answer::Full, &self.site_name)
            },
            Outcome::Failed => page(500, &Answer::Failed, &self.site_name),
        }
    }
}

/// The store's thread: commits what arrives, grouped, until the queue
/// closes; keeps it in the spool while the store is busy.
fn keep_store(
    mut store: Store,
    spool: &Spool,
    queue: &Receiver<Job>,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) {
    let mut kept = !spool.is_empty();
    let mut last_try: Option<Instant> = None;
    loop {
        let first = match queue.recv_timeout(RETRY_EVERY) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if kept && last_try.is_none_or(|t| t.elapsed() >= RETRY_EVERY) {
            last_try = Some(Instant::now());
            kept = !apply(spool, &mut store);
        }
        let Some(first) = first else { continue };
        let mut jobs = vec![first];
        while jobs.len() < BATCH
            && let Ok(job) = queue.try_recv()
        {
            jobs.push(job);
        }
        let mut batch = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Unsubscribe { request, done } => batch.push((request, done)),
                Job::Work(work) => work(&mut store, now()),
            }
        }
        if batch.is_empty() {
            continue;
        }
        let at = now();
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
        let stored = !kept
            && store
                .unsubscribe_many(&requests)
                .map_err(|e| {
                    eprintln!(
                        "warning: the store is unavailable ({}); keeping unsubscribes in {}",
                        said_once(&e),
                        spool.path().display()
                    )
                })
                .is_ok();
        let outcomes = if stored {
            vec![Outcome::Stored; batch.len()]
        } else {
            match spool.keep(&requests) {
                Ok(keeping) => {
                    if !kept {
                        last_try = Some(Instant::now());
                    }
                    kept = true;
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
    if kept {
        apply(spool, &mut store);
    }
}

/// Applies the spool; `true` when it is empty afterwards.
fn apply(spool: &Spool, store: &mut Store) -> bool {
    match spool.apply(store) {
        Ok(0) => true,
        Ok(count) => {
            eprintln!(
                "applied {count} kept unsubscribe(s) from {}",
                spool.path().display()
            );
            true
        }
        Err(_) => false,
    }
}

/// What the unsubscribe page says: one of these, in `templates/unsubscribe.html`.
enum Answer<'a> {
    /// The GET: a button that POSTs back to the same link.
    Confirm {
        title: &'a str,
        email: &'a str,
        /// The path and query the button posts to.
        action: &'a str,
    },
    Done {
        title: &'a str,
        email: &'a str,
    },
    /// The store was busy: the request is in the spool.
    Kept {
        title: &'a str,
        email: &'a str,
    },
    /// The store was busy and the spool full: nothing recorded.
    Full,
    InvalidLink,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    Failed,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    answer: &'a Answer<'a>,
    site_name: &'a str,
}

/// The page for `answer`, askama escaping every value in it.
fn page(status: u16, answer: &Answer<'_>, site_name: &str) -> Page {
    rendered(status, &UnsubscribePage { answer, site_name })
}

/// Any page of `serve`'s, rendered; a 500 in plain text if it cannot be.
pub(super) fn rendered(status: u16, template: &impl Template) -> Page {
    match template.render() {
        Ok(html) => Page::html(status, html),
        Err(e) => Page::text(500, format!("the page could not be rendered: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, UnsubscribePage};
    use askama::Template;

    #[test]
    fn the_confirm_page_escapes_what_it_shows_and_posts_back() {
        let html = UnsubscribePage {
            answer: &Answer::Confirm {
                title: "News <b>&</b>",
                email: "o'brien@example.ie",
                action: "/unsubscribe?t=a\"b",
            },
            site_name: "EU-Japan <Centre>",
        }
        .render()
        .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(
            html.contains("Stop sending News &#60;b&#62;&#38;&#60;/b&#62; to o&#39;brien@example.ie?"),
            "{html}"
        );
        assert!(
            html.contains("<form method=\"post\" action=\"/unsubscribe?t=a&#34;b\">"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("EU-Japan &#60;Centre&#62;"), "{html}");
    }
}
