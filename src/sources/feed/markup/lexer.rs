//! The lexer: a document split into tokens, never failing, as quick-xml
//! splits it.

use std::ops::Range;

/// One piece of markup.
pub(crate) enum Token<'a> {
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

pub(crate) struct Tag<'a> {
    pub(crate) name: &'a str,
    /// Where the name ends (a byte offset in the source).
    pub(crate) name_end: usize,
    /// Where its attributes are: from the end of the name to `>` or `/>`.
    pub(crate) attributes_at: Range<usize>,
    pub(crate) attributes: Vec<Attribute<'a>>,
    pub(crate) empty: bool,
}

pub(crate) struct Attribute<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    /// Where the value, inside its quotes, starts in the source.
    pub(crate) value_at: usize,
}

impl Attribute<'_> {
    pub(super) fn span(&self) -> Range<usize> {
        self.value_at..self.value_at + self.value.len()
    }
}

impl Tag<'_> {
    pub(crate) fn attribute(&self, name: &str) -> Option<&Attribute<'_>> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// Splits a document into tokens and never fails: what is not markup is
/// text, and a construct left open runs to the end of the input. Every
/// token is at least one byte long, so the lexer always ends.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    at: usize,
    /// What the last token needs to be complete, when the input ended
    /// inside it: a truncated document.
    pub(crate) unfinished: Option<Unfinished>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Unfinished {
    /// A start tag or a declaration cut short: it has to go.
    Tag,
    /// The text that closes the construct (`>`, `]]>`, `-->`, `?>`).
    Closer(&'static str),
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Lexer<'a> {
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
