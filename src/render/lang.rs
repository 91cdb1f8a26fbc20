//! Which language an item's text is in, so that a screen reader reads it
//! with the right voice (Japanese read by an English voice is noise).
//!
//! Kept simple, by script: text is Japanese when at least half of its
//! letters are kana or kanji; anything else is taken to be in the page's
//! language, English. The rule is the one `tests/browser/axe.mjs` checks
//! the pages by.

use std::borrow::Cow;

/// The language of every page bulletin writes (`<html lang="en">` in the templates).
const PAGE: &str = "en";

/// `Some("ja")` when `text` is Japanese, `None` when it is in the page's language.
pub(crate) fn lang_of(text: &str) -> Option<&'static str> {
    let (mut letters, mut japanese) = (0_usize, 0_usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        japanese += usize::from(is_japanese(c));
    }
    (letters > 0 && 2 * japanese >= letters).then_some("ja")
}

/// Whether an item is in Japanese only, title and summary (an empty
/// summary counts as no English): a reader of these English pages may not
/// read it, so the editor is told before it goes out. A summary with its
/// English translation is mostly Latin letters, and is not.
pub(crate) fn japanese_only(item: &crate::items::Item) -> bool {
    lang_of(&item.title).is_some()
        && (item.summary_text.trim().is_empty() || lang_of(&item.summary_text).is_some())
}

/// Kana (hiragana, katakana, half-width katakana) and CJK ideographs.
fn is_japanese(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{FF66}'..='\u{FF9F}')
}

/// Sanitised summary HTML whose paragraphs are marked where their language
/// differs from `whole`'s, the summary's own (a Japanese paragraph followed
/// by its English translation). Only bare `<p>` tags are looked at: the
/// sanitiser leaves no attribute on them.
pub(crate) fn mark_paragraphs<'a>(html: &'a str, whole: Option<&str>) -> Cow<'a, str> {
    if !html.contains("<p>") {
        return Cow::Borrowed(html);
    }
    let mut marked = String::with_capacity(html.len() + 32);
    let mut pieces = html.split("<p>");
    marked.push_str(pieces.next().unwrap_or_default());
    for paragraph in pieces {
        let text = paragraph.split("</p>").next().unwrap_or_default();
        match lang_of(&without_tags(text)) {
            lang if lang == whole => marked.push_str("<p>"),
            lang => {
                marked.push_str("<p lang=\"");
                marked.push_str(lang.unwrap_or(PAGE));
                marked.push_str("\">");
            }
        }
        marked.push_str(paragraph);
    }
    Cow::Owned(marked)
}

/// The text of a piece of sanitised HTML: its tags left out.
fn without_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_is_told_by_its_letters() {
        assert_eq!(
            lang_of("デジタル庁、マイナンバーカードの国外利用に関する政策方針"),
            Some("ja")
        );
        assert_eq!(lang_of("大阪大学、欧州企業 (EU) との技術移転を加速"), Some("ja"));
        assert_eq!(lang_of("大阪大学 (Osaka University) and the EU"), None);
        assert_eq!(lang_of("METI publishes the 半導体 strategy"), None);
        assert_eq!(lang_of("2026/11/23 · 12:00"), None);
    }

    #[test]
    fn paragraphs_in_another_language_than_the_summary_are_marked() {
        let html = "<p>気象庁は、調達について公告しました。</p>\n<p>The <a href=\"https://x.example/\">agency</a> invites tenders.</p>";
        assert_eq!(
            mark_paragraphs(html, None),
            "<p lang=\"ja\">気象庁は、調達について公告しました。</p>\n<p>The <a href=\"https://x.example/\">agency</a> invites tenders.</p>"
        );
        assert_eq!(
            mark_paragraphs(html, Some("ja")),
            "<p>気象庁は、調達について公告しました。</p>\n<p lang=\"en\">The <a href=\"https://x.example/\">agency</a> invites tenders.</p>"
        );
        assert_eq!(mark_paragraphs("plain", None), "plain");
    }
}
