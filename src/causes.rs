//! An error and its causes as one line, each said once: what the user
//! reads on stderr, and what a delivery log keeps as a failure's reason.

use std::error::Error;

/// `error: cause: cause…`, leaving out a cause whose words an outer one
/// already holds; one that holds the words of the cause before it (SQLite's
/// "file is not a database", then "Error code 26: file is not a database")
/// takes that one's place.
pub(crate) fn said_once(error: &(dyn Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        next = cause.source();
        let text = cause.to_string();
        if text.is_empty() || said.iter().any(|s| s.contains(&text)) {
            continue;
        }
        match said.last_mut() {
            Some(last) if text.contains(last.as_str()) => *last = text,
            _ => said.push(text),
        }
    }
    said.join(": ")
}

/// [`said_once`] for a log that must name no mail address: every word
/// holding an `@` (an address, however a server or a file name spells it)
/// becomes `[address]`.
pub(crate) fn said_without_addresses(error: &(dyn Error + 'static)) -> String {
    let said = said_once(error);
    let mut out = String::with_capacity(said.len());
    let mut rest = said.as_str();
    while let Some(at) = rest.find('@') {
        let bounds = |c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c);
        let start = rest[..at]
            .char_indices()
            .rfind(|&(_, c)| bounds(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = rest[at..].find(bounds).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str("[address]");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{what}")]
    struct Layer {
        what: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layers(words: &[&'static str]) -> Layer {
        words
            .iter()
            .rev()
            .fold(None, |source, what| {
                Some(Layer {
                    what,
                    source: source.map(Box::new),
                })
            })
            .unwrap()
    }

    #[test]
    fn each_cause_is_said_once() {
        let error = layers(&[
            "store.sqlite: corrupt",
            "not a database",
            "Error 26: not a database",
        ]);
        assert_eq!(
            said_once(&error),
            "store.sqlite: corrupt: Error 26: not a database"
        );
        let error = layers(&["a.xml: No such file", "No such file"]);
        assert_eq!(said_once(&error), "a.xml: No such file");
    }

    #[test]
    fn a_log_line_names_no_address() {
        let error = layers(&[
            "writing out/mail/confirm/j_C3_B6rg@xn--bcher-kva.example.eml",
            "RCPT: 550 5.1.1 <JÖRG@bücher.example>: Recipient address rejected",
        ]);
        assert_eq!(
            said_without_addresses(&error),
            "writing [address]: RCPT: 550 5.1.1 <[address]>: Recipient address rejected"
        );
        assert_eq!(
            said_without_addresses(&layers(&["from\u{3000}a@b.c, and @"])),
            "from\u{3000}[address], and [address]"
        );
    }
}
