//! Sign-ups in the store: pending until their link is followed, counted
//! for the limits (by keyed hashes of the mailbox, the client and its
//! network), their confirmation mails in an outbox until sent, and the
//! consent each confirmation records. The limits are checked and the
//! sign-up and its mail recorded in one write transaction, so two requests
//! at once cannot both pass, and a restart (or a crash) forgets nothing.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::people::lift_suppression;
use super::subscribers::{Consent, insert_consent, save_details, stamp};
use super::{Result, Store};
use crate::domain::{ConsentMethod, OrganisationType, Subscriber};

/// A sign-up as the form gave it, waiting for its link.
#[derive(Debug, Clone)]
pub(crate) struct PendingSignup {
    /// SHA-256 of the link's token, hex.
    pub(crate) token_hash: String,
    /// Checked as a CSV row is; its `consent` date is the sign-up's.
    pub(crate) subscriber: Subscriber,
    pub(crate) consent_version: String,
    /// The client as the consent record keeps it: its address, or its keyed hash.
    pub(crate) client: String,
    pub(crate) expires: DateTime<Utc>,
}

/// Who a sign-up counts against: keyed hashes, so the counts hold no
/// address, typed or IP.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    /// The mailbox the address reaches (its `+tag` left out, its case folded).
    pub(crate) mailbox: String,
    /// The client: an IPv4 address, an IPv6 /64.
    pub(crate) client: String,
    /// The client's network: an IPv4 /24, an IPv6 /48.
    pub(crate) network: String,
}

/// How many sign-ups the form takes, and how many mails a mailbox gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignupLimits {
    /// One mail per mailbox in this time.
    pub(crate) address_interval: Duration,
    pub(crate) per_address_per_day: u32,
    pub(crate) per_client_per_hour: u32,
    pub(crate) per_network_per_hour: u32,
    /// Sign-ups in all an hour, a network's first one not counted against it.
    pub(crate) per_hour: u32,
}

/// A limit on who signs up: nothing is recorded, and the visitor is told
/// to try later (it says nothing about the address typed in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientLimit {
    ClientHour,
    NetworkHour,
    /// The form's hourly budget is spent, and this network has had its first.
    Hour,
}

impl ClientLimit {
    /// Its name in the log line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClientLimit::ClientHour => "sign-ups per client per hour (site.signup.per_client_per_hour)",
            ClientLimit::NetworkHour => "sign-ups per network per hour (site.signup.per_network_per_hour)",
            ClientLimit::Hour => "sign-ups per hour (site.signup.per_hour)",
        }
    }
}

/// A limit on what one mailbox gets: the sign-up is counted, no mail is
/// sent, and the answer is the one a mailed sign-up gets (whether an
/// address was signed up lately is nobody's business but its owner's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailboxLimit {
    /// A mail went to this mailbox less than the interval ago.
    Interval,
    Day,
}

impl MailboxLimit {
    /// Its name in the log line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MailboxLimit::Interval => {
                "one mail per address per interval (site.signup.address_interval_minutes)"
            }
            MailboxLimit::Day => "mails per address per day (site.signup.per_address_per_day)",
        }
    }
}

/// A sign-up the client limits let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signed {
    /// Pending, its confirmation mail in the outbox.
    Mailed,
    /// Counted, but its mailbox had its share: no mail.
    Held(MailboxLimit),
}

/// A confirmation mail in the outbox, with what it is made of.
#[derive(Debug, Clone)]
pub(crate) struct OutboxMail {
    pub(crate) id: i64,
    pub(crate) email: String,
    /// The link's token.
    pub(crate) token: String,
    pub(crate) newsletters: Vec<String>,
    pub(crate) expires: DateTime<Utc>,
    /// When the sign-up was recorded: the mail's date.
    pub(crate) created: DateTime<Utc>,
    /// Tries that failed so far.
    pub(crate) tries: u32,
}

/// A welcome mail waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct WelcomeMail {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) newsletter: String,
    /// When the sign-up was confirmed: the mail's date.
    pub(crate) created: DateTime<Utc>,
    /// Tries that failed so far.
    pub(crate) tries: u32,
}

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// Subscribed to these newsletters, now.
    Confirmed {
        email: String,
        newsletters: Vec<String>,
    },
    AlreadyConfirmed,
    Expired,
    /// No such link (never issued, or purged long after it expired).
    Unknown,
}

/// A time [`stamp`] wrote, from column `index` of `row`.
pub(super) fn stamped(row: &rusqlite::Row, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(index)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// Pending sign-ups are deleted this long after their link expired; until
/// then following it says "expired" rather than "not valid".
const KEPT_AFTER_EXPIRY_DAYS: i64 = 30;

impl Store {
    /// Counts `signup` against its client and network, then against its
    /// mailbox: past a client limit nothing is recorded; past a mailbox
    /// limit the sign-up is counted and nothing else; else it is pending
    /// and its confirmation mail (with `token`) is in the outbox. One write
    /// transaction either way, so two requests at once cannot both pass.
    pub(crate) fn record_signup(
        &mut self,
        signup: &PendingSignup,
        counted: &Counted,
        token: &str,
        limits: SignupLimits,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Signed, ClientLimit>> {
        self.write(|tx| {
            forget_old(tx, now)?;
            if let Some(limit) = client_limit(tx, counted, limits, now)? {
                return Ok(Err(limit));
            }
            let held = mailbox_limit(tx, &counted.mailbox, limits, now)?;
            let s = &signup.subscriber;
            tx.execute(
                "INSERT INTO signup_mails (email, mailbox, client, network, mailed, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.email,
                    counted.mailbox,
                    counted.client,
                    counted.network,
                    held.is_none(),
                    stamp(now)
                ],
            )?;
            if let Some(limit) = held {
                return Ok(Ok(Signed::Held(limit)));
            }
            tx.execute(
                "INSERT INTO signups (token_hash, email, name, organisation, organisation_type, country,
                    newsletters, consent_version, client, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    signup.token_hash,
                    s.email,
                    s.name,
                    s.organisation,
                    s.organisation_type,
                    s.country,
                    s.newsletters.join(" "),
                    signup.consent_version,
                    signup.client,
                    stamp(now),
                    stamp(signup.expires)
                ],
            )?;
            tx.execute(
                "INSERT INTO signup_outbox (token_hash, email, token, created, next_try)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![signup.token_hash, s.email, token, stamp(now)],
            )?;
            Ok(Ok(Signed::Mailed))
        })
    }

    /// The first confirmation mail in the outbox after `after` (its id)
    /// due by `due`, or due or not with `None`; mails whose link has
    /// expired, or whose sign-up is gone (erased), are dropped first:
    /// nobody could use them.
    pub(crate) fn next_confirmation_mail(
        &mut self,
        after: i64,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxMail>> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM signup_outbox WHERE token_hash NOT IN
                    (SELECT token_hash FROM signups WHERE expires > ?1)",
                [stamp(now)],
            )?;
            let mail = tx
                .query_row(
                    "SELECT o.id, s.email, o.token, s.newsletters, s.expires, o.created, o.tries
                     FROM signup_outbox o JOIN signups s ON s.token_hash = o.token_hash
                     WHERE o.id > ?1 AND (?2 IS NULL OR o.next_try <= ?2) ORDER BY o.id LIMIT 1",
                    params![after, due.map(stamp)],
                    |r| {
                        Ok(OutboxMail {
                            id: r.get(0)?,
                            email: r.get(1)?,
                            token: r.get(2)?,
                            newsletters: r
                                .get::<_, String>(3)?
                                .split_whitespace()
                                .map(str::to_string)
                                .collect(),
                            expires: stamped(r, 4)?,
                            created: stamped(r, 5)?,
                            tries: r.get(6)?,
                        })
                    },
                )
                .optional()?;
            Ok(mail)
        })
    }

    /// A confirmation mail has gone out, or is given up: out of the outbox
    /// (its token with it).
    pub(crate) fn confirmation_mail_done(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM signup_outbox WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// A confirmation mail failed for now: tried again from `retry_at`.
    pub(crate) fn confirmation_mail_deferred(&mut self, id: i64, retry_at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE signup_outbox SET tries = tries + 1, next_try = ?2 WHERE id = ?1",
                params![id, stamp(retry_at)],
            )?;
            Ok(())
        })
    }

    /// Follows a confirmation link: the subscriber created or updated from
    /// the sign-up, each chosen newsletter subscribed (a newsletter left
    /// earlier too: this is a new consent), one consent row per newsletter,
    /// a welcome mail per newsletter never welcomed to before, and the
    /// pending sign-up deleted. A new consent also lifts an
    /// erasure's suppression: `suppressed` gives the keyed hash of the
    /// address the suppression list knows it by; all in one transaction.
    pub(crate) fn confirm_signup(
        &mut self,
        token_hash: &str,
        suppressed: impl FnOnce(&str) -> String,
        now: DateTime<Utc>,
    ) -> Result<Confirmation> {
        self.write(|tx| {
            let pending = tx
                .query_row(
                    "SELECT email, name, organisation, organisation_type, country, newsletters,
                            consent_version, client, expires
                     FROM signups WHERE token_hash = ?1",
                    [token_hash],
                    |r| {
                        Ok((
                            Subscriber {
                                email: r.get(0)?,
                                name: r.get(1)?,
                                organisation: r.get(2)?,
                                organisation_type: r.get::<_, OrganisationType>(3)?,
                                country: r.get(4)?,
                                newsletters: r
                                    .get::<_, String>(5)?
                                    .split_whitespace()
                                    .map(str::to_string)
                                    .collect(),
                                consent: now.date_naive(),
                            },
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, String>(8)?,
                        ))
                    },
                )
                .optional()?;
            let Some((subscriber, version, client, expires)) = pending else {
                let confirmed: bool = tx.query_row(
                    "SELECT count(*) FROM signups_confirmed WHERE token_hash = ?1",
                    [token_hash],
                    |r| r.get(0),
                )?;
                return Ok(if confirmed {
                    Confirmation::AlreadyConfirmed
                } else {
                    Confirmation::Unknown
                });
            };
            if expires <= stamp(now) {
                return Ok(Confirmation::Expired);
            }
            lift_suppression(tx, &suppressed(&subscriber.email))?;
            subscribe(tx, &subscriber, now)?;
            for newsletter in &subscriber.newsletters {
                tx.execute(
                    "INSERT OR IGNORE INTO welcome_mails (email, newsletter, created, next_try)
                     VALUES (?1, ?2, ?3, ?3)",
                    params![subscriber.email, newsletter, stamp(now)],
                )?;
            }
            for newsletter in &subscriber.newsletters {
                let consent = Consent {
                    email: &subscriber.email,
                    newsletter,
                    method: ConsentMethod::Form,
                    source: &client,
                    version: Some(&version),
                    at: now,
                };
                insert_consent(tx, &consent)?;
            }
            tx.execute("DELETE FROM signups WHERE token_hash = ?1", [token_hash])?;
            tx.execute(
                "INSERT INTO signups_confirmed (token_hash, at) VALUES (?1, ?2)",
                params![token_hash, stamp(now)],
            )?;
            Ok(Confirmation::Confirmed {
                email: subscriber.email,
                newsletters: subscriber.newsletters,
            })
        })
    }
}

/// The sign-up's newsletters subscribed, an unsubscribe from one of them,
/// or from all, lifted. A new subscriber's details are the sign-up's; an
/// existing one's are kept: whoever typed them into the form, the person
/// changes their own in the preference centre.
fn subscribe(tx: &Transaction, s: &Subscriber, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let known: bool = tx.query_row(
        "SELECT count(*) FROM subscribers WHERE email = ?1",
        [&s.email],
        |r| r.get(0),
    )?;
    if !known {
        save_details(tx, s, &now.to_rfc3339())?;
    }
    tx.execute(
        "UPDATE subscribers SET unsubscribed = NULL WHERE email = ?1",
        [&s.email],
    )?;
    for newsletter in &s.newsletters {
        tx.execute(
            "INSERT INTO subscriptions (email, newsletter) VALUES (?1, ?2)
             ON CONFLICT DO UPDATE SET unsubscribed = NULL",
            params![s.email, newsletter],
        )?;
    }
    Ok(())
}

/// The client limit a sign-up runs into, if any: its client's, its
/// network's, then the form's hourly budget, which a network's first
/// sign-up of the hour never meets (a flood from elsewhere locks nobody out).
fn client_limit(
    tx: &Transaction,
    counted: &Counted,
    limits: SignupLimits,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<ClientLimit>> {
    let hour = stamp(now - Duration::hours(1));
    let count = |sql: &str, who: &str| -> rusqlite::Result<u32> {
        tx.prepare_cached(sql)?
            .query_row(params![who, hour], |r| r.get(0))
    };
    let network = count(
        "SELECT count(*) FROM signup_mails WHERE network = ?1 AND at > ?2",
        &counted.network,
    )?;
    Ok(
        if count(
            "SELECT count(*) FROM signup_mails WHERE client = ?1 AND at > ?2",
            &counted.client,
        )? >= limits.per_client_per_hour
        {
            Some(ClientLimit::ClientHour)
        } else if network >= limits.per_network_per_hour {
            Some(ClientLimit::NetworkHour)
        } else if network > 0
            && count("SELECT count(*) FROM signup_mails WHERE ?1 = ?1 AND at > ?2", "")? >= limits.per_hour
        {
            Some(ClientLimit::Hour)
        } else {
            None
        },
    )
}

/// The mailbox limit a sign-up runs into, if any: the mails sent to its
/// mailbox in the interval, then in a day.
fn mailbox_limit(
    tx: &Transaction,
    mailbox: &str,
    limits: SignupLimits,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<MailboxLimit>> {
    let mailed_since = |since: DateTime<Utc>| -> rusqlite::Result<u32> {
        tx.prepare_cached("SELECT count(*) FROM signup_mails WHERE mailbox = ?1 AND mailed AND at > ?2")?
            .query_row(params![mailbox, stamp(since)], |r| r.get(0))
    };
    Ok(if mailed_since(now - limits.address_interval)? > 0 {
        Some(MailboxLimit::Interval)
    } else if mailed_since(now - Duration::days(1))? >= limits.per_address_per_day {
        Some(MailboxLimit::Day)
    } else {
        None
    })
}

/// Mails older than a day count for no limit; sign-ups long expired are
/// personal data kept for nothing.
fn forget_old(tx: &Transaction, now: DateTime<Utc>) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM signup_mails WHERE at <= ?1",
        [stamp(now - Duration::days(1))],
    )?;
    tx.execute(
        "DELETE FROM signups WHERE expires <= ?1",
        [stamp(now - Duration::days(KEPT_AFTER_EXPIRY_DAYS))],
    )?;
    Ok(())
}

/// What a welcome mail cut short by a crash is recorded as.
const CUT_SHORT: &str =
    "not known: serve stopped during the try; not tried again, so that it is never sent twice";

impl Store {
    /// Welcome mails whose try was out when `serve` stopped (a crash, a
    /// kill): recorded as done with [`CUT_SHORT`], never tried again; their
    /// ids, for the log. Called once as the mailer starts.
    pub(crate) fn welcome_mails_cut_short(&mut self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        self.write(|tx| {
            let ids = tx
                .prepare(
                    "SELECT id FROM welcome_mails WHERE trying IS NOT NULL AND done IS NULL ORDER BY id",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            tx.execute(
                "UPDATE welcome_mails SET done = ?1, outcome = ?2 WHERE trying IS NOT NULL AND done IS NULL",
                params![stamp(now), CUT_SHORT],
            )?;
            Ok(ids)
        })
    }

    /// The first welcome mail after `after` (its id) due by `due`, or due
    /// or not with `None`, marked as being tried; those whose newsletter
    /// was left before it went are recorded as not sent first.
    pub(crate) fn next_welcome_mail(
        &mut self,
        after: i64,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<WelcomeMail>> {
        self.write(|tx| {
            tx.execute(
                "UPDATE welcome_mails SET done = ?1, outcome = 'not sent: the newsletter was left first'
                 WHERE done IS NULL AND trying IS NULL AND NOT EXISTS
                    (SELECT 1 FROM subscriptions s JOIN subscribers p ON p.email = s.email
                     WHERE s.email = welcome_mails.email AND s.newsletter = welcome_mails.newsletter
                       AND s.unsubscribed IS NULL AND p.unsubscribed IS NULL)",
                [stamp(now)],
            )?;
            let mail = tx
                .query_row(
                    "SELECT id, email, newsletter, created, tries FROM welcome_mails
                     WHERE done IS NULL AND trying IS NULL AND id > ?1 AND (?2 IS NULL OR next_try <= ?2)
                     ORDER BY id LIMIT 1",
                    params![after, due.map(stamp)],
                    |r| {
                        Ok(WelcomeMail {
                            id: r.get(0)?,
                            email: r.get(1)?,
                            newsletter: r.get(2)?,
                            created: stamped(r, 3)?,
                            tries: r.get(4)?,
                        })
                    },
                )
                .optional()?;
            if let Some(mail) = &mail {
                tx.execute(
                    "UPDATE welcome_mails SET trying = ?2 WHERE id = ?1",
                    params![mail.id, stamp(now)],
                )?;
            }
            Ok(mail)
        })
    }

    /// A welcome mail's try is over for good: `outcome` is `sent`, or why
    /// it was given up. Kept: no second welcome to that newsletter.
    pub(crate) fn welcome_mail_done(&mut self, id: i64, outcome: &str, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE welcome_mails SET trying = NULL, tries = tries + 1, done = ?2, outcome = ?3 WHERE id = ?1",
                params![id, stamp(now), outcome],
            )?;
            Ok(())
        })
    }

    /// A welcome mail failed for now (the server said so): tried again
    /// from `retry_at`.
    pub(crate) fn welcome_mail_deferred(&mut self, id: i64, retry_at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE welcome_mails SET trying = NULL, tries = tries + 1, next_try = ?2 WHERE id = ?1",
                params![id, stamp(retry_at)],
            )?;
            Ok(())
        })
    }
}
