//! The one-line "More" teaser: cut on a word boundary, or anywhere between
//! two CJK characters (which have no spaces), never inside a character.

use unicode_width::UnicodeWidthChar;

const ELLIPSIS: char = '…';

/// `text` itself when it fits `width` display columns, otherwise its longest
/// prefix that fits with a trailing "…", cut where a line may break, less
/// the punctuation that would dangle before the "…" (",…", ":…", "、…").
pub fn teaser(text: &str, width: usize) -> String {
    let text = text.trim();
    if display_width(text) <= width {
        return text.to_string();
    }
    let budget = width.saturating_sub(1);
    let mut used = 0;
    let mut fits = 0; // byte length of the longest prefix that fits
    for (index, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > budget {
            break;
        }
        fits = index + c.len_utf8();
    }
    let cut = break_before(text, fits);
    let kept = text[..cut].trim_end().trim_end_matches(dangles).trim_end();
    format!("{kept}{ELLIPSIS}")
}

/// Punctuation that joins what follows to what came before, so it reads as
/// a mistake right before "…": commas, colons, semicolons, dashes and
/// opening brackets, Western and CJK. A sentence's end stays.
fn dangles(c: char) -> bool {
    matches!(
        c,
        ',' | ':'
            | ';'
            | '-'
            | '–'
            | '—'
            | '('
            | '['
            | '{'
            | '“'
            | '‘'
            | '"'
            | '\''
            | '、'
            | '，'
            | '：'
            | '；'
            | '（'
            | '「'
            | '『'
            | '【'
    )
}

/// The best place at or before `fits` to cut: there if a space or a wide
/// character is on either side, else just after the last space, else `fits`.
fn break_before(text: &str, fits: usize) -> usize {
    let before = text[..fits].chars().next_back();
    let after = text[fits..].chars().next();
    let breakable = |c: Option<char>| c.is_some_and(|c| c.is_whitespace() || is_wide(c));
    if breakable(before) || breakable(after) {
        return fits;
    }
    match text[..fits].rfind(char::is_whitespace) {
        Some(space) if space > 0 => space,
        _ => fits,
    }
}

fn is_wide(c: char) -> bool {
    c.width().unwrap_or(0) > 1
}

pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_text_whole() {
        assert_eq!(teaser("Short text.", 100), "Short text.");
    }

    #[test]
    fn cuts_on_a_word_boundary() {
        let text = "The Minerva Policy Reports deliver comprehensive research on the dynamic political, economic, and social landscape";
        let cut = teaser(text, 100);
        assert_eq!(
            cut,
            "The Minerva Policy Reports deliver comprehensive research on the dynamic political, economic, and…"
        );
        assert!(display_width(&cut) <= 100);
    }

    #[test]
    fn cuts_cjk_by_width() {
        let text = "デジタル庁は本日、エストニアとの協力覚書に基づく専門家派遣の成果を公表しました。";
        let cut = teaser(text, 20);
        assert_eq!(cut, "デジタル庁は本日…");
        assert!(display_width(&cut) <= 20);
    }

    #[test]
    fn never_splits_a_character_and_stays_a_prefix() {
        let text = "Ünïcödé wörds everywhere 日本語 and more text after that";
        for width in 1..40 {
            let cut = teaser(text, width);
            assert!(display_width(&cut) <= width.max(1), "{cut:?} at {width}");
            let kept = cut.trim_end_matches(ELLIPSIS);
            assert!(text.starts_with(kept), "{cut:?}");
        }
    }

    proptest::proptest! {
        /// Teasers never exceed the width, end in "…" only when cut, never
        /// split a character, and are a prefix of the text.
        #[test]
        fn teaser_properties(text in "\\PC{0,200}", width in 1usize..120) {
            let text = text.trim();
            let cut = teaser(text, width);
            proptest::prop_assert!(display_width(&cut) <= width.max(1));
            match cut.strip_suffix(ELLIPSIS) {
                Some(kept) if display_width(text) > width => proptest::prop_assert!(text.starts_with(kept)),
                _ => proptest::prop_assert_eq!(&cut, text),
            }
        }
    }

    #[test]
    fn no_punctuation_dangles_before_the_ellipsis() {
        let cases = [
            ("Agenda, speakers and registration for the seminar", 10, "Agenda…"),
            ("Deadline: 12 March 2027 for all applicants", 11, "Deadline…"),
            (
                "Call for proposals (Horizon Europe) opens",
                21,
                "Call for proposals…",
            ),
            ("経済産業省：新しい補助金の公募を開始しました", 14, "経済産業省…"),
        ];
        for (text, width, expected) in cases {
            assert_eq!(teaser(text, width), expected, "{text:?} at {width}");
        }
    }

    #[test]
    fn a_long_word_is_cut_hard() {
        assert_eq!(teaser("Supercalifragilistic", 8), "Superca…");
    }
}
