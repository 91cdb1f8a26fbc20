//! A scheduled send: the instant before which an edition is not sent, and
//! the zone it was given in (and is shown in), read from an editor's local
//! time with the daylight-saving edges said plainly.

use std::fmt;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// "Not before 2026-12-08 09:00 Europe/Brussels": `run` sends the edition
/// at its first run at or after `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotBefore {
    /// The instant, in UTC: what `run` compares its clock with.
    pub(crate) at: DateTime<Utc>,
    /// The zone the editor gave it in: what it is shown in.
    pub(crate) zone: Tz,
}

impl NotBefore {
    /// Whether its time has come at `now`.
    pub(crate) fn has_come(&self, now: DateTime<Utc>) -> bool {
        now >= self.at
    }

    /// The local time in its zone, to the minute ("2026-12-08 09:00"), as a
    /// form's `datetime-local` field shows it after a `T`.
    pub(crate) fn local(&self) -> String {
        self.at
            .with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// "2026-12-08 09:00 Europe/Brussels (08:00 UTC)", the UTC date added
/// when it differs; just "… UTC" in UTC.
impl fmt::Display for NotBefore {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{} {}", self.local(), self.zone.name())?;
        if self.zone == Tz::UTC {
            return Ok(());
        }
        let local = self.at.with_timezone(&self.zone);
        let utc = if local.date_naive() == self.at.date_naive() {
            self.at.format("%H:%M UTC")
        } else {
            self.at.format("%Y-%m-%d %H:%M UTC")
        };
        write!(out, " ({utc})")
    }
}

/// In JSON (`editions --format json`, `status --format json`): the
/// instant, its zone, and the local time as shown.
impl serde::Serialize for NotBefore {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("NotBefore", 3)?;
        out.serialize_field("at", &self.at)?;
        out.serialize_field("zone", self.zone.name())?;
        out.serialize_field("local", &self.local())?;
        out.end()
    }
}

/// Why a local time given for a scheduled send is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WhenError {
    #[error(
        "{0:?} is not a time to send at: write it as \"2026-12-08 09:00\" (a date, then hours and minutes), \
         optionally followed by a time zone such as Europe/Brussels"
    )]
    Unreadable(String),
    #[error("{0:?} is not a time zone: write an IANA name such as Europe/Brussels, Asia/Tokyo or UTC")]
    UnknownZone(String),
    #[error(
        "{local} does not exist in {zone}: the clocks skip it (daylight saving time begins); \
         write a time before or after the hour they skip"
    )]
    Skipped { local: String, zone: Tz },
}

/// A local time read, and what the reader should know about it: when the
/// clocks go back, a time that happens twice is taken at its first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) not_before: NotBefore,
    /// Said when the time was ambiguous.
    pub(crate) note: Option<String>,
}

/// Reads `text`, "2026-12-08 09:00" (a `T` between them too, seconds
/// allowed), with an optional zone after it ("… Asia/Tokyo"), else `zone`
/// (`--zone`, else the config's `site.time_zone`).
pub(crate) fn read_when(text: &str, zone: Tz) -> Result<Read, WhenError> {
    let trimmed = text.trim();
    let (local, zone) = match trimmed.rsplit_once(' ') {
        Some((rest, last)) if last.contains(['/']) || last.eq_ignore_ascii_case("UTC") => {
            (rest.trim(), parse_zone(last)?)
        }
        _ => (trimmed, zone),
    };
    let naive = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(local, format).ok())
    .ok_or_else(|| WhenError::Unreadable(text.to_string()))?;
    let shown = naive.format("%Y-%m-%d %H:%M").to_string();
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) => Ok(Read {
            not_before: NotBefore {
                at: at.with_timezone(&Utc),
                zone,
            },
            note: None,
        }),
        LocalResult::Ambiguous(earlier, later) => {
            let not_before = NotBefore {
                at: earlier.with_timezone(&Utc),
                zone,
            };
            Ok(Read {
                not_before,
                note: Some(format!(
                    "{shown} happens twice in {zone} (the clocks go back): the earlier is taken, {} {} \
                     ({}); the later would be {}",
                    shown,
                    earlier.format("%Z"),
                    not_before.at.format("%H:%M UTC"),
                    later.with_timezone(&Utc).format("%H:%M UTC"),
                )),
            })
        }
        LocalResult::None => Err(WhenError::Skipped { local: shown, zone }),
    }
}

/// An IANA zone name (`Europe/Brussels`, `UTC`), as the tz database spells it.
pub(crate) fn parse_zone(name: &str) -> Result<Tz, WhenError> {
    name.parse::<Tz>()
        .map_err(|_| WhenError::UnknownZone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRUSSELS: Tz = chrono_tz::Europe::Brussels;

    #[test]
    fn a_local_time_is_shown_with_its_utc_twin() {
        let read = read_when("2026-12-08 09:00", BRUSSELS).unwrap();
        assert_eq!(
            read.not_before.to_string(),
            "2026-12-08 09:00 Europe/Brussels (08:00 UTC)"
        );
        assert_eq!(read.note, None);
        let tokyo = read_when("2026-12-08T07:30 Asia/Tokyo", BRUSSELS).unwrap();
        assert_eq!(
            tokyo.not_before.to_string(),
            "2026-12-08 07:30 Asia/Tokyo (2026-12-07 22:30 UTC)"
        );
        let utc = read_when("2026-12-08 09:00:00 UTC", BRUSSELS).unwrap();
        assert_eq!(utc.not_before.to_string(), "2026-12-08 09:00 UTC");
    }

    #[test]
    fn the_skipped_hour_is_refused_and_the_repeated_one_takes_the_earlier() {
        let gap = read_when("2027-03-28 02:30", BRUSSELS).unwrap_err();
        assert!(
            gap.to_string().contains("does not exist in Europe/Brussels"),
            "{gap}"
        );
        let twice = read_when("2027-10-31 02:30", BRUSSELS).unwrap();
        assert_eq!(twice.not_before.at.to_rfc3339(), "2027-10-31T00:30:00+00:00");
        assert!(twice.note.unwrap().contains("the earlier is taken"));
    }

    #[test]
    fn nonsense_is_refused_with_the_form_expected() {
        for text in [
            "tomorrow",
            "2026-12-08",
            "2026-13-08 09:00",
            "2026-12-08 09:00 Mars/Olympus",
        ] {
            assert!(read_when(text, BRUSSELS).is_err(), "{text}");
        }
    }
}
