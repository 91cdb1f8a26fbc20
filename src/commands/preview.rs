//! `bulletin preview`: the next edition of every newsletter, served on
//! 127.0.0.1 as readers will see it ([`crate::web::preview`]), with the
//! review page's corrections and approval applied by the functions `bulletin
//! edit` and `bulletin approve` call: this command hands them to the web as
//! its [`Desk`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};

use super::Clock;
use crate::audience::Key;
use crate::config::{Config, Newsletter};
use crate::domain::{Correction, Ruling, Target};
use crate::items::Item;
use crate::mail::MailTemplate;
use crate::render::{Reader, render_edition};
use crate::sources::{Network, ingest};
use crate::store::{EditionRecord, EditionState, Store};
use crate::web::preview::{About, Action, Built, Change, Desk, Page};
use crate::workflow::{
    Next, approve_edition, changes_heading, correct, draft, log_lines, make_rule, open_for_writing,
};

pub use crate::web::preview::Options;

/// Serves until SIGTERM or Ctrl-C. The first line on stdout is the index's URL.
pub fn run(config_path: &Path, options: &Options, now: &(dyn Fn() -> DateTime<Utc> + Sync)) -> Result<()> {
    let desk = Editor {
        config_path: config_path.to_path_buf(),
        by: options.by.clone(),
    };
    crate::web::preview::run(config_path, options, Box::new(desk), now)
}

/// The preview's desk: the config it reads, and who corrects and approves.
struct Editor {
    config_path: PathBuf,
    by: String,
}

impl Desk for Editor {
    fn build(&self, date: NaiveDate, now: DateTime<Utc>) -> Result<Built> {
        build(&self.config_path, date, now)
    }

    fn apply(&self, change: &Change, now: DateTime<Utc>) -> Result<()> {
        apply(&self.config_path, &self.by, Clock::fixed(now), change)
    }

    /// The store and its write-ahead log, where a commit lands first.
    fn watched(&self) -> Vec<PathBuf> {
        let Ok(config) = Config::from_file(&self.config_path) else {
            return Vec::new();
        };
        let store = config.store_path();
        let mut wal = store.clone().into_os_string();
        wal.push("-wal");
        vec![store, PathBuf::from(wal)]
    }
}

/// The next edition of every newsletter, from the stored items and the
/// file sources as they are now.
fn build(config_path: &Path, date: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<Built> {
    let config = Config::from_file(config_path)?;
    // Only read: the preview works on a store its user may not write, and a
    // missing store reads as an empty one.
    let store = Store::open_read_only(&config.store_path())?;
    let mut items: HashMap<String, Item> = crate::workflow::items_with(&store, Some)?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let fresh = ingest(&config, Network::FilesOnly, &HashMap::new());
    items.extend(fresh.items.into_iter().map(|i| (i.id.clone(), i)));
    let mut items: Vec<Item> = items.into_values().collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let knowledge = crate::workflow::knowledge(&config, &store)?;
    let classifier = knowledge.classifier(&config);
    let classified: Vec<_> = items.into_iter().map(|item| classifier.classify(item)).collect();
    let (key, key_note) = match config.mail.as_ref().map(|m| Key::from_env(&m.signing_key_env)) {
        Some(Ok(key)) => (key, None),
        Some(Err(why)) => (
            stand_in_key(),
            Some(format!("Unsubscribe links here are not valid: {why}.")),
        ),
        None => (stand_in_key(), None),
    };
    let mut pages = Vec::new();
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        let latest = store.editions(Some(id))?.into_iter().max_by_key(|e| e.number);
        // A draft waiting for approval is the next edition, as last built;
        // so is an approved one the next send mails.
        let waiting = |e: &&EditionRecord| {
            e.state == EditionState::Draft
                || (e.state == EditionState::Approved && config.mail.is_some() && e.sent_at.is_none())
        };
        let stored = match latest.as_ref().filter(waiting) {
            Some(e) => store.edition_numbered(id, e.number)?,
            None => None,
        };
        let next = Next::of(&store, id, stored, date)?;
        let number = latest.as_ref().map_or(0, |e| e.number) + 1;
        let edition = next.edition(newsletter, &classified, date, number);
        let number = edition.number;
        let corrections = match next.record() {
            Some(record) => log_lines(&store, id, record.number)?,
            None => Vec::new(),
        };
        let changes = match next.record().filter(|r| r.state == EditionState::Draft) {
            Some(record) => changes(&store, id, record.number)?,
            None => None,
        };
        let web = render_edition(&edition, &config.site, Reader::Web)?;
        let mail = match &config.mail {
            Some(mail) => Some(MailTemplate::new(
                &edition,
                &config.site,
                mail,
                &config.root,
                now,
            )?),
            None => None,
        };
        pages.push(Page {
            id: id.to_string(),
            title: newsletter.title.clone(),
            number,
            items: edition.item_count(),
            audience: newsletter.audience,
            web,
            mail,
            placed: edition.placed(),
            record: next.into_record(),
            sections: newsletter
                .sections
                .iter()
                .map(|s| (s.id.clone(), s.title.clone()))
                .collect(),
            corrections,
            changes,
        });
    }
    let subscribers = store.subscribers()?;
    Ok(Built {
        pages,
        subscribers,
        key,
        key_note,
    })
}

/// What left or joined draft `number` since an editor last looked, as the
/// review page lists it under its heading; `None` when nothing did.
fn changes(store: &Store, id: &str, number: u32) -> Result<Option<(String, Vec<String>)>> {
    let (changes, looked) = store.unseen_changes(id, number)?;
    if changes.is_empty() {
        return Ok(None);
    }
    let lines = changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} “{}”: {}",
                c.at.format("%Y-%m-%d %H:%M UTC"),
                c.change.as_str(),
                c.item,
                c.title,
                c.reason
            )
        })
        .collect();
    Ok(Some((changes_heading(looked), lines)))
}

fn stand_in_key() -> Key {
    Key::new(b"bulletin-preview-stand-in-key".to_vec()).expect("long enough")
}

/// Applies one POST, as `bulletin edit` or `bulletin approve` would: the
/// lock, the draft it names (an approved edition is refused with the
/// command line's words), then the correction or the approval, by `by`.
fn apply(config_path: &Path, by: &str, clock: Clock, change: &Change) -> Result<()> {
    let config = Config::from_file(config_path)?;
    let newsletter = config.newsletter(&change.newsletter)?;
    let (_lock, mut store) = open_for_writing(&config)?;
    let record = draft(&store, newsletter, Some(change.edition))?;
    // Acting on the page is looking at it: what changed before is seen.
    store.mark_looked(newsletter.id.as_str(), record.number, clock.now)?;
    let correction = match &change.action {
        Action::Approve => return approve_edition(&config, &mut store, newsletter, &record, by, clock),
        Action::Rule { stance, about } => {
            let target = match about {
                About::Term(term) => Target::Term(crate::items::clean_text(term)),
                About::SourceOf(item) => match store.item(item)? {
                    Some(stored) => Target::Source(stored.source),
                    None => bail!("no stored item {item:?}; `bulletin items` lists the items and their ids"),
                },
            };
            make_rule(
                &config,
                &mut store,
                newsletter,
                Ruling {
                    stance: *stance,
                    target,
                },
                "the review page",
                by,
                clock,
            )?;
            return Ok(());
        }
        Action::Drop(item) => Correction::Drop { item: item.clone() },
        Action::Up(item) => nudge(&store, newsletter, &record, item, Step::Up)?,
        Action::Down(item) => nudge(&store, newsletter, &record, item, Step::Down)?,
        Action::ToSection { item, section } => Correction::Move {
            item: item.clone(),
            section: section.clone(),
            position: None,
        },
    };
    correct(&config, &mut store, newsletter, &record, &correction, by, clock)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Up,
    Down,
}

/// "Move up" or "Move down" as the move `bulletin edit move --section S
/// --position P` records: one place earlier or later in its section.
fn nudge(
    store: &Store,
    newsletter: &Newsletter,
    record: &EditionRecord,
    item: &str,
    step: Step,
) -> Result<Correction> {
    let id = newsletter.id.as_str();
    let (_, placed) = store
        .edition_numbered(id, record.number)?
        .with_context(|| format!("{id} No. {} vanished from the store", record.number))?;
    let Some(section) = placed
        .iter()
        .find(|p| p.item.id == item)
        .map(|p| p.section.clone())
    else {
        bail!(
            "{item:?} is not in {id} No. {}; `bulletin editions show --newsletter {id}` lists its items",
            record.number
        );
    };
    let mine: Vec<&str> = placed
        .iter()
        .filter(|p| p.section == section)
        .map(|p| p.item.id.as_str())
        .collect();
    // 1 = first, as `--position` counts.
    let at = mine.iter().position(|i| *i == item).map_or(1, |i| i + 1);
    let to = match step {
        Step::Up if at > 1 => at - 1,
        Step::Down if at < mine.len() => at + 1,
        Step::Up => bail!("{item} is first in its section already"),
        Step::Down => bail!("{item} is last in its section already"),
    };
    Ok(Correction::Move {
        item: item.to_string(),
        section,
        position: Some(to),
    })
}
