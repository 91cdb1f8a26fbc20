//! The delivery log: one row per message, written before the SMTP
//! transaction and after it, so a send that is killed resumes where it
//! stopped.

use chrono::{DateTime, Utc};
use rusqlite::params;
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::{Result, Store, StoreError, unknown_value};
use crate::domain::EditionRef;

/// Where one message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// Handed to the SMTP server; no answer recorded yet. Found on a
    /// resume, it means the run was killed mid-transaction.
    Sending,
    Sent,
    /// A 4xx reply or a broken connection after every try: sent again next time.
    Deferred(String),
    /// A 5xx reply to the recipient: not sent again, and a hard bounce.
    Failed(String),
    /// The address needs what the server lacks (SMTPUTF8 for a non-ASCII
    /// local part): not sent again for this edition, and no bounce.
    Unsendable(String),
}

/// A [`Status`] without its reason: the `status` column of the delivery
/// log and of a journal line. An unknown value is an error when read, never
/// a guess (it once read as `sending`, and the message went out again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StatusLabel {
    Sending,
    Sent,
    Deferred,
    Failed,
    Unsendable,
}

impl StatusLabel {
    const ALL: [StatusLabel; 5] = [
        StatusLabel::Sending,
        StatusLabel::Sent,
        StatusLabel::Deferred,
        StatusLabel::Failed,
        StatusLabel::Unsendable,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StatusLabel::Sending => "sending",
            StatusLabel::Sent => "sent",
            StatusLabel::Deferred => "deferred",
            StatusLabel::Failed => "failed",
            StatusLabel::Unsendable => "unsendable",
        }
    }
}

impl ToSql for StatusLabel {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for StatusLabel {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        StatusLabel::ALL
            .into_iter()
            .find(|label| label.as_str() == text)
            .ok_or_else(|| {
                unknown_value(
                    "delivery status",
                    text,
                    "sending, sent, deferred, failed or unsendable",
                )
            })
    }
}

impl Status {
    pub(crate) fn parts(&self) -> (StatusLabel, Option<&str>) {
        match self {
            Status::Sending => (StatusLabel::Sending, None),
            Status::Sent => (StatusLabel::Sent, None),
            Status::Deferred(reason) => (StatusLabel::Deferred, Some(reason)),
            Status::Failed(reason) => (StatusLabel::Failed, Some(reason)),
            Status::Unsendable(reason) => (StatusLabel::Unsendable, Some(reason)),
        }
    }

    pub(crate) fn from_parts(label: StatusLabel, error: Option<String>) -> Status {
        let error = error.unwrap_or_default();
        match label {
            StatusLabel::Sending => Status::Sending,
            StatusLabel::Sent => Status::Sent,
            StatusLabel::Deferred => Status::Deferred(error),
            StatusLabel::Failed => Status::Failed(error),
            StatusLabel::Unsendable => Status::Unsendable(error),
        }
    }
}

/// One row of the delivery log: where the message to `email` stands.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) email: String,
    pub(crate) message_id: String,
    pub(crate) status: Status,
}

impl Store {
    /// How many messages of edition `number` stand at each status, by name
    /// (`sent`, `deferred`…), for `bulletin status`.
    pub(crate) fn delivery_counts(&self, newsletter: &str, number: u32) -> Result<Vec<(String, usize)>> {
        let rows = self.rows(
            "SELECT status, count(*) FROM deliveries WHERE newsletter = ?1 AND number = ?2
             GROUP BY status ORDER BY status",
            params![newsletter, number],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?)),
        )?;
        Ok(rows.into_iter().map(|(status, n)| (status, n as usize)).collect())
    }

    /// The number for a new delivery-log journal: after every one folded.
    pub(crate) fn next_journal(&self) -> Result<u64> {
        let last = self.rows("SELECT coalesce(max(id), 0) FROM folded_logs", [], |row| {
            row.get::<_, i64>(0)
        })?;
        let last = last.first().copied().unwrap_or(0);
        let last = u64::try_from(last).map_err(|_| StoreError::Decode {
            path: self.path.clone(),
            message: format!("a delivery-log journal number: {last}"),
        })?;
        Ok(last + 1)
    }

    /// Folds the rows of one delivery-log journal into the log, in order
    /// and in one transaction; a permanent failure also counts a hard
    /// bounce against the address. `journal` names the journal: one that is
    /// already folded is left out, so rows are never counted twice.
    pub(crate) fn fold_deliveries(
        &mut self,
        journal: u64,
        edition: &EditionRef,
        deliveries: &[Delivery],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updated = now.to_rfc3339();
        self.write(|tx| {
            let fresh = tx
                .prepare_cached("INSERT INTO folded_logs (id) VALUES (?1) ON CONFLICT DO NOTHING")?
                .execute([journal_id(journal)?])?;
            if fresh == 0 {
                return Ok(());
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO deliveries (newsletter, number, email, message_id, status, attempts, error, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT DO UPDATE SET status = excluded.status, error = excluded.error,
                    updated = excluded.updated, attempts = attempts + excluded.attempts",
            )?;
            for Delivery {
                email,
                message_id,
                status,
            } in deliveries
            {
                let (label, error) = status.parts();
                let attempt = i64::from(*status == Status::Sending);
                insert.execute(params![edition.newsletter, edition.number, email, message_id, label, attempt, error, updated])?;
                if matches!(status, Status::Failed(_)) {
                    tx.prepare_cached("UPDATE subscribers SET hard_bounces = hard_bounces + 1 WHERE email = ?1")?
                        .execute([email])?;
                }
            }
            Ok(())
        })
    }
}

/// A journal number as SQLite stores it: every one comes from
/// [`Store::next_journal`], so it fits, but a caller's number is checked.
fn journal_id(journal: u64) -> rusqlite::Result<i64> {
    i64::try_from(journal).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}
