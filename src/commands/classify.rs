//! The learned model's life in the store, and `bulletin classify eval`.
//!
//! Training has no step of its own: every command that classifies stored
//! items first brings the model up to date. A store without a model starts
//! from the bundled labelled set; then each item of a published edition is
//! learned once, labelled with the newsletters whose editions carried it.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::Exit;
use crate::classify::{Example, Model, Weights, bundled, cross_validate, evaluate, read_labelled};
use crate::config::Config;
use crate::store::Store;

/// How much an item of a published edition counts, against 1 for an item
/// of the bundled set: the editor let it through.
const PUBLISHED_WEIGHT: f64 = 2.0;

/// The stored model (or the bundled set's, for a store without one) with
/// the published items not learned yet added, and the ids of those items.
fn up_to_date(config: &Config, store: &Store) -> Result<(Model, Vec<String>)> {
    let mut model = match store.model()? {
        Some(bytes) => Model::decode(&bytes).with_context(|| {
            format!(
                "{}: the stored classifier model is unreadable; `DELETE FROM model` starts it again from the bundled set",
                store.path().display()
            )
        })?,
        None => bundled_model(config),
    };
    let published = store.unlearned_published()?;
    let ids = published.iter().map(|p| p.item.id.clone()).collect();
    let examples: Vec<Example> = published
        .into_iter()
        .map(|p| Example::new(p.item, p.newsletters, PUBLISHED_WEIGHT))
        .collect();
    model.learn(config, &examples);
    Ok((model, ids))
}

/// The model of the bundled labelled set alone.
fn bundled_model(config: &Config) -> Model {
    let mut model = Model::default();
    model.learn(config, &bundled(config));
    model
}

/// The model's weights, learning what was published since it was last
/// saved, and saving it (a store without a model gets the bundled one).
pub(crate) fn learn(config: &Config, store: &mut Store) -> Result<Weights> {
    let first = store.model()?.is_none();
    let (model, learned) = up_to_date(config, store)?;
    if first || !learned.is_empty() {
        store.save_model(&model.encode(), &learned)?;
    }
    Ok(model.weights(config))
}

/// The model's weights for a command that only reads the store: up to
/// date, but not saved.
pub(crate) fn weights(config: &Config, store: &Store) -> Result<Weights> {
    Ok(up_to_date(config, store)?.0.weights(config))
}

/// What `bulletin classify eval` measures with.
pub struct EvalOptions {
    /// K-fold cross-validation on the file instead of the bundled model.
    pub folds: Option<usize>,
    /// The rules alone, without the model.
    pub rules_only: bool,
    /// Exit 1 when the share of items placed exactly as labelled is lower.
    pub min_accuracy: Option<f64>,
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
    say!("{evaluation}");
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
