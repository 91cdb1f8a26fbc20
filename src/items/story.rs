//! The same story under two links: near-identical titles from different
//! sources, published within days of each other.
//!
//! A title becomes the words that tell its story: lowercased, full-width
//! Latin made narrow, small words ("the", "of") and the words of a notice's
//! genre ("programme", "applications open") left out, each word cut to its
//! first five letters after a plural "s" (so "researchers" and "research",
//! "Japanese" and "Japan" agree: truncation is the plainest stemmer that
//! works across English word forms), and Japanese or Chinese text as its
//! character bigrams (it has no spaces to split at). Two titles tell the
//! same story when
//!
//! - they come from different sources, published at most
//!   [`MAX_DAYS_APART`] days apart;
//! - every word and number of the shorter one is in the longer one ("No. 4"
//!   is not "No. 5", a hydrogen seminar at a venue is not a battery seminar
//!   there), and at least [`CJK_CONTAINMENT`] of its CJK bigrams (a
//!   particle more or less changes a bigram), [`MIN_SHARED`] in all;
//! - they are not one template filled two ways: once the words they begin
//!   and end with alike are set aside, what is left of each must share a
//!   word (大阪大学 and 京都大学 doing the same thing are two stories);
//! - two events start on the same day, two tenders have the same reference.
//!
//! Merging two stories wrongly hides one from every reader, while missing a
//! merge shows a story twice, so each rule errs towards two items: a word
//! swapped for a synonym ("raises", "hikes") keeps both.
//!
//! Comparing every pair would be quadratic. Each title is compared only
//! with the titles that have its rarest words: all of its three rarest
//! Latin words, or for CJK, any of enough of its rarest bigrams that a
//! title without them cannot share the share needed (prefix filtering, as
//! in Chaudhuri, Ganti and Kaushik's set-similarity joins).

use std::collections::HashMap;

use super::{Details, Item};

/// The share of the shorter title's CJK bigrams the longer one must have.
const CJK_CONTAINMENT: f64 = 0.75;
/// The fewest words two titles of one story share: two words in common
/// ("EU-Japan", "Japan summit") say little.
const MIN_SHARED: usize = 3;
/// The most days apart two sources publish one story.
const MAX_DAYS_APART: i64 = 3;
/// Letters a word is cut to.
const STEM: usize = 5;
/// The rarest Latin words of a title whose titles are compared with it.
const LOOKED_UP: usize = 3;

/// Words that tell no story: function words, and the words of a notice's
/// genre that one source writes and another leaves out.
const SMALL_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "an",
    "and",
    "applications",
    "are",
    "as",
    "at",
    "be",
    "by",
    "for",
    "from",
    "has",
    "have",
    "in",
    "into",
    "is",
    "it",
    "its",
    "new",
    "no",
    "now",
    "of",
    "on",
    "open",
    "or",
    "over",
    "program",
    "programme",
    "the",
    "this",
    "to",
    "under",
    "via",
    "vs",
    "will",
    "with",
];

/// For each of `items`, the index of the first item telling the same story
/// (its own index when no earlier one does). Items that tell one story
/// through a third are one story too.
pub(crate) fn same_stories(items: &[&Item]) -> Vec<usize> {
    let mut words = Words::default();
    let titles: Vec<Title> = items.iter().map(|item| words.title(&item.title)).collect();
    let frequency = words.frequencies(&titles);
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, title) in titles.iter().enumerate() {
        for word in &title.set {
            index.entry(*word).or_default().push(i);
        }
    }
    let mut groups = Groups::new(items.len());
    let mut seen = vec![usize::MAX; items.len()];
    for (i, title) in titles.iter().enumerate() {
        for j in title.candidates(&index, &frequency) {
            let (shorter, longer) = (title.set.len(), titles[j].set.len());
            let found_by_j = shorter == longer && j < i; // j's own look-up found the pair
            if j == i || seen[j] == i || longer < shorter || found_by_j {
                continue;
            }
            seen[j] = i;
            if same_story((items[i], title), (items[j], &titles[j])) {
                groups.join(i, j);
            }
        }
    }
    (0..items.len()).map(|i| groups.first(i)).collect()
}

/// How much an item tells, to keep the richest copy of a story: an event's
/// dates and place or a tender's deadline first, then the longer summary.
pub(crate) fn richness(item: &Item) -> (bool, usize) {
    let particular = matches!(item.details, Details::Event { .. } | Details::Tender { .. });
    (particular, item.summary_text.len())
}

/// Whether `a`, whose title has no more words than `b`'s, tells `b`'s story.
fn same_story((a, ta): (&Item, &Title), (b, tb): (&Item, &Title)) -> bool {
    let apart = match (a.published, b.published) {
        (Some(x), Some(y)) => (x.date_naive() - y.date_naive()).num_days().abs(),
        _ => return false,
    };
    a.source != b.source
        && apart <= MAX_DAYS_APART
        && same_particulars(&a.details, &b.details)
        && ta.is_in(tb)
        && !is_template(&ta.words, &tb.words)
}

/// Two events on different days, or two tenders with different references,
/// are two, whatever their titles say.
fn same_particulars(a: &Details, b: &Details) -> bool {
    match (a, b) {
        (Details::Event { start: x, .. }, Details::Event { start: y, .. }) => x == y,
        (Details::Tender { reference: x, .. }, Details::Tender { reference: y, .. }) => x == y,
        _ => true,
    }
}

/// Whether the two titles differ only in one slot of a shared frame: once
/// their common first and last words are set aside, nothing is left in
/// common.
fn is_template(a: &[u32], b: &[u32]) -> bool {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[head..], &b[head..]);
    let tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - tail], &b[..b.len() - tail]);
    !a.is_empty() && !b.is_empty() && !a.iter().any(|word| b.contains(word))
}

/// A title's words, as numbers given by [`Words`]: an even number is a
/// Latin word or a number, an odd one a CJK bigram.
struct Title {
    /// In reading order.
    words: Vec<u32>,
    /// Sorted, each once.
    set: Vec<u32>,
}

impl Title {
    /// How many of its words a longer title must have: every Latin word
    /// and number, [`CJK_CONTAINMENT`] of the bigrams, [`MIN_SHARED`] in all.
    fn needed(&self) -> usize {
        let bigrams = self.set.iter().filter(|w| is_bigram(**w)).count();
        let latin = self.set.len() - bigrams;
        (latin + cjk_needed(bigrams)).max(MIN_SHARED)
    }

    /// Whether `longer` has what [`Title::needed`] asks of this one.
    fn is_in(&self, longer: &Title) -> bool {
        let (mut latin_missing, mut bigrams, mut bigrams_shared) = (0, 0, 0);
        for word in &self.set {
            let found = longer.set.binary_search(word).is_ok();
            match (is_bigram(*word), found) {
                (false, found) => latin_missing += usize::from(!found),
                (true, found) => {
                    bigrams += 1;
                    bigrams_shared += usize::from(found);
                }
            }
        }
        let shared = self.set.len() - latin_missing - (bigrams - bigrams_shared);
        latin_missing == 0 && bigrams_shared >= cjk_needed(bigrams) && shared >= MIN_SHARED
    }

    /// The titles (by index) that may hold what [`Title::needed`] asks of
    /// this one, found by its rarest words in `index` (each word's titles,
    /// in order). Every Latin word must be in the other title: those with
    /// this one's [`LOOKED_UP`] rarest Latin words. Of CJK bigrams only a
    /// share must be: those with any of its rarest bigrams, enough of them
    /// that a title missing them all cannot have that share.
    fn candidates(&self, index: &HashMap<u32, Vec<usize>>, frequency: &[u32]) -> Vec<usize> {
        let needed = self.needed();
        if self.set.len() < needed {
            return Vec::new();
        }
        let by_rarity = |words: &mut Vec<u32>| words.sort_by_key(|word| (frequency[*word as usize], *word));
        let mut latin: Vec<u32> = self.set.iter().copied().filter(|w| !is_bigram(*w)).collect();
        if latin.is_empty() {
            let mut rarest = self.set.clone();
            by_rarity(&mut rarest);
            rarest.truncate(self.set.len() - needed + 1);
            return rarest
                .iter()
                .flat_map(|word| index[word].iter().copied())
                .collect();
        }
        by_rarity(&mut latin);
        latin.truncate(LOOKED_UP);
        let (first, rest) = (&index[&latin[0]], &latin[1..]);
        first
            .iter()
            .copied()
            .filter(|j| rest.iter().all(|word| index[word].binary_search(j).is_ok()))
            .collect()
    }
}

/// The bigrams of `count` a longer title must have.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn cjk_needed(count: usize) -> usize {
    // A title has a few dozen bigrams: the float is exact, the result small.
    (count as f64 * CJK_CONTAINMENT).ceil() as usize
}

fn is_bigram(word: u32) -> bool {
    word % 2 == 1
}

/// Every word seen, numbered: Latin words and numbers even, bigrams odd.
#[derive(Default)]
struct Words {
    ids: HashMap<String, u32>,
    next: [u32; 2],
}

impl Words {
    fn title(&mut self, title: &str) -> Title {
        let mut words = Vec::new();
        split(title, &mut |word, bigram| {
            let id = match self.ids.get(word) {
                Some(id) => *id,
                None => {
                    let next = &mut self.next[usize::from(bigram)];
                    let id = *next * 2 + u32::from(bigram);
                    *next += 1;
                    self.ids.insert(word.to_string(), id);
                    id
                }
            };
            words.push(id);
        });
        let mut set = words.clone();
        set.sort_unstable();
        set.dedup();
        Title { words, set }
    }

    /// In how many titles each word is, by its number.
    fn frequencies(&self, titles: &[Title]) -> Vec<u32> {
        let largest = self.next[0].max(self.next[1]) as usize * 2 + 2;
        let mut counts = vec![0; largest];
        for word in titles.iter().flat_map(|t| &t.set) {
            counts[*word as usize] += 1;
        }
        counts
    }
}

/// A title's words as compared, each given to `each`: stemmed Latin words
/// and numbers, and the bigrams of CJK text (`true`).
fn split(title: &str, each: &mut dyn FnMut(&str, bool)) {
    let mut word = String::new();
    let mut cjk = Vec::new();
    for c in title.chars().map(narrow).flat_map(char::to_lowercase) {
        if is_cjk(c) {
            push_word(&mut word, each);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            push_bigrams(&mut cjk, each);
            word.push(c);
        } else {
            push_word(&mut word, each);
            push_bigrams(&mut cjk, each);
        }
    }
    push_word(&mut word, each);
    push_bigrams(&mut cjk, each);
}

/// A lowercase word without a plural "s" ("process" keeps its own).
fn singular(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') && stem.chars().count() >= 3 => stem,
        _ => word,
    }
}

/// A lowercase word's stem: its first [`STEM`] letters after a plural "s"
/// ("researchers" and "research", "Japanese" and "Japan", "licensing" and
/// "licence" agree). The stories' titles and the classifier's model read
/// words so.
pub(crate) fn stem(word: &str) -> &str {
    let singular = singular(word);
    let end = singular
        .char_indices()
        .nth(STEM)
        .map_or(singular.len(), |(at, _)| at);
    &singular[..end]
}

/// Gives `word` (emptied) as a number, a stem, or nothing for a small word.
fn push_word(word: &mut String, each: &mut dyn FnMut(&str, bool)) {
    if word.is_empty() {
        return;
    }
    if word.chars().all(|c| c.is_ascii_digit()) {
        let number = word.trim_start_matches('0');
        each(if number.is_empty() { "0" } else { number }, false);
    } else {
        let small = SMALL_WORDS.contains(&word.as_str()) || SMALL_WORDS.contains(&singular(word));
        if word.chars().nth(1).is_some() && !small {
            each(stem(word), false);
        }
    }
    word.clear();
}

/// Gives the bigrams of a run of CJK characters (emptied); a single
/// character stands for itself, unless it is a kana particle.
fn push_bigrams(run: &mut Vec<char>, each: &mut dyn FnMut(&str, bool)) {
    let mut pair = String::new();
    match run.as_slice() {
        [] => {}
        [single] if ('\u{3040}'..='\u{309F}').contains(single) => {}
        [single] => each(single.encode_utf8(&mut [0; 4]), true),
        chars => {
            for two in chars.windows(2) {
                pair.clear();
                pair.extend(two);
                each(&pair, true);
            }
        }
    }
    run.clear();
}

/// Full-width Latin letters, digits and signs as their ASCII selves.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Kana, the iteration mark and CJK ideographs: text written without spaces.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF66}'..='\u{FF9F}')
}

/// Union-find over item indices; a group is known by its first item.
struct Groups(Vec<usize>);

impl Groups {
    fn new(len: usize) -> Groups {
        Groups((0..len).collect())
    }

    fn first(&mut self, i: usize) -> usize {
        let mut root = i;
        while self.0[root] != root {
            root = self.0[root];
        }
        let mut at = i;
        while self.0[at] != root {
            at = std::mem::replace(&mut self.0[at], root);
        }
        root
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.first(a), self.first(b));
        self.0[a.max(b)] = a.min(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Draft;
    use chrono::{TimeZone, Utc};

    /// A news item of `source` published on November `day`, 2026.
    fn item(source: &str, title: &str, day: u32) -> Item {
        Draft {
            title: title.into(),
            link: format!("https://{}.example/{}", source.to_lowercase(), title.len()),
            published: Some(Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).unwrap()),
            ..Draft::default()
        }
        .into_item(source, Details::News, 100)
    }

    fn same(a: &Item, b: &Item) -> bool {
        same_stories(&[a, b])[1] == 0
    }

    /// `tests/fixtures/same-story.md`: pairs of titles, one line each, and
    /// whether they are one story.
    #[test]
    fn the_table_of_title_pairs() {
        let table = include_str!("../../tests/fixtures/same-story.md");
        let mut wrong = Vec::new();
        let mut rows = 0;
        for line in table
            .lines()
            .filter(|l| l.starts_with("| same") || l.starts_with("| two"))
        {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (verdict, first, second) = (cells[1], cells[2], cells[3]);
            let found = same(&item("A", first, 20), &item("B", second, 21));
            if found != (verdict == "same") {
                wrong.push(format!("{verdict}: {first:?} / {second:?}"));
            }
            rows += 1;
        }
        assert!(rows >= 20, "the table has {rows} rows");
        assert!(wrong.is_empty(), "wrongly judged:\n{}", wrong.join("\n"));
    }

    #[test]
    fn one_source_or_a_week_apart_is_two_stories() {
        let title = "EU and Japan sign a hydrogen memorandum";
        assert!(same(&item("A", title, 20), &item("B", title, 23)));
        assert!(!same(&item("A", title, 20), &item("A", title, 20)), "one source");
        assert!(
            !same(&item("A", title, 20), &item("B", title, 24)),
            "four days apart"
        );
    }

    #[test]
    fn events_on_other_days_and_tenders_with_other_references_are_two() {
        let event = |start: u32| {
            let mut e = item("A", "Seminar on public procurement in Japan, Tokyo", 20);
            e.details = Details::Event {
                start: chrono::NaiveDate::from_ymd_opt(2026, 12, start).unwrap(),
                end: chrono::NaiveDate::from_ymd_opt(2026, 12, start).unwrap(),
                place: "Tokyo".into(),
            };
            e
        };
        let (mut first, second) = (event(3), event(10));
        first.source = "B".into();
        assert!(!same(&first, &second));
        assert!(same(&first, &event(3)));
        let tender = |reference: &str, source: &str| {
            let mut t = item(source, "Supply of weather observation equipment", 20);
            t.details = Details::Tender {
                entity: "JMA".into(),
                reference: reference.into(),
                deadline: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            };
            t
        };
        assert!(!same(&tender("JMA-1", "A"), &tender("JMA-2", "B")));
        assert!(same(&tender("JMA-1", "A"), &tender("JMA-1", "B")));
    }

    #[test]
    fn a_story_told_three_times_is_one_group() {
        let a = item("A", "Japan and Estonia review digital cooperation", 20);
        let b = item("B", "Estonia and Japan review their digital cooperation", 20);
        let c = item("C", "Japan, Estonia review digital cooperation four years on", 21);
        let d = item("D", "METI publishes its semiconductor strategy", 20);
        assert_eq!(same_stories(&[&a, &d, &b, &c]), [0, 1, 0, 0]);
    }

    #[test]
    fn words_are_stemmed_numbered_and_cjk_is_cut_in_bigrams() {
        let words = |title: &str| {
            let mut words = Vec::new();
            split(title, &mut |word, bigram| words.push((word.to_string(), bigram)));
            words
        };
        let latin: Vec<String> = words("The researchers' 2027 Calls, ＥＵ０４ 重点計画の")
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert_eq!(
            latin,
            ["resea", "2027", "call", "eu04", "重点", "点計", "計画", "画の"]
        );
        assert_eq!(words("No. 04 の 庁"), [("4".into(), false), ("庁".into(), true)]);
    }
}
