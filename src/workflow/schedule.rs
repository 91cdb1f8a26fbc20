//! A scheduled send (`bulletin schedule`, the desk's Schedule button): an
//! edition not sent before a time, set or cleared with who and when, for a
//! draft (in effect once approved) or an approved edition not yet sent.
//! `run` holds it (and the newsletter's later editions) until then; `send`
//! refuses it unless told `--now`.

use anyhow::{Result, bail};

use super::{Clock, open_for_writing};
use crate::config::{Config, Newsletter};
use crate::domain::{NotBefore, Read, parse_zone, read_when};
use crate::store::{EditionRecord, EditionState, Store};

/// What an editor asks of an edition's send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Schedule<'a> {
    /// Not before this local time ("2026-12-08 09:00", a zone after it
    /// allowed), in `zone` when given, else the config's `site.time_zone`.
    At { when: &'a str, zone: Option<&'a str> },
    /// No schedule: sent at the next run once approved.
    Clear,
}

/// `bulletin schedule`: opens the store under the lock, then [`schedule_edition`].
pub(crate) fn schedule(
    config: &Config,
    newsletter: &Newsletter,
    number: Option<u32>,
    asked: Schedule<'_>,
    by: &str,
    clock: Clock,
) -> Result<Vec<String>> {
    let (_lock, mut store) = open_for_writing(config)?;
    schedule_edition(config, &mut store, newsletter, number, asked, by, clock)
}

/// Schedules (or clears) the send of edition `number` (default the
/// newsletter's latest not sent), by `by` at `clock`: a time already past
/// is refused, and so is an edition skipped or whose send has begun. The
/// lines it said are handed back, for a page to show.
pub(crate) fn schedule_edition(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    number: Option<u32>,
    asked: Schedule<'_>,
    by: &str,
    clock: Clock,
) -> Result<Vec<String>> {
    let id = newsletter.id.as_str();
    let record = edition(store, id, number)?;
    let read = match asked {
        Schedule::At { when, zone } => Some(when_at(config, when, zone, clock)?),
        Schedule::Clear => None,
    };
    let not_before = read.as_ref().map(|r| r.not_before);
    store.schedule(id, record.number, not_before, by, clock.now)?;
    let number = record.number;
    let mut lines: Vec<String> = read.iter().filter_map(|r| r.note.clone()).collect();
    lines.push(match (not_before, record.state) {
        (Some(at), EditionState::Draft) => format!(
            "{id} No. {number} (a draft): send scheduled by {by}: not before {at}, once approved"
        ),
        (Some(at), _) => format!(
            "{id} No. {number}: send scheduled by {by}: not before {at}; the first `bulletin run` after it sends it"
        ),
        (None, EditionState::Draft) => format!(
            "{id} No. {number} (a draft): schedule cleared by {by}: the first `bulletin run` after its approval sends it"
        ),
        (None, _) => format!(
            "{id} No. {number}: schedule cleared by {by}: the next `bulletin run` sends it"
        ),
    });
    for line in &lines {
        say!("{line}");
    }
    Ok(lines)
}

/// The local time `when` read in `zone` (else the config's), and refused
/// when it is not after `clock`: a past time would mean "now", said plainly
/// instead.
fn when_at(config: &Config, when: &str, zone: Option<&str>, clock: Clock) -> Result<Read> {
    let zone = match zone.map(str::trim).filter(|z| !z.is_empty()) {
        Some(name) => parse_zone(name)?,
        None => config.site.time_zone,
    };
    let read = read_when(when, zone)?;
    let at = read.not_before;
    if at.at <= clock.now {
        let now = NotBefore {
            at: clock.now,
            zone: at.zone,
        };
        bail!(
            "{at} is past (it is now {} {}): schedule a later time, or clear the schedule to send at the next run",
            now.local(),
            at.zone.name()
        );
    }
    Ok(read)
}

/// Edition `number`, or the newsletter's latest not sent nor skipped (else
/// its latest, which the store refuses saying why).
fn edition(store: &Store, id: &str, number: Option<u32>) -> Result<EditionRecord> {
    let editions = store.editions(Some(id))?;
    let found = match number {
        Some(n) => editions.into_iter().find(|e| e.number == n),
        None => {
            let unsent = editions
                .iter()
                .filter(|e| e.state != EditionState::Skipped && e.sent_at.is_none())
                .max_by_key(|e| e.number)
                .cloned();
            unsent.or_else(|| editions.into_iter().max_by_key(|e| e.number))
        }
    };
    match (found, number) {
        (Some(record), _) => Ok(record),
        (None, Some(n)) => bail!("{id} has no edition No. {n}; see `bulletin editions --newsletter {id}`"),
        (None, None) => bail!(
            "{id} has no edition yet: `bulletin run` drafts one on its schedule day (or `bulletin build --newsletter {id}` today)"
        ),
    }
}
