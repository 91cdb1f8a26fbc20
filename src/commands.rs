//! The commands: each reads as the stages it runs. Results go to stdout,
//! diagnostics to stderr; the exit code tells a script what happened.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;

use crate::classify::{Classified, classify};
use crate::config::Config;
use crate::editions::assemble;
use crate::render::{IndexEdition, IndexNewsletter, render_edition, render_index};
use crate::sources::{Ingest, Network, ingest};

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// Nothing useful was done: bad config, unwritable output, bad arguments.
pub const EXIT_FAILURE: u8 = 1;
/// The work was done, but some sources failed (each is reported on stderr).
pub const EXIT_SOURCES_FAILED: u8 = 3;

/// `bulletin check`: the config (already parsed), every feed file and every
/// local item; http(s) feeds are not fetched.
pub fn check(config: &Config) -> Result<ExitCode> {
    let ingest = ingest(config, Network::FilesOnly);
    let errors: Vec<&String> = ingest.failures().flat_map(|r| &r.errors).collect();
    for error in &errors {
        eprintln!("error: {error}");
    }
    if !errors.is_empty() {
        bail!("{} problem(s) found", errors.len());
    }
    println!(
        "ok: {} newsletters, {} sources, {} items in files (http(s) feeds are not fetched by check)",
        config.newsletters.len(),
        config.sources.len(),
        ingest.items.len()
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// Sources → items → classify, with failing sources reported on stderr.
fn gather(config: &Config) -> (Vec<Classified>, Ingest) {
    let mut ingest = ingest(config, Network::Fetch);
    for report in ingest.failures() {
        for error in &report.errors {
            eprintln!("warning: source {:?} failed: {error}", report.name);
        }
    }
    let items = std::mem::take(&mut ingest.items);
    (classify(config, items), ingest)
}

fn exit_code(ingest: &Ingest) -> ExitCode {
    match ingest.failures().count() {
        0 => ExitCode::from(EXIT_OK),
        failed => {
            eprintln!("{failed} source(s) failed; the rest were used");
            ExitCode::from(EXIT_SOURCES_FAILED)
        }
    }
}

/// `bulletin build`: assemble and render each newsletter's edition for `date`
/// into `out/<id>/<date>.html` and `.txt`, then rewrite `out/index.html`.
pub fn build(config: &Config, date: NaiveDate, only: Option<&str>) -> Result<ExitCode> {
    if let Some(id) = only {
        ensure_newsletter(config, id)?;
    }
    let (items, ingest) = gather(config);
    let out = config.out_dir();
    for newsletter in config
        .newsletters
        .iter()
        .filter(|n| only.is_none_or(|id| n.id.get_ref() == id))
    {
        let edition = assemble(newsletter, &items, date);
        let rendered = render_edition(&edition, &config.site).context("rendering an edition")?;
        let folder = out.join(newsletter.id.get_ref());
        fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let html = folder.join(format!("{date}.html"));
        write(&html, &rendered.html)?;
        write(&folder.join(format!("{date}.txt")), &rendered.text)?;
        let overflow: usize = edition.sections.iter().map(|s| s.overflow).sum();
        println!(
            "{:<16} {:>3} items{} → {}",
            newsletter.id.get_ref(),
            edition.item_count(),
            if overflow > 0 {
                format!(" ({overflow} more over the section limits)")
            } else {
                String::new()
            },
            html.display()
        );
    }
    let index = out.join("index.html");
    write(
        &index,
        &render_index(&config.site, &index_entries(config, &out)?).context("rendering the index")?,
    )?;
    println!("index            → {}", index.display());
    let unplaced = items.iter().filter(|c| !c.is_placed()).count();
    if unplaced > 0 {
        eprintln!(
            "note: {unplaced} item(s) matched no newsletter; see `bulletin items --unplaced --explain`"
        );
    }
    Ok(exit_code(&ingest))
}

fn ensure_newsletter(config: &Config, id: &str) -> Result<()> {
    if config.newsletter(id).is_none() {
        bail!(
            "unknown newsletter {id:?}; expected one of: {}",
            config.newsletter_ids()
        );
    }
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Every edition found under `out/`, so earlier editions stay linked.
fn index_entries(config: &Config, out: &Path) -> Result<Vec<IndexNewsletter>> {
    config
        .newsletters
        .iter()
        .map(|newsletter| {
            let id = newsletter.id.get_ref();
            let mut dates: Vec<String> = match fs::read_dir(out.join(id)) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter_map(|name| name.strip_suffix(".html").map(str::to_string))
                    .filter(|stem| NaiveDate::parse_from_str(stem, "%Y-%m-%d").is_ok())
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e).with_context(|| format!("listing {}", out.join(id).display())),
            };
            dates.sort_by(|a, b| b.cmp(a));
            let editions = dates
                .into_iter()
                .map(|stem| IndexEdition {
                    date: NaiveDate::parse_from_str(&stem, "%Y-%m-%d")
                        .map(|d| d.format(&config.site.date_format).to_string())
                        .unwrap_or_else(|_| stem.clone()),
                    html_path: format!("{id}/{stem}.html"),
                    text_path: format!("{id}/{stem}.txt"),
                })
                .collect();
            Ok(IndexNewsletter {
                title: newsletter.title.clone(),
                editions,
            })
        })
        .collect()
}

/// How `bulletin items` prints.
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

/// `bulletin items`: every item with where it landed and, with `--explain`, why.
pub fn items(config: &Config, query: &ItemsQuery) -> Result<ExitCode> {
    if let Some(id) = query.newsletter {
        ensure_newsletter(config, id)?;
    }
    let (items, ingest) = gather(config);
    let selected: Vec<&Classified> = items
        .iter()
        .filter(|c| query.newsletter.is_none_or(|id| c.section_in(id).is_some()))
        .filter(|c| !query.unplaced || !c.is_placed())
        .collect();
    let mut out = std::io::stdout().lock();
    match query.format {
        Format::Json => {
            let json: Vec<serde_json::Value> = selected.iter().map(|c| item_json(c)).collect();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        Format::Table => print_table(&mut out, &selected, query.explain)?,
    }
    Ok(exit_code(&ingest))
}

fn item_json(classified: &Classified) -> serde_json::Value {
    let item = &classified.item;
    let verdict = |v: &crate::classify::Verdict| serde_json::json!({"id": v.newsletter, "section": v.section, "score": v.score, "reasons": v.reasons});
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

fn print_table(out: &mut impl Write, items: &[&Classified], explain: bool) -> Result<()> {
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
            item.title
        )?;
        if explain {
            for verdict in &classified.verdicts {
                let outcome = verdict
                    .section
                    .as_deref()
                    .map_or("not placed".to_string(), |s| format!("section {s}"));
                writeln!(out, "    {} = {} → {outcome}", verdict.newsletter, verdict.score)?;
                for reason in &verdict.reasons {
                    writeln!(out, "        {reason}")?;
                }
            }
            if classified.verdicts.is_empty() {
                writeln!(out, "    no rule of any newsletter matched")?;
            }
        }
    }
    Ok(())
}
