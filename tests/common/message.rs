//! Reading what bulletin wrote as its reader's program does: a message's
//! head, its decoded Subject and parts, and the HTML of an edition.

/// The head of a message: everything before the first blank line.
pub(crate) fn head(message: &str) -> &str {
    &message[..message.find("\r\n\r\n").or_else(|| message.find("\n\n")).unwrap()]
}

/// The HTML part of a raw message, decoded as a mail program decodes it:
/// quoted-printable (soft breaks removed, hard line breaks kept) or
/// base64. Lines end in CRLF as sent, or in LF as some dumps write them;
/// the line end before a boundary belongs to the boundary (RFC 2046).
pub(crate) fn html_part(message: &str) -> String {
    mail_part(message, "text/html")
}

/// The part of a raw message with `content_type`, decoded (see [`html_part`]).
pub(crate) fn mail_part(message: &str, content_type: &str) -> String {
    use base64::Engine;
    let nl = if message.contains("\r\n") { "\r\n" } else { "\n" };
    let boundary = message
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a multipart message");
    let part = message
        .split(&format!("{nl}--{boundary}"))
        .find(|part| part.contains(&format!("Content-Type: {content_type}")))
        .unwrap_or_else(|| panic!("a {content_type} part"));
    let (head, body) = part
        .split_once(&format!("{nl}{nl}"))
        .expect("the part's head ends");
    let bytes = if head.contains("Content-Transfer-Encoding: quoted-printable") {
        quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap()
    } else {
        assert!(head.contains("Content-Transfer-Encoding: base64"), "{head}");
        base64::engine::general_purpose::STANDARD
            .decode(body.replace(nl, ""))
            .unwrap()
    };
    String::from_utf8(bytes).unwrap()
}

/// The Subject of a raw message as a mail client shows it: unfolded and
/// decoded (RFC 2047) by Python's `email` package.
pub(crate) fn decoded_subject(message: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = "import sys, email, email.policy\n\
        m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)\n\
        sys.stdout.write(str(m['subject']))";
    let mut python = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (tests/run.sh needs it too)");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 could not read the message");
    String::from_utf8(output.stdout).unwrap()
}

/// `text` as askama escapes it in the HTML.
pub(crate) fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The HTML of one section: from its heading to the next section's.
pub(crate) fn section<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html
        .find(&format!(">{title}</h2>"))
        .unwrap_or_else(|| panic!("no section {title:?}"));
    let rest = &html[start..];
    &rest[..rest.find("<h2").unwrap_or(rest.len())]
}
