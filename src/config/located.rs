//! TOML with line numbers: deserialising a file so that every error names
//! `file:line:column` and the field. Used for `config.toml` and for the
//! local item files of `sources/local.rs`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// An error in a TOML file, located for the user.
#[derive(Debug, thiserror::Error)]
pub struct TomlError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the offending field, e.g. `source[2].newsletters`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// A value that parsed but is not valid, with the span it was read from;
/// located (line and column) once the text is at hand.
#[derive(Debug)]
pub(super) struct Invalid {
    pub(crate) span: Range<usize>,
    /// Dotted path of the field, e.g. `source[2].feed`.
    pub(crate) field: String,
    pub(crate) message: String,
}

impl Invalid {
    pub(crate) fn new(span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            span,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error the user sees: `path:line:column: field: message`.
    pub(crate) fn located(self, path: &Path, text: &str) -> TomlError {
        let (line, column) = line_column(text, self.span.start);
        TomlError {
            path: path.to_owned(),
            line,
            column,
            field: self.field,
            message: self.message,
        }
    }
}

/// Where a span starts: 1-based line and column (in characters).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// What to write instead, when the value at `at` is a date TOML cannot read
/// (`start = 12/03/2027`, or the same quoted): toml says only "string values
/// must be quoted" or "expected a TOML datetime".
fn date_hint(text: &str, at: usize, message: &str) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let (key, value) = line.split_once('=')?;
    let value = value.trim().trim_matches('"');
    let looks_like_a_date = value.len() >= 6
        && value.chars().all(|c| c.is_ascii_digit() || "/.-".contains(c))
        && value.chars().any(|c| "/.".contains(c));
    (message.contains("expected a TOML datetime") || looks_like_a_date).then(|| {
        format!(
            "; write a date as YYYY-MM-DD, without quotes: {} = 2027-03-12",
            key.trim()
        )
    })
}

/// Deserialises `text`, turning any error into a located [`TomlError`].
/// `first_line` is the line of `path` that `text` starts on (front matter).
pub(crate) fn from_toml<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    first_line: usize,
) -> Result<T, TomlError> {
    let located = |span: Option<Range<usize>>, field: String, message: &str| {
        let at = span.map_or(0, |s| s.start);
        let (line, column) = line_column(text, at);
        let mut message = message.trim().to_string();
        if let Some(hint) = date_hint(text, at, &message) {
            message.push_str(&hint);
        }
        TomlError {
            path: path.to_owned(),
            line: line + first_line - 1,
            column,
            field,
            message,
        }
    };
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| located(e.span(), String::new(), e.message()))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        // `Spanned` fields show up in the path as an inner value; hide that.
        let field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let field = if field == "." { String::new() } else { field };
        located(e.inner().span(), field, e.inner().message())
    })
}
