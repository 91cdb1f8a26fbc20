//! The web archive: index pages listing editions, and an Atom feed per
//! newsletter. The same page template serves `out/index.html` (relative
//! links, for a look on disk) and `out/archive/` (absolute links from the
//! configured base URL, ready to copy to any web server).

use askama::Template;

use crate::config::Site;

/// A newsletter on an index page, with its editions newest first.
pub struct ArchiveGroup {
    pub title: String,
    pub description: String,
    /// The newsletter's own index page, when the page lists several.
    pub link: Option<String>,
    /// Its Atom feed.
    pub feed: Option<String>,
    pub editions: Vec<ArchiveEntry>,
}

pub struct ArchiveEntry {
    pub number: u32,
    pub date: String,
    pub items: usize,
    pub html: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "archive.html")]
struct ArchivePage<'a> {
    site_name: &'a str,
    heading: &'a str,
    home: &'a str,
    groups: &'a [ArchiveGroup],
}

impl ArchivePage<'_> {
    /// A newsletter's own page is headed with its title already: the
    /// group under it does not say it again.
    fn shows_title(&self, group: &ArchiveGroup) -> bool {
        group.title != self.heading
    }
}

pub fn render_archive_page(
    site: &Site,
    heading: &str,
    groups: &[ArchiveGroup],
) -> Result<String, askama::Error> {
    ArchivePage {
        site_name: &site.name,
        heading,
        home: site.base_url.as_str(),
        groups,
    }
    .render()
}

/// One edition in a newsletter's Atom feed.
pub struct FeedEntry {
    pub title: String,
    pub url: String,
    /// RFC 3339.
    pub updated: String,
    /// The first items' titles.
    pub summary: String,
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
pub struct FeedHead<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// The feed's own URL (`rel="self"`).
    pub self_url: &'a str,
    /// The archive page it belongs to (`rel="alternate"`).
    pub page_url: &'a str,
}

/// The Atom feed of a newsletter's editions; `updated` is its newest entry's
/// time (or `fallback` when there is none), so the bytes only change when an
/// edition does.
pub fn render_atom(
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
