//! A server's replies: a reply of one or more lines (read by the
//! connection within [`MAX_LINE`] and [`MAX_LINES`]), shown on one line
//! without the server's control characters.

use std::fmt;

/// A reply: its code and its text, lines joined with spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) text: String,
}

impl Reply {
    /// A 4xx reply: try again later.
    pub(crate) fn transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub(super) fn positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// On one line, with no control character from the server reaching a terminal.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{} {text}", self.code)
    }
}

/// A reply line longer than this is no SMTP (RFC 5321 allows 512).
pub(super) const MAX_LINE: u64 = 2000;

/// Lines in one reply, at most (an EHLO reply has one per extension).
pub(super) const MAX_LINES: usize = 100;

/// Why a reply could not be read.
pub(super) enum ReadError {
    Io(std::io::Error),
    NotSmtp(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(error) => write!(f, "{error}"),
            ReadError::NotSmtp(reason) => f.write_str(reason),
        }
    }
}

pub(super) fn truncate(text: &str, chars: usize) -> &str {
    text.char_indices().nth(chars).map_or(text, |(at, _)| &text[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_show_on_one_line_without_control_characters() {
        let reply = Reply {
            code: 550,
            text: "5.1.1 no such user\nsee \u{1b}[2Jhttps://example.org".into(),
        };
        assert_eq!(
            reply.to_string(),
            "550 5.1.1 no such user see  [2Jhttps://example.org"
        );
    }
}
