//! Dates in the formats feeds use: W3C-DTF/RFC 3339, RFC 822 and its
//! variants, asctime, compact ISO 8601, and the CJK forms. A date that is
//! not one of these is no date: never a guess, never "now".

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// Parses a date; a time zone it does not know counts as UTC, as in
/// feedparser.
pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 128 {
        return None;
    }
    w3dtf(text)
        .or_else(|| rfc822(text))
        .or_else(|| asctime(text))
        .or_else(|| compact(text))
        .or_else(|| cjk(text))
        .filter(plausible)
}

/// Whether a date can be a publication date. Feeds write the Unix epoch
/// (or year 0, or 9999) when they have no date; such a date would sort
/// the item first or last forever.
pub(crate) fn plausible(date: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1900..=2200).contains(&date.year()) && date.timestamp() != 0
}

/// A cursor over ASCII-ish text, for the fixed-shape formats.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn new(s: &str) -> Cursor<'_> {
        Cursor {
            s: s.as_bytes(),
            i: 0,
        }
    }

    /// A number of `min..=max` digits.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let digits = self.s[self.i..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits < min {
            return None;
        }
        let value = self.s[self.i..self.i + digits]
            .iter()
            .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
        self.i += digits;
        Some(value)
    }

    /// Skips digits (a fraction of a second, which dates do not keep).
    fn skip_digits(&mut self) {
        self.i += self.s[self.i..].iter().take_while(|b| b.is_ascii_digit()).count();
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.s.get(self.i) == Some(&byte);
        self.i += usize::from(found);
        found
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn rest(&self) -> &str {
        std::str::from_utf8(&self.s[self.i..]).unwrap_or("")
    }
}

/// W3C-DTF (a profile of ISO 8601, RFC 3339 included): `2003-12-31`,
/// `2003-12-31T10:14:55Z`, `2003-12-31 10:14:55.5-08:00`, `2003-12`.
fn w3dtf(text: &str) -> Option<DateTime<Utc>> {
    let mut c = Cursor::new(text);
    let year = i32::try_from(c.number(4, 4)?).ok()?;
    let (mut month, mut day) = (1, 1);
    if c.eat(b'-') {
        month = c.number(1, 2)?;
        if c.eat(b'-') {
            day = c.number(1, 2)?;
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (time, offset) = if c.peek().is_none() {
        (0, 0)
    } else if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        c.i += 1;
        let time = clock(&mut c)?;
        (time, zone(c.rest().trim())?)
    } else {
        return None;
    };
    at(date, time, offset)
}

/// `hh:mm[:ss[.fff]]`, as seconds after midnight (24:00 allowed).
fn clock(c: &mut Cursor) -> Option<i64> {
    let hour = c.number(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.number(2, 2)?;
    let second = if c.eat(b':') { c.number(1, 2)? } else { 0 };
    if c.eat(b'.') || c.eat(b',') {
        c.skip_digits();
    }
    (hour <= 24 && minute < 60 && second <= 60).then(|| i64::from(hour * 3600 + minute * 60 + second))
}

/// A time zone: `Z`, `±hh:mm`, `±hhmm`, `±hh`, `GMT+2`, a name, or
/// nothing (UTC). Returns the offset east of UTC in minutes.
fn zone(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix("etc/").unwrap_or(&lower);
    let numeric = lower
        .strip_prefix("gmt")
        .or_else(|| lower.strip_prefix("utc"))
        .filter(|rest| rest.starts_with(['+', '-']))
        .unwrap_or(lower);
    if let Some(sign) = numeric.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = numeric[1..].chars().filter(|c| *c != ':').collect();
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (hours, minutes) = match digits.len() {
            1 | 2 => (digits.parse::<i64>().ok()?, 0),
            3 => (digits[..1].parse::<i64>().ok()?, digits[1..].parse::<i64>().ok()?),
            _ => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
        };
        let minutes = hours * 60 + minutes;
        return (minutes <= 14 * 60).then_some(if sign == '-' { -minutes } else { minutes });
    }
    Some(named_zone(numeric).unwrap_or(0) * 60)
}

/// Offsets in hours of the zone names feeds use (RFC 822's and more).
fn named_zone(name: &str) -> Option<i64> {
    let hours = match name.trim_matches(|c: char| c == '(' || c == ')') {
        "" | "ut" | "utc" | "gmt" | "z" | "wet" => 0,
        "adt" => -3,
        "ast" | "at" | "edt" => -4,
        "est" | "et" | "cdt" => -5,
        "cst" | "ct" | "mdt" => -6,
        "mst" | "mt" | "pdt" => -7,
        "pst" | "pt" | "akdt" => -8,
        "akst" => -9,
        "hst" => -10,
        "a" => -1,
        "n" | "met" | "cet" | "bst" | "west" => 1,
        "mest" | "cest" | "eet" => 2,
        "eest" | "msk" => 3,
        "jst" | "kst" => 9,
        "aest" => 10,
        "aedt" => 11,
        "m" => -12,
        "y" => 12,
        _ => return None,
    };
    Some(hours)
}

fn at(date: NaiveDate, seconds: i64, offset_minutes: i64) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::from(date).checked_add_signed(Duration::seconds(seconds))?;
    let utc = local.checked_sub_signed(Duration::minutes(offset_minutes))?;
    Some(utc.and_utc())
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month(word: &str) -> Option<u32> {
    let word = word.get(..3)?;
    MONTHS
        .iter()
        .zip(1..)
        .find(|(m, _)| **m == word)
        .map(|(_, number)| number)
}

/// RFC 822 and what feeds make of it: `Thu, 01 Jan 2004 19:48:21 GMT`,
/// with the day name in any language or missing, month and day swapped
/// (`Sat, Dec 16 2023 02:02:33 PM`), two-digit years, no seconds, no
/// time, a 12-hour clock, and zone names.
fn rfc822(text: &str) -> Option<DateTime<Utc>> {
    let lower = text.to_lowercase().replace(',', ", ");
    let mut parts: Vec<&str> = lower.split_whitespace().collect();
    if parts.first().is_some_and(|p| p.ends_with(',') || is_day_name(p)) {
        parts.remove(0);
    }
    let parts: Vec<&str> = parts
        .iter()
        .map(|p| p.trim_end_matches(','))
        .filter(|p| !p.is_empty())
        .collect();
    let (day, month) = match (parts.first()?.parse::<u32>(), parts.get(1)) {
        (Ok(day), Some(name)) => (day, month(name)?),
        (Err(_), Some(day)) => (day.parse().ok()?, month(parts[0])?),
        _ => return None,
    };
    let year_text = parts.get(2)?;
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() <= 2 {
        year += if year < 90 { 2000 } else { 1900 };
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let Some(time) = parts.get(3) else {
        return at(date, 0, 0);
    };
    let mut c = Cursor::new(time);
    let mut seconds = clock(&mut c).filter(|_| c.rest().is_empty())?;
    let mut rest = &parts[4..];
    if let Some(meridiem) = rest.first().filter(|p| **p == "am" || **p == "pm") {
        seconds = twelve_hour(seconds, meridiem == &"pm")?;
        rest = &rest[1..];
    }
    at(date, seconds, zone(rest.first().copied().unwrap_or(""))?)
}

fn is_day_name(word: &str) -> bool {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| word.starts_with(d))
}

/// Seconds after midnight on a 12-hour clock read as 24-hour.
fn twelve_hour(seconds: i64, pm: bool) -> Option<i64> {
    let hour = seconds / 3600;
    if hour > 12 {
        return None;
    }
    let hour = hour % 12 + if pm { 12 } else { 0 };
    Some(hour * 3600 + seconds % 3600)
}

/// asctime: `Sun Jan  4 16:29:06 PST 2004`, `Sun Jan 4 16:29:06 2004`.
fn asctime(text: &str) -> Option<DateTime<Utc>> {
    let mut parts: Vec<&str> = text.split_whitespace().collect();
    if parts.len() == 5 {
        parts.insert(4, "+0000");
    }
    if parts.len() != 6 || month(&parts[1].to_ascii_lowercase()).is_none() {
        return None;
    }
    rfc822(&[parts[0], parts[2], parts[1], parts[5], parts[3], parts[4]].join(" "))
}

/// Compact ISO 8601: `20040105`, `20040105T12:30:00Z`, `20040105T123000Z`.
fn compact(text: &str) -> Option<DateTime<Utc>> {
    let mut c = Cursor::new(text);
    let year = i32::try_from(c.number(4, 4)?).ok()?;
    let month = c.number(2, 2)?;
    let day = c.number(2, 2)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if c.peek().is_none() {
        return at(date, 0, 0);
    }
    if !c.eat(b'T') && !c.eat(b't') {
        return None;
    }
    let start = c.i;
    let seconds = clock(&mut c).or_else(|| {
        c.i = start;
        let hms = [c.number(2, 2)?, c.number(2, 2)?, c.number(2, 2).unwrap_or(0)];
        (hms[0] <= 24 && hms[1] < 60 && hms[2] <= 60).then(|| i64::from(hms[0] * 3600 + hms[1] * 60 + hms[2]))
    })?;
    at(date, seconds, zone(c.rest())?)
}

/// Japanese and Korean dates: `2024年5月1日 14:30`, `2004년 05월 28일
/// 01:31:15`, `2004-05-25 오후 11:23:17`; they are local time (UTC+9).
fn cjk(text: &str) -> Option<DateTime<Utc>> {
    if text.is_ascii() {
        return None;
    }
    let marks = ['年', '月', '日', '년', '월', '일'];
    let plain: String = text
        .chars()
        .map(|c| if marks.contains(&c) { ' ' } else { c })
        .collect();
    let mut words: Vec<&str> = plain.split_whitespace().collect();
    let pm = words
        .iter()
        .any(|w| *w == "오후" || *w == "午後" || *w == "PM" || *w == "pm");
    words.retain(|w| !["오전", "오후", "午前", "午後", "AM", "am", "PM", "pm"].contains(w));
    let (ymd, time) = match words.as_slice() {
        [y, m, d, rest @ ..] if y.len() == 4 => ([*y, *m, *d], rest.first().copied()),
        [date, rest @ ..] => {
            let ymd: Vec<&str> = date.split(['-', '/', '.']).collect();
            (<[&str; 3]>::try_from(ymd).ok()?, rest.first().copied())
        }
        [] => return None,
    };
    let [y, m, d] = ymd.map(|n| n.parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(i32::try_from(y?).ok()?, m?, d?)?;
    let mut seconds = match time {
        Some(time) => {
            let mut c = Cursor::new(time);
            clock(&mut c)?
        }
        None => 0,
    };
    if pm && seconds < 12 * 3600 {
        seconds += 12 * 3600;
    }
    at(date, seconds, 9 * 60)
}
