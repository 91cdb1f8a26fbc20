//! Items and feeds in the store: what each fetch brought.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{Result, Store, decode_item, to_json};
use crate::domain::{Outcome, SourceReport, Validators};
use crate::hex::hex;
use crate::items::{Item, Keys, merge};

/// A stored item not yet decoded: what [`Store::item_rows`] hands out.
#[derive(Debug)]
pub(crate) struct ItemRow {
    order: ItemOrder,
    body: String,
}

/// Where a stored item comes in every list of them: oldest first seen
/// first, then by id, both as SQLite orders text (byte by byte).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ItemOrder {
    first_seen: String,
    id: String,
}

impl ItemRow {
    /// The item and its place; `store` (the store's path) names the store
    /// in the error.
    pub(crate) fn decode(self, store: &Path) -> Result<(ItemOrder, Item)> {
        Ok((self.order, decode_item(store, &self.body)?))
    }
}

/// How a source's fetches went, for `bulletin feeds`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct FeedHealth {
    pub(crate) source: String,
    /// Written as the store keeps it (RFC 3339), for `feeds --format json`.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) last_fetch: DateTime<Utc>,
    /// `ok`, `not-modified` or `failed`.
    pub(crate) status: String,
    pub(crate) error: Option<String>,
    /// Items in the last fetch that read the feed.
    pub(crate) items: u32,
    /// Failed fetches in a row, up to the last one.
    pub(crate) consecutive_failures: u32,
    pub(crate) moved_to: Option<String>,
}

/// A time as the store writes it: RFC 3339, in UTC.
fn rfc3339<S: serde::Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339())
}

/// What storing one fetched item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    New,
    Updated,
    Unchanged,
}

/// A fetch, as stored: each source's report, what storing each item
/// (deduplicated) did, and the later copies merged into a story kept before.
pub(crate) struct SavedFetch {
    pub(crate) reports: Vec<SourceReport>,
    pub(crate) items: Vec<Stored>,
    /// The source of each copy merged as a duplicate, one entry per copy:
    /// with `items`, it accounts for every item the sources gave.
    pub(crate) merged: Vec<String>,
}

/// One item of a fetch, once stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    /// The source it was kept from: the first to carry it.
    pub(crate) source: String,
    pub(crate) outcome: Upsert,
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
    pub(crate) fn save_fetch(
        &mut self,
        now: DateTime<Utc>,
        read: impl FnOnce(&mut FetchRecord) -> Vec<SourceReport>,
    ) -> Result<SavedFetch> {
        let now = now.to_rfc3339();
        self.write(|tx| {
            let mut record = FetchRecord {
                tx,
                now: &now,
                keys: Keys::default(),
                kept: Vec::new(),
                merged: Vec::new(),
                failed: None,
            };
            let reports = read(&mut record);
            let (items, merged) = record.finish()?;
            for report in &reports {
                record_fetch(tx, report, &now)?;
            }
            Ok(SavedFetch {
                reports,
                items,
                merged,
            })
        })
    }

    /// Every stored item, oldest first seen first, decoded on this thread:
    /// for tests (the commands decode on every core: see [`Store::item_rows`]).
    #[cfg(test)]
    pub(crate) fn items(&self) -> Result<Vec<Item>> {
        let mut rows = Vec::new();
        self.item_rows(256, |chunk| {
            rows.extend(chunk);
            true
        })?;
        let mut items = rows
            .into_iter()
            .map(|row| row.decode(&self.path))
            .collect::<Result<Vec<_>>>()?;
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }

    /// Every stored item as it lies, undecoded, handed to `each` `size` rows
    /// at a time until it returns `false`. Decoding is most of a build's
    /// time, so the store leaves it to the caller, which may spread it over
    /// every core; the rows come in no order (SQLite would sort the bodies
    /// themselves, spilling them to a temporary file): sort what is made of
    /// them by the [`ItemOrder`] each decodes with.
    pub(crate) fn item_rows(&self, size: usize, each: impl FnMut(Vec<ItemRow>) -> bool) -> Result<()> {
        self.rows_in_chunks("SELECT first_seen, id, body FROM items", size, each)
    }

    /// The rows of `sql`, three text columns (first seen, id, body), handed to `each` `size` at a
    /// time until it returns `false`.
    fn rows_in_chunks(
        &self,
        sql: &str,
        size: usize,
        mut each: impl FnMut(Vec<ItemRow>) -> bool,
    ) -> Result<()> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| self.error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        let mut chunk = Vec::with_capacity(size);
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let text = |i| row.get::<_, String>(i).map_err(|e| self.error(e));
            let order = ItemOrder {
                first_seen: text(0)?,
                id: text(1)?,
            };
            chunk.push(ItemRow {
                order,
                body: text(2)?,
            });
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
    pub(crate) fn feed_health(&self) -> Result<Vec<FeedHealth>> {
        let rows = self.rows(
            "SELECT source, last_fetch, status, error, items, consecutive_failures, moved_to FROM feeds",
            [],
            |row| {
                Ok((
                    (
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ),
                    (row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?),
                ))
            },
        )?;
        rows.into_iter()
            .map(
                |((source, last_fetch, status), (error, items, consecutive_failures, moved_to))| {
                    Ok(FeedHealth {
                        source,
                        last_fetch: self.timestamp(&last_fetch)?,
                        status,
                        error,
                        items,
                        consecutive_failures,
                        moved_to,
                    })
                },
            )
            .collect()
    }

    /// The cache validators of every source fetched before.
    pub(crate) fn validators(&self) -> Result<HashMap<String, Validators>> {
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

/// The items of a fetch being stored, each as it comes, while the next
/// sources are still being read. Only what storing them needs is kept, not
/// the items: a later copy of a story (from a source further down, merged
/// into the first) reads the stored item back, merges and stores it again.
pub(crate) struct FetchRecord<'a> {
    tx: &'a Transaction<'a>,
    now: &'a str,
    keys: Keys,
    kept: Vec<Kept>,
    /// The source of each later copy merged into a kept story.
    merged: Vec<String>,
    /// A write failed: nothing more is written, and the fetch is rolled back.
    failed: Option<rusqlite::Error>,
}

/// An item stored by this fetch.
struct Kept {
    id: String,
    source: String,
    /// What the store held for it before this fetch.
    before: Before,
    /// The other sources that carried it in this fetch.
    also_in: Vec<String>,
    /// The other sources that carried it before this fetch, read before
    /// this fetch wrote over that body: a story that ends up unchanged keeps
    /// its stored body, and those with it (its hash leaves them out).
    also_in_before: Option<Vec<String>>,
    outcome: Upsert,
}

/// The id and content hash the store held for an item before this fetch:
/// under its own id, or under another with the same link.
type Before = Option<(String, String)>;

impl FetchRecord<'_> {
    pub(crate) fn add(&mut self, item: Item) {
        if self.failed.is_some() {
            return;
        }
        let added = match self.keys.find(&item) {
            Some(index) => {
                self.merged.push(item.source.clone());
                self.merge(index, item)
            }
            None => self.keep(item),
        };
        if let Err(error) = added {
            self.failed = Some(error);
        }
    }

    fn keep(&mut self, item: Item) -> rusqlite::Result<()> {
        let before = stored_before(self.tx, &item)?;
        // Read only when the body is about to be written over: few items change.
        let encoded = Encoded::new(&item);
        let also_in_before = match &before {
            Some((id, hash)) if *id == item.id && *hash != encoded.hash => Some(self.stored(id)?.also_in),
            _ => None,
        };
        let outcome = write(self.tx, &item, &encoded, &before, self.now)?;
        self.keys.keep(&item, self.kept.len());
        self.kept.push(Kept {
            id: item.id,
            source: item.source,
            before,
            also_in: Vec::new(),
            also_in_before,
            outcome,
        });
        Ok(())
    }

    fn stored(&self, id: &str) -> rusqlite::Result<Item> {
        let body: String = self
            .tx
            .prepare_cached("SELECT body FROM items WHERE id = ?1")?
            .query_row([id], |row| row.get(0))?;
        serde_json::from_str(&body).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    }

    /// `item` is a later copy of the story kept at `index`. Storing the
    /// merged item gives what storing it whole would have given: a story
    /// that was stored under another id stays as it is, and the outcome is
    /// against what the store held before this fetch.
    fn merge(&mut self, index: usize, item: Item) -> rusqlite::Result<()> {
        let kept = &self.kept[index];
        if kept.before.as_ref().is_some_and(|(id, _)| *id != kept.id) {
            return Ok(());
        }
        let mut merged = self.stored(&kept.id)?;
        // Until this fetch writes over the stored body, it is the one stored before.
        let stored_also_in = std::mem::take(&mut merged.also_in);
        let also_in_before = kept
            .before
            .as_ref()
            .map(|_| kept.also_in_before.clone().unwrap_or(stored_also_in));
        merge(&mut merged, item);
        let kept = &mut self.kept[index];
        for source in merged.also_in.drain(..) {
            if !kept.also_in.contains(&source) {
                kept.also_in.push(source);
            }
        }
        merged.also_in.clone_from(&kept.also_in);
        let mut encoded = Encoded::new(&merged);
        if let (Some((_, hash)), Some(before)) = (&kept.before, &also_in_before)
            && encoded.hash == *hash
        {
            merged.also_in.clone_from(before);
            encoded = Encoded::new(&merged);
        }
        kept.also_in_before = also_in_before;
        let Encoded { body, hash } = encoded;
        self.tx
            .prepare_cached("UPDATE items SET content_hash = ?2, body = ?3 WHERE id = ?1")?
            .execute(params![kept.id, hash, body])?;
        kept.outcome = match &kept.before {
            None => Upsert::New,
            Some((_, stored)) if *stored == hash => Upsert::Unchanged,
            Some(_) => Upsert::Updated,
        };
        Ok(())
    }

    /// What storing each kept item did and the sources of the copies
    /// merged, or the first write that failed.
    fn finish(self) -> rusqlite::Result<(Vec<Stored>, Vec<String>)> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let stored = self
            .kept
            .into_iter()
            .map(|kept| Stored {
                source: kept.source,
                outcome: kept.outcome,
            })
            .collect();
        Ok((stored, self.merged))
    }
}

/// What the store holds for `item` before it is stored: by its id, or else
/// by its link. The statements are prepared once per connection: a fetch
/// stores thousands of items.
fn stored_before(tx: &Transaction, item: &Item) -> rusqlite::Result<Before> {
    tx.prepare_cached(
        "SELECT id, content_hash FROM items WHERE id = ?1 UNION ALL
         SELECT id, content_hash FROM items WHERE link = ?2 AND link <> '' LIMIT 1",
    )?
    .query_row(params![item.id, item.link], |row| Ok((row.get(0)?, row.get(1)?)))
    .optional()
}

/// An item as stored: its body and the hash that tells a change.
struct Encoded {
    body: String,
    hash: String,
}

impl Encoded {
    fn new(item: &Item) -> Encoded {
        let body = to_json(item);
        let hash = content_hash(item, &body);
        Encoded { body, hash }
    }
}

/// Stores one item, given what the store held for it; `now` is the
/// fetch's time in RFC 3339.
fn write(
    tx: &Transaction,
    item: &Item,
    Encoded { body, hash }: &Encoded,
    before: &Before,
    now: &str,
) -> rusqlite::Result<Upsert> {
    Ok(match before {
        None => {
            tx.prepare_cached(
                "INSERT INTO items (id, link, source, first_seen, last_seen, content_hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            )?
            .execute(params![item.id, item.link, item.source, now, hash, body])?;
            Upsert::New
        }
        Some((id, stored)) if *id == item.id && stored != hash => {
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
            Some(i64::try_from(*items).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?),
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
        saved.items.into_iter().map(|stored| stored.outcome).collect()
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
        let outcomes = save(&mut store, second.clone());
        assert_eq!(outcomes, [Upsert::Updated, Upsert::New]);
        let stored = store.items().unwrap();
        assert_eq!(stored.len(), 3);
        let merged = stored.iter().find(|i| i.link == "https://a.example/1").unwrap();
        assert_eq!(merged.categories, ["trade", "energy"]);
        assert_eq!(merged.also_in, ["B"]);
        // The same fetch again: the merged story is as stored, so unchanged.
        assert_eq!(save(&mut store, second), [Upsert::Unchanged, Upsert::Unchanged]);
        assert_eq!(store.items().unwrap(), stored);
    }

    /// What storing a fetch gave before items were stored as they came:
    /// all merged first, then each stored.
    fn stored_at_the_end(store: &mut Store, items: Vec<Item>, now: &str) -> Vec<Upsert> {
        let mut dedup = crate::items::Dedup::default();
        items.into_iter().for_each(|item| {
            dedup.add(item);
        });
        store
            .write(|tx| {
                let write_one =
                    |item: &Item| write(tx, item, &Encoded::new(item), &stored_before(tx, item)?, now);
                Ok(dedup
                    .into_items()
                    .iter()
                    .map(write_one)
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    }

    fn rows(store: &Store) -> Vec<[String; 7]> {
        let mut query = store
            .conn
            .prepare(
                "SELECT id, link, source, first_seen, last_seen, content_hash, body FROM items ORDER BY id",
            )
            .unwrap();
        query
            .query_map([], |r| {
                Ok(std::array::from_fn(|i| r.get::<_, String>(i).unwrap()))
            })
            .unwrap()
            .map(|row: rusqlite::Result<[String; 7]>| row.unwrap())
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Two fetches of stories that repeat across sources and change
        /// between fetches store what storing each merged item at the end
        /// stored, with the same outcomes.
        #[test]
        fn storing_as_items_come_is_storing_them_merged_at_the_end(
            fetches in proptest::collection::vec(
                proptest::collection::vec((0usize..3, 0usize..4, proptest::option::of(0usize..3), 0usize..3, 0usize..2), 1..12),
                2,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (mut streamed, mut reference) = (
                Store::open(&dir.path().join("a.sqlite")).unwrap(),
                Store::open(&dir.path().join("b.sqlite")).unwrap(),
            );
            for (day, fetch) in (0_u32..).zip(fetches) {
                let items: Vec<Item> = fetch
                    .into_iter()
                    .map(|(source, link, guid, category, body)| {
                        Draft {
                            guid: guid.map(|g| format!("story-{g}")),
                            title: format!("Story {link}"),
                            link: format!("https://a.example/{link}?utm_source={source}"),
                            summary_html: format!("<p>Version {body}</p>"),
                            categories: vec![["trade", "energy", "ict"][category].to_string()],
                            ..Draft::default()
                        }
                        .into_item(["A", "B", "C"][source], Details::News, 100)
                    })
                    .collect();
                let now = Utc.with_ymd_and_hms(2026, 11, 23 + day, 7, 0, 0).unwrap();
                let saved = streamed
                    .save_fetch(now, |record| {
                        items.iter().cloned().for_each(|item| record.add(item));
                        Vec::new()
                    })
                    .unwrap();
                let outcomes: Vec<Upsert> = saved.items.into_iter().map(|s| s.outcome).collect();
                let expected = stored_at_the_end(&mut reference, items, &now.to_rfc3339());
                proptest::prop_assert_eq!(outcomes, expected);
                proptest::prop_assert_eq!(rows(&streamed), rows(&reference));
            }
        }
    }

    #[test]
    fn a_duplicate_within_a_first_fetch_is_one_new_item() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bulletin.sqlite")).unwrap();
        let items = vec![
            item("A", "https://a.example/1", "trade"),
            item("B", "https://a.example/1#top", "energy"),
            item("B", "https://b.example/2", "energy"),
        ];
        assert_eq!(save(&mut store, items), [Upsert::New, Upsert::New]);
        let stored = store.items().unwrap();
        assert_eq!(stored.len(), 2);
        let merged = stored.iter().find(|i| i.link == "https://a.example/1").unwrap();
        assert_eq!(merged.categories, ["trade", "energy"]);
        assert_eq!(merged.also_in, ["B"]);
    }
}
