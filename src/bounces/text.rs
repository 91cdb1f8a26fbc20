//! What the classifier reads in a report's words: status codes, addresses,
//! the fields of a delivery-status or feedback-report part, and phrases.
//! Scanners over text, no MIME: the parts come from mail-parser.

/// One `Name: value` field of a report block, the name in lowercase.
pub(super) type Field = (String, String);

/// The blocks of a `message/delivery-status` or `message/feedback-report`
/// body (RFC 3464 §2.1, RFC 5965 §3): groups of header-style fields,
/// separated by blank lines, continuation lines unfolded.
pub(super) fn field_blocks(body: &str) -> Vec<Vec<Field>> {
    let mut blocks: Vec<Vec<Field>> = vec![Vec::new()];
    for line in body.lines() {
        let block = blocks.last_mut().expect("one block at least");
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(Vec::new());
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    blocks.retain(|block| !block.is_empty());
    blocks
}

/// The value of field `name` (lowercase) in a block.
pub(super) fn field<'a>(block: &'a [Field], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.as_str())
}

/// The address of a recipient field: `rfc822; jane@example.eu` (the type
/// before `;` dropped, angle brackets too), if it holds one.
pub(super) fn typed_address(value: &str) -> Option<String> {
    let address = value.split_once(';').map_or(value, |(_, address)| address);
    addresses(address).into_iter().next()
}

/// An enhanced status code (RFC 3463): class 2, 4 or 5, then two numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StatusCode {
    pub(super) class: u8,
    pub(super) subject: u16,
    pub(super) detail: u16,
}

impl StatusCode {
    pub(super) fn text(&self) -> String {
        format!("{}.{}.{}", self.class, self.subject, self.detail)
    }

    /// RFC 3463 calls these conditions "persistent transient": a full
    /// mailbox (X.2.2), a full or closed mail system (X.3.1, X.3.2), a host
    /// that does not answer, a broken connection or directory, congestion,
    /// a message too old (X.4.1–3, X.4.5, X.4.7). Reported with class 5
    /// they are still not a sign the address is gone: a soft bounce.
    pub(super) fn persistent_transient(&self) -> bool {
        matches!(
            (self.subject, self.detail),
            (2, 2) | (3, 1) | (3, 2) | (4, 1) | (4, 2) | (4, 3) | (4, 5) | (4, 7)
        )
    }
}

/// Every enhanced status code in `text` (`5.1.1`, `#5.1.1`, `552-5.2.2`),
/// in order: a digit-dot-digits-dot-digits run not inside a longer
/// number or version (`1.5.1.1`, `5.1.1.2` are none).
pub(super) fn status_codes(text: &str) -> Vec<StatusCode> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        at += 1;
        if !matches!(bytes[start], b'2' | b'4' | b'5') || bytes.get(start + 1) != Some(&b'.') {
            continue;
        }
        if start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
            continue;
        }
        let Some((subject, after_subject)) = number(bytes, start + 2) else {
            continue;
        };
        if bytes.get(after_subject) != Some(&b'.') {
            continue;
        }
        let Some((detail, end)) = number(bytes, after_subject + 1) else {
            continue;
        };
        let longer = bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if longer || bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        found.push(StatusCode {
            class: bytes[start] - b'0',
            subject,
            detail,
        });
        at = end;
    }
    found
}

/// One to three digits at `at`: the number and where it ends (a run of
/// digits is looked at no further than its fourth).
fn number(bytes: &[u8], at: usize) -> Option<(u16, usize)> {
    let digits = bytes[at.min(bytes.len())..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let text = std::str::from_utf8(&bytes[at..at + digits]).ok()?;
    Some((text.parse().ok()?, at + digits))
}

/// The first SMTP reply code of class 4 or 5 (`550 `, `552-`, `#550 `)
/// standing as a word where servers quote replies: at a line's start or
/// after `said:`, `returned '`, `error:` and the like. Only a fallback for
/// reports with no enhanced code.
///
/// One pass: a candidate looks back over the quoting characters before it
/// and forward over the spaces after it, runs that end at the digits of
/// the candidates beside it, so no byte is looked at more than a few times
/// (a line of `x 550 x 550 …` once cost time quadratic in its length).
pub(super) fn reply_code(text: &str) -> Option<u8> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|start| quoted_reply_at(bytes, start))
}

/// The class of a quoted reply code starting at `start`, if one does.
fn quoted_reply_at(bytes: &[u8], start: usize) -> Option<u8> {
    let code = &bytes[start..start + 3];
    if !matches!(code[0], b'4' | b'5') || !code[1].is_ascii_digit() || !code[2].is_ascii_digit() {
        return None;
    }
    if !matches!(bytes.get(start + 3), Some(b' ' | b'-' | b':')) {
        return None;
    }
    let quoted = match bytes[..start].iter().rposition(|b| !b" \t#'\"([".contains(b)) {
        None => true,
        Some(last) => {
            matches!(bytes[last], b'\n' | b':' | b';')
                || bytes[(last + 1).saturating_sub(8)..=last].eq_ignore_ascii_case(b"returned")
        }
    };
    // `550 User unknown`, `550 <a@b.c>…`, Verizon's `550 - Requested action…`.
    let next_is_word = bytes[start + 4..]
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != b'-')
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'<');
    (quoted && next_is_word).then_some(code[0] - b'0')
}

/// Every mail address in `text`, in order, lowercase (as the store keys
/// them), each once.
pub(super) fn addresses(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-=!#$&'*/?^`{|}~".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut found: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (at, _) in text.match_indices('@') {
        let local_start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let local = text[local_start..at].trim_start_matches(['.', '\'', '=']);
        let domain_len = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| is_domain(*c))
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.contains('.') || domain.starts_with('.') {
            continue;
        }
        let address = format!("{local}@{domain}").to_lowercase();
        if seen.insert(address.clone()) {
            found.push(address);
        }
    }
    found
}

/// The address a line of a report names as the one that failed, in the
/// shapes mail systems write it: `<jane@example.eu>:` opening the line
/// (qmail, Postfix), the address alone on its line (sendmail's "The
/// following addresses had permanent fatal errors", Notes' "was not
/// delivered to:"), before ` on <date>` (old Exchange's "The following
/// recipient(s) could not be reached:"), after `RCPT TO:` (Verizon, Trend
/// Micro's `Sent <<< RCPT TO:<…>`) or `deliver message to` (Trend Micro).
pub(super) fn named_recipient(line: &str) -> Option<String> {
    let line = line.trim();
    let lower = line.to_ascii_lowercase();
    for lead in ["rcpt to:", "deliver message to "] {
        if let Some(at) = lower.find(lead) {
            return addresses(&line[at + lead.len()..]).into_iter().next();
        }
    }
    let first = line.split_whitespace().next()?;
    let rest = lower[first.len()..].trim_start();
    let alone = rest.is_empty() || rest.starts_with("on ") || first.ends_with(':');
    let word = first.trim_end_matches([':', '.', ',', ';']);
    let word = word
        .strip_prefix('<')
        .and_then(|w| w.strip_suffix('>'))
        .unwrap_or(word);
    let address = addresses(word).into_iter().next()?;
    (alone && address.len() == word.len()).then_some(address)
}

/// Whether lowercase `text` holds any of `phrases`.
pub(super) fn holds_any(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|phrase| text.contains(phrase))
}

/// Words that may be a sealed unsubscribe token (base64url, or the first
/// format's `payload.signature`): 20 characters at least.
pub(super) fn token_candidates(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c))
        .map(|word| word.trim_end_matches('.'))
        .filter(|word| {
            word.len() >= 20
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_string)
        .collect()
}

/// Asserts that `run` on `large` (four times `small`) costs at most
/// eight times the CPU time it does on `small`: a quadratic scan costs
/// sixteen. The thread's CPU time, not the wall clock, so that other work
/// on the machine is not counted; four runs on `small` against one on
/// `large`, so that the two take about as long and the clock's granularity
/// and caches weigh on both alike; five times, in turn, the least kept.
#[cfg(test)]
pub(super) fn assert_linear<T: ?Sized>(what: &str, small: &T, large: &T, run: impl Fn(&T)) {
    let cpu_time = || {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        std::time::Duration::new(
            now.tv_sec.unsigned_abs(),
            now.tv_nsec.unsigned_abs().try_into().unwrap_or(0),
        )
    };
    let cost = |input: &T, times: usize| {
        let start = cpu_time();
        for _ in 0..times {
            run(input);
        }
        cpu_time().saturating_sub(start)
    };
    let (mut four_small, mut one_large) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..5 {
        four_small = four_small.min(cost(small, 4));
        one_large = one_large.min(cost(large, 1));
    }
    assert!(
        one_large <= four_small * 2 + std::time::Duration::from_millis(5),
        "{what}: {four_small:?} of CPU time for four runs, {one_large:?} for one on four times the bytes"
    );
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    use super::*;

    /// Every scan here, on hostile text of a quarter and of one megabyte.
    #[test]
    fn every_scan_costs_time_linear_in_its_bytes() {
        let both = |unit: &str| {
            [
                unit.repeat(250_000 / unit.len()),
                unit.repeat(1_000_000 / unit.len()),
            ]
        };
        let distinct = |size: usize| (0..size / 18).map(|i| format!("u{i}@h{i}.example ")).collect();
        type Scan = (&'static str, [String; 2], fn(&str));
        let scans: [Scan; 12] = [
            ("reply codes in `x 550 `", both("x 550 "), |t| {
                _ = black_box(reply_code(t))
            }),
            ("reply codes in `(550 (`", both("(550 ("), |t| {
                _ = black_box(reply_code(t))
            }),
            ("status codes in `5.5.`", both("5.5."), |t| {
                _ = black_box(status_codes(t))
            }),
            ("status codes in `5.1.1 `", both("x 5.1.1 "), |t| {
                _ = black_box(status_codes(t))
            }),
            ("status codes in digits", both("5.1.55555555"), |t| {
                _ = black_box(status_codes(t))
            }),
            ("addresses in `@`", both("@"), |t| _ = black_box(addresses(t))),
            ("addresses in `a.@.`", both("a.@."), |t| {
                _ = black_box(addresses(t))
            }),
            ("repeated addresses", both("<a@b.cd> "), |t| {
                _ = black_box(addresses(t))
            }),
            ("distinct addresses", [distinct(50_000), distinct(200_000)], |t| {
                _ = black_box(addresses(t))
            }),
            ("report fields", both("Final-Recipient: rfc822; a@b.cd\n"), |t| {
                _ = black_box(field_blocks(t))
            }),
            ("folded fields", both(" 550 x\n"), |t| {
                _ = black_box(field_blocks(t))
            }),
            ("token candidates", both("AbCdEfGhIjKlMnOpQrStUv_-12 "), |t| {
                _ = black_box(token_candidates(t))
            }),
        ];
        for (what, [small, large], scan) in &scans {
            assert_linear(what, small.as_str(), large.as_str(), scan);
        }
    }

    #[test]
    fn finds_status_codes_where_servers_write_them() {
        let codes = |text: &str| {
            status_codes(text)
                .iter()
                .map(StatusCode::text)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("550 5.1.1 <a@b.c>: Recipient unknown"), ["5.1.1"]);
        assert_eq!(codes("552-5.2.2 The email account is over quota"), ["5.2.2"]);
        assert_eq!(codes("Sorry, no mailbox here by that name. (#5.1.1)"), ["5.1.1"]);
        assert_eq!(codes("Status: 4.4.7"), ["4.4.7"]);
        assert_eq!(
            codes("version 1.5.1.1 and 5.1.1.2 and 10.2.3"),
            Vec::<String>::new()
        );
        assert_eq!(codes("IP 192.168.5.1 said"), Vec::<String>::new());
    }

    #[test]
    fn finds_quoted_reply_codes_only() {
        assert_eq!(reply_code("host mx.example said: 550 Unknown user"), Some(5));
        assert_eq!(reply_code("Remote Server returned '554 rejected'"), Some(5));
        assert_eq!(reply_code("451 Temporary local problem"), Some(4));
        assert_eq!(reply_code("<a@b.c>:\n554: delivery error: dd This user"), Some(5));
        assert_eq!(reply_code("your 550 bytes message"), None);
        assert_eq!(reply_code("Error: 550 - Requested action not taken"), Some(5));
    }

    #[test]
    fn finds_the_recipient_in_the_shapes_mail_systems_list_it() {
        let named = |line: &str| named_recipient(line);
        assert_eq!(named("<Jane@Example.org>:"), Some("jane@example.org".into()));
        assert_eq!(
            named("  taro@notes.example.jp"),
            Some("taro@notes.example.jp".into())
        );
        assert_eq!(
            named("hans@corp.example.ch on 01.12.2026 08:12"),
            Some("hans@corp.example.ch".into())
        );
        assert_eq!(
            named("  RCPT TO: 2025550142@vtext.example"),
            Some("2025550142@vtext.example".into())
        );
        assert_eq!(named("Sent <<< RCPT TO:<a@b.jp>"), Some("a@b.jp".into()));
        assert_eq!(
            named("Unable to deliver message to <a@b.jp>."),
            Some("a@b.jp".into())
        );
        assert_eq!(named("please write to help@example.eu for help"), None);
        assert_eq!(named("From: newsletters@eu-japan.eu"), None);
    }

    #[test]
    fn finds_addresses() {
        assert_eq!(
            addresses("<Jane.Doe@Example.EU>: host said\n  bob@mail.example.jp."),
            ["jane.doe@example.eu", "bob@mail.example.jp"]
        );
        assert_eq!(
            typed_address("rfc822; jane@example.eu"),
            Some("jane@example.eu".into())
        );
        assert_eq!(addresses("user@localhost and @example"), Vec::<String>::new());
    }

    #[test]
    fn reads_report_blocks() {
        let blocks = field_blocks(
            "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.eu\nAction: failed\nDiagnostic-Code: smtp; 550\n  5.1.1 unknown\n",
        );
        assert_eq!(blocks.len(), 2);
        assert_eq!(field(&blocks[1], "action"), Some("failed"));
        assert_eq!(
            field(&blocks[1], "diagnostic-code"),
            Some("smtp; 550 5.1.1 unknown")
        );
    }
}
