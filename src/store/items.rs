//! Items and feeds in the store: what each fetch brought.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{Result, Store, decode_item, to_json};
use crate::hex::hex;
use crate::items::{Added, Dedup, Item};
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

/// A fetch, as stored: each source's report, and the items (deduplicated)
/// with what storing each did.
pub struct SavedFetch {
    pub reports: Vec<SourceReport>,
    pub items: Vec<Item>,
    pub outcomes: Vec<Upsert>,
}

impl Store {
    /// Records one fetch in one transaction: the items (the same story from
    /// several sources merged into the first; new ones inserted, changed
    /// ones updated in place, the rest marked as seen; an item stored under
    /// another id with the same link is that item) and each source's outcome
    /// with its cache validators. Items and validators commit together, so
    /// a 304 never hides items that were not stored.
    ///
    /// `read` reads the sources, giving their items to the [`FetchRecord`]
    /// as they come, and returns their reports.
    pub fn save_fetch(
        &mut self,
        now: DateTime<Utc>,
        read: impl FnOnce(&mut FetchRecord) -> Vec<SourceReport>,
    ) -> Result<SavedFetch> {
        let now = now.to_rfc3339();
        self.write(|tx| {
            tx.execute_batch("SAVEPOINT streamed")?;
            let mut record = FetchRecord {
                tx,
                now: &now,
                items: Dedup::default(),
                streamed: Streamed::Writing(Vec::new()),
            };
            let reports = read(&mut record);
            let (items, outcomes) = record.finish()?;
            for report in &reports {
                record_fetch(tx, report, &now)?;
            }
            Ok(SavedFetch {
                reports,
                items,
                outcomes,
            })
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
    /// This thread reads the rows, a few hundred at a time, and threads on
    /// the other cores decode them and run `each` (decoding and classifying
    /// are most of a build's time). The rows are read as they lie and the
    /// `T`s sorted after: SQLite would sort the bodies themselves, spilling
    /// them to a temporary file.
    pub fn items_with<T: Send>(&self, each: impl Fn(Item) -> Option<T> + Sync) -> Result<Vec<T>> {
        const CHUNK: usize = 256;
        type Row = (String, String, String); // first seen, id, body
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Row>>(cores);
        let receive = std::sync::Mutex::new(receive);
        let path = self.path.as_path();
        let work = || -> Result<Vec<(String, String, T)>> {
            let mut kept = Vec::new();
            loop {
                let Ok(chunk) = receive.lock().expect("poisoned").recv() else {
                    return Ok(kept);
                };
                for (first_seen, id, body) in chunk {
                    if let Some(made) = each(decode_item(path, &body)?) {
                        kept.push((first_seen, id, made));
                    }
                }
            }
        };
        let (read, made) = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..cores).map(|_| scope.spawn(work)).collect();
            let read = self.rows_in_chunks("SELECT first_seen, id, body FROM items", CHUNK, |chunk| {
                send.send(chunk).is_ok()
            });
            drop(send); // the workers end once the queue is empty
            let made: Vec<_> = workers
                .into_iter()
                .map(|worker| worker.join().expect("a decoding thread panicked"))
                .collect();
            (read, made)
        });
        read?;
        let mut items = Vec::new();
        for kept in made {
            items.extend(kept?);
        }
        // As SQLite orders text: byte by byte.
        items.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(items.into_iter().map(|(_, _, item)| item).collect())
    }

    /// The rows of `sql`, three text columns, handed to `each` `size` at a
    /// time until it returns `false`.
    fn rows_in_chunks(
        &self,
        sql: &str,
        size: usize,
        mut each: impl FnMut(Vec<(String, String, String)>) -> bool,
    ) -> Result<()> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| self.error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        let mut chunk = Vec::with_capacity(size);
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let text = |i| row.get::<_, String>(i).map_err(|e| self.error(e));
            chunk.push((text(0)?, text(1)?, text(2)?));
            if chunk.len() == size && !each(std::mem::replace(&mut chunk, Vec::with_capacity(size))) {
                return Ok(());
            }
        }
        if !chunk.is_empty() {
            each(chunk);
        }
        Ok(())
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

/// The items of a fetch being stored. Each one is stored as it comes, while
/// the next sources are still being read: the same writes, in the same
/// order, as storing them all at the end, as long as no item changes after
/// it is stored. When one does (a later source carries the same story,
/// merged into it), those writes are undone and all are stored at the end.
pub struct FetchRecord<'a> {
    tx: &'a Transaction<'a>,
    now: &'a str,
    items: Dedup,
    streamed: Streamed,
}

/// How storing the items as they come went.
enum Streamed {
    /// What storing each kept item did, so far.
    Writing(Vec<Upsert>),
    /// An item was merged into one stored already, or a write failed: the
    /// items are stored at the end.
    Stopped,
}

impl FetchRecord<'_> {
    pub fn add(&mut self, item: Item) {
        let added = self.items.add(item);
        let Streamed::Writing(outcomes) = &mut self.streamed else {
            return;
        };
        let stored = match added {
            Added::New => {
                let item = self.items.items().last().expect("the item just kept");
                upsert(self.tx, item, self.now).ok()
            }
            Added::Merged => None,
        };
        match stored {
            Some(outcome) => outcomes.push(outcome),
            None => self.streamed = Streamed::Stopped,
        }
    }

    /// The items and what storing each did; stored again, as they are now,
    /// if writing them as they came had to stop.
    fn finish(self) -> rusqlite::Result<(Vec<Item>, Vec<Upsert>)> {
        let outcomes = match self.streamed {
            Streamed::Writing(outcomes) => outcomes,
            Streamed::Stopped => {
                self.tx.execute_batch("ROLLBACK TO streamed")?;
                let items = self.items.items();
                items
                    .iter()
                    .map(|item| upsert(self.tx, item, self.now))
                    .collect::<rusqlite::Result<_>>()?
            }
        };
        self.tx.execute_batch("RELEASE streamed")?;
        Ok((self.items.into_items(), outcomes))
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::items::{Details, Draft};

    fn item(source: &str, link: &str, category: &str) -> Item {
        Draft {
            title: format!("Story at {link}"),
            link: link.to_string(),
            summary_html: "<p>Body</p>".to_string(),
            categories: vec![category.to_string()],
            ..Draft::default()
        }
        .into_item(source, Details::News, 100)
    }

    fn save(store: &mut Store, items: Vec<Item>) -> Vec<Upsert> {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap();
        let saved = store
            .save_fetch(now, |record| {
                items.into_iter().for_each(|item| record.add(item));
                Vec::new()
            })
            .unwrap();
        saved.outcomes
    }

    #[test]
    fn a_duplicate_after_its_story_was_stored_is_merged_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bulletin.sqlite")).unwrap();
        let first = [
            item("A", "https://a.example/1", "trade"),
            item("A", "https://a.example/2", "trade"),
        ];
        assert_eq!(save(&mut store, first.to_vec()), [Upsert::New, Upsert::New]);
        // The second fetch stores the first story again before its duplicate comes.
        let second = vec![
            first[0].clone(),
            item("A", "https://a.example/3", "trade"),
            item("B", "https://a.example/1?utm_source=b", "energy"),
        ];
        let outcomes = save(&mut store, second);
        assert_eq!(outcomes, [Upsert::Updated, Upsert::New]);
        let stored = store.items().unwrap();
        assert_eq!(stored.len(), 3);
        let merged = stored.iter().find(|i| i.link == "https://a.example/1").unwrap();
        assert_eq!(merged.categories, ["trade", "energy"]);
        assert_eq!(merged.also_in, ["B"]);
    }
}
