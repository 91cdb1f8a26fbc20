//! `bulletin fetch`: every source into the store, with a line per source.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;

use super::{Clock, Exit, exit_code, open_for_writing};
use crate::config::Config;
use crate::domain::{Outcome, SourceReport};
use crate::sources::{Network, read_sources};
use crate::store::{Store, Upsert};

pub fn fetch(config: &Config, clock: Clock) -> Result<Exit> {
    let (_lock, mut store) = open_for_writing(config)?;
    let reports = fetch_into(config, &mut store, clock)?;
    Ok(exit_code(&reports))
}

/// Ingests every source into the store and prints the summary table.
pub(super) fn fetch_into(config: &Config, store: &mut Store, clock: Clock) -> Result<Vec<SourceReport>> {
    let known = store.validators()?;
    let saved = store.save_fetch(clock.now, |record| {
        let mut reports = Vec::new();
        read_sources(config, Network::Fetch, &known, |report, items| {
            items.into_iter().for_each(|item| record.add(item));
            reports.push(report);
        });
        reports
    })?;
    let mut tally: HashMap<&str, [usize; 3]> = HashMap::new();
    for item in &saved.items {
        let counts = tally.entry(item.source.as_str()).or_default();
        let index = match item.outcome {
            Upsert::New => 0,
            Upsert::Updated => 1,
            Upsert::Unchanged => 2,
        };
        counts[index] += 1;
    }
    let mut out = super::Report;
    writeln!(
        out,
        "{:<32} {:>5} {:>5} {:>7} {:>9}  STATUS",
        "SOURCE", "ITEMS", "NEW", "UPDATED", "UNCHANGED"
    )?;
    for report in &saved.reports {
        let [new, updated, unchanged] = tally.get(report.name.as_str()).copied().unwrap_or_default();
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
        writeln!(
            out,
            "{:<32} {items:>5} {new:>5} {updated:>7} {unchanged:>9}  {status}",
            report.name
        )?;
    }
    for report in &saved.reports {
        for error in report.errors() {
            eprintln!("warning: source {:?} failed: {error}", report.name);
        }
        for warning in report.warnings() {
            eprintln!("warning: source {:?}: {warning}", report.name);
        }
    }
    let count = |kind: Upsert| saved.items.iter().filter(|i| i.outcome == kind).count();
    writeln!(
        out,
        "{} new, {} updated, {} unchanged; {} of {} sources not modified",
        count(Upsert::New),
        count(Upsert::Updated),
        count(Upsert::Unchanged),
        saved
            .reports
            .iter()
            .filter(|r| r.outcome == Outcome::NotModified)
            .count(),
        saved.reports.len()
    )?;
    Ok(saved.reports)
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
