//! The invariants the fuzz targets check, beyond "no panic": what a reader
//! of a mail relies on, checked on every item, teaser and summary the
//! parsers produce.

use bulletin::config::TomlError;
use bulletin::items::{Item, collapse_whitespace, to_text};
use unicode_width::UnicodeWidthChar;

/// The teaser width the targets use: the default `site.teaser_width`.
pub const TEASER_WIDTH: usize = 100;

/// The tags `bulletin::items::sanitize` lets through (its `TAGS`): the
/// promise to the mail's reader, restated here so a change to it is seen.
const ALLOWED_TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h3",
    "h4",
    "h5",
    "h6",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
];

/// An item as the source stage hands it on: a safe summary, its plain
/// text, and a teaser that fits.
pub fn check_item(item: &Item, width: usize) {
    check_sanitized(&item.summary_html);
    assert_eq!(item.summary_text, to_text(&item.summary_html));
    check_text(&item.summary_text);
    // The teaser is cut from the summary's text, or the title without one.
    let source = if item.summary_text.is_empty() {
        &item.title
    } else {
        &item.summary_text
    };
    check_teaser(&collapse_whitespace(source), width, &item.teaser);
}

/// `cut` is `teaser(text, width)`: the text itself when it fits, otherwise
/// a prefix of it and "…", never wider than `width` (one column at least,
/// for the "…").
pub fn check_teaser(text: &str, width: usize, cut: &str) {
    let text = text.trim();
    assert!(
        display_width(cut) <= width.max(1),
        "teaser {cut:?} is wider than {width}"
    );
    if display_width(text) <= width {
        assert_eq!(cut, text, "a text that fits is its own teaser");
    } else {
        let kept = cut.strip_suffix('…').expect("a cut teaser ends in …");
        assert!(text.starts_with(kept), "teaser {cut:?} is no prefix of {text:?}");
    }
}

/// Display columns, counted as bulletin counts them (CJK counts 2).
fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Sanitised HTML: only the allowed tags, each end tag closing the element
/// it opened (the summary goes inside the mail's own markup); attributes
/// only on links, and their `href` an http(s) or mailto URL.
pub fn check_sanitized(html: &str) {
    let mut open = Vec::new();
    for tag in tags(html) {
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        assert!(ALLOWED_TAGS.contains(&name), "tag <{tag}> in {html:?}");
        if tag.starts_with('/') {
            assert_eq!(open.pop(), Some(name), "stray <{tag}> in {html:?}");
        } else if name != "br" {
            open.push(name);
        }
        if name != "a" && !tag.starts_with('/') {
            assert!(!tag.contains('='), "attribute in <{tag}>");
        }
        if let Some(href) = attribute(tag, "href") {
            let scheme: String = href
                .trim_matches(|c: char| c <= ' ')
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .take(8)
                .collect::<String>()
                .to_ascii_lowercase();
            assert!(
                ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| scheme.starts_with(s)),
                "unsafe href {href:?}"
            );
        }
    }
    assert!(open.is_empty(), "unclosed {open:?} in {html:?}");
}

/// The inside of each tag (between `<` and `>`) of serialised HTML, where
/// text never holds a bare `<` and only attribute values (quoted) a `>`.
fn tags(html: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let inside = &rest[start + 1..];
        let mut quoted = false;
        let end = inside
            .find(|c: char| {
                quoted ^= c == '"';
                c == '>' && !quoted
            })
            .expect("every tag is closed");
        tags.push(&inside[..end]);
        rest = &inside[end + 1..];
    }
    tags
}

/// The value of `name="…"` in a serialised tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[at..].find('"')?;
    Some(&tag[at..at + len])
}

/// The plain text of a summary: paragraphs of non-empty lines, whitespace
/// collapsed, nothing before or after.
pub fn check_text(text: &str) {
    assert!(!text.contains("\n\n\n"), "empty lines in {text:?}");
    for line in text.split('\n') {
        if !line.is_empty() {
            assert_eq!(line, collapse_whitespace(line), "in {text:?}");
        }
    }
    assert_eq!(text, text.trim(), "whitespace around {text:?}");
}

/// A TOML error names a line and column inside `text`, and a reason.
pub fn check_error(error: &TomlError, text: &str) {
    let lines = text.split('\n').count();
    assert!(
        (1..=lines).contains(&error.line) && error.column >= 1,
        "{error} points outside the file"
    );
    assert!(!error.message.trim().is_empty(), "{error} says nothing");
}
