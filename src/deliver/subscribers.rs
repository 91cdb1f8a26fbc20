//! Subscribers: who they are, read from a CSV file, and who may receive
//! which newsletter.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::config::{Audience, Config};

use crate::domain::{OrganisationType, Subscriber};
use crate::items::clean_text;

/// A CSV row that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// The columns of a subscriber CSV file, in any order.
#[derive(Debug, Deserialize)]
struct Row {
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
    organisation_type: String,
    country: String,
    /// Newsletter ids separated by `;`, `,` or spaces.
    newsletters: String,
    consent_date: String,
}

/// The text of a subscriber CSV file, and the encoding it was read in when
/// that was not UTF-8. A UTF-8 or UTF-16 BOM says the encoding (and is
/// dropped); bytes that are not UTF-8 are read as Windows-1252, the encoding
/// spreadsheets on Windows save "CSV" in, which includes Latin-1's letters
/// (é, ü, ß): every byte is a character, so nothing is refused, and an
/// operator is told which encoding was used.
pub(crate) fn decode_csv(bytes: &[u8]) -> (Cow<'_, str>, Option<&'static str>) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes)
        && encoding != encoding_rs::UTF_8
    {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (text, Some(encoding.name()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), None),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, Some("Windows-1252 (Latin-1)"))
        }
    }
}

/// The field separator of a subscriber CSV, told by its header line: `;`
/// (the CSV of spreadsheets in most of Europe, where `,` is the decimal
/// comma) when the header has a `;` outside quotes and no `,`, else `,`.
/// The header's column names hold neither, so this never guesses from data.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let mut quoted = false;
    let (mut commas, mut semicolons) = (0, 0);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > 0 && commas == 0 { b';' } else { b',' }
}

/// Parses a subscriber CSV: the good rows, and each bad row with its line.
pub fn parse_csv(config: &Config, text: &str) -> Result<(Vec<Subscriber>, Vec<RowError>), CsvError> {
    let separator = separator(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(separator)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(CsvError::Header)?.clone();
    for required in [
        "email",
        "organisation_type",
        "country",
        "newsletters",
        "consent_date",
    ] {
        if !headers.iter().any(|h| h == required) {
            return Err(CsvError::MissingColumn(required));
        }
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut lines = Lines {
        text: text.as_bytes(),
        at: 0,
        line: 1,
    };
    for record in reader.records() {
        let (position, parsed) = match record {
            Ok(record) => {
                let row = record
                    .deserialize::<Row>(Some(&headers))
                    .map_err(|e| e.to_string());
                (
                    record.position().cloned(),
                    row.and_then(|row| subscriber(config, row)),
                )
            }
            Err(e) => (e.position().cloned(), Err(record_error(&e, separator))),
        };
        match parsed {
            Ok(subscriber) => good.push(subscriber),
            Err(reason) => bad.push(RowError {
                line: position.map_or(0, |p| lines.of(p.byte())),
                reason,
            }),
        }
    }
    Ok((good, bad))
}

/// Why a subscriber CSV cannot be read at all; a bad row is a
/// [`RowError`] instead, and the rest are imported.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read the header line")]
    Header(#[source] csv::Error),
    #[error(
        "the header line has no `{0}` column; expected email, name, organisation, organisation_type, country, \
         newsletters, consent_date"
    )]
    MissingColumn(&'static str),
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
/// so counting goes on from the last one.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line of a record the reader places at `byte`: any line ends
    /// there are the previous record's (CRLF counts once).
    fn of(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).map_or(self.text.len(), |b| b.min(self.text.len()));
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        while self.at < start {
            let ends_line = match self.text[self.at] {
                b'\n' => true,
                b'\r' => self.text.get(self.at + 1) != Some(&b'\n'),
                _ => false,
            };
            self.line += u64::from(ends_line);
            self.at += 1;
        }
        self.line
    }
}

/// Why the reader refused a record, without its line number (see [`Lines`]).
/// In a `;` file, an extra field is most often a `;` between newsletter
/// ids left unquoted: the message says so.
fn record_error(error: &csv::Error, separator: u8) -> String {
    match error.kind() {
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
    }
}

fn subscriber(config: &Config, row: Row) -> Result<Subscriber, String> {
    let email = normalise_email(&row.email).map_err(|e| e.to_string())?;
    let organisation_type = OrganisationType::parse(&row.organisation_type).ok_or_else(|| {
        format!(
            "organisation_type {:?}: expected company, organisation or individual",
            row.organisation_type
        )
    })?;
    let country = row.country.trim().to_ascii_uppercase();
    if !is_country(&country) {
        return Err(format!(
            "country {:?}: not an ISO 3166-1 alpha-2 code",
            row.country
        ));
    }
    let newsletters: Vec<String> = row
        .newsletters
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    if newsletters.is_empty() {
        return Err("newsletters: none given".into());
    }
    for id in &newsletters {
        config.newsletter(id).map_err(|e| e.to_string())?;
    }
    let consent = NaiveDate::parse_from_str(row.consent_date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("consent_date {:?}: expected YYYY-MM-DD", row.consent_date))?;
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

/// The member states of the European Union (ISO 3166-1 alpha-2; Greece is GR).
pub(crate) const EU_27: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

fn is_country(code: &str) -> bool {
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
    fn knows_country_codes() {
        assert!(is_country("JP") && is_country("EE") && is_country("VN"));
        assert!(!is_country("EU") && !is_country("XX") && !is_country("J"));
        assert_eq!(ISO_3166.split(' ').count(), 249);
    }
}
