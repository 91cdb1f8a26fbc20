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
}
