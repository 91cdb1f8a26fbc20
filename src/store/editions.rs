//! Editions in the store: what was published, numbered, with its items.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Abort, Result, Store, StoreError, decode_item, to_json};
use crate::domain::Placed;

/// One published edition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct EditionRecord {
    pub(crate) newsletter: String,
    pub(crate) number: u32,
    pub(crate) date: NaiveDate,
    pub(crate) cutoff: DateTime<Utc>,
    pub(crate) built_at: DateTime<Utc>,
    pub(crate) html_path: String,
    pub(crate) text_path: String,
    pub(crate) items: usize,
}

/// Where an edition's two files were written, relative to the output
/// folder: named, so the HTML and the text path cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EditionPaths<'a> {
    pub(crate) html: &'a str,
    pub(crate) text: &'a str,
}

impl Store {
    /// Ids of the items already published in an edition of `newsletter`.
    pub(crate) fn published_items(&self, newsletter: &str) -> Result<HashSet<String>> {
        let ids = self.rows(
            "SELECT item_id FROM edition_items WHERE newsletter = ?1",
            [newsletter],
            |row| row.get(0),
        )?;
        Ok(ids.into_iter().collect())
    }

    /// The tenders of `newsletter`'s editions dated before `date` whose
    /// deadline is not past on `date`, as they were published and placed:
    /// an edition lists them again, as still open. The earlier editions do
    /// not change, so an edition rebuilt lists the same ones.
    pub(crate) fn still_open(&self, newsletter: &str, date: NaiveDate) -> Result<Vec<Placed>> {
        let rows = self.rows(
            "SELECT i.section, i.body FROM edition_items i
             JOIN editions e ON e.newsletter = i.newsletter AND e.number = i.number
             WHERE i.newsletter = ?1 AND e.date < ?2
               AND json_extract(i.body, '$.kind') = 'tender'
               AND json_extract(i.body, '$.deadline') >= ?2
             ORDER BY e.number, i.position",
            params![newsletter, date.to_string()],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )?;
        rows.into_iter()
            .map(|(section, body)| {
                Ok(Placed {
                    section,
                    featured: false,
                    still_open: true,
                    item: decode_item(&self.path, &body)?,
                })
            })
            .collect()
    }

    /// The recorded edition of `newsletter` on `date`, with its items in
    /// order, then the tenders it lists as still open.
    pub(crate) fn edition_on(
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
        let rows = self.rows(
            "SELECT section, featured, body FROM edition_items
             WHERE newsletter = ?1 AND number = ?2 ORDER BY position",
            params![newsletter, record.number],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, bool>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )?;
        let placed = rows
            .into_iter()
            .map(|(section, featured, body)| {
                Ok(Placed {
                    section,
                    featured,
                    still_open: false,
                    item: decode_item(&self.path, &body)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let placed = [placed, self.still_open(newsletter, date)?].concat();
        Ok(Some((record, placed)))
    }

    /// Records a new edition with its items, numbered one past the last, in
    /// one transaction. Refuses a date before the newsletter's latest edition.
    /// Tenders still open are not recorded again: their own edition holds them.
    pub(crate) fn record_edition(
        &mut self,
        newsletter: &str,
        date: NaiveDate,
        items: &[Placed],
        paths: &EditionPaths<'_>,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        self.write(|tx| {
            let last: Option<(u32, String)> = tx
                .query_row(
                    "SELECT number, date FROM editions WHERE newsletter = ?1 ORDER BY number DESC LIMIT 1",
                    [newsletter],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            if let Some((number, last_date)) = &last
                && last_date.as_str() >= date.to_string().as_str()
            {
                return Err(Abort::Refused(StoreError::Conflict(format!(
                    "{newsletter}: No. {number} is dated {last_date}; a new edition must be dated after it"
                ))));
            }
            let number = last.map_or(1, |(n, _)| n + 1);
            let cutoff = date.and_hms_opt(23, 59, 59).expect("a valid time").and_utc();
            tx.execute(
                "INSERT INTO editions (newsletter, number, date, cutoff, built_at, html_path, text_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![newsletter, number, date.to_string(), cutoff.to_rfc3339(), now.to_rfc3339(), paths.html, paths.text],
            )?;
            for (position, placed) in (0_i64..).zip(items.iter().filter(|p| !p.still_open)) {
                tx.execute(
                    "INSERT INTO edition_items (newsletter, number, item_id, section, featured, position, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        newsletter,
                        number,
                        placed.item.id,
                        placed.section,
                        placed.featured,
                        position,
                        to_json(&placed.item)
                    ],
                )?;
            }
            Ok(number)
        })
    }

    /// Recorded editions, newest first; of one newsletter or all.
    pub(crate) fn editions(&self, newsletter: Option<&str>) -> Result<Vec<EditionRecord>> {
        let rows = self.rows(
            "SELECT e.newsletter, e.number, e.date, e.cutoff, e.built_at, e.html_path, e.text_path,
                    (SELECT count(*) FROM edition_items i WHERE i.newsletter = e.newsletter AND i.number = e.number)
             FROM editions e WHERE ?1 IS NULL OR e.newsletter = ?1
             ORDER BY e.date DESC, e.newsletter",
            [newsletter],
            |row| {
                Ok((
                    (row.get::<_, String>(0)?, row.get::<_, u32>(1)?),
                    (row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?),
                    (row.get::<_, String>(5)?, row.get::<_, String>(6)?, row.get::<_, u32>(7)?),
                ))
            },
        )?;
        rows.into_iter()
            .map(
                |((newsletter, number), (date, cutoff, built_at), (html_path, text_path, items))| {
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
                        items: items as usize,
                    })
                },
            )
            .collect()
    }
}
