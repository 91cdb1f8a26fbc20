//! The delivery report of one edition, read-only: where each message
//! stands in the delivery log, and who bounced, complained or left since
//! the send began (the desk's `/desk/report/NEWSLETTER/NUMBER`).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, StatusLabel, Store};

/// One line of a delivery report: a subscriber and what happened.
#[derive(Debug, Clone)]
pub(crate) struct ReportLine {
    pub(crate) email: String,
    /// The subscriber's name; empty once they were erased.
    pub(crate) name: String,
    /// The server's words for a deferred or failed message; what a bounce
    /// mail was; empty for the rest.
    pub(crate) detail: String,
    pub(crate) at: DateTime<Utc>,
}

/// What the store knows of one edition's send.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryReport {
    pub(crate) sent: Vec<ReportLine>,
    /// Tried, answered 4xx or not at all: sent again by the next run.
    pub(crate) deferred: Vec<ReportLine>,
    /// Refused 5xx, or an address the server could not take: never again.
    pub(crate) failed: Vec<ReportLine>,
    /// Handed to the server when the sender stopped: the next run finds out.
    pub(crate) sending: Vec<ReportLine>,
    /// Hard or soft bounces about this edition, or about one of its
    /// recipients since the send began.
    pub(crate) bounced: Vec<ReportLine>,
    /// Complaints (reported as spam) about the same.
    pub(crate) complained: Vec<ReportLine>,
    /// Recipients who left this newsletter (or all) since the send began.
    pub(crate) unsubscribed: Vec<ReportLine>,
}

impl Store {
    /// The delivery report of edition `number` of `newsletter`: empty
    /// lists before its send began. "Since the send" is since the first
    /// line of its delivery log.
    pub(crate) fn delivery_report(&self, newsletter: &str, number: u32) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        let rows = self.rows(
            "SELECT d.email, coalesce(s.name, ''), d.status, coalesce(d.error, ''), d.updated
             FROM deliveries d LEFT JOIN subscribers s ON s.email = d.email
             WHERE d.newsletter = ?1 AND d.number = ?2 ORDER BY d.email",
            params![newsletter, number],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get::<_, StatusLabel>(2)?,
                    row.get(3)?,
                    row.get::<_, String>(4)?,
                ))
            },
        )?;
        for (email, name, status, detail, at) in rows {
            let line = ReportLine {
                email,
                name,
                detail,
                at: self.timestamp(&at)?,
            };
            match status {
                StatusLabel::Sent => report.sent.push(line),
                StatusLabel::Deferred => report.deferred.push(line),
                StatusLabel::Failed | StatusLabel::Unsendable => report.failed.push(line),
                StatusLabel::Sending => report.sending.push(line),
            }
        }
        report.bounced = self.bounce_lines(newsletter, number, "kind IN ('hard', 'soft')")?;
        report.complained = self.bounce_lines(newsletter, number, "kind = 'complaint'")?;
        report.unsubscribed = self.report_lines(
            "WITH sent AS (SELECT email, min(updated) OVER () AS began FROM deliveries
                           WHERE newsletter = ?1 AND number = ?2),
                  left_at AS (SELECT s.email, s.name,
                                     min(coalesce(sub.unsubscribed, s.unsubscribed),
                                         coalesce(s.unsubscribed, sub.unsubscribed)) AS at
                              FROM subscribers s
                              LEFT JOIN subscriptions sub ON sub.email = s.email AND sub.newsletter = ?1)
             SELECT left_at.email, left_at.name, '', left_at.at
             FROM left_at JOIN sent ON sent.email = left_at.email
             WHERE left_at.at >= sent.began
             ORDER BY left_at.at, left_at.email",
            newsletter,
            number,
        )?;
        Ok(report)
    }

    /// The bounce mails of `kinds` (an SQL condition on `kind`) about
    /// edition `number`, or about one of its recipients since its send
    /// began: who, what came back, when read.
    fn bounce_lines(&self, newsletter: &str, number: u32, kinds: &'static str) -> Result<Vec<ReportLine>> {
        let sql = format!(
            "WITH sent AS (SELECT email, min(updated) OVER () AS began FROM deliveries
                           WHERE newsletter = ?1 AND number = ?2)
             SELECT DISTINCT b.email, coalesce(s.name, ''), b.kind || ': ' || b.why, b.processed
             FROM bounce_messages b JOIN sent ON sent.email = b.email
             LEFT JOIN subscribers s ON s.email = b.email
             WHERE b.{kinds}
               AND ((b.newsletter = ?1 AND b.number = ?2)
                    OR (b.number IS NULL AND b.processed >= sent.began))
             ORDER BY b.processed, b.email"
        );
        self.report_lines(&sql, newsletter, number)
    }

    /// Report lines from `sql`, whose columns are email, name, detail and
    /// an RFC 3339 time, for `newsletter` (?1) and `number` (?2).
    fn report_lines(&self, sql: &str, newsletter: &str, number: u32) -> Result<Vec<ReportLine>> {
        let rows = self.rows(sql, params![newsletter, number], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get::<_, String>(3)?))
        })?;
        rows.into_iter()
            .map(|(email, name, detail, at)| {
                Ok(ReportLine {
                    email,
                    name,
                    detail,
                    at: self.timestamp(&at)?,
                })
            })
            .collect()
    }
}
