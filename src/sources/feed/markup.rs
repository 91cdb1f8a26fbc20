//! A lenient XML lexer, and the pass that readies a document for feed-rs.

use std::borrow::Cow;
use std::ops::Range;

use chrono::{DateTime, Utc};

use super::dates;
use crate::items::escape_html;

/// One piece of markup.
pub enum Token<'a> {
    /// Character data, entities not expanded.
    Text(&'a str),
    CData(&'a str),
    Start(Tag<'a>),
    End(&'a str),
    /// A processing instruction (`<?…?>`).
    Pi,
    /// What is inside `<!` and `>`.
    Doctype(&'a str),
    Comment,
}

pub struct Tag<'a> {
    pub name: &'a str,
    /// Where the name ends (a byte offset in the source).
    pub name_end: usize,
    /// Where its attributes are: from the end of the name to `>` or `/>`.
    pub attributes_at: Range<usize>,
    pub attributes: Vec<Attribute<'a>>,
    pub empty: bool,
}

pub struct Attribute<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Where the value, inside its quotes, starts in the source.
    pub value_at: usize,
}

impl Attribute<'_> {
    fn span(&self) -> Range<usize> {
        self.value_at..self.value_at + self.value.len()
    }
}

impl Tag<'_> {
    pub fn attribute(&self, name: &str) -> Option<&Attribute<'_>> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// Splits a document into tokens and never fails: what is not markup is
/// text, and a construct left open runs to the end of the input. Every
/// token is at least one byte long, so the lexer always ends.
pub struct Lexer<'a> {
    src: &'a str,
    at: usize,
    /// What the last token needs to be complete, when the input ended
    /// inside it: a truncated document.
    pub unfinished: Option<Unfinished>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Unfinished {
    /// A start tag or a declaration cut short: it has to go.
    Tag,
    /// The text that closes the construct (`>`, `]]>`, `-->`, `?>`).
    Closer(&'static str),
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            at: 0,
            unfinished: None,
        }
    }

    /// The token at `rest`, which starts with `<`, and its length. The
    /// constructs end where quick-xml ends them; a `<` that starts none
    /// is text (quick-xml would start a tag there, or fail: the pass
    /// escapes it).
    fn markup(&mut self, rest: &'a str) -> (usize, Token<'a>) {
        let mut until = |end: &'static str, from: usize| match rest[from..].find(end) {
            Some(i) => from + i + end.len(),
            None => {
                self.unfinished = Some(Unfinished::Closer(end));
                rest.len()
            }
        };
        if rest.starts_with("<!--") {
            (until("-->", 4), Token::Comment)
        } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let len = until("]]>", 9);
            (
                len,
                Token::CData(&cdata[..cdata.find("]]>").unwrap_or(cdata.len())]),
            )
        } else if rest.starts_with("<!D") || rest.starts_with("<!d") {
            let len = doctype_len(rest).unwrap_or_else(|| {
                self.unfinished = Some(Unfinished::Tag);
                rest.len()
            });
            (len, Token::Doctype(rest[2..len].trim_end_matches('>')))
        } else if rest.starts_with("<?") {
            (until("?>", 2), Token::Pi)
        } else if let Some(after) = rest.strip_prefix("</") {
            let len = until(">", 2);
            let name = after[..after.find('>').unwrap_or(after.len())].trim_end_matches(is_space);
            (len, Token::End(name))
        } else if rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':') {
            let (len, tag, complete) = start_tag(rest, self.at);
            if !complete {
                self.unfinished = Some(Unfinished::Tag);
            }
            (len, Token::Start(tag))
        } else {
            (1, Token::Text(&rest[..1]))
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    /// The token and its span in the source.
    type Item = (Range<usize>, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.src[self.at..];
        if rest.is_empty() {
            return None;
        }
        let (len, token) = if rest.starts_with('<') {
            self.markup(rest)
        } else {
            let len = rest.find('<').unwrap_or(rest.len());
            (len, Token::Text(&rest[..len]))
        };
        let span = self.at..self.at + len;
        self.at += len;
        Some((span, token))
    }
}

/// White space as XML (and quick-xml) has it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The length of `<!DOCTYPE …>`, or `None` when it does not end. This
/// follows quick-xml's reading: quotes before the internal subset; in
/// it, comments, processing instructions, and declarations whose quotes
/// count (`ENTITY`, `ATTLIST`, `NOTATION`) or not (the others).
fn doctype_len(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let find = |from: usize, what: &[u8]| -> Option<usize> {
        b.get(from..)?
            .windows(what.len())
            .position(|w| w == what)
            .map(|i| from + i)
    };
    let mut i = 2;
    // Before the internal subset.
    loop {
        match *b.get(i)? {
            q @ (b'"' | b'\'') => i = find(i + 1, &[q])? + 1,
            b'[' => break,
            b'>' => return Some(i + 1),
            _ => i += 1,
        }
    }
    // Inside it, until `]`.
    i += 1;
    loop {
        match *b.get(i)? {
            b']' => return find(i + 1, b">").map(|end| end + 1),
            b'<' => {
                let markup = &b[i + 1..];
                i = if markup.starts_with(b"?") {
                    find(i + 2, b"?>")? + 1
                } else if markup.starts_with(b"!--") {
                    find(i + 4, b"-->")? + 3
                } else if ["!ENTITY", "!ATTLIST", "!NOTATION"]
                    .iter()
                    .any(|d| markup.starts_with(d.as_bytes()))
                {
                    i + 1 + tag_end(&rest[i + 1..])?
                } else {
                    find(i + 1, b">")? + 1
                };
            }
            _ => i += 1,
        }
    }
}

/// A start tag at `rest` (`offset` in the source): its length, the tag,
/// and whether it was closed by `>`. As in quick-xml, the name runs to
/// the first white space, and a tag ending in `/>` is empty.
fn start_tag(rest: &str, offset: usize) -> (usize, Tag<'_>, bool) {
    let (len, complete) = match tag_end(rest) {
        Some(end) => (end + 1, true),
        None => (rest.len(), false),
    };
    let mut content = &rest[1..if complete { len - 1 } else { len }];
    let empty = complete && content.ends_with('/');
    if empty {
        content = &content[..content.len() - 1];
    }
    let name_len = content.find(is_space).unwrap_or(content.len());
    let name_end = offset + 1 + name_len;
    let tag = Tag {
        name: &content[..name_len],
        name_end,
        attributes_at: name_end..offset + 1 + content.len(),
        attributes: attributes(&content[name_len..], name_end),
        empty,
    };
    (len, tag, complete)
}

/// The attributes in a start tag's text after its name (`offset` in
/// the source).
fn attributes(text: &str, offset: usize) -> Vec<Attribute<'_>> {
    let skip_space = |i: usize| i + text[i..].find(|c| !is_space(c)).unwrap_or(text.len() - i);
    let mut attributes = Vec::new();
    let mut i = skip_space(0);
    while i < text.len() {
        let name_len = text[i..]
            .find(|c| is_space(c) || c == '=')
            .unwrap_or(text.len() - i);
        if name_len == 0 {
            i = skip_space(i + 1); // a stray '='
            continue;
        }
        let name = &text[i..i + name_len];
        i = skip_space(i + name_len);
        if !text[i..].starts_with('=') {
            attributes.push(Attribute {
                name,
                value: "",
                value_at: offset + i,
            });
            continue;
        }
        i = skip_space(i + 1);
        let (value_at, value_len, quote) = match text[i..].chars().next() {
            Some(q @ ('"' | '\'')) => {
                let len = text[i + 1..].find(q).unwrap_or(text.len() - i - 1);
                (i + 1, len, 1)
            }
            _ => (i, text[i..].find(is_space).unwrap_or(text.len() - i), 0),
        };
        attributes.push(Attribute {
            name,
            value: &text[value_at..value_at + value_len],
            value_at: offset + value_at,
        });
        i = skip_space((value_at + value_len + quote).min(text.len()));
    }
    attributes
}

/// Where a start tag ends: the first `>` outside quotes, where any quote
/// opens a quoted stretch. This is quick-xml's rule, which must be
/// followed exactly: a lexer that saw the document differently could
/// miss what quick-xml then reads.
fn tag_end(rest: &str) -> Option<usize> {
    let mut quote = None;
    for (i, b) in rest.bytes().enumerate() {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            _ => {}
        }
    }
    None
}

/// Text with the XML entities and character references expanded, as
/// feed-rs expands them; other entities are left as they are.
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(rest) {
            Some((len, Reference::Char(c))) => {
                out.push(c);
                rest = &rest[len..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// What `&…;` at the start of `text` is.
enum Reference {
    /// A character: numeric, or one of XML's five entities.
    Char(char),
    /// A well-formed reference to another entity (`&nbsp;`).
    Named,
    /// A numeric reference to no character (`&#0;`, `&#xD800;`).
    Invalid,
}

/// The reference at the start of `text` and its length, or `None` when
/// the `&` starts no reference (a bare ampersand).
fn reference(text: &str) -> Option<(usize, Reference)> {
    let end = text.as_bytes().iter().take(34).skip(1).position(|&b| b == b';')? + 1;
    let name = &text[1..end];
    let reference = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).unwrap_or(u32::MAX)
            }
            None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
                number.parse().unwrap_or(u32::MAX)
            }
            _ => return None,
        };
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .map_or(Reference::Invalid, Reference::Char)
    } else {
        let mut chars = name.chars();
        let starts_well = chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':');
        if !starts_well || !chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
            return None;
        }
        match name {
            "lt" => Reference::Char('<'),
            "gt" => Reference::Char('>'),
            "amp" => Reference::Char('&'),
            "quot" => Reference::Char('"'),
            "apos" => Reference::Char('\''),
            _ => Reference::Named,
        }
    };
    Some((end + 1, reference))
}

/// Raw character data made acceptable to quick-xml, which rejects the
/// whole document for what feedparser reads: a bare `&` (in a URL's
/// query, say), `&#X41;`, or a reference to no character. `None` when
/// the text is fine.
///
/// Entities the document declares in its DOCTYPE are expanded too (as
/// text), which feed-rs does not do.
fn repair_references(raw: &str, entities: &Entities) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in raw.match_indices('&') {
        if at < copied {
            continue;
        }
        let (len, repaired) = match reference(&raw[at..]) {
            None => (1, "&amp;".to_string()),
            Some((len, Reference::Invalid)) => (len, "&#xFFFD;".to_string()),
            Some((len, Reference::Char(c))) if raw[at..].starts_with("&#X") => {
                (len, format!("&#x{:X};", u32::from(c)))
            }
            Some((len, Reference::Named)) => match entities.value(&raw[at + 1..at + len - 1]) {
                Some(value) => (len, escape_html(value)),
                None => continue,
            },
            Some(_) => continue,
        };
        out.push_str(&raw[copied..at]);
        out.push_str(&repaired);
        copied = at + len;
    }
    (copied > 0).then(|| out + &raw[copied..])
}

/// The general entities a DOCTYPE declares: `<!ENTITY name "value">`.
#[derive(Default)]
struct Entities {
    declared: Vec<(String, String)>,
    /// Bytes expanded so far.
    expanded: std::cell::Cell<usize>,
}

impl Entities {
    /// Expansions stop at this many bytes: a document cannot blow up.
    const BUDGET: usize = 1 << 20;

    /// Up to 64 entities of up to 256 bytes: enough for a feed.
    fn declare(&mut self, doctype: &str) {
        for declaration in doctype.split("<!ENTITY").skip(1) {
            let mut words = declaration.trim_start().splitn(2, char::is_whitespace);
            let (Some(name), Some(rest)) = (words.next(), words.next()) else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(quote) = rest.chars().next().filter(|q| *q == '"' || *q == '\'') else {
                continue; // a parameter entity, or an external one
            };
            let Some(len) = rest[1..].find(quote) else {
                continue;
            };
            if name != "%" && len <= 256 && self.declared.len() < 64 {
                self.declared
                    .push((name.to_string(), unescape(&rest[1..1 + len]).into_owned()));
            }
        }
    }

    /// The value of a declared entity, while the budget lasts.
    fn value(&self, name: &str) -> Option<&str> {
        let value = self
            .declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())?;
        let expanded = self.expanded.get() + value.len();
        self.expanded.set(expanded);
        (expanded <= Self::BUDGET).then_some(value)
    }
}

/// The namespaces that matter here.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Ns {
    /// No namespace declared: the root's format decides.
    Undeclared,
    Atom,
    /// Atom 0.3 and its drafts: Atom, with older names.
    OldAtom,
    Rss,
    Content,
    Dc,
    Dcterms,
    Media,
    Other,
}

/// The namespace a URI names, and the URI feed-rs knows it by when it
/// knows it by another (feedparser matches URIs case-insensitively and
/// knows the old ones).
fn namespace(uri: &str) -> (Ns, Option<&'static str>) {
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    const RSS: &str = "http://purl.org/rss/1.0/";
    match uri.trim().to_ascii_lowercase().as_str() {
        "http://www.w3.org/2005/atom" => (Ns::Atom, Some(ATOM)),
        "http://purl.org/atom/ns#"
        | "http://purl.org/echo/"
        | "http://purl.org/pie/"
        | "http://example.com/newformat#"
        | "http://example.com/necho"
        | "uri/of/echo/namespace#" => (Ns::OldAtom, Some(ATOM)),
        "http://purl.org/rss/1.0/"
        | "http://backend.userland.com/rss"
        | "http://backend.userland.com/rss2"
        | "http://blogs.law.harvard.edu/tech/rss"
        | "http://my.netscape.com/rdf/simple/0.9/"
        | "http://purl.org/rss/1.0/modules/rss091#" => (Ns::Rss, Some(RSS)),
        "http://purl.org/rss/1.0/modules/content/" => {
            (Ns::Content, Some("http://purl.org/rss/1.0/modules/content/"))
        }
        "http://purl.org/dc/elements/1.1/" => (Ns::Dc, Some("http://purl.org/dc/elements/1.1/")),
        "http://purl.org/dc/terms/" => (Ns::Dcterms, None),
        "http://search.yahoo.com/mrss" | "http://search.yahoo.com/mrss/" => {
            (Ns::Media, Some("http://search.yahoo.com/mrss/"))
        }
        "http://www.itunes.com/dtds/podcast-1.0.dtd" | "http://example.com/dtds/podcast-1.0.dtd" => {
            (Ns::Other, Some("http://www.itunes.com/dtds/podcast-1.0.dtd"))
        }
        _ => (Ns::Other, None),
    }
}

/// What the normaliser noted about one entry: what feed-rs drops.
#[derive(Clone, Default, Debug)]
pub struct Facts {
    /// An RSS `<guid>` not marked `isPermaLink="false"`.
    pub guid_is_permalink: bool,
    /// An RSS 1.0 item's `rdf:about`: its id.
    pub about: Option<String>,
    /// A `dc:title`, or else a `media:title`, for an item without title.
    pub title: Option<String>,
    /// Texts of the date elements, by kind, in document order.
    published_texts: Vec<String>,
    updated_texts: Vec<String>,
    /// Whether the RSS 1.0 item has a link (feed-rs drops those without).
    has_link: bool,
}

impl Facts {
    /// The publication date, else the update; of several, the last one
    /// (a later element overrides an earlier one, as in feedparser).
    pub fn published(&self) -> Option<DateTime<Utc>> {
        let last = |texts: &[String]| texts.iter().rev().find_map(|t| dates::parse(t));
        last(&self.published_texts).or_else(|| last(&self.updated_texts))
    }
}

/// Notes what an entry's child says.
fn note(facts: &mut Facts, ns: Ns, local: &str, text: &str, permalink: bool) {
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
        _ => {}
    }
}

pub struct Normalised {
    pub text: String,
    pub entries: Vec<Facts>,
    /// Whether the document ends before its root element does.
    pub truncated: bool,
}

/// The document readied for feed-rs 3.0, and what feed-rs drops about
/// each entry. It changes what feedparser reads and feed-rs rejects or
/// ignores (a truncated document, a stray end tag, a bare `&`, naked
/// HTML in an RSS description, an RSS without `<channel>` or `version`,
/// old namespaces, Atom 0.3), and the values that make feed-rs panic. A
/// well-formed feed in the current formats comes out as it went in.
pub fn normalise(src: &str) -> Result<Normalised, String> {
    let mut pass = Pass {
        src,
        root: Root::Unknown,
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
    };
    let mut lexer = Lexer::new(src);
    for (span, token) in lexer.by_ref() {
        pass.token(span, token);
        if pass.stack.len() > MAX_DEPTH {
            return Err(format!("elements nested more than {MAX_DEPTH} deep"));
        }
    }
    let truncated = pass.finish(lexer.unfinished);
    Ok(Normalised {
        text: declare_utf8(apply(src, pass.edits)),
        entries: pass.entries,
        truncated,
    })
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
/// span of an earlier one (a declaration inside a replaced run of text)
/// is dropped.
fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| e.at.start);
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
    /// An RSS title or description: naked markup in it (which feed-rs
    /// drops) is made character data, as feedparser reads it.
    RssText,
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
    /// The text directly inside, kept for an entry's children and for
    /// content that changes.
    text: Option<String>,
    permalink: bool,
}

impl Frame<'_> {
    /// Whether its content becomes character data, markup and all.
    fn wraps(&self) -> bool {
        self.content == Content::RssText && self.children
    }
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

impl<'a> Pass<'a> {
    fn token(&mut self, span: Range<usize>, token: Token<'a>) {
        self.last_token_at = span.start;
        match token {
            // A `<` that starts no markup, as in "a < b".
            Token::Text("<") => {
                self.text(span.clone(), "<");
                self.edit(span, "&lt;".to_string());
            }
            Token::Text(raw) => {
                // The text as feed-rs will read it: repaired, then expanded.
                let repaired = repair_references(raw, &self.entities);
                self.text(span.clone(), &unescape(repaired.as_deref().unwrap_or(raw)));
                if let Some(repaired) = repaired {
                    self.edit(span, repaired);
                }
            }
            Token::CData(text) => {
                self.text(span.clone(), text);
                self.edit(span, escape_html(text));
            }
            Token::Pi => self.text(span, ""),
            Token::Comment => self.text(span, ""),
            Token::Doctype(doctype) => self.entities.declare(doctype),
            Token::Start(tag) => {
                self.end_run();
                self.start(span, tag);
            }
            // An end tag that closes nothing goes, and is no break in
            // the text around it.
            Token::End(name) if !self.stack.iter().any(|f| f.name == name) => {
                self.text(span.clone(), "");
                self.edit(span, String::new());
            }
            Token::End(name) => {
                self.end_run();
                self.end(span, name);
            }
        }
    }

    fn edit(&mut self, at: Range<usize>, with: String) {
        self.edits.push(Edit { at, with });
    }

    fn insert(&mut self, at: usize, text: String) {
        self.edit(at..at, text);
    }

    fn text(&mut self, span: Range<usize>, text: &str) {
        let edits_before = self.edits.len();
        let run = self.run.get_or_insert_with(|| Run {
            at: span.clone(),
            text: String::new(),
            edits_before,
        });
        run.at.end = span.end;
        run.text.push_str(text);
    }

    /// The end of a run of text: kept where it is wanted, and defused
    /// where feed-rs would panic on it.
    fn end_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if let Some(text) = frame.text.as_mut() {
            text.push_str(&run.text);
        }
        let safe = match frame.local {
            "author" | "managingEditor" | "webMaster" | "creator" | "name" => pad_email(&run.text),
            "duration" => (!npt_safe(&run.text)).then(String::new),
            _ => None,
        };
        if let Some(safe) = safe {
            self.edits.truncate(run.edits_before);
            self.edit(run.at, escape_html(&safe));
        }
    }

    /// A start tag: the structure noted, the tag repaired, the entry
    /// (if it starts one) noted, the element opened.
    fn start(&mut self, span: Range<usize>, tag: Tag<'a>) {
        if let Some(parent) = self.stack.last_mut().filter(|f| f.content == Content::RssText) {
            // Markup in an RSS description: text to be, whatever it holds.
            parent.children = true;
            return;
        }
        let bindings = self.bind(&tag);
        let ns = self.resolve(tag.name, &bindings);
        let depth = self.stack.len();
        self.structure(&tag, depth, span.end);
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if local == "text" || local == "thumbnail" {
            self.defuse_times(&tag);
        }
        self.repair_attributes(&tag);
        let (renamed, local) = match self.rename(&tag, ns, local, depth) {
            Some((name, new_local)) => (Some(name), new_local),
            None => (None, local),
        };
        let is_entry = self.is_entry(depth, ns, local);
        if is_entry {
            self.enter_entry(&tag, depth, span.start);
        }
        let in_entry = self.entry_depth.is_some_and(|d| d + 1 == depth);
        if tag.empty {
            self.empty_element(span, &tag, ns, local, in_entry, is_entry);
            return;
        }
        let content = self.content(&tag, ns, local, is_entry);
        self.stack.push(Frame {
            name: tag.name,
            name_end: tag.name_end,
            content_at: span.end,
            local,
            ns,
            bindings,
            renamed,
            type_attribute: tag.attribute("type").map(|a| (a.value.to_string(), a.span())),
            text: (in_entry || content != Content::Keep).then(String::new),
            content,
            children: false,
            permalink: tag
                .attribute("isPermaLink")
                .is_none_or(|a| !a.value.trim().eq_ignore_ascii_case("false")),
        });
    }

    /// Notes what a start tag at `depth` says of the document's shape:
    /// the root (the first one: feed-rs reads no other), the first RSS
    /// channel, an element with elements in it.
    fn structure(&mut self, tag: &Tag, depth: usize, open_end: usize) {
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if depth == 0 {
            self.roots += 1;
            if self.roots == 1 {
                self.root(tag, local, open_end);
            }
        }
        if depth == 1 && local == "channel" && self.root == Root::Rss && self.channel == Channel::NotSeen {
            self.channel = Channel::Open;
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.children = true;
        }
    }

    fn enter_entry(&mut self, tag: &Tag, depth: usize, at: usize) {
        let about = tag
            .attribute("rdf:about")
            .map(|a| unescape(a.value).trim().to_string());
        self.entries.push(Facts {
            about,
            ..Facts::default()
        });
        self.entry_depth = Some(depth);
        self.entry_at = at;
    }

    /// Notes the format, and gives RSS the version feed-rs wants.
    fn root(&mut self, tag: &Tag, local: &str, open_end: usize) {
        self.root = match local {
            "rss" => Root::Rss,
            "RDF" => Root::Rdf,
            "feed" => Root::AtomFeed,
            "entry" => Root::AtomEntry,
            _ => Root::Unknown,
        };
        self.root_open_end = open_end;
        if self.root == Root::Rss {
            self.rss_version(tag);
        }
    }

    /// The namespace of a tag named `name`.
    fn resolve(&self, name: &str, own: &[(&str, Ns)]) -> Ns {
        let prefix = name.split_once(':').map_or("", |(p, _)| p);
        own.iter()
            .chain(self.stack.iter().rev().flat_map(|f| f.bindings.iter()))
            .find(|(p, _)| *p == prefix)
            .map_or(Ns::Undeclared, |(_, ns)| *ns)
    }

    /// The namespaces the tag declares, renaming the URIs that feed-rs
    /// knows by another one.
    fn bind(&mut self, tag: &Tag<'a>) -> Vec<(&'a str, Ns)> {
        let mut bindings = Vec::new();
        for attribute in &tag.attributes {
            let prefix = match attribute.name.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(prefix) => prefix,
                    None => continue,
                },
                None => continue,
            };
            let (ns, canonical) = namespace(&unescape(attribute.value));
            if let Some(canonical) = canonical.filter(|c| *c != attribute.value) {
                self.edit(attribute.span(), canonical.to_string());
            }
            bindings.push((prefix, ns));
        }
        bindings
    }

    /// feed-rs reads RSS only when `version` is 2.0, 0.91 or 0.92;
    /// feedparser reads any RSS, and so do we, as 2.0.
    fn rss_version(&mut self, tag: &Tag) {
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
    fn defuse_times(&mut self, tag: &Tag) {
        let text = &self.src[tag.attributes_at.clone()];
        if !npt_safe(text) || text.contains("&#") {
            self.edit(tag.attributes_at.clone(), safe_times(text));
        }
    }

    /// Attribute values made acceptable: references repaired, and an
    /// `xml:base` that is no URL reference (on which feed-rs fails the
    /// whole feed) emptied.
    fn repair_attributes(&mut self, tag: &Tag) {
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

    /// Whether an element in `ns` is an Atom element.
    fn in_atom(&self, ns: Ns) -> bool {
        ns == Ns::Atom
            || ns == Ns::OldAtom
            || (ns == Ns::Undeclared && matches!(self.root, Root::AtomFeed | Root::AtomEntry))
    }

    fn in_rss(&self, ns: Ns) -> bool {
        matches!(self.root, Root::Rss | Root::Rdf) && matches!(ns, Ns::Undeclared | Ns::Rss)
    }

    /// Atom 0.3 names as Atom 1.0's, and an Atom feed's `<item>` as
    /// `<entry>`. Returns the element's new name and local name.
    fn rename(&mut self, tag: &Tag, ns: Ns, local: &str, depth: usize) -> Option<(String, &'static str)> {
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

    /// What becomes of the content of an element that starts.
    fn content(&mut self, tag: &Tag, ns: Ns, local: &str, is_entry: bool) -> Content {
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
            || (ns == Ns::Content && local == "encoded");
        if rss_text {
            return Content::RssText;
        }
        if is_entry && self.root == Root::Rdf {
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
    fn empty_element(
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

    /// Whether an element at `depth` is an entry as feed-rs sees one.
    fn is_entry(&self, depth: usize, ns: Ns, local: &str) -> bool {
        let rss = ns == Ns::Rss || ns == Ns::Undeclared;
        if self.roots > 1 {
            return false;
        }
        match self.root {
            Root::Rss => {
                local == "item"
                    && rss
                    && ((depth == 2 && self.channel == Channel::Open && self.stack[1].local == "channel")
                        || (depth == 1 && self.channel == Channel::NotSeen))
            }
            Root::Rdf => depth == 1 && local == "item" && rss,
            Root::AtomFeed => depth == 1 && local == "entry" && self.in_atom(ns),
            Root::AtomEntry => depth == 0,
            Root::Unknown => false,
        }
    }

    /// An end tag. One that closes an element with others still open
    /// inside closes those first, as a browser would: quick-xml
    /// rejects a document where it does not.
    fn end(&mut self, span: Range<usize>, name: &str) {
        let Some(index) = self.stack.iter().rposition(|f| f.name == name) else {
            return;
        };
        let closers = self.close_above(index, span.start);
        if !closers.is_empty() {
            self.insert(span.start, closers);
        }
        if let Some(new_name) = self.stack[index].renamed.clone() {
            let start = span.start + 2;
            self.edit(start..start + name.len(), new_name);
        }
        if index == 0 && self.roots == 1 && self.wraps_channel() {
            self.insert(self.root_open_end, "<channel>".to_string());
            self.insert(span.start, "</channel>".to_string());
        }
        self.close(span.start);
    }

    /// Closes the elements above `index` at `at`; returns their end
    /// tags. Inside content that becomes character data, nothing is
    /// closed or changed: it is text.
    fn close_above(&mut self, index: usize, at: usize) -> String {
        if let Some(wrapping) = (index..self.stack.len()).find(|&i| self.stack[i].wraps()) {
            let edits = self.edits.len();
            while self.stack.len() > wrapping + 1 {
                self.close(at);
            }
            self.edits.truncate(edits);
        }
        let mut closers = String::new();
        while self.stack.len() > index + 1 {
            self.close_into(at, &mut closers);
        }
        closers
    }

    /// Whether an RSS document without `<channel>` gets one around its
    /// items (feedparser reads items anywhere, feed-rs in a channel).
    fn wraps_channel(&self) -> bool {
        self.root == Root::Rss && self.channel == Channel::NotSeen && !self.entries.is_empty()
    }

    /// Closes the innermost element and adds the end tag it gets to
    /// `closers`.
    fn close_into(&mut self, at: usize, closers: &mut String) {
        if let Some(frame) = self.stack.last() {
            closers.push_str("</");
            closers.push_str(frame.renamed.as_deref().unwrap_or(frame.name));
            closers.push('>');
        }
        self.close(at);
    }

    /// Closes the innermost element, whose end tag is (or goes) at `at`.
    fn close(&mut self, at: usize) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let depth = self.stack.len();
        if self.entry_depth == Some(depth) {
            self.entry_depth = None;
        }
        if depth == 1 && frame.local == "channel" && self.channel == Channel::Open {
            self.channel = Channel::Closed;
        }
        self.finish_content(&frame, at);
        let in_entry = self.entry_depth.is_some_and(|d| d + 1 == depth);
        if let (true, Some(text), Some(facts)) = (in_entry, &frame.text, self.entries.last_mut()) {
            note(facts, frame.ns, frame.local, text, frame.permalink);
        }
    }

    fn finish_content(&mut self, frame: &Frame, at: usize) {
        let text = frame.text.as_deref().unwrap_or("");
        match frame.content {
            Content::AtomText { kind, base64 } => self.finish_atom_text(frame, at, kind, base64),
            Content::RssText if frame.children => {
                let markup = without_cdata_markers(&self.src[frame.content_at..at]);
                self.edit(frame.content_at..at, escape_html(&markup));
            }
            Content::LinkText if !text.trim().is_empty() => {
                self.insert(frame.name_end, format!(" href=\"{}\"", escape_html(text.trim())));
            }
            Content::RdfItem if !self.entries.last().is_some_and(|f| f.has_link) => {
                self.insert(at, "<link> </link>".to_string());
            }
            _ => {}
        }
    }

    /// An Atom text construct gets the type feed-rs reads it by: base64
    /// is decoded, and text with elements in it is XHTML (feed-rs would
    /// read only the text before the first element).
    fn finish_atom_text(&mut self, frame: &Frame, at: usize, kind: &'static str, base64: bool) {
        let mut kind = kind;
        let decoded = base64
            .then(|| decode_base64(frame.text.as_deref().unwrap_or("")))
            .flatten();
        if let Some(decoded) = decoded {
            self.edit(frame.content_at..at, escape_html(&decoded));
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

    /// The end of the input. An entry cut short goes; otherwise a
    /// construct cut short is completed (a start tag cut short goes).
    /// The elements left open are closed, so a truncated feed keeps the
    /// entries it has in full. Returns whether the document was cut
    /// short (its root left open).
    fn finish(&mut self, unfinished: Option<Unfinished>) -> bool {
        self.end_run();
        let end = self.src.len();
        if let Some(depth) = self.entry_depth.take() {
            // An entry cut short is no entry: it goes, whole.
            self.edit(self.entry_at..end, String::new());
            self.entries.pop();
            self.stack.truncate(depth);
        } else {
            match unfinished {
                Some(Unfinished::Tag) => {
                    self.edit(self.last_token_at..end, String::new());
                    // A cut start tag was taken as open; it is not.
                    if self.stack.last().is_some_and(|f| f.content_at == end) {
                        self.stack.pop();
                    }
                }
                Some(Unfinished::Closer(closer)) => self.insert(end, closer.to_string()),
                None => {}
            }
        }
        if self.stack.is_empty() {
            return false;
        }
        let wrap = self.roots == 1 && self.wraps_channel();
        let mut closers = self.close_above(0, end);
        if wrap {
            closers.push_str("</channel>");
            self.insert(self.root_open_end, "<channel>".to_string());
        }
        self.close_into(end, &mut closers);
        self.insert(end, closers);
        true
    }
}

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

/// Markup with each CDATA section replaced by its text.
fn without_cdata_markers(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut rest = markup;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&rest[..start]);
        let inside = &rest[start + 9..];
        let end = inside.find("]]>").unwrap_or(inside.len());
        out.push_str(&inside[..end]);
        rest = inside.get(end + 3..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn decode_base64(text: &str) -> Option<String> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok()
}

/// feed-rs 3.0 slices a person's name around an e-mail address at byte
/// offsets, and panics when a multi-byte character touches the address
/// (`info@example.jp（JETRO）`). A space between the two keeps it on
/// character boundaries. `None` when the text is fine as it is.
pub fn pad_email(text: &str) -> Option<String> {
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
pub fn npt_safe(text: &str) -> bool {
    let short_runs = text
        .split(|c: char| !c.is_ascii_digit())
        .all(|run| run.len() <= 9);
    short_runs && !text.chars().any(|c| !c.is_ascii() && c.is_numeric())
}
