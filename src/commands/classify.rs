//! `bulletin classify eval`: the classifier measured against labelled items.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Exit, Format};
use crate::classify::{Weights, cross_validate, evaluate, read_labelled};
use crate::config::Config;
use crate::workflow::{bundled_model, say};

/// What `bulletin classify eval` measures with.
pub struct EvalOptions {
    /// K-fold cross-validation on the file instead of the bundled model.
    pub folds: Option<usize>,
    /// The rules alone, without the model.
    pub rules_only: bool,
    /// Exit 1 when the share of items placed exactly as labelled is lower.
    pub min_accuracy: Option<f64>,
    /// The figures as a table, or as one JSON object.
    pub format: Format,
}

/// `bulletin classify eval FILE`: the labelled items of FILE classified by
/// the config's rules and the bundled model (or, with `--folds K`, a model
/// trained on the other folds of FILE), compared with their labels.
pub fn eval(config: &Config, path: &Path, options: &EvalOptions) -> Result<Exit> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let examples = read_labelled(path, &text, config, true)?;
    if examples.is_empty() {
        bail!("{}: no labelled items", path.display());
    }
    let evaluation = match options.folds {
        Some(folds) if folds < 2 || folds > examples.len() => {
            bail!(
                "--folds {folds}: expected 2 to {} (the items in the file)",
                examples.len()
            )
        }
        Some(folds) => cross_validate(config, &examples, folds, !options.rules_only),
        None if options.rules_only => evaluate(config, &Weights::default(), &examples),
        None => evaluate(config, &bundled_model(config).weights(config), &examples),
    };
    match options.format {
        Format::Table => say!("{evaluation}"),
        Format::Json => say!("{}", serde_json::to_string_pretty(&evaluation)?),
    }
    if let Some(min) = options.min_accuracy
        && evaluation.accuracy() < min
    {
        bail!(
            "accuracy {:.3} is below --min-accuracy {min}",
            evaluation.accuracy()
        );
    }
    Ok(Exit::Ok)
}
