//! The desk's log: what editors and admins did, with who and when, newest
//! first, read from where each action is recorded already — the
//! corrections' log (corrections, approvals, unapprovals, skips), the
//! lasting rules (added, removed) and `unsubscribed_by` (a subscriber
//! unsubscribed on their behalf) — a page at a time.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::editions::logged_from;
use super::{Logged, Result, Store};
use crate::domain::{Stance, Target};

/// Whether a lasting rule was added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleChange {
    Added,
    Removed,
}

/// One action of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// A correction or a decision on an edition.
    Edition {
        newsletter: String,
        number: u32,
        entry: Logged,
    },
    /// A lasting rule added or removed.
    Rule {
        id: i64,
        newsletter: String,
        change: RuleChange,
        stance: Stance,
        target: Target,
    },
    /// A subscriber unsubscribed on their behalf, from one newsletter or all.
    Unsubscribed {
        email: String,
        newsletter: Option<String>,
    },
}

/// An action, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionRecord {
    pub(crate) action: Action,
    /// The title of the stored item the action names (a correction's
    /// item, a rule's), when it names one that is stored: the log shows it,
    /// not only the id.
    pub(crate) item_title: Option<String>,
    pub(crate) by: String,
    pub(crate) at: DateTime<Utc>,
}

/// Every action as one table: what, a number, five columns of detail, who,
/// when, and the row's id (the order of actions in the same instant).
const ACTIONS: &str = "
    SELECT 'edition' AS source, newsletter, number, action, item_id, section, position, text,
           author AS by, at, id FROM corrections
    UNION ALL
    SELECT 'rule added', newsletter, id, stance, target_kind, NULL, NULL, target, added_by, added_at, id
    FROM rules
    UNION ALL
    SELECT 'rule removed', newsletter, id, stance, target_kind, NULL, NULL, target, removed_by, removed_at, id
    FROM rules WHERE removed_at IS NOT NULL
    UNION ALL
    SELECT 'unsubscribed', newsletter, NULL, NULL, NULL, NULL, NULL, email, by, at, id
    FROM unsubscribed_by";

/// A row of [`ACTIONS`].
type Row = (
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<String>,
);

impl Store {
    /// How many actions the log holds.
    pub(crate) fn action_count(&self) -> Result<usize> {
        let counts = self.rows(&format!("SELECT count(*) FROM ({ACTIONS})"), [], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(counts.first().map_or(0, |&n| usize::try_from(n).unwrap_or(0)))
    }

    /// Up to `limit` actions, newest first, after skipping the `skip` newest.
    pub(crate) fn actions(&self, skip: usize, limit: usize) -> Result<Vec<ActionRecord>> {
        // A correction's item is in `item_id`; a rule's, in `text` when its
        // kind (in `item_id`) is `item`.
        let sql = format!(
            "SELECT a.source, a.newsletter, a.number, a.action, a.item_id, a.section, a.position,
                    a.text, a.by, a.at, json_extract(i.body, '$.title')
             FROM ({ACTIONS}) a
             LEFT JOIN items i ON i.id = CASE
                 WHEN a.source = 'edition' THEN a.item_id
                 WHEN a.item_id = 'item' THEN a.text
             END
             ORDER BY a.at DESC, a.source, a.id DESC LIMIT ?1 OFFSET ?2"
        );
        let rows: Vec<Row> = self.rows(
            &sql,
            params![
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(skip).unwrap_or(i64::MAX)
            ],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                    row.get(8)?,
                    row.get(9)?,
                    row.get(10)?,
                ))
            },
        )?;
        rows.into_iter().map(|row| self.action(row)).collect()
    }

    fn action(&self, row: Row) -> Result<ActionRecord> {
        let (source, newsletter, number, kind, detail, section, position, text, by, at, item_title) = row;
        let bad = || self.decode(format!("the desk's log: a {source} line that does not read"));
        let newsletter_or_bad = |n: Option<String>| n.ok_or_else(bad);
        let action = match source.as_str() {
            "edition" => Action::Edition {
                newsletter: newsletter_or_bad(newsletter)?,
                number: number.and_then(|n| u32::try_from(n).ok()).ok_or_else(bad)?,
                entry: logged_from(&kind.ok_or_else(bad)?, detail, section, position, text)
                    .ok_or_else(bad)?,
            },
            "rule added" | "rule removed" => Action::Rule {
                id: number.ok_or_else(bad)?,
                newsletter: newsletter_or_bad(newsletter)?,
                change: if source == "rule added" {
                    RuleChange::Added
                } else {
                    RuleChange::Removed
                },
                stance: kind.as_deref().and_then(Stance::parse).ok_or_else(bad)?,
                target: Target::from_parts(&detail.ok_or_else(bad)?, text.ok_or_else(bad)?)
                    .ok_or_else(bad)?,
            },
            _ => Action::Unsubscribed {
                email: text.ok_or_else(bad)?,
                newsletter,
            },
        };
        Ok(ActionRecord {
            action,
            item_title,
            by,
            at: self.timestamp(&at)?,
        })
    }
}
