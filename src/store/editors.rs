//! The desk's editors, their sessions and their login attempts (issue 28).
//! The store keeps only hashes of what grants access: a password's argon2id
//! string, the SHA-256 of a set-password link's token and of a session's
//! id. What they mean (the limits, the expiry) is the workflow's.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::signups::stamped;
use super::subscribers::stamp;
use super::{Result, Store};
use crate::domain::Role;

/// One editor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EditorRecord {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) role: Role,
    /// Their password's argon2id string; `None` until they set one.
    pub(crate) password: Option<String>,
    /// When their set-password link expires, while one is open.
    pub(crate) link_expires: Option<DateTime<Utc>>,
}

/// A session as stored, with its editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRecord {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) created: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
}

/// Failed (or pending) login attempts since a time: for the address typed,
/// and from the client's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoginCounts {
    pub(crate) account: u32,
    pub(crate) network: u32,
}

/// A role as stored, or the column's conversion error.
fn role(row: &rusqlite::Row, index: usize) -> rusqlite::Result<Role> {
    let word: String = row.get(index)?;
    Role::parse(&word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown role {word:?}").into(),
        )
    })
}

fn editor_row(row: &rusqlite::Row) -> rusqlite::Result<EditorRecord> {
    Ok(EditorRecord {
        email: row.get(0)?,
        name: row.get(1)?,
        role: role(row, 2)?,
        password: row.get(3)?,
        link_expires: row
            .get::<_, Option<String>>(4)?
            .map(|_| stamped(row, 4))
            .transpose()?,
    })
}

const EDITOR_COLUMNS: &str = "email, name, role, password, link_expires";

impl Store {
    /// Adds an editor; `false` (nothing changed) when `email` is one already.
    pub(crate) fn add_editor(
        &mut self,
        editor: &EditorRecord,
        link_hash: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO editors (email, name, role, password, link_hash, link_expires, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (email) DO NOTHING",
                params![
                    editor.email,
                    editor.name,
                    editor.role.as_str(),
                    editor.password,
                    link_hash,
                    editor.link_expires.map(stamp),
                    stamp(at)
                ],
            )?;
            Ok(added == 1)
        })
    }

    /// Every editor, by address.
    pub(crate) fn editors(&self) -> Result<Vec<EditorRecord>> {
        self.rows(
            &format!("SELECT {EDITOR_COLUMNS} FROM editors ORDER BY email"),
            [],
            editor_row,
        )
    }

    /// The editor `email` (lowercase), if there is one.
    pub(crate) fn editor(&self, email: &str) -> Result<Option<EditorRecord>> {
        Ok(self
            .rows(
                &format!("SELECT {EDITOR_COLUMNS} FROM editors WHERE email = ?1"),
                [email],
                editor_row,
            )?
            .pop())
    }

    /// Removes an editor and ends their sessions; `false` when there was none.
    pub(crate) fn remove_editor(&mut self, email: &str) -> Result<bool> {
        self.write(|tx| {
            tx.execute("DELETE FROM editor_sessions WHERE email = ?1", [email])?;
            Ok(tx.execute("DELETE FROM editors WHERE email = ?1", [email])? == 1)
        })
    }

    /// Replaces an editor's password (`None`: none until a link sets one)
    /// and link, and ends every session of theirs; `false` when there is
    /// no such editor.
    pub(crate) fn reset_editor(
        &mut self,
        email: &str,
        password: Option<&str>,
        link: Option<(&str, DateTime<Utc>)>,
    ) -> Result<bool> {
        self.write(|tx| {
            tx.execute("DELETE FROM editor_sessions WHERE email = ?1", [email])?;
            let changed = tx.execute(
                "UPDATE editors SET password = ?2, link_hash = ?3, link_expires = ?4 WHERE email = ?1",
                params![email, password, link.map(|l| l.0), link.map(|l| stamp(l.1))],
            )?;
            Ok(changed == 1)
        })
    }

    /// The editor whose set-password link has `link_hash` and is still
    /// open at `now`.
    pub(crate) fn editor_by_link(&self, link_hash: &str, now: DateTime<Utc>) -> Result<Option<EditorRecord>> {
        Ok(self
            .rows(
                &format!("SELECT {EDITOR_COLUMNS} FROM editors WHERE link_hash = ?1 AND link_expires > ?2"),
                params![link_hash, stamp(now)],
                editor_row,
            )?
            .pop())
    }

    /// Sets the password of the editor whose link has `link_hash`, if it is
    /// still open at `now`, and closes the link (it works once): their
    /// address, or `None` when no open link has that hash.
    pub(crate) fn use_link(
        &mut self,
        link_hash: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        self.write(|tx| {
            let email: Option<String> = tx
                .query_row(
                    "UPDATE editors SET password = ?2, link_hash = NULL, link_expires = NULL
                     WHERE link_hash = ?1 AND link_expires > ?3 RETURNING email",
                    params![link_hash, password, stamp(now)],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(email) = &email {
                tx.execute("DELETE FROM editor_sessions WHERE email = ?1", [email])?;
            }
            Ok(email)
        })
    }

    /// Login attempts recorded since `since` for `email` and from `network`.
    pub(crate) fn login_counts(
        &self,
        email: &str,
        network: &str,
        since: DateTime<Utc>,
    ) -> Result<LoginCounts> {
        let count = |sql: &str, key: &str| -> Result<u32> {
            self.conn
                .query_row(sql, params![key, stamp(since)], |row| row.get(0))
                .map_err(|e| self.error(e))
        };
        Ok(LoginCounts {
            account: count(
                "SELECT count(*) FROM editor_logins WHERE email = ?1 AND at >= ?2",
                email,
            )?,
            network: count(
                "SELECT count(*) FROM editor_logins WHERE network = ?1 AND at >= ?2",
                network,
            )?,
        })
    }

    /// Records a login attempt (before its password is checked, so
    /// attempts at once count too), and forgets those before `forget`.
    pub(crate) fn record_login(
        &mut self,
        email: &str,
        network: &str,
        at: DateTime<Utc>,
        forget: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM editor_logins WHERE at < ?1", [stamp(forget)])?;
            tx.execute(
                "INSERT INTO editor_logins (email, network, at) VALUES (?1, ?2, ?3)",
                params![email, network, stamp(at)],
            )?;
            Ok(())
        })
    }

    /// A login succeeded: the account's attempts are forgotten, the session
    /// the browser had (if any) ends, and the new one begins.
    pub(crate) fn open_session(
        &mut self,
        email: &str,
        id_hash: &str,
        replaced: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM editor_logins WHERE email = ?1", [email])?;
            if let Some(old) = replaced {
                tx.execute("DELETE FROM editor_sessions WHERE id_hash = ?1", [old])?;
            }
            tx.execute(
                "INSERT INTO editor_sessions (id_hash, email, created, last_seen) VALUES (?1, ?2, ?3, ?3)",
                params![id_hash, email, stamp(at)],
            )?;
            Ok(())
        })
    }

    /// The session with `id_hash`, with its editor, if it exists.
    pub(crate) fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        Ok(self
            .rows(
                "SELECT e.email, e.name, e.role, s.created, s.last_seen
                 FROM editor_sessions s JOIN editors e ON e.email = s.email WHERE s.id_hash = ?1",
                [id_hash],
                |row| {
                    Ok(SessionRecord {
                        email: row.get(0)?,
                        name: row.get(1)?,
                        role: role(row, 2)?,
                        created: stamped(row, 3)?,
                        last_seen: stamped(row, 4)?,
                    })
                },
            )?
            .pop())
    }

    /// The session was used at `at`.
    pub(crate) fn touch_session(&mut self, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE editor_sessions SET last_seen = ?2 WHERE id_hash = ?1",
                params![id_hash, stamp(at)],
            )?;
            Ok(())
        })
    }

    /// Ends the session with `id_hash` (logout, or its time is over).
    pub(crate) fn close_session(&mut self, id_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM editor_sessions WHERE id_hash = ?1", [id_hash])?;
            Ok(())
        })
    }
}
