//! The sources stage: every configured source read into items. A source
//! that fails is reported by name with its reason; the others go on.

mod feed;
mod http;
mod local;
mod parallel;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::causes::said_once;
use crate::config::{Config, FeedKind, Location, Source, TomlError};
use crate::domain::{Outcome, SourceReport, Validators};
use crate::hex::hex;
use crate::items::{Dedup, Details, Draft, Item, Kind};

pub use feed::{FeedError, parse_feed};
use feed::{ParsedFeed, read_feed};
use http::{FetchError, Fetched, Response, fetch_all};
pub use local::parse_local;
pub(crate) use local::{read_capped, read_item_file};
use parallel::map_in_order;

/// All items of all sources, deduplicated, with a report per source.
#[derive(Debug)]
pub(crate) struct Ingest {
    pub(crate) items: Vec<Item>,
    pub(crate) reports: Vec<SourceReport>,
}

impl Ingest {
    pub(crate) fn failures(&self) -> impl Iterator<Item = &SourceReport> {
        self.reports.iter().filter(|r| r.failed())
    }
}

/// Whether to fetch http(s) feeds: `bulletin check` reads only files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    /// Fetch them, at the time the command started (read by `main`).
    Fetch(DateTime<Utc>),
    FilesOnly,
}

/// Reads every source, deduplicating the items: see [`read_sources`].
pub(crate) fn ingest(config: &Config, network: Network, known: &HashMap<String, Validators>) -> Ingest {
    let mut items = Dedup::default();
    let mut reports = Vec::new();
    read_sources(config, network, known, |report, source_items| {
        for item in source_items {
            items.add(item);
        }
        reports.push(report);
    });
    Ingest {
        items: items.into_items(),
        reports,
    }
}

/// Reads every source: HTTP feeds concurrently (conditionally, with the
/// validators `known` from the last fetch, by source name), then every
/// source's items, on as many threads as there are cores. Each source's
/// report and items go to `each` as soon as they are read, in config order.
pub(crate) fn read_sources(
    config: &Config,
    network: Network,
    known: &HashMap<String, Validators>,
    mut each: impl FnMut(SourceReport, Vec<Item>),
) {
    let read = |(source, job)| (source, read_source(source, job, config, known.get(source.name())));
    map_in_order(
        jobs(config, network, known),
        read,
        |(source, read): (&Source, _)| {
            let (outcome, items) = match read {
                Ok(Read::Items {
                    items,
                    errors,
                    warnings,
                    validators,
                }) => {
                    let outcome = Outcome::Read {
                        items: items.len(),
                        errors,
                        warnings,
                        validators,
                    };
                    (outcome, items)
                }
                Ok(Read::NotModified) => (Outcome::NotModified, Vec::new()),
                Err(reason) => (Outcome::Failed(said_once(&reason)), Vec::new()),
            };
            let name = source.name().to_string();
            each(SourceReport { name, outcome }, items);
        },
    );
}

/// What there is to read of each source, in config order. The HTTP feeds
/// are fetched here, all at once.
fn jobs<'a>(
    config: &'a Config,
    network: Network,
    known: &HashMap<String, Validators>,
) -> Vec<(&'a Source, Job)> {
    let requests: Vec<(url::Url, Validators)> = config
        .sources
        .iter()
        .filter_map(|source| match &source.location {
            Location::Url(url, _) if matches!(network, Network::Fetch(_)) => {
                Some((url.clone(), known.get(source.name()).cloned().unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    let mut fetched = match network {
        Network::Fetch(now) => fetch_all(&requests, &config.fetch, now),
        Network::FilesOnly => Vec::new(),
    }
    .into_iter();
    config
        .sources
        .iter()
        .filter_map(|source| {
            let job = match &source.location {
                Location::Url(..) if network == Network::FilesOnly => return None,
                Location::Url(_, kind) => {
                    Job::Fetched(fetched.next().expect("one fetch per URL source"), *kind)
                }
                Location::Feed(path, kind) => Job::Feed(path.clone(), *kind),
                Location::Local(pattern, _) => Job::Local(pattern.clone()),
            };
            Some((source, job))
        })
        .collect()
}

/// What there is to read of one source.
enum Job {
    /// An HTTP feed, fetched already.
    Fetched(Fetched, FeedKind),
    Feed(PathBuf, FeedKind),
    Local(String),
}

/// Why a source, or the one feed `parse` reads, gave no items.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    /// The file could not be opened or read.
    #[error("{}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Refused unread: larger than its cap.
    #[error("{}: {size} bytes; {what} may have at most {cap} bytes ({cap_name})", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        what: &'static str,
        cap: u64,
        cap_name: &'static str,
    },
    #[error("{}: not UTF-8 text", .0.display())]
    NotText(PathBuf),
    /// A local item file that does not parse, located.
    #[error(transparent)]
    Local(#[from] TomlError),
    /// A local item file `parse` was given outside every source's `local`.
    #[error(
        "{0} is under no source's `local` in the config, so its kind is unknown; give it: --kind event (or news, tender, report, press-review)"
    )]
    UnknownKind(String),
    #[error("a feed gives no {}s (they come from local items); use --kind news, report or press-review", .0.as_str())]
    FeedKind(Kind),
    #[error("bad pattern {pattern:?}")]
    Pattern {
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
    #[error("no .toml or .md files match {0:?}")]
    NoFiles(String),
    /// The fetch failed: the words `http` chose, with the tries it made.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("the server answered 304 to an unconditional GET")]
    NotModified,
    /// What `parse` was given, named once before what went wrong with it.
    #[error("{target}")]
    At {
        target: String,
        #[source]
        source: Box<SourceError>,
    },
}

/// Names `target` before the error: `parse`'s URL or feed file.
fn at(target: &str) -> impl FnOnce(SourceError) -> SourceError + '_ {
    |source| SourceError::At {
        target: target.to_string(),
        source: Box::new(source),
    }
}

/// One source's items; `last` is what its last fetch left.
fn read_source(
    source: &Source,
    job: Job,
    config: &Config,
    last: Option<&Validators>,
) -> Result<Read, SourceError> {
    match job {
        Job::Fetched(fetched, kind) => match fetched? {
            Response::Body {
                bytes,
                content_type,
                validators,
                url,
            } => feed_items(source, kind, &bytes, Some(&url), content_type.as_deref(), config)
                .map(|(items, warnings)| Read::feed(items, warnings, validators)),
            Response::NotModified => Ok(Read::NotModified),
        },
        Job::Feed(path, kind) => {
            let bytes = read_capped(&path, config.fetch.max_bytes, "a feed file", "fetch.max_bytes")?;
            match file_validators(source, config, [(path.as_path(), &bytes[..])]) {
                same if Some(&same) == last => Ok(Read::NotModified),
                validators => feed_items(source, kind, &bytes, None, None, config)
                    .map(|(items, warnings)| Read::feed(items, warnings, validators)),
            }
        }
        Job::Local(pattern) => local_items(source, &pattern, config, last),
    }
}

/// One feed, an http(s) URL or a file (or one local item file), read as it
/// would be ingested, with the store untouched: what `bulletin parse` shows.
/// A file is read as the configured source that reads it would (its kind,
/// its name), unless `kind` says otherwise. Returns the items and the
/// warnings a source's report would carry; an error names the target once.
pub(crate) fn read_one(
    target: &str,
    config: &Config,
    kind: Option<Kind>,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, Vec<String>), SourceError> {
    if let Ok(url) = url::Url::parse(target)
        && matches!(url.scheme(), "http" | "https")
    {
        let kind = feed_kind(kind, None)?;
        return read_url(url, config, kind, now).map_err(at(target));
    }
    let path = Path::new(target);
    let source = source_of(path, config);
    let name = source.map_or("parse", Source::name);
    let width = config.site.teaser_width;
    if is_local_item(path) {
        let kind = kind
            .or(source.map(Source::kind))
            .ok_or_else(|| SourceError::UnknownKind(target.to_string()))?;
        let bytes = read_item_file(path)?;
        let text = String::from_utf8(bytes).map_err(|_| SourceError::NotText(path.to_path_buf()))?;
        let (draft, details) = parse_local(path, &text, kind, &config.newsletters)?;
        return Ok((vec![draft.into_item(name, details, width)], Vec::new()));
    }
    let kind = feed_kind(kind, source)?;
    let bytes = read_capped(path, config.fetch.max_bytes, "a feed file", "fetch.max_bytes")?;
    let feed = read_feed(&bytes, None, None).map_err(|e| at(target)(e.into()))?;
    Ok(feed_drafts(feed, name, kind, width))
}

/// A feed fetched from `url` once, unconditionally.
fn read_url(
    url: url::Url,
    config: &Config,
    kind: FeedKind,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, Vec<String>), SourceError> {
    let fetched = fetch_all(&[(url, Validators::default())], &config.fetch, now)
        .pop()
        .expect("one request, one result");
    match fetched? {
        Response::Body {
            bytes,
            content_type,
            url,
            ..
        } => {
            let feed = read_feed(&bytes, Some(&url), content_type.as_deref())?;
            Ok(feed_drafts(feed, "parse", kind, config.site.teaser_width))
        }
        Response::NotModified => Err(SourceError::NotModified),
    }
}

/// A parsed feed's drafts as items of the source named `name`.
fn feed_drafts(feed: ParsedFeed, name: &str, kind: FeedKind, width: usize) -> (Vec<Item>, Vec<String>) {
    let items = feed
        .drafts
        .into_iter()
        .map(|d| d.into_item(name, kind.details(), width))
        .collect();
    (items, feed.warnings)
}

/// The kind a feed is read as: the one asked for, else its source's, else news.
fn feed_kind(kind: Option<Kind>, source: Option<&Source>) -> Result<FeedKind, SourceError> {
    match kind {
        Some(kind) => FeedKind::new(kind).ok_or(SourceError::FeedKind(kind)),
        None => Ok(source
            .and_then(|s| match &s.location {
                Location::Feed(_, kind) => Some(*kind),
                Location::Url(..) | Location::Local(..) => None,
            })
            .unwrap_or(FeedKind::News)),
    }
}

/// Whether the file is a local item (TOML, or Markdown with front matter)
/// rather than a feed.
fn is_local_item(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| matches!(e.to_str(), Some("toml" | "md" | "markdown")))
}

/// The configured source that reads the file at `path`: a feed file, or a
/// local source among whose files it is (the same files `fetch` reads).
fn source_of<'a>(path: &Path, config: &'a Config) -> Option<&'a Source> {
    let wanted = path.canonicalize().ok()?;
    let same = |file: &Path| file.canonicalize().is_ok_and(|file| file == wanted);
    config.sources.iter().find(|source| match &source.location {
        Location::Feed(file, _) => same(file),
        Location::Local(pattern, _) => {
            local_files(pattern).is_ok_and(|files| files.iter().any(|file| same(file)))
        }
        Location::Url(..) => false,
    })
}

/// What reading one source gave, before it is reported.
enum Read {
    /// The items, the local files that failed, the warnings, and what to
    /// send next time.
    Items {
        items: Vec<Item>,
        errors: Vec<String>,
        warnings: Vec<String>,
        validators: Validators,
    },
    NotModified,
}

impl Read {
    /// A feed's items: one document, so no file of it failed.
    fn feed(items: Vec<Item>, warnings: Vec<String>, validators: Validators) -> Read {
        Read::Items {
            items,
            errors: Vec::new(),
            warnings,
            validators,
        }
    }
}

/// A file source's "ETag": a digest of its files and of the settings that
/// shape its items, so an unchanged source is not parsed again. The
/// newsletters and the kinds their sections take are among them: a local
/// item naming a newsletter is checked again when they change.
fn file_validators<'a>(
    source: &Source,
    config: &Config,
    files: impl IntoIterator<Item = (&'a Path, &'a [u8])>,
) -> Validators {
    let mut digest = Sha256::new();
    digest.update(format!(
        "{}\0{}\0{}\0",
        source.kind().as_str(),
        config.site.teaser_width,
        source.publisher.as_deref().unwrap_or_default(),
    ));
    for newsletter in &config.newsletters {
        digest.update(newsletter.id.as_str());
        for kind in newsletter.sections.iter().flat_map(|s| &s.kinds) {
            digest.update(format!(" {}", kind.as_str()));
        }
        digest.update([0]);
    }
    for (path, bytes) in files {
        digest.update(path.to_string_lossy().as_bytes());
        digest.update([0]);
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
    Validators {
        etag: Some(format!("sha256:{}", hex(&digest.finalize()))),
        ..Validators::default()
    }
}

/// A feed's items and warnings. `base` is the URL the feed came from;
/// `content_type` is the HTTP header, whose charset says how to decode.
fn feed_items(
    source: &Source,
    kind: FeedKind,
    bytes: &[u8],
    base: Option<&url::Url>,
    content_type: Option<&str>,
    config: &Config,
) -> Result<(Vec<Item>, Vec<String>), SourceError> {
    let details = kind.details();
    let feed = read_feed(bytes, base, content_type)?;
    let items = feed
        .drafts
        .into_iter()
        .map(|draft| item(source, draft, details.clone(), config))
        .collect();
    Ok((items, feed.warnings))
}

/// A draft of `source` made an item. Its "Source:" line is the publisher
/// the item names, else the source's `publisher`, else its name.
fn item(source: &Source, mut draft: Draft, details: Details, config: &Config) -> Item {
    if draft.credit.is_none() {
        draft.credit.clone_from(&source.publisher);
    }
    draft.into_item(source.name(), details, config.site.teaser_width)
}

/// Every file the pattern names: a file, a folder's files, or a glob.
fn local_files(pattern: &str) -> Result<Vec<PathBuf>, SourceError> {
    let path = Path::new(pattern);
    let pattern = if path.is_dir() {
        format!("{}/*", pattern.trim_end_matches('/'))
    } else {
        pattern.to_string()
    };
    let mut files: Vec<PathBuf> = glob::glob(&pattern)
        .map_err(|source| SourceError::Pattern {
            pattern: pattern.clone(),
            source,
        })?
        .filter_map(Result::ok)
        .filter(|p| p.is_file() && is_local_item(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::NoFiles(pattern));
    }
    Ok(files)
}

/// The items of every readable file, and a reason for each other one;
/// nothing parsed when no file changed since `last`.
fn local_items(
    source: &Source,
    pattern: &str,
    config: &Config,
    last: Option<&Validators>,
) -> Result<Read, SourceError> {
    let files: Vec<(PathBuf, Result<Vec<u8>, SourceError>)> = local_files(pattern)?
        .into_iter()
        .map(|path| {
            let bytes = read_item_file(&path);
            (path, bytes)
        })
        .collect();
    let readable = files
        .iter()
        .filter_map(|(path, bytes)| Some((path.as_path(), bytes.as_deref().ok()?)));
    let validators = file_validators(source, config, readable);
    if Some(&validators) == last && files.iter().all(|(_, bytes)| bytes.is_ok()) {
        return Ok(Read::NotModified);
    }
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (file, bytes) in files {
        let parsed = bytes
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| SourceError::NotText(file.clone())))
            .and_then(|text: String| Ok(parse_local(&file, &text, source.kind(), &config.newsletters)?));
        match parsed {
            Ok((draft, details)) => items.push(item(source, draft, details, config)),
            Err(reason) => errors.push(said_once(&reason)),
        }
    }
    // A source with a bad file is read again next time, so the error is reported again.
    let validators = if errors.is_empty() {
        validators
    } else {
        Validators::default()
    };
    Ok(Read::Items {
        items,
        errors,
        warnings: Vec::new(),
        validators,
    })
}
