//! The store: bulletin's memory in one SQLite file (WAL mode). Items seen,
//! feed cache headers and fetch results, and the editions with the items in
//! them. Every write is one transaction, so a run killed at any point leaves
//! the store as it was before that write or after it, never in between.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::editions::Placed;
use crate::items::Item;
use crate::sources::{Outcome, SourceReport, Validators};

/// Migrations, in order; the store's `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE items (
    id           TEXT PRIMARY KEY,
    link         TEXT NOT NULL,
    source       TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL  -- the Item as JSON
);
CREATE INDEX items_link ON items (link);
CREATE TABLE feeds (
    source               TEXT PRIMARY KEY,
    etag                 TEXT,
    last_modified        TEXT,
    last_fetch           TEXT NOT NULL,
    status               TEXT NOT NULL,  -- ok | not-modified | failed
    error                TEXT,
    items                INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL
);
CREATE TABLE editions (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    date       TEXT NOT NULL,
    cutoff     TEXT NOT NULL,
    built_at   TEXT NOT NULL,
    html_path  TEXT NOT NULL,
    text_path  TEXT NOT NULL,
    PRIMARY KEY (newsletter, number),
    UNIQUE (newsletter, date)
);
-- An item is in at most one edition of a newsletter: the key says so.
CREATE TABLE edition_items (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    item_id    TEXT NOT NULL,
    section    TEXT NOT NULL,
    featured   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    body       TEXT NOT NULL,  -- the Item as published, so a rebuild renders the same bytes
    PRIMARY KEY (newsletter, item_id),
    FOREIGN KEY (newsletter, number) REFERENCES editions (newsletter, number)
);
"#];

/// What went wrong with the store, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a bulletin store or corrupt ({source}); restore it from a backup or move it away")]
    Corrupt { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: locked by another process for too long; is another bulletin still writing to it?")]
    Locked { path: PathBuf },
    #[error(
        "{path}: written by a newer bulletin (schema version {found}, this one knows up to {known}); upgrade bulletin"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: stored data is unreadable: {message}")]
    Decode { path: PathBuf, message: String },
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What storing one fetched item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    New,
    Updated,
    Unchanged,
}

/// One published edition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EditionRecord {
    pub newsletter: String,
    pub number: u32,
    pub date: NaiveDate,
    pub cutoff: DateTime<Utc>,
    pub built_at: DateTime<Utc>,
    pub html_path: String,
    pub text_path: String,
    pub items: usize,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store, creating it on first use and migrating it forward.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Conflict(format!("{}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| classify_error(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store
            .conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| store.error(e))?;
        store
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| store.error(e))?;
        store
            .conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(|e| store.error(e))?;
        store.migrate()?;
        Ok(store)
    }

    fn error(&self, error: rusqlite::Error) -> StoreError {
        classify_error(&self.path, error)
    }

    fn migrate(&mut self) -> Result<()> {
        let known = MIGRATIONS.len() as i64;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify_error(&self.path, e))?;
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| classify_error(&self.path, e))?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for migration in &MIGRATIONS[found as usize..] {
            tx.execute_batch(migration)
                .map_err(|e| classify_error(&self.path, e))?;
        }
        tx.pragma_update(None, "user_version", known)
            .map_err(|e| classify_error(&self.path, e))?;
        tx.commit().map_err(|e| classify_error(&self.path, e))
    }

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
        let path = self.path.clone();
        let err = |e| classify_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let outcomes = items
            .iter()
            .map(|item| upsert(&tx, item, now))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        for report in reports {
            record_fetch(&tx, report, now).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(outcomes)
    }

    /// Every stored item, oldest first seen first.
    pub fn items(&self) -> Result<Vec<Item>> {
        let mut statement = self
            .conn
            .prepare("SELECT body FROM items ORDER BY first_seen, id")
            .map_err(|e| self.error(e))?;
        let bodies = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|e| self.error(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))?;
        bodies.iter().map(|body| self.decode_item(body)).collect()
    }

    /// The cache validators of every HTTP source fetched before.
    pub fn validators(&self) -> Result<HashMap<String, Validators>> {
        let mut statement = self
            .conn
            .prepare("SELECT source, etag, last_modified FROM feeds")
            .map_err(|e| self.error(e))?;
        statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    Validators {
                        etag: row.get(1)?,
                        last_modified: row.get(2)?,
                    },
                ))
            })
            .map_err(|e| self.error(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.error(e))
    }

    /// Ids of the items already published in an edition of `newsletter`.
    pub fn published_items(&self, newsletter: &str) -> Result<HashSet<String>> {
        let mut statement = self
            .conn
            .prepare("SELECT item_id FROM edition_items WHERE newsletter = ?1")
            .map_err(|e| self.error(e))?;
        statement
            .query_map([newsletter], |row| row.get(0))
            .map_err(|e| self.error(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.error(e))
    }

    /// The recorded edition of `newsletter` on `date`, with its items in order.
    pub fn edition_on(
        &self,
        newsletter: &str,
        date: NaiveDate,
    ) -> Result<Option<(EditionRecord, Vec<Placed>)>> {
        let Some(record) = self
            .editions(Some(newsletter))?
            .into_iter()
            .find(|e| e.date == date)
        else {
            return Ok(None);
        };
        let mut statement = self
            .conn
            .prepare(
                "SELECT section, featured, body FROM edition_items
                 WHERE newsletter = ?1 AND number = ?2 ORDER BY position",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![newsletter, record.number], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, bool>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.error(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))?;
        let placed = rows
            .into_iter()
            .map(|(section, featured, body)| {
                Ok(Placed {
                    section,
                    featured,
                    item: self.decode_item(&body)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some((record, placed)))
    }

    /// Records a new edition with its items, numbered one past the last, in
    /// one transaction. Refuses a date before the newsletter's latest edition.
    pub fn record_edition(
        &mut self,
        newsletter: &str,
        date: NaiveDate,
        items: &[Placed],
        paths: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let path = self.path.clone();
        let err = |e| classify_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let last: Option<(u32, String)> = tx
            .query_row(
                "SELECT number, date FROM editions WHERE newsletter = ?1 ORDER BY number DESC LIMIT 1",
                [newsletter],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        if let Some((number, last_date)) = &last
            && last_date.as_str() >= date.to_string().as_str()
        {
            return Err(StoreError::Conflict(format!(
                "{newsletter}: No. {number} is dated {last_date}; a new edition must be dated after it"
            )));
        }
        let number = last.map_or(1, |(n, _)| n + 1);
        let cutoff = date.and_hms_opt(23, 59, 59).expect("a valid time").and_utc();
        tx.execute(
            "INSERT INTO editions (newsletter, number, date, cutoff, built_at, html_path, text_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                newsletter,
                number,
                date.to_string(),
                cutoff.to_rfc3339(),
                now.to_rfc3339(),
                paths.0,
                paths.1
            ],
        )
        .map_err(err)?;
        for (position, placed) in items.iter().enumerate() {
            tx.execute(
                "INSERT INTO edition_items (newsletter, number, item_id, section, featured, position, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    newsletter,
                    number,
                    placed.item.id,
                    placed.section,
                    placed.featured,
                    position as i64,
                    to_json(&placed.item)
                ],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(number)
    }

    /// Recorded editions, newest first; of one newsletter or all.
    pub fn editions(&self, newsletter: Option<&str>) -> Result<Vec<EditionRecord>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT e.newsletter, e.number, e.date, e.cutoff, e.built_at, e.html_path, e.text_path,
                        (SELECT count(*) FROM edition_items i WHERE i.newsletter = e.newsletter AND i.number = e.number)
                 FROM editions e WHERE ?1 IS NULL OR e.newsletter = ?1
                 ORDER BY e.date DESC, e.newsletter",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([newsletter], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, u32>(7)? as usize,
                ))
            })
            .map_err(|e| self.error(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))?;
        rows.into_iter()
            .map(
                |(newsletter, number, date, cutoff, built_at, html_path, text_path, items)| {
                    Ok(EditionRecord {
                        newsletter,
                        number,
                        date: date
                            .parse()
                            .map_err(|e| self.decode(format!("edition date {date:?}: {e}")))?,
                        cutoff: self.timestamp(&cutoff)?,
                        built_at: self.timestamp(&built_at)?,
                        html_path,
                        text_path,
                        items,
                    })
                },
            )
            .collect()
    }

    fn timestamp(&self, text: &str) -> Result<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| self.decode(format!("timestamp {text:?}: {e}")))
    }

    fn decode_item(&self, body: &str) -> Result<Item> {
        serde_json::from_str(body).map_err(|e| self.decode(format!("an item: {e}")))
    }

    fn decode(&self, message: String) -> StoreError {
        StoreError::Decode {
            path: self.path.clone(),
            message,
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| self.error(e))
    }
}

fn upsert(tx: &Transaction, item: &Item, now: DateTime<Utc>) -> rusqlite::Result<Upsert> {
    let hash = content_hash(item);
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT id, content_hash FROM items WHERE id = ?1 UNION ALL
             SELECT id, content_hash FROM items WHERE link = ?2 AND link <> '' LIMIT 1",
            params![item.id, item.link],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let now = now.to_rfc3339();
    Ok(match existing {
        None => {
            tx.execute(
                "INSERT INTO items (id, link, source, first_seen, last_seen, content_hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                params![item.id, item.link, item.source, now, hash, to_json(item)],
            )?;
            Upsert::New
        }
        Some((id, stored)) if id == item.id && stored != hash => {
            tx.execute(
                "UPDATE items SET link = ?2, content_hash = ?3, body = ?4, last_seen = ?5 WHERE id = ?1",
                params![id, item.link, hash, to_json(item), now],
            )?;
            Upsert::Updated
        }
        Some((id, _)) => {
            tx.execute("UPDATE items SET last_seen = ?2 WHERE id = ?1", params![id, now])?;
            Upsert::Unchanged
        }
    })
}

/// One source's fetch; validators survive a 304 and a failure.
fn record_fetch(tx: &Transaction, report: &SourceReport, now: DateTime<Utc>) -> rusqlite::Result<()> {
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
        "INSERT INTO feeds (source, etag, last_modified, last_fetch, status, error, items, consecutive_failures)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 0), ?8)
         ON CONFLICT (source) DO UPDATE SET
            etag = CASE WHEN ?9 THEN excluded.etag ELSE etag END,
            last_modified = CASE WHEN ?9 THEN excluded.last_modified ELSE last_modified END,
            last_fetch = excluded.last_fetch, status = excluded.status, error = excluded.error,
            items = coalesce(?7, items),
            consecutive_failures = CASE WHEN ?6 IS NULL THEN 0 ELSE consecutive_failures + 1 END",
        params![
            report.name,
            validators.and_then(|v| v.etag.clone()),
            validators.and_then(|v| v.last_modified.clone()),
            now.to_rfc3339(),
            status,
            Some(errors.as_str()).filter(|e| !e.is_empty()),
            items,
            i64::from(report.failed()),
            validators.is_some(),
        ],
    )?;
    Ok(())
}

fn classify_error(path: &Path, error: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path, source: error }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        _ => StoreError::Sqlite { path, source: error },
    }
}

fn to_json(item: &Item) -> String {
    serde_json::to_string(item).expect("an item always serialises")
}

/// What makes an item "changed": everything but which other feeds carried it.
fn content_hash(item: &Item) -> String {
    let mut bare = item.clone();
    bare.also_in.clear();
    let digest = Sha256::digest(to_json(&bare).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
