//! Subscribers: who they are, read from a CSV file, and who may receive
//! which newsletter.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use chrono::NaiveDate;
use serde::Deserialize;
use sha2::Digest;

use crate::config::{Audience, Config};

use crate::domain::{OrganisationType, Subscriber};
use crate::items::clean_text;
use crate::store::SubscriberRecord;

/// The longest name or organisation a visitor may give, in characters: on
/// the sign-up form and in the preference centre alike. A name is a few
/// words; a page of them is an attack. (The operator's CSV import is not
/// capped: its names are the operator's.)
pub(crate) const MAX_TEXT: usize = 200;

/// A CSV row that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: RowProblem,
}

/// Why a CSV row was refused: a field's value, or the row's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error(transparent)]
    Field(#[from] InvalidField),
    /// The CSV reader's words (a field missing, a broken quote), without
    /// its line number (see [`Lines`]).
    #[error("{0}")]
    Record(String),
    /// The address of an earlier row: the first row of an address is
    /// imported, a later one is not.
    #[error(
        "{email}: the same address as line {first} (addresses are compared as the store keys them: the \
         domain, and the ASCII letters before the @, in lowercase); line {first} is imported, this row is not"
    )]
    Duplicate { email: String, first: u64 },
}

/// A subscriber's field that is not valid: the column (or form field)
/// it is in, the value given and why. The CSV import and the sign-up form
/// both check with [`subscriber`], so they refuse alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}{}: {reason}", shown(value))]
pub struct InvalidField {
    /// `email`, `name`, `organisation`, `organisation_type`, `country`,
    /// `newsletters` or `consent_date`.
    pub field: &'static str,
    pub value: String,
    pub reason: Reason,
}

/// ` "value"`, or nothing for an empty value.
fn shown(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" {value:?}")
    }
}

/// What is wrong with a field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("{0}")]
    Address(String),
    #[error("expected company, organisation or individual")]
    OrganisationType,
    #[error("not an ISO 3166-1 alpha-2 code")]
    Country,
    #[error("none given")]
    NoNewsletter,
    #[error("unknown newsletter; expected one of: {0}")]
    UnknownNewsletter(String),
    #[error("expected YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY")]
    Date,
    /// A slash date that is no date read in the order asked (`--slash-dates`).
    #[error("not a date read {0}; a file that writes the other way round needs --slash-dates {1}")]
    SlashDate(&'static str, &'static str),
    /// Longer than [`MAX_TEXT`] on the sign-up form; the value is not repeated.
    #[error("at most {MAX_TEXT} characters, not {0}")]
    TooLong(usize),
    /// An EU-only newsletter chosen by someone it is not for.
    #[error("{title} is for companies and organisations in the EU-27 only, not for {who}")]
    Audience { title: String, who: &'static str },
}

impl InvalidField {
    fn new(field: &'static str, value: &str, reason: Reason) -> InvalidField {
        InvalidField {
            field,
            value: value.to_string(),
            reason,
        }
    }
}

/// The columns of a subscriber CSV file, in any order; the sign-up form's
/// fields have the same names.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Row {
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) organisation: String,
    pub(crate) organisation_type: String,
    pub(crate) country: String,
    /// Newsletter ids separated by `;`, `,` or spaces.
    pub(crate) newsletters: String,
    pub(crate) consent_date: String,
}

/// A column of a subscriber file: what [`Row`] reads, whatever the file's
/// header calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Email,
    Name,
    Organisation,
    OrganisationType,
    Country,
    Newsletters,
    ConsentDate,
}

impl Column {
    const ALL: [Column; 7] = [
        Column::Email,
        Column::Name,
        Column::Organisation,
        Column::OrganisationType,
        Column::Country,
        Column::Newsletters,
        Column::ConsentDate,
    ];

    /// Its name in [`Row`], the form and the error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Email => "email",
            Column::Name => "name",
            Column::Organisation => "organisation",
            Column::OrganisationType => "organisation_type",
            Column::Country => "country",
            Column::Newsletters => "newsletters",
            Column::ConsentDate => "consent_date",
        }
    }

    /// The column a header names ([`header_key`] of it): its own name, or a
    /// name spreadsheets and other tools commonly give it.
    fn named(key: &str) -> Option<Column> {
        Some(match key {
            "email" | "emailaddress" | "mail" | "mailaddress" => Column::Email,
            "name" | "fullname" => Column::Name,
            "organisation" | "organization" | "company" | "companyname" | "organisationname"
            | "organizationname" => Column::Organisation,
            "organisationtype" | "organizationtype" | "type" => Column::OrganisationType,
            "country" | "countrycode" => Column::Country,
            "newsletters" | "newsletter" => Column::Newsletters,
            "consentdate" | "consent" | "consentedon" | "optindate" => Column::ConsentDate,
            _ => return None,
        })
    }

    /// The column a `--map` value names, spelt as a header may be.
    pub fn parse(name: &str) -> Option<Column> {
        Column::named(&header_key(name))
    }

    fn required(self) -> bool {
        !matches!(self, Column::Name | Column::Organisation)
    }
}

/// A header as it is compared: without case, spaces, underscores and
/// hyphens (`E-mail`, `Email Address` and `email_address` are one).
fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// How a date written with slashes is read: `10/01/2025` is the 10th of
/// January day first (as in Europe), the 1st of October month first (as in
/// the US). Day first unless the operator says otherwise, and said in the
/// import's report; a date impossible in the order asked is refused, never
/// read the other way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlashDates {
    #[default]
    DayFirst,
    MonthFirst,
}

impl SlashDates {
    /// How the order is written: `DD/MM/YYYY` or `MM/DD/YYYY`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlashDates::DayFirst => "DD/MM/YYYY",
            SlashDates::MonthFirst => "MM/DD/YYYY",
        }
    }

    /// Its `--slash-dates` value.
    fn option(self) -> &'static str {
        match self {
            SlashDates::DayFirst => "day-first",
            SlashDates::MonthFirst => "month-first",
        }
    }

    fn other(self) -> SlashDates {
        match self {
            SlashDates::DayFirst => SlashDates::MonthFirst,
            SlashDates::MonthFirst => SlashDates::DayFirst,
        }
    }
}

/// How the operator says a file is to be read beyond what its header tells.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// `--map HEADER=COLUMN`: a header no alias covers, read as that column.
    pub map: Vec<(String, Column)>,
    pub slash_dates: SlashDates,
}

/// A consent date as lists write it: `YYYY-MM-DD`, `DD.MM.YYYY` (always day
/// first), or with slashes in the order `slash_dates` says.
pub(crate) fn consent_date(text: &str, slash_dates: SlashDates) -> Result<NaiveDate, Reason> {
    let text = text.trim();
    let digits = |part: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let date = |y: &str, m: &str, d: &str| {
        NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    };
    let parts = |separator: char| -> Option<[&str; 3]> {
        let parts: Vec<&str> = text.split(separator).collect();
        <[&str; 3]>::try_from(parts).ok()
    };
    if let Some([y, m, d]) = parts('-')
        && digits(y, 4..=4)
        && digits(m, 1..=2)
        && digits(d, 1..=2)
    {
        return date(y, m, d).ok_or(Reason::Date);
    }
    if let Some([d, m, y]) = parts('.')
        && digits(d, 1..=2)
        && digits(m, 1..=2)
        && digits(y, 4..=4)
    {
        return date(y, m, d).ok_or(Reason::Date);
    }
    let Some([a, b, y]) =
        parts('/').filter(|[a, b, y]| digits(a, 1..=2) && digits(b, 1..=2) && digits(y, 4..=4))
    else {
        return Err(Reason::Date);
    };
    let read = |order: SlashDates| match order {
        SlashDates::DayFirst => date(y, b, a),
        SlashDates::MonthFirst => date(y, a, b),
    };
    read(slash_dates).ok_or_else(|| {
        if read(slash_dates.other()).is_some() {
            Reason::SlashDate(slash_dates.as_str(), slash_dates.other().option())
        } else {
            Reason::Date
        }
    })
}

/// The EU-only newsletters of `subscriber` they are not for, each as the
/// field the sign-up form refuses: the form and the import check alike.
pub(crate) fn ineligible(config: &Config, subscriber: &Subscriber) -> Vec<InvalidField> {
    subscriber
        .newsletters
        .iter()
        .filter_map(|id| {
            let newsletter = config.newsletter(id).ok()?;
            let skip = admits(
                newsletter.audience,
                subscriber.organisation_type,
                &subscriber.country,
            )
            .err()?;
            Some(InvalidField::new(
                "newsletters",
                id,
                Reason::Audience {
                    title: newsletter.title.clone(),
                    who: skip.who(),
                },
            ))
        })
        .collect()
}

/// The file's header with each column it names under [`Column`]'s name:
/// `--map` first, then the aliases; any other header kept as it is (read
/// by nothing). Refused when a column is missing or named twice.
fn canonical_headers(
    headers: &csv::StringRecord,
    map: &[(String, Column)],
) -> Result<csv::StringRecord, CsvError> {
    let mut named: Vec<(Column, &str)> = Vec::new();
    let mut canonical = csv::StringRecord::new();
    for header in headers {
        let key = header_key(header);
        let column = map
            .iter()
            .find(|(from, _)| header_key(from) == key)
            .map(|&(_, column)| column)
            .or_else(|| Column::named(&key));
        match column {
            Some(column) => {
                if let Some((_, first)) = named.iter().find(|(c, _)| *c == column) {
                    return Err(CsvError::TwiceNamed {
                        column: column.as_str(),
                        first: (*first).to_string(),
                        second: header.to_string(),
                    });
                }
                named.push((column, header));
                canonical.push_field(column.as_str());
            }
            None => canonical.push_field(header),
        }
    }
    if let Some(missing) = Column::ALL
        .into_iter()
        .find(|c| c.required() && !named.iter().any(|(n, _)| n == c))
    {
        return Err(CsvError::MissingColumn {
            column: missing.as_str(),
            found: headers.iter().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(canonical)
}

/// How many bytes are looked at for the header line and a BOM.
const PEEK: usize = 64 * 1024;

/// Reads a subscriber CSV a row at a time, so a list of millions takes the
/// memory of one row (and 16 bytes a row to tell a repeated address): the
/// header checked first, then each row as a subscriber or a [`RowError`]
/// with its line.
///
/// Headers are matched without regard to case, spaces, underscores and
/// hyphens, under common aliases ([`Column::named`]) and the operator's
/// `--map`. Dates: [`consent_date`]. The first row of an address is
/// imported; a later row of it is refused, naming both lines.
///
/// Encodings: a UTF-8 BOM is dropped; a UTF-16 file (told by its BOM) is
/// decoded whole first. A row that is not UTF-8 is read as Windows-1252,
/// the encoding spreadsheets on Windows save "CSV" in, which includes
/// Latin-1's letters (é, ü, ß): every byte is a character there, so
/// nothing is refused, and [`CsvRows::encoding`] tells the operator.
///
/// The separator is the one of `,`, `;` (a spreadsheet's CSV in most of
/// Europe, where `,` is the decimal comma) and tab (a spreadsheet's
/// "Unicode text") the header line has most of outside quotes, `,` when
/// none: the column names hold none of them, so the header alone decides,
/// never the data.
pub(crate) fn read_csv<'c>(
    config: &'c Config,
    options: &CsvOptions,
    input: impl Read + 'c,
) -> Result<CsvRows<'c>, CsvError> {
    let mut input = BufReader::with_capacity(PEEK, input);
    let peeked = input.fill_buf().map_err(CsvError::Read)?;
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(peeked)
        && encoding != encoding_rs::UTF_8
    {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(CsvError::Read)?;
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        let mut rows = read_csv(
            config,
            options,
            std::io::Cursor::new(text.into_owned().into_bytes()),
        )?;
        rows.encoding = Some(encoding.name());
        return Ok(rows);
    }
    let bom = if peeked.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let separator = separator(&peeked[bom..]);
    input.consume(bom);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(separator)
        .from_reader(Box::new(Tee {
            input,
            seen: Rc::clone(&seen),
        }) as Box<dyn Read + 'c>);
    let mut encoding = None;
    let headers = decoded(reader.byte_headers().map_err(CsvError::Header)?, &mut encoding);
    let headers = canonical_headers(&headers, &options.map)?;
    Ok(CsvRows {
        config,
        slash_dates: options.slash_dates,
        reader,
        headers,
        record: csv::ByteRecord::new(),
        lines: Lines {
            seen,
            dropped: 0,
            line: 1,
        },
        separator,
        encoding,
        slashed: false,
        first_lines: HashMap::new(),
        done: false,
    })
}

/// A row read: the subscriber, and the EU-only newsletters it named that
/// they are not for, left out of `subscriber.newsletters`.
#[derive(Debug, Clone)]
pub(crate) struct CsvRow {
    pub(crate) subscriber: Subscriber,
    pub(crate) refused: Vec<InvalidField>,
}

/// The rows of a subscriber CSV, read as they are asked for.
pub(crate) struct CsvRows<'c> {
    config: &'c Config,
    slash_dates: SlashDates,
    reader: csv::Reader<Box<dyn Read + 'c>>,
    headers: csv::StringRecord,
    record: csv::ByteRecord,
    lines: Lines,
    separator: u8,
    encoding: Option<&'static str>,
    /// Whether a date with slashes was read.
    slashed: bool,
    /// The line of each address's first row, by a 128-bit hash of the
    /// address: 16 bytes a row, not the address.
    first_lines: HashMap<u128, u64>,
    done: bool,
}

impl CsvRows<'_> {
    /// The encoding some rows were read in, when not UTF-8.
    pub(crate) fn encoding(&self) -> Option<&'static str> {
        self.encoding
    }

    /// The line of the row read last.
    pub(crate) fn line(&self) -> u64 {
        self.lines.line
    }

    /// How dates with slashes were read, if any was.
    pub(crate) fn slash_dates(&self) -> Option<SlashDates> {
        self.slashed.then_some(self.slash_dates)
    }

    /// A parsed row: the first of its address, its ineligible newsletters
    /// out of it (the row refused when none is left).
    fn checked(&mut self, subscriber: Subscriber, line: u64) -> Result<CsvRow, RowProblem> {
        let digest = sha2::Sha256::digest(subscriber.email.as_bytes());
        let hash = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
        if let Some(&first) = self.first_lines.get(&hash) {
            return Err(RowProblem::Duplicate {
                email: subscriber.email,
                first,
            });
        }
        self.first_lines.insert(hash, line);
        let refused = ineligible(self.config, &subscriber);
        let mut subscriber = subscriber;
        subscriber
            .newsletters
            .retain(|id| !refused.iter().any(|r| r.value == *id));
        match refused.first() {
            Some(first) if subscriber.newsletters.is_empty() => Err(RowProblem::Field(first.clone())),
            _ => Ok(CsvRow { subscriber, refused }),
        }
    }
}

impl Iterator for CsvRows<'_> {
    type Item = Result<CsvRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (position, parsed) = match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {
                let record = decoded(&self.record, &mut self.encoding);
                let row = record
                    .deserialize::<Row>(Some(&self.headers))
                    .map_err(|e| RowProblem::Record(e.to_string()));
                if let Ok(row) = &row {
                    self.slashed |= row.consent_date.contains('/');
                }
                (
                    self.record.position().cloned(),
                    row.and_then(|row| Ok(subscriber(self.config, row, self.slash_dates)?)),
                )
            }
            Err(e) => {
                // A read error would come back at every call.
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                (e.position().cloned(), Err(record_error(&e, self.separator)))
            }
        };
        // Counted for every row, good ones too: it drops the bytes kept for counting.
        let line = position.map_or(0, |p| self.lines.of(p.byte()));
        Some(
            parsed
                .and_then(|subscriber| self.checked(subscriber, line))
                .map_err(|reason| RowError { line, reason }),
        )
    }
}

/// A record as text: UTF-8 when it is, else Windows-1252 (noted in `encoding`).
fn decoded(record: &csv::ByteRecord, encoding: &mut Option<&'static str>) -> csv::StringRecord {
    if let Ok(text) = csv::StringRecord::from_byte_record(record.clone()) {
        return text;
    }
    *encoding = Some("Windows-1252 (Latin-1)");
    record
        .iter()
        .map(|field| encoding_rs::WINDOWS_1252.decode_without_bom_handling(field).0)
        .collect()
}

/// The separator the header line (at the start of `peeked`) uses.
fn separator(peeked: &[u8]) -> u8 {
    let header = peeked
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    let mut quoted = false;
    // Ties go to the earlier: `,` before `;` before tab.
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                if let Some((_, count)) = counts.iter_mut().find(|(s, _)| *s == b) {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .rev()
        .max_by_key(|(_, count)| *count)
        .map_or(b',', |&(separator, _)| separator)
}

/// Parses a subscriber CSV held in memory: the good rows, and each bad row
/// with its line.
pub fn parse_csv(config: &Config, text: &str) -> Result<(Vec<Subscriber>, Vec<RowError>), CsvError> {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for row in read_csv(config, &CsvOptions::default(), text.as_bytes())? {
        match row {
            Ok(row) => good.push(row.subscriber),
            Err(error) => bad.push(error),
        }
    }
    Ok((good, bad))
}

/// The input, with what has been read of it kept until [`Lines`] has
/// counted it: the CSV reader's own buffer ahead of the rows handed out.
struct Tee<R> {
    input: R,
    seen: Rc<RefCell<Vec<u8>>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.seen.borrow_mut().extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Why a subscriber CSV cannot be read at all; a bad row is a
/// [`RowError`] instead, and the rest are imported.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read the header line")]
    Header(#[source] csv::Error),
    #[error("cannot read the file")]
    Read(#[source] std::io::Error),
    #[error(
        "the header line has no `{column}` column (it has: {found}); expected email, name, organisation, \
         organisation_type, country, newsletters, consent_date, in any case, with spaces, `_` or `-` \
         anywhere, or a common alias (E-mail, Email address, Organization, Company…); \
         `--map HEADER=COLUMN` names any other"
    )]
    MissingColumn { column: &'static str, found: String },
    #[error(
        "the header line names `{column}` twice: `{first}` and `{second}`; keep one, or --map one elsewhere"
    )]
    TwiceNamed {
        column: &'static str,
        first: String,
        second: String,
    },
}

/// An address bulletin will not send to, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("email {email:?}: {reason}")]
pub(crate) struct AddressError {
    email: String,
    reason: String,
}

/// Line numbers from the byte offsets of records. The CSV reader's own are
/// wrong for CRLF files (each row one line early: it reads the LF of a CRLF
/// with the next record, rust-csv#395), for lone-CR files (all line 1) and
/// after a blank line (rust-csv#208); found by fuzzing. Rows come in order,
/// so counting goes on from the last one, over the bytes [`Tee`] kept,
/// which are dropped once counted.
struct Lines {
    seen: Rc<RefCell<Vec<u8>>>,
    /// Bytes counted and dropped: `seen` starts at this offset.
    dropped: u64,
    line: u64,
}

impl Lines {
    /// The line of a record the reader places at `byte`: any line ends
    /// there are the previous record's (CRLF counts once). The reader has
    /// read the record's first byte, so a CR's LF is always in `seen`.
    fn of(&mut self, byte: u64) -> u64 {
        let mut seen = self.seen.borrow_mut();
        let mut start =
            usize::try_from(byte.saturating_sub(self.dropped)).map_or(seen.len(), |b| b.min(seen.len()));
        while matches!(seen.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        for at in 0..start {
            let ends_line = match seen[at] {
                b'\n' => true,
                b'\r' => seen.get(at + 1) != Some(&b'\n'),
                _ => false,
            };
            self.line += u64::from(ends_line);
        }
        seen.drain(..start);
        self.dropped += start as u64;
        self.line
    }
}

/// Why the reader refused a record, without its line number (see [`Lines`]).
/// In a `;` file, an extra field is most often a `;` between newsletter
/// ids left unquoted: the message says so.
fn record_error(error: &csv::Error, separator: u8) -> RowProblem {
    RowProblem::Record(match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } if separator == b';' => format!(
            "{len} field(s); the header has {expected_len}: this file is separated by ';', \
             so a field holding ';' (several newsletters) must be in double quotes"
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} field(s); the header has {expected_len}")
        }
        _ => error.to_string(),
    })
}

/// A subscriber from a CSV row or the sign-up form's fields, checked.
pub(crate) fn subscriber(
    config: &Config,
    row: Row,
    slash_dates: SlashDates,
) -> Result<Subscriber, InvalidField> {
    let email = normalise_email(&row.email)
        .map_err(|e| InvalidField::new("email", &row.email, Reason::Address(e.reason)))?;
    let organisation_type = OrganisationType::parse(&row.organisation_type).ok_or_else(|| {
        InvalidField::new(
            "organisation_type",
            &row.organisation_type,
            Reason::OrganisationType,
        )
    })?;
    let country = row.country.trim().to_ascii_uppercase();
    if !is_country(&country) {
        return Err(InvalidField::new("country", &row.country, Reason::Country));
    }
    let newsletters: Vec<String> = row
        .newsletters
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    if newsletters.is_empty() {
        return Err(InvalidField::new("newsletters", "", Reason::NoNewsletter));
    }
    for id in &newsletters {
        config
            .newsletter(id)
            .map_err(|e| InvalidField::new("newsletters", id, Reason::UnknownNewsletter(e.expected)))?;
    }
    let consent = consent_date(&row.consent_date, slash_dates)
        .map_err(|reason| InvalidField::new("consent_date", &row.consent_date, reason))?;
    Ok(Subscriber {
        email,
        name: clean_text(&row.name),
        organisation: clean_text(&row.organisation),
        organisation_type,
        country,
        newsletters,
        consent,
    })
}

/// A valid address that can be sent to, in the one form the store keys
/// subscribers by: the domain in lowercase ASCII (case-insensitive by RFC
/// 5321; IDNA: `bücher.example` becomes `xn--bcher-kva.example`), and the
/// local part with its ASCII letters in lowercase. RFC 5321 lets a server
/// tell `Jane` from `jane`, but no major provider does, and treating them as
/// two subscribers mails one person twice and loses an unsubscribe given
/// under the other spelling. ASCII only, as SQLite's `lower()` (used by the
/// migration that merged older stores) folds. Addresses that parse
/// but no server takes (a quoted local part, an IP address instead of a
/// domain) are refused here, at import, rather than failing at every send.
pub(crate) fn normalise_email(email: &str) -> Result<String, AddressError> {
    let email = email.trim();
    let refuse = |reason: String| AddressError {
        email: email.to_string(),
        reason,
    };
    let address: lettre::Address = email
        .parse()
        .map_err(|e| refuse(format!("invalid address ({e})")))?;
    let (user, domain) = (address.user(), address.domain());
    if user.starts_with('"') {
        return Err(refuse(
            "a quoted local part cannot be sent by most SMTP servers; write the address without quotes"
                .into(),
        ));
    }
    if domain.starts_with('[') || domain.parse::<std::net::IpAddr>().is_ok() {
        return Err(refuse(
            "an IP address instead of a domain cannot be sent to; use the domain's name".into(),
        ));
    }
    let domain = idna::domain_to_ascii(domain).map_err(|e| refuse(format!("invalid domain ({e})")))?;
    // A name without a dot (`example`, `localhost`) is no domain of the
    // Internet: the mail would go to whatever the relay's network calls so.
    if domain.split('.').count() < 2 || domain.split('.').any(str::is_empty) {
        return Err(refuse(format!(
            "the domain {domain:?} has no dot between two names: no mail reaches it across the Internet"
        )));
    }
    // RFC 5321 4.5.3.1: servers refuse longer ones.
    if user.len() > 64 || user.len() + 1 + domain.len() > 254 {
        return Err(refuse(
            "too long for SMTP (64 bytes before the @, 254 in all)".into(),
        ));
    }
    Ok(format!("{}@{domain}", user.to_ascii_lowercase()))
}

/// Why a subscriber does not get a newsletter, for the send report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Skip {
    Individual,
    OutsideEu,
}

impl Skip {
    /// Who the subscriber is, for the sign-up form's refusal.
    pub(crate) fn who(self) -> &'static str {
        match self {
            Skip::Individual => "individuals",
            Skip::OutsideEu => "those outside the EU-27",
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Skip::Individual => "an individual, and the newsletter is for EU companies/organisations",
            Skip::OutsideEu => "outside the EU-27, and the newsletter is for EU companies/organisations",
        }
    }
}

/// Whether the audience rule lets this subscriber receive the newsletter.
pub(crate) fn admits(
    audience: Audience,
    organisation_type: OrganisationType,
    country: &str,
) -> Result<(), Skip> {
    match audience {
        Audience::EuOrganisations if organisation_type == OrganisationType::Individual => {
            Err(Skip::Individual)
        }
        Audience::EuOrganisations if !EU_27.contains(&country) => Err(Skip::OutsideEu),
        Audience::Everyone | Audience::EuOrganisations => Ok(()),
    }
}

/// The readers of `newsletter` (its `audience`) among `subscribers`, in
/// their order: subscribed, not unsubscribed, admitted by the audience
/// rule. Who a review page may show an edition as (the preview's and the
/// desk's), the first being the default.
pub(crate) fn readers<'a, 'n>(
    newsletter: &'n str,
    audience: Audience,
    subscribers: &'a [SubscriberRecord],
) -> impl Iterator<Item = &'a SubscriberRecord> + Clone + use<'a, 'n> {
    subscribers.iter().filter(move |s| {
        s.newsletters.iter().any(|n| n == newsletter)
            && !s.unsubscribed_all
            && !s.unsubscribed.iter().any(|n| n == newsletter)
            && admits(audience, s.organisation_type, &s.country).is_ok()
    })
}

/// The reader of `newsletter` a review page shows an edition as: the one
/// `asked` for when they receive it, else the first who does; none when
/// nobody does.
pub(crate) fn sample_reader<'a>(
    newsletter: &str,
    audience: Audience,
    subscribers: &'a [SubscriberRecord],
    asked: Option<&str>,
) -> Option<&'a SubscriberRecord> {
    let mut all = readers(newsletter, audience, subscribers);
    asked
        .and_then(|email| all.clone().find(|s| s.email == email))
        .or_else(|| all.next())
}

/// The member states of the European Union (ISO 3166-1 alpha-2; Greece is GR).
pub(crate) const EU_27: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub(crate) fn is_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166.split(' ').any(|c| c == code)
}

/// Every ISO 3166-1 alpha-2 code.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES \
ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO \
IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK \
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR \
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK \
TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_lowercase() {
        assert_eq!(
            normalise_email(" Jane.Doe@Example.EU ").unwrap(),
            "jane.doe@example.eu"
        );
        assert!(normalise_email("not an address").is_err());
        for dotless in ["hanna@example", "a@localhost", "a@example.", "a@.example"] {
            assert!(normalise_email(dotless).is_err(), "{dotless}");
        }
        assert!(normalise_email("a@b.example\r\nBcc: x@y.example").is_err());
        assert_eq!(
            normalise_email("a@Bücher.Example").unwrap(),
            "a@xn--bcher-kva.example"
        );
        assert_eq!(normalise_email("Jörg@example.de").unwrap(), "jörg@example.de");
        for never in [
            "\"quoted local\"@example.de",
            "ip@[127.0.0.1]",
            "ip@127.0.0.1",
            "ip@[IPv6:::1]",
        ] {
            assert!(normalise_email(never).is_err(), "{never}");
        }
    }

    #[test]
    fn cleans_names_for_headers() {
        assert_eq!(
            clean_text("Jane\r\nBcc: evil@example.com\0"),
            "Jane Bcc: evil@example.com"
        );
        assert_eq!(clean_text("Ali\u{202E}ce\u{200B}"), "Alice");
    }

    #[test]
    fn eu_only_audience() {
        let eu = Audience::EuOrganisations;
        assert_eq!(admits(eu, OrganisationType::Company, "DE"), Ok(()));
        assert_eq!(admits(eu, OrganisationType::Organisation, "GR"), Ok(()));
        assert_eq!(admits(eu, OrganisationType::Company, "JP"), Err(Skip::OutsideEu));
        assert_eq!(admits(eu, OrganisationType::Company, "GB"), Err(Skip::OutsideEu));
        assert_eq!(
            admits(eu, OrganisationType::Individual, "FR"),
            Err(Skip::Individual)
        );
        assert_eq!(
            admits(Audience::Everyone, OrganisationType::Individual, "JP"),
            Ok(())
        );
    }

    #[test]
    fn reads_dates_as_lists_write_them_and_slashes_in_the_order_asked() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let first = SlashDates::DayFirst;
        assert_eq!(consent_date("2025-01-10", first), Ok(day(2025, 1, 10)));
        assert_eq!(consent_date("10.01.2025", first), Ok(day(2025, 1, 10)));
        assert_eq!(consent_date(" 10/01/2025 ", first), Ok(day(2025, 1, 10)));
        assert_eq!(
            consent_date("10/01/2025", SlashDates::MonthFirst),
            Ok(day(2025, 10, 1))
        );
        assert_eq!(
            consent_date("01/25/2025", first),
            Err(Reason::SlashDate("DD/MM/YYYY", "month-first"))
        );
        for never in [
            "2025-02-30",
            "10-01-2025",
            "2025/01/10",
            "1/1/25",
            "",
            "32.01.2025",
        ] {
            assert_eq!(consent_date(never, first), Err(Reason::Date), "{never}");
        }
    }

    #[test]
    fn headers_are_matched_without_case_spaces_underscores_or_hyphens() {
        for (header, column) in [
            ("E-mail", Column::Email),
            ("Email Address", Column::Email),
            ("ORGANIZATION", Column::Organisation),
            ("Company", Column::Organisation),
            ("Organisation-Type", Column::OrganisationType),
            ("consent date", Column::ConsentDate),
        ] {
            assert_eq!(Column::parse(header), Some(column), "{header}");
        }
        assert_eq!(Column::parse("Firma"), None);
    }

    #[test]
    fn the_separator_is_the_one_the_header_has_most_of() {
        assert_eq!(separator(b"email,name,country"), b',');
        assert_eq!(separator(b"Email;Name;Country"), b';');
        assert_eq!(separator(b"Email\tName\tCountry"), b'\t');
        assert_eq!(separator(b"\"a;b\",c"), b',');
    }

    #[test]
    fn knows_country_codes() {
        assert!(is_country("JP") && is_country("EE") && is_country("VN"));
        assert!(!is_country("EU") && !is_country("XX") && !is_country("J"));
        assert_eq!(ISO_3166.split(' ').count(), 249);
    }
}
