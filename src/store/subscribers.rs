//! Subscribers in the store: imported, listed, unsubscribed.

use std::collections::BinaryHeap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Row, Transaction, params};

use super::{Result, Status, StatusLabel, Store, unknown_value};
use crate::domain::EditionRef;
use crate::domain::{ConsentMethod, OrganisationType, Subscriber};

/// One unsubscribe: the address, its newsletter (all when none), and when
/// it was asked for; as `serve` groups them and its spool keeps them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct UnsubscribeRequest {
    pub(crate) email: String,
    pub(crate) newsletter: Option<String>,
    pub(crate) at: DateTime<Utc>,
}

/// Stored as `company`, `organisation` or `individual`. It decides who gets
/// the EU-only newsletters, so an unknown value is an error when read (it
/// once read as `individual`, and a company silently lost them).
impl ToSql for OrganisationType {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for OrganisationType {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        OrganisationType::parse(text)
            .ok_or_else(|| unknown_value("organisation type", text, "company, organisation or individual"))
    }
}

/// The consent date in column `index`, stored as `YYYY-MM-DD`.
fn consent_date(row: &Row, index: usize) -> rusqlite::Result<NaiveDate> {
    let text: String = row.get(index)?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
        let message = format!("consent date {text:?}: {e}");
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
    })
}

/// A subscriber with where they stand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SubscriberRecord {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) organisation: String,
    pub(crate) organisation_type: OrganisationType,
    pub(crate) country: String,
    pub(crate) consent: NaiveDate,
    /// Newsletters they receive.
    pub(crate) newsletters: Vec<String>,
    /// Newsletters they left.
    pub(crate) unsubscribed: Vec<String>,
    /// Set when they left every newsletter.
    pub(crate) unsubscribed_all: bool,
    pub(crate) hard_bounces: u32,
    /// Every consent they gave, oldest first.
    pub(crate) consents: Vec<ConsentRecord>,
}

/// A subscriber as the desk's search shows them.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) organisation: String,
    /// Newsletters they receive.
    pub(crate) newsletters: Vec<String>,
    /// Newsletters they left.
    pub(crate) left: Vec<String>,
    /// Set when they left every newsletter.
    pub(crate) unsubscribed_all: bool,
    pub(crate) hard_bounces: u32,
    /// On the `suppressions` list: soft bounces in a row stopped their mail.
    pub(crate) suppressed: bool,
}

impl SubscriberRecord {
    /// "Jane Doe <jane@example.de>", or the bare address without a name.
    pub(crate) fn mailbox(&self) -> String {
        match self.name.trim() {
            "" => self.email.clone(),
            name => format!("{name} <{}>", self.email),
        }
    }
}

/// One consent: to which newsletter, when, how and from where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ConsentRecord {
    pub(crate) newsletter: String,
    /// RFC 3339, UTC.
    pub(crate) at: String,
    pub(crate) method: ConsentMethod,
    /// The client's network or its keyed hash (form, preferences), the file's name (import).
    pub(crate) source: String,
    /// The consent text's version (form, preferences).
    pub(crate) consent_version: Option<String>,
}

impl FromSql for ConsentMethod {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        ConsentMethod::parse(text)
            .ok_or_else(|| unknown_value("consent method", text, "form, preferences, import or api"))
    }
}

/// What `reset_bounces` undid for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BounceReset {
    pub(crate) email: String,
    /// Hard bounces taken off the count.
    pub(crate) hard_bounces: u32,
    /// Failed deliveries made due again.
    pub(crate) deliveries: usize,
    /// A suppression after soft bounces lifted (their count starts again).
    pub(crate) soft_suppression: bool,
}

/// A subscriber of one newsletter, with what the send needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recipient {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) organisation_type: OrganisationType,
    pub(crate) country: String,
    /// Left this newsletter, or every newsletter.
    pub(crate) unsubscribed: bool,
    pub(crate) hard_bounces: u32,
    /// Why nothing is sent to them (soft bounces in a row), when so.
    pub(crate) suppressed: Option<String>,
}

impl Store {
    /// Adds or updates subscribers (by email) in one transaction. A
    /// subscription that was left stays left: an import never undoes an
    /// unsubscription. Each new subscription gets a consent record,
    /// `import` from `file`. Returns how many subscribers were new.
    pub(crate) fn import_subscribers(
        &mut self,
        subscribers: &[Subscriber],
        file: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.write(|tx| {
            // Prepared once, used for every row: a million-row import spends
            // its time in SQLite, not in parsing the same SQL again.
            let mut exists = tx.prepare_cached("SELECT count(*) FROM subscribers WHERE email = ?1")?;
            let mut subscribe = tx.prepare_cached(
                "INSERT INTO subscriptions (email, newsletter) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            let updated = now.to_rfc3339();
            let mut added = 0;
            for s in subscribers {
                let existed: bool = exists.query_row([&s.email], |r| r.get(0))?;
                save_details(tx, s, &updated)?;
                for newsletter in &s.newsletters {
                    if subscribe.execute(params![s.email, newsletter])? > 0 {
                        let consent = Consent {
                            email: &s.email,
                            newsletter,
                            method: ConsentMethod::Import,
                            source: file,
                            version: None,
                            at: now,
                        };
                        insert_consent(tx, &consent)?;
                    }
                }
                added += usize::from(!existed);
            }
            Ok(added)
        })
    }

    /// Unsubscribes from one newsletter, or from all (and any added later),
    /// on the subscriber's behalf: by `by` (an admin, the operator) at
    /// `now`, and so recorded for the desk's log. Idempotent; `false` when
    /// the address is not a subscriber.
    pub(crate) fn unsubscribe(
        &mut self,
        email: &str,
        newsletter: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let now = now.to_rfc3339();
        self.write(|tx| {
            if !unsubscribe_in(tx, email, newsletter, &now)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO unsubscribed_by (email, newsletter, by, at) VALUES (?1, ?2, ?3, ?4)",
                params![email.to_ascii_lowercase(), newsletter, by, now],
            )?;
            Ok(true)
        })
    }

    /// The subscribers whose address or name holds `words` (any case,
    /// Unicode's: `ÉLODIE` finds Élodie), by email: the first `limit`, and
    /// how many there are in all. The list is read a row at a time, never
    /// held whole, each address and name read where SQLite holds it, and
    /// lowercased into a copy only when it is not ASCII ([`Needle`]); in the
    /// table's own order, the first `limit` addresses kept aside (reading
    /// it in the order of addresses, through their index, took most of the
    /// time): the search holds `serve`'s store thread, where unsubscribes wait.
    pub(crate) fn search_subscribers(&self, words: &str, limit: usize) -> Result<(Vec<Found>, usize)> {
        let needle = Needle::new(words);
        let mut statement = self
            .conn
            .prepare_cached("SELECT email, name FROM subscribers")
            .map_err(|e| self.error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        // The first `limit` addresses so far, the last of them on top.
        let (mut first, mut total) = (BinaryHeap::with_capacity(limit + 1), 0);
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let text = |column| {
                row.get_ref(column)
                    .and_then(|value| value.as_str().map_err(Into::into))
                    .map_err(|e| self.error(e))
            };
            let email = text(0)?;
            if needle.is_in(email) || needle.is_in(text(1)?) {
                total += 1;
                if first.len() < limit {
                    first.push(email.to_string());
                } else if first.peek().is_some_and(|last: &String| email < last.as_str()) {
                    first.pop();
                    first.push(email.to_string());
                }
            }
        }
        drop(rows);
        let found = first
            .into_sorted_vec()
            .iter()
            .map(|email| self.found(email))
            .collect::<Result<Vec<_>>>()?;
        Ok((found, total))
    }

    /// What the desk's search shows of the subscriber `email`.
    fn found(&self, email: &str) -> Result<Found> {
        let words = |text: String| text.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        self.rows(
            "SELECT s.email, s.name, s.organisation, s.unsubscribed IS NOT NULL, s.hard_bounces,
                    coalesce((SELECT group_concat(newsletter, ' ') FROM subscriptions
                              WHERE email = s.email AND unsubscribed IS NULL), ''),
                    coalesce((SELECT group_concat(newsletter, ' ') FROM subscriptions
                              WHERE email = s.email AND unsubscribed IS NOT NULL), ''),
                    EXISTS (SELECT 1 FROM suppressions WHERE email = s.email)
             FROM subscribers s WHERE s.email = ?1",
            [email],
            |row| {
                Ok(Found {
                    email: row.get(0)?,
                    name: row.get(1)?,
                    organisation: row.get(2)?,
                    unsubscribed_all: row.get(3)?,
                    hard_bounces: row.get(4)?,
                    newsletters: words(row.get(5)?),
                    left: words(row.get(6)?),
                    suppressed: row.get(7)?,
                })
            },
        )?
        .pop()
        .ok_or_else(|| self.decode(format!("a subscriber vanished during a search: {email}")))
    }

    /// Many unsubscribes in one transaction: `serve` groups those that
    /// arrive together, and applies those it kept aside while the store was
    /// busy. Idempotent.
    pub(crate) fn unsubscribe_many(&mut self, requests: &[UnsubscribeRequest]) -> Result<()> {
        self.write(|tx| {
            for request in requests {
                let when = request.at.to_rfc3339();
                unsubscribe_in(tx, &request.email, request.newsletter.as_deref(), &when)?;
            }
            Ok(())
        })
    }

    /// Whether `email` is a subscriber (or was: unsubscribed ones count).
    pub(crate) fn is_subscriber(&self, email: &str) -> Result<bool> {
        let found = self.rows("SELECT 1 FROM subscribers WHERE email = ?1", [email], |_| Ok(()))?;
        Ok(!found.is_empty())
    }

    /// Undoes hard bounces that were counted wrongly (a server's fault, not
    /// the address's): each failed delivery becomes due again (`deferred`),
    /// and the count drops by as many, which lifts a suppression. `emails`
    /// limits it to those subscribers, whose count goes back to 0; `since`
    /// to the deliveries that failed from then on. Returns what changed.
    pub(crate) fn reset_bounces(
        &mut self,
        emails: &[String],
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<BounceReset>> {
        let since = since.map_or_else(String::new, |since| since.to_rfc3339());
        let now = now.to_rfc3339();
        self.write(|tx| {
            let emails = if emails.is_empty() {
                let mut query = tx.prepare(
                    "SELECT DISTINCT email FROM deliveries WHERE status = 'failed' AND updated >= ?1 ORDER BY email",
                )?;
                query
                    .query_map([&since], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?
            } else {
                emails.to_vec()
            };
            let mut resets = Vec::new();
            for email in emails {
                let deliveries = tx.execute(
                    "UPDATE deliveries SET status = 'deferred', updated = ?3,
                        error = 'hard bounce reset by the operator; was: ' || coalesce(error, '')
                     WHERE email = ?1 AND status = 'failed' AND updated >= ?2",
                    params![email, since, now],
                )?;
                let counted: u32 =
                    tx.query_row("SELECT hard_bounces FROM subscribers WHERE email = ?1", [&email], |r| r.get(0))?;
                let left = if since.is_empty() {
                    0
                } else {
                    counted.saturating_sub(u32::try_from(deliveries).unwrap_or(u32::MAX))
                };
                tx.execute(
                    "UPDATE subscribers SET hard_bounces = ?2, updated = ?3 WHERE email = ?1",
                    params![email, left, now],
                )?;
                let soft_suppression =
                    tx.execute("DELETE FROM suppressions WHERE email = ?1", [&email])? > 0;
                tx.execute("DELETE FROM soft_bounces WHERE email = ?1", [&email])?;
                if counted > left || deliveries > 0 || soft_suppression {
                    resets.push(BounceReset {
                        email,
                        hard_bounces: counted - left,
                        deliveries,
                        soft_suppression,
                    });
                }
            }
            Ok(resets)
        })
    }

    /// Every subscriber, by email, with their consents.
    pub(crate) fn subscribers(&self) -> Result<Vec<SubscriberRecord>> {
        self.subscriber_records(None)
    }

    /// One subscriber (`email` in any case), if they are one.
    pub(crate) fn subscriber(&self, email: &str) -> Result<Option<SubscriberRecord>> {
        let email = email.to_ascii_lowercase();
        Ok(self.subscriber_records(Some(&email))?.pop())
    }

    /// Every subscriber, or the one with address `only`, by email.
    fn subscriber_records(&self, only: Option<&str>) -> Result<Vec<SubscriberRecord>> {
        let words = |text: String| text.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let mut consents = self.consents()?.into_iter().peekable();
        let mut subscribers = self.rows(
            "SELECT s.email, s.name, s.organisation, s.organisation_type, s.country, s.consent,
                    s.unsubscribed IS NOT NULL, s.hard_bounces,
                    coalesce((SELECT group_concat(newsletter, ' ') FROM subscriptions
                              WHERE email = s.email AND unsubscribed IS NULL), ''),
                    coalesce((SELECT group_concat(newsletter, ' ') FROM subscriptions
                              WHERE email = s.email AND unsubscribed IS NOT NULL), '')
             FROM subscribers s WHERE ?1 IS NULL OR s.email = ?1 ORDER BY s.email",
            [only],
            |row| {
                Ok(SubscriberRecord {
                    email: row.get(0)?,
                    name: row.get(1)?,
                    organisation: row.get(2)?,
                    organisation_type: row.get(3)?,
                    country: row.get(4)?,
                    consent: consent_date(row, 5)?,
                    unsubscribed_all: row.get(6)?,
                    hard_bounces: row.get(7)?,
                    newsletters: words(row.get(8)?),
                    unsubscribed: words(row.get(9)?),
                    consents: Vec::new(),
                })
            },
        )?;
        // Both in address order: each subscriber takes the consents of theirs.
        for subscriber in &mut subscribers {
            while let Some((email, _)) = consents.peek() {
                if *email < subscriber.email {
                    consents.next();
                    continue;
                }
                if *email > subscriber.email {
                    break;
                }
                let (_, consent) = consents.next().expect("peeked");
                subscriber.consents.push(consent);
            }
        }
        Ok(subscribers)
    }

    /// Every consent, by address and then time.
    fn consents(&self) -> Result<Vec<(String, ConsentRecord)>> {
        self.rows(
            "SELECT email, newsletter, at, method, source, consent_version FROM consents
             ORDER BY email, at, rowid",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    ConsentRecord {
                        newsletter: row.get(1)?,
                        at: row.get(2)?,
                        method: row.get(3)?,
                        source: row.get(4)?,
                        consent_version: row.get(5)?,
                    },
                ))
            },
        )
    }

    /// How many ever subscribed to `newsletter`.
    pub(crate) fn recipient_count(&self, newsletter: &str) -> Result<usize> {
        let counts = self.rows(
            "SELECT count(*) FROM subscriptions WHERE newsletter = ?1",
            [newsletter],
            |row| row.get::<_, u32>(0),
        )?;
        Ok(counts.first().copied().unwrap_or(0) as usize)
    }

    /// Up to `limit` subscribers of `newsletter` whose address sorts after
    /// `after`, by email, each with where edition `number` stands for them:
    /// a send reads the list a page at a time, never whole.
    pub(crate) fn recipients_page(
        &self,
        edition: &EditionRef,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(Recipient, Option<Status>)>> {
        self.rows(
            "SELECT s.email, s.name, s.organisation_type, s.country,
                    s.unsubscribed IS NOT NULL OR u.unsubscribed IS NOT NULL, s.hard_bounces, d.status, d.error,
                    (SELECT why FROM suppressions WHERE email = s.email)
             FROM subscriptions u JOIN subscribers s ON s.email = u.email
             LEFT JOIN deliveries d ON d.newsletter = u.newsletter AND d.number = ?2 AND d.email = u.email
             WHERE u.newsletter = ?1 AND u.email > ?3 ORDER BY u.email LIMIT ?4",
            params![edition.newsletter, edition.number, after, limit],
            |row| {
                let state = match row.get::<_, Option<StatusLabel>>(6)? {
                    Some(label) => Some(Status::from_parts(label, row.get(7)?)),
                    None => None,
                };
                Ok((recipient(row)?, state))
            },
        )
    }
}

/// A subscriber's details, added or updated by address (an import, a
/// confirmed sign-up); their subscriptions are the caller's.
pub(super) fn save_details(tx: &Transaction, s: &Subscriber, updated: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO subscribers (email, name, organisation, organisation_type, country, consent, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (email) DO UPDATE SET name = excluded.name, organisation = excluded.organisation,
            organisation_type = excluded.organisation_type, country = excluded.country,
            consent = excluded.consent, updated = excluded.updated",
    )?
    .execute(params![
        s.email,
        s.name,
        s.organisation,
        s.organisation_type,
        s.country,
        s.consent.to_string(),
        updated
    ])?;
    Ok(())
}

fn recipient(row: &Row) -> rusqlite::Result<Recipient> {
    Ok(Recipient {
        email: row.get(0)?,
        name: row.get(1)?,
        organisation_type: row.get(2)?,
        country: row.get(3)?,
        unsubscribed: row.get(4)?,
        hard_bounces: row.get(5)?,
        suppressed: row.get(8)?,
    })
}

/// One unsubscribe inside a write transaction; `false` for an unknown address.
/// Addresses are stored with ASCII lowercase (see the migration merging
/// case duplicates); a token signed before it may carry capitals, and
/// still unsubscribes.
pub(super) fn unsubscribe_in(
    tx: &Transaction,
    email: &str,
    newsletter: Option<&str>,
    now: &str,
) -> rusqlite::Result<bool> {
    let email = &email.to_ascii_lowercase();
    let known: bool = tx.query_row(
        "SELECT count(*) FROM subscribers WHERE email = ?1",
        [email],
        |r| r.get(0),
    )?;
    if !known {
        return Ok(false);
    }
    match newsletter {
        Some(newsletter) => tx.execute(
            "INSERT INTO subscriptions (email, newsletter, unsubscribed) VALUES (?1, ?2, ?3)
             ON CONFLICT DO UPDATE SET unsubscribed = coalesce(unsubscribed, excluded.unsubscribed)",
            params![email, newsletter, now],
        )?,
        None => {
            tx.execute(
                "UPDATE subscriptions SET unsubscribed = coalesce(unsubscribed, ?2) WHERE email = ?1",
                params![email, now],
            )?;
            tx.execute(
                "UPDATE subscribers SET unsubscribed = coalesce(unsubscribed, ?2) WHERE email = ?1",
                params![email, now],
            )?
        }
    };
    Ok(true)
}
/// One consent row: who agreed to which newsletter, how, where and when.
pub(super) struct Consent<'a> {
    pub(super) email: &'a str,
    pub(super) newsletter: &'a str,
    pub(super) method: ConsentMethod,
    /// The page's client (form, preference centre), or the imported file's name.
    pub(super) source: &'a str,
    /// The consent text's version the page showed; `None` for an import.
    pub(super) version: Option<&'a str>,
    pub(super) at: DateTime<Utc>,
}

/// How a person agreed to the newsletters they add themselves, for the
/// consent record of each (the preference centre's).
#[derive(Debug, Clone)]
pub(crate) struct Agreement {
    pub(crate) method: ConsentMethod,
    /// The client as the form's consent keeps it: its network, or its keyed hash.
    pub(crate) source: String,
    /// The consent text's version the page showed.
    pub(crate) version: String,
}

/// Records one consent row.
pub(super) fn insert_consent(tx: &Transaction, consent: &Consent<'_>) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO consents (email, newsletter, at, method, source, consent_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        consent.email,
        consent.newsletter,
        stamp(consent.at),
        consent.method.as_str(),
        consent.source,
        consent.version
    ])?;
    Ok(())
}

/// A time as the consent and sign-up tables keep it: UTC to the second, so
/// it sorts as text.
pub(super) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The words of a subscriber search, lowercased as Unicode lowercases them.
struct Needle(String);

impl Needle {
    fn new(words: &str) -> Needle {
        Needle(words.to_lowercase())
    }

    /// Whether `text`, lowercased, holds the words. In an ASCII text (whose
    /// lowercase is ASCII) ASCII words are compared in place, byte by byte,
    /// and others cannot be: the same answer, without a copy. Any other text
    /// is lowercased first: its capitals may not be ASCII (`É`), and some
    /// lowercase to an ASCII letter (`\u{212A}`, the Kelvin sign, is a `k`).
    fn is_in(&self, text: &str) -> bool {
        let words = self.0.as_bytes();
        if words.is_empty() {
            return true;
        }
        if text.is_ascii() {
            return self.0.is_ascii()
                && text
                    .as_bytes()
                    .windows(words.len())
                    .any(|window| window.eq_ignore_ascii_case(words));
        }
        text.to_lowercase().contains(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Needle;

    #[test]
    fn a_needle_finds_what_lowercasing_both_finds() {
        let texts = [
            "Jane Doe",
            "jane@example.de",
            "Élodie Martin",
            "\u{212A}enji Sato",
            "İlker Straße",
            "",
        ];
        let words = [
            "JANE", "doe", "ÉLODIE", "élodie", "kenji", "ilker", "STRASSE", "straße", "", "x",
        ];
        for text in texts {
            for word in words {
                assert_eq!(
                    Needle::new(word).is_in(text),
                    text.to_lowercase().contains(&word.to_lowercase()),
                    "{word:?} in {text:?}"
                );
            }
        }
    }
}
