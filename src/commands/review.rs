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

use super::{Clock, Exit, Format};
use crate::config::Config;
use crate::domain::{Correction, Placed};
use crate::items::for_terminal;
use crate::render::japanese_only;
use crate::store::{EditionRecord, EditionState, Store};
use crate::workflow::{self, describe_logged, draft_paths};

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

/// `bulletin schedule`: an edition's send not before a local time
/// (`--not-before`, in `--zone` or `site.time_zone`), or its schedule
/// cleared (`--clear`), by `by`.
pub fn schedule(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    not_before: Option<&str>,
    zone: Option<&str>,
    by: &str,
    clock: Clock,
) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    let asked = match not_before {
        Some(when) => workflow::Schedule::At { when, zone },
        None => workflow::Schedule::Clear,
    };
    workflow::schedule(config, newsletter, number, asked, by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin unapprove`: an approved edition made a draft again, before
/// its send has begun.
pub fn unapprove(config: &Config, newsletter: &str, number: u32, by: &str, clock: Clock) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    workflow::unapprove(config, newsletter, number, by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin skip`: a draft discarded, never sent; its items go back to the pool.
pub fn skip(config: &Config, newsletter: &str, number: u32, by: &str, clock: Clock) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    workflow::skip(config, newsletter, number, by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin editions show`: an edition's items as placed (section,
/// place, id, title) and the corrections made to it, with who and when.
/// `--format json`: the same as one object, with the last run recorded
/// (`last_run`), for monitoring.
///
/// A draft lists too what left or joined it on a rebuild since an editor
/// last looked, with why; showing it is that look.
pub fn show(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    format: Format,
    clock: Clock,
) -> Result<Exit> {
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
    if format == Format::Json {
        return show_json(config, &store, &record, &placed);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{id} No. {} of {}: {}",
        record.number,
        record.date,
        workflow::state_line(&store, &record)?
    )?;
    let html = match record.state {
        EditionState::Draft => Some(draft_paths(id, record.date).0),
        EditionState::Approved => Some(record.html_path.clone()),
        EditionState::Skipped => None,
    };
    if let Some(html) = html {
        writeln!(out, "  {}", config.out_dir().join(html).display())?;
    }
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
            let flag = if japanese_only(&p.item) { JAPANESE_ONLY } else { "" };
            writeln!(
                out,
                "  {:>2}. {}  {}{how}{flag}",
                i + 1,
                p.item.id,
                for_terminal(&p.item.title)
            )?;
        }
    }
    let japanese = placed.iter().filter(|p| japanese_only(&p.item)).count();
    if japanese > 0 {
        let (these, them) = match japanese {
            1 => ("1 item is".to_string(), "it"),
            n => (format!("{n} items are"), "them"),
        };
        writeln!(
            out,
            "\n{these} in Japanese only, title and summary ({}): readers of this English newsletter may not read {them}",
            JAPANESE_ONLY.trim()
        )?;
    }
    let log = store.log(id, record.number)?;
    if !log.is_empty() {
        writeln!(out, "\nCorrections")?;
    }
    for line in &log {
        writeln!(
            out,
            "  {}  {:<10} {}",
            line.at.format("%Y-%m-%d %H:%M UTC"),
            for_terminal(&line.author),
            for_terminal(&describe_logged(&line.entry))
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

/// The mark of an item in Japanese only, title and summary.
const JAPANESE_ONLY: &str = "  [Japanese only]";

/// `editions show --format json`.
fn show_json(config: &Config, store: &Store, record: &EditionRecord, placed: &[Placed]) -> Result<Exit> {
    let id = record.newsletter.as_str();
    let html = match record.state {
        EditionState::Draft => Some(draft_paths(id, record.date).0),
        EditionState::Approved => Some(record.html_path.clone()),
        EditionState::Skipped => None,
    };
    let items: Vec<_> = placed
        .iter()
        .map(|p| {
            serde_json::json!({
                "section": p.section,
                "id": p.item.id,
                "title": p.item.title,
                "featured": p.featured,
                "still_open": p.still_open,
                "japanese_only": japanese_only(&p.item),
            })
        })
        .collect();
    let corrections: Vec<_> = store
        .log(id, record.number)?
        .iter()
        .map(|l| serde_json::json!({"at": l.at, "by": l.author, "correction": describe_logged(&l.entry)}))
        .collect();
    // Monitoring reads the changes without being an editor's look.
    let changes: Vec<_> = match record.state {
        EditionState::Draft => store.unseen_changes(id, record.number)?.0,
        _ => Vec::new(),
    }
    .iter()
    .map(|c| serde_json::json!({"at": c.at, "change": c.change.as_str(), "item": c.item, "title": c.title, "reason": c.reason}))
    .collect();
    let shown = serde_json::json!({
        "newsletter": id,
        "number": record.number,
        "date": record.date,
        "state": record.state,
        "status": workflow::state_line(store, record)?,
        "html": html.map(|h| config.out_dir().join(h)),
        "intro": record.intro,
        "items": items,
        "corrections": corrections,
        "changes_since_looked": changes,
        "last_run": workflow::last_run(store)?,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &shown)?;
    writeln!(out)?;
    Ok(Exit::Ok)
}

/// `bulletin status`: the last run first (how it ended, what it left
/// undone), the problems open, then per newsletter the last edition and
/// where it stands, the next due date, and what waits for a person. Meant
/// to be mailed to the editors each morning by the same cron job as `run`;
/// `--format json` for monitoring (its `last_run` object: `started`,
/// `finished`, `outcome`, `errors`).
pub fn status(config: &Config, today: NaiveDate, format: Format, clock: Clock) -> Result<Exit> {
    let store = Store::open_read_only(&config.store_path())?;
    let health = workflow::health(config, &store, today, clock.now)?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => write!(out, "{}", health.text())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &health)?;
            writeln!(out)?;
        }
    }
    Ok(Exit::Ok)
}
