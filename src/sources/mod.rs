//! The sources stage: every configured source read into items. A source
//! that fails is reported by name with its reason; the others go on.

mod feed;
mod http;
mod local;

use std::path::{Path, PathBuf};

use crate::config::{Config, Location, Source};
use crate::items::{Details, Item, dedup};

pub use feed::parse_feed;
use http::fetch_all;
pub use local::parse_local;

/// What one source gave.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceReport {
    pub name: String,
    pub items: usize,
    /// Each failure with its reason: one for a feed, one per bad file for local items.
    pub errors: Vec<String>,
}

impl SourceReport {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// All items of all sources, deduplicated, with a report per source.
#[derive(Debug)]
pub struct Ingest {
    pub items: Vec<Item>,
    pub reports: Vec<SourceReport>,
}

impl Ingest {
    pub fn failures(&self) -> impl Iterator<Item = &SourceReport> {
        self.reports.iter().filter(|r| r.failed())
    }
}

/// Whether to fetch http(s) feeds: `bulletin check` reads only files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Fetch,
    FilesOnly,
}

/// Reads every source: HTTP feeds concurrently, files directly.
pub fn ingest(config: &Config, network: Network) -> Ingest {
    let locations: Vec<Location> = config.sources.iter().map(|s| s.location(&config.root)).collect();
    let urls: Vec<url::Url> = locations
        .iter()
        .filter_map(|l| match l {
            Location::Url(url) if network == Network::Fetch => Some(url.clone()),
            _ => None,
        })
        .collect();
    let mut fetched = fetch_all(&urls, &config.fetch).into_iter();
    let mut items = Vec::new();
    let mut reports = Vec::new();
    for (source, location) in config.sources.iter().zip(&locations) {
        let (source_items, errors) = match location {
            Location::Url(_) if network == Network::FilesOnly => continue,
            Location::Url(url) => {
                let body = fetched.next().expect("one fetch per URL source");
                single(body.and_then(|bytes| feed_items(source, &bytes, Some(url), config)))
            }
            Location::Feed(path) => single(
                std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    .and_then(|bytes| feed_items(source, &bytes, None, config)),
            ),
            Location::Local(pattern) => local_items(source, pattern, config),
        };
        reports.push(SourceReport {
            name: source.name().to_string(),
            items: source_items.len(),
            errors,
        });
        items.extend(source_items);
    }
    Ingest {
        items: dedup(items),
        reports,
    }
}

fn single(result: Result<Vec<Item>, String>) -> (Vec<Item>, Vec<String>) {
    match result {
        Ok(items) => (items, Vec::new()),
        Err(reason) => (Vec::new(), vec![reason]),
    }
}

fn feed_items(
    source: &Source,
    bytes: &[u8],
    base: Option<&url::Url>,
    config: &Config,
) -> Result<Vec<Item>, String> {
    let details = Details::plain(source.kind()).expect("config validation keeps feeds to plain kinds");
    let drafts = parse_feed(bytes, base)?;
    Ok(drafts
        .into_iter()
        .map(|draft| draft.into_item(source.name(), details.clone(), config.site.teaser_width))
        .collect())
}

/// Every file the pattern names: a file, a folder's files, or a glob.
fn local_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let path = Path::new(pattern);
    let pattern = if path.is_dir() {
        format!("{}/*", pattern.trim_end_matches('/'))
    } else {
        pattern.to_string()
    };
    let mut files: Vec<PathBuf> = glob::glob(&pattern)
        .map_err(|e| format!("bad pattern {pattern:?}: {e}"))?
        .filter_map(Result::ok)
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| matches!(e.to_str(), Some("toml" | "md" | "markdown")))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .toml or .md files match {pattern:?}"));
    }
    Ok(files)
}

fn local_items(source: &Source, pattern: &str, config: &Config) -> (Vec<Item>, Vec<String>) {
    let files = match local_files(pattern) {
        Ok(files) => files,
        Err(reason) => return (Vec::new(), vec![reason]),
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
            .and_then(|text| parse_local(&file, &text, source.kind()).map_err(|e| e.to_string()));
        match parsed {
            Ok((draft, details)) => {
                items.push(draft.into_item(source.name(), details, config.site.teaser_width))
            }
            Err(reason) => errors.push(reason),
        }
    }
    (items, errors)
}
