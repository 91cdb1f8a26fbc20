//! An HTML page where a feed was expected: a site's home page, a login
//! page, an error page. Its `<link rel="alternate">` says where the feed is.

use super::FeedError;
use super::markup::{Lexer, Tag, Token, unescape};

/// Whether the document is an HTML page: an HTML doctype, or `html`
/// (or `head`, `body`) as the first element.
pub(crate) fn is_html(text: &str) -> bool {
    for (_, token) in Lexer::new(text) {
        match token {
            Token::Doctype(doctype) => {
                let doctype = doctype.trim_start().to_ascii_lowercase();
                if doctype.starts_with("doctype html") {
                    return true;
                }
            }
            Token::Start(tag) => {
                let name = tag.name.to_ascii_lowercase();
                return ["html", "head", "body"].contains(&name.rsplit(':').next().unwrap_or(""));
            }
            _ => {}
        }
    }
    false
}

/// The error for an HTML page, with where its feed is when it says so.
pub(crate) fn not_a_feed(text: &str, base: Option<&url::Url>) -> FeedError {
    FeedError::Page(feed_link(text, base))
}

/// The first `<link rel="alternate">` to an RSS, Atom or JSON feed, made
/// absolute against the page's `<base href>` and URL.
fn feed_link(text: &str, base: Option<&url::Url>) -> Option<url::Url> {
    let mut base = base.cloned();
    for (_, token) in Lexer::new(text) {
        let Token::Start(tag) = token else {
            continue;
        };
        match tag.name.to_ascii_lowercase().as_str() {
            "base" => {
                if let Some(href) = value(&tag, "href") {
                    base = join(base.as_ref(), &href).or(base);
                }
            }
            "link" if is_feed_link(&tag) => {
                if let Some(url) = value(&tag, "href").and_then(|href| join(base.as_ref(), &href)) {
                    return Some(url);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_feed_link(tag: &Tag) -> bool {
    let rel = value(tag, "rel").unwrap_or_default().to_ascii_lowercase();
    let kind = value(tag, "type").unwrap_or_default().to_ascii_lowercase();
    let kind = kind.split(';').next().unwrap_or("").trim();
    rel.split_whitespace().any(|r| r == "alternate")
        && [
            "application/rss+xml",
            "application/atom+xml",
            "application/feed+json",
        ]
        .contains(&kind)
}

/// An attribute's value; HTML attribute names are case-insensitive.
fn value(tag: &Tag, name: &str) -> Option<String> {
    let attribute = tag
        .attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))?;
    Some(unescape(attribute.value).trim().to_string())
}

/// `href` as an absolute http(s) URL, or `None`.
fn join(base: Option<&url::Url>, href: &str) -> Option<url::Url> {
    let url = match base {
        Some(base) => base.join(href).ok()?,
        None => url::Url::parse(href).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}
