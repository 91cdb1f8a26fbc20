//! How well classification agrees with an editor: labelled items
//! classified, compared with their labels newsletter by newsletter.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::model::{Example, Model, Weights};
use super::{Classified, Classifier};
use crate::config::Config;

/// The figures of one evaluation.
#[derive(Debug)]
pub(crate) struct Evaluation {
    /// The newsletters, in the config's order.
    pub(crate) newsletters: Vec<Figures>,
    /// `confusion[i][j]`: items labelled with newsletter `i` that were
    /// placed in `j`; the last row and column are "no newsletter".
    pub(crate) confusion: Vec<Vec<usize>>,
    /// Items whose newsletters are exactly their labels.
    pub(crate) correct: usize,
    pub(crate) total: usize,
    /// The items that went wrong, with the reasons of each placement.
    pub(crate) wrong: Vec<Wrong>,
}

/// One newsletter's counts and scores.
#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    pub(crate) id: String,
    pub(crate) true_positives: usize,
    pub(crate) false_positives: usize,
    pub(crate) false_negatives: usize,
    pub(crate) precision: f64,
    pub(crate) recall: f64,
    pub(crate) f1: f64,
}

/// An item placed differently from its labels.
#[derive(Debug, Serialize)]
pub(crate) struct Wrong {
    pub(crate) title: String,
    pub(crate) expected: Vec<String>,
    pub(crate) placed: Vec<String>,
    /// `newsletter: reason; reason` for each newsletter that scored it.
    pub(crate) reasons: Vec<String>,
}

impl Evaluation {
    /// The share of items placed exactly as labelled, 0 to 1.
    pub(crate) fn accuracy(&self) -> f64 {
        ratio(self.correct, self.total)
    }
}

/// "No newsletter" in the confusion: not a newsletter id, which has no brackets.
const NONE: &str = "(none)";

/// `--format json`: the figures the text shows, as one object (see README,
/// "Classification").
impl Serialize for Evaluation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            newsletters: &'a [Figures],
            accuracy: f64,
            correct: usize,
            total: usize,
            confusion: Confusion<'a>,
            wrong: &'a [Wrong],
        }
        Json {
            newsletters: &self.newsletters,
            accuracy: self.accuracy(),
            correct: self.correct,
            total: self.total,
            confusion: Confusion(self),
            wrong: &self.wrong,
        }
        .serialize(serializer)
    }
}

/// The confusion as one object per labelled newsletter, `(none)` last:
/// `{"labelled": ID, "placed": {ID: count, …, "(none)": count}}`.
struct Confusion<'a>(&'a Evaluation);

impl Serialize for Confusion<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [&'a str], &'a [usize]);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (name, count) in self.0.iter().zip(self.1) {
                    map.serialize_entry(name, count)?;
                }
                map.end()
            }
        }
        #[derive(Serialize)]
        struct Labelled<'a> {
            labelled: &'a str,
            placed: Row<'a>,
        }
        let names: Vec<&str> = self
            .0
            .newsletters
            .iter()
            .map(|n| n.id.as_str())
            .chain([NONE])
            .collect();
        let mut rows = serializer.serialize_seq(Some(names.len()))?;
        for (name, row) in names.iter().zip(&self.0.confusion) {
            rows.serialize_element(&Labelled {
                labelled: name,
                placed: Row(&names, row),
            })?;
        }
        rows.end()
    }
}

#[allow(clippy::cast_precision_loss, reason = "counts of items are far below 2^52")]
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Classifies `examples` with the rules and `weights`, and compares.
pub(crate) fn evaluate(config: &Config, weights: &Weights, examples: &[Example]) -> Evaluation {
    let classifier = Classifier::new(config, weights, &[]);
    let judged: Vec<(&Example, Classified)> = examples
        .iter()
        .map(|e| (e, classifier.classify(e.item.clone())))
        .collect();
    compare(config, &judged)
}

/// K-fold cross-validation: item `i` is in fold `i % folds`; each fold is
/// classified by a model trained on the other folds only (or by the rules
/// alone, without `model`), and all the folds are compared together.
pub(crate) fn cross_validate(config: &Config, examples: &[Example], folds: usize, model: bool) -> Evaluation {
    let folds = folds.max(2);
    let mut judged = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let mut trained = Model::default();
        if model {
            let others = examples.iter().enumerate().filter(|(i, _)| i % folds != fold);
            trained.learn(config, others.map(|(_, e)| e));
        }
        let weights = trained.weights(config);
        let classifier = Classifier::new(config, &weights, &[]);
        for (_, example) in examples.iter().enumerate().filter(|(i, _)| i % folds == fold) {
            judged.push((example, classifier.classify(example.item.clone())));
        }
    }
    compare(config, &judged)
}

pub(super) fn compare(config: &Config, judged: &[(&Example, Classified)]) -> Evaluation {
    let ids: Vec<&str> = config.newsletters.iter().map(|n| n.id.as_str()).collect();
    let none = ids.len();
    let mut counts = vec![[0usize; 3]; ids.len()];
    let mut confusion = vec![vec![0; ids.len() + 1]; ids.len() + 1];
    let mut correct = 0;
    let mut wrong = Vec::new();
    for (example, classified) in judged {
        let expected: Vec<usize> = (0..ids.len())
            .filter(|&i| example.labels.iter().any(|l| l == ids[i]))
            .collect();
        let placed: Vec<usize> = (0..ids.len())
            .filter(|&i| classified.section_in(ids[i]).is_some())
            .collect();
        for (i, count) in counts.iter_mut().enumerate() {
            match (expected.contains(&i), placed.contains(&i)) {
                (true, true) => count[0] += 1,
                (false, true) => count[1] += 1,
                (true, false) => count[2] += 1,
                (false, false) => {}
            }
        }
        let rows = if expected.is_empty() {
            vec![none]
        } else {
            expected.clone()
        };
        let columns = if placed.is_empty() {
            vec![none]
        } else {
            placed.clone()
        };
        for &row in &rows {
            for &column in &columns {
                confusion[row][column] += 1;
            }
        }
        if expected == placed {
            correct += 1;
        } else {
            let names = |set: &[usize]| set.iter().map(|&i| ids[i].to_string()).collect();
            wrong.push(Wrong {
                title: classified.item.title.clone(),
                expected: names(&expected),
                placed: names(&placed),
                reasons: classified
                    .verdicts
                    .iter()
                    .map(|v| format!("{}: {}", v.newsletter, v.reasons.join("; ")))
                    .collect(),
            });
        }
    }
    let newsletters = ids
        .iter()
        .zip(counts)
        .map(|(id, [tp, fp, fn_])| {
            let precision = ratio(tp, tp + fp);
            let recall = ratio(tp, tp + fn_);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            Figures {
                id: (*id).to_string(),
                true_positives: tp,
                false_positives: fp,
                false_negatives: fn_,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    Evaluation {
        newsletters,
        confusion,
        correct,
        total: judged.len(),
        wrong,
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>9} {:>6} {:>6}  {:>4} {:>4} {:>4}",
            "NEWSLETTER", "PRECISION", "RECALL", "F1", "TP", "FP", "FN"
        )?;
        for n in &self.newsletters {
            writeln!(
                f,
                "{:<18} {:>9.3} {:>6.3} {:>6.3}  {:>4} {:>4} {:>4}",
                n.id, n.precision, n.recall, n.f1, n.true_positives, n.false_positives, n.false_negatives
            )?;
        }
        writeln!(
            f,
            "accuracy (newsletters exactly as labelled): {}/{} = {:.3}",
            self.correct,
            self.total,
            self.accuracy()
        )?;
        writeln!(f)?;
        self.write_confusion(f)?;
        if !self.wrong.is_empty() {
            writeln!(f, "\nwrong ({}):", self.wrong.len())?;
        }
        for wrong in &self.wrong {
            let list = |set: &[String]| {
                if set.is_empty() {
                    "(none)".to_string()
                } else {
                    set.join(",")
                }
            };
            writeln!(
                f,
                "  {}\n    expected {}, placed {}",
                crate::items::for_terminal(&wrong.title),
                list(&wrong.expected),
                list(&wrong.placed)
            )?;
            for reason in &wrong.reasons {
                writeln!(f, "      {}", crate::items::for_terminal(reason))?;
            }
        }
        Ok(())
    }
}

impl Evaluation {
    /// The confusion between newsletters as a table.
    pub(super) fn write_confusion(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "confusion (rows: labelled, columns: placed; - = no newsletter):"
        )?;
        let names: Vec<String> = self
            .newsletters
            .iter()
            .map(|n| n.id.clone())
            .chain(std::iter::once("-".to_string()))
            .collect();
        let short = |name: &str| name.chars().take(8).collect::<String>();
        write!(f, "{:<18}", "")?;
        for name in &names {
            write!(f, " {:>8}", short(name))?;
        }
        writeln!(f)?;
        for (name, row) in names.iter().zip(&self.confusion) {
            write!(f, "{name:<18}")?;
            for count in row {
                write!(f, " {count:>8}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
