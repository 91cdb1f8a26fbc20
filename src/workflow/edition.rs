//! The edition cycle `bulletin build` and `bulletin run` perform, and the
//! next edition of a newsletter as the preview shows it. An edition is
//! recorded in the store (numbered, with its items) before its files are
//! written, and written again from that record whenever they are missing,
//! so a run killed at any point is completed by the next one.
//!
//! With `approval = "required"` a due edition is first a draft: recorded
//! with its number, rebuilt from the store and the editor's corrections on
//! every `build`, `run` and `edit`, and written under `out/drafts/` (never
//! in the archive) until `bulletin approve` freezes it.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::alerts::late_drafts;
use super::health::{Judged, Recording, UNDELIVERED, source_problems};
use super::send::send_unsent;
use super::{
    Clock, Knowledge, Report, classified, count, fetch_into, items_with, learn, open_for_writing, phase,
};
use crate::classify::Classified;
use crate::config::{Approval, Config, Empty, Newsletter};
use crate::domain::{Correction, Placed, SourceReport};
use crate::editions::{Edition, assemble, correct, due_days, is_due, keep, restore};
use crate::items::Item;
use crate::render::{
    ArchiveEntry, ArchiveGroup, FeedEntry, FeedHead, Reader, render_archive_page, render_atom, render_edition,
};
use crate::store::{Change, DraftChange, EditionPaths, EditionRecord, EditionState, RunCommand, Store};

/// `bulletin build`: each selected newsletter's edition for `date`, whatever
/// its schedule. An edition already recorded for that date is rendered again
/// from the record: same number, same items, same bytes.
pub(crate) fn build(config: &Config, date: NaiveDate, only: Option<&str>, clock: Clock) -> Result<()> {
    if let Some(id) = only {
        config.newsletter(id)?;
    }
    let (_lock, mut store) = open_for_writing(config)?;
    let knowledge = learn(config, &mut store)?;
    let items = classified(config, &store, &knowledge)?;
    for newsletter in config
        .newsletters
        .iter()
        .filter(|n| only.is_none_or(|id| n.id == id))
    {
        publish(config, &mut store, newsletter, &items, &knowledge, date, clock)?;
    }
    write_archive(config, &store)?;
    Ok(())
}

/// What a `run` did that its exit code tells.
pub(crate) struct Ran {
    /// Each source's fetch: some may have failed.
    pub(crate) reports: Vec<SourceReport>,
    /// False when some message was not delivered.
    pub(crate) delivered: bool,
}

impl Judged for Ran {
    fn problems(&self) -> Vec<String> {
        let mut problems = source_problems(&self.reports);
        if !self.delivered {
            problems.push(UNDELIVERED.to_string());
        }
        problems
    }
}

/// `bulletin run`, the cron entry: fetch; make every edition due by
/// `date` (a schedule day missed since the last run is caught up, with its
/// own date and window); rebuild the drafts; write any recorded edition
/// whose files are missing; send every approved edition not yet sent.
/// Running it again the same day publishes nothing new.
pub(crate) fn run(config: &Config, date: NaiveDate, clock: Clock) -> Result<Ran> {
    Report::stamp_lines(clock);
    let (_lock, mut store) = open_for_writing(config)?;
    let recording = Recording::start(&mut store, RunCommand::Run, clock)?;
    let ran = run_locked(config, &mut store, date, clock);
    // A store that cannot say which drafts are late fails the finish too.
    let late = late_drafts(config, &store, date).ok().flatten();
    recording.finish(config, &mut store, clock, late, date, ran)
}

/// [`run`]'s work, under the lock.
fn run_locked(config: &Config, store: &mut Store, date: NaiveDate, clock: Clock) -> Result<Ran> {
    phase("fetch");
    let reports = fetch_into(config, store, clock)?;
    phase("build");
    let checkpoint = store.checkpoint_in_background();
    let plans = plan(config, store, date)?;
    check_can_send(config, store, &plans)?;
    let knowledge = learn(config, store)?;
    // No items at all is no error here: every edition is then empty.
    let pools = pools(config, store, &knowledge, &plans)?;
    for plan in &plans {
        let id = plan.newsletter.id.as_str();
        for day in &plan.days {
            if *day < date {
                say!("{id:<16} catching up: the edition due {day} was not made on its day");
            }
            publish(
                config,
                store,
                plan.newsletter,
                &pools[day],
                &knowledge,
                *day,
                clock,
            )?;
            store.set_schedule_handled(id, *day)?;
        }
        for draft in &plan.drafts {
            refresh_draft(
                config,
                store,
                plan.newsletter,
                draft,
                &pools[&draft.date],
                &knowledge,
                clock,
            )?;
        }
        if plan.days.is_empty() && plan.drafts.is_empty() {
            say!("{id:<16} not due on {date}");
        }
    }
    complete_missing_files(config, store)?;
    write_archive(config, store)?;
    phase("send");
    let delivered = send_unsent(config, store, date, clock)?;
    phase("done");
    let _ = checkpoint.join(); // it only copies pages; whatever it left, closing does
    Ok(Ran { reports, delivered })
}

/// What `run` does for one newsletter.
struct Plan<'a> {
    newsletter: &'a Newsletter,
    /// Schedule days due, oldest first: missed ones, then `date` itself
    /// (also when its edition exists: its files are then written again).
    days: Vec<NaiveDate>,
    /// Drafts of other days, waiting for approval: rebuilt.
    drafts: Vec<EditionRecord>,
}

/// Each newsletter's plan for a run on `date`.
fn plan<'a>(config: &'a Config, store: &Store, date: NaiveDate) -> Result<Vec<Plan<'a>>> {
    let mut plans = Vec::new();
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        let editions = store.editions(Some(id))?;
        let last = editions
            .iter()
            .map(|e| e.date)
            .chain(store.schedule_handled(id)?)
            .max();
        let mut days = due_days(newsletter.schedule, date, last);
        if editions.iter().any(|e| e.date == date) && !days.contains(&date) {
            days.push(date);
        }
        let drafts = editions
            .into_iter()
            .filter(|e| e.state == EditionState::Draft && !days.contains(&e.date))
            .collect();
        plans.push(Plan {
            newsletter,
            days,
            drafts,
        });
    }
    Ok(plans)
}

/// With `approval = "auto"` a new edition is mailed as soon as it is
/// published: when it cannot be (no signing key in the environment, the
/// SMTP server unreachable) and it has subscribers, `run` fails before
/// publishing anything, rather than publish an edition nobody gets.
fn check_can_send(config: &Config, store: &Store, plans: &[Plan]) -> Result<()> {
    let Some(mail) = &config.mail else {
        return Ok(());
    };
    let mut publishing = Vec::new();
    for plan in plans.iter().filter(|p| p.newsletter.approval == Approval::Auto) {
        let id = plan.newsletter.id.as_str();
        for day in &plan.days {
            if store.edition_on(id, *day)?.is_none() && store.recipient_count(id)? > 0 {
                publishing.push(id);
            }
        }
    }
    if publishing.is_empty() {
        return Ok(());
    }
    crate::mail::check_ready(mail).with_context(|| {
        format!(
            "nothing was published: {} would be mailed as soon as published (approval = \"auto\")",
            publishing.join(", ")
        )
    })
}

/// The candidate items of each day the plans build for.
fn pools(
    config: &Config,
    store: &Store,
    knowledge: &Knowledge,
    plans: &[Plan],
) -> Result<BTreeMap<NaiveDate, Vec<Classified>>> {
    let days: BTreeSet<NaiveDate> = plans
        .iter()
        .flat_map(|p| p.days.iter().copied().chain(p.drafts.iter().map(|d| d.date)))
        .collect();
    let mut pools = BTreeMap::new();
    for day in days {
        let newsletters: Vec<&Newsletter> = plans
            .iter()
            .filter(|p| p.days.contains(&day) || p.drafts.iter().any(|d| d.date == day))
            .map(|p| p.newsletter)
            .collect();
        pools.insert(day, candidates(config, store, knowledge, &newsletters, day)?);
    }
    Ok(pools)
}

/// The stored items an edition of `newsletters` on `date` can take: placed
/// in one of them (or kept out of one by a lasting rule), and due in its window. The others, most of a store that
/// has seen months of feeds, are not kept; those outside the widest window
/// are not even classified.
pub(super) fn candidates(
    config: &Config,
    store: &Store,
    knowledge: &Knowledge,
    newsletters: &[&Newsletter],
    date: NaiveDate,
) -> Result<Vec<Classified>> {
    let Some(widest) = newsletters.iter().map(|n| n.window_days).max() else {
        return Ok(Vec::new());
    };
    let classifier = knowledge.classifier(config);
    // Kept out by a lasting rule is wanted too: its story stays out with it.
    let wanted = |classified: &Classified| {
        classified
            .verdicts
            .iter()
            .filter(|v| v.section.is_some() || v.kept_out)
            .any(|verdict| {
                newsletters
                    .iter()
                    .any(|n| n.id == verdict.newsletter && is_due(&classified.item, n.window_days, date))
            })
    };
    Ok(items_with(store, |item| {
        is_due(&item, widest, date)
            .then(|| classifier.classify(item))
            .filter(wanted)
    })?)
}

/// A newsletter's next edition, by the one rule `build`, `run` and the
/// preview share: the edition the store records, restored as it was
/// recorded; or, when there is none, one assembled from the candidate
/// items no earlier edition carried, with the tenders of earlier editions
/// still open.
pub(crate) enum Next {
    /// The edition the store records, and its items as placed.
    Recorded(EditionRecord, Vec<Placed>),
    /// None recorded: what a new one leaves out and lists again.
    New {
        /// Items an earlier edition carried, never carried again.
        published: HashSet<String>,
        /// Earlier editions' tenders still open on the day, listed again.
        still_open: Vec<Placed>,
    },
}

impl Next {
    /// The next edition of newsletter `id` on `date`: the `recorded` one,
    /// or a new one with what the store says it leaves out and lists again.
    pub(crate) fn of(
        store: &Store,
        id: &str,
        recorded: Option<(EditionRecord, Vec<Placed>)>,
        date: NaiveDate,
    ) -> Result<Next> {
        Ok(match recorded {
            Some((record, placed)) => Next::Recorded(record, placed),
            None => Next::New {
                published: store.published_items(id, None)?,
                still_open: store.still_open(id, date)?,
            },
        })
    }

    /// The edition: the recorded one restored (its own number and date), or
    /// edition `number` assembled for `date` from the candidate `items`.
    pub(crate) fn edition<'a>(
        &'a self,
        newsletter: &'a Newsletter,
        items: &'a [Classified],
        date: NaiveDate,
        number: u32,
    ) -> Edition<'a> {
        match self {
            Next::Recorded(record, placed) => restore_recorded(newsletter, record, placed),
            Next::New {
                published,
                still_open,
            } => assemble(newsletter, items, date, number, published).with_still_open(still_open),
        }
    }

    /// The recorded edition's record, if there is one.
    pub(crate) fn record(&self) -> Option<&EditionRecord> {
        match self {
            Next::Recorded(record, _) => Some(record),
            Next::New { .. } => None,
        }
    }

    /// The recorded edition's record, taken.
    pub(crate) fn into_record(self) -> Option<EditionRecord> {
        match self {
            Next::Recorded(record, _) => Some(record),
            Next::New { .. } => None,
        }
    }
}

/// Publishes (or re-renders) one newsletter's edition for `date`: a draft
/// when the newsletter requires approval. A draft recorded already is
/// rebuilt; an approved edition is written again from its record.
fn publish(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    items: &[Classified],
    knowledge: &Knowledge,
    date: NaiveDate,
    clock: Clock,
) -> Result<()> {
    let id = newsletter.id.as_str();
    let next = Next::of(store, id, store.edition_on(id, date)?, date)?;
    if let Some(record) = next.record() {
        match record.state {
            EditionState::Draft => {
                return refresh_draft(config, store, newsletter, record, items, knowledge, clock);
            }
            EditionState::Skipped => {
                say!(
                    "{id:<16} No. {:<3} skipped: no edition of {date}, nothing mailed",
                    record.number
                );
                return Ok(());
            }
            EditionState::Approved => {}
        }
        let out = config.out_dir();
        let missing = !(out.join(&record.html_path).exists() && out.join(&record.text_path).exists());
        // Written again either way (the same bytes), but only a missing file is news.
        write_edition(config, &next.edition(newsletter, items, date, record.number))?;
        say!(
            "{id:<16} No. {:<3} {:>9}, already published{}",
            record.number,
            count(record.items, "item"),
            if missing {
                "; its missing files written again"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let edition = next.edition(newsletter, items, date, 0);
    if edition.is_empty() && newsletter.empty == Empty::Skip {
        say!("{id:<16} nothing new: no edition, nothing mailed (empty = \"skip\")");
        return Ok(());
    }
    record_new(config, store, edition, clock)
}

/// Records a new edition (its number given by the store), then writes its
/// files: a draft's out of the archive, an approved one's into it.
fn record_new(config: &Config, store: &mut Store, mut edition: Edition, clock: Clock) -> Result<()> {
    let (id, date, newsletter) = (edition.newsletter.id.as_str(), edition.date, edition.newsletter);
    let (html, text) = paths(id, date);
    let state = match newsletter.approval {
        Approval::Required => EditionState::Draft,
        Approval::Auto => EditionState::Approved,
    };
    edition.number = store.record_edition(
        id,
        date,
        &edition.placed(),
        &EditionPaths {
            html: &html,
            text: &text,
        },
        state,
        clock.now,
    )?;
    let overflow: usize = edition.sections.iter().map(|s| s.overflow).sum();
    let overflow = if overflow > 0 {
        format!(" ({overflow} more over the section limits)")
    } else {
        String::new()
    };
    let written = if state == EditionState::Draft {
        write_draft(config, &edition)?
    } else {
        write_edition(config, &edition)?;
        config.out_dir().join(&html)
    };
    let still_open = match edition.still_open_count() {
        0 => String::new(),
        n => format!(" and {n} still open"),
    };
    say!(
        "{id:<16} No. {:<3} {:>9}{still_open}{overflow}{} → {}",
        edition.number,
        count(edition.item_count(), "item"),
        if state == EditionState::Draft {
            ", a draft"
        } else {
            ""
        },
        written.display()
    );
    if state == EditionState::Draft {
        waiting(id, edition.number)?;
    }
    Ok(())
}

/// Rebuilds a draft from the candidate `items` (as they are in the store
/// now) and the editor's corrections, records it and writes its files.
/// The one way a draft changes: `build`, `run` and `edit` all come here.
///
/// A reviewed draft changes only for a reason the editor can see: the items
/// it placed stay where they were (with their content as stored now), new
/// candidates join at their section's end, and an item leaves only when it
/// is gone from the store, no longer due, carried by another edition or kept
/// out by a lasting rule. What left or joined is recorded with why, for
/// `editions show` and the review page.
pub(super) fn refresh_draft(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    record: &EditionRecord,
    items: &[Classified],
    knowledge: &Knowledge,
    clock: Clock,
) -> Result<()> {
    let id = newsletter.id.as_str();
    let published = store.published_items(id, Some(record.number))?;
    let fresh = assemble(newsletter, items, record.date, record.number, &published).placed();
    let corrections: Vec<_> = store
        .corrections(id, record.number)?
        .into_iter()
        .map(|c| c.correction)
        .collect();
    let mut added = BTreeMap::new();
    for item in corrections
        .iter()
        .filter(|c| matches!(c, Correction::Add { .. }))
        .filter_map(|c| c.item())
    {
        if let Some(stored) = store.item(item)? {
            let section = items
                .iter()
                .find(|c| c.item.id == item)
                .and_then(|c| c.section_in(id))
                .map(str::to_string);
            added.insert(item.to_string(), (stored, section));
        }
    }
    let before: Vec<Placed> = store
        .edition_numbered(id, record.number)?
        .map(|(_, placed)| placed)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.still_open && !added.contains_key(&p.item.id))
        .collect();
    let settled = Settled {
        config,
        store,
        newsletter,
        record,
        published: &published,
        knowledge,
        left: store.left_draft(id, record.number)?,
        skipped: store.skipped_since(id, record.built_at)?,
        now: clock.now,
    };
    let (kept, mut changes) = settled.keep(before.clone(), &fresh)?;
    // What the editor dropped by hand is in the corrections, not a change.
    changes.retain(|c| !corrections.contains(&Correction::Drop { item: c.item.clone() }));
    let was: HashSet<&str> = before.iter().map(|p| p.item.id.as_str()).collect();
    let mut joining = BTreeMap::new();
    for placed in fresh.iter().filter(|p| !was.contains(p.item.id.as_str())) {
        if let Some(reason) = settled.joins(items, &placed.item.id)? {
            joining.insert(placed.item.id.clone(), (placed.clone(), reason));
        }
    }
    let (placed, intro) = correct(
        newsletter,
        keep(
            newsletter,
            kept,
            joining.values().map(|(p, _)| p.clone()).collect(),
        ),
        &corrections,
        |item| added.get(item).cloned(),
    );
    changes.extend(placed.iter().filter_map(|p| {
        let (_, reason) = joining.get(&p.item.id)?;
        Some(DraftChange {
            item: p.item.id.clone(),
            title: p.item.title.clone(),
            change: Change::Joined,
            reason: reason.clone(),
            at: clock.now,
        })
    }));
    store.replace_draft(id, record.number, &placed, intro.as_deref(), clock.now)?;
    store.record_changes(id, record.number, &changes)?;
    let shown = [placed, store.still_open(id, record.date)?].concat();
    let edition = restore(newsletter, record.number, record.date, &shown, intro.as_deref());
    let written = write_draft(config, &edition)?;
    say!(
        "{id:<16} No. {:<3} {:>9}, a draft{} → {}",
        record.number,
        count(edition.item_count(), "item"),
        match corrections.len() {
            0 => String::new(),
            n => format!(" with {}", count(n, "correction")),
        },
        written.display()
    );
    for change in &changes {
        say!(
            "{:<16} {} {}: {} ({})",
            "",
            change.change.as_str(),
            change.item,
            change.title,
            change.reason
        );
    }
    waiting(id, record.number)
}

/// What decides whether an item a draft placed stays in it.
struct Settled<'a> {
    config: &'a Config,
    store: &'a Store,
    newsletter: &'a Newsletter,
    record: &'a EditionRecord,
    published: &'a HashSet<String>,
    knowledge: &'a Knowledge,
    /// The items that once left this draft.
    left: HashSet<String>,
    /// The items of a draft skipped since this one was built, with its number.
    skipped: HashMap<String, u32>,
    now: chrono::DateTime<chrono::Utc>,
}

impl Settled<'_> {
    /// The items of `before` that stay, in their places, with their content
    /// as `fresh` (or the store) has it now; and those that leave, with why.
    fn keep(&self, before: Vec<Placed>, fresh: &[Placed]) -> Result<(Vec<Placed>, Vec<DraftChange>)> {
        let mut kept = Vec::with_capacity(before.len());
        let mut left = Vec::new();
        for mut placed in before {
            if let Some(now) = fresh.iter().find(|f| f.item.id == placed.item.id) {
                placed.item = now.item.clone();
                kept.push(placed);
                continue;
            }
            match self.leaves(&placed.item.id)? {
                Ok(item) => {
                    placed.item = item;
                    kept.push(placed);
                }
                Err(reason) => left.push(DraftChange {
                    item: placed.item.id.clone(),
                    title: placed.item.title.clone(),
                    change: Change::Left,
                    reason,
                    at: self.now,
                }),
            }
        }
        Ok((kept, left))
    }

    /// Why a candidate the draft did not place joins it, if it does: a
    /// lasting rule placed it, it is new to the store since the draft was
    /// last built, or it left the draft before and what kept it out no
    /// longer does. An item the classifier merely scores anew (the model
    /// learned from another edition) does not join.
    fn joins(&self, items: &[Classified], item: &str) -> Result<Option<String>> {
        let id = self.newsletter.id.as_str();
        let ruled = items
            .iter()
            .find(|c| c.item.id == item)
            .and_then(|c| c.verdicts.iter().find(|v| v.newsletter == id))
            .and_then(|v| v.reasons.iter().find(|r| r.starts_with("placed by rule")));
        if let Some(reason) = ruled {
            return Ok(Some(reason.clone()));
        }
        if let Some(seen) = self.store.first_seen(item)?.filter(|t| *t > self.record.built_at) {
            return Ok(Some(format!(
                "new: first seen {}",
                seen.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        if let Some(number) = self.skipped.get(item) {
            return Ok(Some(format!("back in the pool: No. {number} was skipped")));
        }
        if self.left.contains(item) {
            return Ok(Some("back: what kept it out no longer does".to_string()));
        }
        Ok(None)
    }

    /// The item as stored now, or the reason it leaves the draft.
    fn leaves(&self, item: &str) -> Result<std::result::Result<Item, String>> {
        let id = self.newsletter.id.as_str();
        let date = self.record.date;
        let Some(item) = self.store.item(item)? else {
            return Ok(Err("no longer in the store".to_string()));
        };
        if self.published.contains(&item.id) {
            return Ok(Err(format!("carried by another edition of {id}")));
        }
        if !is_due(&item, self.newsletter.window_days, date) {
            return Ok(Err(format!(
                "no longer due on {date} (its date or deadline changed at the source)"
            )));
        }
        let classified = self.knowledge.classifier(self.config).classify(item);
        let ruled = classified
            .verdicts
            .iter()
            .filter(|v| v.newsletter == id && v.section.is_none())
            .flat_map(|v| &v.reasons)
            .find(|r| r.starts_with("kept out by rule"))
            .cloned();
        Ok(match ruled {
            Some(reason) => Err(reason),
            None => Ok(classified.item),
        })
    }
}

/// What a draft waits for, and the commands that give it.
fn waiting(id: &str, number: u32) -> Result<()> {
    say!(
        "{:<16} waiting for approval: review it with `bulletin editions show --newsletter {id}`, \
         then `bulletin approve --newsletter {id} --edition {number}`",
        ""
    );
    Ok(())
}

/// Gmail shows "[Message clipped]" past about this many bytes of HTML.
const GMAIL_CLIPS_AT: usize = 100 * 1024;

/// Output paths of an edition, relative to the output folder.
fn paths(newsletter: &str, date: NaiveDate) -> (String, String) {
    (
        format!("archive/{newsletter}/{date}.html"),
        format!("archive/{newsletter}/{date}.txt"),
    )
}

/// Where a draft's files go, relative to the output folder: out of the
/// archive, so no archive page, feed or "view in browser" link reaches one.
pub(crate) fn draft_paths(newsletter: &str, date: NaiveDate) -> (String, String) {
    (
        format!("drafts/{newsletter}/{date}.html"),
        format!("drafts/{newsletter}/{date}.txt"),
    )
}

/// Writes a draft's files; returns the HTML's path.
pub(super) fn write_draft(config: &Config, edition: &Edition) -> Result<std::path::PathBuf> {
    let (html, text) = draft_paths(edition.newsletter.id.as_str(), edition.date);
    write_files(config, edition, &html, &text)?;
    Ok(config.out_dir().join(html))
}

/// Writes an approved edition's files into the archive.
pub(super) fn write_edition(config: &Config, edition: &Edition) -> Result<()> {
    let (html, text) = paths(edition.newsletter.id.as_str(), edition.date);
    write_files(config, edition, &html, &text)
}

fn write_files(config: &Config, edition: &Edition, html: &str, text: &str) -> Result<()> {
    let rendered = render_edition(edition, &config.site, Reader::Web).context("rendering an edition")?;
    if rendered.html.len() > GMAIL_CLIPS_AT {
        warning!(
            "warning: {} No. {} is {} KB of HTML; Gmail clips messages past about 100 KB (lower the section limits)",
            edition.newsletter.id.as_str(),
            edition.number,
            rendered.html.len() / 1024
        );
    }
    let out = config.out_dir();
    write_atomically(&out.join(html), &rendered.html)?;
    write_atomically(&out.join(text), &rendered.text)
}

/// [`restore`] of an edition as the store records it: its number, date
/// and introduction from `record`.
pub(super) fn restore_recorded<'a>(
    newsletter: &'a Newsletter,
    record: &'a EditionRecord,
    placed: &'a [Placed],
) -> Edition<'a> {
    restore(
        newsletter,
        record.number,
        record.date,
        placed,
        record.intro.as_deref(),
    )
}

/// Re-renders approved editions whose files a killed run (or `approve`)
/// never wrote.
fn complete_missing_files(config: &Config, store: &Store) -> Result<()> {
    let out = config.out_dir();
    for record in store.editions(None)? {
        let written = out.join(&record.html_path).exists() && out.join(&record.text_path).exists();
        if written || record.state != EditionState::Approved {
            continue;
        }
        let Ok(newsletter) = config.newsletter(&record.newsletter) else {
            continue;
        };
        if let Some((record, placed)) = store.edition_on(&record.newsletter, record.date)? {
            let edition = restore_recorded(newsletter, &record, &placed);
            write_edition(config, &edition)?;
            warning!(
                "note: wrote the missing files of {} No. {}",
                record.newsletter,
                record.number
            );
        }
    }
    Ok(())
}

/// Writes through a temporary file and a rename, so a reader (or a killed
/// run) never sees half a file.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let folder = path.parent().context("an output path has a folder")?;
    fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temporary, contents).with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

/// The archive under `out/archive/` (absolute links: an index, an index
/// and an Atom feed per newsletter) and `out/index.html` (relative links, for
/// a look on disk), from every approved edition: never a draft.
pub(super) fn write_archive(config: &Config, store: &Store) -> Result<()> {
    let out = config.out_dir();
    let base = format!("{}/", config.site.base());
    let mut editions = store.editions(None)?;
    editions.retain(|e| e.state == EditionState::Approved);
    let mut absolute = Vec::new();
    let mut relative = Vec::new();
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        let records: Vec<&EditionRecord> = editions.iter().filter(|e| e.newsletter == *id).collect();
        let group = |prefix: &str, link: Option<String>, feed: Option<String>| ArchiveGroup {
            title: newsletter.title.clone(),
            description: newsletter.description.clone(),
            link,
            feed,
            editions: records
                .iter()
                .map(|e| ArchiveEntry {
                    number: e.number,
                    date: e.date.format(&config.site.date_format).to_string(),
                    items: e.items,
                    html: format!("{prefix}{}", e.html_path),
                    text: format!("{prefix}{}", e.text_path),
                })
                .collect(),
        };
        let (page, feed) = (
            format!("{base}archive/{id}/"),
            format!("{base}archive/{id}/feed.xml"),
        );
        let own = group(&base, None, Some(feed.clone()));
        let html = render_archive_page(&config.site, &newsletter.title, std::slice::from_ref(&own))
            .context("rendering an archive page")?;
        write_atomically(&out.join(format!("archive/{id}/index.html")), &html)?;
        let entries = feed_entries(config, store, &base, &records)?;
        let atom = render_atom(
            &config.site,
            &FeedHead {
                title: &newsletter.title,
                description: &newsletter.description,
                self_url: &feed,
                page_url: &page,
            },
            &entries,
            "1970-01-01T00:00:00+00:00",
        )
        .context("rendering an Atom feed")?;
        write_atomically(&out.join(format!("archive/{id}/feed.xml")), &atom)?;
        absolute.push(group(&base, Some(page), Some(feed)));
        relative.push(group("", Some(format!("archive/{id}/index.html")), None));
    }
    let heading = "Newsletters";
    write_atomically(
        &out.join("archive/index.html"),
        &render_archive_page(&config.site, heading, &absolute).context("rendering the archive")?,
    )?;
    let index = out.join("index.html");
    write_atomically(
        &index,
        &render_archive_page(&config.site, heading, &relative).context("rendering the index")?,
    )?;
    say!("index            → {}", index.display());
    Ok(())
}

/// An Atom entry per edition: its title, page, time, and first items.
fn feed_entries(
    config: &Config,
    store: &Store,
    base: &str,
    records: &[&EditionRecord],
) -> Result<Vec<FeedEntry>> {
    records
        .iter()
        .map(|record| {
            let titles = match store.edition_on(&record.newsletter, record.date)? {
                Some((_, placed)) => placed
                    .iter()
                    .take(3)
                    .map(|p| p.item.title.as_str())
                    .collect::<Vec<_>>()
                    .join(" · "),
                None => String::new(),
            };
            let newsletter = config
                .newsletter(&record.newsletter)
                .map_or(record.newsletter.as_str(), |n| n.title.as_str());
            Ok(FeedEntry {
                title: format!(
                    "{newsletter} No. {} — {}",
                    record.number,
                    record.date.format(&config.site.date_format)
                ),
                url: format!("{base}{}", record.html_path),
                updated: record.built_at.to_rfc3339(),
                summary: titles,
            })
        })
        .collect()
}
