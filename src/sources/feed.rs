//! Feed bytes (RSS, Atom, JSON Feed) to drafts of items, through feed-rs.

use feed_rs::model::{Entry, Text};

use crate::items::{Draft, sanitize, to_text};

/// Parses a feed; `base` (the feed's URL) resolves relative links.
pub fn parse_feed(bytes: &[u8], base: Option<&url::Url>) -> Result<Vec<Draft>, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base.map(url::Url::as_str))
        .sanitize_content(false)
        // An empty id means "none given": the item is then known by its link.
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser.parse(bytes).map_err(|e| {
        if looks_like_html(bytes) {
            "not a feed: got an HTML page".to_string()
        } else {
            format!("not a valid feed: {e}")
        }
    })?;
    let feed_link = feed
        .links
        .iter()
        .find_map(|link| url::Url::parse(&link.href).ok())
        .or_else(|| base.cloned());
    Ok(feed
        .entries
        .into_iter()
        .map(|entry| draft(entry, feed_link.as_ref()))
        .collect())
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

fn draft(entry: Entry, base: Option<&url::Url>) -> Draft {
    let base = entry
        .base
        .as_deref()
        .and_then(|b| url::Url::parse(b).ok())
        .or_else(|| base.cloned());
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or(entry.links.first())
        .map(|l| resolve(&l.href, base.as_ref()))
        .unwrap_or_default();
    let summary_html = entry
        .summary
        .as_ref()
        .filter(|s| !s.content.trim().is_empty())
        .map(text_as_html)
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.clone()))
        .unwrap_or_default();
    Draft {
        guid: Some(entry.id).filter(|id| !id.is_empty()),
        title: entry.title.as_ref().map(plain_text).unwrap_or_default(),
        link,
        published: entry.published.or(entry.updated),
        summary_html,
        categories: entry
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term))
            .filter(|c| !c.trim().is_empty())
            .collect(),
        credit: None,
    }
}

fn resolve(href: &str, base: Option<&url::Url>) -> String {
    match base {
        Some(base) => base
            .join(href)
            .map(String::from)
            .unwrap_or_else(|_| href.to_string()),
        None => href.to_string(),
    }
}

fn is_html(text: &Text) -> bool {
    text.content_type.subty().as_str().contains("html")
}

/// A title is shown as text: markup in an HTML title is dropped. RSS says
/// nothing of a title's type, and feeds put escaped HTML there, so a title
/// that holds a tag is read as HTML too.
fn plain_text(text: &Text) -> String {
    if is_html(text) || has_tag(&text.content) {
        to_text(&sanitize(&text.content, None)).replace('\n', " ")
    } else {
        text.content.clone()
    }
}

fn has_tag(text: &str) -> bool {
    text.match_indices('<').any(|(i, _)| {
        text[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') && text[i..].contains('>')
    })
}

/// A text/plain summary escaped so it can go through the HTML sanitiser.
fn text_as_html(text: &Text) -> String {
    if is_html(text) {
        text.content.clone()
    } else {
        text.content
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_with_relative_links() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://ex.example/news/</link>
            <item><title>A &amp; B</title><link>/a?utm_source=x</link><guid isPermaLink="false">42</guid>
            <pubDate>Mon, 16 Nov 2026 09:00:00 +0900</pubDate><description>&lt;p&gt;Hello&lt;/p&gt;</description><category>trade</category></item>
            </channel></rss>"#;
        let drafts = parse_feed(rss, None).unwrap();
        assert_eq!(drafts.len(), 1);
        let d = &drafts[0];
        assert_eq!(d.title, "A & B");
        assert_eq!(d.link, "https://ex.example/a?utm_source=x");
        assert_eq!(d.guid.as_deref(), Some("42"));
        assert_eq!(d.published.unwrap().to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert_eq!(d.categories, ["trade"]);
    }

    #[test]
    fn rss_without_guid_has_no_id() {
        let rss = br#"<rss version="2.0"><channel><title>T</title><item><title>A</title><link>https://ex.example/a</link></item></channel></rss>"#;
        assert_eq!(parse_feed(rss, None).unwrap()[0].guid, None);
    }

    #[test]
    fn reports_html_page_as_not_a_feed() {
        let err = parse_feed(b"<!DOCTYPE html><html><body>Hi</body></html>", None).unwrap_err();
        assert_eq!(err, "not a feed: got an HTML page");
    }

    #[test]
    fn reports_broken_xml() {
        let err = parse_feed(b"<rss version=\"2.0\"><channel><title>T</title><item>", None).unwrap_err();
        assert!(err.starts_with("not a valid feed"), "{err}");
    }
}
