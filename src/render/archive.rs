//! The web archive: index pages listing editions, and an Atom feed per
//! newsletter. The same page template serves `out/index.html` (relative
//! links, for a look on disk) and `out/archive/` (absolute links from the
//! configured base URL, ready to copy to any web server).

use askama::Template;

use crate::config::Site;

/// A newsletter on an index page, with its editions newest first.
pub(crate) struct ArchiveGroup {
    pub(crate) title: String,
    pub(crate) description: String,
    /// The newsletter's own index page, when the page lists several.
    pub(crate) link: Option<String>,
    /// Its Atom feed.
    pub(crate) feed: Option<String>,
    pub(crate) editions: Vec<ArchiveEntry>,
}

pub(crate) struct ArchiveEntry {
    pub(crate) number: u32,
    pub(crate) date: String,
    pub(crate) items: usize,
    pub(crate) html: String,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "archive.html")]
struct ArchivePage<'a> {
    site_name: &'a str,
    publisher: &'a str,
    heading: &'a str,
    home: &'a str,
    groups: &'a [ArchiveGroup],
    /// `site.subscribe_url`: the sign-up form.
    subscribe_url: Option<&'a str>,
}

impl ArchivePage<'_> {
    /// A newsletter's own page is headed with its title already: the
    /// group under it does not say it again.
    fn shows_title(&self, group: &ArchiveGroup) -> bool {
        group.title != self.heading
    }
}

pub(crate) fn render_archive_page(
    site: &Site,
    heading: &str,
    groups: &[ArchiveGroup],
) -> Result<String, askama::Error> {
    ArchivePage {
        site_name: &site.name,
        publisher: site.publisher(),
        heading,
        home: site.base_url.as_str(),
        groups,
        subscribe_url: site.subscribe_url.as_ref().map(url::Url::as_str),
    }
    .render()
}

/// One edition in a newsletter's Atom feed.
pub(crate) struct FeedEntry {
    pub(crate) title: String,
    pub(crate) url: String,
    /// RFC 3339.
    pub(crate) updated: String,
    /// The first items' titles.
    pub(crate) summary: String,
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct AtomFeed<'a> {
    title: &'a str,
    description: &'a str,
    self_url: &'a str,
    page_url: &'a str,
    author: &'a str,
    updated: &'a str,
    entries: &'a [FeedEntry],
}

/// What an Atom feed says of itself: named, so that the four strings
/// cannot be swapped without the compiler seeing it.
pub(crate) struct FeedHead<'a> {
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    /// The feed's own URL (`rel="self"`).
    pub(crate) self_url: &'a str,
    /// The archive page it belongs to (`rel="alternate"`).
    pub(crate) page_url: &'a str,
}

/// The Atom feed of a newsletter's editions; `updated` is its newest entry's
/// time (or `fallback` when there is none), so the bytes only change when an
/// edition does.
pub(crate) fn render_atom(
    site: &Site,
    head: &FeedHead<'_>,
    entries: &[FeedEntry],
    fallback: &str,
) -> Result<String, askama::Error> {
    AtomFeed {
        title: head.title,
        description: head.description,
        self_url: head.self_url,
        page_url: head.page_url,
        author: &site.name,
        updated: entries
            .iter()
            .map(|e| e.updated.as_str())
            .max()
            .unwrap_or(fallback),
        entries,
    }
    .render()
}
