//! Leave one author out: the figure that tells how the classifier does on
//! items written by someone it never learned from. Each labelled set (one
//! author's items) is classified by a model trained on the other sets
//! only; then, for the learning curve, by that model after it learned some
//! of the set's own items as an editor's corrections, tested on the rest.

use std::fmt;

use serde::Serialize;

use super::eval::{Evaluation, compare};
use super::model::{Example, Model};
use super::{Classified, Classifier};
use crate::config::{Audience, Config};

/// One author's labelled items.
pub(crate) struct LabelledSet {
    /// The file's name without `.jsonl`.
    pub(crate) name: String,
    pub(crate) examples: Vec<Example>,
}

/// How many of a set's items the learning curve teaches the model: the
/// items tested are those past the largest, the same for every step.
pub(crate) const CURVE_STEPS: [usize; 4] = [0, 25, 50, 100];

/// The figures of every set left out in turn.
#[derive(Serialize)]
pub(crate) struct LeaveOneOut {
    pub(crate) sets: Vec<LeftOut>,
    /// Every set's items together, each judged with its own set left out.
    pub(crate) all: Evaluation,
}

/// One set, classified by a model of the other sets.
#[derive(Serialize)]
pub(crate) struct LeftOut {
    pub(crate) name: String,
    pub(crate) evaluation: Evaluation,
    /// Titles of the items labelled with no newsletter that reached an
    /// EU-only newsletter: what must never happen.
    pub(crate) off_topic_in_eu_only: Vec<String>,
    /// `(items learned, share exactly as labelled)` for each of
    /// [`CURVE_STEPS`], on the same items.
    pub(crate) curve: Vec<(usize, f64)>,
}

/// Leaves each of `sets` out in turn; the model learns the other sets'
/// examples as they weigh, and for the curve the left-out set's first
/// items (in a fixed order of their titles' hashes, so that no batch an
/// author wrote together comes first) at `taught_weight` each, as an
/// editor's corrections count. With `rules_only`, no model at all.
pub(crate) fn leave_one_out(
    config: &Config,
    sets: &[LabelledSet],
    taught_weight: f64,
    rules_only: bool,
) -> LeaveOneOut {
    let mut left_out = Vec::with_capacity(sets.len());
    let mut all_judged: Vec<(&Example, Classified)> = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let mut model = Model::default();
        if !rules_only {
            let others = sets.iter().enumerate().filter(|(j, _)| *j != i);
            let others: Vec<&LabelledSet> = others.map(|(_, s)| s).collect();
            model.learn_common(config, || others.iter().flat_map(|s| &s.examples));
        }
        let judged = judge(config, &model, &set.examples);
        let evaluation = compare(config, &judged);
        let off_topic_in_eu_only = off_topic_in_eu_only(config, &judged);
        let curve = if rules_only {
            Vec::new()
        } else {
            curve(config, &model, &set.examples, taught_weight)
        };
        all_judged.extend(judged);
        left_out.push(LeftOut {
            name: set.name.clone(),
            evaluation,
            off_topic_in_eu_only,
            curve,
        });
    }
    LeaveOneOut {
        all: compare(config, &all_judged),
        sets: left_out,
    }
}

fn judge<'e>(config: &Config, model: &Model, examples: &'e [Example]) -> Vec<(&'e Example, Classified)> {
    let weights = model.weights(config);
    let classifier = Classifier::new(config, &weights, &[]);
    examples
        .iter()
        .map(|e| (e, classifier.classify(e.item.clone())))
        .collect()
}

fn off_topic_in_eu_only(config: &Config, judged: &[(&Example, Classified)]) -> Vec<String> {
    let eu_only: Vec<&str> = config
        .newsletters
        .iter()
        .filter(|n| n.audience == Audience::EuOrganisations)
        .map(|n| n.id.as_str())
        .collect();
    judged
        .iter()
        .filter(|(e, c)| {
            e.labels.is_empty() && c.placements().any(|v| eu_only.contains(&v.newsletter.as_str()))
        })
        .map(|(_, c)| c.item.title.clone())
        .collect()
}

/// The accuracy on the set's items past the largest step, after the model
/// learned 0, 25, 50 and 100 of the others.
fn curve(config: &Config, model: &Model, examples: &[Example], taught_weight: f64) -> Vec<(usize, f64)> {
    let largest = CURVE_STEPS[CURVE_STEPS.len() - 1];
    if examples.len() <= largest {
        return Vec::new();
    }
    let mut order: Vec<&Example> = examples.iter().collect();
    order.sort_by_key(|e| (fnv(&e.item.title), e.item.title.clone()));
    let (teach, test) = order.split_at(largest);
    let test: Vec<Example> = test.iter().map(|e| (*e).clone()).collect();
    CURVE_STEPS
        .iter()
        .map(|&n| {
            let mut taught = model.clone();
            let lessons: Vec<Example> = teach[..n]
                .iter()
                .map(|e| Example::new(e.item.clone(), e.labels.clone(), taught_weight))
                .collect();
            taught.learn(config, &lessons);
            (n, compare(config, &judge(config, &taught, &test)).accuracy())
        })
        .collect()
}

/// A stable hash of a title (FNV-1a), for an order no author chose.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl fmt::Display for LeaveOneOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.sets.first() else {
            return Ok(());
        };
        writeln!(
            f,
            "each set classified by a model of the other sets: F1 per newsletter, the share exactly as labelled,"
        )?;
        writeln!(
            f,
            "off-topic items in an EU-only newsletter, and the share exactly as labelled of the items past the"
        )?;
        writeln!(
            f,
            "{}th after learning 0, 25, 50, 100 of the set's own items\n",
            CURVE_STEPS[3]
        )?;
        write!(f, "{:<16} {:>5}", "SET", "ITEMS")?;
        for n in &first.evaluation.newsletters {
            write!(f, " {:>8}", n.id.chars().take(8).collect::<String>())?;
        }
        writeln!(f, " {:>6} {:>9}  LEARNED 0/25/50/100", "EXACT", "OFF-TOPIC")?;
        for set in &self.sets {
            row(
                f,
                &set.name,
                &set.evaluation,
                Some(set.off_topic_in_eu_only.len()),
            )?;
            let curve: Vec<String> = set.curve.iter().map(|(_, a)| format!("{a:.3}")).collect();
            writeln!(f, "  {}", curve.join(" "))?;
        }
        let off_topic: usize = self.sets.iter().map(|s| s.off_topic_in_eu_only.len()).sum();
        row(f, "all", &self.all, Some(off_topic))?;
        writeln!(f)?;
        for set in self.sets.iter().filter(|s| !s.off_topic_in_eu_only.is_empty()) {
            writeln!(f, "\noff-topic in an EU-only newsletter, {}:", set.name)?;
            for title in &set.off_topic_in_eu_only {
                writeln!(f, "  {}", crate::items::for_terminal(title))?;
            }
        }
        if let Some(worst) = self
            .sets
            .iter()
            .min_by(|a, b| a.evaluation.accuracy().total_cmp(&b.evaluation.accuracy()))
        {
            writeln!(f, "\nthe worst set, {}:", worst.name)?;
            worst.evaluation.write_confusion(f)?;
        }
        Ok(())
    }
}

fn row(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    evaluation: &Evaluation,
    off_topic: Option<usize>,
) -> fmt::Result {
    write!(f, "{name:<16} {:>5}", evaluation.total)?;
    for n in &evaluation.newsletters {
        write!(f, " {:>8.3}", n.f1)?;
    }
    write!(f, " {:>5.1}%", evaluation.accuracy() * 100.0)?;
    if let Some(count) = off_topic {
        write!(f, " {count:>9}")?;
    }
    Ok(())
}
