//! Sending one edition to its subscribers: audiences enforced, one message
//! each, a bounded number in flight, a rate limit, retries with back-off for
//! 4xx replies and broken connections, and every message written to the
//! delivery log just before it goes out (`sending`) and when the server
//! has answered. Messages spread over the relays by weight (`relays.rs`);
//! a relay whose session cannot be opened or kept rests and the others
//! take its messages. Only the recipient's 5xx is a hard bounce; when no
//! relay is left, the send stops (see [`send_edition`]).
//!
//! The one window where a subscriber can get two copies: the server accepted
//! a message and the process died (or the connection broke) before the
//! acceptance was recorded. The log then says `sending`, and the next send
//! sends it again, with the same Message-ID, which receiving systems use to
//! collapse duplicates. Losing a message would be worse than that.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::log::{Log, LogError};
use super::message::{Letter, MailTemplate, MessageError};
use super::relays::{Relays, Share, Shift, Verdict};
use super::smtp::{Failure, Session, SessionError, SetupError, SmtpClient};
use super::transport::Sender;
use crate::audience::subscribers::{AddressError, admits};
use crate::audience::suppression::{Suppressed, SuppressionError};
use crate::audience::token::{Key, KeyError};
use crate::backoff::BackOff;
use crate::causes::said_once;
use crate::config::{Config, Mail, Smtp, Transport};
use crate::domain::EditionRef;
use crate::editions::Edition;
use crate::store::{Delivery, Recipient, Status, Store, StoreError};

/// What `bulletin send` does: one of three, never two at once (a dry run
/// that also sent a test copy once went out as a real message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SendMode {
    /// Send to every subscriber due, through the delivery log.
    #[default]
    Real,
    /// List who would get what; send nothing.
    DryRun,
    /// Send one test copy to this address instead; nothing is logged.
    TestTo(String),
}

/// How `bulletin send` runs.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    pub mode: SendMode,
    /// Show a progress line on stderr.
    pub progress: bool,
}

impl SendOptions {
    fn dry_run(&self) -> bool {
        self.mode == SendMode::DryRun
    }
}

/// What a send did, for the summary and the exit code.
#[derive(Debug, Default)]
pub(crate) struct SendReport {
    pub(crate) sent: usize,
    pub(crate) already_sent: usize,
    /// Messages found `sending` in the log (a killed run): sent again.
    pub(crate) resent: usize,
    /// A 4xx to the recipient, or a connection broken after the message
    /// was handed over, after every try: sent again next time.
    pub(crate) deferred: Outcomes,
    /// A 5xx to the recipient (a hard bounce), or an address the server
    /// cannot take (no bounce): not sent again for this edition.
    pub(crate) failed: Outcomes,
    /// Left out, by reason.
    pub(crate) skipped: BTreeMap<String, usize>,
    /// `--dry-run`: who would get the edition.
    pub(crate) would_send: Vec<String>,
    /// What the operator should know though everything went out.
    pub(crate) notes: Vec<String>,
    /// The folder the file transport wrote the messages to.
    pub(crate) folder: Option<PathBuf>,
    /// Each relay's part: what it sent, how it failed.
    pub(crate) relays: Vec<Share>,
}

/// How many messages ended one way, with the first few addresses and reasons.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    pub(crate) count: usize,
    pub(crate) examples: Vec<(String, String)>,
}

impl Outcomes {
    /// Reasons kept for the report; the rest are counted (and in the log).
    const EXAMPLES: usize = 100;

    fn add(&mut self, email: &str, reason: String) {
        self.count += 1;
        if self.examples.len() < Self::EXAMPLES {
            self.examples.push((email.to_string(), reason));
        }
    }
}

impl SendReport {
    pub(crate) fn ok(&self) -> bool {
        self.deferred.count == 0 && self.failed.count == 0
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    fn count(&mut self, email: &str, status: Status) {
        match status {
            Status::Sent => self.sent += 1,
            Status::Deferred(reason) => self.deferred.add(email, reason),
            Status::Failed(reason) | Status::Unsendable(reason) => self.failed.add(email, reason),
            Status::Sending => {}
        }
    }
}

/// At most `rate` messages per second across all workers.
struct RateLimit {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimit {
    fn new(rate: f64) -> RateLimit {
        RateLimit {
            interval: (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate)),
            next: Mutex::new(Instant::now()),
        }
    }

    fn wait(&self) {
        let Some(interval) = self.interval else { return };
        let slot = {
            let mut next = self.next.lock().expect("rate limit poisoned");
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        std::thread::sleep(slot.saturating_duration_since(Instant::now()));
    }
}

/// Whether a send could start now: the signing key is in the environment
/// and not guessable, and for SMTP a relay takes a session (greeting, EHLO,
/// STARTTLS and AUTH as configured, then QUIT: no mail). `run` asks before
/// publishing an edition it would mail at once. The first problem: the
/// key's, or when no relay takes a session, the first relay's.
pub(crate) fn check_ready(mail: &Mail) -> Result<(), SendError> {
    let ready = readiness(mail);
    ready.key?;
    let mut refused = None;
    for (_, server) in ready.servers {
        match server {
            Ok(()) => return Ok(()),
            Err(failure) => refused = refused.or(Some(failure)),
        }
    }
    refused.map_or(Ok(()), Err)
}

/// What a send needs, each checked on its own: the signing key, and each
/// relay's session (the file transport has none).
pub(crate) struct Readiness {
    pub(crate) key: Result<(), SendError>,
    /// Each relay, named `host:port`, and whether it took a session.
    pub(crate) servers: Vec<(String, Result<(), SendError>)>,
}

/// Checks each thing a send needs, sending nothing.
pub(crate) fn readiness(mail: &Mail) -> Readiness {
    let key = Key::from_env(&mail.signing_key_env)
        .map(drop)
        .map_err(SendError::from);
    let servers = match mail.transport {
        Transport::File => Vec::new(),
        Transport::Smtp => mail
            .relays()
            .iter()
            .map(|relay| {
                let session = SmtpClient::new(&relay.smtp)
                    .map_err(SendError::Smtp)
                    .and_then(|client| client.check().map_err(SendError::Unreachable));
                (relay.name(), session)
            })
            .collect(),
    };
    Readiness { key, servers }
}

/// Sends `edition` to every eligible subscriber who does not have it yet.
///
/// A session failure (the server cannot be reached, refuses TLS, AUTH,
/// EHLO or MAIL FROM) is the server's or the config's problem, never a
/// subscriber's: the relay rests and the others take its messages; with
/// none left (one relay, after its retry budget) the send stops with that
/// one error, and nothing is recorded against the subscribers not
/// reached, who stay due.
pub(crate) fn send_edition(
    config: &Config,
    store: &mut Store,
    edition: &Edition,
    options: &SendOptions,
    now: DateTime<Utc>,
) -> Result<SendReport, SendError> {
    let mail = config.mail.as_ref().ok_or(SendError::NoMail)?;
    let newsletter = edition.newsletter;
    let id = newsletter.id.as_str();
    let test_to = match &options.mode {
        SendMode::TestTo(to) => Some(to),
        SendMode::Real | SendMode::DryRun => None,
    };
    let which = EditionRef {
        newsletter: id.to_string(),
        number: edition.number,
    };
    let sender = Sender::new(config, mail, &which, test_to.is_some())?;
    let template = MailTemplate::new(edition, &config.site, mail, &config.root, now)?;
    if let Some(to) = test_to {
        return send_test_copy(&sender, &template, mail, to);
    }
    let key = if options.dry_run() {
        None
    } else {
        Some(Key::from_env(&mail.signing_key_env))
    };
    let relays = Relays::new(mail.relays(), |relay| match mail.transport {
        Transport::Smtp => relay.smtp.concurrency.max(1),
        Transport::File => 1,
    });
    let shifts = relays.shifts();
    let workers = shifts.len();
    let routes: Vec<Route> = mail
        .relays()
        .iter()
        .map(|relay| Route {
            settings: &relay.smtp,
            rate: RateLimit::new(relay.smtp.rate_per_second),
        })
        .collect();
    let total = store.recipient_count(id)?;
    let suppressed = Suppressed::load(store, Some(mail))?;
    let log = Log::open(store, which.clone(), now)?;
    let report = Mutex::new(SendReport::default());
    let (queue, taken) = std::sync::mpsc::sync_channel::<Recipient>(QUEUE);
    let taken = Mutex::new(taken);
    let fatal: Mutex<Option<SendError>> = Mutex::new(None);
    let stopped = AtomicBool::new(false);
    let run = match &key {
        Some(Ok(key)) => Some(Run {
            template: &template,
            key,
            sender: &sender,
            routes,
            relays,
            log: &log,
            report: &report,
            done: AtomicUsize::new(0),
            stopped: &stopped,
            live: AtomicUsize::new(workers),
            busy: AtomicUsize::new(0),
            gave_up: Mutex::new(None),
            left: Mutex::new(Vec::new()),
            total,
            progress: options.progress,
        }),
        _ => None,
    };
    std::thread::scope(|scope| {
        if let Some(run) = &run {
            for shift in shifts {
                let (run, taken, fatal) = (run, &taken, &fatal);
                scope.spawn(move || {
                    if let Err(e) = run.work(taken, shift) {
                        fatal.lock().expect("poisoned").get_or_insert(e);
                    }
                });
            }
        }
        let feed = Feed {
            log: &log,
            report: &report,
            newsletter,
            mail,
            edition: &which,
            key: &key,
            stopped: &stopped,
            options,
            suppressed: &suppressed,
        };
        let fed = feed.run(queue);
        if let Err(e) = fed {
            fatal.lock().expect("poisoned").get_or_insert(e);
        }
    });
    if options.progress && !options.dry_run() {
        eprintln!();
    }
    // The journal's rows are of messages the server has taken or may have:
    // they go into the store whatever else went wrong.
    let flushed = log.finish();
    let (gave_up, left, shares) = match run {
        Some(run) => (
            run.gave_up.into_inner().expect("poisoned"),
            run.left.into_inner().expect("poisoned"),
            run.relays.shares(),
        ),
        None => (None, Vec::new(), Vec::new()),
    };
    let mut report = report.into_inner().expect("poisoned");
    // A session failure is the reason the feeder found no worker left: it goes first.
    if let Some(GaveUp { error, tries }) = gave_up
        && !left.is_empty()
    {
        return Err(SendError::Stopped {
            error,
            tries,
            sent: report.sent,
        });
    }
    let setting = if shares.len() > 1 {
        "its concurrency in [[mail.relays]]"
    } else {
        "mail.smtp.concurrency"
    };
    for share in shares.iter().filter(|share| share.parked > 0 && share.rests == 0) {
        report.notes.push(format!(
            "{} of {} connections to {} gave up ({}); the others sent the rest: \
             if the server limits connections, lower {setting}",
            share.parked,
            share.workers,
            share.name,
            share.first_failure.as_deref().unwrap_or_default(),
        ));
    }
    report.relays = shares;
    for recipient in left {
        report
            .deferred
            .add(&recipient.email, "not sent: its connection failed".into());
    }
    if let Some(error) = fatal.into_inner().expect("poisoned") {
        return Err(error);
    }
    flushed?;
    report.folder = sender.folder();
    Ok(report)
}

/// Why a send stopped, or did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("no [mail] section in the config: nothing can be sent")]
    NoMail,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Suppression(#[from] SuppressionError),
    /// The SMTP client could not be set up (TLS roots, credentials).
    #[error(transparent)]
    Smtp(#[from] SetupError),
    /// The SMTP server does not take a session now.
    #[error("the SMTP server cannot take a session")]
    Unreachable(#[source] Failure),
    /// The delivery log could not be written or folded: sending is not safe.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A worker could not hand a message over (its file, its envelope).
    #[error(transparent)]
    Worker(Failure),
    /// A session failed for good; the words say what was sent and what stays due.
    #[error(
        "{error}{}; the send stopped after {sent} sent: nothing was recorded against \
         the subscribers not reached, who stay due for the next send",
        after_tries(*.tries)
    )]
    Stopped {
        error: SessionError,
        tries: u32,
        sent: usize,
    },
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("test copy to {email}")]
    TestCopy {
        email: String,
        #[source]
        source: Failure,
    },
    #[error("every sending worker stopped")]
    NoWorker,
}

/// How many tries a session that failed for good was given, when more than one.
fn after_tries(tries: u32) -> String {
    match tries {
        1 => String::new(),
        n => format!(" (after {n} tries)"),
    }
}

/// `send --to`: one copy, not logged.
fn send_test_copy(
    sender: &Sender,
    template: &MailTemplate,
    mail: &Mail,
    to: &str,
) -> Result<SendReport, SendError> {
    let key = Key::from_env(&mail.signing_key_env)?;
    let email = crate::audience::normalise_email(to)?;
    let letter = template.letter(&key, &email, "")?;
    let mut session = Session::default();
    let sent = sender.send(0, &mut session, &letter, &email, &mut || Ok(()));
    sender.close(0, session);
    sent.map_err(|source| SendError::TestCopy { email, source })?;
    Ok(SendReport {
        sent: 1,
        folder: sender.folder(),
        ..SendReport::default()
    })
}

/// Recipients in flight between the page reader and the workers.
const QUEUE: usize = 256;
/// Recipients read from the store at a time: memory stays flat whatever the list's size.
const PAGE: u32 = 1000;

/// The reader of the subscribers, on a thread of its own beside the workers.
struct Feed<'a, 's> {
    log: &'a Log<'s>,
    report: &'a Mutex<SendReport>,
    newsletter: &'a crate::config::Newsletter,
    mail: &'a Mail,
    /// The edition whose recipients are read.
    edition: &'a EditionRef,
    /// `None` for a dry run; the key's error stops the send at the first
    /// recipient due.
    key: &'a Option<Result<Key, KeyError>>,
    stopped: &'a AtomicBool,
    options: &'a SendOptions,
    suppressed: &'a Suppressed,
}

impl Feed<'_, '_> {
    /// Reads the subscribers page by page, counts those left out, and hands
    /// the rest to the workers (or lists them, for a dry run). Dropping
    /// `queue` at the end tells the workers there is no more.
    fn run(&self, queue: std::sync::mpsc::SyncSender<Recipient>) -> Result<(), SendError> {
        let Feed {
            log,
            report,
            newsletter,
            mail,
            edition,
            key,
            stopped,
            options,
            suppressed,
        } = *self;
        let mut after = String::new();
        // A stopped send reads no further.
        while !stopped.load(Ordering::SeqCst) {
            let page = log.read(|store| store.recipients_page(edition, &after, PAGE))?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = last.email.clone();
            for (recipient, state) in page {
                let due = {
                    let mut report = report.lock().expect("poisoned");
                    // Nobody erased is mailed, even if something added them again.
                    let due = if suppressed.holds(&recipient.email) {
                        report.skip("erased at their request (suppressed)");
                        false
                    } else {
                        due(&mut report, &recipient, state, newsletter, mail)
                    };
                    if due && options.dry_run() {
                        report.would_send.push(recipient.email.clone());
                    }
                    due
                };
                if !due || options.dry_run() {
                    continue;
                }
                match key {
                    Some(Ok(_)) => queue.send(recipient).map_err(|_| SendError::NoWorker)?,
                    Some(Err(why)) => return Err(why.clone().into()),
                    None => unreachable!("only a dry run has no key"),
                }
            }
        }
        Ok(())
    }
}

/// Whether this subscriber gets the edition now; if not, counted as why.
fn due(
    report: &mut SendReport,
    recipient: &Recipient,
    state: Option<Status>,
    newsletter: &crate::config::Newsletter,
    mail: &Mail,
) -> bool {
    if recipient.unsubscribed {
        report.skip("unsubscribed");
    } else if recipient.suppressed.is_some() {
        report.skip(format!(
            "suppressed after {} soft bounces in a row",
            mail.suppress_after_soft_bounces
        ));
    } else if recipient.hard_bounces >= mail.suppress_after_hard_bounces {
        report.skip(format!(
            "suppressed after {} hard bounces",
            recipient.hard_bounces
        ));
    } else if let Err(skip) = admits(
        newsletter.audience,
        recipient.organisation_type,
        &recipient.country,
    ) {
        report.skip(skip.as_str());
    } else {
        match state {
            Some(Status::Sent) => report.already_sent += 1,
            Some(Status::Failed(_)) => report.skip("failed permanently in an earlier send"),
            Some(Status::Unsendable(_)) => report.skip("not sendable through this server in an earlier send"),
            Some(Status::Sending) => {
                report.resent += 1;
                return true;
            }
            Some(Status::Deferred(_)) | None => return true,
        }
    }
    false
}

/// One relay's settings and rate limit, for its workers.
struct Route<'a> {
    settings: &'a Smtp,
    rate: RateLimit,
}

/// What the workers share during one send.
struct Run<'a, 's> {
    template: &'a MailTemplate,
    key: &'a Key,
    sender: &'a Sender,
    /// Each relay's, by its number.
    routes: Vec<Route<'a>>,
    /// Whose turn it is, and which relays rest.
    relays: Relays,
    log: &'a Log<'s>,
    report: &'a Mutex<SendReport>,
    done: AtomicUsize,
    /// Set when a worker cannot write the log, or the session failed for
    /// good: the others stop sending and only drain the queue, so the
    /// reader never waits on it forever.
    stopped: &'a AtomicBool,
    /// Workers still running.
    live: AtomicUsize,
    /// Workers holding a recipient.
    busy: AtomicUsize,
    /// The session failure that left no relay, after how many tries.
    gave_up: Mutex<Option<GaveUp>>,
    /// Recipients whose worker gave up before sending to them, for the others.
    left: Mutex<Vec<Recipient>>,
    /// Subscribers of the newsletter, for the progress line.
    total: usize,
    progress: bool,
}

/// The session failure that left no relay to send with.
struct GaveUp {
    error: SessionError,
    /// Tries of that worker's message.
    tries: u32,
}

/// How one message ended.
enum Outcome {
    /// Written to the log, with this status.
    Done(Status),
    /// The session failed for good: nothing sent to this recipient.
    GaveUp(SessionError, u32),
    /// Another worker stopped the send.
    Stopped,
}

/// What a worker out of queued recipients finds among those left by others.
enum Left {
    /// One to send.
    One(Recipient),
    /// None, and no worker busy who could leave one: the send is done.
    NoneAndIdle,
    /// None yet: a busy worker may still leave one.
    NoneYet,
}

/// Why a worker stopped taking recipients.
enum Quit {
    /// The queue is empty and closed: the send is done.
    Done,
    /// Every relay failed.
    AllDown,
}

impl Run<'_, '_> {
    /// Takes recipients off the queue, on its relay's turns, until it is
    /// closed. A store error stops the send: without the log, sending is
    /// not safe. A session that fails for good parks this worker or rests
    /// its relay (see [`Relays::gave_up`]), and stops the send when no
    /// relay is left.
    fn work(
        &self,
        taken: &Mutex<std::sync::mpsc::Receiver<Recipient>>,
        mut shift: Shift,
    ) -> Result<(), SendError> {
        let mut session = Session::default();
        let result = self.work_on(taken, &mut session, &mut shift);
        self.sender.close(shift.relay, session);
        let last = self.live.fetch_sub(1, Ordering::SeqCst) == 1;
        let stop = !matches!(result, Ok(Quit::Done));
        if stop {
            self.stopped.store(true, Ordering::SeqCst);
        }
        // Parked and resting workers wait for turns no more.
        self.relays.finish();
        if stop || last {
            while taken.lock().expect("poisoned").recv().is_ok() {}
        }
        result.map(|_| ())
    }

    /// The next recipient: one a worker that gave up left, or the queue's next.
    /// Once the queue is done, a worker waits for those still busy, who
    /// may give up and leave a recipient: nobody is left unsent while a
    /// connection works.
    fn next(&self, taken: &Mutex<std::sync::mpsc::Receiver<Recipient>>) -> Option<Recipient> {
        if let Some(recipient) = self.take_left() {
            return Some(recipient);
        }
        {
            let queue = taken.lock().expect("poisoned");
            if let Ok(recipient) = queue.recv() {
                // Counted before the queue is let go: a waiter cannot miss it.
                self.busy.fetch_add(1, Ordering::SeqCst);
                return Some(recipient);
            }
        }
        loop {
            match self.left() {
                Left::One(recipient) => return Some(recipient),
                Left::NoneAndIdle => return None,
                Left::NoneYet if self.stopped.load(Ordering::SeqCst) => return None,
                Left::NoneYet => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn take_left(&self) -> Option<Recipient> {
        match self.left() {
            Left::One(recipient) => Some(recipient),
            Left::NoneAndIdle | Left::NoneYet => None,
        }
    }

    /// Looks at the recipients workers that gave up left and at the busy
    /// count under one lock: a worker leaves its recipient there before it
    /// stops counting as busy, so no worker sees "none left, none busy"
    /// while one is being handed on (and quits with it unsent).
    fn left(&self) -> Left {
        let mut left = self.left.lock().expect("poisoned");
        match left.pop() {
            Some(recipient) => {
                self.busy.fetch_add(1, Ordering::SeqCst);
                Left::One(recipient)
            }
            None if self.busy.load(Ordering::SeqCst) == 0 => Left::NoneAndIdle,
            None => Left::NoneYet,
        }
    }

    /// Done with a recipient: `unsent` ones go back for the others.
    fn release(&self, unsent: Option<Recipient>) {
        if let Some(recipient) = unsent {
            self.left.lock().expect("poisoned").push(recipient);
        }
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }

    fn work_on(
        &self,
        taken: &Mutex<std::sync::mpsc::Receiver<Recipient>>,
        session: &mut Session,
        shift: &mut Shift,
    ) -> Result<Quit, SendError> {
        while self.relays.turn(shift)
            && let Some(recipient) = self.next(taken)
        {
            if self.stopped.load(Ordering::SeqCst) {
                self.release(Some(recipient));
                return Ok(Quit::Done);
            }
            // Its relay rested while it waited for the recipient: for the others.
            if !self.relays.may_send(shift) {
                self.release(Some(recipient));
                continue;
            }
            let status = match self.template.letter(self.key, &recipient.email, &recipient.name) {
                Ok(letter) => match self.deliver(session, shift.relay, &letter, &recipient.email)? {
                    Outcome::Done(status) => status,
                    Outcome::GaveUp(error, tries) => {
                        self.release(Some(recipient));
                        // The connection is of no more use; a later turn opens a new one.
                        self.sender.close(shift.relay, std::mem::take(session));
                        let verdict = self.relays.gave_up(shift, error.transient(), &error.to_string());
                        if verdict == Verdict::AllDown {
                            self.gave_up
                                .lock()
                                .expect("poisoned")
                                .get_or_insert(GaveUp { error, tries });
                            return Ok(Quit::AllDown);
                        }
                        continue;
                    }
                    Outcome::Stopped => {
                        self.release(Some(recipient));
                        return Ok(Quit::Done);
                    }
                },
                Err(reason) => Status::Failed(said_once(&reason)),
            };
            if status == Status::Sent {
                self.relays.sent(shift.relay);
            }
            self.report
                .lock()
                .expect("poisoned")
                .count(&recipient.email, status);
            self.release(None);
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            if self.progress && done.is_multiple_of(25) {
                eprint!("\rsending: {done} messages of at most {}", self.total);
                let _ = std::io::stderr().flush();
            }
        }
        Ok(Quit::Done)
    }

    /// Tries up to `max_attempts` times, backing off between tries. The
    /// `sending` row goes to the log just before the message itself goes
    /// out (after the server accepted MAIL, RCPT and DATA): a kill after
    /// that leaves it for the next send to resend; a failure before it
    /// leaves nothing, or the final status.
    /// With another relay up, a session failure gives up at once: the
    /// other relay sends the message sooner than a retry here would.
    fn deliver(
        &self,
        session: &mut Session,
        relay: usize,
        letter: &Letter,
        email: &str,
    ) -> Result<Outcome, SendError> {
        let route = &self.routes[relay];
        let row = |status: Status| Delivery {
            email: email.to_string(),
            message_id: letter.message_id.clone(),
            status,
        };
        let done = |status: Status| {
            self.log
                .write(row(status.clone()))
                .map(|()| Outcome::Done(status))
                .map_err(SendError::Log)
        };
        let attempts = route.settings.max_attempts.max(1);
        let mut handed = false;
        let mut last = String::new();
        for attempt in 1..=attempts {
            route.rate.wait();
            if self.stopped.load(Ordering::SeqCst) {
                if handed {
                    done(Status::Deferred(last))?;
                }
                return Ok(Outcome::Stopped);
            }
            let mut handing_over = || {
                if !handed {
                    self.log.write(row(Status::Sending))?;
                    handed = true;
                }
                Ok(())
            };
            let failure = match self.sender.send(relay, session, letter, email, &mut handing_over) {
                Ok(()) => return done(Status::Sent),
                Err(failure) => failure,
            };
            match failure {
                Failure::Log(error) => return Err(error.into()),
                stop @ (Failure::File { .. } | Failure::NoAddress { .. }) => {
                    return Err(SendError::Worker(stop));
                }
                Failure::Unsendable(reason) => return done(Status::Unsendable(reason)),
                Failure::Recipient { stage, reply } if !reply.transient() => {
                    return done(Status::Failed(format!("{stage}: {reply}")));
                }
                Failure::Session(error)
                    if !error.transient() || attempt == attempts || self.relays.others_up(relay) =>
                {
                    if handed {
                        done(Status::Deferred(error.to_string()))?;
                    }
                    return Ok(Outcome::GaveUp(error, attempt));
                }
                other if attempt == attempts => {
                    return done(Status::Deferred(format!("{other} (after {attempts} tries)")));
                }
                other => {
                    last = other.to_string();
                    std::thread::sleep(back_off(route.settings.retry_delay_ms).delay(attempt, email));
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// A message's retries (a 4xx, a broken connection): `retry_delay_ms ×
/// 2^(attempt-1)` (doubling at most 16 times) plus up to a quarter of it
/// that differs per address, so retries of many messages do not come in step.
fn back_off(retry_delay_ms: u64) -> BackOff {
    BackOff {
        base_ms: retry_delay_ms,
        max_doublings: 16,
        spread_divisor: 4,
    }
}
