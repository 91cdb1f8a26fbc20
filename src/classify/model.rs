//! The learned half of classification: per newsletter, a naive Bayes model
//! (multinomial over the presence of each feature, Laplace smoothing) of
//! "belongs" against "does not belong".
//!
//! Why naive Bayes over hashed features, written here, rather than a crate
//! (linfa pulls ndarray and a tree of crates): training is adding up counts,
//! so it is incremental (a new example adds its counts, nothing is
//! retrained), exactly deterministic (weights are whole numbers, sums of
//! `f64` are then exact in any order), fast (5,000 items in milliseconds),
//! and a correction counts more simply by a larger weight. The model is a
//! few counts per feature, kept in the store as bytes ([`Model::encode`]).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use super::features::{self, Features};
use crate::config::{Audience, Config};
use crate::items::{Item, Kind};

/// What the model learns beside the newsletters: whether an item belongs
/// in none (a job advert, a sponsored post, sport), from the examples
/// labelled with none. Not a newsletter id, which has no brackets.
const OFF_TOPIC: &str = "(off-topic)";

/// Laplace smoothing: each feature is counted this many more times on
/// each side, for the EU-only newsletters and off-topic, where a word
/// seen a few times must not let an item in.
const ALPHA: f64 = 1.0;

/// Lighter smoothing for the newsletters open to all: a word another
/// author used a few times with a newsletter then counts (leave one author
/// out, docs/classification.md: +1.2 points, every set within a point or
/// better).
const OPEN_ALPHA: f64 = 0.3;

/// How much a pair of words weighs against a word: with lighter smoothing,
/// pairs that say nothing ("up on", "on solid") would otherwise add up.
const PAIR_WEIGHT: f64 = 0.5;

/// How many examples a feature of the bundled model needs
/// ([`Model::learn_common`]).
const RARE_BELOW: f64 = 2.0;

/// A labelled item: the newsletters an editor put it in (none is an
/// answer too), and how much it counts (an editor's correction more than
/// a published edition).
#[derive(Debug, Clone)]
pub struct Example {
    pub(crate) item: Item,
    pub(crate) labels: Vec<String>,
    pub(crate) weight: f64,
}

impl Example {
    /// `weight` is best a whole number, so that training stays exact.
    pub fn new(item: Item, labels: Vec<String>, weight: f64) -> Example {
        Example { item, labels, weight }
    }
}

/// What the model has learned: counts per newsletter. Grows by
/// [`Model::learn`]; scored through [`Model::weights`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    newsletters: BTreeMap<String, Counts>,
}

/// One newsletter's counts; index 0 is "does not belong", 1 "belongs".
#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    /// Examples (by weight) on each side.
    examples: [f64; 2],
    /// Features (by weight) on each side.
    features: [f64; 2],
    per_feature: HashMap<u64, [f64; 2], Identity>,
}

impl Counts {
    /// `weight` more of an example with these features on one side. A
    /// feature whose counts come back to nothing is forgotten, so that
    /// taking an example back leaves the counts as if it had never come.
    fn add(&mut self, belongs: bool, hashes: &[u64], weight: f64) {
        let side = usize::from(belongs);
        self.examples[side] += weight;
        for hash in hashes {
            let seen = self.per_feature.entry(*hash).or_default();
            seen[side] += weight;
            if *seen == [0.0; 2] {
                self.per_feature.remove(hash);
            }
            self.features[side] += weight;
        }
    }
}

impl Model {
    /// Adds the examples' counts to every newsletter of `config`.
    pub fn learn<'e>(&mut self, config: &Config, examples: impl IntoIterator<Item = &'e Example>) {
        for example in examples {
            self.add(config, &Features::of(&example.item).hashes(), example);
        }
    }

    /// Adds one example's counts, its features `hashes`, to every row.
    fn add(&mut self, config: &Config, hashes: &[u64], example: &Example) {
        for newsletter in &config.newsletters {
            let id = newsletter.id.as_str();
            let belongs = example.labels.iter().any(|l| l == id);
            let counts = self.newsletters.entry(id.to_string()).or_default();
            counts.add(belongs, hashes, example.weight);
        }
        let counts = self.newsletters.entry(OFF_TOPIC.to_string()).or_default();
        counts.add(example.labels.is_empty(), hashes, example.weight);
    }

    /// Adds `weight` of one item to one newsletter's counts only, on the
    /// side `belongs` says: an editor's add or drop speaks of one
    /// newsletter. A negative `weight` takes back what was learned with
    /// the same item, exactly (whole numbers add up exactly).
    pub(crate) fn learn_one(&mut self, newsletter: &str, item: &Item, belongs: bool, weight: f64) {
        let hashes = Features::of(item).hashes();
        let counts = self.newsletters.entry(newsletter.to_string()).or_default();
        counts.add(belongs, &hashes, weight);
    }

    /// Adds the examples' counts as [`Model::learn`] does, leaving out
    /// every feature fewer than [`RARE_BELOW`] of them (by weight) have: for
    /// the bundled sets. A word one author used once says more of that
    /// author than of a newsletter, and such words are most of the
    /// vocabulary: left out, the model takes a fraction of the memory and
    /// does as well across authors (docs/classification.md, "The fourth
    /// pass"). Counted first, so the rare ones never take room in the rows.
    pub fn learn_common<I>(&mut self, config: &Config, examples: impl Fn() -> I)
    where
        I: IntoIterator,
        I::Item: Borrow<Example>,
    {
        // The examples are read twice rather than kept, and their
        // features found twice: memory, not time, is what a server
        // starting from the bundled model runs short of.
        let mut seen: HashMap<u64, f64, Identity> = HashMap::default();
        for example in examples() {
            let example = example.borrow();
            for hash in Features::of(&example.item).hashes() {
                *seen.entry(hash).or_default() += example.weight;
            }
        }
        seen.retain(|_, n| *n >= RARE_BELOW);
        seen.shrink_to_fit();
        for example in examples() {
            let example = example.borrow();
            let mut hashes = Features::of(&example.item).hashes();
            hashes.retain(|hash| seen.contains_key(hash));
            self.add(config, &hashes, example);
        }
    }

    /// The model ready to score items: a log-likelihood ratio per feature
    /// and newsletter, in `config`'s order of newsletters.
    pub fn weights(&self, config: &Config) -> Weights {
        // The config's newsletters, then off-topic, each with its smoothing.
        let ids: Vec<(&str, f64)> = config
            .newsletters
            .iter()
            .map(|n| {
                let alpha = match n.audience {
                    Audience::EuOrganisations => ALPHA,
                    Audience::Everyone => OPEN_ALPHA,
                };
                (n.id.as_str(), alpha)
            })
            .chain([(OFF_TOPIC, ALPHA)])
            .collect();
        let count = ids.len();
        let mut rows: HashMap<u64, Vec<f32>, Identity> = HashMap::default();
        let mut prior = vec![None; count];
        for (i, &(id, alpha)) in ids.iter().enumerate() {
            let Some(counts) = self.newsletters.get(id) else {
                continue;
            };
            if counts.examples[0] == 0.0 || counts.examples[1] == 0.0 {
                continue; // nothing to tell apart
            }
            #[allow(clippy::cast_precision_loss, reason = "a vocabulary is far below 2^52")]
            let vocabulary = counts.per_feature.len() as f64;
            let denominator = [
                counts.features[0] + alpha * vocabulary,
                counts.features[1] + alpha * vocabulary,
            ];
            #[allow(clippy::cast_possible_truncation, reason = "a score needs no f64 precision")]
            for (hash, seen) in &counts.per_feature {
                let mut ratio =
                    ((seen[1] + alpha) / denominator[1]).ln() - ((seen[0] + alpha) / denominator[0]).ln();
                if features::is_pair(*hash) {
                    ratio *= PAIR_WEIGHT;
                }
                rows.entry(*hash).or_insert_with(|| vec![0.0; count])[i] = ratio as f32;
            }
            #[allow(clippy::cast_possible_truncation, reason = "a score needs no f64 precision")]
            let odds = (counts.examples[1] / counts.examples[0]).ln() as f32;
            prior[i] = Some(odds);
        }
        Weights {
            table: Table::new(rows, count),
            prior,
        }
    }

    /// The model as bytes for the store: the same model gives the same bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_len(&mut out, self.newsletters.len());
        for (id, counts) in &self.newsletters {
            put_len(&mut out, id.len());
            out.extend_from_slice(id.as_bytes());
            for value in counts.examples.iter().chain(&counts.features) {
                out.extend_from_slice(&value.to_le_bytes());
            }
            let mut features: Vec<_> = counts.per_feature.iter().collect();
            features.sort_unstable_by_key(|(hash, _)| **hash);
            put_len(&mut out, features.len());
            for (hash, seen) in features {
                out.extend_from_slice(&hash.to_le_bytes());
                out.extend_from_slice(&seen[0].to_le_bytes());
                out.extend_from_slice(&seen[1].to_le_bytes());
            }
        }
        out
    }

    /// Whether `bytes` are a model of an older format, whose features'
    /// hashes this bulletin no longer makes: to be learned again.
    pub(crate) fn is_outdated(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC_FAMILY) && !bytes.starts_with(MAGIC)
    }

    /// A model from [`Model::encode`]'s bytes; `None` if they are not one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Model> {
        let mut input = bytes.strip_prefix(MAGIC)?;
        let mut newsletters = BTreeMap::new();
        for _ in 0..take_len(&mut input)? {
            let len = take_len(&mut input)?;
            let id = String::from_utf8(take(&mut input, len)?.to_vec()).ok()?;
            let mut numbers = [0.0; 4];
            for n in &mut numbers {
                *n = take_f64(&mut input)?;
            }
            let mut per_feature = HashMap::default();
            for _ in 0..take_len(&mut input)? {
                let hash = u64::from_le_bytes(take(&mut input, 8)?.try_into().ok()?);
                per_feature.insert(hash, [take_f64(&mut input)?, take_f64(&mut input)?]);
            }
            let counts = Counts {
                examples: [numbers[0], numbers[1]],
                features: [numbers[2], numbers[3]],
                per_feature,
            };
            newsletters.insert(id, counts);
        }
        input.is_empty().then_some(Model { newsletters })
    }
}

/// The first bytes of an encoded model, with its format's version: 2
/// since a pair of words is told apart by its hash ([`features::is_pair`]),
/// 3 since function words are no features.
const MAGIC: &[u8] = b"bulletin-nb-3\n";

/// What every version's [`MAGIC`] starts with.
const MAGIC_FAMILY: &[u8] = b"bulletin-nb-";

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u64::try_from(len).unwrap_or(u64::MAX).to_le_bytes());
}

fn take<'b>(input: &mut &'b [u8], len: usize) -> Option<&'b [u8]> {
    let (head, rest) = input.split_at_checked(len)?;
    *input = rest;
    Some(head)
}

fn take_len(input: &mut &[u8]) -> Option<usize> {
    usize::try_from(u64::from_le_bytes(take(input, 8)?.try_into().ok()?)).ok()
}

fn take_f64(input: &mut &[u8]) -> Option<f64> {
    Some(f64::from_le_bytes(take(input, 8)?.try_into().ok()?))
}

/// A [`Model`] ready to score: per feature, the log-likelihood ratio of
/// "belongs" for each newsletter, in the config's order.
#[derive(Debug, Default)]
pub struct Weights {
    table: Table,
    /// The prior log-odds of each newsletter, then of off-topic; `None` where the model has
    /// not seen both an item that belongs and one that does not.
    prior: Vec<Option<f32>>,
}

/// The features' ratios, looked up once per feature of every item
/// classified: open addressing over the hashes (which are well mixed
/// already), linear probing, the ratios of all newsletters in one flat
/// row per feature, so a lookup touches two arrays and allocates nothing.
#[derive(Debug, Default)]
struct Table {
    /// A power of two of slots, at most half full; [`EMPTY`] in the free ones.
    keys: Vec<u64>,
    /// Each slot's row in `ratios`.
    rows: Vec<u32>,
    /// `width` ratios per row.
    ratios: Vec<f32>,
    width: usize,
    /// The row of the feature whose hash is [`EMPTY`], if the model knows one.
    empty_key_row: Option<u32>,
}

/// A free slot of [`Table::keys`].
const EMPTY: u64 = 0;

impl Table {
    fn new(rows: HashMap<u64, Vec<f32>, Identity>, width: usize) -> Table {
        let slots = (rows.len() * 2).next_power_of_two().max(16);
        let mut table = Table {
            keys: vec![EMPTY; slots],
            rows: vec![0; slots],
            ratios: Vec::with_capacity(rows.len() * width),
            width,
            empty_key_row: None,
        };
        // In hash order, so that the same model gives the same table.
        let mut rows: Vec<(u64, Vec<f32>)> = rows.into_iter().collect();
        rows.sort_unstable_by_key(|(hash, _)| *hash);
        for (row, (hash, ratios)) in rows.into_iter().enumerate() {
            let row = u32::try_from(row).expect("a vocabulary below 2^32 features");
            table.ratios.extend_from_slice(&ratios);
            if hash == EMPTY {
                table.empty_key_row = Some(row);
                continue;
            }
            let mut slot = table.slot(hash);
            while table.keys[slot] != EMPTY {
                slot = (slot + 1) & (slots - 1);
            }
            table.keys[slot] = hash;
            table.rows[slot] = row;
        }
        table
    }

    fn slot(&self, hash: u64) -> usize {
        // The high bits of a multiply: the pairs' hashes end in a multiply
        // already, the words' in FNV's, whose low bits mix least.
        let bits = self.keys.len().trailing_zeros();
        usize::try_from(hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)).unwrap_or(0)
    }

    /// The feature's row, if the model knows it.
    fn row(&self, hash: u64) -> Option<u32> {
        if hash == EMPTY {
            return self.empty_key_row;
        }
        if self.keys.is_empty() {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut slot = self.slot(hash);
        loop {
            match self.keys[slot] {
                key if key == hash => return Some(self.rows[slot]),
                EMPTY => return None,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn ratios(&self, row: u32) -> &[f32] {
        let start = row as usize * self.width;
        &self.ratios[start..start + self.width]
    }
}

/// What the model reads of one item: the features it knows, each once.
pub(crate) struct Reading<'w, 't> {
    weights: &'w Weights,
    text: &'t str,
    /// Hash, where its text is in `text`, row: in hash order.
    known: Vec<(u64, Range<usize>, u32)>,
}

/// What the model says of one item for one newsletter.
pub(crate) struct Opinion<'r> {
    /// Natural log of the odds that the item belongs.
    pub(crate) log_odds: f32,
    /// The newsletter's place in the config.
    newsletter: usize,
    reading: &'r Reading<'r, 'r>,
}

impl Opinion<'_> {
    /// The item's words that weighed most for the opinion, strongest
    /// first: computed only for the opinions that are shown.
    pub(crate) fn terms(&self) -> Vec<&str> {
        let sign = self.log_odds.signum();
        let i = self.newsletter;
        let reading = self.reading;
        strongest(reading.known.iter().map(|(_, range, row)| {
            (
                &reading.text[range.clone()],
                reading.weights.table.ratios(*row)[i] * sign,
            )
        }))
    }
}

/// How many words `--explain` shows per opinion.
const TERMS_SHOWN: usize = 3;

impl Weights {
    /// Whether the model has no opinion of anything (the rules alone).
    pub(crate) fn is_empty(&self) -> bool {
        self.prior.iter().all(Option::is_none)
    }

    /// Reads `text` (the item's title, a newline and its body, lowercased)
    /// and `kind`: the features the model knows, in one pass.
    pub(crate) fn read<'w, 't>(&'w self, text: &'t str, kind: Kind) -> Reading<'w, 't> {
        let mut known = Vec::with_capacity(64);
        features::each(text, kind, |hash, range| {
            if let Some(row) = self.table.row(hash) {
                known.push((hash, range, row));
            }
        });
        // Each known feature counts once.
        known.sort_unstable_by_key(|(hash, _, _)| *hash);
        known.dedup_by_key(|(hash, _, _)| *hash);
        Reading {
            weights: self,
            text,
            known,
        }
    }
}

impl<'w, 't> Reading<'w, 't> {
    /// The model's opinion that the item belongs in no newsletter; `None`
    /// where it has none (a model stored before it learned this).
    pub(crate) fn off_topic(&self) -> Option<Opinion<'_>> {
        self.opinion(self.weights.prior.len().checked_sub(1)?)
    }

    /// The model's opinion of the item for the newsletter `i` of the
    /// config; `None` where it has none.
    pub(crate) fn opinion(&self, i: usize) -> Option<Opinion<'_>> {
        let prior = (*self.weights.prior.get(i)?)?;
        let table = &self.weights.table;
        let log_odds = prior
            + self
                .known
                .iter()
                .map(|(_, _, row)| table.ratios(*row)[i])
                .sum::<f32>();
        Some(Opinion {
            log_odds,
            newsletter: i,
            reading: self,
        })
    }
}

/// The [`TERMS_SHOWN`] texts of the largest positive weights, largest
/// first (ties by text): one pass, no sort of them all.
fn strongest<'f>(weighed: impl Iterator<Item = (&'f str, f32)>) -> Vec<&'f str> {
    let mut top: Vec<(&str, f32)> = Vec::with_capacity(TERMS_SHOWN + 1);
    for (text, weight) in weighed {
        if text.is_empty() || weight <= 0.0 {
            continue;
        }
        let at = top
            .iter()
            .position(|(t, w)| weight > *w || (weight == *w && text < *t))
            .unwrap_or(top.len());
        if at < TERMS_SHOWN {
            top.insert(at, (text, weight));
            top.truncate(TERMS_SHOWN);
        }
    }
    top.into_iter().map(|(text, _)| text).collect()
}

/// Features are hashes already: hashing them again is wasted time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Identity = BuildHasherDefault<IdentityHasher>;
