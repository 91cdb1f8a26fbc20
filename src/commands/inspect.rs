//! The commands that only look: `check`, `items`, `editions`.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Result, bail};

use super::{Clock, Exit};
use crate::classify::{Classified, Verdict};
use crate::config::Config;
use crate::items::{Kind, for_terminal};
use crate::sources::{Network, ingest, read_one};
use crate::store::{EditionState, Store};
use crate::workflow::{Checked, classified, count, draft_paths, knowledge, send_checks};

/// `bulletin check`: the config (already parsed), every feed file and every
/// local item; http(s) feeds are not fetched and the store is not touched.
/// With `send`, what a send needs too, without sending (see
/// [`crate::workflow::send_checks`]): a line each, every problem on stderr.
pub fn check(config: &Config, send: bool) -> Result<Exit> {
    let sendable = if send { check_send(config)? } else { 0 };
    check_files(config, sendable)
}

/// `check --send`'s lines; how many problems.
fn check_send(config: &Config) -> Result<usize> {
    let mut problems = 0;
    for checked in send_checks(config) {
        match checked {
            Checked::Ok(text) => writeln!(std::io::stdout(), "ok: {text}")?,
            Checked::Warning(text) => eprintln!("warning: {text}"),
            Checked::Problem(text) => {
                eprintln!("error: {text}");
                problems += 1;
            }
        }
    }
    Ok(problems)
}

fn check_files(config: &Config, send_problems: usize) -> Result<Exit> {
    let ingest = ingest(config, Network::FilesOnly, &HashMap::new());
    let errors: Vec<&String> = ingest.failures().flat_map(|r| r.errors()).collect();
    for error in &errors {
        eprintln!("error: {error}");
    }
    for report in &ingest.reports {
        for warning in report.warnings() {
            eprintln!("warning: source {:?}: {warning}", report.name);
        }
    }
    if !errors.is_empty() || send_problems > 0 {
        bail!("{} problem(s) found", errors.len() + send_problems);
    }
    // writeln!, not println!: a closed stdout is an error to return, not a panic.
    writeln!(
        std::io::stdout(),
        "ok: {} newsletters, {} sources, {} items in files (http(s) feeds are not fetched by check)",
        config.newsletters.len(),
        config.sources.len(),
        ingest.items.len()
    )?;
    Ok(Exit::Ok)
}

/// How a listing prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Which items `bulletin items` lists.
pub struct ItemsQuery<'a> {
    pub newsletter: Option<&'a str>,
    pub unplaced: bool,
    pub explain: bool,
    pub format: Format,
}

fn ensure_newsletter(config: &Config, id: &str) -> Result<()> {
    config.newsletter(id)?;
    Ok(())
}

/// `bulletin items`: every stored item with where it lands and, with
/// `--explain`, why.
pub fn items(config: &Config, query: &ItemsQuery) -> Result<Exit> {
    if let Some(id) = query.newsletter {
        ensure_newsletter(config, id)?;
    }
    let store = Store::open_read_only(&config.store_path())?;
    let knowledge = knowledge(config, &store)?;
    let items = classified(config, &store, &knowledge)?;
    let mut selected: Vec<&Classified> = items
        .iter()
        .filter(|c| query.newsletter.is_none_or(|id| c.section_in(id).is_some()))
        .filter(|c| !query.unplaced || !c.is_placed())
        .collect();
    // Newest first, as a reader of news expects; undated items last.
    selected.sort_by(|a, b| {
        (b.item.published.cmp(&a.item.published)).then_with(|| a.item.title.cmp(&b.item.title))
    });
    let mut out = std::io::stdout().lock();
    match query.format {
        Format::Json => {
            let json: Vec<serde_json::Value> = selected.iter().map(|c| item_json(c)).collect();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        Format::Table => print_items(&mut out, &selected, query.explain)?,
    }
    Ok(Exit::Ok)
}

fn item_json(classified: &Classified) -> serde_json::Value {
    let item = &classified.item;
    let verdict = |v: &Verdict| serde_json::json!({"id": v.newsletter, "section": v.section, "score": v.score, "reasons": v.reasons});
    serde_json::json!({
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "published": item.published,
        "kind": item.kind(),
        "source": item.source,
        "details": item.details,
        "categories": item.categories,
        "teaser": item.teaser,
        "also_in": item.also_in,
        "newsletters": classified.placements().map(verdict).collect::<Vec<_>>(),
        "not_placed": classified.verdicts.iter().filter(|v| v.section.is_none()).map(verdict).collect::<Vec<_>>(),
    })
}

fn print_items(out: &mut impl Write, items: &[&Classified], explain: bool) -> Result<()> {
    writeln!(
        out,
        "{:<16}  {:<10}  {:<12}  {:<30}  TITLE",
        "ID", "PUBLISHED", "KIND", "NEWSLETTERS"
    )?;
    for classified in items {
        let item = &classified.item;
        let placed: Vec<&str> = classified.placements().map(|v| v.newsletter.as_str()).collect();
        let published = item
            .published
            .map_or("undated".to_string(), |p| p.format("%Y-%m-%d").to_string());
        let newsletters = if placed.is_empty() {
            "(none)".to_string()
        } else {
            placed.join(",")
        };
        writeln!(
            out,
            "{:<16}  {:<10}  {:<12}  {:<30}  {}",
            item.id,
            published,
            item.kind().as_str(),
            newsletters,
            for_terminal(&item.title)
        )?;
        if explain {
            for verdict in &classified.verdicts {
                let outcome = verdict
                    .section
                    .as_deref()
                    .map_or("not placed".to_string(), |s| format!("section {s}"));
                writeln!(out, "    {} = {} → {outcome}", verdict.newsletter, verdict.score)?;
                for reason in &verdict.reasons {
                    writeln!(out, "        {}", for_terminal(reason))?;
                }
            }
            if classified.verdicts.is_empty() {
                writeln!(out, "    no rule of any newsletter matched")?;
            }
        }
    }
    Ok(())
}

/// `bulletin editions`: what was published, newest first.
pub fn editions(config: &Config, newsletter: Option<&str>, format: Format) -> Result<Exit> {
    if let Some(id) = newsletter {
        ensure_newsletter(config, id)?;
    }
    let store = Store::open_read_only(&config.store_path())?;
    let mut editions = store.editions(newsletter)?;
    // Newest first, and the newsletters of a day in the config's order.
    let order = |id: &str| config.newsletters.iter().position(|n| n.id.as_str() == id);
    editions.sort_by_key(|e| (std::cmp::Reverse(e.date), order(&e.newsletter)));
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &editions)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "{:<16} {:>4}  {:<10}  {:>5}  {:<8}  HTML",
                "NEWSLETTER", "NO.", "DATE", "ITEMS", "STATE"
            )?;
            for e in &editions {
                let (state, html) = match e.state {
                    EditionState::Draft => ("draft", Some(draft_paths(&e.newsletter, e.date).0)),
                    EditionState::Approved if e.sent_at.is_some() => ("sent", Some(e.html_path.clone())),
                    EditionState::Approved => ("approved", Some(e.html_path.clone())),
                    // Never sent, and no file: its number stays, not reused.
                    EditionState::Skipped => ("skipped", None),
                };
                writeln!(
                    out,
                    "{:<16} {:>4}  {}  {:>5}  {state:<8}  {}",
                    e.newsletter,
                    e.number,
                    e.date,
                    e.items,
                    html.map_or_else(
                        || "-".into(),
                        |html| config.out_dir().join(html).display().to_string()
                    )
                )?;
            }
        }
    }
    Ok(Exit::Ok)
}

/// `bulletin feeds`: each source's last fetch, status, items and last
/// error; a source failing `flag_after_failures` fetches in a row is flagged.
pub fn feeds(config: &Config, format: Format) -> Result<Exit> {
    let store = Store::open_read_only(&config.store_path())?;
    let health = store.feed_health()?;
    let flagged = |failures: u32| failures >= config.fetch.flag_after_failures;
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let json: Vec<serde_json::Value> = config
            .sources
            .iter()
            .map(|source| {
                let h = health.iter().find(|h| h.source == source.name());
                serde_json::json!({
                    "source": source.name(),
                    "health": h,
                    "flagged": h.is_some_and(|h| flagged(h.consecutive_failures)),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    writeln!(
        out,
        "{:<32} {:<25} {:<13} {:>5}  LAST ERROR",
        "SOURCE", "LAST FETCH", "STATUS", "ITEMS"
    )?;
    for source in &config.sources {
        let Some(h) = health.iter().find(|h| h.source == source.name()) else {
            writeln!(
                out,
                "{:<32} {:<25} {:<13} {:>5}",
                source.name(),
                "never",
                "-",
                "-"
            )?;
            continue;
        };
        let status = if flagged(h.consecutive_failures) {
            format!("FAILING ×{}", h.consecutive_failures)
        } else {
            h.status.clone()
        };
        let mut note = h.error.clone().unwrap_or_default();
        if let Some(moved) = &h.moved_to {
            note = format!("{note} (moved permanently to {moved})")
                .trim()
                .to_string();
        }
        // Shown to the minute, in UTC, saying so.
        let fetched = h.last_fetch.format("%Y-%m-%d %H:%M UTC").to_string();
        writeln!(
            out,
            "{:<32} {:<25} {:<13} {:>5}  {}",
            for_terminal(source.name()),
            fetched,
            status,
            h.items,
            for_terminal(&note)
        )?;
    }
    Ok(Exit::Ok)
}

/// `bulletin parse`: what bulletin reads from one feed or local item file,
/// the store untouched; `kind` overrides the kind of the source that reads it.
pub fn parse(
    config: &Config,
    target: &str,
    kind: Option<Kind>,
    format: Format,
    clock: Clock,
) -> Result<Exit> {
    let (items, warnings) = read_one(target, config, kind, clock.now)?;
    for warning in warnings {
        eprintln!("warning: {target}: {warning}");
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &items)?;
            writeln!(out)?;
        }
        Format::Table => {
            for item in &items {
                let published = item.published.map_or("undated".to_string(), |p| p.to_rfc3339());
                writeln!(
                    out,
                    "{published}  {}\n    {}\n    {}",
                    for_terminal(&item.title),
                    for_terminal(&item.link),
                    for_terminal(&item.teaser)
                )?;
            }
            writeln!(out, "{}", count(items.len(), "item"))?;
        }
    }
    Ok(Exit::Ok)
}
