//! Decoding bytes to text, the way RFC 3023 and feedparser say.

use encoding_rs::Encoding;

/// A character encoding: encoding_rs's, plus the two that it (being
/// made for the web) does not have, and strict US-ASCII, which the web
/// reads as windows-1252 but RFC 3023 means literally.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Charset {
    Ascii,
    Utf32Le,
    Utf32Be,
    Web(&'static Encoding),
}

/// The document as UTF-8 text, without a byte order mark or NULs. The
/// candidate encodings are tried in feedparser's order: the one RFC
/// 3023 picks, the declared one, the one the first bytes show, UTF-8;
/// then, for a damaged document, the one the first bytes show with
/// replacement characters if it is a wide one, else windows-1252
/// (which decodes anything).
pub(crate) fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let (sniffed, body) = sniff(bytes);
    let declared = declared(body, sniffed);
    let (media_type, http_charset) = content_type.map(split_content_type).unwrap_or_default();
    let preferred = rfc3023(&media_type, http_charset.as_deref(), declared, body);
    let strict = [
        preferred,
        declared,
        sniffed,
        Some(Charset::Web(encoding_rs::UTF_8)),
    ];
    let text = strict
        .into_iter()
        .flatten()
        .find_map(|charset| charset.decode(body))
        .unwrap_or_else(|| match sniffed {
            Some(wide) if wide.is_wide() => wide.decode_lossy(body),
            _ => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(body)
                .0
                .into_owned(),
        });
    // NUL is no XML character, and quick-xml would take "\0<\0?" for
    // the start of a UTF-16 document.
    let text = if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    };
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

impl Charset {
    /// The text, or `None` when the bytes are not valid in this encoding.
    pub(crate) fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Charset::Ascii => bytes
                .is_ascii()
                .then(|| String::from_utf8_lossy(bytes).into_owned()),
            Charset::Utf32Le => utf32(bytes, u32::from_le_bytes),
            Charset::Utf32Be => utf32(bytes, u32::from_be_bytes),
            Charset::Web(encoding) => encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned()),
        }
    }

    /// The text, with U+FFFD for what is not valid in this encoding.
    fn decode_lossy(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf32Le | Charset::Utf32Be => {
                let read = if self == Charset::Utf32Le {
                    u32::from_le_bytes
                } else {
                    u32::from_be_bytes
                };
                bytes
                    .chunks(4)
                    .map(|c| match <[u8; 4]>::try_from(c) {
                        Ok(unit) => char::from_u32(read(unit)).unwrap_or('\u{fffd}'),
                        Err(_) => '\u{fffd}',
                    })
                    .collect()
            }
            Charset::Web(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
            Charset::Ascii => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    fn is_wide(self) -> bool {
        matches!(self, Charset::Utf32Le | Charset::Utf32Be)
            || self == Charset::Web(encoding_rs::UTF_16LE)
            || self == Charset::Web(encoding_rs::UTF_16BE)
    }
}

fn utf32(bytes: &[u8], read: fn([u8; 4]) -> u32) -> Option<String> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    bytes
        .chunks_exact(4)
        .map(|c| char::from_u32(read([c[0], c[1], c[2], c[3]])))
        .collect()
}

/// The encoding the first bytes show (a byte order mark, or `<?` in a
/// wide encoding; XML 1.0 appendix F), and the bytes after the mark.
fn sniff(bytes: &[u8]) -> (Option<Charset>, &[u8]) {
    const MARKS: [(&[u8], Charset); 5] = [
        (&[0x00, 0x00, 0xFE, 0xFF], Charset::Utf32Be),
        (&[0xFF, 0xFE, 0x00, 0x00], Charset::Utf32Le),
        (&[0xFE, 0xFF], Charset::Web(encoding_rs::UTF_16BE)),
        (&[0xFF, 0xFE], Charset::Web(encoding_rs::UTF_16LE)),
        (&[0xEF, 0xBB, 0xBF], Charset::Web(encoding_rs::UTF_8)),
    ];
    const SHAPES: [(&[u8], Charset); 4] = [
        (&[0x00, 0x3C, 0x00, 0x3F], Charset::Web(encoding_rs::UTF_16BE)),
        (&[0x3C, 0x00, 0x3F, 0x00], Charset::Web(encoding_rs::UTF_16LE)),
        (&[0x00, 0x00, 0x00, 0x3C], Charset::Utf32Be),
        (&[0x3C, 0x00, 0x00, 0x00], Charset::Utf32Le),
    ];
    if let Some((mark, charset)) = MARKS.iter().find(|(mark, _)| bytes.starts_with(mark)) {
        return (Some(*charset), &bytes[mark.len()..]);
    }
    let shape = SHAPES.iter().find(|(shape, _)| bytes.starts_with(shape));
    (shape.map(|(_, charset)| *charset), bytes)
}

/// The encoding named by the XML declaration. A declaration that says
/// "UTF-16" in a document whose bytes say which UTF-16 means those.
fn declared(body: &[u8], sniffed: Option<Charset>) -> Option<Charset> {
    let head = &body[..body.len().min(1024)];
    let head = match sniffed {
        Some(wide) if wide.is_wide() => {
            let unit = if matches!(wide, Charset::Utf32Le | Charset::Utf32Be) {
                4
            } else {
                2
            };
            wide.decode(&head[..head.len() / unit * unit])?
        }
        // An ASCII-compatible encoding: enough to read the declaration.
        _ => head
            .iter()
            .map(|&b| if b.is_ascii() { b as char } else { '\u{fffd}' })
            .collect(),
    };
    let label = declared_label(&head)?;
    let charset = lookup(&label)?;
    match sniffed {
        Some(wide) if wide.is_wide() && is_unicode_family(&label) => Some(wide),
        _ => Some(charset),
    }
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>`. Leading
/// white space, which XML forbids and PHP scripts emit, is allowed.
pub(crate) fn declared_label(text: &str) -> Option<String> {
    let declaration = text.trim_start().strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|&q| q == '"' || q == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].trim().to_string())
}

fn is_unicode_family(label: &str) -> bool {
    let label = label.to_ascii_lowercase();
    [
        "u16", "utf16", "utf-16", "utf_16", "u32", "utf32", "utf-32", "utf_32", "ucs-2", "ucs-4",
    ]
    .contains(&label.as_str())
        || label.starts_with("iso-10646")
        || label == "csucs4"
        || label == "csunicode"
}

/// The encoding a label names, with the names Python knows and the
/// WHATWG list does not.
pub(crate) fn lookup(label: &str) -> Option<Charset> {
    let label = label.trim().to_ascii_lowercase();
    let web = |encoding| Some(Charset::Web(encoding));
    match label.as_str() {
        "" => None,
        "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "646" => Some(Charset::Ascii),
        "utf-32" | "utf32" | "utf_32" | "u32" | "ucs-4" | "iso-10646-ucs-4" | "csucs4" | "utf-32le"
        | "utf_32_le" => Some(Charset::Utf32Le),
        "utf-32be" | "utf_32_be" => Some(Charset::Utf32Be),
        "u16" | "utf16" | "utf_16" | "ucs-2" | "iso-10646-ucs-2" | "csunicode" => web(encoding_rs::UTF_16LE),
        "cp932" | "ms932" | "mskanji" | "ms-kanji" => web(encoding_rs::SHIFT_JIS),
        "gb2312" => web(encoding_rs::GB18030),
        _ => Encoding::for_label(label.as_bytes())
            .or_else(|| Encoding::for_label(label.replace('_', "-").as_bytes()))
            .map(Charset::Web),
    }
}

/// The media type (lower case) and the charset parameter.
fn split_content_type(content_type: &str) -> (String, Option<String>) {
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    });
    (media_type, charset.filter(|c| !c.is_empty()))
}

/// RFC 3023: for application/xml types the HTTP charset wins, then the
/// declaration, then UTF-8; for text/xml types only the HTTP charset
/// counts and the default is US-ASCII; JSON is UTF-8; with no
/// Content-Type the declaration counts.
fn rfc3023(media_type: &str, http: Option<&str>, declared: Option<Charset>, body: &[u8]) -> Option<Charset> {
    let http = http.and_then(lookup);
    let application_xml = [
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    ]
    .contains(&media_type)
        || (media_type.starts_with("application/") && media_type.ends_with("+xml"));
    let json = ["application/feed+json", "application/json"].contains(&media_type)
        || (media_type.is_empty() && body.trim_ascii_start().starts_with(b"{"));
    if application_xml {
        http.or(declared).or(Some(Charset::Web(encoding_rs::UTF_8)))
    } else if json {
        http.or(Some(Charset::Web(encoding_rs::UTF_8)))
    } else if media_type.starts_with("text/") {
        http.or(Some(Charset::Ascii))
    } else {
        declared.or(Some(Charset::Web(encoding_rs::UTF_8)))
    }
}
