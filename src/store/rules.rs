//! The editors' lasting rules (never or always in a newsletter, for an
//! item, a source or a term) and what changed in a draft on a rebuild
//! since an editor last looked at it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::{Result, Store};
use crate::domain::{Correction, Rule, Stance, Target};

/// Whether an item left a draft or joined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    Left,
    Joined,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::Left => "left",
            Change::Joined => "joined",
        }
    }
}

/// An item that left or joined a draft on a rebuild, not by the editor's
/// hand, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct DraftChange {
    pub(crate) item: String,
    pub(crate) title: String,
    pub(crate) change: Change,
    pub(crate) reason: String,
    pub(crate) at: DateTime<Utc>,
}

impl Store {
    /// Records a rule, by `by` at `at`; returns its number.
    pub(crate) fn add_rule(
        &mut self,
        newsletter: &str,
        stance: Stance,
        target: &Target,
        origin: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.write(|tx| Ok(insert_rule(tx, newsletter, stance, target, origin, by, at)?))
    }

    /// The rules in force, oldest first.
    pub(crate) fn rules(&self) -> Result<Vec<Rule>> {
        type Row = (i64, String, String, String, String, String, String, String);
        let rows: Vec<Row> = self.rows(
            "SELECT id, newsletter, stance, target_kind, target, origin, added_by, added_at
             FROM rules WHERE removed_at IS NULL ORDER BY id",
            [],
            |row| row.try_into(),
        )?;
        rows.into_iter()
            .map(|(id, newsletter, stance, kind, target, origin, by, at)| {
                Ok(Rule {
                    id,
                    newsletter,
                    stance: Stance::parse(&stance)
                        .ok_or_else(|| self.decode(format!("rule #{id}: stance {stance:?}")))?,
                    target: Target::from_parts(&kind, target)
                        .ok_or_else(|| self.decode(format!("rule #{id}: target kind {kind:?}")))?,
                    by,
                    at: self.timestamp(&at)?,
                    origin,
                })
            })
            .collect()
    }

    /// Removes rule `id`, by `by` at `at` (its row stays, as the log);
    /// false when no rule in force has that number.
    pub(crate) fn remove_rule(&mut self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool> {
        self.write(|tx| {
            let removed = tx.execute(
                "UPDATE rules SET removed_by = ?2, removed_at = ?3 WHERE id = ?1 AND removed_at IS NULL",
                params![id, by, at.to_rfc3339()],
            )?;
            Ok(removed > 0)
        })
    }

    /// Records what left or joined draft `number` on a rebuild.
    pub(crate) fn record_changes(
        &mut self,
        newsletter: &str,
        number: u32,
        changes: &[DraftChange],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for c in changes {
                tx.execute(
                    "INSERT INTO draft_changes (newsletter, number, item_id, title, change, reason, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        newsletter,
                        number,
                        c.item,
                        c.title,
                        c.change.as_str(),
                        c.reason,
                        c.at.to_rfc3339()
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// What changed in draft `number` since an editor last looked at it
    /// (all of it, when nobody has), oldest first; and when that look was.
    pub(crate) fn unseen_changes(
        &self,
        newsletter: &str,
        number: u32,
    ) -> Result<(Vec<DraftChange>, Option<DateTime<Utc>>)> {
        let looked: Vec<String> = self.rows(
            "SELECT at FROM draft_looks WHERE newsletter = ?1 AND number = ?2",
            params![newsletter, number],
            |row| row.get(0),
        )?;
        let looked = looked.first().map(|t| self.timestamp(t)).transpose()?;
        let rows: Vec<(String, String, String, String, String)> = self.rows(
            "SELECT item_id, title, change, reason, at FROM draft_changes
             WHERE newsletter = ?1 AND number = ?2 ORDER BY id",
            params![newsletter, number],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )?;
        let mut changes = Vec::new();
        for (item, title, change, reason, at) in rows {
            let at = self.timestamp(&at)?;
            if looked.is_some_and(|l| at < l) {
                continue;
            }
            let change = match change.as_str() {
                "left" => Change::Left,
                "joined" => Change::Joined,
                other => return Err(self.decode(format!("a draft change {other:?}"))),
            };
            changes.push(DraftChange {
                item,
                title,
                change,
                reason,
                at,
            });
        }
        Ok((changes, looked))
    }

    /// When the item was first seen, if it is stored.
    pub(crate) fn first_seen(&self, item: &str) -> Result<Option<DateTime<Utc>>> {
        let seen: Vec<String> = self.rows(
            "SELECT first_seen FROM items WHERE id = ?1",
            params![item],
            |row| row.get(0),
        )?;
        seen.first().map(|t| self.timestamp(t)).transpose()
    }

    /// The items that once left draft `number` on a rebuild.
    pub(crate) fn left_draft(&self, newsletter: &str, number: u32) -> Result<HashSet<String>> {
        let ids: Vec<String> = self.rows(
            "SELECT item_id FROM draft_changes WHERE newsletter = ?1 AND number = ?2 AND change = 'left'",
            params![newsletter, number],
            |row| row.get(0),
        )?;
        Ok(ids.into_iter().collect())
    }

    /// The items of `newsletter`'s drafts skipped after `since`, each with
    /// the skipped edition's number: back in the pool, they may join a
    /// draft built before the skip.
    pub(crate) fn skipped_since(
        &self,
        newsletter: &str,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, u32>> {
        let rows: Vec<(String, u32, String)> = self.rows(
            "SELECT item_id, number, at FROM skipped_items WHERE newsletter = ?1",
            params![newsletter],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        let mut skipped = HashMap::new();
        for (item, number, at) in rows {
            if self.timestamp(&at)? > since {
                skipped.insert(item, number);
            }
        }
        Ok(skipped)
    }

    /// Notes that an editor looked at draft `number` at `at`.
    pub(crate) fn mark_looked(&mut self, newsletter: &str, number: u32, at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO draft_looks (newsletter, number, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (newsletter, number) DO UPDATE SET at = excluded.at",
                params![newsletter, number, at.to_rfc3339()],
            )?;
            Ok(())
        })
    }
}

fn insert_rule(
    tx: &Transaction,
    newsletter: &str,
    stance: Stance,
    target: &Target,
    origin: &str,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO rules (newsletter, stance, target_kind, target, origin, added_by, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            newsletter,
            stance.as_str(),
            target.kind(),
            target.value(),
            origin,
            by,
            at.to_rfc3339()
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// What a correction to draft `number` does to the rules, in its own
/// transaction: a drop lasts (the item is never again in the newsletter,
/// "dropped from No. N"), and an add takes back every such rule on the item.
pub(super) fn lasting(
    tx: &Transaction,
    newsletter: &str,
    number: u32,
    correction: &Correction,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    match correction {
        Correction::Drop { item } => {
            insert_rule(
                tx,
                newsletter,
                Stance::Never,
                &Target::Item(item.clone()),
                &format!("dropped from No. {number}"),
                by,
                at,
            )?;
        }
        Correction::Add { item, .. } => {
            tx.execute(
                "UPDATE rules SET removed_by = ?3, removed_at = ?4
                 WHERE newsletter = ?1 AND stance = 'never' AND target_kind = 'item' AND target = ?2
                   AND removed_at IS NULL",
                params![newsletter, item, by, at.to_rfc3339()],
            )?;
        }
        _ => {}
    }
    Ok(())
}
