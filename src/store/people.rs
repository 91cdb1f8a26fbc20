//! One person's data across the store: what they may download, correct and
//! erase (the preference centre, `subscribers export` and `erase`), and the
//! suppression list that keeps an erased address out.
//!
//! The rule that makes this generic is the store's (see the module's doc):
//! a table holding a person's data has an `email` column. Export and
//! erasure read the schema (`sqlite_master`) for those tables each time, so
//! tables other features add (sign-ups, consents, confirmation mails, the
//! bounces read and the soft-bounce `suppressions`) are exported and erased
//! with the rest. An export leaves out what is not the person's to see
//! (another client's address, details a third party typed): [`withhold`].

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, params};

use super::subscribers::{Agreement, Consent, insert_consent};
use super::{Result, Store};
use crate::domain::Details;

/// Every row held about one person, by table, each row column by column.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub(crate) struct PersonData {
    pub(crate) email: String,
    pub(crate) tables: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
}

impl PersonData {
    /// Whether the store holds anything about them.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.values().all(Vec::is_empty)
    }
}

/// What an erasure deleted: rows by table (tables with none left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Erased {
    pub(crate) rows: BTreeMap<String, usize>,
}

impl Store {
    /// Everything held about `email` (any case): every row of every table
    /// with an `email` column whose address is theirs, but what
    /// [`withhold`] leaves out: what another person gave or concerns them.
    pub(crate) fn person(&self, email: &str) -> Result<PersonData> {
        let email = email.to_ascii_lowercase();
        let mut data = PersonData {
            email: email.clone(),
            tables: BTreeMap::new(),
        };
        for table in personal_tables(&self.conn).map_err(|e| self.error(e))? {
            let mut rows = rows_of(&self.conn, &table, &email).map_err(|e| self.error(e))?;
            for row in &mut rows {
                withhold(&table, row);
            }
            data.tables.insert(table, rows);
        }
        note_unrecorded_consents(&mut data.tables);
        Ok(data)
    }

    /// Deletes every row about `email` (any case) from every table with an
    /// `email` column, and keeps `hash` (the keyed hash of the address) in
    /// the suppression list, in one transaction. Delivery-log rows go too:
    /// they carry the address and a Message-ID naming it, and serve nothing
    /// once the person is gone (a send's counts were reported when it ran).
    /// Deleted content is zeroed (the store's `secure_delete`) and the
    /// write-ahead log emptied afterwards where no reader holds it, so the
    /// address is not left in the file's free space either.
    pub(crate) fn erase_person(&mut self, email: &str, hash: &str, now: DateTime<Utc>) -> Result<Erased> {
        let email = email.to_ascii_lowercase();
        let erased = self.write(|tx| {
            // Rows refer to each other (subscriptions to subscribers): all go.
            tx.pragma_update(None, "defer_foreign_keys", true)?;
            let mut erased = Erased::default();
            for table in personal_tables(tx)? {
                let deleted = tx.execute(
                    &format!("DELETE FROM {} WHERE lower(email) = ?1", quoted(&table)),
                    [&email],
                )?;
                if deleted > 0 {
                    erased.rows.insert(table, deleted);
                }
            }
            tx.execute(
                "INSERT INTO suppressed (hash, at, why) VALUES (?1, ?2, 'erased')
                 ON CONFLICT (hash) DO UPDATE SET at = excluded.at, why = excluded.why",
                params![hash, now.to_rfc3339()],
            )?;
            Ok(erased)
        })?;
        // Best effort: a reader in another process keeps the log's frames.
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(erased)
    }

    /// The keyed hashes of the suppressed addresses (a few, one per erasure).
    pub(crate) fn suppressed(&self) -> Result<HashSet<String>> {
        Ok(self
            .rows("SELECT hash FROM suppressed", [], |row| row.get(0))?
            .into_iter()
            .collect())
    }

    /// Stores what a subscriber corrected and chose on the preference page:
    /// their details, and of `newsletters` (every configured one) those in
    /// `chosen` received (again, if they had left one: their own choice),
    /// each one they did not receive with a consent record as `agreed`, the
    /// others left. Choosing none leaves every newsletter. `false` when
    /// `email` is not a subscriber.
    pub(crate) fn update_person(
        &mut self,
        email: &str,
        details: &Details,
        chosen: &[String],
        newsletters: &[String],
        agreed: &Agreement,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let email = email.to_ascii_lowercase();
        let now = at.to_rfc3339();
        self.write(|tx| {
            let updated = tx.execute(
                "UPDATE subscribers SET name = ?2, organisation = ?3, organisation_type = ?4, country = ?5,
                    updated = ?6, unsubscribed = CASE WHEN ?7 THEN coalesce(unsubscribed, ?6) END
                 WHERE email = ?1",
                params![
                    email,
                    details.name,
                    details.organisation,
                    details.organisation_type,
                    details.country,
                    now,
                    chosen.is_empty()
                ],
            )?;
            if updated == 0 {
                return Ok(false);
            }
            for newsletter in newsletters {
                if chosen.contains(newsletter) {
                    let received: bool = tx.query_row(
                        "SELECT count(*) FROM subscriptions WHERE email = ?1 AND newsletter = ?2
                            AND unsubscribed IS NULL",
                        params![email, newsletter],
                        |r| r.get(0),
                    )?;
                    if !received {
                        let consent = Consent {
                            email: &email,
                            newsletter,
                            method: agreed.method,
                            source: &agreed.source,
                            version: Some(&agreed.version),
                            at,
                        };
                        insert_consent(tx, &consent)?;
                    }
                    tx.execute(
                        "INSERT INTO subscriptions (email, newsletter) VALUES (?1, ?2)
                         ON CONFLICT DO UPDATE SET unsubscribed = NULL",
                        params![email, newsletter],
                    )?;
                } else {
                    tx.execute(
                        "UPDATE subscriptions SET unsubscribed = coalesce(unsubscribed, ?3)
                         WHERE email = ?1 AND newsletter = ?2",
                        params![email, newsletter, now],
                    )?;
                }
            }
            Ok(true)
        })
    }
}

/// What a person's export leaves out of a row of `table`: what is not
/// theirs to see. A client's network address (a `client` column, the
/// `source` of a consent given on a page: `form`, `preferences`) is that
/// of whoever sent the form, perhaps another person. A pending sign-up's
/// details (name, organisation, its type,
/// country) were typed by whoever filled the form in with their address
/// and were never confirmed by them: confirming deletes the sign-up and
/// makes the details their own, in `subscribers`. What remains of it tells
/// them that someone asked to subscribe them, to what, and when.
fn withhold(table: &str, row: &mut serde_json::Map<String, serde_json::Value>) {
    row.remove("client");
    match table {
        "signups" => {
            for typed in ["name", "organisation", "organisation_type", "country"] {
                row.remove(typed);
            }
        }
        // An editor's secrets and their client's network are no one's to download.
        "editors" => {
            row.remove("password");
            row.remove("link_hash");
        }
        "editor_sessions" => {
            row.remove("id_hash");
        }
        "editor_logins" => {
            row.remove("network");
        }
        "consents"
            if matches!(
                row.get("method").and_then(|m| m.as_str()),
                Some("form" | "preferences")
            ) =>
        {
            row.remove("source");
        }
        _ => {}
    }
}

/// What an export says of a subscription with no consent record: one that
/// began before every way of subscribing recorded one (the preference
/// centre's, an import's of a newsletter left earlier). Nothing is made up
/// for it: no migration can know when or how they agreed.
const UNRECORDED: &str = "not recorded: this subscription began before bulletin recorded a consent for \
                          every subscription, so when and how it was agreed is not known";

/// Each subscription of the export without a consent record for its
/// newsletter gets a `consent` field saying so ([`UNRECORDED`]).
fn note_unrecorded_consents(tables: &mut BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>) {
    let recorded: HashSet<String> = tables
        .get("consents")
        .into_iter()
        .flatten()
        .filter_map(|row| row.get("newsletter")?.as_str().map(str::to_string))
        .collect();
    for row in tables.get_mut("subscriptions").into_iter().flatten() {
        let newsletter = row.get("newsletter").and_then(|n| n.as_str()).unwrap_or_default();
        if !recorded.contains(newsletter) {
            row.insert("consent".into(), UNRECORDED.into());
        }
    }
}

/// The tables with a column named `email`, by name.
fn personal_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut query = conn.prepare(
        "SELECT m.name FROM sqlite_master m
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE lower(c.name) = 'email')
         ORDER BY m.name",
    )?;
    query.query_map([], |row| row.get(0))?.collect()
}

/// The rows of `table` about `email`, each as column → value.
fn rows_of(
    conn: &Connection,
    table: &str,
    email: &str,
) -> rusqlite::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut query = conn.prepare(&format!(
        "SELECT * FROM {} WHERE lower(email) = ?1",
        quoted(table)
    ))?;
    let columns: Vec<String> = query.column_names().map(str::to_string).collect();
    let rows = query.query_map([email], |row| {
        let mut values = serde_json::Map::new();
        for (index, column) in columns.iter().enumerate() {
            values.insert(column.clone(), json(row.get_ref(index)?));
        }
        Ok(values)
    })?;
    rows.collect()
}

/// A stored value as JSON; a blob as hex.
fn json(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(n) => n.into(),
        ValueRef::Real(x) => x.into(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned().into(),
        ValueRef::Blob(bytes) => crate::hex::hex(bytes).into(),
    }
}

/// A table's name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Lifts the suppression of the address `hash` stands for, in `tx`: a new
/// consent (a confirmed double opt-in sign-up, [`Store::confirm_signup`])
/// lets it in again. `false` when it was not suppressed.
pub(super) fn lift_suppression(tx: &Transaction, hash: &str) -> rusqlite::Result<bool> {
    Ok(tx.execute("DELETE FROM suppressed WHERE hash = ?1", [hash])? > 0)
}
