//! How bulletin is doing: each `run`, `send` and `bounces` recorded in the
//! store from its start to its end with each failure's reason, and what
//! `bulletin status` shows (the last run first, then each newsletter and
//! what waits for a person), made once here for the command, the alert
//! mail and any page that shows the same.

use std::fmt;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Clock, alerts, count};
use crate::causes::{said_once, said_without_addresses};
use crate::config::Config;
use crate::domain::{NotBefore, SourceReport};
use crate::editions::{due_days, next_due};
use crate::store::{Decision, EditionRecord, EditionState, Logged, RunCommand, RunOutcome, RunRecord, Store};

/// What an operation's result says went wrong though it finished: each
/// reason in words that stay the same while the problem does (no counts),
/// so an alert is not sent again for the same problem.
pub(crate) trait Judged {
    fn problems(&self) -> Vec<String>;
}

/// The reason recorded when some sources failed.
pub(crate) fn source_problems(reports: &[SourceReport]) -> Vec<String> {
    reports
        .iter()
        .filter(|r| r.failed())
        .map(|r| format!("source {:?} failed: {}", r.name, r.errors().join("; ")))
        .collect()
}

/// The reason recorded when a send left messages undelivered.
pub(crate) const UNDELIVERED: &str = "some messages were not delivered (deferred or failed): \
     `bulletin editions show` counts them, and the next `bulletin run` sends the deferred ones again";

/// A recorded run in progress.
pub(crate) struct Recording {
    id: i64,
    command: RunCommand,
}

impl Recording {
    /// Records that `command` starts now, under the lock the caller holds.
    pub(crate) fn start(store: &mut Store, command: RunCommand, clock: Clock) -> Result<Recording> {
        let id = store.run_started(command, clock.now)?;
        Ok(Recording { id, command })
    }

    /// Records how the run ended, then mails `[alerts]` about the problems
    /// that are new (`late_drafts` too, for `run`). The result is handed
    /// back, but when the alert could not be mailed: that is then the
    /// error (on stderr with the alert itself, so cron's mail carries it).
    pub(crate) fn finish<T: Judged>(
        self,
        config: &Config,
        store: &mut Store,
        clock: Clock,
        late_drafts: Option<Vec<String>>,
        today: NaiveDate,
        result: Result<T>,
    ) -> Result<T> {
        let (outcome, errors) = match &result {
            Ok(done) => {
                let problems = done.problems();
                let outcome = if problems.is_empty() {
                    RunOutcome::Ok
                } else {
                    RunOutcome::Partial
                };
                (outcome, problems)
            }
            Err(e) => (RunOutcome::Failed, vec![said_without_addresses(e.as_ref())]),
        };
        let told = store
            .run_finished(self.id, clock.current(), outcome, &errors)
            .map_err(anyhow::Error::from)
            .and_then(|()| alerts::tell(config, store, self.command, &errors, late_drafts, today, clock));
        match (result, told) {
            (result, Ok(())) => result,
            (Err(failed), Err(untold)) => {
                warning!("error: {}", said_once(untold.as_ref()));
                Err(failed)
            }
            (Ok(_), Err(untold)) => Err(untold),
        }
    }
}

/// `bulletin status`: the last run, each newsletter's last edition and
/// next due date, the problems open and what waits for a person.
#[derive(Debug, Serialize)]
pub(crate) struct Health {
    /// The day it is told for.
    pub(crate) date: NaiveDate,
    pub(crate) last_run: Option<LastRun>,
    /// Every problem open now (the last run's, a failed `send` or
    /// `bounces`, a draft waiting too long), each until it goes away.
    pub(crate) problems: Vec<OpenProblem>,
    pub(crate) newsletters: Vec<NewsletterHealth>,
    /// The approved editions not sent yet, as "eu-japan-news No. 1".
    pub(crate) not_sent: Vec<String>,
    /// What a person must do, a line each.
    pub(crate) waiting: Vec<String>,
}

/// The last `run`, `send` or `bounces`, as the store recorded it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LastRun {
    pub(crate) command: RunCommand,
    pub(crate) started: DateTime<Utc>,
    /// None: still running, or killed.
    pub(crate) finished: Option<DateTime<Utc>>,
    pub(crate) outcome: Ended,
    pub(crate) errors: Vec<String>,
}

/// How the last run ended, as `status --format json` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Ended {
    Ok,
    Partial,
    Failed,
    /// Still running, or killed.
    Unfinished,
}

impl From<RunRecord> for LastRun {
    fn from(run: RunRecord) -> LastRun {
        LastRun {
            command: run.command,
            started: run.started,
            finished: run.ended.map(|(at, _)| at),
            outcome: match run.ended {
                None => Ended::Unfinished,
                Some((_, RunOutcome::Ok)) => Ended::Ok,
                Some((_, RunOutcome::Partial)) => Ended::Partial,
                Some((_, RunOutcome::Failed)) => Ended::Failed,
            },
            errors: run.errors,
        }
    }
}

/// A problem open now.
#[derive(Debug, Serialize)]
pub(crate) struct OpenProblem {
    /// `run`, `send`, `bounces` or `drafts`.
    pub(crate) scope: String,
    pub(crate) text: String,
    pub(crate) since: DateTime<Utc>,
    /// Whether `[alerts]` were mailed about it.
    pub(crate) mailed: bool,
}

/// One newsletter's last edition and next due date.
#[derive(Debug, Serialize)]
pub(crate) struct NewsletterHealth {
    pub(crate) id: String,
    pub(crate) last_edition: Option<EditionHealth>,
    pub(crate) next_due: Option<NaiveDate>,
    /// A schedule day whose edition was not made.
    pub(crate) overdue_since: Option<NaiveDate>,
    /// The editions not sent yet, drafts and approved, oldest first: what
    /// an editor may still schedule.
    pub(crate) unsent: Vec<Unsent>,
}

/// An edition not sent yet (a draft, or approved with no message gone out).
#[derive(Debug, Serialize)]
pub(crate) struct Unsent {
    pub(crate) number: u32,
    pub(crate) date: NaiveDate,
    pub(crate) state: EditionState,
    pub(crate) not_before: Option<NotBefore>,
}

#[derive(Debug, Serialize)]
pub(crate) struct EditionHealth {
    pub(crate) number: u32,
    pub(crate) date: NaiveDate,
    /// Where it stands, in words: draft, approved, sending or sent, with counts.
    pub(crate) state: String,
    /// Its scheduled send, while it is not sent.
    pub(crate) not_before: Option<NotBefore>,
    /// A draft, or approved and not sent yet: it waits for an editor's
    /// review (the desk links its review page).
    #[serde(skip)]
    pub(crate) waits: bool,
}

/// The last recorded run, for `status` and `editions show`.
pub(crate) fn last_run(store: &Store) -> Result<Option<LastRun>> {
    Ok(store.last_run(None)?.map(LastRun::from))
}

/// Where everything stands on `today`, at `now` (a scheduled send's time
/// has come or not).
pub(crate) fn health(config: &Config, store: &Store, today: NaiveDate, now: DateTime<Utc>) -> Result<Health> {
    let last = last_run(store)?;
    let blocked = send_blocked(store)?;
    let mut newsletters = Vec::new();
    let mut waiting = Vec::new();
    let mut not_sent = Vec::new();
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        let editions = store.editions(Some(id))?;
        let last_day = editions
            .iter()
            .map(|e| e.date)
            .chain(store.schedule_handled(id)?)
            .max();
        let last_edition = match editions.iter().max_by_key(|e| e.number) {
            Some(e) => Some(EditionHealth {
                number: e.number,
                date: e.date,
                state: state_line(store, e)?,
                not_before: e.not_before.filter(|_| e.sent_at.is_none()),
                waits: e.state == EditionState::Draft
                    || (e.state == EditionState::Approved && e.sent_at.is_none()),
            }),
            None => None,
        };
        let missed = due_days(newsletter.schedule, today, last_day);
        let overdue_since = missed.first().copied().filter(|day| *day < today);
        let next_due = match missed.first() {
            Some(day) => Some(*day),
            None => next_due(newsletter.schedule, today, last_day),
        };
        if let Some(day) = overdue_since {
            waiting.push(format!(
                "{id}: the edition due {day} was not made; the next `bulletin run` catches up"
            ));
        }
        // An approved edition whose time has not come holds the later ones.
        let mut held: Option<u32> = None;
        for e in editions.iter().rev() {
            let line = match held {
                Some(earlier) if e.state == EditionState::Approved && e.sent_at.is_none() => Some(format!(
                    "{id} No. {} is approved and waits for No. {earlier}'s scheduled send: editions reach readers in order",
                    e.number
                )),
                _ => waits_for(config, store, e, blocked.as_ref(), now)?,
            };
            waiting.extend(line);
            if e.state == EditionState::Approved
                && e.sent_at.is_none()
                && e.not_before.is_some_and(|at| !at.has_come(now))
            {
                held = held.or(Some(e.number));
            }
            let approved = e.state == EditionState::Approved;
            if approved && e.sent_at.is_none() && config.mail.is_some() {
                not_sent.push(format!("{id} No. {}", e.number));
            }
        }
        let mut unsent = Vec::new();
        for e in editions.iter().rev() {
            let begun = e.sent_at.is_some() || !store.delivery_counts(id, e.number)?.is_empty();
            if e.state != EditionState::Skipped && !begun {
                unsent.push(Unsent {
                    number: e.number,
                    date: e.date,
                    state: e.state,
                    not_before: e.not_before,
                });
            }
        }
        newsletters.push(NewsletterHealth {
            id: id.to_string(),
            last_edition,
            next_due,
            overdue_since,
            unsent,
        });
    }
    let problems = store
        .problems()?
        .into_iter()
        .map(|p| OpenProblem {
            scope: p.scope,
            text: p.text,
            since: p.since,
            mailed: p.mailed,
        })
        .collect();
    Ok(Health {
        date: today,
        last_run: last,
        problems,
        newsletters,
        not_sent,
        waiting,
    })
}

/// Why the last `run` or `send` could not send, when it failed: then no
/// line may promise that the next run sends what this one could not.
fn send_blocked(store: &Store) -> Result<Option<LastRun>> {
    let runs = [
        store.last_run(Some(RunCommand::Run))?,
        store.last_run(Some(RunCommand::Send))?,
    ];
    let latest = runs.into_iter().flatten().max_by_key(|r| r.started);
    Ok(latest
        .filter(|r| matches!(r.ended, Some((_, RunOutcome::Failed))))
        .map(LastRun::from))
}

/// Where an edition stands: draft, approved, sending or sent, with counts.
pub(crate) fn state_line(store: &Store, record: &EditionRecord) -> Result<String> {
    let items = count(record.items, "item");
    match record.state {
        EditionState::Draft => {
            let scheduled = record
                .not_before
                .map(|at| format!(", to be sent not before {at} once approved"))
                .unwrap_or_default();
            return Ok(format!(
                "draft, {items}, last rebuilt {}{scheduled}",
                record.built_at.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        EditionState::Skipped => {
            let by = store
                .log(&record.newsletter, record.number)?
                .into_iter()
                .rfind(|l| l.entry == Logged::Decision(Decision::Skip));
            return Ok(match by {
                Some(l) => format!(
                    "skipped by {} on {}, never sent; its number is not reused",
                    l.author,
                    l.at.format("%Y-%m-%d")
                ),
                None => "skipped, never sent; its number is not reused".into(),
            });
        }
        EditionState::Approved => {}
    }
    let approved = format!(
        "approved by {} on {}",
        record.approved_by.as_deref().unwrap_or("someone"),
        record.approved_at.map_or_else(
            || "an unknown date".to_string(),
            |t| t.format("%Y-%m-%d").to_string()
        )
    );
    let counts = store.delivery_counts(&record.newsletter, record.number)?;
    let counts_text = counts
        .iter()
        .map(|(status, n)| format!("{status} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(match (record.sent_at, counts.is_empty()) {
        (Some(_), true) => format!("sent, {items} ({approved})"),
        (Some(_), false) => format!("sent: {counts_text}, {items} ({approved})"),
        (None, true) => match record.not_before {
            Some(at) => format!("{approved}, {items}, scheduled for {at}"),
            None => format!("{approved}, {items}, not sent"),
        },
        (None, false) => format!("sending: {counts_text}, {items} ({approved})"),
    })
}

/// What an edition waits for, if anything: approval, or a send to finish
/// (after a failed run, what to fix first).
fn waits_for(
    config: &Config,
    store: &Store,
    e: &EditionRecord,
    blocked: Option<&LastRun>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let (id, number) = (e.newsletter.as_str(), e.number);
    if e.state == EditionState::Draft {
        let date = e.date;
        if let Some(at) = e.not_before {
            return Ok(Some(format!(
                "{id} No. {number} ({date}) is a draft waiting for approval, to be sent not before {at}: \
                 `bulletin editions show --newsletter {id} --edition {number}`, then `bulletin approve --newsletter {id} --edition {number}`"
            )));
        }
        return Ok(Some(format!(
            "{id} No. {number} ({date}) is a draft waiting for approval: `bulletin editions show \
             --newsletter {id} --edition {number}`, then `bulletin approve --newsletter {id} --edition {number}`"
        )));
    }
    // Without a [mail] section nothing is ever sent: nobody waits for it.
    if e.state == EditionState::Skipped || e.sent_at.is_some() || config.mail.is_none() {
        return Ok(None);
    }
    // Not due before its time: a failed run (shown above) did not hold it back.
    if let Some(at) = e.not_before.filter(|at| !at.has_come(now)) {
        return Ok(Some(format!(
            "{id} No. {number} is approved, scheduled for {at}: the first `bulletin run` after that sends it"
        )));
    }
    if let Some(failed) = blocked {
        return Ok(Some(format!(
            "{id} No. {number} is approved and was NOT sent: the last `bulletin {}` failed ({}); \
             `bulletin check --send` names what a send lacks; fix it, then `bulletin run`",
            failed.command.as_str(),
            failed.errors.join("; ")
        )));
    }
    let deferred = store
        .delivery_counts(id, number)?
        .into_iter()
        .find(|(status, _)| status == "deferred")
        .map_or(0, |(_, n)| n);
    Ok(Some(match deferred {
        0 => format!("{id} No. {number} is approved, not sent yet: the next `bulletin run` sends it"),
        n => format!(
            "{id} No. {number}: {} deferred; the next `bulletin run` tries them again",
            count(n, "message")
        ),
    }))
}

impl Health {
    /// The text `bulletin status` prints and an alert mail carries.
    pub(crate) fn text(&self) -> impl fmt::Display + '_ {
        Text(self)
    }
}

struct Text<'a>(&'a Health);

impl fmt::Display for Text<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let health = self.0;
        match &health.last_run {
            None => writeln!(
                out,
                "No run recorded yet: `bulletin run` (cron's) has not run on this store."
            )?,
            Some(run) => lead(out, run, &health.not_sent)?,
        }
        let lead_errors = health
            .last_run
            .as_ref()
            .map(|r| r.errors.as_slice())
            .unwrap_or_default();
        let others: Vec<&OpenProblem> = health
            .problems
            .iter()
            .filter(|p| !lead_errors.contains(&p.text))
            .collect();
        if !others.is_empty() {
            writeln!(out, "\nProblems:")?;
            for p in others {
                let scope = match p.scope.as_str() {
                    "drafts" => String::new(),
                    command => format!("`bulletin {command}` "),
                };
                writeln!(
                    out,
                    "  {scope}since {}: {}",
                    p.since.format("%Y-%m-%d %H:%M UTC"),
                    p.text
                )?;
            }
        }
        writeln!(out)?;
        for n in &health.newsletters {
            let described = match &n.last_edition {
                Some(e) => format!("No. {} of {}: {}", e.number, e.date, e.state),
                None => "no edition yet".to_string(),
            };
            let next = match (n.overdue_since, n.next_due) {
                (Some(day), _) => format!("overdue since {day}"),
                (None, Some(day)) => day.to_string(),
                (None, None) => "none".to_string(),
            };
            writeln!(out, "{:<16} {described}", n.id)?;
            writeln!(out, "{:<16} next due: {next}", "")?;
        }
        writeln!(out)?;
        if health.waiting.is_empty() {
            writeln!(out, "Nothing waits for a person.")
        } else {
            writeln!(out, "Waiting:")?;
            for line in &health.waiting {
                writeln!(out, "  {line}")?;
            }
            Ok(())
        }
    }
}

/// The first lines: the last run, how it ended, and what it left undone.
fn lead(out: &mut fmt::Formatter<'_>, run: &LastRun, unsent: &[String]) -> fmt::Result {
    let when = run.started.format("%Y-%m-%d %H:%M UTC");
    let command = run.command.as_str();
    let errors = run.errors.join("; ");
    match run.outcome {
        Ended::Ok => writeln!(out, "The last run (`bulletin {command}`, {when}) went well."),
        Ended::Partial => writeln!(
            out,
            "The last run (`bulletin {command}`, {when}) partly failed: {errors}"
        ),
        Ended::Failed => {
            writeln!(
                out,
                "The last run (`bulletin {command}`, {when}) FAILED: {errors}"
            )?;
            for edition in unsent {
                writeln!(out, "  {edition} is approved and was NOT sent.")?;
            }
            writeln!(
                out,
                "  What to do: fix the cause (`bulletin check --send` names what a send lacks), then `bulletin run`."
            )
        }
        Ended::Unfinished => writeln!(
            out,
            "The last run (`bulletin {command}`, started {when}) has not finished: it is still \
             running, or it was killed (the next `bulletin run` completes its work)."
        ),
    }
}
