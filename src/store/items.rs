//! Items and feeds in the store: what each fetch brought.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{Result, Store, to_json};
use crate::hex::hex;
use crate::items::Item;
use crate::sources::{Outcome, SourceReport, Validators};

/// How a source's fetches went, for `bulletin feeds`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedHealth {
    pub source: String,
    pub last_fetch: String,
    /// `ok`, `not-modified` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// Items in the last fetch that read the feed.
    pub items: u32,
    /// Failed fetches in a row, up to the last one.
    pub consecutive_failures: u32,
    pub moved_to: Option<String>,
}

/// What storing one fetched item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    New,
    Updated,
    Unchanged,
}

impl Store {
    /// Records one fetch in one transaction: the items (new ones inserted,
    /// changed ones updated in place, the rest marked as seen; an item stored
    /// under another id with the same link is that item) and each source's
    /// outcome with its cache validators. Items and validators commit
    /// together, so a 304 never hides items that were not stored.
    pub fn save_fetch(
        &mut self,
        items: &[Item],
        reports: &[SourceReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<Upsert>> {
        let now = now.to_rfc3339();
        self.write(|tx| {
            let outcomes = items
                .iter()
                .map(|item| upsert(tx, item, &now))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for report in reports {
                record_fetch(tx, report, &now)?;
            }
            Ok(outcomes)
        })
    }

    /// Every stored item, oldest first seen first.
    pub fn items(&self) -> Result<Vec<Item>> {
        self.items_with(Some)
    }

    /// Every stored item, oldest first seen first, made a `T` by `each` as
    /// it is read, or left out when `each` gives `None`: the items are the
    /// bulk of a run's memory, and are never all held twice (as stored text
    /// and as items, or as items and as `T`s).
    ///
    /// The rows are read as they lie and the `T`s sorted after: SQLite
    /// would sort the bodies themselves, spilling them to a temporary file.
    pub fn items_with<T>(&self, mut each: impl FnMut(Item) -> Option<T>) -> Result<Vec<T>> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT first_seen, id, body FROM items")
            .map_err(|e| self.error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        let mut items = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let body = row
                .get_ref(2)
                .and_then(|v| Ok(v.as_str()?))
                .map_err(|e| self.error(e))?;
            if let Some(item) = each(self.decode_item(body)?) {
                let first_seen: String = row.get(0).map_err(|e| self.error(e))?;
                let id: String = row.get(1).map_err(|e| self.error(e))?;
                items.push((first_seen, id, item));
            }
        }
        // As SQLite orders text: byte by byte.
        items.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(items.into_iter().map(|(_, _, item)| item).collect())
    }

    /// How every source fetched so far is doing.
    pub fn feed_health(&self) -> Result<Vec<FeedHealth>> {
        self.rows(
            "SELECT source, last_fetch, status, error, items, consecutive_failures, moved_to FROM feeds",
            [],
            |row| {
                Ok(FeedHealth {
                    source: row.get(0)?,
                    last_fetch: row.get(1)?,
                    status: row.get(2)?,
                    error: row.get(3)?,
                    items: row.get(4)?,
                    consecutive_failures: row.get(5)?,
                    moved_to: row.get(6)?,
                })
            },
        )
    }

    /// The cache validators of every source fetched before.
    pub fn validators(&self) -> Result<HashMap<String, Validators>> {
        let rows = self.rows(
            "SELECT source, etag, last_modified, moved_to FROM feeds",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    Validators {
                        etag: row.get(1)?,
                        last_modified: row.get(2)?,
                        moved_to: row.get(3)?,
                    },
                ))
            },
        )?;
        Ok(rows.into_iter().collect())
    }
}

/// Stores one item; `now` is the fetch's time in RFC 3339. The statements
/// are prepared once per connection: a fetch stores thousands of items.
fn upsert(tx: &Transaction, item: &Item, now: &str) -> rusqlite::Result<Upsert> {
    let body = to_json(item);
    let hash = content_hash(item, &body);
    let existing: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT id, content_hash FROM items WHERE id = ?1 UNION ALL
             SELECT id, content_hash FROM items WHERE link = ?2 AND link <> '' LIMIT 1",
        )?
        .query_row(params![item.id, item.link], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match existing {
        None => {
            tx.prepare_cached(
                "INSERT INTO items (id, link, source, first_seen, last_seen, content_hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            )?
            .execute(params![item.id, item.link, item.source, now, hash, body])?;
            Upsert::New
        }
        Some((id, stored)) if id == item.id && stored != hash => {
            tx.prepare_cached(
                "UPDATE items SET link = ?2, content_hash = ?3, body = ?4, last_seen = ?5 WHERE id = ?1",
            )?
            .execute(params![id, item.link, hash, body, now])?;
            Upsert::Updated
        }
        Some((id, _)) => {
            tx.prepare_cached("UPDATE items SET last_seen = ?2 WHERE id = ?1")?
                .execute(params![id, now])?;
            Upsert::Unchanged
        }
    })
}

/// One source's fetch; validators survive a 304 and a failure.
fn record_fetch(tx: &Transaction, report: &SourceReport, now: &str) -> rusqlite::Result<()> {
    let errors = report.errors().join("; ");
    let (status, items, validators) = match &report.outcome {
        Outcome::Read {
            items, validators, ..
        } => (
            if errors.is_empty() { "ok" } else { "failed" },
            Some(*items as i64),
            Some(validators),
        ),
        Outcome::NotModified => ("not-modified", None, None),
        Outcome::Failed(_) => ("failed", None, None),
    };
    tx.execute(
        "INSERT INTO feeds (source, etag, last_modified, last_fetch, status, error, items, consecutive_failures, moved_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 0), ?8, ?10)
         ON CONFLICT (source) DO UPDATE SET
            etag = CASE WHEN ?9 THEN excluded.etag ELSE etag END,
            last_modified = CASE WHEN ?9 THEN excluded.last_modified ELSE last_modified END,
            moved_to = CASE WHEN ?9 THEN excluded.moved_to ELSE moved_to END,
            last_fetch = excluded.last_fetch, status = excluded.status, error = excluded.error,
            items = coalesce(?7, items),
            consecutive_failures = CASE WHEN ?6 IS NULL THEN 0 ELSE consecutive_failures + 1 END",
        params![
            report.name,
            validators.and_then(|v| v.etag.clone()),
            validators.and_then(|v| v.last_modified.clone()),
            now,
            status,
            Some(errors.as_str()).filter(|e| !e.is_empty()),
            items,
            i64::from(report.failed()),
            validators.is_some(),
            validators.and_then(|v| v.moved_to.clone()),
        ],
    )?;
    Ok(())
}

/// What makes an item "changed": everything but which other feeds carried
/// it. `body` is the item as stored, which is the item without them when
/// it has none (they are not serialised then).
fn content_hash(item: &Item, body: &str) -> String {
    let digest = if item.also_in.is_empty() {
        Sha256::digest(body.as_bytes())
    } else {
        let bare = Item {
            also_in: Vec::new(),
            ..item.clone()
        };
        Sha256::digest(to_json(&bare).as_bytes())
    };
    hex(&digest)
}
