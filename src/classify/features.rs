//! What the learned model reads of an item: its words (stemmed, as the
//! stories' titles are: "licensing" is "licence") and word pairs in Latin
//! script, its character pairs in Japanese (which has no spaces, so
//! pairs of characters stand in for words without a dictionary), and its
//! kind; not the function words ("the", "of", "について"), which say how
//! an author writes rather than what the item is about. Each feature is a
//! 64-bit hash, so the model holds numbers, not strings; the item's own
//! text gives the words back for `--explain`.

use std::ops::Range;

use crate::items::{Item, Kind, stem};

/// An item's distinct features, for learning.
pub(crate) struct Features {
    hashes: Vec<u64>,
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
        let mut hashes = Vec::with_capacity(text.len() / 3);
        each(&text, item.kind(), |hash, _| hashes.push(hash));
        Features { hashes }
    }

    /// The distinct feature hashes, in order.
    pub(crate) fn hashes(mut self) -> Vec<u64> {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes
    }
}

/// Calls `found` with each feature of `text` (the title, a newline and the
/// body, lowercased) and of the item's `kind`, with where its text is in
/// `text` (the kind has none: `0..0`), in the order found; one may come
/// more than once (the model counts each once: presence, not frequency, or
/// a long summary would outweigh its title). One pass, nothing allocated:
/// the classifier looks each up as it comes.
pub(crate) fn each(text: &str, kind: Kind, mut found: impl FnMut(u64, Range<usize>)) {
    found(single(hash(b"kind:", kind.as_str())), 0..0);
    // The hash of the word before, and where it starts.
    let mut previous_word: Option<(u64, usize)> = None;
    let mut previous_cjk: Option<usize> = None;
    let mut word_start: Option<usize> = None;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at <= bytes.len() {
        // ASCII, the most of most items, without decoding; the end as a space.
        let (c, len) = match bytes.get(at) {
            None => (' ', 1),
            Some(&byte) if byte.is_ascii() => (char::from(byte), 1),
            Some(_) => {
                let c = text[at..].chars().next().unwrap_or(' ');
                (c, c.len_utf8())
            }
        };
        let alphanumeric = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphanumeric()
        };
        let latin = alphanumeric && (c as u32) < 0x2E80;
        let cjk = alphanumeric && (c as u32) >= 0x2E80;
        if latin {
            word_start.get_or_insert(at);
        } else if let Some(start) = word_start.take() {
            let written = &text[start..at];
            if is_function_word(written) {
                previous_word = None;
            } else {
                word_features(written, start..at, &mut previous_word, &mut found);
            }
        }
        if cjk {
            if let Some(start) = previous_cjk.filter(|&start| !both_kana(&text[start..at + len])) {
                found(
                    single(continue_hash(CJK, &bytes[start..at + len])),
                    start..at + len,
                );
            }
            previous_cjk = Some(at);
        } else {
            previous_cjk = None;
        }
        // A line break or a full stop ends a phrase: no pair across it.
        if matches!(c, '\n' | '.' | '。' | '、' | ',' | ':' | ';') {
            previous_word = None;
        }
        at += len;
    }
}

/// Whether `word` (lowercased) is a function word: it says how an author
/// writes, not what the item is about, so it is no feature, and no pair is
/// made across it ("up on", "on solid"). Leaving one author out, the model
/// of the other authors otherwise learned their style: function words and
/// kana pairs ([`both_kana`]) left out, +0.6 points (docs/classification.md).
/// Looked up by the word's hash, one search among integers, not by
/// comparing strings: classification does it for every word it reads.
fn is_function_word(word: &str) -> bool {
    word.len() <= FUNCTION_WORD_LEN
        && FUNCTION_HASHES
            .binary_search(&continue_hash(FNV_OFFSET, word.as_bytes()))
            .is_ok()
}

/// The longest of [`FUNCTION_WORDS`].
const FUNCTION_WORD_LEN: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < FUNCTION_WORDS.len() {
        if FUNCTION_WORDS[i].len() > longest {
            longest = FUNCTION_WORDS[i].len();
        }
        i += 1;
    }
    longest
};

/// The FNV-1a hashes of [`FUNCTION_WORDS`], sorted (at compile time).
const FUNCTION_HASHES: [u64; FUNCTION_WORDS.len()] = {
    let mut hashes = [0; FUNCTION_WORDS.len()];
    let mut i = 0;
    while i < hashes.len() {
        hashes[i] = continue_hash(FNV_OFFSET, FUNCTION_WORDS[i].as_bytes());
        // Insertion sort: a handful of words, once.
        let mut j = i;
        while j > 0 && hashes[j - 1] > hashes[j] {
            let swap = hashes[j];
            hashes[j] = hashes[j - 1];
            hashes[j - 1] = swap;
            j -= 1;
        }
        i += 1;
    }
    hashes
};

/// English function words, lowercase ([`is_function_word`]).
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can",
    "for", "from", "has", "have", "how", "in", "into", "is", "it", "its", "more", "new", "not", "of", "on",
    "or", "our", "over", "s", "than", "that", "the", "their", "this", "to", "up", "was", "we", "were",
    "what", "which", "will", "with", "you", "your",
];

/// Whether a Japanese character pair is two hiragana: a particle or a
/// verb's ending ("ます", "てい", "について"), how a text is written and not
/// what it is about, unlike a pair with a kanji or katakana.
fn both_kana(pair: &str) -> bool {
    pair.chars().all(|c| ('\u{3040}'..='\u{309f}').contains(&c))
}

/// A word's features: the word as written and its stem, where they
/// differ (the stem carries across word forms, the word keeps "transfer"
/// apart from "transport"), and its pair with the word before.
fn word_features(
    written: &str,
    range: Range<usize>,
    previous_word: &mut Option<(u64, usize)>,
    found: &mut impl FnMut(u64, Range<usize>),
) {
    let stemmed = stem(written);
    let word = single(continue_hash(WORD, stemmed.as_bytes()));
    found(word, range.clone());
    if stemmed.len() < written.len() {
        found(single(continue_hash(WHOLE, written.as_bytes())), range.clone());
    }
    if let Some((before, start)) = previous_word.take() {
        found(pair(before, word), start..range.end);
    }
    *previous_word = Some((word, range.start));
}

/// The feature of two words in a row, from their hashes: cheaper than
/// hashing their text again, and as stable. Its lowest bit is set, and
/// every other feature's is clear ([`single`]): the model weighs pairs
/// less than words ([`is_pair`]).
fn pair(first: u64, second: u64) -> u64 {
    (first.rotate_left(23) ^ second).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

/// The hash of a feature that is not a pair of words: its lowest bit clear.
const fn single(hash: u64) -> u64 {
    hash & !1
}

/// Whether a feature is two words in a row ([`pair`]).
pub(crate) const fn is_pair(hash: u64) -> bool {
    hash & 1 == 1
}

/// FNV-1a over a prefix (the feature's family) and the text: stable across
/// runs, platforms and Rust versions, as a stored model needs.
fn hash(prefix: &[u8], text: &str) -> u64 {
    continue_hash(continue_hash(FNV_OFFSET, prefix), text.as_bytes())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a of `w:`, where a word's hash starts.
const WORD: u64 = continue_hash(FNV_OFFSET, b"w:");

/// FNV-1a of `W:`, where a whole word's hash starts (beside its stem's).
const WHOLE: u64 = continue_hash(FNV_OFFSET, b"W:");

/// FNV-1a of `c:`, where a Japanese character pair's hash starts.
const CJK: u64 = continue_hash(FNV_OFFSET, b"c:");

/// FNV-1a from `hash` on over `bytes`.
const fn continue_hash(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::each;
    use crate::items::{Details, Draft};

    fn texts(title: &str, summary: &str) -> Vec<String> {
        let draft = Draft {
            title: title.into(),
            summary_html: summary.into(),
            ..Draft::default()
        };
        let item = draft.into_item("test", Details::News, 100);
        let text = format!("{}\n{}\n", item.title, item.summary_text).to_lowercase();
        let mut texts: Vec<String> = Vec::new();
        each(&text, item.kind(), |_, range| texts.push(text[range].to_string()));
        texts.sort();
        texts.dedup();
        texts
    }

    #[test]
    fn latin_words_and_their_pairs() {
        let found = texts("Germany and Japan sign", "");
        for expected in ["germany", "japan sign", "sign"] {
            assert!(found.iter().any(|t| t == expected), "{expected} in {found:?}");
        }
        assert!(!found.iter().any(|t| t == "sign\n"), "{found:?}");
    }

    #[test]
    fn function_words_are_no_feature_and_no_pair_crosses_them() {
        let found = texts("Germany and Japan sign an accord", "研究についての協力です");
        for absent in [
            "and",
            "germany and",
            "and japan",
            "an",
            "sign an",
            "つい",
            "いて",
            "です",
        ] {
            assert!(!found.iter().any(|t| t == absent), "{absent} in {found:?}");
        }
        for expected in ["germany", "japan sign", "accord", "研究", "協力", "力で"] {
            assert!(found.iter().any(|t| t == expected), "{expected} in {found:?}");
        }
        // Found by their hashes, whatever their order; no other word is.
        for word in super::FUNCTION_WORDS {
            assert!(super::is_function_word(word), "{word}");
        }
        for word in ["japan", "abouts", "tax", "i", "ab", "the "] {
            assert!(!super::is_function_word(word), "{word}");
        }
    }

    #[test]
    fn only_word_pairs_are_pairs() {
        let draft = Draft {
            title: "Germany and Japan sign".into(),
            summary_html: "日独、水素で協力".into(),
            ..Draft::default()
        };
        let item = draft.into_item("test", Details::News, 100);
        let text = format!("{}\n{}\n", item.title, item.summary_text).to_lowercase();
        each(&text, item.kind(), |hash, range| {
            let found = &text[range];
            assert_eq!(super::is_pair(hash), found.contains(' '), "{found:?}");
        });
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
