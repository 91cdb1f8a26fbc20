//! Untrusted feed HTML made safe for a mail, and turned into plain text.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};

use super::link::{canonical_link, canonical_url};
use super::push_collapsed;

/// Tags a summary may keep. No `img`: every remote image in a mail is a
/// tracking pixel to its sender, and feeds' images are not ours to vouch for.
const TAGS: &[&str] = &[
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

/// Tags whose text goes too, not just the tag itself.
const DROP_WITH_CONTENT: &[&str] = &["script", "style", "iframe", "object", "noscript", "template"];

/// Sanitises feed HTML: only the tags in `TAGS`, only `href` on links, only http(s)
/// and mailto URLs, relative links made absolute against `base`, tracking
/// parameters dropped from links.
///
/// Only an http(s) `base` is used. ammonia checks the scheme of a URL as
/// written, not of the one it makes absolute against `base`, and `base` is
/// the item's link, which the feed sets: a `javascript:` link would turn
/// `<a href="#more">` into a `javascript:` link (found by fuzzing).
pub fn sanitize(html: &str, base: Option<&url::Url>) -> String {
    let base = base.filter(|b| matches!(b.scheme(), "http" | "https"));
    BASE.with_borrow_mut(|current| current.clone_from(&base.cloned()));
    let cleaned = match base {
        Some(_) => WITH_BASE.with(|builder| builder.clean(html).to_string()),
        None => WITHOUT_BASE.with(|builder| builder.clean(html).to_string()),
    };
    unwrap_dead_links(cleaned.trim())
}

thread_local! {
    /// The sanitisers, built once per thread: building one costs more than
    /// cleaning a summary. They differ only in what becomes of a relative
    /// link: made absolute against [`BASE`], or dropped.
    static WITH_BASE: Builder<'static> = sanitiser(UrlRelative::Custom(Box::new(absolute)));
    static WITHOUT_BASE: Builder<'static> = sanitiser(UrlRelative::Deny);
    /// The base of the HTML [`sanitize`] is cleaning: the sanitisers'
    /// callbacks are built once, and read it here.
    static BASE: RefCell<Option<url::Url>> = const { RefCell::new(None) };
}

fn sanitiser(url_relative: UrlRelative<'static>) -> Builder<'static> {
    let mut builder = Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer"))
        .url_relative(url_relative)
        .attribute_filter(|_, attribute, value| match attribute {
            "href" => Some(canonical_href(value)),
            _ => Some(Cow::Borrowed(value)),
        });
    builder
}

/// A relative URL made absolute against [`BASE`], as ammonia's
/// `UrlRelative::RewriteWithBase` does; `None` drops it.
fn absolute(url: &str) -> Option<Cow<'_, str>> {
    BASE.with_borrow(|base| base.as_ref()?.join(url).ok())
        .map(|absolute| Cow::Owned(absolute.into()))
}

/// A link's URL made absolute against [`BASE`], without tracking parameters;
/// as it was when that cannot be done.
fn canonical_href(value: &str) -> Cow<'_, str> {
    let absolute = BASE.with_borrow(|base| base.as_ref().and_then(|b| b.join(value).ok()));
    let canonical = match absolute {
        Some(url) => canonical_url(url),
        None => canonical_link(value),
    };
    canonical.map_or(Cow::Borrowed(value), Cow::Owned)
}

/// A link whose URL the sanitiser removed (`javascript:`, a relative URL
/// with no base) is no link: keep its text, drop the `<a>`. The sanitiser's
/// output writes such a tag exactly as `<a rel="noopener noreferrer">`.
///
/// Links can nest: the HTML parser leaves an `<a>` inside another when the
/// first one's content is nested deep enough
/// (`<a><ul><li><ol><ul><li><ul><li><ul><a>`, found by fuzzing). So each `</a>` goes with its own start
/// tag, and only a dead link's is dropped; otherwise a stray `</a>` is left
/// in the mail, or a live link loses its end.
fn unwrap_dead_links(html: &str) -> String {
    const DEAD: &str = "<a rel=\"noopener noreferrer\">";
    if !html.contains(DEAD) {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // The links open at this point: whether each one is dead.
    let mut open: Vec<bool> = Vec::new();
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        let tag = &rest[..end];
        let dead = match tag {
            DEAD => {
                open.push(true);
                true
            }
            "</a>" => open.pop().unwrap_or(false),
            _ => {
                if tag.starts_with("<a ") {
                    open.push(false);
                }
                false
            }
        };
        if !dead {
            out.push_str(tag);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Plain text of sanitised HTML: paragraphs separated by a blank line, list
/// items as "• " lines, whitespace collapsed.
///
/// Only meant for the output of [`sanitize`], whose markup is regular: tags
/// are well formed and the only entities are the five the serialiser writes.
pub fn to_text(sanitised: &str) -> String {
    to_text_with_references(sanitised, |_| None)
}

/// [`to_text`], with each link's text followed by its reference number,
/// `" [3]"`: the number `reference` gives the link's URL, as in a text
/// edition's list of references. A link whose URL is not http(s) or
/// mailto gets none (the sanitiser lets no other through), nor does one
/// whose text is its URL already.
pub(crate) fn to_text_with_references(
    sanitised: &str,
    mut reference: impl FnMut(&str) -> Option<usize>,
) -> String {
    let mut raw = String::with_capacity(sanitised.len());
    // The links open here: each one's URL (if it is one to number) and
    // where its text starts in `raw`.
    let mut links: Vec<(Option<String>, usize)> = Vec::new();
    let mut rest = sanitised;
    while let Some(start) = rest.find('<') {
        push_decoded(&mut raw, &rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        if tag == "a" || tag.starts_with("a ") {
            links.push((href(tag), raw.len()));
        } else if tag == "/a" {
            if let Some((Some(url), text_at)) = links.pop()
                && raw[text_at..].trim() != url
                && let Some(number) = reference(&url)
            {
                raw.push_str(&format!(" [{number}]"));
            }
        } else {
            raw.push_str(tag_break(tag));
        }
        rest = &rest[start + end + 1..];
    }
    if !rest.contains('<') {
        push_decoded(&mut raw, rest);
    }
    let mut text = String::with_capacity(raw.len());
    for paragraph in raw.split("\n\n") {
        let mut first_line = true;
        for line in paragraph.lines().filter(|line| !line.trim().is_empty()) {
            if first_line {
                first_line = false;
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
            } else {
                text.push('\n');
            }
            push_collapsed(&mut text, line);
        }
    }
    text
}

/// The URL of a link's start tag (`a href="…" rel="…"`), decoded, when it
/// is one a reader can follow: http(s) or mailto.
fn href(tag: &str) -> Option<String> {
    let value = tag.split_once(" href=\"")?.1;
    let mut url = String::new();
    push_decoded(&mut url, &value[..value.find('"')?]);
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(url)
}

/// Text of the sanitised markup, entities decoded and line breaks made
/// spaces (only tags break lines).
fn push_decoded(out: &mut String, text: &str) {
    const ENTITIES: [(&str, char); 5] = [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&nbsp;", '\u{a0}'),
        ("&amp;", '&'),
    ];
    let mut rest = text;
    while let Some(at) = rest.find(['&', '\n']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (len, decoded) = match ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity)) {
            Some((entity, c)) => (entity.len(), *c),
            None if rest.starts_with('\n') => (1, ' '),
            None => (1, '&'),
        };
        out.push(decoded);
        rest = &rest[len..];
    }
    out.push_str(rest);
}

/// What a tag becomes in plain text.
fn tag_break(tag: &str) -> &'static str {
    let closing = tag.starts_with('/');
    let name = tag
        .trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or("");
    match name {
        "br" => "\n",
        "li" if !closing => "\n• ",
        "p" | "blockquote" | "pre" | "ul" | "ol" | "h3" | "h4" | "h5" | "h6" => "\n\n",
        _ => "",
    }
}

/// Text made safe inside HTML, attribute values included.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&text[copied..at]);
        out.push_str(escaped);
        copied = at + 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        sanitize(
            html,
            Some(&url::Url::parse("https://news.example/a/b.html").unwrap()),
        )
    }

    #[test]
    fn drops_scripts_handlers_and_javascript_urls() {
        let html = clean(
            r#"<p onclick="x()">Hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a><iframe src="https://evil.example"></iframe><style>p{}</style>"#,
        );
        assert!(!html.contains("script") && !html.contains("alert"), "{html}");
        assert!(
            !html.contains("onclick") && !html.contains("iframe") && !html.contains("style"),
            "{html}"
        );
        assert!(html.contains("<p>Hi</p>"), "{html}");
    }

    #[test]
    fn a_link_without_a_safe_url_becomes_text() {
        let html = clean(r#"<p>See <a href="javascript:alert(1)">this</a> and <a href="/ok">that</a>.</p>"#);
        assert_eq!(
            html,
            r#"<p>See this and <a href="https://news.example/ok" rel="noopener noreferrer">that</a>.</p>"#
        );
    }

    #[test]
    fn drops_tracking_pixels_and_images() {
        let html = clean(
            r#"<p>Text<img src="https://t.example/p.gif" width="1" height="1"><img src=x onerror=alert(1)></p>"#,
        );
        assert_eq!(html, "<p>Text</p>");
    }

    #[test]
    fn makes_links_absolute_and_drops_tracking_parameters() {
        let html = clean(r#"<a href="../c?id=3&amp;utm_source=rss#top">more</a>"#);
        assert_eq!(
            html,
            r#"<a href="https://news.example/c?id=3" rel="noopener noreferrer">more</a>"#
        );
    }

    #[test]
    fn text_keeps_paragraphs_and_lists() {
        let text = to_text(&clean(
            "<p>One &amp; <b>two</b></p><p>Three\n  four</p><ul><li>a</li><li>b &lt;c&gt;</li></ul>",
        ));
        assert_eq!(text, "One & two\n\nThree four\n\n• a\n• b <c>");
    }

    /// `html`, cleaned, as text with its links numbered from 1 in order
    /// of appearance; also the URLs numbered.
    fn numbered(html: &str) -> (String, Vec<String>) {
        let mut urls: Vec<String> = Vec::new();
        let text = to_text_with_references(&clean(html), |url| {
            urls.push(url.to_string());
            Some(urls.len())
        });
        (text, urls)
    }

    #[test]
    fn links_get_the_number_of_their_url() {
        let (text, urls) = numbered(
            r#"<p>See <a href="/agenda?a=1&amp;b=2">the agenda</a>, <a href="javascript:x()">dead</a>, <a href="mailto:desk@news.example">the desk</a> and <a href="https://x.example/doc">https://x.example/doc</a>.</p>"#,
        );
        assert_eq!(
            text,
            "See the agenda [1], dead, the desk [2] and https://x.example/doc."
        );
        assert_eq!(
            urls,
            ["https://news.example/agenda?a=1&b=2", "mailto:desk@news.example"]
        );
    }

    #[test]
    fn nested_links_each_get_their_number() {
        let sanitised = r#"<a href="https://a.example/" rel="noopener noreferrer">outer <a href="https://b.example/" rel="noopener noreferrer">inner</a> tail</a>"#;
        let mut next = 0;
        let text = to_text_with_references(sanitised, |_| {
            next += 1;
            Some(next)
        });
        assert_eq!(text, "outer inner [1] tail [2]");
    }

    #[test]
    fn text_of_plain_text_is_itself() {
        assert_eq!(to_text(&clean("Just text, 日本語も。")), "Just text, 日本語も。");
    }
}
