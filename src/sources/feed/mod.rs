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
//!    (RSS guids' permalink flag, RDF `about`, the many date elements, the
//!    summaries in extension elements);
//! 4. [`dates`] reads the date formats feeds use, and nothing else.

mod charset;
mod dates;
mod json;
mod markup;
mod page;

use feed_rs::model::{Entry, Feed, FeedType, Link, LinkTarget, Text};

use crate::items::{Draft, escape_html, sanitize, to_text};

/// A feed as read: its entries, and what its source's report should warn
/// of (read all the same, but not as the format says).
#[derive(Debug)]
pub(crate) struct ParsedFeed {
    pub(crate) drafts: Vec<Draft>,
    pub(crate) warnings: Vec<String>,
}

/// Parses a feed into its entries, without the warnings `read_feed`
/// also gives (for the callers that report none: benchmarks, tests).
pub fn parse_feed(
    bytes: &[u8],
    base: Option<&url::Url>,
    content_type: Option<&str>,
) -> Result<Vec<Draft>, FeedError> {
    read_feed(bytes, base, content_type).map(|feed| feed.drafts)
}

/// Why bytes are not a feed bulletin can read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// An HTML page, with the feed it links to when it names one.
    #[error(
        "not a feed: got an HTML page{}",
        .0.as_ref().map(|feed| format!("; its feed is at {feed}")).unwrap_or_default()
    )]
    Page(Option<url::Url>),
    /// Deeper than [`markup`] follows (a stack a hostile feed would blow).
    #[error("not a valid feed: elements nested more than {0} deep")]
    TooDeep(usize),
    #[error("not a valid feed: its root element is <{0}>; a feed's is <rss>, <rdf:RDF> or <feed>")]
    ForeignRoot(String),
    #[error("not a valid feed")]
    Invalid(#[source] feed_rs::parser::ParseFeedError),
    /// Cut short before its first whole entry.
    #[error("not a valid feed: it ends before its last entry does")]
    Truncated,
}

/// Parses a feed. `base` (the feed's URL) resolves relative links;
/// `content_type` is the HTTP Content-Type, whose charset, by RFC 3023,
/// wins over the document's own declaration.
pub(crate) fn read_feed(
    bytes: &[u8],
    base: Option<&url::Url>,
    content_type: Option<&str>,
) -> Result<ParsedFeed, FeedError> {
    let text = charset::decode(bytes, content_type);
    if page::is_html(&text) {
        return Err(page::not_a_feed(&text, base));
    }
    let mut warnings = Vec::new();
    let (text, facts, truncated) = if text.trim_start().starts_with('{') {
        let (text, warning) = json::ready(text);
        warnings.extend(warning);
        (text, Vec::new(), false)
    } else {
        let normalised = markup::normalise(&text)?;
        if let Some(root) = normalised.foreign_root {
            return Err(FeedError::ForeignRoot(root));
        }
        (normalised.text, normalised.entries, normalised.truncated)
    };
    let feed = parser(base).parse(text.as_bytes()).map_err(FeedError::Invalid)?;
    // A cut-short feed is read for the entries it has in full; with none,
    // it is what it looks like: broken.
    if truncated && feed.entries.is_empty() {
        return Err(FeedError::Truncated);
    }
    Ok(ParsedFeed {
        drafts: drafts(feed, facts, base),
        warnings,
    })
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
        summary_html: summary_html(&entry, facts, kind),
        categories: entry
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term))
            .filter(|c| !c.trim().is_empty())
            .collect(),
        credit: facts.publisher(),
        newsletters: Vec::new(),
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

/// The entry's summary as HTML: its summary (RSS `description`), else its
/// content (`content:encoded`), else the first of the extension elements
/// that hold one (`markup::summaries` lists them, in order).
fn summary_html(entry: &Entry, facts: &markup::Facts, kind: &FeedType) -> String {
    entry
        .summary
        .as_ref()
        .filter(|s| !s.content.trim().is_empty())
        .map(|summary| summary_as_html(summary, kind))
        .or_else(|| {
            entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .filter(|body| !body.trim().is_empty())
        })
        .or_else(|| facts.fallback_summary().map(str::to_string))
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

/// A summary as HTML: a text/plain one escaped so it can go through the
/// HTML sanitiser. An RSS description is HTML in every RSS version, as
/// feedparser reads it (feed-rs gives RSS 1.0's as text/plain).
fn summary_as_html(summary: &Text, kind: &FeedType) -> String {
    let rss = matches!(kind, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    if rss || is_html(summary) {
        summary.content.clone()
    } else {
        escape_html(&summary.content)
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
            assert!(err.to_string().starts_with("not a valid feed"), "{err}");
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
        assert_eq!(err.to_string(), "not a feed: got an HTML page");
    }

    #[test]
    fn points_to_the_feed_an_html_page_links() {
        let page = br#"<!doctype html><html><head><title>News</title>
            <link rel="stylesheet" href="/s.css"><link rel="alternate" type="application/rss+xml" href="/feed?lang=en&amp;x=1">
            </head><body></body></html>"#;
        let base = url::Url::parse("https://www.example.jp/news/").unwrap();
        let err = parse_feed(page, Some(&base), Some("text/html; charset=utf-8")).unwrap_err();
        assert_eq!(
            err.to_string(),
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
        assert_eq!(
            err.to_string(),
            "not a valid feed: it ends before its last entry does"
        );
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
    fn reads_markup_after_a_leading_cdata_section_or_reference() {
        // The edit that makes the markup text and the one that makes the
        // CDATA (or `&nbsp;`) text start at one place: the first covers
        // the second. The feed was refused as ill-formed.
        let d = parse(&rss(
            "<item><description><![CDATA[a ]]><b>x</b> y</description></item>\
             <item><description>&nbsp;<b>x</b> y</description></item>",
        ));
        assert_eq!(d[0].summary_html, "a <b>x</b> y");
        assert_eq!(d[1].summary_html, "&nbsp;<b>x</b> y");
    }

    // Atom HTML text with raw elements in it (issue 20, item 6).

    #[test]
    fn atom_html_text_keeps_raw_elements_as_html() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom">
            <entry><title type="html">naked <b>markup</b> end</title>
              <summary type="html">a <p>b <a href="http://x.example/">c</a></p> d</summary></entry>
            <entry><title type="text/html"><![CDATA[x <i>y</i>]]> and <u>z <b>w</b></u> &amp;amp; v</title>
              <content type="html">one<br>two</content></entry>
            <entry><atom:title xmlns:atom="http://www.w3.org/2005/Atom" type="html"><em>all</em></atom:title></entry></feed>"#;
        let drafts = parse(atom);
        let titles: Vec<&str> = drafts.iter().map(|d| d.title.as_str()).collect();
        assert_eq!(titles, ["naked markup end", "x y and z w & v", "all"]);
        assert_eq!(
            drafts[0].summary_html,
            r#"a <p>b <a href="http://x.example/">c</a></p> d"#
        );
        assert_eq!(drafts[1].summary_html, "one<br>two");
    }

    #[test]
    fn atom_text_with_elements_is_still_xhtml() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>naked <b>markup</b></title>
            <summary>a <b>b</b></summary></entry></feed>"#;
        let d = first(atom);
        assert_eq!(d.title, "naked markup");
        assert_eq!(d.summary_html, "a <b>b</b>");
    }

    // Summaries in extension elements (issue 20, item 7).

    #[test]
    fn reads_summaries_from_extension_elements() {
        let ns = r#"xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:it="http://www.itunes.com/DTDs/Podcast-1.0.dtd"
            xmlns:x="http://www.w3.org/2005/Atom" xmlns:m="http://search.yahoo.com/mrss/""#;
        let drafts = parse(&rss(&format!(
            r#"<item {ns}><dc:description>&lt;b&gt;dc&lt;/b&gt;</dc:description></item>
            <item {ns}><it:summary>a &lt; b</it:summary></item>
            <item {ns}><it:summary>&lt;p&gt;looks like HTML&lt;/p&gt;</it:summary></item>
            <item {ns}><x:summary type="text">&lt;b&gt; is a tag</x:summary></item>
            <item {ns}><x:content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x<![CDATA[<y>]]></div></x:content></item>
            <item {ns}><m:content url="http://x.example/v.mp4"><m:description type="html">&lt;i&gt;m&lt;/i&gt;</m:description></m:content></item>
            <item><fullitem>&lt;p&gt;full&lt;/p&gt;</fullitem></item>
            <item><body>naked <b>body</b></body></item>"#
        )));
        let summaries: Vec<&str> = drafts.iter().map(|d| d.summary_html.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "<b>dc</b>",
                "a &lt; b",
                "<p>looks like HTML</p>",
                "&lt;b&gt; is a tag",
                r#"<div xmlns="http://www.w3.org/1999/xhtml">x&lt;y&gt;</div>"#,
                "<i>m</i>",
                "<p>full</p>",
                "naked <b>body</b>",
            ]
        );
    }

    #[test]
    fn extension_summaries_are_fall_backs_in_order() {
        let ns = r#"xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
            xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/""#;
        let drafts = parse(&rss(&format!(
            r#"<item {ns}><itunes:summary>4</itunes:summary><description>0</description></item>
            <item {ns}><dc:description>3</dc:description><content:encoded>0</content:encoded></item>
            <item {ns}><itunes:summary>4</itunes:summary><dc:description>3</dc:description><atom:content>2</atom:content><atom:summary>1</atom:summary></item>
            <item {ns}><itunes:summary>4</itunes:summary><dc:description></dc:description><dc:description>3</dc:description></item>
            <item {ns}><description> </description><itunes:summary>4</itunes:summary></item>"#
        )));
        let summaries: Vec<&str> = drafts.iter().map(|d| d.summary_html.as_str()).collect();
        assert_eq!(summaries, ["0", "0", "1", "3", "4"]);
    }

    #[test]
    fn atom_entries_fall_back_to_media_descriptions_too() {
        // As YouTube's feeds give them: in a media:group, and nothing else.
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
            <entry><title>V</title><media:group><media:title>V</media:title>
            <media:description>Watch https://x.example/?a=1&amp;b=2</media:description></media:group></entry></feed>"#;
        assert_eq!(first(atom).summary_html, "Watch https://x.example/?a=1&amp;b=2");
    }

    // Guids wrapped in markup (issue 20, item 8).

    #[test]
    fn a_guid_in_markup_is_its_text() {
        let drafts = parse(&rss(
            "<item><guid isPermaLink='false'><p>abc123</p></guid></item>\
             <item><guid isPermaLink='false'><div><b>tag:x.example,2026:</b><![CDATA[7]]></div></guid></item>\
             <item><guid><span>https://x.example/p/8</span></guid></item>\
             <item><category><b>trade</b></category><link><a>https://x.example/p/9</a></link></item>",
        ));
        assert_eq!(drafts[0].guid.as_deref(), Some("abc123"));
        assert_eq!(drafts[1].guid.as_deref(), Some("tag:x.example,2026:7"));
        assert_eq!(drafts[2].guid.as_deref(), Some("https://x.example/p/8"));
        assert_eq!(drafts[2].link, "https://x.example/p/8");
        assert_eq!(drafts[3].categories, ["trade"]);
        assert_eq!(drafts[3].link, "https://x.example/p/9");
    }

    // Feeds with no entries (issue 20, item 9).

    #[test]
    fn rss_without_channel_or_items_is_an_empty_feed() {
        for feed in [
            &b"<rss version=\"2.0\"></rss>"[..],
            b"<rss version=\"2.0\"/>",
            b"<rss/>",
            b"<rss version=\"2.0\">\n<title>T</title>\n</rss>",
            b"<rss version=\"2.0\"><channel/></rss>",
            b"<rss version=\"2.0\"><channel></channel></rss>",
        ] {
            let text = String::from_utf8_lossy(feed);
            assert_eq!(
                parse_feed(feed, None, None).map(|d| d.len()).ok(),
                Some(0),
                "{text}"
            );
        }
    }

    #[test]
    fn a_document_that_is_no_feed_names_its_root() {
        let err = parse_feed(
            b"<?xml version='1.0'?><opml version='2.0'><body/></opml>",
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a valid feed: its root element is <opml>; a feed's is <rss>, <rdf:RDF> or <feed>"
        );
    }

    // JSON Feed versions (issue 20, item 10).

    #[test]
    fn json_feed_with_a_version_number_is_read_with_a_warning() {
        let json = br#"{"version": "1.0", "title": "J", "items": [{"id": "1", "title": "A"}]}"#;
        let feed = read_feed(json, None, None).unwrap();
        assert_eq!(feed.drafts[0].title, "A");
        assert_eq!(
            feed.warnings,
            [r#"version "1.0" is not a JSON Feed version URL; read as https://jsonfeed.org/version/1"#]
        );
        let json = br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}"#;
        assert_eq!(
            read_feed(json, None, None).unwrap().warnings,
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_rss_1_description_is_html_as_in_rss_2() {
        let rdf = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
            <item rdf:about="http://x.example/1"><title>T</title><description>a &lt;q&gt;b&lt;/q&gt; c</description></item></rdf:RDF>"#;
        assert_eq!(first(rdf).summary_html, "a <q>b</q> c");
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
        assert_eq!(
            err.to_string(),
            "not a valid feed: elements nested more than 256 deep"
        );
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
            .spawn(move || parse_feed(feed.as_bytes(), None, None).map(|d| d.len()).ok())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(parsed, Some(1));
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
