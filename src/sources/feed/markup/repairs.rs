//! What the pass changes so that feed-rs 3.0 reads a document as
//! feedparser does, and does not panic on it.

use std::ops::Range;

use super::facts::note;
use super::lexer::Tag;
use super::namespaces::Ns;
use super::references::{decode_base64, repair_references, unescape};
use super::summaries::{Fallback, Reading};
use super::{Content, Frame, Pass, Place, Root};
use crate::items::escape_html;

impl<'a> Pass<'a> {
    /// feed-rs reads RSS only when `version` is 2.0, 0.91 or 0.92;
    /// feedparser reads any RSS, and so do we, as 2.0.
    pub(super) fn rss_version(&mut self, tag: &Tag) {
        match tag.attribute("version") {
            Some(v) if v.value == "2.0" => {}
            Some(v) => self.edit(v.span(), "2.0".to_string()),
            None => self.insert(tag.name_end, " version=\"2.0\"".to_string()),
        }
    }

    /// Media RSS times (`<media:text start end>`, `<media:thumbnail
    /// time>`) made safe for feed-rs 3.0, which unwraps the parse of
    /// every digit run in them (Unicode digits included) and multiplies
    /// unchecked. The whole attribute text of the tag is made safe, not
    /// just those attributes: quick-xml may split a malformed tag into
    /// attributes differently.
    pub(super) fn defuse_times(&mut self, tag: &Tag) {
        let text = &self.src[tag.attributes_at.clone()];
        if !npt_safe(text) || text.contains("&#") {
            self.edit(tag.attributes_at.clone(), safe_times(text));
        }
    }

    /// Attribute values made acceptable: references repaired, and an
    /// `xml:base` that is no URL reference (on which feed-rs fails the
    /// whole feed) emptied.
    pub(super) fn repair_attributes(&mut self, tag: &Tag) {
        for attribute in &tag.attributes {
            let unusable = attribute.name == "xml:base"
                && !matches!(
                    url::Url::parse(&unescape(attribute.value)),
                    Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase)
                );
            if unusable {
                self.edit(attribute.span(), String::new());
            } else if let Some(repaired) = repair_references(attribute.value, &self.entities) {
                self.edit(attribute.span(), repaired);
            }
        }
    }

    /// Atom 0.3 names as Atom 1.0's, and an Atom feed's `<item>` as
    /// `<entry>`. Returns the element's new name and local name.
    pub(super) fn rename(
        &mut self,
        tag: &Tag,
        ns: Ns,
        local: &str,
        depth: usize,
    ) -> Option<(String, &'static str)> {
        if !self.in_atom(ns) {
            return None;
        }
        let new_local = match local {
            "item" if depth == 1 && self.root == Root::AtomFeed => "entry",
            _ if ns != Ns::OldAtom => return None,
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            "copyright" => "rights",
            "url" => "uri",
            _ => return None,
        };
        let new_name = match tag.name.rsplit_once(':') {
            Some((prefix, _)) => format!("{prefix}:{new_local}"),
            None => new_local.to_string(),
        };
        self.edit(tag.name_end - tag.name.len()..tag.name_end, new_name.clone());
        Some((new_name, new_local))
    }

    /// What becomes of the content of an element that starts; `place`
    /// says where it is, and `fallback` whether it is a fall-back
    /// summary.
    pub(super) fn content(
        &mut self,
        tag: &Tag,
        ns: Ns,
        local: &str,
        place: Place,
        fallback: Option<Fallback>,
    ) -> Content {
        let atom_text = ["title", "subtitle", "summary", "rights", "content"].contains(&local);
        if self.in_atom(ns) && atom_text {
            if local == "content" && tag.attribute("src").is_some() {
                self.content_src_type(tag);
                return Content::Keep;
            }
            return atom_text_type(tag);
        }
        if self.in_atom(ns) && local == "link" && tag.attribute("href").is_none() {
            return Content::LinkText;
        }
        let rss_text = (self.in_rss(ns) && (local == "title" || local == "description"))
            || (ns == Ns::Content && local == "encoded")
            || fallback.is_some_and(|f| matches!(f.reading, Reading::Html | Reading::Plain));
        if rss_text {
            return Content::RssText;
        }
        if place == Place::InEntry && self.in_rss(ns) && RSS_VALUES.contains(&local) {
            return Content::Flat;
        }
        if place == Place::Entry && self.root == Root::Rdf {
            return Content::RdfItem;
        }
        Content::Keep
    }

    /// Content given by `src` has a MIME type, which feed-rs insists on.
    fn content_src_type(&mut self, tag: &Tag) {
        if let Some(kind) = tag.attribute("type").filter(|t| !t.value.contains('/')) {
            self.edit(kind.span(), "text/html".to_string());
        }
    }

    /// An empty element. An RSS `<link href="…"/>` (Atom's form, in RSS)
    /// becomes `<link>…</link>`; an empty RSS 1.0 item gets a link.
    pub(super) fn empty_element(
        &mut self,
        span: Range<usize>,
        tag: &Tag,
        ns: Ns,
        local: &str,
        in_entry: bool,
        is_entry: bool,
    ) {
        if is_entry {
            self.entry_depth = None;
            if self.root == Root::Rdf {
                let name = tag.name;
                self.edit(span.end - 2..span.end, format!("><link> </link></{name}>"));
            }
            return;
        }
        if self.stack.is_empty() && self.roots == 1 && self.root == Root::Rss {
            // `<rss/>`: an RSS document with nothing in it.
            let name = tag.name;
            self.edit(span.end - 2..span.end, format!("><channel></channel></{name}>"));
            return;
        }
        let Some(href) = tag
            .attribute("href")
            .filter(|_| self.in_rss(ns) && local == "link")
        else {
            return;
        };
        let href = unescape(href.value);
        self.edit(
            span,
            format!("<{0}>{1}</{0}>", tag.name, escape_html(href.trim())),
        );
        if let (true, Some(facts)) = (in_entry, self.entries.last_mut()) {
            note(facts, ns, local, &href, true);
        }
    }

    pub(super) fn finish_content(&mut self, frame: &Frame, at: usize) {
        let text = frame.text.as_deref().unwrap_or("");
        match frame.content {
            Content::AtomText { kind, base64 } => self.finish_atom_text(frame, at, kind, base64),
            Content::RssText if frame.children => self.markup_as_text(frame, at),
            // Only the text of what is inside: its value.
            Content::Flat if frame.children => self.edit(frame.content_at..at, escape_html(text)),
            Content::LinkText if !text.trim().is_empty() => {
                self.insert(frame.name_end, format!(" href=\"{}\"", escape_html(text.trim())));
            }
            Content::RdfItem if !self.entries.last().is_some_and(|f| f.has_link) => {
                self.insert(at, "<link> </link>".to_string());
            }
            _ => {}
        }
    }

    /// Content whose elements are HTML markup made character data, as
    /// feedparser reads it (feed-rs would read only the text before the
    /// first element). A CDATA section in it is HTML too.
    fn markup_as_text(&mut self, frame: &Frame, at: usize) {
        let html = self.markup_html(&self.src[frame.content_at..at], true);
        self.edit(frame.content_at..at, escape_html(&html));
    }

    /// An Atom text construct gets the type feed-rs reads it by: base64
    /// is decoded; text with elements in it is XHTML, and HTML with
    /// elements in it (invalid, but common) keeps them as HTML (feed-rs
    /// would read only the text before the first element either way).
    fn finish_atom_text(&mut self, frame: &Frame, at: usize, kind: &'static str, base64: bool) {
        let mut kind = kind;
        let decoded = base64
            .then(|| decode_base64(frame.text.as_deref().unwrap_or("")))
            .flatten();
        if let Some(decoded) = decoded {
            self.edit(frame.content_at..at, escape_html(&decoded));
        } else if frame.wraps() {
            self.markup_as_text(frame, at);
        } else if kind == "text" && frame.children {
            kind = "xhtml";
        }
        match &frame.type_attribute {
            Some((value, _)) if value == kind => {}
            Some((_, span)) => self.edit(span.clone(), kind.to_string()),
            None if kind != "text" => self.insert(frame.name_end, format!(" type=\"{kind}\"")),
            None => {}
        }
    }
}

/// The children of an RSS item whose value is their text, which feed-rs
/// reads as none at all when an element is inside (`<guid><p>abc</p></guid>`):
/// feedparser reads the text, and so do we.
const RSS_VALUES: [&str; 6] = ["guid", "link", "category", "author", "comments", "pubDate"];

/// An Atom text construct's `type`, as one of `text`, `html`, `xhtml`.
fn atom_text_type(tag: &Tag) -> Content {
    let value = tag
        .attribute("type")
        .map_or("text".to_string(), |t| t.value.trim().to_ascii_lowercase());
    let mode = tag.attribute("mode").map(|m| m.value.trim().to_ascii_lowercase());
    let kind = match value.as_str() {
        "text" | "text/plain" => "text",
        "html" | "text/html" => "html",
        "xhtml" => "xhtml",
        _ if value.ends_with("xml") && mode.as_deref() == Some("escaped") => "html",
        _ if value.ends_with("xml") => "xhtml",
        _ if value.contains("html") => "html",
        _ => "text",
    };
    // Atom 1.0 says a MIME type that is neither text nor XML means
    // base64; Atom 0.3 said so with `mode`.
    let binary = value.contains('/') && !value.starts_with("text/") && !value.ends_with("xml");
    let base64 = mode.as_deref() == Some("base64") || binary;
    // Decoded base64 is put back escaped: XHTML would be text in it.
    let kind = if base64 && kind == "xhtml" { "html" } else { kind };
    Content::AtomText { kind, base64 }
}

/// feed-rs 3.0 slices a person's name around an e-mail address at byte
/// offsets, and panics when a multi-byte character touches the address
/// (`info@example.jp（JETRO）`). A space between the two keeps it on
/// character boundaries. `None` when the text is fine as it is.
pub(crate) fn pad_email(text: &str) -> Option<String> {
    let touching = |a: char, b: char| {
        (!a.is_ascii() && b.is_ascii() && !b.is_ascii_whitespace())
            || (a.is_ascii() && !a.is_ascii_whitespace() && !b.is_ascii())
    };
    let chars: Vec<char> = text.chars().collect();
    if !text.contains('@') || !chars.windows(2).any(|w| touching(w[0], w[1])) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && touching(chars[i - 1], *c) {
            out.push(' ');
        }
        out.push(*c);
    }
    Some(out)
}

/// Text without character references, with every digit run that
/// feed-rs cannot read as a time (too long; non-ASCII) made "0".
fn safe_times(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        plain.push_str(&rest[..at]);
        let end = rest[at..].find(';').map_or(at + 2, |e| at + e + 1);
        rest = &rest[end..];
    }
    plain.push_str(rest);
    let mut out = String::with_capacity(plain.len());
    let mut run = String::new();
    for c in plain.chars().chain(['\u{0}']) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() > 9 { "0" } else { &run });
        run.clear();
        if !c.is_ascii() && c.is_numeric() {
            out.push('0');
        } else if c != '\u{0}' {
            out.push(c);
        }
    }
    out
}

/// Whether feed-rs 3.0 can read this as a Media RSS or iTunes time: it
/// unwraps the parse of every digit run it finds (Unicode digits
/// included) and multiplies them unchecked.
pub(crate) fn npt_safe(text: &str) -> bool {
    let short_runs = text
        .split(|c: char| !c.is_ascii_digit())
        .all(|run| run.len() <= 9);
    short_runs && !text.chars().any(|c| !c.is_ascii() && c.is_numeric())
}
