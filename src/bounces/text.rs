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

/// One to three digits at `at`: the number and where it ends.
fn number(bytes: &[u8], at: usize) -> Option<(u16, usize)> {
    let digits = bytes[at.min(bytes.len())..]
        .iter()
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
pub(super) fn reply_code(text: &str) -> Option<u8> {
    let bytes = text.as_bytes();
    for start in 0..bytes.len().saturating_sub(3) {
        let code = &bytes[start..start + 3];
        if !matches!(code[0], b'4' | b'5') || !code[1].is_ascii_digit() || !code[2].is_ascii_digit() {
            continue;
        }
        if !matches!(bytes.get(start + 3), Some(b' ' | b'-' | b':')) {
            continue;
        }
        let before = text[..start].trim_end_matches([' ', '\t', '#', '\'', '"', '(', '[']);
        let quoted = before.is_empty()
            || before.ends_with('\n')
            || before.ends_with(':')
            || before.ends_with(';')
            || before.to_ascii_lowercase().ends_with("returned");
        let next_is_word = text[start + 4..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '<');
        if quoted && next_is_word {
            return Some(code[0] - b'0');
        }
    }
    None
}

/// Every mail address in `text`, in order, lowercase (as the store keys
/// them), each once.
pub(super) fn addresses(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-=!#$&'*/?^`{|}~".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut found: Vec<String> = Vec::new();
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
        if !found.contains(&address) {
            found.push(address);
        }
    }
    found
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

#[cfg(test)]
mod tests {
    use super::*;

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
