//! `bulletin build` and `bulletin run`: the edition cycle. An edition is
//! recorded in the store (numbered, with its items) before its files are
//! written, and written again from that record whenever they are missing,
//! so a run killed at any point is completed by the next one.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use super::deliver::{EXIT_UNDELIVERED, progress, send_one};
use super::fetch::fetch_into;
use super::{Clock, EXIT_OK, classified, exit_code, open_for_writing, phase};
use crate::classify::{Classified, Classifier, Weights};
use crate::config::{Config, Empty, Newsletter};
use crate::deliver::SendOptions;
use crate::editions::{Edition, assemble, is_due, is_scheduled, restore};
use crate::render::{
    ArchiveEntry, ArchiveGroup, FeedEntry, FeedHead, Reader, render_archive_page, render_atom, render_edition,
};
use crate::store::{EditionPaths, EditionRecord, Store};

/// `bulletin build`: each selected newsletter's edition for `date`, whatever
/// its schedule. An edition already recorded for that date is rendered again
/// from the record: same number, same items, same bytes.
pub fn build(config: &Config, date: NaiveDate, only: Option<&str>, clock: Clock) -> Result<ExitCode> {
    if let Some(id) = only {
        config.newsletter(id)?;
    }
    let (_lock, mut store) = open_for_writing(config)?;
    let weights = super::classify::learn(config, &mut store)?;
    let items = classified(config, &store, &weights)?;
    for newsletter in config
        .newsletters
        .iter()
        .filter(|n| only.is_none_or(|id| n.id == id))
    {
        publish(config, &mut store, newsletter, &items, date, clock)?;
    }
    write_archive(config, &store)?;
    Ok(ExitCode::from(EXIT_OK))
}

/// `bulletin run`, the cron entry: fetch, publish every edition due on
/// `date`, and write any recorded edition whose files are missing.
/// Running it again the same day publishes nothing new.
pub fn run(config: &Config, date: NaiveDate, clock: Clock) -> Result<ExitCode> {
    let (_lock, mut store) = open_for_writing(config)?;
    phase("fetch");
    let reports = fetch_into(config, &mut store, clock)?;
    phase("build");
    let checkpoint = store.checkpoint_in_background();
    let due = due_on(config, &store, date)?;
    let weights = super::classify::learn(config, &mut store)?;
    // No items at all is no error here: every edition is then empty.
    let items = candidates(config, &store, &weights, &due, date)?;
    for newsletter in &config.newsletters {
        let id = newsletter.id.as_str();
        if due.iter().any(|n| n.id == id) {
            publish(config, &mut store, newsletter, &items, date, clock)?;
        } else {
            say!("{id:<16} not due on {date}");
        }
    }
    complete_missing_files(config, &store)?;
    write_archive(config, &store)?;
    phase("send");
    let delivered = send_todays_editions(config, &mut store, date, clock)?;
    phase("done");
    let _ = checkpoint.join(); // it only copies pages; whatever it left, closing does
    let code = exit_code(&reports);
    Ok(if delivered {
        code
    } else {
        ExitCode::from(EXIT_UNDELIVERED)
    })
}

/// The newsletters with an edition on `date`: due by their schedule, or
/// published that day already (its files are then written again).
fn due_on<'a>(config: &'a Config, store: &Store, date: NaiveDate) -> Result<Vec<&'a Newsletter>> {
    let mut due = Vec::new();
    for newsletter in &config.newsletters {
        let editions = store.editions(Some(newsletter.id.as_str()))?;
        let published_today = editions.iter().any(|e| e.date == date);
        let last = editions.iter().map(|e| e.date).filter(|d| *d < date).max();
        if published_today || is_scheduled(newsletter.schedule, date, last) {
            due.push(newsletter);
        }
    }
    Ok(due)
}

/// The stored items an edition of `newsletters` on `date` can take: placed
/// in one of them, and due in its window. The others, most of a store that
/// has seen months of feeds, are not kept; those outside the widest window
/// are not even classified.
fn candidates(
    config: &Config,
    store: &Store,
    weights: &Weights,
    newsletters: &[&Newsletter],
    date: NaiveDate,
) -> Result<Vec<Classified>> {
    let Some(widest) = newsletters.iter().map(|n| n.window_days).max() else {
        return Ok(Vec::new());
    };
    let classifier = Classifier::new(config, weights);
    let wanted = |classified: &Classified| {
        classified.placements().any(|verdict| {
            newsletters
                .iter()
                .any(|n| n.id == verdict.newsletter && is_due(&classified.item, n.window_days, date))
        })
    };
    Ok(super::stored::items_with(store, |item| {
        is_due(&item, widest, date)
            .then(|| classifier.classify(item))
            .filter(wanted)
    })?)
}

/// Sends (or finishes sending) every edition published on `date`, when the
/// config has a `[mail]` section; `false` if some message was not delivered.
fn send_todays_editions(config: &Config, store: &mut Store, date: NaiveDate, clock: Clock) -> Result<bool> {
    if config.mail.is_none() {
        return Ok(true);
    }
    let options = SendOptions {
        progress: progress(),
        ..SendOptions::default()
    };
    let mut delivered = true;
    for newsletter in &config.newsletters {
        let editions = store.editions(Some(newsletter.id.as_str()))?;
        if let Some(record) = editions.iter().find(|e| e.date == date) {
            delivered &= send_one(config, store, newsletter, record, &options, clock)?.ok();
        }
    }
    Ok(delivered)
}

/// Publishes (or re-renders) one newsletter's edition for `date`.
fn publish(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    items: &[Classified],
    date: NaiveDate,
    clock: Clock,
) -> Result<()> {
    let id = newsletter.id.as_str();
    if let Some((record, placed)) = store.edition_on(id, date)? {
        let out = config.out_dir();
        let missing = !(out.join(&record.html_path).exists() && out.join(&record.text_path).exists());
        // Written again either way (the same bytes), but only a missing file is news.
        write_edition(config, &restore(newsletter, record.number, date, &placed))?;
        say!(
            "{id:<16} No. {:<3} {:>9}, already published{}",
            record.number,
            super::count(record.items, "item"),
            if missing {
                "; its missing files written again"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let published = store.published_items(id)?;
    let mut edition = assemble(newsletter, items, date, 0, &published);
    if edition.item_count() == 0 && newsletter.empty == Empty::Skip {
        say!("{id:<16} nothing new: no edition (empty = \"skip\")");
        return Ok(());
    }
    let (html, text) = paths(id, date);
    edition.number = store.record_edition(
        id,
        date,
        &edition.placed(),
        &EditionPaths {
            html: &html,
            text: &text,
        },
        clock.now,
    )?;
    write_edition(config, &edition)?;
    let overflow: usize = edition.sections.iter().map(|s| s.overflow).sum();
    let overflow = if overflow > 0 {
        format!(" ({overflow} more over the section limits)")
    } else {
        String::new()
    };
    say!(
        "{id:<16} No. {:<3} {:>9}{overflow} → {}",
        edition.number,
        super::count(edition.item_count(), "item"),
        config.out_dir().join(&html).display()
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

fn write_edition(config: &Config, edition: &Edition) -> Result<()> {
    let rendered = render_edition(edition, &config.site, Reader::Web).context("rendering an edition")?;
    if rendered.html.len() > GMAIL_CLIPS_AT {
        eprintln!(
            "warning: {} No. {} is {} KB of HTML; Gmail clips messages past about 100 KB (lower the section limits)",
            edition.newsletter.id.as_str(),
            edition.number,
            rendered.html.len() / 1024
        );
    }
    let (html, text) = paths(edition.newsletter.id.as_str(), edition.date);
    let out = config.out_dir();
    write_atomically(&out.join(html), &rendered.html)?;
    write_atomically(&out.join(text), &rendered.text)
}

/// Re-renders recorded editions whose files a killed run never wrote.
fn complete_missing_files(config: &Config, store: &Store) -> Result<()> {
    let out = config.out_dir();
    for record in store.editions(None)? {
        if out.join(&record.html_path).exists() && out.join(&record.text_path).exists() {
            continue;
        }
        let Ok(newsletter) = config.newsletter(&record.newsletter) else {
            continue;
        };
        if let Some((record, placed)) = store.edition_on(&record.newsletter, record.date)? {
            write_edition(config, &restore(newsletter, record.number, record.date, &placed))?;
            eprintln!(
                "note: wrote the missing files of {} No. {}",
                record.newsletter, record.number
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
/// a look on disk), from every recorded edition.
fn write_archive(config: &Config, store: &Store) -> Result<()> {
    let out = config.out_dir();
    let base = format!("{}/", config.site.base());
    let editions = store.editions(None)?;
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
