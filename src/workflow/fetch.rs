//! Fetching: every source into the store, with a line per source (what
//! `bulletin fetch` does, and `bulletin run` first).

use std::collections::HashMap;

use anyhow::Result;

use super::{Clock, open_for_writing};
use crate::config::Config;
use crate::domain::{Outcome, SourceReport};
use crate::sources::{Network, read_sources};
use crate::store::{SavedFetch, Store, Upsert};

/// `bulletin fetch`: every source into the store, under the lock.
pub(crate) fn fetch(config: &Config, clock: Clock) -> Result<Vec<SourceReport>> {
    let (_lock, mut store) = open_for_writing(config)?;
    fetch_into(config, &mut store, clock)
}

/// Ingests every source into the store and prints the summary table.
pub(crate) fn fetch_into(config: &Config, store: &mut Store, clock: Clock) -> Result<Vec<SourceReport>> {
    let known = store.validators()?;
    let saved = store.save_fetch(clock.now, |record| {
        let mut reports = Vec::new();
        read_sources(config, Network::Fetch(clock.now), &known, |report, items| {
            items.into_iter().for_each(|item| record.add(item));
            reports.push(report);
        });
        reports
    })?;
    let tally = tally(&saved);
    say!(
        "{:<32} {:>5} {:>5} {:>7} {:>9} {:>6}  STATUS",
        "SOURCE",
        "ITEMS",
        "NEW",
        "UPDATED",
        "UNCHANGED",
        "MERGED"
    );
    for report in &saved.reports {
        let [new, updated, unchanged, merged] = tally.get(report.name.as_str()).copied().unwrap_or_default();
        let (items, status) = match &report.outcome {
            Outcome::Read {
                items,
                errors,
                warnings,
                ..
            } if errors.is_empty() => (items.to_string(), ok_status(warnings)),
            Outcome::Read { items, errors, .. } => {
                (items.to_string(), format!("{} file(s) failed", errors.len()))
            }
            Outcome::NotModified => ("-".into(), "not modified".into()),
            Outcome::Failed(reason) => ("-".into(), format!("failed: {reason}")),
        };
        say!(
            "{:<32} {items:>5} {new:>5} {updated:>7} {unchanged:>9} {merged:>6}  {status}",
            report.name
        );
    }
    for report in &saved.reports {
        for error in report.errors() {
            warning!("warning: source {:?} failed: {error}", report.name);
        }
        for warning in report.warnings() {
            warning!("warning: source {:?}: {warning}", report.name);
        }
    }
    let count = |kind: Upsert| saved.items.iter().filter(|i| i.outcome == kind).count();
    // Said only when there are some, as most fetches merge nothing.
    let merged = match saved.merged.len() {
        0 => String::new(),
        1 => ", 1 merged as a duplicate".to_string(),
        n => format!(", {n} merged as duplicates"),
    };
    say!(
        "{} new, {} updated, {} unchanged{merged}; {} of {} sources not modified",
        count(Upsert::New),
        count(Upsert::Updated),
        count(Upsert::Unchanged),
        saved
            .reports
            .iter()
            .filter(|r| r.outcome == Outcome::NotModified)
            .count(),
        saved.reports.len()
    );
    Ok(saved.reports)
}

/// Per source: its items stored as new, updated and unchanged, and those
/// merged as duplicates into a story kept before (from it or from a source
/// above it). They add up to the items it gave.
fn tally(saved: &SavedFetch) -> HashMap<&str, [usize; 4]> {
    let mut tally: HashMap<&str, [usize; 4]> = HashMap::new();
    let outcomes = saved.items.iter().map(|item| {
        let index = match item.outcome {
            Upsert::New => 0,
            Upsert::Updated => 1,
            Upsert::Unchanged => 2,
        };
        (item.source.as_str(), index)
    });
    let merged = saved.merged.iter().map(|source| (source.as_str(), 3));
    for (source, index) in outcomes.chain(merged) {
        tally.entry(source).or_default()[index] += 1;
    }
    tally
}

/// A source read in full: "ok", with how many warnings it has (each is
/// printed on stderr).
fn ok_status(warnings: &[String]) -> String {
    match warnings.len() {
        0 => "ok".to_string(),
        1 => "ok, 1 warning".to_string(),
        n => format!("ok, {n} warnings"),
    }
}
