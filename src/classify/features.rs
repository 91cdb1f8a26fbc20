//! What the learned model reads of an item: its words and word pairs in
//! Latin script, its character pairs in Japanese (which has no spaces, so
//! pairs of characters stand in for words without a dictionary), and its
//! kind. Each feature is a 64-bit hash, so the model holds numbers, not
//! strings; the item's own text gives the words back for `--explain`.

use std::ops::Range;

use crate::items::{Item, Kind};

/// An item's distinct features, each with where it is in [`Features::text`].
pub(crate) struct Features {
    /// The title, a newline and the body (summary and categories), lowercased.
    text: String,
    /// In the order found; the model counts each once (presence, not
    /// frequency: a long summary would otherwise outweigh its title).
    found: Vec<(u64, Range<usize>)>,
}

impl Features {
    pub(crate) fn of(item: &Item) -> Features {
        let text = format!(
            "{}\n{}\n{}",
            item.title,
            item.summary_text,
            item.categories.join("\n")
        )
        .to_lowercase();
        Features::of_lowercase(text, item.kind())
    }

    /// The features of `text`, the title, a newline and the body already
    /// lowercased (the classifier has them so for its rules).
    pub(crate) fn of_lowercase(text: String, kind: Kind) -> Features {
        let mut found = Vec::with_capacity(text.len() / 3);
        found.push((hash(b"kind:", kind.as_str()), 0..0));
        // The hash of the word before, and where it starts.
        let mut previous_word: Option<(u64, usize)> = None;
        let mut previous_cjk: Option<(usize, char)> = None;
        let mut word_start: Option<usize> = None;
        for (at, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            let latin = c.is_alphanumeric() && (c as u32) < 0x2E80;
            let cjk = c.is_alphanumeric() && (c as u32) >= 0x2E80;
            if latin {
                word_start.get_or_insert(at);
            } else if let Some(start) = word_start.take() {
                let word = hash(b"w:", &text[start..at]);
                found.push((word, start..at));
                if let Some((before, start)) = previous_word.take() {
                    found.push((pair(before, word), start..at));
                }
                previous_word = Some((word, start));
            }
            if cjk {
                if let Some((start, _)) = previous_cjk {
                    let end = at + c.len_utf8();
                    found.push((hash(b"c:", &text[start..end]), start..end));
                }
                previous_cjk = Some((at, c));
            } else {
                previous_cjk = None;
            }
            // A line break or a full stop ends a phrase: no pair across it.
            if matches!(c, '\n' | '.' | '。' | '、' | ',' | ':' | ';') {
                previous_word = None;
            }
        }
        Features { text, found }
    }

    /// The distinct feature hashes, in order.
    pub(crate) fn hashes(&self) -> Vec<u64> {
        let mut hashes: Vec<u64> = self.found.iter().map(|(hash, _)| *hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    }

    /// Each feature with the text it stands for (the kind has none), as
    /// found: one may come more than once.
    pub(crate) fn with_text(&self) -> impl Iterator<Item = (u64, &str)> + '_ {
        self.found
            .iter()
            .map(|(hash, range)| (*hash, &self.text[range.clone()]))
    }
}

/// The feature of two words in a row, from their hashes: cheaper than
/// hashing their text again, and as stable.
fn pair(first: u64, second: u64) -> u64 {
    (first.rotate_left(23) ^ second).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// FNV-1a over a prefix (the feature's family) and the text: stable across
/// runs, platforms and Rust versions, as a stored model needs.
fn hash(prefix: &[u8], text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in prefix.iter().chain(text.as_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::Features;
    use crate::items::{Details, Draft};

    fn texts(title: &str, summary: &str) -> Vec<String> {
        let draft = Draft {
            title: title.into(),
            summary_html: summary.into(),
            ..Draft::default()
        };
        let features = Features::of(&draft.into_item("test", Details::News, 100));
        let mut texts: Vec<String> = features.with_text().map(|(_, t)| t.to_string()).collect();
        texts.sort();
        texts.dedup();
        texts
    }

    #[test]
    fn latin_words_and_their_pairs() {
        let found = texts("Germany and Japan sign", "");
        for expected in ["germany", "germany and", "and japan", "japan sign", "sign"] {
            assert!(found.iter().any(|t| t == expected), "{expected} in {found:?}");
        }
        assert!(!found.iter().any(|t| t == "sign\n"), "{found:?}");
    }

    #[test]
    fn japanese_character_pairs_need_no_dictionary() {
        let found = texts("日独、水素で協力", "");
        for expected in ["日独", "水素", "協力", "素で"] {
            assert!(found.iter().any(|t| t == expected), "{expected} in {found:?}");
        }
        assert!(!found.iter().any(|t| t == "独、"), "no pair across punctuation");
    }
}
