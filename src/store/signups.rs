//! Sign-ups in the store: pending until their link is followed, the
//! confirmation mails counted for the limits, and the consent each
//! confirmation records. The limits are checked and the mail recorded in
//! one write transaction, so two requests at once cannot both pass, and a
//! restart forgets nothing.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::people::lift_suppression;
use super::subscribers::save_details;
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
    /// The client's IP address, or its keyed hash.
    pub(crate) client: String,
    pub(crate) expires: DateTime<Utc>,
}

/// How many confirmation mails the form may send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignupLimits {
    /// One mail per address in this time.
    pub(crate) address_interval: Duration,
    pub(crate) per_address_per_day: u32,
    pub(crate) per_client_per_hour: u32,
    pub(crate) per_hour: u32,
}

/// The limit a sign-up ran into: no mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// A mail went to this address less than the interval ago.
    AddressInterval,
    AddressDay,
    ClientHour,
    Hour,
    /// The honeypot field was filled in (checked before the store).
    Honeypot,
}

impl Limit {
    /// Its name in the log line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Limit::AddressInterval => {
                "one mail per address per interval (site.signup.address_interval_minutes)"
            }
            Limit::AddressDay => "mails per address per day (site.signup.per_address_per_day)",
            Limit::ClientHour => "mails per client per hour (site.signup.per_client_per_hour)",
            Limit::Hour => "mails per hour (site.signup.per_hour)",
            Limit::Honeypot => "the honeypot field was filled in",
        }
    }
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

/// A time as the sign-up tables keep it: UTC to the second, so it sorts as text.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Pending sign-ups are deleted this long after their link expired; until
/// then following it says "expired" rather than "not valid".
const KEPT_AFTER_EXPIRY_DAYS: i64 = 30;

impl Store {
    /// Records `signup` and its confirmation mail, unless a limit says no
    /// mail now: then nothing is recorded and the limit is returned.
    pub(crate) fn record_signup(
        &mut self,
        signup: &PendingSignup,
        limits: SignupLimits,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), Limit>> {
        self.write(|tx| {
            forget_old(tx, now)?;
            let email = &signup.subscriber.email;
            let count = |sql: &str, who: &str, since: DateTime<Utc>| -> rusqlite::Result<u32> {
                tx.query_row(sql, params![who, stamp(since)], |r| r.get(0))
            };
            let by_address = "SELECT count(*) FROM signup_mails WHERE email = ?1 AND at > ?2";
            let by_client = "SELECT count(*) FROM signup_mails WHERE client = ?1 AND at > ?2";
            let all = "SELECT count(*) FROM signup_mails WHERE ?1 = ?1 AND at > ?2";
            let limit = if count(by_address, email, now - limits.address_interval)? > 0 {
                Some(Limit::AddressInterval)
            } else if count(by_address, email, now - Duration::days(1))? >= limits.per_address_per_day {
                Some(Limit::AddressDay)
            } else if count(by_client, &signup.client, now - Duration::hours(1))?
                >= limits.per_client_per_hour
            {
                Some(Limit::ClientHour)
            } else if count(all, "", now - Duration::hours(1))? >= limits.per_hour {
                Some(Limit::Hour)
            } else {
                None
            };
            if let Some(limit) = limit {
                return Ok(Err(limit));
            }
            let s = &signup.subscriber;
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
                "INSERT INTO signup_mails (email, client, at) VALUES (?1, ?2, ?3)",
                params![email, signup.client, stamp(now)],
            )?;
            Ok(Ok(()))
        })
    }

    /// Undoes [`Store::record_signup`] when its mail could not be sent:
    /// the link never reached anyone, and the person may try again at once.
    pub(crate) fn forget_signup(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            let email: Option<String> = tx
                .query_row(
                    "DELETE FROM signups WHERE token_hash = ?1 RETURNING email",
                    [token_hash],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(email) = email {
                tx.execute(
                    "DELETE FROM signup_mails WHERE email = ?1 AND at = ?2",
                    params![email, stamp(now)],
                )?;
            }
            Ok(())
        })
    }

    /// Follows a confirmation link: the subscriber created or updated from
    /// the sign-up, each chosen newsletter subscribed (a newsletter left
    /// earlier too: this is a new consent), one consent row per newsletter,
    /// and the pending sign-up deleted. A new consent also lifts an
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
                insert_consent(
                    tx,
                    (&subscriber.email, newsletter),
                    ConsentMethod::Form,
                    &client,
                    Some(&version),
                    now,
                )?;
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

/// The subscriber as the sign-up gave them, subscribed to its newsletters;
/// an unsubscribe from one of them, or from all, is lifted.
fn subscribe(tx: &Transaction, s: &Subscriber, now: DateTime<Utc>) -> rusqlite::Result<()> {
    save_details(tx, s, &now.to_rfc3339())?;
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

/// One consent row.
pub(super) fn insert_consent(
    tx: &Transaction,
    (email, newsletter): (&str, &str),
    method: ConsentMethod,
    source: &str,
    version: Option<&str>,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO consents (email, newsletter, at, method, source, consent_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        email,
        newsletter,
        stamp(at),
        method.as_str(),
        source,
        version
    ])?;
    Ok(())
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
