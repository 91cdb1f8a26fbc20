//! The summaries feed-rs does not read: an entry's description given only
//! in an extension element. They are noted, as HTML, for an entry that
//! has no summary of its own.
//!
//! An entry's summary is, in this order, the first that is not empty:
//!
//! 1. its RSS `description` (or Atom `summary`), then its
//!    `content:encoded` (or Atom `content`): what feed-rs reads;
//! 2. in RSS, an Atom `summary`, then an Atom `content` (`atom:summary`,
//!    `atom:content`: any prefix bound to the Atom namespace), or an
//!    unqualified `summary` as feedparser reads it;
//! 3. `dc:description` (Dublin Core);
//! 4. `itunes:summary`;
//! 5. `media:description`, also inside `media:group` or `media:content`;
//! 6. an XHTML `body` (`xhtml:body`), or an unqualified `body` or
//!    `fullitem` in RSS.
//!
//! Of one kind, the first non-empty element counts.

use super::lexer::{Lexer, Tag, Token};
use super::namespaces::Ns;
use super::references::{decode_base64, repair_references, unescape};
use super::{Content, Frame, Pass};
use crate::items::escape_html;

/// How an element's content is read as HTML.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Reading {
    /// Text that is HTML (escaped, in CDATA, or naked), as in an RSS
    /// description.
    Html,
    /// Plain text, unless it looks like HTML (feedparser's guess too).
    Plain,
    /// XHTML: the elements are the content.
    Markup,
    /// An Atom text construct: its `type` says.
    Atom,
}

/// A fall-back summary element: its rank in the order above, and how it
/// is read.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) struct Fallback {
    pub(crate) rank: u8,
    pub(crate) reading: Reading,
}

impl Pass<'_> {
    /// Content with elements in it as the HTML it means: its text read as
    /// the XML parser reads it (references expanded, CDATA sections
    /// opened), its tags as written. The text is HTML (`text_is_html`,
    /// as in an RSS description, where feedparser reads it so), or text
    /// to escape (XHTML).
    pub(super) fn markup_html(&self, markup: &str, text_is_html: bool) -> String {
        let mut out = String::with_capacity(markup.len());
        let push_text = |out: &mut String, text: &str| {
            if text_is_html {
                out.push_str(text);
            } else {
                out.push_str(&escape_html(text));
            }
        };
        for (span, token) in Lexer::new(markup) {
            match token {
                Token::Text(raw) => {
                    let repaired = repair_references(raw, &self.entities);
                    push_text(&mut out, &unescape(repaired.as_deref().unwrap_or(raw)));
                }
                Token::CData(text) => push_text(&mut out, text),
                Token::Start(_) | Token::End(_) => out.push_str(&markup[span]),
                Token::Comment | Token::Pi | Token::Doctype(_) => {}
            }
        }
        out
    }

    /// Whether an element met inside an entry is a fall-back summary.
    pub(super) fn fallback(&self, tag: &Tag, ns: Ns, local: &str) -> Option<Fallback> {
        let rss = matches!(self.root, super::Root::Rss | super::Root::Rdf);
        let atom = matches!(ns, Ns::Atom | Ns::OldAtom);
        let (rank, reading) = match (ns, local) {
            (_, "summary") if atom && rss => (1, Reading::Atom),
            (_, "summary") if self.in_rss(ns) => (1, Reading::Plain),
            (_, "content") if atom && rss => (2, Reading::Atom),
            (Ns::Dc, "description") => (3, Reading::Html),
            (Ns::Itunes, "summary") => (4, Reading::Plain),
            (Ns::Media, "description") => {
                let html = tag
                    .attribute("type")
                    .is_some_and(|t| t.value.trim().eq_ignore_ascii_case("html"));
                (5, if html { Reading::Html } else { Reading::Plain })
            }
            (Ns::Xhtml, "body") => (6, Reading::Markup),
            (_, "body") if self.in_rss(ns) => (6, Reading::Markup),
            (_, "fullitem") if self.in_rss(ns) => (6, Reading::Html),
            _ => return None,
        };
        Some(Fallback { rank, reading })
    }

    /// A fall-back summary's content as HTML; its end tag is at `at`.
    pub(super) fn fallback_html(&self, frame: &Frame, reading: Reading, at: usize) -> String {
        let markup = &self.src[frame.content_at..at];
        let text = frame.text.as_deref().unwrap_or("");
        match reading {
            Reading::Html | Reading::Plain if frame.children => self.markup_html(markup, true),
            Reading::Html => text.to_string(),
            Reading::Plain => plain_as_html(text),
            Reading::Markup if frame.children => self.markup_html(markup, false),
            Reading::Markup => escape_html(text),
            Reading::Atom => self.atom_html(frame, markup, text),
        }
    }

    /// An Atom text construct as HTML, by the type the pass gave it.
    fn atom_html(&self, frame: &Frame, markup: &str, text: &str) -> String {
        let Content::AtomText { kind, base64 } = frame.content else {
            return escape_html(text);
        };
        let decoded = base64.then(|| decode_base64(text)).flatten();
        match (kind, decoded) {
            ("html", Some(html)) => html,
            (_, Some(text)) => escape_html(&text),
            ("html", None) if frame.children => self.markup_html(markup, true),
            ("html", None) => text.to_string(),
            (_, None) if frame.children => self.markup_html(markup, false),
            (_, None) => escape_html(text),
        }
    }
}

/// Plain text as HTML: escaped, unless it looks like HTML already (a tag
/// or an entity in it), as feedparser guesses for RSS.
fn plain_as_html(text: &str) -> String {
    if super::super::has_tag(text) || super::super::has_entity(text) {
        text.to_string()
    } else {
        escape_html(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `markup` as HTML, read by a pass that has read a doctype declaring
    /// an entity.
    fn markup_html(markup: &str, text_is_html: bool) -> String {
        let src = "<!DOCTYPE rss [<!ENTITY org \"EU &amp; Japan\">]><rss/>";
        let mut pass = Pass::new(src);
        for (span, token) in Lexer::new(src) {
            pass.token(span, token);
        }
        pass.markup_html(markup, text_is_html)
    }

    #[test]
    fn markup_is_html_its_text_read_as_xml() {
        let markup = "a &amp;amp; <b>b</b> &lt;i&gt;c&lt;/i&gt;<![CDATA[ <u>d</u>]]><!-- e --> &org;";
        assert_eq!(
            markup_html(markup, true),
            "a &amp; <b>b</b> <i>c</i> <u>d</u> EU & Japan"
        );
        assert_eq!(
            markup_html(markup, false),
            "a &amp;amp; <b>b</b> &lt;i&gt;c&lt;/i&gt; &lt;u&gt;d&lt;/u&gt; EU &amp; Japan"
        );
    }

    #[test]
    fn plain_text_is_escaped_unless_it_looks_like_html() {
        assert_eq!(plain_as_html("3 < 4 & 5"), "3 &lt; 4 &amp; 5");
        assert_eq!(plain_as_html("a <b>b</b>"), "a <b>b</b>");
        assert_eq!(plain_as_html("caf&eacute;"), "caf&eacute;");
    }
}
