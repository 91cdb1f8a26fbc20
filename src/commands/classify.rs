//! `bulletin classify eval`: the classifier measured against labelled items.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Exit, Format};
use crate::classify::{LabelledSet, Weights, cross_validate, evaluate, leave_one_out, read_labelled};
use crate::config::Config;
use crate::store::Store;
use crate::workflow::{self, CORRECTION_WEIGHT, Clock, bundled_model, count, say};

/// What `bulletin classify eval` measures with.
pub struct EvalOptions {
    /// K-fold cross-validation on the file instead of the bundled model.
    pub folds: Option<usize>,
    /// The rules alone, without the model.
    pub rules_only: bool,
    /// The bundled model alone, not the store's (bundled + learned + corrections).
    pub bundled: bool,
    /// Exit 1 when the share of items placed exactly as labelled is lower.
    pub min_accuracy: Option<f64>,
    /// The figures as a table, or as one JSON object.
    pub format: Format,
}

/// `bulletin classify eval FILE`: the labelled items of FILE classified by
/// the config's rules and the model `run` uses: the store's, up to date
/// (the bundled one with `--bundled`, or for a project without a store);
/// or, with `--folds K`, a model trained on the other folds of FILE.
/// Compared with their labels.
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
        None if options.bundled => evaluate(config, &bundled_model(config).weights(config), &examples),
        None => {
            let store = Store::open_read_only(&config.store_path())?;
            evaluate(config, &workflow::knowledge(config, &store)?.weights, &examples)
        }
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

/// `bulletin classify eval --leave-one-out DIR`: each `*.jsonl` of DIR (one
/// author's items) classified by a model trained on the others only, with
/// the learning curve of each; exit 1 under `--min-accuracy` when the
/// items of all the sets together fall below it.
pub fn eval_leave_one_out(config: &Config, dir: &Path, options: &EvalOptions) -> Result<Exit> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the folder", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    if paths.len() < 2 {
        bail!(
            "{}: leaving one set out needs two or more *.jsonl files",
            dir.display()
        );
    }
    let mut sets = Vec::with_capacity(paths.len());
    for path in &paths {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let examples = read_labelled(path, &text, config, true)?;
        if examples.is_empty() {
            bail!("{}: no labelled items", path.display());
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        sets.push(LabelledSet { name, examples });
    }
    let figures = leave_one_out(config, &sets, CORRECTION_WEIGHT, options.rules_only);
    match options.format {
        Format::Table => say!("{figures}"),
        Format::Json => say!("{}", serde_json::to_string_pretty(&figures)?),
    }
    if let Some(min) = options.min_accuracy
        && figures.all.accuracy() < min
    {
        bail!(
            "accuracy {:.3} is below --min-accuracy {min}",
            figures.all.accuracy()
        );
    }
    Ok(Exit::Ok)
}

/// `bulletin classify learn FILE`: the labelled items of FILE taught to the
/// store's model as the editor's own corrections, each line once.
pub fn learn(config: &Config, path: &Path, clock: Clock) -> Result<Exit> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let (_lock, mut store) = workflow::open_for_writing(config)?;
    let taught = workflow::teach(config, &mut store, path, &text, clock.now)?;
    say!(
        "{}: learned {}, {} already learned",
        path.display(),
        count(taught.new, "new item"),
        taught.lines - taught.new
    );
    Ok(Exit::Ok)
}
