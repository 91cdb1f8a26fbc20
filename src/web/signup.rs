//! The sign-up form with double opt-in, served by `bulletin serve` at
//! `site.subscribe_url`'s path.
//!
//! `GET` shows the form; `POST` checks it as a CSV row is checked
//! ([`subscriber`]), name and organisation at most [`MAX_TEXT`]
//! characters as in the preference centre, refuses the EU-only newsletters to those they are not for,
//! records a pending sign-up with its confirmation mail in the store's
//! outbox, and answers. The [`Mailer`], a thread of its own, sends the mail
//! after the answer, and after a crash when `serve` starts again. The mail
//! carries nothing typed into the form but the checked address: a link
//! with a random token (only its SHA-256 is kept once the mail is sent) and
//! the titles of the newsletters chosen. The link's page (`…/confirm`) has
//! a button; only its POST confirms. No script submits it and nothing
//! happens on GET or on load, so a link scanner, running scripts or not,
//! confirms nothing.
//!
//! Abuse (README, "Sign-up with double opt-in"): every limit is checked
//! on the store's thread, in the transaction that records the sign-up
//! ([`crate::store::Store::record_signup`]). Sign-ups are counted per client
//! (an IPv4 address, an IPv6 /64) and per network (an IPv4 /24, an IPv6
//! /48), and in all an hour except each network's first; past one of these
//! the visitor is told to try later (it says nothing about the address).
//! Mails are counted per mailbox ([`mailbox`]: `+tag`, case and IDNA
//! undone); past that limit, or with the honeypot filled in, the answer is
//! the "check your mailbox" page a mailed sign-up gets (a mail did go to
//! that mailbox lately), and no mail goes out. Every answer to the form's
//! POST leaves [`ANSWER_AFTER`] after the request came in, so its timing
//! tells nothing either. Logs name no subscriber address. POSTs from
//! another site are refused by their browser's own headers ([`cross_site`]).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Duration;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};
use url::Url;

use super::keeper::Keeper;
use super::server::{Network, Page, Request, cross_site};
use super::site::{Asked, Framed, Site, consent_client, field};
use super::worker::Worker;
use crate::audience::subscribers::{InvalidField, MAX_TEXT, Reason, Row, SlashDates, ineligible, subscriber};
use crate::audience::suppression;
use crate::audience::token::Key;
use crate::audience::token::{Purpose, seal, sign};
use crate::backoff::BackOff;
use crate::causes::{said_once, said_without_addresses};
use crate::config::{Config, Mail, Newsletter};
use crate::domain::Subscriber;
use crate::mail::message::{Letter, MessageError, ascii_domain};
use crate::mail::smtp::{Failure, SetupError};
use crate::mail::transport::Outbox;
use crate::render::web_link;
use crate::store::{
    ClientLimit, Confirmation, Counted, EditionState, MailboxLimit, OutboxMail, PendingSignup, Signed,
    SignupLimits, WelcomeMail,
};

/// What the key's keyed hashes the limits count are for.
const COUNTED_HASH: &str = "sign-up limits";
/// Where the file transport writes confirmation mails, under `<out_dir>/mail/`.
const MAIL_FOLDER: &str = "confirm";
/// Where it writes welcome mails, a folder per newsletter under this one.
const WELCOME_FOLDER: &str = "welcome";
/// Every answer to the form's POST goes out this long after the request
/// came in, never sooner: whether a mail was recorded, and how long the
/// store took, does not show in the answer's time.
const ANSWER_AFTER: Duration = Duration::from_millis(25);
/// How often the mailer looks for mails due again when no sign-up wakes it.
const RETRY_CHECK: Duration = Duration::from_secs(30);
/// A confirmation mail that could not be sent is tried again after 1, 2,
/// 4, 8, 16, 32, 32 minutes (and a little), then given up: about two hours.
const RETRY: BackOff = BackOff {
    base_ms: 60_000,
    max_doublings: 5,
    spread_divisor: 4,
};
/// Tries of one confirmation mail at most.
const TRIES: u32 = 8;
/// What a 429 or 503 asks the visitor to wait, in seconds.
const RETRY_AFTER_SECS: u32 = 600;

/// The sign-up form's settings and paths, fixed when `serve` starts.
pub(super) struct Signup {
    config: Arc<Config>,
    key: Key,
    /// The form's path (`site.subscribe_url`'s).
    form: String,
    /// The confirmation link's path.
    confirm: String,
    /// Wakes the [`Mailer`]: a mail is in the outbox.
    wake: SyncSender<()>,
    site: Site,
    store: Worker<Keeper>,
}

/// Sends the confirmation mails of the store's outbox, then the welcome
/// mails of confirmed sign-ups, one at a time, on a thread of its own:
/// each once when `serve` starts (a crash left it, or a relay was down),
/// then each as a sign-up or a confirmation wakes it, and again when due.
/// A welcome mail is marked as tried before it goes out, so one a crash
/// cut short is recorded as such and never sent again.
pub(super) struct Mailer {
    config: Arc<Config>,
    outbox: Outbox,
    /// Each newsletter's id and where its welcome mails go.
    welcome: Vec<(String, Outbox)>,
    from: Mailbox,
    /// The confirmation link without its token, absolute, for the mail.
    confirm_url: Url,
    /// For the welcome mail's unsubscribe and preference links.
    key: Key,
    unsubscribe_url: Url,
    preferences_url: Url,
    wake: Receiver<()>,
    store: Worker<Keeper>,
}

/// Which of the sign-up's pages a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignupPage {
    Form,
    Confirm,
}

/// Why the sign-up form cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignupError {
    #[error("the sign-up form's confirmation mails cannot be sent")]
    Outbox(#[source] SetupError),
}

impl Signup {
    /// The form and its mailer, when `site.subscribe_url` is set.
    pub(super) fn new(
        config: &Arc<Config>,
        mail: &Mail,
        key: &Key,
        store: Worker<Keeper>,
    ) -> Result<Option<(Signup, Mailer)>, SignupError> {
        let Some(url) = &config.site.subscribe_url else {
            return Ok(None);
        };
        let form = url.path().to_string();
        let confirm = format!("{}/confirm", form.trim_end_matches('/'));
        let mut confirm_url = url.clone();
        confirm_url.set_path(&confirm);
        confirm_url.set_query(None);
        // One wake-up waiting is enough: the mailer empties the outbox.
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let welcome = config
            .newsletters
            .iter()
            .map(|n| {
                let folder = format!("{WELCOME_FOLDER}/{}", n.id);
                Ok((n.id.to_string(), Outbox::new(config, mail, &folder)?))
            })
            .collect::<Result<_, SetupError>>()
            .map_err(SignupError::Outbox)?;
        let mailer = Mailer {
            config: Arc::clone(config),
            outbox: Outbox::new(config, mail, MAIL_FOLDER).map_err(SignupError::Outbox)?,
            welcome,
            from: mail.from.clone(),
            confirm_url,
            key: key.clone(),
            unsubscribe_url: mail.unsubscribe_url.clone(),
            preferences_url: mail.preferences_url.clone(),
            wake: woken,
            store: store.clone(),
        };
        let signup = Signup {
            config: Arc::clone(config),
            key: key.clone(),
            form,
            confirm,
            wake,
            site: Site::new(&config.site.name),
            store,
        };
        Ok(Some((signup, mailer)))
    }

    pub(super) fn page(&self, path: &str) -> Option<SignupPage> {
        match path {
            p if p == self.form => Some(SignupPage::Form),
            p if p == self.confirm => Some(SignupPage::Confirm),
            _ => None,
        }
    }

    fn limits(&self) -> SignupLimits {
        let s = &self.config.site.signup;
        SignupLimits {
            address_interval: chrono::Duration::minutes(i64::from(s.address_interval_minutes)),
            per_address_per_day: s.per_address_per_day,
            per_client_per_hour: s.per_client_per_hour,
            per_network_per_hour: s.per_network_per_hour,
            per_hour: s.per_hour,
        }
    }

    /// The form as a page, with what was typed and the error, if any.
    fn form_page(&self, status: u16, fields: &Fields, error: Option<&InvalidField>) -> Page {
        let choices: Vec<Choice> = self
            .config
            .newsletters
            .iter()
            .map(|n| Choice {
                id: n.id.as_str(),
                title: &n.title,
                eu_only: n.audience == crate::config::Audience::EuOrganisations,
                checked: fields.newsletters.iter().any(|id| id == n.id.as_str()),
            })
            .collect();
        let message = error.map(ToString::to_string).unwrap_or_default();
        let form = Answer::Form {
            action: &self.form,
            fields,
            choices: &choices,
            consent_text: &self.config.site.signup.consent_text,
            max_text: MAX_TEXT,
            error_field: error.map_or("", |e| e.field),
            error: &message,
        };
        self.site.page(status, &form)
    }
}

impl Mailer {
    /// Sends what the outbox holds until `serve` stops (the endpoint, and
    /// with it the wake-up's sender, is dropped): first each mail once, due
    /// or not, then each as it is due, woken by every sign-up that mails
    /// and every [`RETRY_CHECK`].
    pub(super) fn run(self) {
        self.forget_cut_short();
        // At start every mail is tried once, due or not: a restart is when
        // a crash is over or a relay is mended. Then those due, by now.
        let mut every = true;
        let (mut after, mut after_welcome) = (0, 0);
        loop {
            match self.wake.try_recv() {
                Err(TryRecvError::Disconnected) => return,
                Ok(()) | Err(TryRecvError::Empty) => {}
            }
            let due = move |now| (!every).then_some(now);
            let next = self
                .store
                .with_store_blocking(move |store, now| store.next_confirmation_mail(after, due(now), now));
            match next {
                None => return,
                Some(Ok(Some(mail))) => {
                    after = mail.id;
                    self.deliver(&mail);
                    continue;
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => eprintln!(
                    "error: sign-up: the confirmation mails waiting cannot be read: {}",
                    said_once(&e)
                ),
            }
            let next = self
                .store
                .with_store_blocking(move |store, now| store.next_welcome_mail(after_welcome, due(now), now));
            match next {
                None => return,
                Some(Ok(Some(mail))) => {
                    after_welcome = mail.id;
                    self.welcome(&mail);
                    continue;
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => eprintln!(
                    "error: sign-up: the welcome mails waiting cannot be read: {}",
                    said_once(&e)
                ),
            }
            (every, after, after_welcome) = (false, 0, 0);
            match self.wake.recv_timeout(RETRY_CHECK) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// The welcome mails whose try was out when `serve` last stopped:
    /// recorded as such, never tried again (they may have gone out).
    fn forget_cut_short(&self) {
        match self
            .store
            .with_store_blocking(|store, now| store.welcome_mails_cut_short(now))
        {
            Some(Ok(ids)) => {
                for id in ids {
                    eprintln!(
                        "warning: sign-up: welcome mail #{id} was being sent when serve stopped; \
                         not sent again, so that it is never sent twice"
                    );
                }
            }
            Some(Err(e)) => eprintln!(
                "error: sign-up: the welcome mails cut short cannot be read: {}",
                said_once(&e)
            ),
            None => {}
        }
    }

    /// One try of a welcome mail, marked as tried by the store: recorded
    /// as sent, or given up (for good, or the last try), or due again.
    fn welcome(&self, mail: &WelcomeMail) {
        let id = mail.id;
        let tries = mail.tries + 1;
        let newsletter = mail.newsletter.clone();
        // The archive's latest approved edition; none read, the archive's index.
        let latest = self
            .store
            .with_store_blocking(move |store, _| store.editions(Some(&newsletter)))
            .and_then(Result::ok)
            .and_then(|editions| {
                editions
                    .into_iter()
                    .find(|e| e.state == EditionState::Approved)
                    .map(|e| e.date)
            });
        let configured = self.config.newsletter(&mail.newsletter).ok().zip(
            self.welcome
                .iter()
                .find(|(id, _)| *id == mail.newsletter)
                .map(|(_, outbox)| outbox),
        );
        let sent = configured
            .ok_or_else(|| ("the newsletter is no longer configured".to_string(), true))
            .and_then(|(newsletter, outbox)| {
                let letter = self
                    .welcome_letter(mail, newsletter, latest)
                    .map_err(|e| (said_without_addresses(&e), true))?;
                outbox
                    .send(&letter, &mail.email)
                    .map_err(|e| (said_without_addresses(&e), for_good(&e)))
            });
        self.settle(Outboxed::Welcome, id, tries, sent);
    }

    /// The welcome mail of `newsletter`: what it is, its latest edition in
    /// the archive (dated `latest`) or the archive's index, and the links
    /// every mail of it has.
    fn welcome_letter(
        &self,
        mail: &WelcomeMail,
        newsletter: &Newsletter,
        latest: Option<chrono::NaiveDate>,
    ) -> Result<Letter, MessageError> {
        let site = &self.config.site;
        let latest = latest.map(|date| {
            (
                date.format(&site.date_format).to_string(),
                web_link(site, &mail.newsletter, date),
            )
        });
        let archive = format!("{}/archive/{}/index.html", site.base(), mail.newsletter);
        let mut unsubscribe = self.unsubscribe_url.clone();
        unsubscribe
            .query_pairs_mut()
            .append_pair("t", &sign(&self.key, &mail.email, &mail.newsletter));
        let mut preferences = self.preferences_url.clone();
        preferences
            .query_pairs_mut()
            .append_pair("t", &seal(&self.key, Purpose::Preferences, &mail.email));
        let view = Welcome {
            site_name: &site.name,
            title: &newsletter.title,
            description: &newsletter.description,
            latest: latest.as_ref().map(|(date, link)| (date.as_str(), link.as_str())),
            archive: &archive,
            unsubscribe: unsubscribe.as_str(),
            preferences: preferences.as_str(),
        };
        let (text, html) = match (
            WelcomeText { view: &view }.render(),
            WelcomeHtml { view: &view }.render(),
        ) {
            (Ok(text), Ok(html)) => (text, html),
            (Err(e), _) | (_, Err(e)) => return Err(MessageError::Render(e)),
        };
        let domain = self.from.email.domain().to_ascii_lowercase();
        let message_id = format!(
            "<welcome.{}@{domain}>",
            &hashed(&format!("{}:{}", mail.id, mail.email))[..32]
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, ascii_domain(&mail.email)?))
            .subject(format!("Welcome to {}", newsletter.title))
            .message_id(Some(message_id.clone()))
            .date(std::time::SystemTime::from(mail.created))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|source| MessageError::Build {
                email: mail.email.clone(),
                source,
            })?;
        Ok(Letter::unsigned(message_id, &message))
    }

    /// Records try number `tries` of mail `id` of `kind`: sent, given up
    /// (for good, or the last try), or due again after a back-off. The log
    /// names the mail by its number, never its address.
    fn settle(&self, kind: Outboxed, id: i64, tries: u32, sent: Result<(), (String, bool)>) {
        let name = kind.name();
        let tried = match sent {
            Ok(()) => Tried::Sent,
            Err((why, for_good)) if for_good || tries >= TRIES => {
                eprintln!(
                    "error: sign-up: {name} mail #{id} not sent, given up after {tries} tr{}: {why}",
                    if tries == 1 { "y" } else { "ies" }
                );
                Tried::GivenUp(why)
            }
            Err((why, _)) => {
                let wait = RETRY.delay(tries, &format!("{name} {id}"));
                eprintln!(
                    "warning: sign-up: {name} mail #{id} not sent (try {tries} of {TRIES}), \
                     tried again in {} s: {why}",
                    wait.as_secs()
                );
                Tried::Later(chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
            }
        };
        let done = self
            .store
            .with_store_blocking(move |store, now| match (kind, tried) {
                (Outboxed::Confirmation, Tried::Sent | Tried::GivenUp(_)) => store.confirmation_mail_done(id),
                (Outboxed::Confirmation, Tried::Later(wait)) => {
                    store.confirmation_mail_deferred(id, now + wait)
                }
                (Outboxed::Welcome, Tried::Sent) => store.welcome_mail_done(id, "sent", now),
                (Outboxed::Welcome, Tried::GivenUp(why)) => {
                    store.welcome_mail_done(id, &format!("given up: {why}"), now)
                }
                (Outboxed::Welcome, Tried::Later(wait)) => store.welcome_mail_deferred(id, now + wait),
            });
        if let Some(Err(e)) = done {
            eprintln!(
                "error: sign-up: {name} mail #{id} not recorded as tried: {}",
                said_once(&e)
            );
        }
    }

    /// One try of `mail`: out of the outbox once sent; a failure tried
    /// again later, unless it is for good or the last try. The log says
    /// which mail by its number in the outbox, never its address.
    fn deliver(&self, mail: &OutboxMail) {
        let id = mail.id;
        let tries = mail.tries + 1;
        let sent = self
            .letter(mail)
            .map_err(|e| (said_without_addresses(&e), true))
            .and_then(|letter| {
                self.outbox
                    .send(&letter, &mail.email)
                    .map_err(|e| (said_without_addresses(&e), for_good(&e)))
            });
        self.settle(Outboxed::Confirmation, id, tries, sent);
    }

    /// The confirmation mail: the link, what it subscribes to, and nothing
    /// typed into the form but the checked address, in `To` alone.
    fn letter(&self, mail: &OutboxMail) -> Result<Letter, MessageError> {
        let mut link = self.confirm_url.clone();
        link.query_pairs_mut().append_pair("t", &mail.token);
        let site = &self.config.site;
        let titles = titles(&self.config, &mail.newsletters);
        let until = mail.expires.format(&site.date_format).to_string();
        let text = ConfirmMailText {
            site_name: &site.name,
            titles: &titles,
            link: link.as_str(),
            until: &until,
        };
        let html = ConfirmMailHtml {
            site_name: &site.name,
            titles: &titles,
            link: link.as_str(),
            until: &until,
        };
        let (text, html) = match (text.render(), html.render()) {
            (Ok(text), Ok(html)) => (text, html),
            (Err(e), _) | (_, Err(e)) => return Err(MessageError::Render(e)),
        };
        let domain = self.from.email.domain().to_ascii_lowercase();
        let message_id = format!("<signup.{}@{domain}>", &hashed(&mail.token)[..32]);
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, ascii_domain(&mail.email)?))
            .subject(format!("Please confirm your subscription to {}", site.name))
            .message_id(Some(message_id.clone()))
            .date(std::time::SystemTime::from(mail.created))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|source| MessageError::Build {
                email: mail.email.clone(),
                source,
            })?;
        Ok(Letter::unsigned(message_id, &message))
    }
}

/// Whether trying `failure` again is pointless: the recipient's server
/// refused it for good (5xx), or it cannot be sent at all.
fn for_good(failure: &Failure) -> bool {
    match failure {
        Failure::Recipient { reply, .. } => reply.code >= 500,
        Failure::Unsendable(_) | Failure::NoAddress { .. } => true,
        Failure::Unknown(_) | Failure::Session(_) | Failure::Log(_) | Failure::File { .. } => false,
    }
}

/// The mailbox an address reaches, as the per-address limits count it, so
/// that one mailbox cannot be flooded under many spellings: from the
/// checked address (domain in IDNA ASCII, lowercase), the local part in
/// NFC and Unicode lowercase (`JÖRG` is `jörg`; a final `ς` is `σ`), with
/// its `+tag` left out (`bomb+1@` is `bomb@`), and at Gmail, which ignores
/// dots, without them (`b.omb@gmail.com` is `bomb@gmail.com`). A `-tag`
/// (qmail's, and a choice at Yahoo and Fastmail) is kept: `-` is part of
/// too many real names (`jean-pierre@`, `info-de@`) to be cut off.
fn mailbox(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let local = local.split_once('+').map_or(local, |(base, _)| base);
    let local = icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(local);
    let mut local: String = local
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect();
    let domain = match domain {
        "googlemail.com" => "gmail.com",
        other => other,
    };
    if domain == "gmail.com" {
        local.retain(|c| c != '.');
    }
    format!("{local}@{domain}")
}

/// The network a client is in, for the per-network limit: an IPv4 /24, an
/// IPv6 /48 (a site's allocation); wider than its [`Network`], so that one
/// operator's many addresses share one budget.
fn wide_network(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let prefix = std::net::Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 80) - 1));
            format!("{prefix}/48")
        }
    }
}

/// Who `email`'s sign-up from `client` counts against: keyed hashes of its
/// mailbox, the client and the client's network.
fn counted(key: &Key, email: &str, client: std::net::IpAddr) -> Counted {
    let hash = |what: &str| key.keyed_hash(COUNTED_HASH, what.as_bytes());
    Counted {
        mailbox: hash(&mailbox(email)),
        client: hash(&Network::from(client).to_string()),
        network: hash(&wide_network(client)),
    }
}

/// The mails sign-up sends from an outbox of the store.
#[derive(Debug, Clone, Copy)]
enum Outboxed {
    Confirmation,
    Welcome,
}

impl Outboxed {
    fn name(self) -> &'static str {
        match self {
            Outboxed::Confirmation => "confirmation",
            Outboxed::Welcome => "welcome",
        }
    }
}

/// How one try of an outbox's mail ended.
enum Tried {
    Sent,
    /// For good, or after the last try: with why.
    GivenUp(String),
    /// Due again after this long.
    Later(chrono::Duration),
}

/// The form's fields, named as the CSV columns; `website` is the honeypot.
#[derive(Debug, Default)]
struct Fields {
    email: String,
    name: String,
    organisation: String,
    organisation_type: String,
    country: String,
    /// One value per chosen newsletter id.
    newsletters: Vec<String>,
    website: String,
}

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        let mut fields = Fields::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "email" => fields.email = value,
                "name" => fields.name = value,
                "organisation" => fields.organisation = value,
                "organisation_type" => fields.organisation_type = value,
                "country" => fields.country = value,
                "newsletters" => fields.newsletters.push(value),
                "website" => fields.website = value,
                _ => {}
            }
        }
        fields
    }
}

/// A newsletter on the form.
struct Choice<'a> {
    id: &'a str,
    title: &'a str,
    /// For EU-27 companies and organisations only: the form says so.
    eu_only: bool,
    checked: bool,
}

/// What a sign-up page says: one of these, in `templates/signup.html`.
enum Answer<'a> {
    Form {
        action: &'a str,
        fields: &'a Fields,
        choices: &'a [Choice<'a>],
        consent_text: &'a str,
        /// The longest name or organisation taken, in characters.
        max_text: usize,
        /// The field the error is about, or empty.
        error_field: &'a str,
        error: &'a str,
    },
    /// After a POST that got past the client limits, mailed or not: the
    /// same words either way, true either way (a mail went to that mailbox
    /// now or lately).
    CheckMailbox,
    /// Over a limit on who signs up: nothing sent, try later. `network`:
    /// the visitor's network's limit, else the form's in all.
    TooMany {
        network: bool,
    },
    /// The link's page: a form that posts the token, and a person's click.
    Confirm {
        action: &'a str,
        token: &'a str,
    },
    Confirmed {
        email: &'a str,
        titles: &'a [&'a str],
    },
    AlreadyConfirmed,
    Expired {
        form: &'a str,
    },
    InvalidLink {
        form: &'a str,
    },
    CrossSite,
    MethodNotAllowed,
    /// The store failed: nothing to tell but "try again".
    Failed,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPageView<'a> {
    answer: &'a Answer<'a>,
    site_name: &'a str,
}

impl Framed for Answer<'_> {
    fn framed<'a>(&'a self, site_name: &'a str) -> impl Template + 'a {
        SignupPageView {
            answer: self,
            site_name,
        }
    }
}

/// What a welcome mail says: the newsletter, where its latest edition is,
/// and the links every mail of it has.
struct Welcome<'a> {
    site_name: &'a str,
    title: &'a str,
    description: &'a str,
    /// The latest edition's date, as readers see dates, and its page.
    latest: Option<(&'a str, &'a str)>,
    /// The newsletter's archive index.
    archive: &'a str,
    unsubscribe: &'a str,
    preferences: &'a str,
}

#[derive(Template)]
#[template(path = "welcome_mail.txt")]
struct WelcomeText<'a> {
    view: &'a Welcome<'a>,
}

#[derive(Template)]
#[template(path = "welcome_mail.html")]
struct WelcomeHtml<'a> {
    view: &'a Welcome<'a>,
}

#[derive(Template)]
#[template(path = "signup_mail.txt")]
struct ConfirmMailText<'a> {
    site_name: &'a str,
    titles: &'a [&'a str],
    link: &'a str,
    until: &'a str,
}

#[derive(Template)]
#[template(path = "signup_mail.html")]
struct ConfirmMailHtml<'a> {
    site_name: &'a str,
    titles: &'a [&'a str],
    link: &'a str,
    until: &'a str,
}

/// The form as filled in, checked as a CSV row is, and the EU-only
/// newsletters refused to those they are not for: the subscriber, or the
/// field that is wrong. `today` is the consent's date.
fn check(config: &Config, fields: &Fields, today: chrono::NaiveDate) -> Result<Subscriber, InvalidField> {
    for (field, value) in [("name", &fields.name), ("organisation", &fields.organisation)] {
        let length = value.chars().count();
        if length > MAX_TEXT {
            return Err(InvalidField {
                field,
                value: String::new(),
                reason: Reason::TooLong(length),
            });
        }
    }
    let subscriber = subscriber(
        config,
        Row {
            email: fields.email.clone(),
            name: fields.name.clone(),
            organisation: fields.organisation.clone(),
            organisation_type: fields.organisation_type.clone(),
            country: fields.country.clone(),
            newsletters: fields.newsletters.join(" "),
            consent_date: today.format("%Y-%m-%d").to_string(),
        },
        SlashDates::DayFirst,
    )?;
    match ineligible(config, &subscriber).into_iter().next() {
        Some(refused) => Err(refused),
        None => Ok(subscriber),
    }
}

/// The titles of the newsletters `ids` names, as the mail and the page say
/// them; an id no longer configured as itself.
fn titles<'a>(config: &'a Config, ids: &'a [String]) -> Vec<&'a str> {
    ids.iter()
        .map(|id| config.newsletter(id).map_or(id.as_str(), |n| n.title.as_str()))
        .collect()
}

/// What the store's thread made of a sign-up.
enum SignUp {
    /// A field is wrong: the form again, as it was filled in.
    Invalid(Fields, InvalidField),
    Refused(ClientLimit),
    Signed(Signed),
    Failed(crate::store::StoreError),
}

/// A new confirmation token: 32 random bytes, base64url.
fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a token: its SHA-256, hex.
fn hashed(token: &str) -> String {
    crate::hex::hex(&Sha256::digest(token.as_bytes()))
}

impl Signup {
    /// One of the sign-up's pages.
    pub(super) async fn answer(&self, page: SignupPage, request: &Request, url: &Url) -> Page {
        match (page, Asked::of(&request.method)) {
            (SignupPage::Form, Asked::Show) => self.form_page(200, &Fields::default(), None),
            (SignupPage::Confirm, Asked::Show) => {
                let token = field(url.query().unwrap_or("").as_bytes(), "t").unwrap_or_default();
                let answer = Answer::Confirm {
                    action: &self.confirm,
                    token: &token,
                };
                self.site.page(200, &answer)
            }
            (SignupPage::Form | SignupPage::Confirm, Asked::Act)
                if let Some(why) = cross_site(&request.headers, &["http", "https"]) =>
            {
                eprintln!("sign-up: refused a POST from another site ({why})");
                self.site.page(403, &Answer::CrossSite)
            }
            (SignupPage::Form, Asked::Act) => {
                let answer_at = tokio::time::Instant::now() + ANSWER_AFTER;
                let page = self.sign_up(request).await;
                tokio::time::sleep_until(answer_at).await;
                page
            }
            (SignupPage::Confirm, Asked::Act) => self.confirm(request).await,
            (_, Asked::NotAllowed) => self.site.page(405, &Answer::MethodNotAllowed),
        }
    }

    /// `POST` of the form: checked, counted, recorded with its mail in the
    /// outbox, and the mailer woken; the mail leaves after this answers.
    async fn sign_up(&self, request: &Request) -> Page {
        let fields = Fields::parse(&request.body);
        let client = consent_client(&self.config.site.signup, &self.key, request);
        if !fields.website.is_empty() {
            eprintln!(
                "sign-up: no confirmation mail sent: the honeypot field was filled in; client {client}"
            );
            return self.site.page(200, &Answer::CheckMailbox);
        }
        let Some(token) = new_token() else {
            eprintln!("error: sign-up: no random token could be made");
            return self.site.page(500, &Answer::Failed);
        };
        let config = Arc::clone(&self.config);
        let (key, ip, limits) = (self.key.clone(), request.client, self.limits());
        let logged_client = client.clone();
        let signed = self
            .store
            .with_store(move |store, now| {
                let subscriber = match check(&config, &fields, now.date_naive()) {
                    Ok(subscriber) => subscriber,
                    Err(invalid) => return SignUp::Invalid(fields, invalid),
                };
                let counted = counted(&key, &subscriber.email, ip);
                let settings = &config.site.signup;
                let pending = PendingSignup {
                    token_hash: hashed(&token),
                    subscriber,
                    consent_version: settings.consent_version.clone(),
                    client,
                    expires: now + chrono::Duration::days(i64::from(settings.expiry_days)),
                };
                match store.record_signup(&pending, &counted, &token, limits, now) {
                    Ok(Ok(signed)) => SignUp::Signed(signed),
                    Ok(Err(limit)) => SignUp::Refused(limit),
                    Err(e) => SignUp::Failed(e),
                }
            })
            .await;
        match signed {
            Some(SignUp::Signed(Signed::Mailed)) => {
                // Full: a wake-up is waiting already. Gone: serve is stopping;
                // the mail waits in the outbox for the next start.
                let _ = self.wake.try_send(());
                self.site.page(200, &Answer::CheckMailbox)
            }
            Some(SignUp::Signed(Signed::Held(limit))) => {
                log_mailbox_limit(limit, &logged_client);
                self.site.page(200, &Answer::CheckMailbox)
            }
            Some(SignUp::Refused(limit)) => {
                eprintln!(
                    "sign-up: refused, over a limit: {}; client {logged_client}",
                    limit.as_str()
                );
                let (status, network) = match limit {
                    ClientLimit::ClientHour | ClientLimit::NetworkHour => (429, true),
                    ClientLimit::Hour => (503, false),
                };
                Page {
                    retry_after: Some(RETRY_AFTER_SECS),
                    ..self.site.page(status, &Answer::TooMany { network })
                }
            }
            Some(SignUp::Invalid(fields, invalid)) => self.form_page(400, &fields, Some(&invalid)),
            Some(SignUp::Failed(e)) => {
                eprintln!("error: sign-up not recorded: {}", said_without_addresses(&e));
                self.site.page(500, &Answer::Failed)
            }
            None => self.site.page(500, &Answer::Failed),
        }
    }

    /// `POST` of the confirmation page: the sign-up becomes a subscription.
    async fn confirm(&self, request: &Request) -> Page {
        let token = field(&request.body, "t").unwrap_or_default();
        let hash = hashed(&token);
        let key = self.key.clone();
        let confirmed = self
            .store
            .with_store(move |store, now| {
                store.confirm_signup(&hash, |email| suppression::hash(&key, email), now)
            })
            .await;
        match confirmed {
            Some(Ok(Confirmation::Confirmed { email, newsletters })) => {
                // Its welcome mails wait in the store: the mailer sends them.
                let _ = self.wake.try_send(());
                let titles = titles(&self.config, &newsletters);
                self.site.page(
                    200,
                    &Answer::Confirmed {
                        email: &email,
                        titles: &titles,
                    },
                )
            }
            Some(Ok(Confirmation::AlreadyConfirmed)) => self.site.page(200, &Answer::AlreadyConfirmed),
            Some(Ok(Confirmation::Expired)) => self.site.page(410, &Answer::Expired { form: &self.form }),
            Some(Ok(Confirmation::Unknown)) => self.site.page(404, &Answer::InvalidLink { form: &self.form }),
            Some(Err(e)) => {
                eprintln!("error: sign-up not confirmed: {}", said_without_addresses(&e));
                self.site.page(500, &Answer::Failed)
            }
            None => self.site.page(500, &Answer::Failed),
        }
    }
}

/// The log line for a sign-up whose mailbox had its mails: which limit,
/// and the client as the consent record keeps it (never the address).
fn log_mailbox_limit(limit: MailboxLimit, client: &str) {
    eprintln!(
        "sign-up: no confirmation mail sent, over a limit: {}; client {client}",
        limit.as_str()
    );
}

#[cfg(test)]
mod tests {
    use super::{mailbox, wide_network};

    #[test]
    fn one_mailbox_under_many_spellings_is_one() {
        for (spelled, reached) in [
            ("bomb+1@example.org", "bomb@example.org"),
            ("bomb+@example.org", "bomb@example.org"),
            ("jÖrg@xn--bcher-kva.example", "jörg@xn--bcher-kva.example"),
            ("JO\u{308}RG@example.org", "jörg@example.org"),
            ("ΟΔΟΣ+x@example.gr", "οδοσ@example.gr"),
            ("b.o.m.b+x@googlemail.com", "bomb@gmail.com"),
            ("jean-pierre@example.fr", "jean-pierre@example.fr"),
            ("j.doe@example.org", "j.doe@example.org"),
        ] {
            assert_eq!(mailbox(spelled), reached, "{spelled}");
        }
    }

    #[test]
    fn a_network_is_an_ipv4_slash_24_or_an_ipv6_slash_48() {
        let wide = |ip: &str| wide_network(ip.parse().unwrap());
        assert_eq!(wide("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(wide("::ffff:203.0.113.7"), "203.0.113.0/24");
        assert_eq!(wide("2001:db8:1:2:3::9"), "2001:db8:1::/48");
        assert_eq!(wide("2001:db8:1:ffff::1"), wide("2001:db8:1:2::1"));
        assert_ne!(wide("2001:db8:1::1"), wide("2001:db8:2::1"));
    }
}
