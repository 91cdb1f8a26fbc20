//! `[[source]]`: where items come from (a feed by URL or path, or local
//! item files) and which newsletters they join by default.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::located::Invalid;
use super::newsletter::{Newsletter, NewsletterId, find};
use crate::items::{Details, Kind};

/// `[[source]]` as written, with the spans errors point at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    name: Spanned<String>,
    publisher: Option<String>,
    feed: Option<Spanned<String>>,
    local: Option<Spanned<String>>,
    kind: Option<Spanned<Kind>>,
    #[serde(default)]
    newsletters: Vec<Spanned<String>>,
    weight: Option<f32>,
}

/// One source, validated.
#[derive(Debug)]
pub struct Source {
    /// Shown in reports, and in the "Source:" line when neither the item
    /// nor `publisher` names one.
    pub(crate) name: String,
    /// The "Source:" line of its items that name no publisher of their own.
    pub publisher: Option<String>,
    /// Where its items are read from, decided once when the config is read.
    pub(crate) location: Location,
    /// Newsletters every item of this source joins (by `weight`); each one exists.
    pub newsletters: Vec<NewsletterId>,
    /// Score the default newsletters get; default the newsletter's threshold.
    pub weight: Option<f32>,
}

/// Where a source's items are read from, and as what kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A feed fetched over http(s).
    Url(Url, FeedKind),
    /// A feed file, resolved against the config's folder.
    Feed(PathBuf, FeedKind),
    /// Local item files: a file, folder or glob, resolved against the config's folder.
    Local(String, Kind),
}

/// The kinds a feed can give: a feed carries no event dates or tender
/// deadlines, so events and tenders come only from local items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedKind {
    News,
    Report,
    PressReview,
}

impl FeedKind {
    pub(crate) fn new(kind: Kind) -> Option<FeedKind> {
        match kind {
            Kind::News => Some(FeedKind::News),
            Kind::Report => Some(FeedKind::Report),
            Kind::PressReview => Some(FeedKind::PressReview),
            Kind::Event | Kind::Tender => None,
        }
    }

    pub(crate) fn kind(self) -> Kind {
        match self {
            FeedKind::News => Kind::News,
            FeedKind::Report => Kind::Report,
            FeedKind::PressReview => Kind::PressReview,
        }
    }

    /// The details every item of such a feed has.
    pub(crate) fn details(self) -> Details {
        match self {
            FeedKind::News => Details::News,
            FeedKind::Report => Details::Report,
            FeedKind::PressReview => Details::PressReview,
        }
    }
}

impl Source {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Kind of the items it gives; default `news`.
    pub fn kind(&self) -> Kind {
        match &self.location {
            Location::Url(_, kind) | Location::Feed(_, kind) => kind.kind(),
            Location::Local(_, kind) => *kind,
        }
    }
}

impl RawSource {
    /// The source, validated: `i` is its place in the file, `root` the
    /// folder relative paths are resolved against.
    pub(super) fn validate(
        self,
        i: usize,
        newsletters: &[Newsletter],
        root: &Path,
    ) -> Result<Source, Invalid> {
        let location = self.location(i, root)?;
        let ids = self
            .newsletters
            .iter()
            .enumerate()
            .map(|(j, id)| {
                find(newsletters, id.get_ref())
                    .map(|n| n.id.clone())
                    .map_err(|e| {
                        Invalid::new(id.span(), format!("source[{i}].newsletters[{j}]"), e.to_string())
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Source {
            name: self.name.into_inner(),
            publisher: self.publisher.filter(|p| !p.trim().is_empty()),
            location,
            newsletters: ids,
            weight: self.weight,
        })
    }

    /// Exactly one of `feed` and `local`; a feed gives plain kinds only.
    fn location(&self, i: usize, root: &Path) -> Result<Location, Invalid> {
        let kind = self.kind.as_ref().map_or(Kind::News, |k| *k.get_ref());
        match (&self.feed, &self.local) {
            (Some(feed), Some(_)) => Err(Invalid::new(
                feed.span(),
                format!("source[{i}]"),
                format!(
                    "source {:?} sets both `feed` and `local`; use one",
                    self.name.get_ref()
                ),
            )),
            (None, None) => Err(Invalid::new(
                self.name.span(),
                format!("source[{i}]"),
                format!(
                    "source {:?} needs `feed` (a URL or file) or `local` (a glob)",
                    self.name.get_ref()
                ),
            )),
            (Some(feed), None) => {
                let url = feed_url(feed.get_ref()).map_err(|error| {
                    Invalid::new(feed.span(), format!("source[{i}].feed"), error.to_string())
                })?;
                let Some(kind) = FeedKind::new(kind) else {
                    let span = self.kind.as_ref().map_or(feed.span(), Spanned::span);
                    return Err(Invalid::new(
                        span,
                        format!("source[{i}].kind"),
                        "feeds carry no event dates or tender deadlines; use news, report or press-review, and local items for events and tenders",
                    ));
                };
                Ok(match url {
                    Some(url) => Location::Url(url, kind),
                    None => Location::Feed(root.join(feed.get_ref()), kind),
                })
            }
            (None, Some(local)) => Ok(Location::Local(
                root.join(local.get_ref()).to_string_lossy().into_owned(),
                kind,
            )),
        }
    }
}

/// A feed is an http(s) URL (`Some`) or a file path (`None`). A `file://`
/// URL would be taken for a relative path (and then not found); the message
/// says which path to write. A one-letter scheme is a Windows drive
/// (`C:\feeds\a.xml`).
fn feed_url(feed: &str) -> Result<Option<Url>, FeedUrlError> {
    match Url::parse(feed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(url)),
        Ok(url) if url.scheme() == "file" => Err(FeedUrlError::File(url.to_file_path().ok())),
        Ok(url) if url.scheme().len() > 1 => Err(FeedUrlError::Scheme(url.scheme().to_string())),
        _ => Ok(None),
    }
}

/// Why a source's `feed` is neither an http(s) URL nor a file path.
#[derive(Debug, thiserror::Error)]
enum FeedUrlError {
    /// A `file://` URL, with the path to write instead when it has one.
    #[error(
        "a file:// URL is not read; write {}",
        .0.as_ref().map_or("the file's path instead".to_string(), |path| format!("the path instead: {:?}", path.display().to_string()))
    )]
    File(Option<PathBuf>),
    #[error("scheme {0:?} is not supported; use http, https or a file path")]
    Scheme(String),
}
