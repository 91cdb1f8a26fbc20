//! Characters no untrusted text may carry to a reader, a mail header or a
//! terminal, and the one place that removes them: feed text, local items
//! and subscriber names all go through here.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is invisible or rearranges what is shown, so text carrying
/// it can read differently from what it is:
/// - bidi controls (U+202A–U+202E, U+2066–U+2069, LRM/RLM, ALM U+061C)
///   reorder what follows ("Trojan Source");
/// - zero-width characters (U+200B–U+200D, U+FEFF) hide inside words;
/// - private-use characters (U+E000–U+F8FF and planes 15–16) are what the
///   mail templates delimit their per-subscriber blanks with
///   ([`crate::render::GREETING`]): a feed carrying them would have its text
///   replaced by each subscriber's name and unsubscribe link.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{061C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{E000}'..='\u{F8FF}'
        | '\u{F0000}'..='\u{FFFFD}'
        | '\u{100000}'..='\u{10FFFD}')
}

/// One line of untrusted text (a title, a name, a place): control characters
/// (CR, LF, NUL, ESC, BEL…) become spaces, hidden characters (`is_hidden`) go,
/// whitespace is collapsed. Safe in a mail header, a greeting, an XML text
/// node and a terminal.
pub fn clean_text(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|&c| !is_hidden(c))
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Untrusted text whose line breaks matter (sanitised HTML, a plain-text
/// summary): like [`clean_text`], but newlines and tabs stay and whitespace
/// is not collapsed.
pub fn clean_block(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_hidden(c))
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Text as a terminal may show it: control and hidden (`is_hidden`) characters
/// written as `\u{1b}` escapes, so what a feed or a store holds can neither
/// drive the terminal (`ESC[2J` clears it) nor reorder the line.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let shown = |c: char| !c.is_control() && !is_hidden(c);
    if text.chars().all(shown) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if shown(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_template_placeholders_and_private_use() {
        assert_eq!(
            clean_text("Hi \u{E000}greeting\u{E000} and \u{E000}unsubscribe\u{E000}"),
            "Hi greeting and unsubscribe"
        );
        assert_eq!(clean_text("a\u{F8FF}b\u{F0000}c\u{10FFFD}"), "abc");
        assert_eq!(
            clean_block("<p>\u{E000}x</p>\n<pre>a\tb</pre>"),
            "<p>x</p>\n<pre>a\tb</pre>"
        );
    }

    #[test]
    fn control_and_bidi_characters_never_survive() {
        let hostile = "\u{1b}[2JTitle\u{7}\u{1}\u{8} \u{202E}desrever\u{2066}\u{200B}";
        assert_eq!(clean_text(hostile), "[2JTitle desrever");
        assert!(
            !clean_block(hostile)
                .chars()
                .any(|c| c.is_control() || is_hidden(c))
        );
    }

    #[test]
    fn terminal_output_escapes_what_would_drive_the_terminal() {
        assert_eq!(for_terminal("plain 日本"), "plain 日本");
        assert_eq!(for_terminal("\u{1b}[2Jx\u{202E}"), "\\u{1b}[2Jx\\u{202e}");
    }
}
