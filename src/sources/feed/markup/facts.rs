//! What the pass notes about each entry: what feed-rs drops.

use chrono::{DateTime, Utc};

use super::super::dates;
use super::namespaces::Ns;

/// What the normaliser noted about one entry: what feed-rs drops.
#[derive(Clone, Default, Debug)]
pub(crate) struct Facts {
    /// An RSS `<guid>` not marked `isPermaLink="false"`.
    pub(crate) guid_is_permalink: bool,
    /// An RSS 1.0 item's `rdf:about`: its id.
    pub(crate) about: Option<String>,
    /// A `dc:title`, or else a `media:title`, for an item without title.
    pub(crate) title: Option<String>,
    /// Texts of the date elements, by kind, in document order.
    pub(super) published_texts: Vec<String>,
    pub(super) updated_texts: Vec<String>,
    /// Whether the RSS 1.0 item has a link (feed-rs drops those without).
    pub(super) has_link: bool,
    /// The first non-empty fall-back summary of the best rank, as HTML
    /// (see `summaries`).
    pub(super) summary: Option<(u8, String)>,
    /// Who published the entry, by what says so: `dc:publisher`
    /// (`dcterms:publisher`), an RSS `<source>` or an Atom
    /// `<source><title>`, `dc:source` (`dcterms:source`).
    pub(super) publishers: [Option<String>; 3],
}

impl Facts {
    /// The publication date, else the update; of several, the last one
    /// (a later element overrides an earlier one, as in feedparser).
    pub(crate) fn published(&self) -> Option<DateTime<Utc>> {
        let last = |texts: &[String]| texts.iter().rev().find_map(|t| dates::parse(t));
        last(&self.published_texts).or_else(|| last(&self.updated_texts))
    }

    /// The summary (HTML) to use when feed-rs read none: see `summaries`
    /// for the elements and their order.
    pub(crate) fn fallback_summary(&self) -> Option<&str> {
        self.summary.as_ref().map(|(_, html)| html.as_str())
    }

    /// The publisher the "Source:" line names, when the entry names one:
    /// of the elements in [`Facts::publishers`], the first in that order
    /// that holds a name (a `dc:source` is often the URL of the original
    /// story, which names nobody).
    pub(crate) fn publisher(&self) -> Option<String> {
        self.publishers
            .iter()
            .flatten()
            .map(|name| name.trim())
            .find(|name| !url::Url::parse(name).is_ok_and(|url| url.has_host()))
            .map(str::to_string)
    }

    /// Notes a publisher of rank `rank` in [`Facts::publishers`]: the
    /// first element of each kind with text in it counts.
    pub(super) fn offer_publisher(&mut self, rank: usize, text: &str) {
        if !text.trim().is_empty() {
            self.publishers[rank].get_or_insert_with(|| text.to_string());
        }
    }

    /// Keeps a fall-back summary if it is not empty and ranks before the
    /// one kept so far.
    pub(super) fn offer_summary(&mut self, rank: u8, html: String) {
        let better = self.summary.as_ref().is_none_or(|(kept, _)| rank < *kept);
        if better && !html.trim().is_empty() {
            self.summary = Some((rank, html));
        }
    }
}

/// Notes what an entry's child says.
pub(super) fn note(facts: &mut Facts, ns: Ns, local: &str, text: &str, permalink: bool) {
    let rss = matches!(ns, Ns::Undeclared | Ns::Rss);
    let core = rss || matches!(ns, Ns::Atom | Ns::OldAtom);
    match (ns, local) {
        (_, "pubDate" | "published" | "issued") if core => facts.published_texts.push(text.to_string()),
        (Ns::Dcterms, "issued") => facts.published_texts.push(text.to_string()),
        (_, "updated" | "modified") if core => facts.updated_texts.push(text.to_string()),
        (Ns::Dc, "date") | (Ns::Dcterms, "modified") => facts.updated_texts.push(text.to_string()),
        (_, "guid") if rss => facts.guid_is_permalink = permalink && !text.trim().is_empty(),
        (_, "link") if rss => facts.has_link |= !text.is_empty(),
        (Ns::Dc, "title") => facts.title = Some(text.to_string()),
        (Ns::Media, "title") => facts.title = facts.title.take().or_else(|| Some(text.to_string())),
        (Ns::Dc | Ns::Dcterms, "publisher") => facts.offer_publisher(0, text),
        (_, "source") if rss => facts.offer_publisher(1, text),
        (Ns::Dc | Ns::Dcterms, "source") => facts.offer_publisher(2, text),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(offered: &[(usize, &str)]) -> Option<String> {
        let mut facts = Facts::default();
        for (rank, text) in offered {
            facts.offer_publisher(*rank, text);
        }
        facts.publisher()
    }

    #[test]
    fn the_publisher_is_the_first_name_by_rank() {
        assert_eq!(
            publisher(&[(2, "Kyodo"), (1, "Nikkei"), (0, " ")]).as_deref(),
            Some("Nikkei")
        );
        assert_eq!(
            publisher(&[(1, "First"), (1, "Second")]).as_deref(),
            Some("First")
        );
        assert_eq!(publisher(&[]), None);
    }

    #[test]
    fn a_url_names_no_publisher_but_a_name_with_a_colon_does() {
        assert_eq!(
            publisher(&[(0, "https://example.org/story"), (2, "www.example.org")]).as_deref(),
            Some("www.example.org")
        );
        assert_eq!(
            publisher(&[(0, "Reuters: Japan desk")]).as_deref(),
            Some("Reuters: Japan desk")
        );
        assert_eq!(publisher(&[(2, "ftp://files.example/a")]), None);
    }
}
