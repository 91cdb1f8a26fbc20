//! A server's replies: read line by line within bounds, one reply of one
//! or more lines, shown on one line without the server's control characters.

use std::fmt;
use std::io::{BufRead, Read};

use super::connection::Connection;

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
const MAX_LINE: u64 = 2000;

/// Lines in one reply, at most (an EHLO reply has one per extension).
const MAX_LINES: usize = 100;

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

impl Connection {
    /// One reply, of one or more lines (`250-…` then `250 …`).
    pub(super) fn read_reply(&mut self) -> Result<Reply, ReadError> {
        let mut code = None;
        let mut text: Vec<String> = Vec::new();
        let mut line = Vec::new();
        for _ in 0..MAX_LINES {
            line.clear();
            let read = (&mut self.stream)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(ReadError::Io)?;
            if read as u64 == MAX_LINE && !line.ends_with(b"\n") {
                return Err(ReadError::NotSmtp(format!(
                    "a reply line longer than {MAX_LINE} bytes"
                )));
            }
            if read == 0 {
                return Err(ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let not_smtp = || ReadError::NotSmtp(format!("not an SMTP reply: {:?}", truncate(line, 80)));
            let this: u16 = line
                .get(..3)
                .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(not_smtp)?;
            if *code.get_or_insert(this) != this {
                return Err(not_smtp());
            }
            let (last, rest) = match line.as_bytes().get(3) {
                None => (true, ""),
                Some(b' ') => (true, &line[4..]),
                Some(b'-') => (false, &line[4..]),
                Some(_) => return Err(not_smtp()),
            };
            text.push(rest.trim().to_string());
            if last {
                return Ok(Reply {
                    code: this,
                    text: text.join("\n"),
                });
            }
        }
        Err(ReadError::NotSmtp(format!(
            "a reply of more than {MAX_LINES} lines"
        )))
    }
}

fn truncate(text: &str, chars: usize) -> &str {
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
