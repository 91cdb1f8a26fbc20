//! What `bulletin bounces` does to the store: every mail read is kept by
//! its key, so a later run skips it unread; hard bounces add to a
//! subscriber's count, soft ones are kept with when, complaints and
//! mailed unsubscribes unsubscribe. The mails of one run are written in
//! one transaction, after they were all read.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::subscribers::unsubscribe_in;
use super::{Result, Store};

/// One mail read, to record: what it was, and whom it changes.
#[derive(Debug, Clone)]
pub(crate) struct BounceMail<'a> {
    /// The Message-ID, else a hash of the bytes.
    pub(crate) key: &'a str,
    /// `hard`, `soft`, `complaint`, `unsubscribe` or `ignored`.
    pub(crate) kind: &'a str,
    pub(crate) status: Option<&'a str>,
    /// What the mail was, kept with it (`DSN`, `feedback report`…).
    pub(crate) why: &'a str,
    /// How it was proven to be about its subscriber (`verp`…); none for a
    /// mail that is about no one bulletin can prove.
    pub(crate) proof: Option<&'a str>,
    /// The subscriber it changes; none for a mail that changes no one.
    pub(crate) bounce: Option<Bounce<'a>>,
}

/// What one mail changes for its subscriber.
#[derive(Debug, Clone)]
pub(crate) struct Bounce<'a> {
    pub(crate) email: &'a str,
    /// The newsletter the token names.
    pub(crate) newsletter: Option<&'a str>,
    /// The edition's number, when the token names it.
    pub(crate) number: Option<u32>,
}

/// A mail an earlier run read, as it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadBefore {
    pub(crate) kind: String,
    pub(crate) status: Option<String>,
    pub(crate) proof: Option<String>,
    /// The subscriber it changed, if it changed one (and they were not erased since).
    pub(crate) email: Option<String>,
}

/// The soft-bounce rule: `count` in a row within `days`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SoftRule {
    pub(crate) count: u32,
    pub(crate) days: u32,
}

/// What recording one mail changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Read before: nothing changed.
    AlreadyProcessed,
    /// Recorded, and it changes no one.
    Unchanged,
    /// Proven about an address that is no subscriber (any more): recorded, nothing changed.
    NoSubscriber,
    /// The subscriber's hard bounces, now.
    Hard { count: u32 },
    /// Soft bounces in a row, now, and whether that suppressed the address.
    Soft { in_a_row: u32, suppressed: bool },
    /// Unsubscribed from every newsletter.
    UnsubscribedAll,
    /// Unsubscribed from this newsletter.
    Unsubscribed { newsletter: String },
}

impl Store {
    /// The mail with this key, if an earlier run read it.
    pub(crate) fn bounce_read(&self, key: &str) -> Result<Option<ReadBefore>> {
        let found = self.rows(
            "SELECT m.kind, m.status, m.proof, b.email FROM bounce_mails m
             LEFT JOIN bounce_messages b ON b.key = m.key WHERE m.key = ?1",
            [key],
            |row| {
                Ok(ReadBefore {
                    kind: row.get(0)?,
                    status: row.get(1)?,
                    proof: row.get(2)?,
                    email: row.get(3)?,
                })
            },
        )?;
        Ok(found.into_iter().next())
    }

    /// Records every mail of a run and acts on those that change a
    /// subscriber, in one transaction: all of it, or none of it. A mail
    /// another run recorded meanwhile changes nothing. The effects, in the
    /// order of `mails`.
    pub(crate) fn record_bounces(
        &mut self,
        mails: &[BounceMail],
        at: DateTime<Utc>,
        rule: SoftRule,
    ) -> Result<Vec<Effect>> {
        self.write(|tx| {
            let mut effects = Vec::with_capacity(mails.len());
            for mail in mails {
                effects.push(record(tx, mail, at, rule)?);
            }
            Ok(effects)
        })
    }

    /// Every subscriber's address (those who left too): the ones a VERP
    /// token can name.
    pub(crate) fn subscriber_emails(&self) -> Result<Vec<String>> {
        self.rows("SELECT email FROM subscribers ORDER BY email", [], |row| {
            row.get(0)
        })
    }
}

/// Records one mail and acts on it.
fn record(
    tx: &Transaction,
    mail: &BounceMail,
    at: DateTime<Utc>,
    rule: SoftRule,
) -> rusqlite::Result<Effect> {
    let when = at.to_rfc3339();
    let fresh = tx
        .prepare_cached(
            "INSERT INTO bounce_mails (key, kind, status, why, proof, read) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            mail.key,
            mail.kind,
            mail.status,
            mail.why,
            mail.proof,
            when
        ])?;
    if fresh == 0 {
        return Ok(Effect::AlreadyProcessed);
    }
    let Some(bounce) = &mail.bounce else {
        return Ok(Effect::Unchanged);
    };
    let known = tx
        .query_row(
            "SELECT 1 FROM subscribers WHERE email = ?1",
            [bounce.email],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !known {
        return Ok(Effect::NoSubscriber);
    }
    let (newsletter, number) = (bounce.newsletter, bounce.number);
    tx.execute(
        "INSERT INTO bounce_messages (key, kind, email, newsletter, number, status, why, processed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        params![
            mail.key,
            mail.kind,
            bounce.email,
            newsletter,
            number,
            mail.status,
            mail.why,
            when
        ],
    )?;
    Ok(match (mail.kind, newsletter) {
        ("hard", _) => {
            tx.execute(
                "UPDATE subscribers SET hard_bounces = hard_bounces + 1, updated = ?2 WHERE email = ?1",
                params![bounce.email, when],
            )?;
            let count = tx.query_row(
                "SELECT hard_bounces FROM subscribers WHERE email = ?1",
                [bounce.email],
                |row| row.get(0),
            )?;
            Effect::Hard { count }
        }
        ("soft", _) => soft(tx, mail, bounce, at, rule)?,
        ("unsubscribe", Some(newsletter)) => {
            unsubscribe_in(tx, bounce.email, Some(newsletter), &when)?;
            Effect::Unsubscribed {
                newsletter: newsletter.to_string(),
            }
        }
        _ => {
            unsubscribe_in(tx, bounce.email, None, &when)?;
            Effect::UnsubscribedAll
        }
    })
}

/// Keeps a soft bounce and counts those in a row within the rule's days:
/// a copy sent to the address between two bounced ones that did not
/// bounce breaks the row. At `rule.count`, the address is suppressed.
fn soft(
    tx: &Transaction,
    mail: &BounceMail,
    bounce: &Bounce,
    now: DateTime<Utc>,
    rule: SoftRule,
) -> rusqlite::Result<Effect> {
    let at = now.to_rfc3339();
    let (newsletter, number) = (bounce.newsletter, bounce.number);
    tx.execute(
        "INSERT INTO soft_bounces (email, newsletter, number, status, at, key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![bounce.email, newsletter, number, mail.status, at, mail.key],
    )?;
    let since = (now - Duration::days(i64::from(rule.days))).to_rfc3339();
    // Each bounce with the time its copy went out (the delivery log's), or its own.
    let bounced: Vec<(Option<String>, Option<u32>, String)> = tx
        .prepare_cached(
            "SELECT b.newsletter, b.number, coalesce(d.updated, b.at) FROM soft_bounces b
             LEFT JOIN deliveries d ON d.newsletter = b.newsletter AND d.number = b.number AND d.email = b.email
             WHERE b.email = ?1 AND b.at >= ?2",
        )?
        .query_map(params![bounce.email, since], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let latest = bounced
        .iter()
        .map(|(_, _, sent)| sent.as_str())
        .max()
        .unwrap_or_default();
    // The last copy that went out without bouncing, before the latest bounced one.
    let clean: Option<String> = tx.query_row(
        "SELECT max(d.updated) FROM deliveries d
         WHERE d.email = ?1 AND d.status = 'sent' AND d.updated >= ?2 AND d.updated < ?3
           AND NOT EXISTS (SELECT 1 FROM soft_bounces b WHERE b.email = d.email
                           AND b.newsletter = d.newsletter AND b.number = d.number)",
        params![bounce.email, since, latest],
        |row| row.get(0),
    )?;
    let mut in_a_row: Vec<(Option<String>, Option<u32>)> = bounced
        .into_iter()
        .filter(|(_, _, sent)| clean.as_deref().is_none_or(|clean| sent.as_str() > clean))
        .map(|(newsletter, number, _)| (newsletter, number))
        .collect();
    // Two bounces of one copy count once; bounces naming no edition each count.
    in_a_row.sort();
    in_a_row.dedup_by(|a, b| a.1.is_some() && a == b);
    let in_a_row = u32::try_from(in_a_row.len()).unwrap_or(u32::MAX);
    let suppressed = in_a_row >= rule.count;
    if suppressed {
        let why = format!(
            "{in_a_row} soft bounces in a row within {} days, the last on {at}",
            rule.days
        );
        tx.execute(
            "INSERT INTO suppressions (email, why, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![bounce.email, why, at],
        )?;
    }
    Ok(Effect::Soft { in_a_row, suppressed })
}
