//! The editor's gate: a correction to a draft and an approval, each one
//! function taking who and when, for `bulletin edit` and `bulletin
//! approve` and the preview's review page alike.

use anyhow::{Context, Result, bail};

use super::{
    Clock, ItemIdError, candidates, count, draft_paths, knowledge, learn, open_for_writing, phase,
    refresh_draft, resolve_among, resolve_item, restore_recorded, write_archive, write_draft, write_edition,
};
use crate::config::{Config, Newsletter};
use crate::domain::Correction;
use crate::mail::MailTemplate;
use crate::store::{Decision, Logged};
use crate::store::{EditionRecord, EditionState, Store};

/// `bulletin edit`: records the correction to draft `number` (or the
/// newsletter's latest) with who and when, then rebuilds the draft with it.
pub(crate) fn edit(
    config: &Config,
    newsletter: &Newsletter,
    number: Option<u32>,
    correction: &Correction,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let (_lock, mut store) = open_for_writing(config)?;
    let record = draft(&store, newsletter, number)?;
    correct(config, &mut store, newsletter, &record, correction, by, clock)
}

/// `bulletin approve`: freezes draft `number` (or the newsletter's latest)
/// and writes it into the archive.
pub(crate) fn approve(
    config: &Config,
    newsletter: &Newsletter,
    number: Option<u32>,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let (_lock, mut store) = open_for_writing(config)?;
    let record = draft(&store, newsletter, number)?;
    approve_edition(config, &mut store, newsletter, &record, by, clock)
}

/// `bulletin unapprove`: makes approved edition `number` a draft again,
/// by `by` at `clock`, before its send has begun: its files leave the
/// archive for `out/drafts/`, and what the model learned from it is taken
/// back before anything rebuilds it.
pub(crate) fn unapprove(
    config: &Config,
    newsletter: &Newsletter,
    number: u32,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let (_lock, mut store) = open_for_writing(config)?;
    let id = newsletter.id.as_str();
    // A killed send's journal first: the deliveries it recorded count.
    crate::mail::log::recover(&mut store)?;
    store.unapprove(id, number, by, clock.now)?;
    phase("unapproved");
    learn(config, &mut store)?;
    let (record, placed) = store
        .edition_numbered(id, number)?
        .with_context(|| format!("{id} No. {number} vanished from the store"))?;
    let out = config.out_dir();
    for path in [&record.html_path, &record.text_path] {
        remove(&out.join(path))?;
    }
    let draft = write_draft(config, &restore_recorded(newsletter, &record, &placed))?;
    write_archive(config, &store)?;
    say!(
        "{id} No. {number} unapproved by {by}: a draft again → {}",
        draft.display()
    );
    say!(
        "{:<16} waiting for approval: review it with `bulletin editions show --newsletter {id} --edition {number}`, \
         then `bulletin approve --newsletter {id} --edition {number}`",
        ""
    );
    Ok(())
}

/// `bulletin skip`: discards draft `number`, by `by` at `clock`. It keeps
/// its number (listed as skipped; numbers are never reused) and no file;
/// its items go back to the pool, for the next edition that is due.
pub(crate) fn skip(
    config: &Config,
    newsletter: &Newsletter,
    number: u32,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let (_lock, mut store) = open_for_writing(config)?;
    let id = newsletter.id.as_str();
    let record = draft(&store, newsletter, Some(number))?;
    store.skip(id, number, by, clock.now)?;
    phase("skipped");
    for path in <[String; 2]>::from(draft_paths(id, record.date)) {
        remove(&config.out_dir().join(path))?;
    }
    say!(
        "{id} No. {number} (of {}) skipped by {by}: never sent; its {} go back to the pool for the next edition",
        record.date,
        count(record.items, "item")
    );
    Ok(())
}

/// Removes a file that may already be gone.
fn remove(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The draft to work on: edition `number`, or the newsletter's latest
/// draft; an approved or skipped edition is refused, saying why and the
/// command that does apply.
pub(crate) fn draft(store: &Store, newsletter: &Newsletter, number: Option<u32>) -> Result<EditionRecord> {
    let id = newsletter.id.as_str();
    let editions = store.editions(Some(id))?;
    let latest = editions.iter().max_by_key(|e| e.number).cloned();
    let record = match number {
        Some(n) => editions.into_iter().find(|e| e.number == n).with_context(|| {
            format!("{id} has no edition No. {n}; see `bulletin editions --newsletter {id}`")
        })?,
        None => match editions
            .into_iter()
            .filter(|e| e.state == EditionState::Draft)
            .max_by_key(|e| e.number)
        {
            Some(draft) => draft,
            // The latest says why: it is approved (or sent, or skipped).
            None => match latest {
                Some(latest) => latest,
                None => bail!(
                    "{id} has no draft yet: `bulletin run` makes one on its schedule day \
                     (or `bulletin build --newsletter {id}` today)"
                ),
            },
        },
    };
    match record.state {
        EditionState::Draft => Ok(record),
        EditionState::Skipped => bail!(
            "{id} has no draft: No. {} was skipped; the next edition is drafted by `bulletin run` on its schedule day",
            record.number
        ),
        EditionState::Approved => {
            let approved = format!(
                "{id} No. {} was approved by {} on {}; an approved edition no longer changes",
                record.number,
                record.approved_by.as_deref().unwrap_or("someone"),
                record.approved_at.map_or_else(
                    || "an unknown date".to_string(),
                    |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
                )
            );
            if record.sent_at.is_some() || !store.delivery_counts(id, record.number)?.is_empty() {
                bail!(
                    "{approved}, and its send has begun; the next edition is drafted by `bulletin run` on its schedule day"
                );
            }
            bail!(
                "{approved}. To change it before it is sent, make it a draft again: \
                 `bulletin unapprove --newsletter {id} --edition {}`",
                record.number
            )
        }
    }
}

/// One correction to a draft, by `by` at `clock`: checked against the
/// draft as it stands, recorded, and the draft rebuilt with it.
pub(crate) fn correct(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    record: &EditionRecord,
    correction: &Correction,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let id = newsletter.id.as_str();
    let (_, placed) = store
        .edition_numbered(id, record.number)?
        .with_context(|| format!("{id} No. {} vanished from the store", record.number))?;
    // An item named by the start of its id: any stored item for an add,
    // one of the draft's own for the rest (one it lacks is said below).
    let resolved = match (correction, correction.item()) {
        (Correction::Add { .. }, Some(given)) => correction.clone().with_item(resolve_item(store, given)?),
        (_, Some(given)) => {
            let own = placed.iter().map(|p| (p.item.id.as_str(), p.item.title.as_str()));
            match resolve_among(given, own) {
                Ok(item) => correction.clone().with_item(item),
                Err(ItemIdError::Unknown(_)) => correction.clone(),
                Err(other) => return Err(other.into()),
            }
        }
        (_, None) => correction.clone(),
    };
    let correction = &resolved;
    let here = |item: &str| placed.iter().any(|p| p.item.id == item);
    let section_ok = |section: &str| {
        if newsletter.sections.iter().any(|s| s.id == section) {
            return Ok(());
        }
        let ids: Vec<&str> = newsletter.sections.iter().map(|s| s.id.as_str()).collect();
        bail!(
            "{id} has no section {section:?}; expected one of: {}",
            ids.join(", ")
        )
    };
    match correction {
        Correction::Add { item, section } => {
            let Some(stored) = store.item(item)? else {
                bail!("no stored item {item:?}; `bulletin items` lists the items and their ids");
            };
            if here(item) {
                bail!("{item} is in {id} No. {} already", record.number);
            }
            if store.published_items(id, Some(record.number))?.contains(item) {
                bail!("{item} was in an earlier edition of {id}; an item is in one edition of a newsletter");
            }
            match section {
                Some(section) => section_ok(section)?,
                None if newsletter.section_for(stored.kind()).is_none() => bail!(
                    "no section of {id} takes a {} item by default; say which with --section",
                    stored.kind().as_str()
                ),
                None => {}
            }
        }
        Correction::Intro { .. } => {}
        other => {
            let item = other.item().unwrap_or_default();
            if !here(item) {
                bail!(
                    "{item:?} is not in {id} No. {}; `bulletin editions show --newsletter {id}` lists its items",
                    record.number
                );
            }
            if let Correction::Move { section, .. } = other {
                section_ok(section)?;
            }
        }
    }
    store.add_correction(id, record.number, correction, by, clock.now)?;
    phase("corrected");
    let knowledge = knowledge(config, store)?;
    let items = candidates(config, store, &knowledge, &[newsletter], record.date)?;
    refresh_draft(config, store, newsletter, record, &items, &knowledge, clock)
}

/// Approves a draft as it was last built (what the editor reviewed), by
/// `by` at `clock`: from then on its bytes never change, and `run` or
/// `send` mails it. Its files move from `out/drafts/` into the archive.
pub(crate) fn approve_edition(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    record: &EditionRecord,
    by: &str,
    clock: Clock,
) -> Result<()> {
    let id = newsletter.id.as_str();
    store.approve(id, record.number, by, clock.now)?;
    phase("approved");
    // Written from the record, as `run` writes any that a killed approval left missing.
    let (record, placed) = store
        .edition_numbered(id, record.number)?
        .with_context(|| format!("{id} No. {} vanished from the store", record.number))?;
    write_edition(config, &restore_recorded(newsletter, &record, &placed))?;
    write_archive(config, store)?;
    let out = config.out_dir();
    for path in <[String; 2]>::from(draft_paths(id, record.date)) {
        match std::fs::remove_file(out.join(&path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                eprintln!(
                    "warning: could not remove the draft {}: {e}",
                    out.join(&path).display()
                );
            }
            _ => {}
        }
    }
    say!(
        "{id} No. {} approved by {by} → {}",
        record.number,
        out.join(&record.html_path).display()
    );
    match (config.mail.is_some(), record.not_before) {
        (false, _) => {}
        (true, Some(at)) => say!(
            "scheduled: not before {at}; the first `bulletin run` after that mails it \
             (or now: `bulletin send --newsletter {id} --now`)"
        ),
        (true, None) => say!("the next `bulletin run` mails it (or now: `bulletin send --newsletter {id}`)"),
    }
    Ok(())
}

/// Recorded edition `record` of `newsletter` as `send` mails it: the
/// message template it fills for each subscriber. The desk's review page
/// shows its HTML part filled for a sample reader: the send's bytes.
pub(crate) fn mail_template(
    config: &Config,
    store: &Store,
    newsletter: &Newsletter,
    record: &EditionRecord,
    clock: Clock,
) -> Result<MailTemplate> {
    let id = newsletter.id.as_str();
    let mail = config
        .mail
        .as_ref()
        .context("no [mail] section in the config: nothing is mailed")?;
    let (record, placed) = store
        .edition_numbered(id, record.number)?
        .with_context(|| format!("{id} No. {} vanished from the store", record.number))?;
    let edition = restore_recorded(newsletter, &record, &placed);
    Ok(MailTemplate::new(
        &edition,
        &config.site,
        mail,
        &config.root,
        clock.now,
    )?)
}

/// The log of edition `number` of `newsletter`, oldest first, a line each:
/// when, by whom, what (the preview's and the desk's review pages).
pub(crate) fn log_lines(store: &Store, newsletter: &str, number: u32) -> Result<Vec<String>> {
    Ok(store
        .log(newsletter, number)?
        .iter()
        .map(|line| {
            format!(
                "{} by {}: {}",
                line.at.format("%Y-%m-%d %H:%M UTC"),
                line.author,
                describe_logged(&line.entry)
            )
        })
        .collect())
}

/// A line of an edition's log in a few words.
pub(crate) fn describe_logged(entry: &Logged) -> String {
    describe_logged_naming(entry, &str::to_string)
}

/// [`describe_logged`], the item a correction names said by `item` (given
/// its id): the desk's log names it by its title as well.
pub(crate) fn describe_logged_naming(entry: &Logged, item: &dyn Fn(&str) -> String) -> String {
    match entry {
        Logged::Correction(correction) => describe(correction, item),
        Logged::Decision(Decision::Approve) => "approved".into(),
        Logged::Decision(Decision::Unapprove) => "unapproved: a draft again".into(),
        Logged::Decision(Decision::Skip) => "skipped".into(),
        Logged::Decision(Decision::Schedule(Some(at))) => format!("send scheduled: not before {at}"),
        Logged::Decision(Decision::Schedule(None)) => {
            "schedule cleared: sent at the next run once approved".into()
        }
    }
}

/// Notes that an editor looked at draft `number` of `newsletter` at
/// `clock` (`editions show`, the review page): the changes shown since are
/// news no more. Best effort: a store this user may only read, or one a
/// run holds, is left as it is.
pub(crate) fn looked(config: &Config, newsletter: &str, number: u32, clock: Clock) {
    if let Ok((_lock, mut store)) = open_for_writing(config) {
        let _ = store.mark_looked(newsletter, number, clock.now);
    }
}

/// The heading over a draft's changes since an editor last `looked`, for
/// `editions show` and the review page.
pub(crate) fn changes_heading(looked: Option<chrono::DateTime<chrono::Utc>>) -> String {
    match looked {
        Some(at) => format!(
            "Changed since an editor last looked ({})",
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "Changed since the draft was made".to_string(),
    }
}

/// A correction in a few words, its item said by `name`.
fn describe(correction: &Correction, name: &dyn Fn(&str) -> String) -> String {
    match correction {
        Correction::Drop { item } => format!("drop {}", name(item)),
        Correction::Add { item, section } => match section {
            Some(section) => format!("add {} to {section}", name(item)),
            None => format!("add {}", name(item)),
        },
        Correction::Move {
            item,
            section,
            position,
        } => match position {
            Some(p) => format!("move {} to {section}, position {p}", name(item)),
            None => format!("move {} to {section}", name(item)),
        },
        Correction::Retitle { item, title } => format!("retitle {}: {title}", name(item)),
        Correction::Teaser { item, teaser } => format!("teaser {}: {teaser}", name(item)),
        Correction::Intro { markdown } => format!("introduction ({} lines)", markdown.lines().count()),
    }
}
