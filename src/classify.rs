//! The classify stage: which newsletters, and which section of each, an item
//! belongs to, by the rules in the config. Every decision keeps its reasons,
//! so `bulletin items --explain` can show why an item landed where it did.

use serde::Serialize;

use crate::config::{Config, Newsletter, Source};
use crate::items::Item;

/// Why an item did or did not join one newsletter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub newsletter: String,
    /// The section it joined; `None` when it stays out.
    pub section: Option<String>,
    pub score: f32,
    /// One line per rule that counted, e.g. `title has "tender" (+4)`.
    pub reasons: Vec<String>,
}

/// An item with its verdicts, one per newsletter that scored it.
#[derive(Debug, Clone, Serialize)]
pub struct Classified {
    #[serde(flatten)]
    pub item: Item,
    /// Every newsletter where a rule counted, placed or not.
    pub verdicts: Vec<Verdict>,
}

impl Classified {
    /// The verdicts that placed the item in a newsletter.
    pub fn placements(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.section.is_some())
    }

    pub fn is_placed(&self) -> bool {
        self.placements().next().is_some()
    }

    pub fn section_in(&self, newsletter: &str) -> Option<&str> {
        self.placements()
            .find(|v| v.newsletter == newsletter)
            .and_then(|v| v.section.as_deref())
    }
}

/// Classifies every item against every newsletter.
pub fn classify(config: &Config, items: Vec<Item>) -> Vec<Classified> {
    items
        .into_iter()
        .map(|item| {
            let source = config.sources.iter().find(|s| s.name() == item.source);
            let verdicts = config
                .newsletters
                .iter()
                .filter_map(|newsletter| judge(config, newsletter, source, &item))
                .collect();
            Classified { item, verdicts }
        })
        .collect()
}

/// Lowercased title and body, for matching terms case-insensitively.
struct Haystack {
    title: String,
    body: String,
}

impl Haystack {
    fn new(item: &Item) -> Haystack {
        Haystack {
            title: item.title.to_lowercase(),
            body: format!("{}\n{}", item.summary_text, item.categories.join("\n")).to_lowercase(),
        }
    }
}

fn judge(config: &Config, newsletter: &Newsletter, source: Option<&Source>, item: &Item) -> Option<Verdict> {
    let id = newsletter.id.get_ref();
    let threshold = newsletter.threshold.unwrap_or(config.classify.threshold);
    let haystack = Haystack::new(item);
    let mut score = 0.0;
    let mut reasons = Vec::new();
    let mut add = |points: f32, reason: String| {
        score += points;
        reasons.push(format!("{reason} (+{points})"));
    };
    if let Some(source) = source.filter(|s| s.newsletters.iter().any(|n| n.get_ref() == id)) {
        add(
            source.weight.unwrap_or(threshold),
            format!("source {:?} feeds {id}", source.name()),
        );
    }
    if let Some(&points) = newsletter.kinds.get(&item.kind()) {
        add(points, format!("kind is {}", item.kind().as_str()));
    }
    for keywords in &newsletter.keywords {
        for term in &keywords.terms {
            let needle = term.to_lowercase();
            if contains_term(&haystack.title, &needle) {
                add(
                    keywords.weight * config.classify.title_weight,
                    format!("title has {term:?}"),
                );
            } else if contains_term(&haystack.body, &needle) {
                add(keywords.weight, format!("text has {term:?}"));
            }
        }
    }
    let excluded = newsletter.exclude.iter().find(|term| {
        let needle = term.to_lowercase();
        contains_term(&haystack.title, &needle) || contains_term(&haystack.body, &needle)
    });
    let section = match excluded {
        Some(term) => {
            reasons.push(format!("excluded: has {term:?}"));
            None
        }
        None if score < threshold => {
            if score == 0.0 {
                return None;
            }
            reasons.push(format!("below the threshold of {threshold}"));
            None
        }
        None => match newsletter.section_for(item.kind()) {
            Some(section) => Some(section.id.clone()),
            None => {
                reasons.push(format!("no section takes a {}", item.kind().as_str()));
                None
            }
        },
    };
    Some(Verdict {
        newsletter: id.clone(),
        section,
        score,
        reasons,
    })
}

/// Whole-word match for terms in Latin script ("AI" is not in "said", but is
/// in "AI技術"); plain substring for others, since Japanese has no spaces.
fn contains_term(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    if !needle.chars().any(|c| c.is_ascii_alphanumeric()) {
        return haystack.contains(needle);
    }
    haystack.match_indices(needle).any(|(start, _)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + needle.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// A letter or digit of an alphabetic script, below the CJK blocks.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) < 0x2E80
}

#[cfg(test)]
mod tests {
    use super::contains_term;

    #[test]
    fn latin_terms_match_whole_words() {
        assert!(contains_term("japan's ai strategy", "ai"));
        assert!(!contains_term("the minister said", "ai"));
        assert!(contains_term("eu-japan epa, in force", "epa"));
        assert!(contains_term("new r&d centre", "r&d"));
    }

    #[test]
    fn japanese_terms_match_inside_text() {
        assert!(contains_term("経済産業省は半導体の支援策を発表した", "半導体"));
        assert!(contains_term("デジタル庁とエストニア", "デジタル庁"));
        assert!(contains_term("生成ai技術の開発", "ai"));
    }
}
