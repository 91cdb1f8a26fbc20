//! The editor's gate: `bulletin edit` (corrections to a draft),
//! `bulletin approve`, `bulletin editions show` and `bulletin status`.
//!
//! A correction and an approval are each one operation of the workflow
//! ([`workflow::correct`], [`workflow::approve_edition`]), which the
//! preview's review page calls too.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;

use super::{Clock, Exit};
use crate::config::Config;
use crate::domain::Correction;
use crate::editions::{due_days, next_due};
use crate::items::for_terminal;
use crate::store::{EditionRecord, EditionState, Store};
use crate::workflow::{self, count, describe, draft_paths};

/// `bulletin edit --newsletter ID …`: one correction to a draft.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Edit {
    /// Leave an item out of this edition and the newsletter's later ones (a `never` rule `bulletin rules` lists; `add` takes it back).
    Drop {
        /// The item's id, as `bulletin items` and `bulletin editions show` print it.
        item: String,
    },
    /// Add any stored item, at the end of a section.
    Add {
        item: String,
        /// The section's id; default the one the item is classified to.
        #[arg(long)]
        section: Option<String>,
    },
    /// Move an item to a section, at a position.
    Move {
        item: String,
        #[arg(long)]
        section: String,
        /// 1 = first in the section; default the end.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        position: Option<u32>,
    },
    /// Change an item's title in this edition.
    Retitle { item: String, text: String },
    /// Change an item's one-line teaser (shown under "More") in this edition.
    Teaser { item: String, text: String },
    /// The editor's introduction, from a Markdown file, at the top of the edition; an empty file removes it.
    Intro { file: PathBuf },
}

impl Edit {
    fn correction(self) -> Result<Correction> {
        Ok(match self {
            Edit::Drop { item } => Correction::Drop { item },
            Edit::Add { item, section } => Correction::Add { item, section },
            Edit::Move {
                item,
                section,
                position,
            } => Correction::Move {
                item,
                section,
                position: position.map(|p| p as usize),
            },
            Edit::Retitle { item, text } => Correction::Retitle {
                item,
                title: crate::items::clean_text(&text),
            },
            Edit::Teaser { item, text } => Correction::Teaser {
                item,
                teaser: crate::items::clean_text(&text),
            },
            Edit::Intro { file } => Correction::Intro {
                markdown: std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the introduction {}", file.display()))?,
            },
        })
    }
}

/// `bulletin edit`: records the correction with who and when, then
/// rebuilds the draft with it.
pub fn edit(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    edit: Edit,
    by: &str,
    clock: Clock,
) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    let correction = edit.correction()?;
    workflow::edit(config, newsletter, number, &correction, by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin approve`: freezes a draft and writes it into the archive.
pub fn approve(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    by: &str,
    clock: Clock,
) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    workflow::approve(config, newsletter, number, by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin editions show`: an edition's items as placed (section,
/// place, id, title) and the corrections made to it, with who and when.
///
/// A draft lists too what left or joined it on a rebuild since an editor
/// last looked, with why; showing it is that look.
pub fn show(config: &Config, newsletter: &str, number: Option<u32>, clock: Clock) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    let id = newsletter.id.as_str();
    let store = Store::open_read_only(&config.store_path())?;
    let found = match number {
        Some(n) => store.edition_numbered(id, n)?,
        None => match store.editions(Some(id))?.into_iter().max_by_key(|e| e.number) {
            Some(latest) => store.edition_numbered(id, latest.number)?,
            None => None,
        },
    };
    let Some((record, placed)) = found else {
        bail!("{id} has no such edition; see `bulletin editions --newsletter {id}`");
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{id} No. {} of {}: {}",
        record.number,
        record.date,
        state_line(&store, &record)?
    )?;
    let (html, _) = match record.state {
        EditionState::Draft => draft_paths(id, record.date),
        EditionState::Approved => (record.html_path.clone(), record.text_path.clone()),
    };
    writeln!(out, "  {}", config.out_dir().join(html).display())?;
    if let Some(intro) = record.intro.as_deref() {
        let first = intro.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        writeln!(out, "\nIntroduction: {}", for_terminal(first))?;
    }
    for section in &newsletter.sections {
        let mine: Vec<_> = placed.iter().filter(|p| p.section == section.id).collect();
        if mine.is_empty() {
            continue;
        }
        writeln!(out, "\n{} ({})", section.title, section.id)?;
        for (i, p) in mine.iter().enumerate() {
            let how = if p.featured { "" } else { " (more)" };
            writeln!(
                out,
                "  {:>2}. {}  {}{how}",
                i + 1,
                p.item.id,
                for_terminal(&p.item.title)
            )?;
        }
    }
    let corrections = store.corrections(id, record.number)?;
    if !corrections.is_empty() {
        writeln!(out, "\nCorrections")?;
    }
    for c in &corrections {
        writeln!(
            out,
            "  {}  {:<10} {}",
            c.at.format("%Y-%m-%d %H:%M UTC"),
            for_terminal(&c.author),
            for_terminal(&describe(&c.correction))
        )?;
    }
    if record.state == EditionState::Draft {
        let (changes, looked) = store.unseen_changes(id, record.number)?;
        if !changes.is_empty() {
            writeln!(out, "\n{}", workflow::changes_heading(looked))?;
        }
        for c in &changes {
            writeln!(
                out,
                "  {}  {:<6} {}  {}: {}",
                c.at.format("%Y-%m-%d %H:%M UTC"),
                c.change.as_str(),
                c.item,
                for_terminal(&c.title),
                for_terminal(&c.reason)
            )?;
        }
        drop(store);
        workflow::looked(config, id, record.number, clock);
    }
    Ok(Exit::Ok)
}

/// Where an edition stands: draft, approved, sending or sent, with counts.
fn state_line(store: &Store, record: &EditionRecord) -> Result<String> {
    let items = count(record.items, "item");
    if record.state == EditionState::Draft {
        return Ok(format!(
            "draft, {items}, last rebuilt {}",
            record.built_at.format("%Y-%m-%d %H:%M UTC")
        ));
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
        (None, true) => format!("{approved}, {items}, not sent"),
        (None, false) => format!("sending: {counts_text}, {items} ({approved})"),
    })
}

/// `bulletin status`: per newsletter, the last edition and where it
/// stands, the next due date, and what waits for a person. Meant to be
/// mailed to the editors each morning by the same cron job as `run`.
pub fn status(config: &Config, today: NaiveDate) -> Result<Exit> {
    let store = Store::open_read_only(&config.store_path())?;
    let mut out = std::io::stdout().lock();
    let mut waiting = Vec::new();
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        let editions = store.editions(Some(id))?;
        let last_day = editions
            .iter()
            .map(|e| e.date)
            .chain(store.schedule_handled(id)?)
            .max();
        let last = editions.iter().max_by_key(|e| e.number);
        let described = match last {
            Some(e) => format!("No. {} of {}: {}", e.number, e.date, state_line(&store, e)?),
            None => "no edition yet".to_string(),
        };
        let missed = due_days(newsletter.schedule, today, last_day);
        let next = match missed.first() {
            Some(day) if *day < today => format!("overdue since {day}"),
            Some(day) => day.to_string(),
            None => next_due(newsletter.schedule, today, last_day)
                .map_or_else(|| "none".into(), |d| d.to_string()),
        };
        writeln!(out, "{id:<16} {described}")?;
        writeln!(out, "{:<16} next due: {next}", "")?;
        if missed.first().is_some_and(|d| *d < today) {
            waiting.push(format!(
                "{id}: the edition due {} was not made; the next `bulletin run` catches up",
                missed[0]
            ));
        }
        for e in editions.iter().rev() {
            waiting.extend(waits_for(config, &store, e)?);
        }
    }
    writeln!(out)?;
    if waiting.is_empty() {
        writeln!(out, "Nothing waits for a person.")?;
    } else {
        writeln!(out, "Waiting:")?;
        for line in &waiting {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(Exit::Ok)
}

/// What an edition waits for, if anything: approval, or a send to finish.
fn waits_for(config: &Config, store: &Store, e: &EditionRecord) -> Result<Option<String>> {
    let id = e.newsletter.as_str();
    if e.state == EditionState::Draft {
        let (number, date) = (e.number, e.date);
        return Ok(Some(format!(
            "{id} No. {number} ({date}) is a draft waiting for approval: `bulletin editions show \
             --newsletter {id} --edition {number}`, then `bulletin approve --newsletter {id} --edition {number}`"
        )));
    }
    // Without a [mail] section nothing is ever sent: nobody waits for it.
    if e.sent_at.is_some() || config.mail.is_none() {
        return Ok(None);
    }
    let deferred = store
        .delivery_counts(id, e.number)?
        .into_iter()
        .find(|(status, _)| status == "deferred")
        .map_or(0, |(_, n)| n);
    Ok(Some(match deferred {
        0 => format!(
            "{id} No. {} is approved, not sent yet: the next `bulletin run` sends it",
            e.number
        ),
        n => format!(
            "{id} No. {}: {} deferred; the next `bulletin run` tries them again",
            e.number,
            count(n, "message")
        ),
    }))
}
