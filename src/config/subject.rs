//! A newsletter's `subject`: the template of its mails' subject lines, with
//! placeholders checked when the config is read, so a typo is a config
//! error at its line and column rather than a subject saying `{tilte}`.

use std::ops::Range;

/// The subject of a newsletter that sets none: it carries the lead
/// headline, the first thing a reader decides on.
pub(crate) const DEFAULT_SUBJECT: &str = "{title} No. {number}: {lead}";

/// The placeholders a subject may use, as written in the config.
const PLACEHOLDERS: &str = "{title}, {number}, {date} or {lead}";

/// A subject template, validated: text and placeholders in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// As written, for the documentation check and error messages.
    template: String,
    pieces: Vec<Piece>,
}

/// One part of a subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// The newsletter's `title`.
    Title,
    /// The edition's number.
    Number,
    /// The edition's date, in `site.date_format`.
    Date,
    /// The headline of the edition's first item.
    Lead,
}

impl Default for Subject {
    fn default() -> Subject {
        Subject::parse(DEFAULT_SUBJECT).expect("the default subject is valid")
    }
}

impl Subject {
    /// The template, or the byte range within it of what is wrong and why:
    /// an unknown placeholder, or a brace that opens none.
    pub(crate) fn parse(template: &str) -> Result<Subject, (Range<usize>, String)> {
        let mut pieces = Vec::new();
        let mut rest = 0;
        while let Some(open) = template[rest..].find(['{', '}']).map(|i| i + rest) {
            if open > rest {
                pieces.push(Piece::Text(template[rest..open].to_string()));
            }
            let close = template[open..]
                .find('}')
                .map(|i| i + open)
                .filter(|_| template[open..].starts_with('{'))
                .ok_or_else(|| {
                    (
                        open..open + 1,
                        format!("a brace that opens no placeholder; use {PLACEHOLDERS}"),
                    )
                })?;
            let name = &template[open..=close];
            pieces.push(match name {
                "{title}" => Piece::Title,
                "{number}" => Piece::Number,
                "{date}" => Piece::Date,
                "{lead}" => Piece::Lead,
                _ => {
                    return Err((
                        open..close + 1,
                        format!("unknown placeholder {name}; expected {PLACEHOLDERS}"),
                    ));
                }
            });
            rest = close + 1;
        }
        if rest < template.len() {
            pieces.push(Piece::Text(template[rest..].to_string()));
        }
        Ok(Subject {
            template: template.to_string(),
            pieces,
        })
    }

    /// The template as written in the config.
    pub fn template(&self) -> &str {
        &self.template
    }

    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_placeholders_and_locates_mistakes() {
        let subject = Subject::parse("{title} No. {number}: {lead}").unwrap();
        assert_eq!(
            subject.pieces(),
            [
                Piece::Title,
                Piece::Text(" No. ".into()),
                Piece::Number,
                Piece::Text(": ".into()),
                Piece::Lead
            ]
        );
        let (span, message) = Subject::parse("{title}: {headline}").unwrap_err();
        assert_eq!(span, 9..19);
        assert!(message.starts_with("unknown placeholder {headline}"), "{message}");
        assert_eq!(Subject::parse("{title").unwrap_err().0, 0..1);
        assert_eq!(Subject::parse("a } b").unwrap_err().0, 2..3);
    }
}
