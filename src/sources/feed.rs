//! Feed bytes (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to drafts of items.
//!
//! feed-rs does the parsing; this module makes it read what Python's
//! feedparser, the reference parser, reads from the same bytes:
//!
//! 1. [`charset`] decodes the bytes to UTF-8 by the RFC 3023 rules (BOM, XML
//!    declaration, HTTP charset), so feed-rs only ever sees UTF-8;
//! 2. [`page`] turns an HTML page into a useful error;
//! 3. [`markup`] normalises the document for feed-rs 3.0: it renames what
//!    feedparser accepts and feed-rs ignores (old Atom and RSS namespaces, RSS
//!    versions, Atom 0.3 names, MIME types as Atom text types), defuses the
//!    values that make feed-rs panic, and notes per entry what feed-rs drops
//!    (RSS guids' permalink flag, RDF `about`, the many date elements);
//! 4. [`dates`] reads the date formats feeds use, and nothing else.

use feed_rs::model::{Entry, Feed, FeedType, Link, LinkTarget, Text};

use crate::items::{Draft, sanitize, to_text};

/// Parses a feed. `base` (the feed's URL) resolves relative links;
/// `content_type` is the HTTP Content-Type, whose charset, by RFC 3023,
/// wins over the document's own declaration.
pub fn parse_feed(
    bytes: &[u8],
    base: Option<&url::Url>,
    content_type: Option<&str>,
) -> Result<Vec<Draft>, String> {
    let text = charset::decode(bytes, content_type);
    if page::is_html(&text) {
        return Err(page::not_a_feed(&text, base));
    }
    let (text, facts, truncated) = if text.trim_start().starts_with('{') {
        (json::defuse(text), Vec::new(), false)
    } else {
        let normalised = markup::normalise(&text).map_err(|e| format!("not a valid feed: {e}"))?;
        (normalised.text, normalised.entries, normalised.truncated)
    };
    let feed = parser(base)
        .parse(text.as_bytes())
        .map_err(|e| format!("not a valid feed: {e}"))?;
    // A cut-short feed is read for the entries it has in full; with none,
    // it is what it looks like: broken.
    if truncated && feed.entries.is_empty() {
        return Err("not a valid feed: it ends before its last entry does".to_string());
    }
    Ok(drafts(feed, facts, base))
}

/// A parser for one document. feed-rs keeps Media RSS state in the parser
/// and asserts it is clean when an entry starts, so a parser that saw a
/// failed parse must not be used again: each document gets its own.
fn parser(base: Option<&url::Url>) -> feed_rs::parser::Parser {
    feed_rs::parser::Builder::new()
        .base_uri(base.map(url::Url::as_str))
        .sanitize_content(false)
        .timestamp_parser(dates::parse)
        // An empty id means "none given": the item is then known by its link.
        .id_generator(|_, _, _| String::new())
        .build()
}

/// The drafts of a parsed feed. What [`markup`] noted about the entries is
/// only used when it saw as many entries as feed-rs did, in the same order.
fn drafts(feed: Feed, facts: Vec<markup::Facts>, base: Option<&url::Url>) -> Vec<Draft> {
    let fallback = base.cloned().or_else(|| feed_link(&feed));
    let facts = if facts.len() == feed.entries.len() {
        facts
    } else {
        vec![markup::Facts::default(); feed.entries.len()]
    };
    let kind = feed.feed_type.clone();
    feed.entries
        .into_iter()
        .zip(facts)
        .map(|(entry, facts)| draft(entry, &facts, &kind, fallback.as_ref()))
        .collect()
}

/// The feed's own page, the base of last resort for relative item links
/// when the document's URL is not known (a local file).
fn feed_link(feed: &Feed) -> Option<url::Url> {
    alternate(&feed.links)
        .into_iter()
        .chain(&feed.links)
        .find_map(|link| url::Url::parse(&link.href).ok())
}

fn draft(entry: Entry, facts: &markup::Facts, kind: &FeedType, base: Option<&url::Url>) -> Draft {
    let base = entry
        .base
        .as_deref()
        .and_then(|b| url::Url::parse(b).ok())
        .or_else(|| base.cloned());
    let id = facts.about.clone().unwrap_or_else(|| entry.id.trim().to_string());
    let link = link(&entry, facts, base.as_ref()).unwrap_or_default();
    let title = match &entry.title {
        Some(text) if !text.content.trim().is_empty() => plain_title(&text.content, is_html(text), kind),
        _ => facts
            .title
            .as_deref()
            .map(|t| plain_title(t, false, kind))
            .unwrap_or_default(),
    };
    let published = facts.published().or(entry.published).or(entry.updated);
    Draft {
        guid: Some(id).filter(|id| !id.is_empty()),
        title,
        link,
        published: published.filter(dates::plausible),
        summary_html: summary_html(&entry),
        categories: entry
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term))
            .filter(|c| !c.trim().is_empty())
            .collect(),
        credit: None,
    }
}

/// The entry's page: its alternate link; failing that an RSS permalink
/// guid, or an id that is an http(s) URL (feedparser does the same, and an
/// entry with a page is worth more than one without). An RSS 1.0 item's
/// `rdf:about` names the item; feedparser does not take it for its page,
/// nor do we.
fn link(entry: &Entry, facts: &markup::Facts, base: Option<&url::Url>) -> Option<String> {
    if let Some(link) = alternate(&entry.links) {
        return Some(resolve(&link.href, base));
    }
    let id = entry.id.trim();
    if facts.about.is_some() || id.is_empty() {
        return None;
    }
    let permalink = facts.guid_is_permalink.then(|| resolve(id, base));
    permalink
        .into_iter()
        .chain([id.to_string()])
        .find(|candidate| url::Url::parse(candidate).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
}

/// The link to show: the first `alternate` one (Atom's default) that is a
/// page rather than, say, an enclosure's audio; then any `alternate` one.
/// Comment links are never the entry's page.
fn alternate(links: &[Link]) -> Option<&Link> {
    let candidates = || {
        links.iter().filter(|l| {
            l.rel
                .as_deref()
                .is_none_or(|rel| rel.trim().eq_ignore_ascii_case("alternate"))
                && !matches!(l.target, Some(LinkTarget::Comments | LinkTarget::CommentsFeed))
                && !l.href.trim().is_empty()
        })
    };
    let is_page = |l: &&Link| {
        l.media_type
            .as_deref()
            .is_none_or(|t| t.contains("html") || t.trim().is_empty())
    };
    candidates().find(is_page).or_else(|| candidates().next())
}

fn resolve(href: &str, base: Option<&url::Url>) -> String {
    let href = href.trim();
    match base {
        Some(base) => base
            .join(href)
            .map(String::from)
            .unwrap_or_else(|_| href.to_string()),
        None => href.to_string(),
    }
}

fn summary_html(entry: &Entry) -> String {
    entry
        .summary
        .as_ref()
        .filter(|s| !s.content.trim().is_empty())
        .map(text_as_html)
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.clone()))
        .unwrap_or_default()
}

fn is_html(text: &Text) -> bool {
    let subtype = text.content_type.subty();
    subtype.as_str().contains("html")
}

/// A title as plain text: markup in an HTML title is dropped and its
/// entities decoded. RSS says nothing of a title's type and feeds put
/// (escaped) HTML there, so an RSS title that holds a tag or an entity is
/// read as HTML too; Atom and JSON Feed say what their titles are.
fn plain_title(title: &str, html: bool, kind: &FeedType) -> String {
    let rss = matches!(kind, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    if html || (rss && (has_tag(title) || has_entity(title))) {
        to_text(&sanitize(title, None)).replace('\n', " ")
    } else {
        title.to_string()
    }
}

fn has_tag(text: &str) -> bool {
    let Some(last_gt) = text.rfind('>') else {
        return false;
    };
    text.match_indices('<')
        .any(|(i, _)| i < last_gt && text[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/'))
}

/// `&name;`, `&#123;` or `&#x1F;`: an entity left for an HTML reader.
fn has_entity(text: &str) -> bool {
    text.match_indices('&').any(|(i, _)| {
        let rest = &text.as_bytes()[i + 1..];
        let Some(end) = rest.iter().take(33).position(|&b| b == b';') else {
            return false;
        };
        let name = rest[..end].strip_prefix(b"#").unwrap_or(&rest[..end]);
        !name.is_empty() && name.iter().all(u8::is_ascii_alphanumeric)
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

/// Decoding bytes to text, the way RFC 3023 and feedparser say.
mod charset {
    use encoding_rs::Encoding;

    /// A character encoding: encoding_rs's, plus the two that it (being
    /// made for the web) does not have, and strict US-ASCII, which the web
    /// reads as windows-1252 but RFC 3023 means literally.
    #[derive(Clone, Copy, PartialEq, Debug)]
    pub enum Charset {
        Ascii,
        Utf32Le,
        Utf32Be,
        Web(&'static Encoding),
    }

    /// The document as UTF-8 text, without a byte order mark or NULs. The
    /// candidate encodings are tried in feedparser's order: the one RFC
    /// 3023 picks, the declared one, the one the first bytes show, UTF-8;
    /// then, for a damaged document, the one the first bytes show with
    /// replacement characters if it is a wide one, else windows-1252
    /// (which decodes anything).
    pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
        let (sniffed, body) = sniff(bytes);
        let declared = declared(body, sniffed);
        let (media_type, http_charset) = content_type.map(split_content_type).unwrap_or_default();
        let preferred = rfc3023(&media_type, http_charset.as_deref(), declared, body);
        let strict = [
            preferred,
            declared,
            sniffed,
            Some(Charset::Web(encoding_rs::UTF_8)),
        ];
        let text = strict
            .into_iter()
            .flatten()
            .find_map(|charset| charset.decode(body))
            .unwrap_or_else(|| match sniffed {
                Some(wide) if wide.is_wide() => wide.decode_lossy(body),
                _ => encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(body)
                    .0
                    .into_owned(),
            });
        // NUL is no XML character, and quick-xml would take "\0<\0?" for
        // the start of a UTF-16 document.
        let text = if text.contains('\0') {
            text.replace('\0', "")
        } else {
            text
        };
        match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }

    impl Charset {
        /// The text, or `None` when the bytes are not valid in this encoding.
        pub fn decode(self, bytes: &[u8]) -> Option<String> {
            match self {
                Charset::Ascii => bytes
                    .is_ascii()
                    .then(|| String::from_utf8_lossy(bytes).into_owned()),
                Charset::Utf32Le => utf32(bytes, u32::from_le_bytes),
                Charset::Utf32Be => utf32(bytes, u32::from_be_bytes),
                Charset::Web(encoding) => encoding
                    .decode_without_bom_handling_and_without_replacement(bytes)
                    .map(|text| text.into_owned()),
            }
        }

        /// The text, with U+FFFD for what is not valid in this encoding.
        fn decode_lossy(self, bytes: &[u8]) -> String {
            match self {
                Charset::Utf32Le | Charset::Utf32Be => {
                    let read = if self == Charset::Utf32Le {
                        u32::from_le_bytes
                    } else {
                        u32::from_be_bytes
                    };
                    bytes
                        .chunks(4)
                        .map(|c| match <[u8; 4]>::try_from(c) {
                            Ok(unit) => char::from_u32(read(unit)).unwrap_or('\u{fffd}'),
                            Err(_) => '\u{fffd}',
                        })
                        .collect()
                }
                Charset::Web(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
                Charset::Ascii => String::from_utf8_lossy(bytes).into_owned(),
            }
        }

        fn is_wide(self) -> bool {
            matches!(self, Charset::Utf32Le | Charset::Utf32Be)
                || self == Charset::Web(encoding_rs::UTF_16LE)
                || self == Charset::Web(encoding_rs::UTF_16BE)
        }
    }

    fn utf32(bytes: &[u8], read: fn([u8; 4]) -> u32) -> Option<String> {
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        bytes
            .chunks_exact(4)
            .map(|c| char::from_u32(read([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    /// The encoding the first bytes show (a byte order mark, or `<?` in a
    /// wide encoding; XML 1.0 appendix F), and the bytes after the mark.
    fn sniff(bytes: &[u8]) -> (Option<Charset>, &[u8]) {
        const MARKS: [(&[u8], Charset); 5] = [
            (&[0x00, 0x00, 0xFE, 0xFF], Charset::Utf32Be),
            (&[0xFF, 0xFE, 0x00, 0x00], Charset::Utf32Le),
            (&[0xFE, 0xFF], Charset::Web(encoding_rs::UTF_16BE)),
            (&[0xFF, 0xFE], Charset::Web(encoding_rs::UTF_16LE)),
            (&[0xEF, 0xBB, 0xBF], Charset::Web(encoding_rs::UTF_8)),
        ];
        const SHAPES: [(&[u8], Charset); 4] = [
            (&[0x00, 0x3C, 0x00, 0x3F], Charset::Web(encoding_rs::UTF_16BE)),
            (&[0x3C, 0x00, 0x3F, 0x00], Charset::Web(encoding_rs::UTF_16LE)),
            (&[0x00, 0x00, 0x00, 0x3C], Charset::Utf32Be),
            (&[0x3C, 0x00, 0x00, 0x00], Charset::Utf32Le),
        ];
        if let Some((mark, charset)) = MARKS.iter().find(|(mark, _)| bytes.starts_with(mark)) {
            return (Some(*charset), &bytes[mark.len()..]);
        }
        let shape = SHAPES.iter().find(|(shape, _)| bytes.starts_with(shape));
        (shape.map(|(_, charset)| *charset), bytes)
    }

    /// The encoding named by the XML declaration. A declaration that says
    /// "UTF-16" in a document whose bytes say which UTF-16 means those.
    fn declared(body: &[u8], sniffed: Option<Charset>) -> Option<Charset> {
        let head = &body[..body.len().min(1024)];
        let head = match sniffed {
            Some(wide) if wide.is_wide() => {
                let unit = if matches!(wide, Charset::Utf32Le | Charset::Utf32Be) {
                    4
                } else {
                    2
                };
                wide.decode(&head[..head.len() / unit * unit])?
            }
            // An ASCII-compatible encoding: enough to read the declaration.
            _ => head
                .iter()
                .map(|&b| if b.is_ascii() { b as char } else { '\u{fffd}' })
                .collect(),
        };
        let label = declared_label(&head)?;
        let charset = lookup(&label)?;
        match sniffed {
            Some(wide) if wide.is_wide() && is_unicode_family(&label) => Some(wide),
            _ => Some(charset),
        }
    }

    /// The `encoding` pseudo-attribute of a leading `<?xml …?>`. Leading
    /// white space, which XML forbids and PHP scripts emit, is allowed.
    pub fn declared_label(text: &str) -> Option<String> {
        let declaration = text.trim_start().strip_prefix("<?xml")?;
        let declaration = &declaration[..declaration.find("?>")?];
        let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
        let after = after.trim_start().strip_prefix('=')?.trim_start();
        let quote = after.chars().next().filter(|&q| q == '"' || q == '\'')?;
        let value = &after[1..];
        Some(value[..value.find(quote)?].trim().to_string())
    }

    fn is_unicode_family(label: &str) -> bool {
        let label = label.to_ascii_lowercase();
        [
            "u16", "utf16", "utf-16", "utf_16", "u32", "utf32", "utf-32", "utf_32", "ucs-2", "ucs-4",
        ]
        .contains(&label.as_str())
            || label.starts_with("iso-10646")
            || label == "csucs4"
            || label == "csunicode"
    }

    /// The encoding a label names, with the names Python knows and the
    /// WHATWG list does not.
    pub fn lookup(label: &str) -> Option<Charset> {
        let label = label.trim().to_ascii_lowercase();
        let web = |encoding| Some(Charset::Web(encoding));
        match label.as_str() {
            "" => None,
            "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "646" => Some(Charset::Ascii),
            "utf-32" | "utf32" | "utf_32" | "u32" | "ucs-4" | "iso-10646-ucs-4" | "csucs4" | "utf-32le"
            | "utf_32_le" => Some(Charset::Utf32Le),
            "utf-32be" | "utf_32_be" => Some(Charset::Utf32Be),
            "u16" | "utf16" | "utf_16" | "ucs-2" | "iso-10646-ucs-2" | "csunicode" => {
                web(encoding_rs::UTF_16LE)
            }
            "cp932" | "ms932" | "mskanji" | "ms-kanji" => web(encoding_rs::SHIFT_JIS),
            "gb2312" => web(encoding_rs::GB18030),
            _ => Encoding::for_label(label.as_bytes())
                .or_else(|| Encoding::for_label(label.replace('_', "-").as_bytes()))
                .map(Charset::Web),
        }
    }

    /// The media type (lower case) and the charset parameter.
    fn split_content_type(content_type: &str) -> (String, Option<String>) {
        let mut parts = content_type.split(';');
        let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let charset = parts.find_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        });
        (media_type, charset.filter(|c| !c.is_empty()))
    }

    /// RFC 3023: for application/xml types the HTTP charset wins, then the
    /// declaration, then UTF-8; for text/xml types only the HTTP charset
    /// counts and the default is US-ASCII; JSON is UTF-8; with no
    /// Content-Type the declaration counts.
    fn rfc3023(
        media_type: &str,
        http: Option<&str>,
        declared: Option<Charset>,
        body: &[u8],
    ) -> Option<Charset> {
        let http = http.and_then(lookup);
        let application_xml = [
            "application/xml",
            "application/xml-dtd",
            "application/xml-external-parsed-entity",
        ]
        .contains(&media_type)
            || (media_type.starts_with("application/") && media_type.ends_with("+xml"));
        let json = ["application/feed+json", "application/json"].contains(&media_type)
            || (media_type.is_empty() && body.trim_ascii_start().starts_with(b"{"));
        if application_xml {
            http.or(declared).or(Some(Charset::Web(encoding_rs::UTF_8)))
        } else if json {
            http.or(Some(Charset::Web(encoding_rs::UTF_8)))
        } else if media_type.starts_with("text/") {
            http.or(Some(Charset::Ascii))
        } else {
            declared.or(Some(Charset::Web(encoding_rs::UTF_8)))
        }
    }
}

/// Dates in the formats feeds use: W3C-DTF/RFC 3339, RFC 822 and its
/// variants, asctime, compact ISO 8601, and the CJK forms. A date that is
/// not one of these is no date: never a guess, never "now".
mod dates {
    use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

    /// Parses a date; a time zone it does not know counts as UTC, as in
    /// feedparser.
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if text.is_empty() || text.len() > 128 {
            return None;
        }
        w3dtf(text)
            .or_else(|| rfc822(text))
            .or_else(|| asctime(text))
            .or_else(|| compact(text))
            .or_else(|| cjk(text))
            .filter(plausible)
    }

    /// Whether a date can be a publication date. Feeds write the Unix epoch
    /// (or year 0, or 9999) when they have no date; such a date would sort
    /// the item first or last forever.
    pub fn plausible(date: &DateTime<Utc>) -> bool {
        use chrono::Datelike;
        (1900..=2200).contains(&date.year()) && date.timestamp() != 0
    }

    /// A cursor over ASCII-ish text, for the fixed-shape formats.
    struct Cursor<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Cursor<'_> {
        fn new(s: &str) -> Cursor<'_> {
            Cursor {
                s: s.as_bytes(),
                i: 0,
            }
        }

        /// A number of `min..=max` digits.
        fn number(&mut self, min: usize, max: usize) -> Option<u32> {
            let digits = self.s[self.i..]
                .iter()
                .take(max)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits < min {
                return None;
            }
            let value = self.s[self.i..self.i + digits]
                .iter()
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
            self.i += digits;
            Some(value)
        }

        /// Skips digits (a fraction of a second, which dates do not keep).
        fn skip_digits(&mut self) {
            self.i += self.s[self.i..].iter().take_while(|b| b.is_ascii_digit()).count();
        }

        fn eat(&mut self, byte: u8) -> bool {
            let found = self.s.get(self.i) == Some(&byte);
            self.i += usize::from(found);
            found
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn rest(&self) -> &str {
            std::str::from_utf8(&self.s[self.i..]).unwrap_or("")
        }
    }

    /// W3C-DTF (a profile of ISO 8601, RFC 3339 included): `2003-12-31`,
    /// `2003-12-31T10:14:55Z`, `2003-12-31 10:14:55.5-08:00`, `2003-12`.
    fn w3dtf(text: &str) -> Option<DateTime<Utc>> {
        let mut c = Cursor::new(text);
        let year = c.number(4, 4)? as i32;
        let (mut month, mut day) = (1, 1);
        if c.eat(b'-') {
            month = c.number(1, 2)?;
            if c.eat(b'-') {
                day = c.number(1, 2)?;
            }
        }
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        let (time, offset) = if c.peek().is_none() {
            (0, 0)
        } else if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
            c.i += 1;
            let time = clock(&mut c)?;
            (time, zone(c.rest().trim())?)
        } else {
            return None;
        };
        at(date, time, offset)
    }

    /// `hh:mm[:ss[.fff]]`, as seconds after midnight (24:00 allowed).
    fn clock(c: &mut Cursor) -> Option<i64> {
        let hour = c.number(1, 2)?;
        if !c.eat(b':') {
            return None;
        }
        let minute = c.number(2, 2)?;
        let second = if c.eat(b':') { c.number(1, 2)? } else { 0 };
        if c.eat(b'.') || c.eat(b',') {
            c.skip_digits();
        }
        (hour <= 24 && minute < 60 && second <= 60).then(|| i64::from(hour * 3600 + minute * 60 + second))
    }

    /// A time zone: `Z`, `±hh:mm`, `±hhmm`, `±hh`, `GMT+2`, a name, or
    /// nothing (UTC). Returns the offset east of UTC in minutes.
    fn zone(text: &str) -> Option<i64> {
        let lower = text.trim().to_ascii_lowercase();
        let lower = lower.strip_prefix("etc/").unwrap_or(&lower);
        let numeric = lower
            .strip_prefix("gmt")
            .or_else(|| lower.strip_prefix("utc"))
            .filter(|rest| rest.starts_with(['+', '-']))
            .unwrap_or(lower);
        if let Some(sign) = numeric.chars().next().filter(|c| *c == '+' || *c == '-') {
            let digits: String = numeric[1..].chars().filter(|c| *c != ':').collect();
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (hours, minutes) = match digits.len() {
                1 | 2 => (digits.parse::<i64>().ok()?, 0),
                3 => (digits[..1].parse::<i64>().ok()?, digits[1..].parse::<i64>().ok()?),
                _ => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
            };
            let minutes = hours * 60 + minutes;
            return (minutes <= 14 * 60).then_some(if sign == '-' { -minutes } else { minutes });
        }
        Some(named_zone(numeric).unwrap_or(0) * 60)
    }

    /// Offsets in hours of the zone names feeds use (RFC 822's and more).
    fn named_zone(name: &str) -> Option<i64> {
        let hours = match name.trim_matches(|c: char| c == '(' || c == ')') {
            "" | "ut" | "utc" | "gmt" | "z" | "wet" => 0,
            "adt" => -3,
            "ast" | "at" | "edt" => -4,
            "est" | "et" | "cdt" => -5,
            "cst" | "ct" | "mdt" => -6,
            "mst" | "mt" | "pdt" => -7,
            "pst" | "pt" | "akdt" => -8,
            "akst" => -9,
            "hst" => -10,
            "a" => -1,
            "n" | "met" | "cet" | "bst" | "west" => 1,
            "mest" | "cest" | "eet" => 2,
            "eest" | "msk" => 3,
            "jst" | "kst" => 9,
            "aest" => 10,
            "aedt" => 11,
            "m" => -12,
            "y" => 12,
            _ => return None,
        };
        Some(hours)
    }

    fn at(date: NaiveDate, seconds: i64, offset_minutes: i64) -> Option<DateTime<Utc>> {
        let local = NaiveDateTime::from(date).checked_add_signed(Duration::seconds(seconds))?;
        let utc = local.checked_sub_signed(Duration::minutes(offset_minutes))?;
        Some(utc.and_utc())
    }

    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];

    fn month(word: &str) -> Option<u32> {
        let word = word.get(..3)?;
        MONTHS.iter().position(|m| *m == word).map(|i| i as u32 + 1)
    }

    /// RFC 822 and what feeds make of it: `Thu, 01 Jan 2004 19:48:21 GMT`,
    /// with the day name in any language or missing, month and day swapped
    /// (`Sat, Dec 16 2023 02:02:33 PM`), two-digit years, no seconds, no
    /// time, a 12-hour clock, and zone names.
    fn rfc822(text: &str) -> Option<DateTime<Utc>> {
        let lower = text.to_lowercase().replace(',', ", ");
        let mut parts: Vec<&str> = lower.split_whitespace().collect();
        if parts.first().is_some_and(|p| p.ends_with(',') || is_day_name(p)) {
            parts.remove(0);
        }
        let parts: Vec<&str> = parts
            .iter()
            .map(|p| p.trim_end_matches(','))
            .filter(|p| !p.is_empty())
            .collect();
        let (day, month) = match (parts.first()?.parse::<u32>(), parts.get(1)) {
            (Ok(day), Some(name)) => (day, month(name)?),
            (Err(_), Some(day)) => (day.parse().ok()?, month(parts[0])?),
            _ => return None,
        };
        let year_text = parts.get(2)?;
        let mut year: i32 = year_text.parse().ok()?;
        if year_text.len() <= 2 {
            year += if year < 90 { 2000 } else { 1900 };
        }
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        let Some(time) = parts.get(3) else {
            return at(date, 0, 0);
        };
        let mut c = Cursor::new(time);
        let mut seconds = clock(&mut c).filter(|_| c.rest().is_empty())?;
        let mut rest = &parts[4..];
        if let Some(meridiem) = rest.first().filter(|p| **p == "am" || **p == "pm") {
            seconds = twelve_hour(seconds, meridiem == &"pm")?;
            rest = &rest[1..];
        }
        at(date, seconds, zone(rest.first().copied().unwrap_or(""))?)
    }

    fn is_day_name(word: &str) -> bool {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .any(|d| word.starts_with(d))
    }

    /// Seconds after midnight on a 12-hour clock read as 24-hour.
    fn twelve_hour(seconds: i64, pm: bool) -> Option<i64> {
        let hour = seconds / 3600;
        if hour > 12 {
            return None;
        }
        let hour = hour % 12 + if pm { 12 } else { 0 };
        Some(hour * 3600 + seconds % 3600)
    }

    /// asctime: `Sun Jan  4 16:29:06 PST 2004`, `Sun Jan 4 16:29:06 2004`.
    fn asctime(text: &str) -> Option<DateTime<Utc>> {
        let mut parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() == 5 {
            parts.insert(4, "+0000");
        }
        if parts.len() != 6 || month(&parts[1].to_ascii_lowercase()).is_none() {
            return None;
        }
        rfc822(&[parts[0], parts[2], parts[1], parts[5], parts[3], parts[4]].join(" "))
    }

    /// Compact ISO 8601: `20040105`, `20040105T12:30:00Z`, `20040105T123000Z`.
    fn compact(text: &str) -> Option<DateTime<Utc>> {
        let mut c = Cursor::new(text);
        let year = c.number(4, 4)? as i32;
        let month = c.number(2, 2)?;
        let day = c.number(2, 2)?;
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        if c.peek().is_none() {
            return at(date, 0, 0);
        }
        if !c.eat(b'T') && !c.eat(b't') {
            return None;
        }
        let start = c.i;
        let seconds = clock(&mut c).or_else(|| {
            c.i = start;
            let hms = [c.number(2, 2)?, c.number(2, 2)?, c.number(2, 2).unwrap_or(0)];
            (hms[0] <= 24 && hms[1] < 60 && hms[2] <= 60)
                .then(|| i64::from(hms[0] * 3600 + hms[1] * 60 + hms[2]))
        })?;
        at(date, seconds, zone(c.rest())?)
    }

    /// Japanese and Korean dates: `2024年5月1日 14:30`, `2004년 05월 28일
    /// 01:31:15`, `2004-05-25 오후 11:23:17`; they are local time (UTC+9).
    fn cjk(text: &str) -> Option<DateTime<Utc>> {
        if text.is_ascii() {
            return None;
        }
        let marks = ['年', '月', '日', '년', '월', '일'];
        let plain: String = text
            .chars()
            .map(|c| if marks.contains(&c) { ' ' } else { c })
            .collect();
        let mut words: Vec<&str> = plain.split_whitespace().collect();
        let pm = words
            .iter()
            .any(|w| *w == "오후" || *w == "午後" || *w == "PM" || *w == "pm");
        words.retain(|w| !["오전", "오후", "午前", "午後", "AM", "am", "PM", "pm"].contains(w));
        let (ymd, time) = match words.as_slice() {
            [y, m, d, rest @ ..] if y.len() == 4 => ([*y, *m, *d], rest.first().copied()),
            [date, rest @ ..] => {
                let ymd: Vec<&str> = date.split(['-', '/', '.']).collect();
                (<[&str; 3]>::try_from(ymd).ok()?, rest.first().copied())
            }
            [] => return None,
        };
        let [y, m, d] = ymd.map(|n| n.parse::<u32>().ok());
        let date = NaiveDate::from_ymd_opt(y? as i32, m?, d?)?;
        let mut seconds = match time {
            Some(time) => {
                let mut c = Cursor::new(time);
                clock(&mut c)?
            }
            None => 0,
        };
        if pm && seconds < 12 * 3600 {
            seconds += 12 * 3600;
        }
        at(date, seconds, 9 * 60)
    }
}

/// A lenient XML lexer, and the pass that readies a document for feed-rs.
mod markup {
    use std::ops::Range;

    use chrono::{DateTime, Utc};

    use super::dates;

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
    pub fn unescape(text: &str) -> String {
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
        out
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
                    Some(value) => (len, escape(value)),
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
                        .push((name.to_string(), unescape(&rest[1..1 + len])));
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

    pub fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
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
        let text = text.to_string();
        match (ns, local) {
            (_, "pubDate" | "published" | "issued") if core => facts.published_texts.push(text),
            (Ns::Dcterms, "issued") => facts.published_texts.push(text),
            (_, "updated" | "modified") if core => facts.updated_texts.push(text),
            (Ns::Dc, "date") | (Ns::Dcterms, "modified") => facts.updated_texts.push(text),
            (_, "guid") if rss => facts.guid_is_permalink = permalink && !text.trim().is_empty(),
            (_, "link") if rss => facts.has_link |= !text.is_empty(),
            (Ns::Dc, "title") => facts.title = Some(text),
            (Ns::Media, "title") => facts.title = facts.title.take().or(Some(text)),
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
                    self.edit(span, escape(text));
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
                self.edit(run.at, escape(&safe));
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
            if depth == 1 && local == "channel" && self.root == Root::Rss && self.channel == Channel::NotSeen
            {
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
            self.edit(span, format!("<{0}>{1}</{0}>", tag.name, escape(href.trim())));
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
            self.insert(span.start, closers);
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
                closers.push_str(&self.close(at));
            }
            closers
        }

        /// Whether an RSS document without `<channel>` gets one around its
        /// items (feedparser reads items anywhere, feed-rs in a channel).
        fn wraps_channel(&self) -> bool {
            self.root == Root::Rss && self.channel == Channel::NotSeen && !self.entries.is_empty()
        }

        /// Closes the innermost element, whose end tag is (or goes) at `at`;
        /// returns its end tag.
        fn close(&mut self, at: usize) -> String {
            let Some(frame) = self.stack.pop() else {
                return String::new();
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
            format!("</{}>", frame.renamed.as_deref().unwrap_or(frame.name))
        }

        fn finish_content(&mut self, frame: &Frame, at: usize) {
            let text = frame.text.as_deref().unwrap_or("");
            match frame.content {
                Content::AtomText { kind, base64 } => self.finish_atom_text(frame, at, kind, base64),
                Content::RssText if frame.children => {
                    let markup = without_cdata_markers(&self.src[frame.content_at..at]);
                    self.edit(frame.content_at..at, escape(&markup));
                }
                Content::LinkText if !text.trim().is_empty() => {
                    self.insert(frame.name_end, format!(" href=\"{}\"", escape(text.trim())));
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
                self.edit(frame.content_at..at, escape(&decoded));
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
            closers.push_str(&self.close(end));
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
}

/// An HTML page where a feed was expected: a site's home page, a login
/// page, an error page. Its `<link rel="alternate">` says where the feed is.
mod page {
    use super::markup::{Lexer, Tag, Token, unescape};

    /// Whether the document is an HTML page: an HTML doctype, or `html`
    /// (or `head`, `body`) as the first element.
    pub fn is_html(text: &str) -> bool {
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
    pub fn not_a_feed(text: &str, base: Option<&url::Url>) -> String {
        let feed = feed_link(text, base);
        match feed {
            Some(feed) => format!("not a feed: got an HTML page; its feed is at {feed}"),
            None => "not a feed: got an HTML page".to_string(),
        }
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
}

/// JSON Feed, readied for feed-rs 3.0.
mod json {
    use serde_json::Value;

    /// The feed with its author names defused: feed-rs reads them as
    /// "name <e-mail>" and panics on some (see `markup::pad_email`).
    pub fn defuse(text: String) -> String {
        let Ok(mut feed) = serde_json::from_str::<Value>(&text) else {
            return text;
        };
        let mut changed = pad_authors(&mut feed);
        if let Some(items) = feed.get_mut("items").and_then(Value::as_array_mut) {
            for item in items {
                changed |= pad_authors(item);
            }
        }
        if changed { feed.to_string() } else { text }
    }

    fn pad_authors(object: &mut Value) -> bool {
        let mut changed = false;
        if let Some(author) = object.get_mut("author") {
            changed |= pad_name(author);
        }
        if let Some(authors) = object.get_mut("authors").and_then(Value::as_array_mut) {
            for author in authors {
                changed |= pad_name(author);
            }
        }
        changed
    }

    fn pad_name(author: &mut Value) -> bool {
        let Some(name) = author.get_mut("name") else {
            return false;
        };
        match name.as_str().and_then(super::markup::pad_email) {
            Some(padded) => {
                *name = Value::String(padded);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(feed: &[u8]) -> Vec<Draft> {
        parse_feed(feed, None, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn first(feed: &[u8]) -> Draft {
        parse(feed).into_iter().next().expect("an entry")
    }

    fn rss(items: &str) -> Vec<u8> {
        format!(r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>"#)
            .into_bytes()
    }

    fn date(draft: &Draft) -> String {
        draft.published.map(|d| d.to_rfc3339()).unwrap_or_default()
    }

    // What feed-rs reads on its own.

    #[test]
    fn reads_rss_with_relative_links() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://ex.example/news/</link>
            <item><title>A &amp; B</title><link>/a?utm_source=x</link><guid isPermaLink="false">42</guid>
            <pubDate>Mon, 16 Nov 2026 09:00:00 +0900</pubDate><description>&lt;p&gt;Hello&lt;/p&gt;</description><category>trade</category></item>
            </channel></rss>"#;
        let d = first(rss);
        assert_eq!(d.title, "A & B");
        assert_eq!(d.link, "https://ex.example/a?utm_source=x");
        assert_eq!(d.guid.as_deref(), Some("42"));
        assert_eq!(date(&d), "2026-11-16T00:00:00+00:00");
        assert_eq!(d.categories, ["trade"]);
    }

    #[test]
    fn rss_without_guid_has_no_id() {
        let d = first(&rss(
            "<item><title>A</title><link>https://ex.example/a</link></item>",
        ));
        assert_eq!(d.guid, None);
    }

    #[test]
    fn reports_what_is_no_feed() {
        for bytes in [
            &b"<opml version='2.0'><body/></opml>"[..],
            b"just text",
            b"",
            b"{\"not\": \"a feed\"}",
        ] {
            let err = parse_feed(bytes, None, None).unwrap_err();
            assert!(err.starts_with("not a valid feed"), "{err}");
        }
    }

    // Encodings.

    #[test]
    fn decodes_shift_jis_declared_in_prolog() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><rss version=\"2.0\"><channel><item><title>経済産業省</title></item></channel></rss>");
        assert_eq!(first(&bytes).title, "経済産業省");
    }

    #[test]
    fn decodes_euc_jp_declared_in_prolog() {
        let (bytes, _, _) = encoding_rs::EUC_JP.encode("<?xml version='1.0' encoding='EUC-JP'?><rss version='2.0'><channel><item><title>日本語</title></item></channel></rss>");
        assert_eq!(first(&bytes).title, "日本語");
    }

    #[test]
    fn decodes_iso_8859_1_declared_in_prolog() {
        let feed = b"<?xml version='1.0' encoding='ISO-8859-1'?><rss version='2.0'><channel><item><title>Caf\xe9 \x93x\x94</title></item></channel></rss>";
        // Read the web's way, as windows-1252: 0x93 is a quotation mark.
        assert_eq!(first(feed).title, "Café \u{201c}x\u{201d}");
    }

    #[test]
    fn decodes_utf16_by_byte_order_mark() {
        let text = "<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><item><title>Ünïcödé</title></item></channel></rss>";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(first(&le).title, "Ünïcödé");
        assert_eq!(first(&be).title, "Ünïcödé");
    }

    #[test]
    fn decodes_utf16_and_utf32_without_byte_order_mark() {
        let text =
            "<?xml version='1.0'?><rss version='2.0'><channel><item><title>Ü</title></item></channel></rss>";
        let be16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le32: Vec<u8> = text.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect();
        assert_eq!(first(&be16).title, "Ü");
        assert_eq!(first(&le32).title, "Ü");
    }

    #[test]
    fn http_charset_wins_over_declaration() {
        let (bytes, _, _) = encoding_rs::EUC_JP.encode("<?xml version='1.0' encoding='Shift_JIS'?><rss version='2.0'><channel><item><title>日本</title></item></channel></rss>");
        let drafts = parse_feed(&bytes, None, Some("application/rss+xml; charset=\"EUC-JP\"")).unwrap();
        assert_eq!(drafts[0].title, "日本");
    }

    #[test]
    fn text_xml_without_charset_falls_back_from_ascii_to_the_declaration() {
        let feed = "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item><title>Iñtërnâtiônàl</title></item></channel></rss>";
        let drafts = parse_feed(feed.as_bytes(), None, Some("text/xml")).unwrap();
        assert_eq!(drafts[0].title, "Iñtërnâtiônàl");
    }

    #[test]
    fn undeclared_bytes_that_are_not_utf8_are_windows_1252() {
        let latin = b"<rss version='2.0'><channel><item><title>na\xefve</title></item></channel></rss>";
        assert_eq!(first(latin).title, "naïve");
    }

    #[test]
    fn strips_utf8_byte_order_mark() {
        let mut feed = vec![0xEF, 0xBB, 0xBF];
        feed.extend(rss("<item><title>A</title></item>"));
        assert_eq!(first(&feed).title, "A");
    }

    // Links.

    #[test]
    fn resolves_links_against_xml_base_and_document_url() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/dir/">
            <entry><link href="one"/></entry>
            <entry xml:base="/other/"><link href="two"/></entry></feed>"#;
        let drafts = parse(atom);
        assert_eq!(drafts[0].link, "http://a.example/dir/one");
        assert_eq!(drafts[1].link, "http://a.example/other/two");
        let base = url::Url::parse("https://b.example/feeds/rss.xml").unwrap();
        let drafts = parse_feed(&rss("<item><link>../p/1</link></item>"), Some(&base), None).unwrap();
        assert_eq!(drafts[0].link, "https://b.example/p/1");
    }

    #[test]
    fn prefers_alternate_link() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>
            <link rel="enclosure" type="audio/mpeg" href="http://x.example/a.mp3"/>
            <link rel="replies" href="http://x.example/comments"/>
            <link href="http://x.example/page"/></entry></feed>"#;
        assert_eq!(first(atom).link, "http://x.example/page");
    }

    #[test]
    fn uses_permalink_guid_when_entry_has_no_link() {
        let base = url::Url::parse("https://b.example/feed").unwrap();
        let feed = rss("<item><guid>/posts/7</guid></item>");
        assert_eq!(
            parse_feed(&feed, Some(&base), None).unwrap()[0].link,
            "https://b.example/posts/7"
        );
    }

    #[test]
    fn uses_http_guid_when_entry_has_no_link() {
        let d = first(&rss(
            "<item><guid isPermaLink='false'>https://b.example/p/8</guid></item>",
        ));
        assert_eq!(d.link, "https://b.example/p/8");
        let d = first(&rss(
            "<item><guid isPermaLink='false'>tag:b.example,2024:8</guid></item>",
        ));
        assert_eq!(d.link, "");
    }

    #[test]
    fn reads_atom_link_with_url_as_text() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate">http://x.example/p</link></entry></feed>"#;
        assert_eq!(first(atom).link, "http://x.example/p");
    }

    #[test]
    fn reads_rss_link_written_the_atom_way() {
        assert_eq!(
            first(&rss(r#"<item><link href="http://x.example/p"/></item>"#)).link,
            "http://x.example/p"
        );
    }

    // Dates.

    #[test]
    fn reads_dates_in_every_format_feeds_use() {
        let cases = [
            ("Thu, 01 Jan 2004 19:48:21 GMT", "2004-01-01T19:48:21+00:00"),
            ("Thu, 1 Jan 04 19:48 EST", "2004-01-02T00:48:00+00:00"),
            ("Fri,24 Nov 2023 18:28:36 -0000", "2023-11-24T18:28:36+00:00"),
            ("01 Jan 2004", "2004-01-01T00:00:00+00:00"),
            ("Sat, Dec 16 2023 02:02:33 PM", "2023-12-16T14:02:33+00:00"),
            ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15+00:00"),
            ("Wed, 02 Oct 2002 13:00:00 GMT+2", "2002-10-02T11:00:00+00:00"),
            ("Wed, 02 Oct 2002 13:00:00 JST", "2002-10-02T04:00:00+00:00"),
            ("2003-12-31T10:14:55Z", "2003-12-31T10:14:55+00:00"),
            ("2003-12-31T10:14:55.123-08:00", "2003-12-31T18:14:55+00:00"),
            ("2003-12-31T10:14:55.12345678901234Z", "2003-12-31T10:14:55+00:00"),
            ("2003-12-31 10:14:55 +0900", "2003-12-31T01:14:55+00:00"),
            ("2003-12-31", "2003-12-31T00:00:00+00:00"),
            ("2003-12", "2003-12-01T00:00:00+00:00"),
            ("20031231T101455Z", "2003-12-31T10:14:55+00:00"),
            ("Sun Jan  4 16:29:06 PST 2004", "2004-01-05T00:29:06+00:00"),
            ("2024年5月1日 14:30", "2024-05-01T05:30:00+00:00"),
            ("2004-05-25 오후 11:23:17", "2004-05-25T14:23:17+00:00"),
        ];
        for (text, expected) in cases {
            let parsed = dates::parse(text).map(|d| d.to_rfc3339());
            assert_eq!(parsed.as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn nonsense_or_missing_date_is_none() {
        for text in [
            "",
            "yesterday",
            "Thu, 31 Feb 2004 10:00:00 GMT",
            "2004-13-01",
            "25:00",
            "0",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "0001-01-01T00:00:00Z",
            "9999-12-31",
        ] {
            assert_eq!(dates::parse(text), None, "{text}");
        }
        assert_eq!(first(&rss("<item><title>A</title></item>")).published, None);
        assert_eq!(
            first(&rss("<item><pubDate>soon</pubDate></item>")).published,
            None
        );
    }

    #[test]
    fn reads_dublin_core_and_atom_03_dates() {
        let dc = rss(
            r#"<item xmlns:dcterms="http://purl.org/dc/terms/"><dcterms:issued>2003-12-31T10:14:55Z</dcterms:issued></item>"#,
        );
        assert_eq!(date(&first(&dc)), "2003-12-31T10:14:55+00:00");
        let atom03 = br#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><issued>2004-01-01T19:48:21Z</issued></entry></feed>"#;
        assert_eq!(date(&first(atom03)), "2004-01-01T19:48:21+00:00");
    }

    #[test]
    fn last_date_element_wins() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>
            <updated>2010-12-01T10:14:55Z</updated><updated>2003-12-31T10:14:55Z</updated></entry></feed>"#;
        assert_eq!(date(&first(atom)), "2003-12-31T10:14:55+00:00");
    }

    // Titles.

    #[test]
    fn titles_are_plain_text() {
        assert_eq!(
            first(&rss(
                "<item><title>&lt;b&gt;Bold&lt;/b&gt; &amp;amp; co</title></item>"
            ))
            .title,
            "Bold & co"
        );
        assert_eq!(
            first(&rss("<item><title>Caf&eacute; &#8211; bar</title></item>")).title,
            "Café \u{2013} bar"
        );
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="html">&lt;i&gt;x&lt;/i&gt; &amp;amp;</title></entry>
            <entry><title type="text">a &lt;b&gt; c</title></entry>
            <entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x <b>y</b></div></title></entry></feed>"#;
        let titles: Vec<String> = parse(atom).into_iter().map(|d| d.title).collect();
        assert_eq!(titles, ["x &", "a <b> c", "x y"]);
    }

    #[test]
    fn reads_titles_with_mime_types_and_base64() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom">
            <entry><title type="text/plain">plain</title></entry>
            <entry><title type="text/html">&lt;b&gt;html&lt;/b&gt;</title></entry>
            <entry><title type="application/octet-stream">RXhhbXBsZQ==</title></entry>
            <entry><title>naked <b>markup</b></title></entry></feed>"#;
        let titles: Vec<String> = parse(atom).into_iter().map(|d| d.title).collect();
        assert_eq!(titles, ["plain", "html", "Example", "naked markup"]);
    }

    #[test]
    fn falls_back_to_dublin_core_title() {
        let feed =
            rss(r#"<item xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>From DC</dc:title></item>"#);
        assert_eq!(first(&feed).title, "From DC");
    }

    // HTML pages.

    #[test]
    fn reports_html_page_as_not_a_feed() {
        let err = parse_feed(b"<!DOCTYPE html><html><body>Hi</body></html>", None, None).unwrap_err();
        assert_eq!(err, "not a feed: got an HTML page");
    }

    #[test]
    fn points_to_the_feed_an_html_page_links() {
        let page = br#"<!doctype html><html><head><title>News</title>
            <link rel="stylesheet" href="/s.css"><link rel="alternate" type="application/rss+xml" href="/feed?lang=en&amp;x=1">
            </head><body></body></html>"#;
        let base = url::Url::parse("https://www.example.jp/news/").unwrap();
        let err = parse_feed(page, Some(&base), Some("text/html; charset=utf-8")).unwrap_err();
        assert_eq!(
            err,
            "not a feed: got an HTML page; its feed is at https://www.example.jp/feed?lang=en&x=1"
        );
    }

    // Documents feed-rs rejects and feedparser reads.

    #[test]
    fn reads_the_whole_entries_of_a_truncated_feed() {
        let feed = b"<rss version='2.0'><channel><item><title>One</title></item><item><title>Tw";
        let titles: Vec<String> = parse(feed).into_iter().map(|d| d.title).collect();
        assert_eq!(titles, ["One"]);
        let err = parse_feed(b"<rss version='2.0'><channel><item><title>x", None, None).unwrap_err();
        assert_eq!(err, "not a valid feed: it ends before its last entry does");
        assert_eq!(
            first(b"<rss version='2.0'><channel><item><title>One</title></item></chan").title,
            "One"
        );
    }

    #[test]
    fn closes_unclosed_and_drops_stray_tags() {
        let feed = rss("<item><title>A</title><description>x<br>y</description></b></item>");
        let d = first(&feed);
        assert_eq!(d.title, "A");
        assert_eq!(d.summary_html, "x<br>y");
    }

    #[test]
    fn escapes_bare_ampersands_and_repairs_references() {
        let d = first(&rss(
            "<item><title>R&D &#X41; &#0;</title><link>http://x.example/?a=1&b=2</link></item>",
        ));
        assert_eq!(d.title, "R&D A \u{fffd}");
        assert_eq!(d.link, "http://x.example/?a=1&b=2");
    }

    #[test]
    fn expands_entities_declared_in_doctype() {
        let feed = b"<!DOCTYPE rss [<!ENTITY id \"tag:x.example,\">]><rss version='2.0'><channel><item><guid isPermaLink='false'>&id;2024</guid></item></channel></rss>";
        assert_eq!(first(feed).guid.as_deref(), Some("tag:x.example,2024"));
    }

    #[test]
    fn reads_any_rss_version_with_or_without_channel() {
        assert_eq!(
            first(b"<rss version='0.93'><channel><item><title>A</title></item></channel></rss>").title,
            "A"
        );
        assert_eq!(
            first(b"<rss><channel><item><title>B</title></item></channel></rss>").title,
            "B"
        );
        assert_eq!(first(b"<rss><item><title>C</title></item></rss>").title, "C");
    }

    #[test]
    fn reads_old_namespaces() {
        let userland = b"<rss version='2.0' xmlns='http://backend.userland.com/rss2'><channel><item><title>A</title></item></channel></rss>";
        assert_eq!(first(userland).title, "A");
        let rss090 = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
            <item><title>B</title></item></rdf:RDF>"#;
        assert_eq!(first(rss090).title, "B");
        let atom03 = br#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title type="text/html" mode="escaped">&lt;b&gt;C&lt;/b&gt;</title></entry></feed>"#;
        assert_eq!(first(atom03).title, "C");
    }

    #[test]
    fn rdf_item_is_known_by_its_about() {
        let rdf = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
            <item rdf:about="http://x.example/1"><title>T</title></item></rdf:RDF>"#;
        let d = first(rdf);
        assert_eq!(d.guid.as_deref(), Some("http://x.example/1"));
        assert_eq!(d.link, "");
    }

    #[test]
    fn reads_naked_markup_in_rss_description() {
        let d = first(&rss(
            "<item><description><p>Hello <b>world</b></p></description></item>",
        ));
        assert_eq!(d.summary_html, "<p>Hello <b>world</b></p>");
    }

    #[test]
    fn ignores_invalid_xml_base() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://[::1"><entry><title>A</title></entry></feed>"#;
        assert_eq!(first(atom).title, "A");
    }

    #[test]
    fn expands_declared_entities_within_a_budget() {
        let refs = "&big;".repeat(10_000);
        let feed = format!(
            "<!DOCTYPE rss [<!ENTITY big \"{}\">]><rss version='2.0'><channel><item><title>{refs}</title></item></channel></rss>",
            "x".repeat(256)
        );
        let title = first(feed.as_bytes()).title;
        assert!(title.len() < 1_100_000, "{}", title.len());
        assert!(title.starts_with("xxxx") && title.ends_with("&big;"));
    }

    #[test]
    fn refuses_absurdly_deep_nesting() {
        let deep = |n| {
            format!(
                "<rss version='2.0'><channel><item><title>A</title>{}{}</item></channel></rss>",
                "<x>".repeat(n),
                "</x>".repeat(n)
            )
        };
        assert_eq!(first(deep(200).as_bytes()).title, "A");
        let err = parse_feed(deep(300).as_bytes(), None, None).unwrap_err();
        assert_eq!(err, "not a valid feed: elements nested more than 256 deep");
        // Naked markup in a description is text, however deep.
        let description = rss(&format!(
            "<item><description>{}</description></item>",
            "<br>".repeat(1000)
        ));
        assert_eq!(first(&description).summary_html.len(), 4000);
    }

    #[test]
    fn nesting_within_the_limit_fits_a_small_stack() {
        // feed-rs recurses on nested <media:group>; a fetch thread has 2 MiB.
        let n = 250;
        let feed = format!(
            "<rss version='2.0' xmlns:media='http://search.yahoo.com/mrss/'><channel><item><title>A</title>{}{}</item></channel></rss>",
            "<media:group>".repeat(n),
            "</media:group>".repeat(n)
        );
        let parsed = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_feed(feed.as_bytes(), None, None).map(|d| d.len()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(parsed, Ok(1));
    }

    // Inputs that made feed-rs 3.0 or quick-xml panic.

    #[test]
    fn survives_multibyte_characters_next_to_an_email() {
        let feed = rss(
            r#"<item xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
            <title>A</title><author>««info@example.jp»</author><dc:creator>info@example.jp（JETRO）</dc:creator>
            <itunes:owner><itunes:name>«a@b.example»</itunes:name><itunes:email>a@b.example</itunes:email></itunes:owner></item>"#,
        );
        assert_eq!(first(&feed).title, "A");
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "authors": [{"name": "««a@b.example»"}],
            "items": [{"id": "1", "title": "A", "author": {"name": "x@y.example（Z）"}}]}"#;
        assert_eq!(first(json.as_bytes()).title, "A");
    }

    #[test]
    fn survives_times_that_overflow_or_use_other_digits() {
        let feed = rss(
            r#"<item xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
            <title>A</title><itunes:duration>99999999999999999999</itunes:duration>
            <media:text start="99999999999999999999:00:00" end="١:٢">t</media:text>
            <media:thumbnail url="http://x.example/t.jpg" time="&#1633;&#1634;"/></item>"#,
        );
        assert_eq!(first(&feed).title, "A");
        let feed = rss(
            r#"<item xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><title>B</title><itunes:duration>١٢:٣٤</itunes:duration></item>"#,
        );
        assert_eq!(first(&feed).title, "B");
    }

    #[test]
    fn survives_late_xml_declarations() {
        let feed = rss("<item><title>A</title></item><?xml version='1.0' encoding='shift_jis'?>");
        assert_eq!(first(&feed).title, "A");
        let odd = b"\x00<\x00?\x00x\x00m\x00l\x00 \x00e\x00n\x00c\x00o\x00d\x00i\x00n\x00g\x00=\x00'\x00u\x00t\x00f\x00-\x001\x006\x00'\x00?\x00>\x00";
        let _ = parse_feed(odd, None, Some("text/xml"));
    }

    #[test]
    fn survives_what_splits_text_differently() {
        // A stray end tag inside a name, a `<` that starts no tag.
        let feed = rss("<item><title>a < b</title><author>««</entry>foo@example.com»</author></item>");
        assert_eq!(first(&feed).title, "a < b");
    }
}
