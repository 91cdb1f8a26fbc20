//! Editions in the store: drafts and published editions, numbered, with
//! their items, the editor's corrections and their approval.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Abort, Result, Store, StoreError, decode_item, to_json};
use crate::domain::{Correction, NotBefore, Placed, parse_zone};

/// Where an edition stands before its send: the delivery log tells the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EditionState {
    /// Its number reserved; rebuilt from the store and the corrections.
    Draft,
    /// Frozen: its bytes no longer change, and it may be mailed.
    Approved,
    /// Discarded unsent: it keeps its number (never reused, as the
    /// corrections' log names it), its items went back to the pool.
    Skipped,
}

impl EditionState {
    fn as_str(self) -> &'static str {
        match self {
            EditionState::Draft => "draft",
            EditionState::Approved => "approved",
            EditionState::Skipped => "skipped",
        }
    }

    fn parse(text: &str) -> Option<EditionState> {
        match text {
            "draft" => Some(EditionState::Draft),
            "approved" => Some(EditionState::Approved),
            "skipped" => Some(EditionState::Skipped),
            _ => None,
        }
    }
}

/// One recorded edition: a draft or an approved one.
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
    pub(crate) state: EditionState,
    pub(crate) approved_by: Option<String>,
    pub(crate) approved_at: Option<DateTime<Utc>>,
    /// When a send left nobody due (deferred copies keep it unset).
    pub(crate) sent_at: Option<DateTime<Utc>>,
    /// The editor's introduction, Markdown.
    pub(crate) intro: Option<String>,
    /// A scheduled send: not sent before this (a draft's takes effect once approved).
    pub(crate) not_before: Option<NotBefore>,
}

/// A correction as recorded: what, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorrectionRecord {
    pub(crate) correction: Correction,
    pub(crate) author: String,
    pub(crate) at: DateTime<Utc>,
}

/// An editor's decision on a whole edition, kept in the corrections' log
/// beside the corrections (who and when), but never applied to a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve,
    Unapprove,
    Skip,
    /// A scheduled send set (`Some`) or cleared.
    Schedule(Option<NotBefore>),
}

impl Decision {
    /// Its `action` in the corrections' log.
    fn action(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Unapprove => "unapprove",
            Decision::Skip => "skip",
            Decision::Schedule(Some(_)) => "schedule",
            Decision::Schedule(None) => "unschedule",
        }
    }

    /// Its `text` in the log: a schedule's instant and zone.
    fn text(self) -> Option<String> {
        match self {
            Decision::Schedule(Some(at)) => Some(format!("{} {}", at.at.to_rfc3339(), at.zone.name())),
            _ => None,
        }
    }

    fn parse(action: &str, text: Option<&str>) -> Option<Decision> {
        Some(match action {
            "approve" => Decision::Approve,
            "unapprove" => Decision::Unapprove,
            "skip" => Decision::Skip,
            "unschedule" => Decision::Schedule(None),
            "schedule" => {
                let (at, zone) = text?.split_once(' ')?;
                Decision::Schedule(Some(not_before(at, zone)?))
            }
            _ => return None,
        })
    }
}

/// One line of an edition's log: a correction or a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Logged {
    Correction(Correction),
    Decision(Decision),
}

/// A line of the corrections' log as recorded: what, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogRecord {
    pub(crate) entry: Logged,
    pub(crate) author: String,
    pub(crate) at: DateTime<Utc>,
}

/// Where an edition's two files were written, relative to the output
/// folder: named, so the HTML and the text path cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EditionPaths<'a> {
    pub(crate) html: &'a str,
    pub(crate) text: &'a str,
}

/// A stored item an editor may add, as [`Store::search_items`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundItem {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) source: String,
    /// In an edition of the newsletter already (a draft's included).
    pub(crate) placed: bool,
}

impl Store {
    /// Ids of the items in an edition of `newsletter` (drafts included),
    /// but for edition `except`: a draft being rebuilt may take its own again.
    pub(crate) fn published_items(&self, newsletter: &str, except: Option<u32>) -> Result<HashSet<String>> {
        let ids = self.rows(
            "SELECT item_id FROM edition_items WHERE newsletter = ?1 AND number IS NOT ?2",
            params![newsletter, except],
            |row| row.get(0),
        )?;
        Ok(ids.into_iter().collect())
    }

    /// The tenders of `newsletter`'s approved editions dated before `date`
    /// whose deadline is not past on `date`, as they were published and
    /// placed: an edition lists them again, as still open. Only approved
    /// ones: those reached readers, or reach them before this one (editions
    /// are approved in order and sent in order); a draft's or a skipped
    /// edition's never did. An approved edition does not change, so an
    /// edition rebuilt lists the same ones.
    pub(crate) fn still_open(&self, newsletter: &str, date: NaiveDate) -> Result<Vec<Placed>> {
        let rows = self.rows(
            "SELECT i.section, i.body FROM edition_items i
             JOIN editions e ON e.newsletter = i.newsletter AND e.number = i.number
             WHERE i.newsletter = ?1 AND e.date < ?2 AND e.state = 'approved'
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
        self.edition_where(newsletter, |e| e.date == date)
    }

    /// Edition `number` of `newsletter`, with its items in order, then the
    /// tenders it lists as still open.
    pub(crate) fn edition_numbered(
        &self,
        newsletter: &str,
        number: u32,
    ) -> Result<Option<(EditionRecord, Vec<Placed>)>> {
        self.edition_where(newsletter, |e| e.number == number)
    }

    fn edition_where(
        &self,
        newsletter: &str,
        which: impl Fn(&EditionRecord) -> bool,
    ) -> Result<Option<(EditionRecord, Vec<Placed>)>> {
        let Some(record) = self.editions(Some(newsletter))?.into_iter().find(which) else {
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
        let placed = [placed, self.still_open(newsletter, record.date)?].concat();
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
        state: EditionState,
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
            let approved_at = (state == EditionState::Approved).then(|| now.to_rfc3339());
            let approved_by = approved_at.as_ref().map(|_| "bulletin (approval = \"auto\")");
            tx.execute(
                "INSERT INTO editions (newsletter, number, date, cutoff, built_at, html_path, text_path,
                                       state, approved_by, approved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    newsletter,
                    number,
                    date.to_string(),
                    cutoff.to_rfc3339(),
                    now.to_rfc3339(),
                    paths.html,
                    paths.text,
                    state.as_str(),
                    approved_by,
                    approved_at
                ],
            )?;
            insert_items(tx, newsletter, number, items)?;
            Ok(number)
        })
    }

    /// Replaces a draft's items and introduction with a rebuild's, in one
    /// transaction; refused once the edition is approved.
    pub(crate) fn replace_draft(
        &mut self,
        newsletter: &str,
        number: u32,
        items: &[Placed],
        intro: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            require_draft(tx, newsletter, number)?;
            tx.execute(
                "DELETE FROM edition_items WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
            )?;
            insert_items(tx, newsletter, number, items)?;
            tx.execute(
                "UPDATE editions SET intro = ?3, built_at = ?4 WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number, intro, now.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// Freezes a draft: approved by `by` at `now`, and so logged. Refused
    /// when it is not a draft, or an earlier edition still is: editions
    /// reach readers in order.
    pub(crate) fn approve(
        &mut self,
        newsletter: &str,
        number: u32,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            require_draft(tx, newsletter, number)?;
            require_no_earlier_draft(tx, newsletter, number)?;
            tx.execute(
                "UPDATE editions SET state = 'approved', approved_by = ?3, approved_at = ?4
                 WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number, by, now.to_rfc3339()],
            )?;
            log_decision(tx, newsletter, number, Decision::Approve, by, now)
        })
    }

    /// Makes an approved edition a draft again, by `by` at `now`, and so
    /// logged. Refused once its send has begun (a delivery recorded, or it
    /// is marked sent), and while a later edition is approved: editions
    /// reach readers in order.
    pub(crate) fn unapprove(
        &mut self,
        newsletter: &str,
        number: u32,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            let state: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT state, sent_at FROM editions WHERE newsletter = ?1 AND number = ?2",
                    params![newsletter, number],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let refused = |why: String| Err(Abort::Refused(StoreError::Conflict(why)));
            match state {
                None => return refused(no_such_edition(newsletter, number)),
                Some((state, _)) if state != "approved" => {
                    return refused(format!(
                        "{newsletter} No. {number} is not approved (it is a {state} edition): nothing to unapprove"
                    ));
                }
                _ => {}
            }
            let (went, tried): (u32, u32) = tx.query_row(
                "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM deliveries
                 WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            if tried > 0 || state.is_some_and(|(_, sent)| sent.is_some()) {
                return refused(format!(
                    "{newsletter} No. {number}: its send has begun ({went} of {tried} messages went out); \
                     an edition readers may have received cannot be taken back"
                ));
            }
            let later: Option<u32> = tx
                .query_row(
                    "SELECT min(number) FROM editions WHERE newsletter = ?1 AND number > ?2 AND state = 'approved'",
                    params![newsletter, number],
                    |row| row.get(0),
                )?;
            if let Some(later) = later {
                return refused(format!(
                    "{newsletter} No. {later}, after No. {number}, is approved: editions reach readers in order; \
                     unapprove No. {later} first (`bulletin unapprove --newsletter {newsletter} --edition {later}`)"
                ));
            }
            tx.execute(
                "UPDATE editions SET state = 'draft', approved_by = NULL, approved_at = NULL
                 WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
            )?;
            log_decision(tx, newsletter, number, Decision::Unapprove, by, now)
        })
    }

    /// Discards a draft, by `by` at `now`, and so logged: it keeps its
    /// number, listed as skipped, and its items are released for later
    /// editions. Refused when it is not a draft.
    pub(crate) fn skip(&mut self, newsletter: &str, number: u32, by: &str, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            require_draft(tx, newsletter, number)?;
            tx.execute(
                "INSERT OR IGNORE INTO skipped_items (newsletter, number, item_id, at)
                 SELECT newsletter, number, item_id, ?3 FROM edition_items
                 WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number, now.to_rfc3339()],
            )?;
            tx.execute(
                "DELETE FROM edition_items WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
            )?;
            tx.execute(
                "UPDATE editions SET state = 'skipped' WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
            )?;
            log_decision(tx, newsletter, number, Decision::Skip, by, now)
        })
    }

    /// Schedules edition `number`'s send for `not_before` (or clears it:
    /// `None`), by `by` at `now`, and so logged. Refused on a skipped
    /// edition and once its send has begun (a delivery recorded, or it is
    /// marked sent): then it is too late to hold it back.
    pub(crate) fn schedule(
        &mut self,
        newsletter: &str,
        number: u32,
        not_before: Option<NotBefore>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            require_unsent(tx, newsletter, number)?;
            tx.execute(
                "DELETE FROM scheduled_sends WHERE newsletter = ?1 AND number = ?2",
                params![newsletter, number],
            )?;
            if let Some(at) = not_before {
                tx.execute(
                    "INSERT INTO scheduled_sends (newsletter, number, not_before, zone) VALUES (?1, ?2, ?3, ?4)",
                    params![newsletter, number, at.at.to_rfc3339(), at.zone.name()],
                )?;
            }
            log_decision(tx, newsletter, number, Decision::Schedule(not_before), by, now)
        })
    }

    /// Notes that a send of the edition left nobody due.
    pub(crate) fn mark_sent(&mut self, newsletter: &str, number: u32, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE editions SET sent_at = ?3 WHERE newsletter = ?1 AND number = ?2 AND sent_at IS NULL",
                params![newsletter, number, now.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// Records a correction to a draft, by `author` at `now`, with what it
    /// does to the lasting rules (a drop lasts); refused once the edition
    /// is approved.
    pub(crate) fn add_correction(
        &mut self,
        newsletter: &str,
        number: u32,
        correction: &Correction,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (item, section, position, text) = correction_columns(correction);
        self.write(|tx| {
            require_draft(tx, newsletter, number)?;
            tx.execute(
                "INSERT INTO corrections (newsletter, number, action, item_id, section, position, text, author, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    newsletter,
                    number,
                    correction.action(),
                    item,
                    section,
                    position,
                    text,
                    author,
                    now.to_rfc3339()
                ],
            )?;
            super::rules::lasting(tx, newsletter, number, correction, author, now)?;
            Ok(())
        })
    }

    /// The corrections to edition `number`, in the order they were made.
    pub(crate) fn corrections(&self, newsletter: &str, number: u32) -> Result<Vec<CorrectionRecord>> {
        Ok(self
            .log(newsletter, number)?
            .into_iter()
            .filter_map(|line| match line.entry {
                Logged::Correction(correction) => Some(CorrectionRecord {
                    correction,
                    author: line.author,
                    at: line.at,
                }),
                Logged::Decision(_) => None,
            })
            .collect())
    }

    /// Edition `number`'s log: its corrections and the decisions on it
    /// (approved, unapproved, skipped), in the order they were made.
    pub(crate) fn log(&self, newsletter: &str, number: u32) -> Result<Vec<LogRecord>> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            String,
            String,
        );
        let rows: Vec<Row> = self.rows(
            "SELECT action, item_id, section, position, text, author, at FROM corrections
             WHERE newsletter = ?1 AND number = ?2 ORDER BY id",
            params![newsletter, number],
            |row| row.try_into(),
        )?;
        rows.into_iter()
            .map(|(action, item, section, position, text, author, at)| {
                let entry = logged_from(&action, item, section, position, text).ok_or_else(|| {
                    self.decode(format!(
                        "a correction {action:?} with missing or unreadable fields"
                    ))
                })?;
                Ok(LogRecord {
                    entry,
                    author,
                    at: self.timestamp(&at)?,
                })
            })
            .collect()
    }

    /// The stored item with this id, if any.
    pub(crate) fn item(&self, id: &str) -> Result<Option<crate::items::Item>> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM items WHERE id = ?1", [id], |row| row.get(0))
            .optional()
            .map_err(|e| self.error(e))?;
        body.map(|body| decode_item(&self.path, &body)).transpose()
    }

    /// (id, title) of the stored items whose id begins with `prefix`, by
    /// id; at most `limit`. `prefix` is matched as text, not as a pattern.
    pub(crate) fn items_starting(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "SELECT id, json_extract(body, '$.title') FROM items
             WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT ?2",
            params![prefix, limit],
            |row| Ok((row.get(0)?, row.get::<_, Option<String>>(1)?.unwrap_or_default())),
        )
    }

    /// Stored items for an editor to add to an edition of `newsletter`:
    /// those whose title has `words` (case aside in ASCII; every item when
    /// empty) or whose id begins with it, the ones in no edition of
    /// `newsletter` first, then the newest first seen; at most `limit`.
    pub(crate) fn search_items(&self, newsletter: &str, words: &str, limit: usize) -> Result<Vec<FoundItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "SELECT i.id, coalesce(json_extract(i.body, '$.title'), ''), i.source, i.first_seen,
                    EXISTS (SELECT 1 FROM edition_items e WHERE e.newsletter = ?1 AND e.item_id = i.id) AS placed
             FROM items i
             WHERE ?2 = '' OR instr(lower(json_extract(i.body, '$.title')), lower(?2)) > 0
                OR substr(i.id, 1, length(?2)) = ?2
             ORDER BY placed, i.first_seen DESC, i.id LIMIT ?3",
            params![newsletter, words, limit],
            |row| {
                Ok(FoundItem {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    source: row.get(2)?,
                    placed: row.get(4)?,
                })
            },
        )
    }

    /// The last schedule day a run handled for `newsletter`.
    pub(crate) fn schedule_handled(&self, newsletter: &str) -> Result<Option<NaiveDate>> {
        let day: Option<String> = self
            .conn
            .query_row(
                "SELECT handled FROM schedule_days WHERE newsletter = ?1",
                [newsletter],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        day.map(|d| {
            d.parse()
                .map_err(|e| self.decode(format!("schedule day {d:?}: {e}")))
        })
        .transpose()
    }

    /// Notes that a run handled `newsletter`'s schedule day `day`.
    pub(crate) fn set_schedule_handled(&mut self, newsletter: &str, day: NaiveDate) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO schedule_days (newsletter, handled) VALUES (?1, ?2)
                 ON CONFLICT (newsletter) DO UPDATE SET handled = max(handled, excluded.handled)",
                params![newsletter, day.to_string()],
            )?;
            Ok(())
        })
    }

    /// Recorded editions, newest first; of one newsletter or all.
    pub(crate) fn editions(&self, newsletter: Option<&str>) -> Result<Vec<EditionRecord>> {
        let rows = self.rows(
            "SELECT e.newsletter, e.number, e.date, e.cutoff, e.built_at, e.html_path, e.text_path,
                    (SELECT count(*) FROM edition_items i WHERE i.newsletter = e.newsletter AND i.number = e.number),
                    e.state, e.approved_by, e.approved_at, e.sent_at, e.intro, s.not_before, s.zone
             FROM editions e
             LEFT JOIN scheduled_sends s ON s.newsletter = e.newsletter AND s.number = e.number WHERE ?1 IS NULL OR e.newsletter = ?1
             ORDER BY e.date DESC, e.newsletter",
            [newsletter],
            |row| {
                Ok((
                    (row.get::<_, String>(0)?, row.get::<_, u32>(1)?),
                    (row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?),
                    (row.get::<_, String>(5)?, row.get::<_, String>(6)?, row.get::<_, u32>(7)?),
                    (
                        row.get::<_, String>(8)?,
                        row.get::<_, Option<String>>(9)?,
                        row.get::<_, Option<String>>(10)?,
                        row.get::<_, Option<String>>(11)?,
                        row.get::<_, Option<String>>(12)?,
                    ),
                    (row.get::<_, Option<String>>(13)?, row.get::<_, Option<String>>(14)?),
                ))
            },
        )?;
        let time = |text: Option<String>| text.map(|t| self.timestamp(&t)).transpose();
        rows.into_iter()
            .map(
                |(
                    (newsletter, number),
                    (date, cutoff, built_at),
                    (html_path, text_path, items),
                    (state, approved_by, approved_at, sent_at, intro),
                    schedule,
                )| {
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
                        state: EditionState::parse(&state)
                            .ok_or_else(|| self.decode(format!("edition state {state:?}")))?,
                        approved_by,
                        approved_at: time(approved_at)?,
                        sent_at: time(sent_at)?,
                        intro,
                        not_before: match schedule {
                            (Some(at), Some(zone)) => Some(
                                not_before(&at, &zone)
                                    .ok_or_else(|| self.decode(format!("not before {at:?} in {zone:?}")))?,
                            ),
                            _ => None,
                        },
                    })
                },
            )
            .collect()
    }
}

/// Inserts an edition's items, in reading order.
fn insert_items(tx: &Transaction, newsletter: &str, number: u32, items: &[Placed]) -> rusqlite::Result<()> {
    // A tender listed again as still open belongs to its own edition.
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
    Ok(())
}

/// Refuses a change to an edition that is no draft (or no edition at all):
/// an approved edition's bytes never change.
fn require_draft(tx: &Transaction, newsletter: &str, number: u32) -> std::result::Result<(), Abort> {
    let found: Option<(String, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT state, approved_by, approved_at FROM editions WHERE newsletter = ?1 AND number = ?2",
            params![newsletter, number],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let refused = |why: String| Err(Abort::Refused(StoreError::Conflict(why)));
    match found {
        Some((state, _, _)) if state == "draft" => Ok(()),
        Some((state, _, _)) if state == "skipped" => refused(format!(
            "{newsletter} No. {number} was skipped; a skipped edition no longer changes"
        )),
        Some((_, by, at)) => refused(format!(
            "{newsletter} No. {number} was approved by {} on {}; an approved edition no longer changes \
             (before its send begins: `bulletin unapprove --newsletter {newsletter} --edition {number}`)",
            by.as_deref().unwrap_or("someone"),
            at.as_deref().unwrap_or("an unknown date")
        )),
        None => refused(no_such_edition(newsletter, number)),
    }
}

/// Refuses to schedule an edition that is never sent (skipped), or whose
/// send has begun (or is done), saying which.
fn require_unsent(tx: &Transaction, newsletter: &str, number: u32) -> std::result::Result<(), Abort> {
    let found: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT state, sent_at FROM editions WHERE newsletter = ?1 AND number = ?2",
            params![newsletter, number],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let refused = |why: String| Err(Abort::Refused(StoreError::Conflict(why)));
    let (went, tried): (u32, u32) = tx.query_row(
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM deliveries
         WHERE newsletter = ?1 AND number = ?2",
        params![newsletter, number],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    match found {
        None => refused(no_such_edition(newsletter, number)),
        Some((state, _)) if state == "skipped" => refused(format!(
            "{newsletter} No. {number} was skipped: it is never sent, so it has no send to schedule"
        )),
        Some((_, Some(sent))) => refused(format!(
            "{newsletter} No. {number} was sent ({}): too late to schedule its send",
            sent.get(..16).unwrap_or(&sent).replace('T', " ")
        )),
        Some(_) if tried > 0 => refused(format!(
            "{newsletter} No. {number}: its send has begun ({went} of {tried} messages went out): \
             too late to schedule it; the next `bulletin run` finishes it"
        )),
        Some(_) => Ok(()),
    }
}

/// A stored schedule: its RFC 3339 instant and IANA zone.
fn not_before(at: &str, zone: &str) -> Option<NotBefore> {
    Some(NotBefore {
        at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        zone: parse_zone(zone).ok()?,
    })
}

fn no_such_edition(newsletter: &str, number: u32) -> String {
    format!("{newsletter} has no edition No. {number}; see `bulletin editions --newsletter {newsletter}`")
}

/// Refuses to approve edition `number` while an earlier one is a draft,
/// naming the commands that settle the earliest.
fn require_no_earlier_draft(
    tx: &Transaction,
    newsletter: &str,
    number: u32,
) -> std::result::Result<(), Abort> {
    let earlier: Vec<(u32, String)> = tx
        .prepare(
            "SELECT number, date FROM editions WHERE newsletter = ?1 AND number < ?2 AND state = 'draft'
             ORDER BY number",
        )?
        .query_map(params![newsletter, number], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some((first, date)) = earlier.first() else {
        return Ok(());
    };
    let which = match earlier.len() {
        1 => format!("No. {first} (of {date}) is still a draft"),
        n => format!("{n} earlier editions are still drafts, the first No. {first} (of {date})"),
    };
    Err(Abort::Refused(StoreError::Conflict(format!(
        "{newsletter} No. {number} cannot be approved: {which}, and editions reach readers in order. \
         Approve it first (`bulletin approve --newsletter {newsletter} --edition {first}`) \
         or skip it (`bulletin skip --newsletter {newsletter} --edition {first}`)"
    ))))
}

/// Records a decision on an edition in the corrections' log.
fn log_decision(
    tx: &Transaction,
    newsletter: &str,
    number: u32,
    decision: Decision,
    by: &str,
    now: DateTime<Utc>,
) -> std::result::Result<(), Abort> {
    tx.execute(
        "INSERT INTO corrections (newsletter, number, action, text, author, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![newsletter, number, decision.action(), decision.text(), by, now.to_rfc3339()],
    )?;
    Ok(())
}

/// A correction's columns: item, section, position, text.
fn correction_columns(correction: &Correction) -> (Option<&str>, Option<&str>, Option<i64>, Option<&str>) {
    let item = correction.item();
    match correction {
        Correction::Drop { .. } => (item, None, None, None),
        Correction::Add { section, .. } => (item, section.as_deref(), None, None),
        Correction::Move {
            section, position, ..
        } => (
            item,
            Some(section.as_str()),
            position.and_then(|p| i64::try_from(p).ok()),
            None,
        ),
        Correction::Retitle { title: text, .. } | Correction::Teaser { teaser: text, .. } => {
            (item, None, None, Some(text.as_str()))
        }
        Correction::Intro { markdown } => (None, None, None, Some(markdown.as_str())),
    }
}

/// A line of the corrections' log from its columns: a decision, or a
/// correction; `None` when a column it needs is missing.
pub(super) fn logged_from(
    action: &str,
    item: Option<String>,
    section: Option<String>,
    position: Option<i64>,
    text: Option<String>,
) -> Option<Logged> {
    match Decision::parse(action, text.as_deref()) {
        Some(decision) => Some(Logged::Decision(decision)),
        // An unreadable schedule is not a correction either.
        None if action == "schedule" => None,
        None => correction_from(action, item, section, position, text).map(Logged::Correction),
    }
}

/// A correction from its columns; `None` when one it needs is missing.
fn correction_from(
    action: &str,
    item: Option<String>,
    section: Option<String>,
    position: Option<i64>,
    text: Option<String>,
) -> Option<Correction> {
    let position = position.and_then(|p| usize::try_from(p).ok());
    Some(match action {
        "drop" => Correction::Drop { item: item? },
        "add" => Correction::Add { item: item?, section },
        "move" => Correction::Move {
            item: item?,
            section: section?,
            position,
        },
        "retitle" => Correction::Retitle {
            item: item?,
            title: text?,
        },
        "teaser" => Correction::Teaser {
            item: item?,
            teaser: text?,
        },
        "intro" => Correction::Intro { markdown: text? },
        _ => return None,
    })
}
