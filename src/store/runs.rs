//! The record of every `run`, `send` and `bounces` (when each started and
//! ended, how, and why it failed), and the problems open now with whether
//! the editors were told: what `status` leads with and `[alerts]` mails.

use chrono::{DateTime, Utc};
use rusqlite::params;
use rusqlite::types::{FromSql, FromSqlResult, ValueRef};

use super::{Result, Store, unknown_value};

/// A command whose runs are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunCommand {
    Run,
    Send,
    Bounces,
}

impl RunCommand {
    const ALL: [RunCommand; 3] = [RunCommand::Run, RunCommand::Send, RunCommand::Bounces];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunCommand::Run => "run",
            RunCommand::Send => "send",
            RunCommand::Bounces => "bounces",
        }
    }
}

impl FromSql for RunCommand {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        RunCommand::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| unknown_value("command", text, "run, send or bounces"))
    }
}

/// How a recorded run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunOutcome {
    /// Everything it had to do was done.
    Ok,
    /// Done, but something failed: a source, a message not delivered, a mail unreadable.
    Partial,
    /// It stopped: nothing after the failure was done.
    Failed,
}

impl RunOutcome {
    const ALL: [RunOutcome; 3] = [RunOutcome::Ok, RunOutcome::Partial, RunOutcome::Failed];

    fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        }
    }
}

impl FromSql for RunOutcome {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        RunOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| unknown_value("run outcome", text, "ok, partial or failed"))
    }
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRecord {
    pub(crate) command: RunCommand,
    pub(crate) started: DateTime<Utc>,
    /// With its outcome; none while it runs, or when it was killed.
    pub(crate) ended: Option<(DateTime<Utc>, RunOutcome)>,
    pub(crate) errors: Vec<String>,
}

/// A problem open now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// What found it: a command (`run`, `send`, `bounces`) or `drafts`.
    pub(crate) scope: String,
    pub(crate) text: String,
    pub(crate) since: DateTime<Utc>,
    /// Whether `[alerts]` were mailed about it.
    pub(crate) mailed: bool,
}

impl Store {
    /// Records that `command` started at `at`; the id finishes it.
    pub(crate) fn run_started(&mut self, command: RunCommand, at: DateTime<Utc>) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (command, started) VALUES (?1, ?2)",
                params![command.as_str(), at.to_rfc3339()],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Records how run `id` ended.
    pub(crate) fn run_finished(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        outcome: RunOutcome,
        errors: &[String],
    ) -> Result<()> {
        let errors = serde_json::to_string(errors).expect("strings always serialise");
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET finished = ?2, outcome = ?3, errors = ?4 WHERE id = ?1",
                params![id, at.to_rfc3339(), outcome.as_str(), errors],
            )?;
            Ok(())
        })
    }

    /// The latest run of `command`, or of any when none is named.
    pub(crate) fn last_run(&self, command: Option<RunCommand>) -> Result<Option<RunRecord>> {
        let rows = self.rows(
            "SELECT command, started, finished, outcome, errors FROM runs
             WHERE ?1 IS NULL OR command = ?1 ORDER BY id DESC LIMIT 1",
            params![command.map(RunCommand::as_str)],
            |row| {
                Ok((
                    row.get::<_, RunCommand>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<RunOutcome>>(3)?,
                    row.get::<_, String>(4)?,
                ))
            },
        )?;
        let Some((command, started, finished, outcome, errors)) = rows.into_iter().next() else {
            return Ok(None);
        };
        let ended = match (finished, outcome) {
            (Some(at), Some(outcome)) => Some((self.timestamp(&at)?, outcome)),
            _ => None,
        };
        Ok(Some(RunRecord {
            command,
            started: self.timestamp(&started)?,
            ended,
            errors: serde_json::from_str(&errors).map_err(|e| self.decode(format!("a run's errors: {e}")))?,
        }))
    }

    /// Makes `texts` the open problems of `scope` (those gone are closed,
    /// new ones opened at `now`) and returns the open problems not mailed yet.
    pub(crate) fn set_problems(
        &mut self,
        scope: &str,
        texts: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Problem>> {
        let texts_json = serde_json::to_string(texts).expect("strings always serialise");
        self.write(|tx| {
            tx.execute(
                "DELETE FROM problems WHERE scope = ?1 AND text NOT IN (SELECT value FROM json_each(?2))",
                params![scope, texts_json],
            )?;
            for text in texts {
                tx.execute(
                    "INSERT OR IGNORE INTO problems (scope, text, since) VALUES (?1, ?2, ?3)",
                    params![scope, text, now.to_rfc3339()],
                )?;
            }
            Ok(())
        })?;
        Ok(self
            .problems()?
            .into_iter()
            .filter(|p| p.scope == scope && !p.mailed)
            .collect())
    }

    /// Every problem open now, oldest first.
    pub(crate) fn problems(&self) -> Result<Vec<Problem>> {
        let rows = self.rows(
            "SELECT scope, text, since, mailed IS NOT NULL FROM problems ORDER BY since, scope, text",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?, row.get(3)?)),
        )?;
        rows.into_iter()
            .map(|(scope, text, since, mailed)| {
                Ok(Problem {
                    scope,
                    text,
                    since: self.timestamp(&since)?,
                    mailed,
                })
            })
            .collect()
    }

    /// Records that `[alerts]` were told about these problems.
    pub(crate) fn problems_mailed(&mut self, told: &[Problem], at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            for problem in told {
                tx.execute(
                    "UPDATE problems SET mailed = ?3 WHERE scope = ?1 AND text = ?2",
                    params![problem.scope, problem.text, at.to_rfc3339()],
                )?;
            }
            Ok(())
        })
    }
}
