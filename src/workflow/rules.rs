//! The editors' lasting rules: never or always in a newsletter, for an
//! item, a source or a term. Added and removed with who and when (the
//! `rules` table keeps a removed rule's row, as their log), by `bulletin
//! rules` and the review page alike; the newsletter's drafts are rebuilt at
//! once, so what a rule takes out or brings in shows as a change.

use anyhow::{Result, bail};

use super::{Clock, candidates, knowledge, open_for_writing, refresh_draft};
use crate::config::{Config, Newsletter};
use crate::domain::{Rule, Ruling, Target};
use crate::store::{EditionState, Store};

/// Adds a rule to `newsletter`, by `by` at `clock`, saying how it came
/// (`origin`); returns it as recorded.
pub(crate) fn make_rule(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
    ruling: Ruling,
    origin: &str,
    by: &str,
    clock: Clock,
) -> Result<Rule> {
    let Ruling { stance, target } = ruling;
    check_target(config, store, &target)?;
    let id = newsletter.id.as_str();
    let number = store.add_rule(id, stance, &target, origin, by, clock.now)?;
    say!(
        "rule #{number} added: {} in {id}, {} {:?}",
        stance.as_str(),
        target.kind(),
        target.value()
    );
    rebuild_drafts(config, store, newsletter, clock)?;
    let rule = store
        .rules()?
        .into_iter()
        .find(|r| r.id == number)
        .ok_or_else(|| anyhow::anyhow!("rule #{number} vanished from the store"))?;
    Ok(rule)
}

/// `bulletin rules add` and the desk's review page: the lock, the store,
/// then [`make_rule`], saying how it came (`origin`).
pub(crate) fn add_rule(
    config: &Config,
    newsletter: &Newsletter,
    ruling: Ruling,
    origin: &str,
    by: &str,
    clock: Clock,
) -> Result<Rule> {
    let (_lock, mut store) = open_for_writing(config)?;
    make_rule(config, &mut store, newsletter, ruling, origin, by, clock)
}

/// `bulletin rules remove`: takes rule `id` back, by `by` at `clock`, and
/// rebuilds its newsletter's drafts.
pub(crate) fn remove_rule(config: &Config, id: i64, by: &str, clock: Clock) -> Result<Rule> {
    let (_lock, mut store) = open_for_writing(config)?;
    let Some(rule) = store.rules()?.into_iter().find(|r| r.id == id) else {
        bail!("there is no rule #{id} in force; `bulletin rules` lists them");
    };
    store.remove_rule(id, by, clock.now)?;
    say!("rule #{id} removed: {rule}");
    if let Ok(newsletter) = config.newsletter(&rule.newsletter) {
        rebuild_drafts(config, &mut store, newsletter, clock)?;
    }
    Ok(rule)
}

/// A rule names what exists: a stored item, a configured source, a term
/// with a letter or digit in it.
fn check_target(config: &Config, store: &Store, target: &Target) -> Result<()> {
    match target {
        Target::Item(item) if store.item(item)?.is_none() => {
            bail!("no stored item {item:?}; `bulletin items` lists the items and their ids")
        }
        Target::Source(name) if !config.sources.iter().any(|s| s.name() == name) => {
            let names: Vec<&str> = config.sources.iter().map(|s| s.name()).collect();
            bail!(
                "no source is named {name:?}; expected one of: {}",
                names.join(", ")
            )
        }
        Target::Term(term) if !term.chars().any(char::is_alphanumeric) => {
            bail!("a term needs a letter or a digit: {term:?}")
        }
        _ => Ok(()),
    }
}

/// Rebuilds every draft of `newsletter` with the rules as they are now.
fn rebuild_drafts(config: &Config, store: &mut Store, newsletter: &Newsletter, clock: Clock) -> Result<()> {
    let knowledge = knowledge(config, store)?;
    let drafts: Vec<_> = store
        .editions(Some(newsletter.id.as_str()))?
        .into_iter()
        .filter(|e| e.state == EditionState::Draft)
        .collect();
    for record in &drafts {
        let items = candidates(config, store, &knowledge, &[newsletter], record.date)?;
        refresh_draft(config, store, newsletter, record, &items, &knowledge, clock)?;
    }
    Ok(())
}
