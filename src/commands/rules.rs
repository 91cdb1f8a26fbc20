//! `bulletin rules`: the editors' lasting rules, listed, added and
//! removed (never or always in a newsletter, for an item, a source or a
//! term), each with who and when.

use std::io::Write;

use anyhow::Result;

use super::{Clock, Exit, Format};
use crate::config::Config;
use crate::domain::{Ruling, Stance, Target};
use crate::items::for_terminal;
use crate::store::Store;
use crate::workflow;

/// What `bulletin rules add` is about: exactly one of them.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct RuleTarget {
    /// One item, by the id `bulletin items` prints.
    #[arg(long)]
    item: Option<String>,
    /// Every item of a source, by its name in config.toml.
    #[arg(long)]
    source: Option<String>,
    /// Every item whose title, text or categories have the term (a whole word, case aside).
    #[arg(long)]
    term: Option<String>,
}

impl RuleTarget {
    fn target(self) -> Target {
        match (self.item, self.source, self.term) {
            (Some(item), _, _) => Target::Item(item),
            (_, Some(source), _) => Target::Source(source),
            (_, _, Some(term)) => Target::Term(crate::items::clean_text(&term)),
            (None, None, None) => unreachable!("clap requires one of --item, --source, --term"),
        }
    }
}

/// `bulletin rules [--newsletter ID]`: the rules in force.
pub fn list_rules(config: &Config, newsletter: Option<&str>, format: Format) -> Result<Exit> {
    if let Some(id) = newsletter {
        config.newsletter(id)?;
    }
    let store = Store::open_read_only(&config.store_path())?;
    let rules: Vec<_> = store
        .rules()?
        .into_iter()
        .filter(|r| newsletter.is_none_or(|id| r.newsletter == id))
        .collect();
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &rules)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    if rules.is_empty() {
        writeln!(
            out,
            "No rules: add one with `bulletin rules add --newsletter ID --never --source NAME`."
        )?;
        return Ok(Exit::Ok);
    }
    writeln!(
        out,
        "{:>4}  {:<16} {:<6} {:<7} {:<32} {:<10} {:<10} ORIGIN",
        "RULE", "NEWSLETTER", "STANCE", "TARGET", "VALUE", "BY", "ADDED"
    )?;
    for r in &rules {
        writeln!(
            out,
            "{:>4}  {:<16} {:<6} {:<7} {:<32} {:<10} {:<10} {}",
            r.id,
            r.newsletter,
            r.stance.as_str(),
            r.target.kind(),
            for_terminal(r.target.value()),
            for_terminal(&r.by),
            r.at.format("%Y-%m-%d"),
            for_terminal(&r.origin)
        )?;
    }
    Ok(Exit::Ok)
}

/// `bulletin rules add --newsletter ID (--never | --always) (--item | --source | --term)`.
pub fn add_rule(
    config: &Config,
    newsletter: &str,
    always: bool,
    target: RuleTarget,
    by: &str,
    clock: Clock,
) -> Result<Exit> {
    let newsletter = config.newsletter(newsletter)?;
    let stance = if always { Stance::Always } else { Stance::Never };
    let ruling = Ruling {
        stance,
        target: target.target(),
    };
    workflow::add_rule(config, newsletter, ruling, "bulletin rules add", by, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin rules remove RULE`.
pub fn remove_rule(config: &Config, id: i64, by: &str, clock: Clock) -> Result<Exit> {
    workflow::remove_rule(config, id, by, clock)?;
    Ok(Exit::Ok)
}
