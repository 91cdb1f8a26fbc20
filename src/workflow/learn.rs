//! The learned model's life in the store.
//!
//! Training has no step of its own: every command that classifies stored
//! items first brings the model up to date. A store without a model starts
//! from the bundled labelled set; then it learns, each once, every add and
//! drop an editor makes (for that newsletter only, the strongest signal)
//! and, for each newsletter, every item of an approved edition: as
//! belonging where an edition of it carried the item, as not belonging
//! where none did. An item one newsletter published and another publishes
//! later is taken back from the second's "not" and learned as belonging.

use anyhow::{Context, Result};
use std::collections::{HashMap, HashSet};

use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::classify::{Classifier, Example, Model, Weights, bundled, read_labelled};
use crate::config::Config;
use crate::domain::Rule;
use crate::hex::hex;
use crate::items::Item;
use crate::store::{Carried, Membership, Store};

/// How much an item of a published edition counts, for or against each
/// newsletter, against 1 for an item of the bundled set: the editor let it
/// through.
const PUBLISHED_WEIGHT: f64 = 2.0;

/// How much an editor's add or drop counts, for or against its newsletter:
/// the strongest signal, a correction of what the classifier chose.
pub(crate) const CORRECTION_WEIGHT: f64 = 6.0;

/// One lesson learned from the store, kept as a key in `model_learned`:
/// learned once, and taken back exactly when the facts change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Lesson {
    /// From a store of the first model, which learned each published item
    /// once for all newsletters: the item, from the edition of its first
    /// newsletter (by id) that carried it.
    Item(String),
    /// The item belongs in `newsletter` (`belongs`) or does not, as learned
    /// from its row in `from`'s approved edition (which never changes).
    Published {
        newsletter: String,
        item: String,
        belongs: bool,
        from: String,
    },
    /// An editor's add or drop, by the correction's id.
    Correction(i64),
}

impl Lesson {
    /// Its key in `model_learned`. Newsletter and item ids have no spaces.
    fn key(&self) -> String {
        match self {
            Lesson::Item(item) => item.clone(),
            Lesson::Published {
                newsletter,
                item,
                belongs,
                from,
            } => {
                let side = if *belongs { "in" } else { "out" };
                format!("{side} {newsletter} {item} {from}")
            }
            Lesson::Correction(id) => format!("correction {id}"),
        }
    }

    /// The lesson a key names; `None` for a key this bulletin does not know.
    fn parse(key: &str) -> Option<Lesson> {
        let words: Vec<&str> = key.split(' ').collect();
        Some(match words[..] {
            [item] => Lesson::Item(item.to_string()),
            ["correction", id] => Lesson::Correction(id.parse().ok()?),
            [side @ ("in" | "out"), newsletter, item, from] => Lesson::Published {
                newsletter: newsletter.to_string(),
                item: item.to_string(),
                belongs: side == "in",
                from: from.to_string(),
            },
            _ => return None,
        })
    }
}

/// Where the item of a step is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Source {
    /// As an approved edition of this newsletter carries it.
    Carried { newsletter: String, item: String },
    /// As stored (an add or drop names any stored item).
    Stored(String),
}

/// One change to one newsletter's counts.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    newsletter: String,
    source: Source,
    belongs: bool,
    /// Negative to take back.
    weight: f64,
}

/// What bringing the model up to date does: the steps, and the keys of
/// the lessons learned and forgotten.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    steps: Vec<Step>,
    learned: Vec<String>,
    forgotten: Vec<String>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.learned.is_empty() && self.forgotten.is_empty()
    }

    fn learn(&mut self, lesson: &Lesson, newsletter: &str, source: Source, belongs: bool, weight: f64) {
        self.steps.push(Step {
            newsletter: newsletter.to_string(),
            source,
            belongs,
            weight,
        });
        self.learned.push(lesson.key());
    }

    /// Takes back a lesson of a published item.
    fn take_back(&mut self, lesson: &Lesson) {
        if let Lesson::Published {
            newsletter,
            item,
            belongs,
            from,
        } = lesson
        {
            self.steps.push(Step {
                newsletter: newsletter.clone(),
                source: Source::Carried {
                    newsletter: from.clone(),
                    item: item.clone(),
                },
                belongs: *belongs,
                weight: -PUBLISHED_WEIGHT,
            });
        }
        self.forgotten.push(lesson.key());
    }
}

/// Each add and drop of an editor not among the `lessons` learned yet.
fn learn_corrections(plan: &mut Plan, memberships: &[Membership], lessons: &[Lesson]) {
    let corrections: HashSet<i64> = lessons
        .iter()
        .filter_map(|l| match l {
            Lesson::Correction(id) => Some(*id),
            _ => None,
        })
        .collect();
    for m in memberships.iter().filter(|m| !corrections.contains(&m.id)) {
        let source = Source::Stored(m.item.clone());
        plan.learn(
            &Lesson::Correction(m.id),
            &m.newsletter,
            source,
            m.belongs,
            CORRECTION_WEIGHT,
        );
    }
}

/// What the model has yet to learn from the store's facts, given the keys
/// of what it has learned: each add and drop not learned yet, and for each
/// item of an approved edition and each of `newsletters`, what it says of
/// the pair where that differs from what was learned. An item an editor
/// added to an edition that was then approved is learned as the add alone
/// for that newsletter, not twice.
fn plan(
    newsletters: &[&str],
    carried: &[Carried],
    memberships: &[Membership],
    keys: &HashSet<String>,
) -> Plan {
    let mut plan = Plan::default();
    let lessons: Vec<Lesson> = keys.iter().filter_map(|k| Lesson::parse(k)).collect();
    learn_corrections(&mut plan, memberships, &lessons);
    let mut published: HashMap<(&str, &str), &Lesson> = HashMap::new();
    let mut old: HashSet<&str> = HashSet::new();
    for lesson in &lessons {
        match lesson {
            Lesson::Published { newsletter, item, .. } => {
                published.insert((newsletter.as_str(), item.as_str()), lesson);
            }
            Lesson::Item(item) => {
                old.insert(item.as_str());
            }
            Lesson::Correction(_) => {}
        }
    }
    let added: HashSet<(&str, u32, &str)> = memberships
        .iter()
        .filter(|m| m.belongs)
        .map(|m| (m.newsletter.as_str(), m.number, m.item.as_str()))
        .collect();
    for group in carried.chunk_by(|a, b| a.item == b.item) {
        let item = group[0].item.as_str();
        // `carried` is in newsletter order within an item: the first is
        // the first model's and the "not belonging"'s source.
        let first = group[0].newsletter.as_str();
        if old.contains(item) {
            plan.forgotten.push(item.to_string());
        }
        for &newsletter in newsletters {
            let carrier = group.iter().find(|c| c.newsletter == newsletter);
            let wanted = match carrier {
                Some(c) if added.contains(&(newsletter, c.number, item)) => None,
                Some(_) => Some((true, newsletter)),
                None => Some((false, first)),
            };
            let had = if old.contains(item) {
                Some(Lesson::Published {
                    newsletter: newsletter.to_string(),
                    item: item.to_string(),
                    belongs: carrier.is_some(),
                    from: first.to_string(),
                })
            } else {
                published.get(&(newsletter, item)).map(|l| (*l).clone())
            };
            let same = match (&had, wanted) {
                (Some(Lesson::Published { belongs, .. }), Some((wanted, _))) => *belongs == wanted,
                (None, None) => true,
                _ => false,
            };
            if same {
                if let Some(had) = had.filter(|_| old.contains(item)) {
                    plan.learned.push(had.key());
                }
                continue;
            }
            if let Some(had) = &had {
                plan.take_back(had);
            }
            if let Some((belongs, from)) = wanted {
                let lesson = Lesson::Published {
                    newsletter: newsletter.to_string(),
                    item: item.to_string(),
                    belongs,
                    from: from.to_string(),
                };
                let source = Source::Carried {
                    newsletter: from.to_string(),
                    item: item.to_string(),
                };
                plan.learn(&lesson, newsletter, source, belongs, PUBLISHED_WEIGHT);
            }
        }
    }
    plan
}

/// The stored model (or the bundled set's, for a store without one)
/// brought up to date, and what to store of it.
fn up_to_date(config: &Config, store: &Store) -> Result<(Model, Plan, bool)> {
    // A model of an older format is learned again, as a missing one is.
    let stored = store.model()?.filter(|bytes| !Model::is_outdated(bytes));
    let first = stored.is_none();
    let keys = store.lessons()?;
    let (mut model, learned) = match stored {
        Some(bytes) => {
            let model = Model::decode(&bytes).with_context(|| {
                format!(
                    "{}: the stored classifier model is unreadable; `DELETE FROM model` starts it again from the bundled set",
                    store.path().display()
                )
            })?;
            (model, keys.clone())
        }
        // Lessons without their model are learned again.
        None => (bundled_model(config), HashSet::new()),
    };
    let newsletters: Vec<&str> = config.newsletters.iter().map(|n| n.id.as_str()).collect();
    let mut plan = plan(&newsletters, &store.carried()?, &store.memberships()?, &learned);
    if first {
        plan.forgotten.extend(keys);
        plan.forgotten.sort();
    }
    let mut items: HashMap<Source, Option<Item>> = HashMap::new();
    for step in &plan.steps {
        if !items.contains_key(&step.source) {
            let item = match &step.source {
                Source::Carried { newsletter, item } => store.carried_item(newsletter, item)?,
                Source::Stored(item) => store.item(item)?,
            };
            items.insert(step.source.clone(), item);
        }
        // An item gone from the store has nothing left to teach.
        if let Some(item) = &items[&step.source] {
            model.learn_one(&step.newsletter, item, step.belongs, step.weight);
        }
    }
    learn_taught(config, store, &learned, &mut model, &mut plan)?;
    Ok((model, plan, first))
}

/// Each line `bulletin classify learn` kept and the model has not learned
/// yet, learned as an editor's correction: for every newsletter, belonging
/// where its labels say, not belonging elsewhere.
fn learn_taught(
    config: &Config,
    store: &Store,
    learned: &HashSet<String>,
    model: &mut Model,
    plan: &mut Plan,
) -> Result<()> {
    for (key, line) in store.taught()? {
        let lesson = format!("taught {key}");
        if learned.contains(&lesson) {
            continue;
        }
        // A label of a newsletter since removed from the config is left out.
        let examples = read_labelled(Path::new("model_taught"), &line, config, false)?;
        let lessons: Vec<Example> = examples
            .into_iter()
            .map(|e| Example::new(e.item, e.labels, CORRECTION_WEIGHT))
            .collect();
        model.learn(config, &lessons);
        plan.learned.push(lesson);
    }
    Ok(())
}

/// What `bulletin classify learn` did.
pub(crate) struct Taught {
    /// The lines kept for the first time.
    pub(crate) new: usize,
    /// All the labelled lines of the file.
    pub(crate) lines: usize,
}

/// Teaches the model the labelled items of `text` (JSON Lines, read from
/// `path`), as an editor's corrections: each line is kept in the store by a
/// hash of its JSON, so a line taught again changes nothing, and the model
/// is brought up to date and saved.
pub(crate) fn teach(
    config: &Config,
    store: &mut Store,
    path: &Path,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Taught> {
    // Every line checked first: a file with a bad line teaches nothing.
    read_labelled(path, text, config, true)?;
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let json: serde_json::Value = serde_json::from_str(line)?;
        let canonical = json.to_string();
        lines.push((hex(&Sha256::digest(canonical.as_bytes())), canonical));
    }
    let new = store.teach(&lines, at)?;
    learn(config, store)?;
    Ok(Taught {
        new,
        lines: lines.len(),
    })
}

/// The model of the bundled labelled set alone.
pub(crate) fn bundled_model(config: &Config) -> Model {
    let mut model = Model::default();
    model.learn_common(config, || bundled(config));
    model
}

/// The model's weights, learning what the editor did since it was last
/// saved, and saving it (a store without a model gets the bundled one).
pub(crate) fn learn(config: &Config, store: &mut Store) -> Result<Knowledge> {
    let (model, plan, first) = up_to_date(config, store)?;
    if first || !plan.is_empty() {
        store.save_model(&model.encode(), &plan.learned, &plan.forgotten)?;
    }
    Ok(Knowledge {
        weights: model.weights(config),
        rules: store.rules()?,
    })
}

/// What classifies for a command that only reads the store: the model up
/// to date, but not saved, and the lasting rules.
pub(crate) fn knowledge(config: &Config, store: &Store) -> Result<Knowledge> {
    Ok(Knowledge {
        weights: up_to_date(config, store)?.0.weights(config),
        rules: store.rules()?,
    })
}

/// What classifies an item beyond the config: the model's weights and the
/// editors' lasting rules.
pub(crate) struct Knowledge {
    pub(crate) weights: Weights,
    pub(crate) rules: Vec<Rule>,
}

impl Knowledge {
    pub(crate) fn classifier<'a>(&'a self, config: &'a Config) -> Classifier<'a> {
        Classifier::new(config, &self.weights, &self.rules)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, NaiveDate};

    use super::{CORRECTION_WEIGHT, PUBLISHED_WEIGHT, bundled_model, learn, up_to_date};
    use crate::classify::Model;
    use crate::config::Config;
    use crate::domain::{Correction, Placed};
    use crate::items::{Details, Draft, Item};
    use crate::store::{EditionPaths, EditionState, Store};

    fn config() -> Config {
        Config::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap()
    }

    fn item() -> Item {
        let draft = Draft {
            guid: Some("pitch".into()),
            title: "Kyushu pitch night: deep-tech founders meet corporate venture arms".into(),
            summary_html: "Founders present prototypes to venture capital teams in Fukuoka.".into(),
            ..Draft::default()
        };
        draft.into_item("Wire", Details::News, 100)
    }

    /// Records an edition of `newsletter` on 2026-11-`day` carrying the item.
    fn edition(store: &mut Store, newsletter: &str, day: u32, state: EditionState, item: &Item) -> u32 {
        let placed = Placed {
            section: "news".into(),
            featured: false,
            still_open: false,
            item: item.clone(),
        };
        let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let paths = EditionPaths {
            html: "a.html",
            text: "a.txt",
        };
        store
            .record_edition(newsletter, date, &[placed], &paths, state, DateTime::UNIX_EPOCH)
            .unwrap()
    }

    /// The bundled model with `item` learned as belonging in `newsletters`
    /// and nowhere else, as published items count.
    fn published_in(config: &Config, item: &Item, newsletters: &[&str]) -> Model {
        let mut model = bundled_model(config);
        for newsletter in &config.newsletters {
            let id = newsletter.id.as_str();
            model.learn_one(id, item, newsletters.contains(&id), PUBLISHED_WEIGHT);
        }
        model
    }

    fn stored_model(config: &Config, store: &Store) -> Model {
        up_to_date(config, store).unwrap().0
    }

    /// Issue 18, item 4: the first model kept one key per item, so an item
    /// one newsletter published and another published later was never
    /// learned for the second. Now the model is as if it had learned the
    /// item once, for both.
    #[test]
    fn an_item_published_later_in_a_second_newsletter_is_learned_for_it() {
        let config = config();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bulletin.sqlite")).unwrap();
        let item = item();
        edition(&mut store, "tech-transfer", 23, EditionState::Approved, &item);
        learn(&config, &mut store).unwrap();
        assert_eq!(
            stored_model(&config, &store),
            published_in(&config, &item, &["tech-transfer"])
        );
        edition(&mut store, "industry-policy", 30, EditionState::Approved, &item);
        learn(&config, &mut store).unwrap();
        let both = published_in(&config, &item, &["industry-policy", "tech-transfer"]);
        assert_eq!(stored_model(&config, &store), both);
        assert_eq!(store.model().unwrap(), Some(both.encode()), "stored as such");
        learn(&config, &mut store).unwrap();
        assert_eq!(stored_model(&config, &store), both, "and learned once");
    }

    /// A store saved by a bulletin whose features hashed otherwise (the
    /// first format) is not refused as unreadable: its model is learned
    /// again from the bundled set and every lesson, as a missing one is.
    #[test]
    fn a_model_of_an_older_format_is_learned_again() {
        let config = config();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bulletin.sqlite")).unwrap();
        let item = item();
        edition(&mut store, "tech-transfer", 23, EditionState::Approved, &item);
        learn(&config, &mut store).unwrap();
        let lessons: Vec<String> = store.lessons().unwrap().into_iter().collect();
        let mut old = b"bulletin-nb-1\n".to_vec();
        old.extend_from_slice(&0u64.to_le_bytes());
        store.save_model(&old, &lessons, &[]).unwrap();
        learn(&config, &mut store).unwrap();
        let expected = published_in(&config, &item, &["tech-transfer"]);
        assert_eq!(store.model().unwrap(), Some(expected.encode()));
    }

    /// An add counts for its newsletter alone, at once (the draft is not
    /// approved yet); its edition approved, the item is not counted again
    /// for that newsletter, only as not belonging in the others. A drop
    /// counts against its newsletter alone.
    #[test]
    fn an_add_counts_once_for_its_newsletter_and_a_drop_against_its_own() {
        let config = config();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bulletin.sqlite")).unwrap();
        let item = item();
        store
            .save_fetch(DateTime::UNIX_EPOCH, |record| {
                record.add(item.clone());
                Vec::new()
            })
            .unwrap();
        let number = edition(&mut store, "tech-transfer", 23, EditionState::Draft, &item);
        let add = Correction::Add {
            item: item.id.clone(),
            section: None,
        };
        store
            .add_correction("tech-transfer", number, &add, "editor", DateTime::UNIX_EPOCH)
            .unwrap();
        let mut expected = bundled_model(&config);
        expected.learn_one("tech-transfer", &item, true, CORRECTION_WEIGHT);
        learn(&config, &mut store).unwrap();
        assert_eq!(stored_model(&config, &store), expected);

        store
            .approve("tech-transfer", number, "editor", DateTime::UNIX_EPOCH)
            .unwrap();
        learn(&config, &mut store).unwrap();
        for newsletter in config.newsletters.iter().filter(|n| n.id != "tech-transfer") {
            expected.learn_one(newsletter.id.as_str(), &item, false, PUBLISHED_WEIGHT);
        }
        assert_eq!(stored_model(&config, &store), expected);

        let draft = edition(&mut store, "industry-policy", 30, EditionState::Draft, &item);
        let drop = Correction::Drop {
            item: item.id.clone(),
        };
        store
            .add_correction("industry-policy", draft, &drop, "editor", DateTime::UNIX_EPOCH)
            .unwrap();
        learn(&config, &mut store).unwrap();
        expected.learn_one("industry-policy", &item, false, CORRECTION_WEIGHT);
        assert_eq!(stored_model(&config, &store), expected);
    }
}
