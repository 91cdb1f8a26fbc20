//! A lenient XML lexer ([`lexer`]), and the pass that readies a document
//! for feed-rs: one pass over the tokens ([`elements`]) that notes what
//! feed-rs drops ([`facts`], [`summaries`]) and repairs what it rejects,
//! misreads or panics on ([`repairs`]), as edits made to the source at
//! the end.

mod elements;
mod facts;
mod lexer;
mod namespaces;
mod references;
mod repairs;
mod summaries;

use std::ops::Range;

use super::FeedError;

pub(crate) use facts::Facts;
pub(crate) use lexer::{Lexer, Tag, Token};
use namespaces::Ns;
use references::Entities;
pub(crate) use references::unescape;
pub(crate) use repairs::pad_email;
use summaries::Fallback;

pub(crate) struct Normalised {
    pub(crate) text: String,
    pub(crate) entries: Vec<Facts>,
    /// Whether the document ends before its root element does.
    pub(crate) truncated: bool,
    /// The name of its root element when that is no feed's.
    pub(crate) foreign_root: Option<String>,
}

/// The document readied for feed-rs 3.0, and what feed-rs drops about
/// each entry. It changes what feedparser reads and feed-rs rejects or
/// ignores (a truncated document, a stray end tag, a bare `&`, naked
/// HTML in an RSS description, an RSS without `<channel>` or `version`,
/// old namespaces, Atom 0.3), and the values that make feed-rs panic. A
/// well-formed feed in the current formats comes out as it went in.
pub(crate) fn normalise(src: &str) -> Result<Normalised, FeedError> {
    let mut pass = Pass::new(src);
    let mut lexer = Lexer::new(src);
    for (span, token) in lexer.by_ref() {
        pass.token(span, token);
        if pass.stack.len() > MAX_DEPTH {
            return Err(FeedError::TooDeep(MAX_DEPTH));
        }
    }
    let truncated = pass.finish(lexer.unfinished);
    let foreign_root = (pass.root == Root::Unknown)
        .then_some(pass.root_name)
        .flatten()
        .map(str::to_string);
    Ok(Normalised {
        text: declare_utf8(apply(src, pass.edits)),
        entries: pass.entries,
        truncated,
        foreign_root,
    })
}

impl<'a> Pass<'a> {
    fn new(src: &'a str) -> Pass<'a> {
        Pass {
            src,
            root: Root::Unknown,
            root_name: None,
            root_open_end: 0,
            roots: 0,
            last_token_at: 0,
            channel: Channel::NotSeen,
            stack: Vec::new(),
            edits: Vec::new(),
            run: None,
            entry_depth: None,
            entry_at: 0,
            entries: Vec::new(),
            entities: Entities::default(),
        }
    }
}

/// Every XML declaration made to say UTF-8. The document is UTF-8 (it
/// was decoded), but feed-rs decodes it again from any encoding a
/// declaration names, and quick-xml panics when one comes after the
/// first bytes. This is a plain search, not the lexer's view: whatever
/// quick-xml may take for a declaration is one, and since the pass left
/// no CDATA, every other `<?xml` is in a comment or an attribute.
fn declare_utf8(text: String) -> String {
    const UTF8: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    if !text.contains("<?xml") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    // Where the next `?>` is: found once for many `<?xml`, not each time.
    let mut pi_end: Option<usize> = None;
    while let Some(found) = text[from..].find("<?xml") {
        let at = from + found;
        from = at + 5;
        if pi_end.is_none_or(|end| end < at + 2) {
            match text[at + 2..].find("?>") {
                Some(end) => pi_end = Some(at + 2 + end),
                None => break, // no declaration ends after here
            }
        }
        let end = pi_end.unwrap_or(at);
        if text[at + 5..].starts_with([' ', '\t', '\r', '\n']) {
            out.push_str(&text[copied..at]);
            out.push_str(UTF8);
            copied = end + 2;
            from = copied;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// How deep elements may nest. Feeds nest a few levels, XHTML content
/// a few dozen; feed-rs recurses on some nestings (`<media:group>`)
/// and would overflow the stack on thousands, and the pass would slow
/// down. What is inside an RSS description does not count: it becomes
/// text.
const MAX_DEPTH: usize = 256;

/// A replacement of a span of the source.
struct Edit {
    at: Range<usize>,
    with: String,
}

/// The source with the edits made, in source order. An edit inside the
/// span of another (a declaration inside a replaced run of text, a CDATA
/// section at the start of a description made text) is dropped. Of the
/// edits that start at one place, the insertions come first, in the
/// order they were made, then the longest replacement, which covers the
/// others.
fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.at.start, !e.at.is_empty(), std::cmp::Reverse(e.at.end)));
    let mut out = String::with_capacity(src.len() + 64);
    let mut copied = 0;
    for edit in edits {
        if edit.at.start < copied {
            continue;
        }
        out.push_str(&src[copied..edit.at.start]);
        out.push_str(&edit.with);
        copied = edit.at.end;
    }
    out.push_str(&src[copied..]);
    out
}

/// The format, by the root element, as feed-rs dispatches on it.
#[derive(Clone, Copy, PartialEq)]
enum Root {
    Rss,
    Rdf,
    AtomFeed,
    AtomEntry,
    Unknown,
}

/// feed-rs reads the items of an RSS document's first `<channel>`.
#[derive(Clone, Copy, PartialEq)]
enum Channel {
    NotSeen,
    Open,
    Closed,
}

/// What becomes of an element's content when it closes.
#[derive(PartialEq)]
enum Content {
    Keep,
    /// An Atom text construct: the `type` it is given (feed-rs knows
    /// only `text`, `html` and `xhtml`, and rejects the whole feed for a
    /// MIME type), and whether its content is base64 (Atom 0.3).
    AtomText {
        kind: &'static str,
        base64: bool,
    },
    /// An RSS title or description (or another element read the same
    /// way): naked markup in it (which feed-rs drops) is made character
    /// data, as feedparser reads it.
    RssText,
    /// An RSS item's element whose value is text (a guid): markup in it
    /// goes, its text stays.
    Flat,
    /// An Atom link with its URL as text instead of in `href`.
    LinkText,
    /// An RSS 1.0 item, which feed-rs drops when it has no link.
    RdfItem,
}

/// An open element.
struct Frame<'a> {
    name: &'a str,
    /// Where the start tag's name ends, and where the content starts.
    name_end: usize,
    content_at: usize,
    local: &'a str,
    ns: Ns,
    /// Prefixes it declares ("" for the default namespace).
    bindings: Vec<(&'a str, Ns)>,
    /// The name its end tag gets, for a renamed element.
    renamed: Option<String>,
    /// Its `type` attribute's value and where it is.
    type_attribute: Option<(String, Range<usize>)>,
    content: Content,
    /// Whether elements are inside.
    children: bool,
    /// Whether it is a fall-back summary of the entry it is in.
    fallback: Option<Fallback>,
    /// The text directly inside (all the text inside, where elements
    /// are taken as text), kept for an entry's children, for content
    /// that changes and for fall-back summaries.
    text: Option<String>,
    permalink: bool,
}

impl Frame<'_> {
    /// Whether elements inside are no structure but part of its value:
    /// HTML markup in text, or the markup around a guid's text.
    fn takes_markup_as_text(&self) -> bool {
        match self.content {
            Content::RssText | Content::Flat => true,
            Content::AtomText { kind, base64 } => kind == "html" && !base64,
            _ => false,
        }
    }

    /// Whether its content becomes character data, markup and all.
    fn wraps(&self) -> bool {
        self.takes_markup_as_text() && self.children
    }
}

/// Where an element that starts is, as far as entries go.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// It is an entry.
    Entry,
    /// It is a child of an entry.
    InEntry,
    Elsewhere,
}

/// A run of character data between two tags, as feed-rs joins it.
struct Run {
    at: Range<usize>,
    text: String,
    edits_before: usize,
}

struct Pass<'a> {
    src: &'a str,
    root: Root,
    /// The root element's name.
    root_name: Option<&'a str>,
    /// Where the root's start tag ends.
    root_open_end: usize,
    /// Top-level elements seen: feed-rs reads the first.
    roots: usize,
    last_token_at: usize,
    channel: Channel,
    stack: Vec<Frame<'a>>,
    edits: Vec<Edit>,
    run: Option<Run>,
    /// The depth of the entry being read, and where it starts.
    entry_depth: Option<usize>,
    entry_at: usize,
    entries: Vec<Facts>,
    entities: Entities,
}
