//! Labelled items in JSON Lines, one item a line (see README, "Labelled
//! items"): what the bundled model learns from and what `bulletin classify
//! eval` measures with.
//!
//! ```json
//! {"title": "…", "summary": "…", "source": "JETRO", "kind": "news", "labels": ["about-japan"]}
//! ```
//!
//! `summary`, `source` and `kind` (default `news`) are optional, as are a
//! tender's `entity`, `reference` and `deadline` and an event's `start`,
//! `end` and `place`; `labels` (the newsletters an editor would choose,
//! possibly none) is required.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use super::model::Example;
use crate::config::Config;
use crate::items::{Details, Draft, Item, Kind, escape_html};

/// Each path with its text, compiled in.
macro_rules! compiled {
    ($($path:literal),* $(,)?) => {
        [$(($path, include_str!(concat!("../../", $path)))),*]
    };
}

/// The bundled labelled sets, by path: the model a fresh store starts
/// from. Twenty-seven independent authors' sets (`data/labelled/authors/README.md`)
/// and the first, one script's (`make.py`), each item counting once: the
/// script's is a twenty-third of the whole, too little to teach one author's
/// way of writing as the way items are written. Every file of the authors'
/// folder is here (a test checks it): each author more carries across
/// authors (the first five sets left out one at a time: 68.8% exactly as
/// labelled with the model of the other four, 74.4% with the other ten;
/// docs/classification.md).
const BUNDLED: [(&str, &str); 28] = compiled![
    "data/labelled/train.jsonl",
    "data/labelled/authors/agri-food.jsonl",
    "data/labelled/authors/business-wire.jsonl",
    "data/labelled/authors/chamber.jsonl",
    "data/labelled/authors/city-hall.jsonl",
    "data/labelled/authors/consultancy-blog.jsonl",
    "data/labelled/authors/culture-blog.jsonl",
    "data/labelled/authors/customs-logistics.jsonl",
    "data/labelled/authors/energy-trade.jsonl",
    "data/labelled/authors/eu-delegation.jsonl",
    "data/labelled/authors/export-agency.jsonl",
    "data/labelled/authors/invest-office.jsonl",
    "data/labelled/authors/jetro-japanese.jsonl",
    "data/labelled/authors/law-firm.jsonl",
    "data/labelled/authors/markets-wire.jsonl",
    "data/labelled/authors/ministry.jsonl",
    "data/labelled/authors/newspaper.jsonl",
    "data/labelled/authors/pharma-health.jsonl",
    "data/labelled/authors/policy-newsletter.jsonl",
    "data/labelled/authors/prefecture.jsonl",
    "data/labelled/authors/procurement.jsonl",
    "data/labelled/authors/research-funding.jsonl",
    "data/labelled/authors/sme-portal.jsonl",
    "data/labelled/authors/startup-news.jsonl",
    "data/labelled/authors/tech-media.jsonl",
    "data/labelled/authors/trade-analyst.jsonl",
    "data/labelled/authors/trade-fairs.jsonl",
    "data/labelled/authors/university.jsonl",
];

/// A line that is not a labelled item.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub(crate) struct LabelledError {
    path: String,
    line: usize,
    message: String,
}

/// One line as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    kind: Option<Kind>,
    entity: Option<String>,
    reference: Option<String>,
    deadline: Option<NaiveDate>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    place: Option<String>,
    labels: Vec<String>,
}

/// The date an event or a tender without one is given: none of the
/// classifier's rules reads it.
fn undated() -> NaiveDate {
    NaiveDate::default()
}

impl Record {
    /// The item as a source would give it; `line` makes its id unique.
    fn into_item(self, line: usize) -> Item {
        let details = match self.kind.unwrap_or(Kind::News) {
            Kind::Event => Details::Event {
                start: self.start.unwrap_or_else(undated),
                end: self.end.or(self.start).unwrap_or_else(undated),
                place: self.place.unwrap_or_default(),
            },
            Kind::Tender => Details::Tender {
                entity: self.entity.unwrap_or_default(),
                reference: self.reference.unwrap_or_default(),
                deadline: self.deadline.unwrap_or_else(undated),
            },
            Kind::News => Details::News,
            Kind::Report => Details::Report,
            Kind::PressReview => Details::PressReview,
        };
        let draft = Draft {
            guid: Some(format!("labelled:{line}")),
            title: self.title,
            summary_html: escape_html(&self.summary),
            ..Draft::default()
        };
        draft.into_item(&self.source, details, 100)
    }
}

/// The labelled items of `text` (JSON Lines), each weighing 1. A label
/// that names no newsletter of `config` is an error when `strict`, and
/// ignored otherwise (the bundled set names the bundled newsletters).
pub(crate) fn read(
    path: &Path,
    text: &str,
    config: &Config,
    strict: bool,
) -> Result<Vec<Example>, LabelledError> {
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let error = |message: String| LabelledError {
            path: path.display().to_string(),
            line: i + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|e| error(e.to_string()))?;
        let mut labels = Vec::with_capacity(record.labels.len());
        for label in &record.labels {
            match config.newsletter(label) {
                Ok(_) => labels.push(label.clone()),
                Err(unknown) if strict => return Err(error(format!("labels: {unknown}"))),
                Err(_) => {}
            }
        }
        examples.push(Example::new(record.into_item(i + 1), labels, 1.0));
    }
    Ok(examples)
}

/// The bundled labelled set, for `config`'s newsletters, read a file at a
/// time as it is iterated: the whole set at once is some 15 MB.
pub fn bundled(config: &Config) -> impl Iterator<Item = Example> + '_ {
    // The bundled files are checked by a test: they always read.
    BUNDLED
        .iter()
        .flat_map(|(path, text)| read(Path::new(path), text, config, false).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{BUNDLED, read};
    use crate::config::Config;

    #[test]
    fn the_bundled_set_reads_and_names_only_the_bundled_newsletters() {
        let config = Config::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap();
        let mut examples = Vec::new();
        for (path, text) in BUNDLED {
            examples.extend(read(Path::new(path), text, &config, true).unwrap());
        }
        assert!(examples.len() >= 2_000, "{}", examples.len());
        for newsletter in &config.newsletters {
            let labelled = examples
                .iter()
                .filter(|e| e.labels.iter().any(|l| newsletter.id == *l));
            assert!(labelled.count() >= 40, "{}", newsletter.id);
        }
        assert!(examples.iter().filter(|e| e.labels.is_empty()).count() >= 40);
    }

    #[test]
    fn every_authors_set_is_bundled() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/labelled/authors");
        for entry in std::fs::read_dir(folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".jsonl") {
                let path = format!("data/labelled/authors/{name}");
                assert!(
                    BUNDLED.iter().any(|(p, _)| *p == path),
                    "{path} is not in BUNDLED"
                );
            }
        }
    }
}
