//! Entity and character references: expanded as feed-rs expands them,
//! repaired where quick-xml would reject the whole document.

use std::borrow::Cow;

use crate::items::escape_html;

/// Text with the XML entities and character references expanded, as
/// feed-rs expands them; other entities are left as they are.
pub(crate) fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(rest) {
            Some((len, Reference::Char(c))) => {
                out.push(c);
                rest = &rest[len..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// What `&…;` at the start of `text` is.
enum Reference {
    /// A character: numeric, or one of XML's five entities.
    Char(char),
    /// A well-formed reference to another entity (`&nbsp;`).
    Named,
    /// A numeric reference to no character (`&#0;`, `&#xD800;`).
    Invalid,
}

/// The reference at the start of `text` and its length, or `None` when
/// the `&` starts no reference (a bare ampersand).
fn reference(text: &str) -> Option<(usize, Reference)> {
    let end = text.as_bytes().iter().take(34).skip(1).position(|&b| b == b';')? + 1;
    let name = &text[1..end];
    let reference = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).unwrap_or(u32::MAX)
            }
            None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
                number.parse().unwrap_or(u32::MAX)
            }
            _ => return None,
        };
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .map_or(Reference::Invalid, Reference::Char)
    } else {
        let mut chars = name.chars();
        let starts_well = chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':');
        if !starts_well || !chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
            return None;
        }
        match name {
            "lt" => Reference::Char('<'),
            "gt" => Reference::Char('>'),
            "amp" => Reference::Char('&'),
            "quot" => Reference::Char('"'),
            "apos" => Reference::Char('\''),
            _ => Reference::Named,
        }
    };
    Some((end + 1, reference))
}

/// Raw character data made acceptable to quick-xml, which rejects the
/// whole document for what feedparser reads: a bare `&` (in a URL's
/// query, say), `&#X41;`, or a reference to no character. `None` when
/// the text is fine.
///
/// Entities the document declares in its DOCTYPE are expanded too (as
/// text), which feed-rs does not do.
pub(super) fn repair_references(raw: &str, entities: &Entities) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in raw.match_indices('&') {
        if at < copied {
            continue;
        }
        let (len, repaired) = match reference(&raw[at..]) {
            None => (1, "&amp;".to_string()),
            Some((len, Reference::Invalid)) => (len, "&#xFFFD;".to_string()),
            Some((len, Reference::Char(c))) if raw[at..].starts_with("&#X") => {
                (len, format!("&#x{:X};", u32::from(c)))
            }
            Some((len, Reference::Named)) => match entities.value(&raw[at + 1..at + len - 1]) {
                Some(value) => (len, escape_html(value)),
                None => continue,
            },
            Some(_) => continue,
        };
        out.push_str(&raw[copied..at]);
        out.push_str(&repaired);
        copied = at + len;
    }
    (copied > 0).then(|| out + &raw[copied..])
}

/// The general entities a DOCTYPE declares: `<!ENTITY name "value">`.
#[derive(Default)]
pub(super) struct Entities {
    declared: Vec<(String, String)>,
    /// Bytes expanded so far.
    expanded: std::cell::Cell<usize>,
}

impl Entities {
    /// Expansions stop at this many bytes: a document cannot blow up.
    const BUDGET: usize = 1 << 20;

    /// Up to 64 entities of up to 256 bytes: enough for a feed.
    pub(super) fn declare(&mut self, doctype: &str) {
        for declaration in doctype.split("<!ENTITY").skip(1) {
            let mut words = declaration.trim_start().splitn(2, char::is_whitespace);
            let (Some(name), Some(rest)) = (words.next(), words.next()) else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(quote) = rest.chars().next().filter(|q| *q == '"' || *q == '\'') else {
                continue; // a parameter entity, or an external one
            };
            let Some(len) = rest[1..].find(quote) else {
                continue;
            };
            if name != "%" && len <= 256 && self.declared.len() < 64 {
                self.declared
                    .push((name.to_string(), unescape(&rest[1..1 + len]).into_owned()));
            }
        }
    }

    /// The value of a declared entity, while the budget lasts.
    fn value(&self, name: &str) -> Option<&str> {
        let value = self
            .declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())?;
        let expanded = self.expanded.get() + value.len();
        self.expanded.set(expanded);
        (expanded <= Self::BUDGET).then_some(value)
    }
}

/// A base64 text content (`mode="base64"`, whitespace allowed between its
/// characters) decoded, when it is base64 of UTF-8 text: what both the
/// repairs and the summaries undo before reading the text.
pub(super) fn decode_base64(text: &str) -> Option<String> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok()
}
