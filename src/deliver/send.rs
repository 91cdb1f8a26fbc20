//! Sending one edition to its subscribers: audiences enforced, one message
//! each, a bounded number in flight, a rate limit, retries with back-off for
//! 4xx replies and broken connections, and every message written to the
//! delivery log before and after its SMTP transaction.
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
use lettre::Message;

use super::log::Log;
use super::message::{Letter, MailTemplate};
use super::smtp::{Failure, Session, SmtpClient};
use super::subscribers::admits;
use super::token::Key;
use crate::config::{Config, Mail, Smtp, Transport};
use crate::editions::Edition;
use crate::store::{Delivery, Recipient, Status, Store};

/// How `bulletin send` runs.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// List who would get what; send nothing.
    pub dry_run: bool,
    /// Send one test copy to this address instead; nothing is logged.
    pub test_to: Option<String>,
    /// Show a progress line on stderr.
    pub progress: bool,
}

/// What a send did, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct SendReport {
    pub sent: usize,
    pub already_sent: usize,
    /// Messages found `sending` in the log (a killed run): sent again.
    pub resent: usize,
    /// 4xx or broken connections after every try: sent again next time.
    pub deferred: Outcomes,
    /// 5xx: not sent again.
    pub failed: Outcomes,
    /// Left out, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// `--dry-run`: who would get the edition.
    pub would_send: Vec<String>,
}

/// How many messages ended one way, with the first few addresses and reasons.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub count: usize,
    pub examples: Vec<(String, String)>,
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
    pub fn ok(&self) -> bool {
        self.deferred.count == 0 && self.failed.count == 0
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    fn count(&mut self, email: &str, status: Status) {
        match status {
            Status::Sent => self.sent += 1,
            Status::Deferred(reason) => self.deferred.add(email, reason),
            Status::Failed(reason) => self.failed.add(email, reason),
            Status::Sending => {}
        }
    }
}

/// Where messages go.
enum Sender {
    Smtp(SmtpClient),
    /// One `.eml` file per message in this folder.
    Files(PathBuf),
}

impl Sender {
    fn new(config: &Config, mail: &Mail, newsletter: &str, number: u32) -> Result<Sender, String> {
        match mail.transport {
            Transport::File => Ok(Sender::Files(
                config
                    .out_dir()
                    .join("mail")
                    .join(newsletter)
                    .join(number.to_string()),
            )),
            Transport::Smtp => SmtpClient::new(&mail.smtp).map(Sender::Smtp),
        }
    }

    /// One try on this worker's session: `Ok`, or the failure.
    fn send(&self, session: &mut Session, letter: &Letter, email: &str) -> Result<(), Failure> {
        match self {
            Sender::Smtp(client) => {
                let envelope = letter.message.envelope();
                let permanent = |reason: &str| Failure {
                    transient: false,
                    reason: reason.into(),
                };
                let from = envelope.from().ok_or_else(|| permanent("no sender address"))?;
                let to = envelope
                    .to()
                    .first()
                    .ok_or_else(|| permanent("no recipient address"))?;
                client.send(session, from, to, &letter.message.formatted())
            }
            Sender::Files(folder) => write_eml(folder, email, &letter.message).map_err(|reason| Failure {
                transient: false,
                reason,
            }),
        }
    }

    fn close(&self, session: Session) {
        if let Sender::Smtp(client) = self {
            client.close(session);
        }
    }
}

fn write_eml(folder: &std::path::Path, email: &str, message: &Message) -> Result<(), String> {
    crate::store::create_private_dir(folder).map_err(|e| format!("creating {}: {e}", folder.display()))?;
    let name: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = folder.join(format!("{name}.eml"));
    let temporary = path.with_extension("eml.tmp");
    write_private(&temporary, &message.formatted())
        .and_then(|_| std::fs::rename(&temporary, &path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Writes a new file only its owner may read: a message holds its
/// reader's address and personal unsubscribe link.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    crate::store::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?
        .write_all(bytes)
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

/// Sends `edition` to every eligible subscriber who does not have it yet.
pub fn send_edition(
    config: &Config,
    store: &mut Store,
    edition: &Edition,
    options: &SendOptions,
    now: DateTime<Utc>,
) -> Result<SendReport, String> {
    let mail = config
        .mail
        .as_ref()
        .ok_or("no [mail] section in the config: nothing can be sent")?;
    let newsletter = edition.newsletter;
    let id = newsletter.id.get_ref().as_str();
    let sender = Sender::new(config, mail, id, edition.number)?;
    let template = MailTemplate::new(edition, &config.site, mail, &config.root, now)?;
    if let Some(to) = &options.test_to {
        let key = Key::from_env(&mail.signing_key_env)?;
        let email = super::normalise_email(to)?;
        let letter = template.letter(&key, &email, "")?;
        let mut session = Session::default();
        let sent = sender.send(&mut session, &letter, &email);
        sender.close(session);
        sent.map_err(|failure| format!("test copy to {email}: {}", failure.reason))?;
        return Ok(SendReport {
            sent: 1,
            ..SendReport::default()
        });
    }
    let key = if options.dry_run {
        None
    } else {
        Some(Key::from_env(&mail.signing_key_env))
    };
    let settings = &mail.smtp;
    let workers = match mail.transport {
        Transport::Smtp => settings.concurrency.max(1),
        Transport::File => 1,
    };
    let total = store.recipient_count(id).map_err(|e| e.to_string())?;
    let log = Log::open(store, (id, edition.number), now)?;
    let report = Mutex::new(SendReport::default());
    let (queue, taken) = std::sync::mpsc::sync_channel::<Recipient>(QUEUE);
    let taken = Mutex::new(taken);
    let fatal: Mutex<Option<String>> = Mutex::new(None);
    let run = match &key {
        Some(Ok(key)) => Some(Run {
            template: &template,
            key,
            sender: &sender,
            settings,
            log: &log,
            report: &report,
            rate: RateLimit::new(settings.rate_per_second),
            done: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            total,
            progress: options.progress,
        }),
        _ => None,
    };
    std::thread::scope(|scope| {
        if let Some(run) = &run {
            for _ in 0..workers {
                scope.spawn(|| {
                    if let Err(e) = run.work(&taken) {
                        fatal.lock().expect("poisoned").get_or_insert(e);
                    }
                });
            }
        }
        let fed = feed(
            &log,
            &report,
            (newsletter, mail, edition.number),
            &key,
            options,
            queue,
        );
        if let Err(e) = fed {
            fatal.lock().expect("poisoned").get_or_insert(e);
        }
    });
    if options.progress && !options.dry_run {
        eprintln!();
    }
    // The journal's rows are of messages the server has taken or may have:
    // they go into the store whatever else went wrong.
    let flushed = log.finish();
    if let Some(error) = fatal.into_inner().expect("poisoned") {
        return Err(error);
    }
    flushed?;
    Ok(report.into_inner().expect("poisoned"))
}

/// Recipients in flight between the page reader and the workers.
const QUEUE: usize = 256;
/// Recipients read from the store at a time: memory stays flat whatever the list's size.
const PAGE: u32 = 1000;

/// Reads the subscribers page by page, counts those left out, and hands the
/// rest to the workers (or lists them, for a dry run). Dropping `queue` at
/// the end tells the workers there is no more.
fn feed(
    log: &Log,
    report: &Mutex<SendReport>,
    (newsletter, mail, number): (&crate::config::Newsletter, &Mail, u32),
    key: &Option<Result<Key, String>>,
    options: &SendOptions,
    queue: std::sync::mpsc::SyncSender<Recipient>,
) -> Result<(), String> {
    let id = newsletter.id.get_ref();
    let mut after = String::new();
    loop {
        let page = log
            .read(|store| store.recipients_page(id, number, &after, PAGE))
            .map_err(|e| e.to_string())?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = last.email.clone();
        for (recipient, state) in page {
            let due = {
                let mut report = report.lock().expect("poisoned");
                let due = due(&mut report, &recipient, state, newsletter, mail);
                if due && options.dry_run {
                    report.would_send.push(recipient.email.clone());
                }
                due
            };
            if !due || options.dry_run {
                continue;
            }
            match key {
                Some(Ok(_)) => queue
                    .send(recipient)
                    .map_err(|_| "every sending worker stopped".to_string())?,
                Some(Err(why)) => return Err(why.clone()),
                None => unreachable!("only a dry run has no key"),
            }
        }
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
            Some(Status::Sending) => {
                report.resent += 1;
                return true;
            }
            Some(Status::Deferred(_)) | None => return true,
        }
    }
    false
}

/// What the workers share during one send.
struct Run<'a, 's> {
    template: &'a MailTemplate,
    key: &'a Key,
    sender: &'a Sender,
    settings: &'a Smtp,
    log: &'a Log<'s>,
    report: &'a Mutex<SendReport>,
    rate: RateLimit,
    done: AtomicUsize,
    /// Set when a worker cannot write the log: the others stop sending and
    /// only drain the queue, so the reader never waits on it forever.
    stopped: AtomicBool,
    /// Subscribers of the newsletter, for the progress line.
    total: usize,
    progress: bool,
}

impl Run<'_, '_> {
    /// Takes recipients off the queue until it is closed. A store error
    /// stops this worker: without the log, sending is not safe.
    fn work(&self, taken: &Mutex<std::sync::mpsc::Receiver<Recipient>>) -> Result<(), String> {
        let mut session = Session::default();
        let result = self.work_on(taken, &mut session);
        self.sender.close(session);
        if result.is_err() {
            self.stopped.store(true, Ordering::Relaxed);
            while taken.lock().expect("poisoned").recv().is_ok() {}
        }
        result
    }

    fn work_on(
        &self,
        taken: &Mutex<std::sync::mpsc::Receiver<Recipient>>,
        session: &mut Session,
    ) -> Result<(), String> {
        loop {
            let next = taken.lock().expect("poisoned").recv();
            let Ok(recipient) = next else { return Ok(()) };
            if self.stopped.load(Ordering::Relaxed) {
                continue;
            }
            let status = match self.template.letter(self.key, &recipient.email, &recipient.name) {
                Ok(letter) => {
                    let row = |status: &Status| Delivery {
                        email: recipient.email.clone(),
                        message_id: letter.message_id.clone(),
                        status: status.clone(),
                    };
                    self.log.write(row(&Status::Sending))?;
                    let status = self.deliver(session, &letter, &recipient.email);
                    self.log.write(row(&status))?;
                    status
                }
                Err(reason) => Status::Failed(reason),
            };
            self.report
                .lock()
                .expect("poisoned")
                .count(&recipient.email, status);
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            if self.progress && done.is_multiple_of(25) {
                eprint!("\rsending: {done} messages of at most {}", self.total);
                let _ = std::io::stderr().flush();
            }
        }
    }

    /// Tries up to `max_attempts` times, backing off between tries.
    fn deliver(&self, session: &mut Session, letter: &Letter, email: &str) -> Status {
        let attempts = self.settings.max_attempts.max(1);
        for attempt in 1..=attempts {
            self.rate.wait();
            match self.sender.send(session, letter, email) {
                Ok(()) => return Status::Sent,
                Err(Failure {
                    transient: false,
                    reason,
                }) => return Status::Failed(reason),
                Err(Failure { reason, .. }) if attempt == attempts => {
                    return Status::Deferred(format!("{reason} (after {attempts} tries)"));
                }
                Err(_) => std::thread::sleep(self.back_off(attempt, email)),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// `retry_delay_ms × 2^(attempt-1)`, plus up to a quarter of it that
    /// differs per address, so retries of many messages do not come in step.
    fn back_off(&self, attempt: u32, email: &str) -> Duration {
        let base = self
            .settings
            .retry_delay_ms
            .saturating_mul(1 << (attempt - 1).min(16));
        let spread = email
            .bytes()
            .fold(attempt as u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
        Duration::from_millis(base + spread % (base / 4 + 1))
    }
}
