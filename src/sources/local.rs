//! Local items: what has no feed (events, tenders, reports, press reviews),
//! one per file, as TOML or as Markdown with TOML front matter between `+++`.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use super::SourceError;
use crate::config::{Newsletter, TomlError, find_newsletter, from_toml};
use crate::items::{Details, Draft, Kind};

/// The largest local item file read, in bytes. An item is a page of text;
/// a larger file is a mistake (a 200 MB `.md` took `build` to 3.4 GB), and
/// it is refused before it is read.
pub(crate) const MAX_ITEM_BYTES: u64 = 1 << 20;

/// The bytes of a local item file, or why not: refused unread when larger
/// than [`MAX_ITEM_BYTES`].
pub(crate) fn read_item_file(path: &Path) -> Result<Vec<u8>, SourceError> {
    read_capped(path, MAX_ITEM_BYTES, "a local item", "1 MiB")
}

/// The bytes of the file at `path` (`what`, for the message), refused
/// unread when its size passes `cap` (named `cap_name`). The read itself
/// stops past the cap, for a file that grows or whose size the file system
/// does not tell.
pub(crate) fn read_capped(
    path: &Path,
    cap: u64,
    what: &'static str,
    cap_name: &'static str,
) -> Result<Vec<u8>, SourceError> {
    let too_large = |size: u64| SourceError::TooLarge {
        path: path.to_path_buf(),
        size,
        what,
        cap,
        cap_name,
    };
    let cannot = |source| SourceError::File {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    if size > cap {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The keys a local item file may set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    title: String,
    link: Spanned<String>,
    published: Datetime,
    #[serde(default)]
    categories: Vec<String>,
    /// Original publisher, for the "Source: …" line.
    source: Option<String>,
    /// Overrides the source's kind.
    kind: Option<Kind>,
    /// The newsletters it joins, whatever the rules say.
    #[serde(default)]
    newsletters: Vec<Spanned<String>>,
    /// Markdown; in a `.md` file the body after the front matter.
    summary: Option<String>,
    start: Option<Spanned<Datetime>>,
    end: Option<Spanned<Datetime>>,
    place: Option<Spanned<String>>,
    entity: Option<Spanned<String>>,
    reference: Option<Spanned<String>>,
    deadline: Option<Spanned<Datetime>>,
}

/// Parses one local item file; `kind` is the source's default kind, and
/// `newsletters` those of the config, which the item's own `newsletters`
/// must name.
pub fn parse_local(
    path: &Path,
    text: &str,
    kind: Kind,
    newsletters: &[Newsletter],
) -> Result<(Draft, Details), TomlError> {
    let is_markdown = path.extension().is_some_and(|e| e == "md" || e == "markdown");
    let (front, body, first_line) = if is_markdown {
        split_front_matter(text).ok_or_else(|| {
            error(
                path,
                1,
                1,
                "",
                "a Markdown item starts with TOML front matter between `+++` lines",
            )
        })?
    } else {
        (text, "", 1)
    };
    let fields: Fields = from_toml(path, front, first_line)?;
    let locate = |span: std::ops::Range<usize>, field: &str, message: &str| {
        let (line, column) = crate::config::line_column(front, span.start);
        error(path, line + first_line - 1, column, field, message)
    };
    let kind = fields.kind.unwrap_or(kind);
    let details = details(&fields, kind, path, &locate)?;
    let named = named_newsletters(&fields.newsletters, kind, newsletters, &locate)?;
    if crate::items::canonical_link(fields.link.get_ref()).is_none() {
        return Err(locate(
            fields.link.span(),
            "link",
            "expected an absolute http(s) URL",
        ));
    }
    let published = to_utc(&fields.published).ok_or_else(|| {
        error(
            path,
            first_line,
            1,
            "published",
            "needs at least a date, e.g. 2026-11-16",
        )
    })?;
    let markdown = match (&fields.summary, body.trim()) {
        (Some(summary), "") => summary.as_str(),
        (None, body) => body,
        (Some(_), _) => {
            return Err(error(
                path,
                first_line,
                1,
                "summary",
                "set either `summary` or a Markdown body, not both",
            ));
        }
    };
    let mut summary_html = String::new();
    pulldown_cmark::html::push_html(&mut summary_html, pulldown_cmark::Parser::new(markdown));
    let draft = Draft {
        guid: None,
        title: fields.title,
        link: fields.link.into_inner(),
        published: Some(published),
        summary_html,
        categories: fields.categories,
        credit: fields.source,
        newsletters: named,
    };
    Ok((draft, details))
}

type Locate<'a> = dyn Fn(std::ops::Range<usize>, &str, &str) -> TomlError + 'a;

/// The ids of the newsletters an item names: each one of the config's, with
/// a section that takes an item of its `kind` (else it would silently land
/// nowhere).
fn named_newsletters(
    named: &[Spanned<String>],
    kind: Kind,
    newsletters: &[Newsletter],
    locate: &Locate<'_>,
) -> Result<Vec<String>, TomlError> {
    named
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let field = format!("newsletters[{i}]");
            let newsletter = find_newsletter(newsletters, id.get_ref())
                .map_err(|e| locate(id.span(), &field, &e.to_string()))?;
            if newsletter.section_for(kind).is_none() {
                let message = format!(
                    "no section of {:?} takes a {}; name a newsletter whose sections do",
                    newsletter.id.as_str(),
                    kind.as_str()
                );
                return Err(locate(id.span(), &field, &message));
            }
            Ok(newsletter.id.to_string())
        })
        .collect()
}

/// The kind-specific fields: required for their kind, refused for the others.
fn details(fields: &Fields, kind: Kind, path: &Path, locate: &Locate) -> Result<Details, TomlError> {
    let require = |name: &str| error(path, 1, 1, name, &format!("a {} needs `{name}`", kind.as_str()));
    let date = |value: &Spanned<Datetime>, name: &str| {
        to_date(value.get_ref())
            .ok_or_else(|| locate(value.span(), name, "expected a date such as 2026-12-01"))
    };
    let event_fields = [
        fields.start.as_ref().map(Spanned::span),
        fields.end.as_ref().map(Spanned::span),
        fields.place.as_ref().map(Spanned::span),
    ];
    let tender_fields = [
        fields.entity.as_ref().map(Spanned::span),
        fields.reference.as_ref().map(Spanned::span),
        fields.deadline.as_ref().map(Spanned::span),
    ];
    let refuse = |spans: &[Option<std::ops::Range<usize>>], what: &str| match spans.iter().flatten().next() {
        Some(span) => Err(locate(
            span.clone(),
            "",
            &format!(
                "only {what} have this field, and this item is a {}",
                kind.as_str()
            ),
        )),
        None => Ok(()),
    };
    match kind {
        Kind::Event => {
            refuse(&tender_fields, "tenders")?;
            let start = date(fields.start.as_ref().ok_or_else(|| require("start"))?, "start")?;
            let end = match &fields.end {
                Some(end) => date(end, "end")?,
                None => start,
            };
            if end < start {
                return Err(locate(
                    fields.end.as_ref().map_or(0..0, Spanned::span),
                    "end",
                    "the event ends before it starts",
                ));
            }
            let place = fields
                .place
                .as_ref()
                .ok_or_else(|| require("place"))?
                .get_ref()
                .clone();
            Ok(Details::Event { start, end, place })
        }
        Kind::Tender => {
            refuse(&event_fields, "events")?;
            Ok(Details::Tender {
                entity: fields
                    .entity
                    .as_ref()
                    .ok_or_else(|| require("entity"))?
                    .get_ref()
                    .clone(),
                reference: fields
                    .reference
                    .as_ref()
                    .ok_or_else(|| require("reference"))?
                    .get_ref()
                    .clone(),
                deadline: date(
                    fields.deadline.as_ref().ok_or_else(|| require("deadline"))?,
                    "deadline",
                )?,
            })
        }
        plain => {
            refuse(&event_fields, "events")?;
            refuse(&tender_fields, "tenders")?;
            Ok(Details::plain(plain).expect("news, reports and press reviews have no extra fields"))
        }
    }
}

fn error(path: &Path, line: usize, column: usize, field: &str, message: &str) -> TomlError {
    TomlError {
        path: path.to_owned(),
        line,
        column,
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// Front matter, body, and the line the front matter starts on.
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))?;
    let end = rest.find("\n+++")?;
    let body = rest[end + 4..].trim_start_matches(['\r', '\n']);
    Some((&rest[..=end], body, 2))
}

/// A TOML date or date-time as UTC: a bare date is midnight UTC, a local
/// date-time is taken as UTC, an offset is respected.
fn to_utc(value: &Datetime) -> Option<DateTime<Utc>> {
    let text = value.to_string();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(&text) {
        return Some(with_offset.with_timezone(&Utc));
    }
    if let Ok(local) = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(local.and_utc());
    }
    to_date(value).map(|date| date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

/// The calendar date of a TOML date or date-time, as written.
fn to_date(value: &Datetime) -> Option<NaiveDate> {
    let date = value.date?;
    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_markdown_event() {
        let text = "+++\ntitle = \"Get Ready for Japan\"\nlink = \"https://ex.example/grfj\"\npublished = 2026-11-16\nstart = 2027-01-18\nend = 2027-02-12\nplace = \"Online and in Japan\"\n+++\nA **training** programme.\n";
        let (draft, details) = parse_local(Path::new("e.md"), text, Kind::Event, &[]).unwrap();
        assert_eq!(draft.title, "Get Ready for Japan");
        assert_eq!(
            draft.summary_html.trim(),
            "<p>A <strong>training</strong> programme.</p>"
        );
        assert_eq!(draft.published.unwrap().to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert_eq!(
            details,
            Details::Event {
                start: NaiveDate::from_ymd_opt(2027, 1, 18).unwrap(),
                end: NaiveDate::from_ymd_opt(2027, 2, 12).unwrap(),
                place: "Online and in Japan".into()
            }
        );
    }

    #[test]
    fn reads_toml_tender_with_offset_datetime() {
        let text = "title = \"T\"\nlink = \"https://ex.example/t\"\npublished = 2026-11-16T09:00:00+09:00\nentity = \"JMA\"\nreference = \"JMA-1\"\ndeadline = 2026-12-01T17:00:00+09:00\nsummary = \"Supply of sensors.\"\n";
        let (draft, details) = parse_local(Path::new("t.toml"), text, Kind::Tender, &[]).unwrap();
        assert_eq!(draft.published.unwrap().to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert!(
            matches!(details, Details::Tender { deadline, .. } if deadline == NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        );
    }

    #[test]
    fn tender_without_deadline_names_the_field() {
        let text = "title = \"T\"\nlink = \"https://ex.example/t\"\npublished = 2026-11-16\nentity = \"JMA\"\nreference = \"JMA-1\"\n";
        let err = parse_local(Path::new("t.toml"), text, Kind::Tender, &[]).unwrap_err();
        assert_eq!(err.to_string(), "t.toml:1:1: deadline: a tender needs `deadline`");
    }

    #[test]
    fn unknown_key_in_front_matter_has_file_line() {
        let text = "+++\ntitle = \"T\"\nlink = \"https://ex.example/t\"\npublished = 2026-11-16\nvenue = \"Tokyo\"\n+++\nBody";
        let err = parse_local(Path::new("e.md"), text, Kind::News, &[]).unwrap_err();
        assert_eq!((err.line, err.column), (5, 1));
        assert!(err.message.contains("unknown field `venue`"), "{err}");
    }

    #[test]
    fn refuses_a_relative_link() {
        let text = "title = \"T\"\nlink = \"/events/1\"\npublished = 2026-11-16\n";
        let err = parse_local(Path::new("n.toml"), text, Kind::News, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "n.toml:2:8: link: expected an absolute http(s) URL"
        );
    }

    #[test]
    fn refuses_event_fields_on_news() {
        let text =
            "title = \"T\"\nlink = \"https://ex.example/t\"\npublished = 2026-11-16\nplace = \"Tokyo\"\n";
        let err = parse_local(Path::new("n.toml"), text, Kind::News, &[]).unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("only events"), "{err}");
    }
}
