//! The render stage: an edition as email-ready HTML and its plain-text twin,
//! through the askama templates in `templates/` (compiled into the binary).
//!
//! Templates get view structs with everything already formatted, so they
//! hold no logic beyond loops and ifs. Untrusted feed HTML reaches them only
//! sanitised (`Item::summary_html`); askama escapes everything else.

mod archive;
mod lang;

use std::borrow::Cow;

use askama::Template;
use chrono::NaiveDate;
use textwrap::{Options, WordSeparator};

use crate::config::{Audience, Piece, Site};
use crate::editions::Edition;
use crate::items::{Details, Item, clean_text, teaser, to_text_with_references};

pub(crate) use archive::{ArchiveEntry, ArchiveGroup, FeedEntry, FeedHead, render_archive_page, render_atom};
use lang::mark_paragraphs;
pub(crate) use lang::{japanese_only, lang_of};

/// Column the text twin wraps at.
pub(crate) const TEXT_WIDTH: usize = 72;

/// One edition, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    pub(crate) text: String,
}

/// Where an edition lives on the web: the "view in browser" target.
pub(crate) fn web_link(site: &Site, newsletter: &str, date: NaiveDate) -> String {
    let base = site.base();
    format!("{base}/archive/{newsletter}/{date}.html")
}

/// Widest a subject line may be, in display columns (a CJK character
/// counts two): RFC 5322's recommended line length, which is also about
/// what a mail client's message list shows.
pub(crate) const SUBJECT_WIDTH: usize = 78;

/// What `{lead}` says in an edition with no item.
const NO_LEAD: &str = "Nothing new this time";

/// The subject line of an edition's mail, also its page's title: the
/// newsletter's `subject` template filled in, on one line (no CR or LF from
/// a title reaches the header), cut after a word to [`SUBJECT_WIDTH`]
/// columns ending in "…".
pub(crate) fn subject(edition: &Edition, site: &Site) -> String {
    let newsletter = edition.newsletter;
    let mut line = String::new();
    for piece in newsletter.subject.pieces() {
        match piece {
            Piece::Text(text) => line.push_str(text),
            Piece::Title => line.push_str(&newsletter.title),
            Piece::Number => line.push_str(&edition.number.to_string()),
            Piece::Date => line.push_str(&edition.date.format(&site.date_format).to_string()),
            Piece::Lead => line.push_str(edition.items().next().map_or(NO_LEAD, |item| &item.title)),
        }
    }
    teaser(&clean_text(&line), SUBJECT_WIDTH)
}

/// Who the rendering is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The archive page and preview: no greeting, no unsubscribe link.
    Web,
    /// A mail template: [`GREETING`], [`UNSUBSCRIBE_URL`] and [`PREFERENCES_URL`] stand where each
    /// subscriber's own text goes, so the edition is rendered once per send.
    Mail,
}

/// Placeholder for the greeting line ("Dear Jane Doe,") in a mail template.
pub(crate) const GREETING: &str = "\u{E000}greeting\u{E000}";
/// Placeholder for the subscriber's unsubscribe URL in a mail template.
pub(crate) const UNSUBSCRIBE_URL: &str = "\u{E000}unsubscribe\u{E000}";
/// Placeholder for the subscriber's preference centre URL in a mail template.
pub(crate) const PREFERENCES_URL: &str = "\u{E000}preferences\u{E000}";

pub fn render_edition(edition: &Edition, site: &Site, reader: Reader) -> Result<Rendered, askama::Error> {
    let newsletter = edition.newsletter;
    let date = edition.date.format(&site.date_format).to_string();
    let subject = subject(edition, site);
    let number = format!("No. {}", edition.number);
    let audience_note = match newsletter.audience {
        Audience::Everyone => None,
        Audience::EuOrganisations => {
            Some("This newsletter is only available for EU companies / EU organisations.")
        }
    };
    let web_link = web_link(site, newsletter.id.as_str(), edition.date);
    let sections: Vec<SectionView> = edition
        .sections
        .iter()
        .filter(|s| !s.featured.is_empty() || !s.more.is_empty() || !s.still_open.is_empty())
        .map(|s| SectionView {
            title: &s.section.title,
            featured: s.featured.iter().map(|item| ItemView::new(item, site)).collect(),
            more: s.more.iter().map(|item| ItemView::new(item, site)).collect(),
            still_open: s
                .still_open
                .iter()
                .map(|item| ItemView::new(item, site))
                .collect(),
        })
        .collect();
    let preheader = edition
        .items()
        .take(3)
        .map(|i| i.title.as_str())
        .collect::<Vec<_>>()
        .join(" · ");
    let (greeting, unsubscribe_url, preferences_url) = match reader {
        Reader::Web => (None, None, None),
        Reader::Mail => (Some(GREETING), Some(UNSUBSCRIBE_URL), Some(PREFERENCES_URL)),
    };
    // One salutation: a mail's own greeting stands for the intro's.
    let intro = edition
        .intro
        .map(|markdown| match greeting {
            Some(_) => intro_html(without_salutation(markdown)),
            None => intro_html(markdown),
        })
        .filter(|html| !html.trim().is_empty());
    let html = EditionHtml {
        site_name: &site.name,
        publisher: site.publisher(),
        subject: &subject,
        number: &number,
        title: &newsletter.title,
        description: &newsletter.description,
        date: &date,
        preheader: &preheader,
        web_link: &web_link,
        home: site.base_url.as_str(),
        sections: &sections,
        intro: intro.as_deref(),
        audience_note,
        greeting,
        unsubscribe_url,
        preferences_url,
        subscribe_url: site.subscribe_url.as_ref().map(url::Url::as_str),
    }
    .render()?;
    let header = Header {
        number: &number,
        date: &date,
        web_link: &web_link,
        audience_note,
        greeting,
        unsubscribe_url,
        preferences_url,
    };
    let text = EditionText::new(edition, site, &sections, intro.as_deref(), &header).render()?;
    Ok(Rendered { html, text })
}

#[derive(Template)]
#[template(path = "edition.html")]
struct EditionHtml<'a> {
    site_name: &'a str,
    /// The footer's "published by" line: `[site] publisher`.
    publisher: &'a str,
    subject: &'a str,
    number: &'a str,
    title: &'a str,
    description: &'a str,
    date: &'a str,
    preheader: &'a str,
    web_link: &'a str,
    home: &'a str,
    sections: &'a [SectionView<'a>],
    /// The editor's introduction, sanitised HTML.
    intro: Option<&'a str>,
    audience_note: Option<&'a str>,
    greeting: Option<&'a str>,
    unsubscribe_url: Option<&'a str>,
    /// The subscriber's preference centre link (a mail's footer).
    preferences_url: Option<&'a str>,
    /// `site.subscribe_url`: the sign-up form.
    subscribe_url: Option<&'a str>,
}

struct SectionView<'a> {
    title: &'a str,
    featured: Vec<ItemView<'a>>,
    more: Vec<ItemView<'a>>,
    /// Tenders of earlier editions not yet closed: title and particulars.
    still_open: Vec<ItemView<'a>>,
}

/// An item as readers see it: date lines formatted, fields ready to print,
/// each with its language when it is not the page's (`lang`).
struct ItemView<'a> {
    title: &'a str,
    title_lang: Option<&'static str>,
    /// `None` when the feed gave no usable link: the title is then plain text.
    link: Option<&'a str>,
    /// Lines above the summary: date, place, deadline, reference.
    meta: Vec<Line>,
    /// Sanitised, its paragraphs in another language than the whole marked.
    summary_html: Cow<'a, str>,
    summary_lang: Option<&'static str>,
    teaser: &'a str,
    teaser_lang: Option<&'static str>,
    credit: &'a str,
}

/// A line of text and its language, when it is not the page's.
struct Line {
    text: String,
    lang: Option<&'static str>,
}

impl Line {
    fn new(text: String) -> Line {
        Line {
            lang: lang_of(&text),
            text,
        }
    }
}

impl<'a> ItemView<'a> {
    fn new(item: &'a Item, site: &Site) -> ItemView<'a> {
        let day = |date: NaiveDate| date.format(&site.date_format).to_string();
        let meta = match &item.details {
            Details::Event { start, end, place } if start == end => vec![place.clone(), day(*start)],
            Details::Event { start, end, place } => {
                vec![place.clone(), format!("{} - {}", day(*start), day(*end))]
            }
            Details::Tender {
                entity,
                reference,
                deadline,
            } => {
                vec![
                    entity.clone(),
                    format!("Deadline: {} · Ref. {reference}", day(*deadline)),
                ]
            }
            Details::News | Details::Report | Details::PressReview => {
                item.published.map(|p| day(p.date_naive())).into_iter().collect()
            }
        };
        let summary_lang = lang_of(&item.summary_text);
        ItemView {
            title: &item.title,
            title_lang: lang_of(&item.title),
            link: Some(item.link.as_str()).filter(|l| l.starts_with("https://") || l.starts_with("http://")),
            meta: meta.into_iter().map(Line::new).collect(),
            summary_html: mark_paragraphs(&item.summary_html, summary_lang),
            summary_lang,
            teaser: &item.teaser,
            teaser_lang: lang_of(&item.teaser),
            credit: &item.credit,
        }
    }
}

/// The lines at the top and bottom of an edition.
struct Header<'a> {
    number: &'a str,
    date: &'a str,
    web_link: &'a str,
    audience_note: Option<&'a str>,
    greeting: Option<&'a str>,
    unsubscribe_url: Option<&'a str>,
    preferences_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "edition.txt")]
struct EditionText<'a> {
    heading: String,
    number: &'a str,
    site_name: &'a str,
    /// "TITLE is published by PUBLISHER: BASE_URL", wrapped at [`TEXT_WIDTH`].
    published_by: String,
    date: &'a str,
    description: String,
    web_link: &'a str,
    rule: String,
    thin_rule: String,
    sections: Vec<TextSection>,
    /// The editor's introduction, wrapped, its links numbered.
    intro: Option<String>,
    audience_note: Option<&'a str>,
    greeting: Option<&'a str>,
    unsubscribe_url: Option<&'a str>,
    /// The subscriber's preference centre link (a mail's footer).
    preferences_url: Option<&'a str>,
    /// `site.subscribe_url`: the sign-up form.
    subscribe_url: Option<&'a str>,
    /// Links in order of appearance; a link's reference number is its 1-based index.
    references: Vec<String>,
}

/// The links of a text edition, numbered in order of appearance: item
/// links and links inside summaries alike, each URL once.
#[derive(Default)]
struct References(Vec<String>);

impl References {
    /// The number of `url`, given it if it has none yet.
    fn number(&mut self, url: &str) -> usize {
        match self.0.iter().position(|known| known == url) {
            Some(index) => index + 1,
            None => {
                self.0.push(url.to_string());
                self.0.len()
            }
        }
    }
}

/// What a text item shows under its title.
#[derive(Clone, Copy)]
enum Body {
    /// The whole summary, its links numbered: a featured item.
    Summary,
    /// The one-line teaser: a "More" item.
    Teaser,
    /// The title and dates alone: a tender listed again as still open.
    Nothing,
}

struct TextSection {
    title: String,
    featured: Vec<TextItem>,
    more: Vec<TextItem>,
    still_open: Vec<TextItem>,
}

struct TextItem {
    /// Wrapped, ending in its reference number: `Title [3]`.
    title: String,
    meta: Vec<String>,
    body: String,
    credit: String,
}

impl<'a> EditionText<'a> {
    fn new(
        edition: &Edition<'a>,
        site: &'a Site,
        sections: &[SectionView<'a>],
        intro_html: Option<&str>,
        header: &Header<'a>,
    ) -> EditionText<'a> {
        let mut references = References::default();
        // First in reading order, so its links are numbered first.
        let intro =
            intro_html.map(|html| wrap(&to_text_with_references(html, |url| Some(references.number(url)))));
        let mut text_item = |view: &ItemView<'a>, body: Body| {
            let title = match view.link {
                Some(link) => format!("{} [{}]", view.title, references.number(link)),
                None => view.title.to_string(),
            };
            let body = match body {
                Body::Summary => {
                    to_text_with_references(&view.summary_html, |url| Some(references.number(url)))
                }
                Body::Teaser => view.teaser.to_string(),
                Body::Nothing => String::new(),
            };
            TextItem {
                title: wrap(&title),
                meta: view.meta.iter().map(|line| line.text.clone()).collect(),
                body: wrap(&body),
                credit: view.credit.to_string(),
            }
        };
        let sections = sections
            .iter()
            .map(|s| TextSection {
                title: s.title.to_uppercase(),
                featured: s.featured.iter().map(|v| text_item(v, Body::Summary)).collect(),
                more: s.more.iter().map(|v| text_item(v, Body::Teaser)).collect(),
                still_open: s.still_open.iter().map(|v| text_item(v, Body::Nothing)).collect(),
            })
            .collect();
        EditionText {
            heading: edition.newsletter.title.to_uppercase(),
            number: header.number,
            site_name: &site.name,
            published_by: wrap(&format!(
                "{} is published by {}: {}",
                edition.newsletter.title,
                site.publisher(),
                site.base_url
            )),
            date: header.date,
            description: wrap(&edition.newsletter.description),
            web_link: header.web_link,
            rule: "=".repeat(TEXT_WIDTH),
            thin_rule: "-".repeat(TEXT_WIDTH),
            sections,
            intro,
            audience_note: header.audience_note,
            greeting: header.greeting,
            unsubscribe_url: header.unsubscribe_url,
            preferences_url: header.preferences_url,
            subscribe_url: site.subscribe_url.as_ref().map(url::Url::as_str),
            references: references.0,
        }
    }
}

/// The editor's Markdown introduction as HTML a mail may carry: rendered
/// by pulldown-cmark, then sanitised like feed HTML (an editor's raw HTML
/// or a `javascript:` link goes no further than a feed's would). The
/// desk's review page shows an introduction with it before it is saved.
pub(crate) fn intro_html(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    crate::items::clean_block(&crate::items::sanitize(&html, None))
}

/// Words that open a salutation, in lower case.
const SALUTATIONS: [&str; 7] = [
    "dear",
    "hello",
    "hi",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
];

/// The introduction without its own salutation, when its first line is
/// one ("Dear readers,", "Hello all,": a short line opening with a
/// salutation and ending in a comma): a mail's greeting ("Dear Jane
/// Doe,") stands in its place, so a reader is greeted once.
fn without_salutation(markdown: &str) -> &str {
    let trimmed = markdown.trim_start();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let line = first.trim().to_lowercase();
    let opens = SALUTATIONS.iter().any(|word| {
        line.strip_prefix(word)
            .is_some_and(|after| after.starts_with([' ', ',']))
    });
    if opens && line.ends_with(',') && line.split_whitespace().count() <= 8 {
        rest
    } else {
        markdown
    }
}

/// Wraps each line at [`TEXT_WIDTH`] display columns, breaking where
/// Unicode allows: between words, and between CJK characters.
pub(crate) fn wrap(text: &str) -> String {
    let options = Options::new(TEXT_WIDTH).word_separator(WordSeparator::UnicodeBreakProperties);
    text.lines()
        .map(|line| textwrap::fill(line, &options))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn only_a_short_salutation_line_is_taken_off_the_introduction() {
        for (intro, kept) in [
            ("Dear readers,\n\nThis week: hydrogen.", "\nThis week: hydrogen."),
            ("  Hello all,\nMore soon.", "More soon."),
            ("Hi,\nShort.", "Short."),
            (
                "Dear readers, this week is long.",
                "Dear readers, this week is long.",
            ),
            ("Dearest news,\nx", "Dearest news,\nx"),
            ("This week,\nx", "This week,\nx"),
            ("Dear readers,", ""),
        ] {
            assert_eq!(without_salutation(intro), kept, "{intro:?}");
        }
    }

    #[test]
    fn wraps_latin_and_cjk_within_the_width() {
        let text = format!("{} {}", "word ".repeat(40), "日本の経済産業省は半導体産業の強化に向けた新たな支援策を発表し、欧州企業との協力も視野に入れている。".repeat(2));
        for line in wrap(&text).lines() {
            assert!(line.width() <= TEXT_WIDTH, "{line:?} is {} columns", line.width());
        }
    }
}
