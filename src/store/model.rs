//! The classifier's model in the store: its bytes (the classify stage
//! encodes and decodes them), the facts it learns from (the items of
//! approved editions, the editor's adds and drops) and the lessons it has
//! learned, one key each in `model_learned` (`commands/classify.rs` names them).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, decode_item};
use crate::items::Item;

/// An item in an approved edition: the editor let it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Carried {
    pub(crate) item: String,
    pub(crate) newsletter: String,
    pub(crate) number: u32,
}

/// An editor's add or drop: the corrections that say whether an item
/// belongs in a newsletter (a move, a retitle, a teaser say nothing of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// The correction's id, which keeps it learned once.
    pub(crate) id: i64,
    pub(crate) newsletter: String,
    /// The edition corrected, a draft then.
    pub(crate) number: u32,
    pub(crate) item: String,
    /// `true` for an add, `false` for a drop.
    pub(crate) belongs: bool,
}

impl Store {
    /// The stored model's bytes; `None` before the first save.
    pub(crate) fn model(&self) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT state FROM model WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Every item of an approved edition, by item id then newsletter. A
    /// draft's items are the model's own choice, not yet the editor's:
    /// learning them would feed the model its guesses.
    pub(crate) fn carried(&self) -> Result<Vec<Carried>> {
        self.rows(
            "SELECT i.item_id, i.newsletter, i.number FROM edition_items i
             JOIN editions e ON e.newsletter = i.newsletter AND e.number = i.number
             WHERE e.state = 'approved'
             ORDER BY i.item_id, i.newsletter",
            [],
            |row| {
                Ok(Carried {
                    item: row.get(0)?,
                    newsletter: row.get(1)?,
                    number: row.get(2)?,
                })
            },
        )
    }

    /// Every add and drop an editor made, drafts' included, in the order made.
    pub(crate) fn memberships(&self) -> Result<Vec<Membership>> {
        self.rows(
            "SELECT id, newsletter, number, item_id, action FROM corrections
             WHERE action IN ('add', 'drop') AND item_id IS NOT NULL
             ORDER BY id",
            [],
            |row| {
                Ok(Membership {
                    id: row.get(0)?,
                    newsletter: row.get(1)?,
                    number: row.get(2)?,
                    item: row.get(3)?,
                    belongs: row.get::<_, String>(4)? == "add",
                })
            },
        )
    }

    /// The item as `newsletter`'s approved edition carries it: an approved
    /// edition never changes, so what was learned from it can be taken back
    /// exactly.
    pub(crate) fn carried_item(&self, newsletter: &str, item: &str) -> Result<Option<Item>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM edition_items WHERE newsletter = ?1 AND item_id = ?2",
                [newsletter, item],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        body.map(|body| decode_item(&self.path, &body)).transpose()
    }

    /// The keys of what the model has learned.
    pub(crate) fn lessons(&self) -> Result<HashSet<String>> {
        let keys: Vec<String> = self.rows("SELECT item_id FROM model_learned", [], |row| row.get(0))?;
        Ok(keys.into_iter().collect())
    }

    /// Stores the model, adds the keys of the lessons `learned` and removes
    /// those `forgotten` (taken back or renamed), at once.
    pub(crate) fn save_model(
        &mut self,
        state: &[u8],
        learned: &[String],
        forgotten: &[String],
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO model (id, state) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state",
                [state],
            )?;
            for key in forgotten {
                tx.execute("DELETE FROM model_learned WHERE item_id = ?1", params![key])?;
            }
            for key in learned {
                tx.execute(
                    "INSERT OR IGNORE INTO model_learned (item_id) VALUES (?1)",
                    params![key],
                )?;
            }
            Ok(())
        })
    }

    /// Keeps each of `lines` (key, JSON line) not taught before; returns
    /// how many were new. The same line taught again changes nothing.
    pub(crate) fn teach(&mut self, lines: &[(String, String)], at: DateTime<Utc>) -> Result<usize> {
        let at = at.to_rfc3339();
        self.write(|tx| {
            let mut new = 0;
            for (key, line) in lines {
                new += tx.execute(
                    "INSERT OR IGNORE INTO model_taught (key, line, taught) VALUES (?1, ?2, ?3)",
                    params![key, line, at],
                )?;
            }
            Ok(new)
        })
    }

    /// Every taught line, by key: (key, JSON line).
    pub(crate) fn taught(&self) -> Result<Vec<(String, String)>> {
        self.rows("SELECT key, line FROM model_taught ORDER BY key", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    }
}
