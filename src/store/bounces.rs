//! What `bulletin bounces` does to the store: each mail acted on is kept
//! by its key, so reading it again changes nothing; hard bounces add to a
//! subscriber's count, soft ones are kept with when, complaints and
//! mailed unsubscribes unsubscribe.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Transaction, params};

use super::subscribers::unsubscribe_in;
use super::{Result, Store};

/// One mail to act on, matched to a subscriber.
#[derive(Debug, Clone)]
pub(crate) struct Bounce<'a> {
    /// The Message-ID, else a hash of the bytes.
    pub(crate) key: &'a str,
    /// `hard`, `soft`, `complaint` or `unsubscribe`.
    pub(crate) kind: &'a str,
    pub(crate) email: &'a str,
    /// The newsletter the VERP address or the unsubscribe token names.
    pub(crate) newsletter: Option<&'a str>,
    /// The edition's number, when the VERP address names it.
    pub(crate) number: Option<u32>,
    pub(crate) status: Option<&'a str>,
    /// What the mail was, kept with it (`DSN`, `feedback report`…).
    pub(crate) why: &'a str,
    pub(crate) at: DateTime<Utc>,
}

/// The soft-bounce rule: `count` in a row within `days`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SoftRule {
    pub(crate) count: u32,
    pub(crate) days: u32,
}

/// What acting on one mail changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Read before: nothing changed.
    AlreadyProcessed,
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
    /// Whether the mail with this key was acted on already.
    pub(crate) fn bounce_processed(&self, key: &str) -> Result<bool> {
        let found = self.rows("SELECT 1 FROM bounce_messages WHERE key = ?1", [key], |_| Ok(()))?;
        Ok(!found.is_empty())
    }

    /// Acts on one mail, in one transaction with its record: all of it,
    /// or (already processed) none of it.
    pub(crate) fn apply_bounce(&mut self, bounce: &Bounce, rule: SoftRule) -> Result<Effect> {
        self.write(|tx| {
            let at = bounce.at.to_rfc3339();
            let (newsletter, number) = (bounce.newsletter, bounce.number);
            let fresh = tx.execute(
                "INSERT INTO bounce_messages (key, kind, email, newsletter, number, status, why, processed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                params![bounce.key, bounce.kind, bounce.email, newsletter, number, bounce.status, bounce.why, at],
            )?;
            if fresh == 0 {
                return Ok(Effect::AlreadyProcessed);
            }
            Ok(match (bounce.kind, newsletter) {
                ("hard", _) => {
                    tx.execute(
                        "UPDATE subscribers SET hard_bounces = hard_bounces + 1, updated = ?2 WHERE email = ?1",
                        params![bounce.email, at],
                    )?;
                    let count = tx.query_row(
                        "SELECT hard_bounces FROM subscribers WHERE email = ?1",
                        [bounce.email],
                        |row| row.get(0),
                    )?;
                    Effect::Hard { count }
                }
                ("soft", _) => soft(tx, bounce, rule)?,
                ("unsubscribe", Some(newsletter)) => {
                    unsubscribe_in(tx, bounce.email, Some(newsletter), &at)?;
                    Effect::Unsubscribed {
                        newsletter: newsletter.to_string(),
                    }
                }
                _ => {
                    unsubscribe_in(tx, bounce.email, None, &at)?;
                    Effect::UnsubscribedAll
                }
            })
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

/// Keeps a soft bounce and counts those in a row within the rule's days:
/// a copy sent to the address between two bounced ones that did not
/// bounce breaks the row. At `rule.count`, the address is suppressed.
fn soft(tx: &Transaction, bounce: &Bounce, rule: SoftRule) -> rusqlite::Result<Effect> {
    let at = bounce.at.to_rfc3339();
    let (newsletter, number) = (bounce.newsletter, bounce.number);
    tx.execute(
        "INSERT INTO soft_bounces (email, newsletter, number, status, at, key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![bounce.email, newsletter, number, bounce.status, at, bounce.key],
    )?;
    let since = (bounce.at - Duration::days(i64::from(rule.days))).to_rfc3339();
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
