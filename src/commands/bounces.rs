//! `bulletin bounces PATH…`: reads the bounce mailbox (Maildir folders,
//! mbox files, `.eml` files), every mail first, with the store only read,
//! so `run` and `send` go on meanwhile; then, under the run lock, records
//! every mail and acts on each bounce, complaint and mailed unsubscribe
//! proven to be about a subscriber, once, in one transaction; and says
//! what it did. Never moves or deletes a mail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::{Clock, Exit, Format, count, open_for_writing};
use crate::audience::Key;
use crate::bounces::{Bounces, Kind as BounceKind, Processed, read_path};
use crate::config::Config;
use crate::store::{Effect, Store};

/// How `bulletin bounces` runs.
pub struct BounceOptions {
    pub paths: Vec<PathBuf>,
    /// Classify and match, change nothing.
    pub dry_run: bool,
    /// `json`: one object per mail read (`file`, `kind`, `recipient`,
    /// `status`, `verified`, `proof`, `changed`, `read_before`, `outcome`)
    /// on stdout, the summary on stderr.
    pub format: Format,
}

/// `bulletin bounces`: 0 when every path was read, 3 when one could not be.
pub fn bounces(config: &Config, options: &BounceOptions, clock: Clock) -> Result<Exit> {
    let mail = config
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the config: no bounces to match"))?;
    let key = Key::from_env(&mail.signing_key_env)?;
    let read_only = Store::open_read_only(&config.store_path())?;
    let mut bounces = Bounces::new(config, mail, &key, &read_only, clock.now);
    let mut processed = Vec::new();
    let mut failed = None;
    let mut unreadable = 0;
    for path in &options.paths {
        let errors = read_path(path, &mut |found| {
            if failed.is_none() {
                match bounces.read(found) {
                    Ok(one) => processed.push(one),
                    Err(e) => failed = Some(e),
                }
            }
        });
        if let Some(error) = failed.take() {
            return Err(error.into());
        }
        for error in &errors {
            eprintln!("error: {error}");
        }
        unreadable += errors.len();
    }
    if !options.dry_run && processed.iter().any(|p| !p.read_before) {
        // Only now the lock: reading took as long as the mailbox made it.
        let (_lock, mut store) = open_for_writing(config)?;
        bounces.record(&mut store, &mut processed)?;
    }
    let mut summary = Summary {
        hard_limit: mail.suppress_after_hard_bounces,
        ..Summary::default()
    };
    for one in &processed {
        summary.add(one, options)?;
    }
    summary.print(options, unreadable)?;
    Ok(if unreadable == 0 { Exit::Ok } else { Exit::Partial })
}

/// What the run did, counted.
#[derive(Default)]
struct Summary {
    /// `suppress_after_hard_bounces`, to say when a hard bounce stops sending.
    hard_limit: u32,
    read: usize,
    kinds: BTreeMap<&'static str, usize>,
    /// Ignored mails by why.
    ignored: BTreeMap<&'static str, usize>,
    changed: usize,
    /// Recorded by an earlier run (or another meanwhile): not read again.
    read_before: usize,
    /// Proven about no one: nothing changed for them.
    unverified: usize,
    no_subscriber: usize,
}

/// What became of one mail, counted by the summary.
enum Outcome {
    ReadBefore,
    Ignored,
    Unverified,
    NoSubscriber,
    Changed(String),
}

impl Summary {
    fn outcome(&self, processed: &Processed, options: &BounceOptions) -> Outcome {
        if processed.read_before || processed.effect == Some(Effect::AlreadyProcessed) {
            return Outcome::ReadBefore;
        }
        if processed.kind == BounceKind::Ignored {
            return Outcome::Ignored;
        }
        let Some(proven) = &processed.proven else {
            return Outcome::Unverified;
        };
        let email = &proven.email;
        match &processed.effect {
            None if options.dry_run => Outcome::Changed(format!("{email}: would be acted on")),
            Some(Effect::NoSubscriber) | None => Outcome::NoSubscriber,
            Some(effect) => Outcome::Changed(effect_words(effect, email, self.hard_limit)),
        }
    }

    fn add(&mut self, processed: &Processed, options: &BounceOptions) -> Result<()> {
        let outcome = self.outcome(processed, options);
        let proof = processed.proven.as_ref().map(|p| p.proof.as_str());
        if !matches!(outcome, Outcome::ReadBefore) {
            self.read += 1;
            *self.kinds.entry(processed.kind.as_str()).or_default() += 1;
        }
        let words = match &outcome {
            Outcome::ReadBefore => {
                self.read_before += 1;
                "read before: not read again, nothing changed".to_string()
            }
            Outcome::Ignored => {
                *self.ignored.entry(processed.why).or_default() += 1;
                "ignored: left as it is".to_string()
            }
            Outcome::Unverified => {
                self.unverified += 1;
                "not verified (no VERP address, Message-ID or unsubscribe token of bulletin's in it): nothing changed"
                    .to_string()
            }
            Outcome::NoSubscriber => {
                self.no_subscriber += 1;
                "matches no subscriber: nothing changed".to_string()
            }
            Outcome::Changed(words) => {
                self.changed += 1;
                words.clone()
            }
        };
        match options.format {
            Format::Json => {
                let line = serde_json::json!({
                    "file": processed.file,
                    "kind": processed.kind,
                    "recipient": processed.recipient,
                    "status": processed.status,
                    "verified": proof.is_some(),
                    "proof": proof,
                    "changed": matches!(outcome, Outcome::Changed(_)) && !options.dry_run,
                    "read_before": matches!(outcome, Outcome::ReadBefore),
                    "outcome": words,
                });
                say!("{line}");
            }
            // Ignored mails are counted only, read again or not.
            _ if processed.kind == BounceKind::Ignored => {}
            _ => {
                let status = processed
                    .status
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                let recipient = processed.recipient.as_deref().unwrap_or("(no address named)");
                let how = proof.map(|p| format!(", verified by {p}")).unwrap_or_default();
                say!(
                    "{}: {}{status} {recipient} ({}{how}): {words}",
                    processed.file.display(),
                    processed.kind.as_str(),
                    processed.why
                );
            }
        }
        Ok(())
    }

    fn print(&self, options: &BounceOptions, unreadable: usize) -> Result<()> {
        let kinds = ["hard", "soft", "complaint", "unsubscribe", "ignored"]
            .map(|kind| format!("{} {kind}", self.kinds.get(kind).copied().unwrap_or(0)))
            .join(", ");
        let ignored = self
            .ignored
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut lines = vec![format!("{} read: {kinds}", count(self.read, "mail"))];
        if !ignored.is_empty() {
            lines.push(format!("  ignored, left as they are: {ignored}"));
        }
        let verb = if options.dry_run {
            "would change"
        } else {
            "changed"
        };
        lines.push(format!(
            "  {verb} {}; {} not verified, nothing changed for them; {} matching no subscriber",
            count(self.changed, "subscriber record"),
            self.unverified,
            self.no_subscriber
        ));
        if self.read_before > 0 {
            lines.push(format!(
                "  {} read before, not read again",
                count(self.read_before, "mail")
            ));
        }
        if options.dry_run {
            lines.push("  dry run: nothing was changed".to_string());
        }
        if unreadable > 0 {
            lines.push(format!(
                "  {} could not be read (above)",
                count(unreadable, "path")
            ));
        }
        for line in lines {
            if options.format == Format::Json {
                eprintln!("{line}");
            } else {
                say!("{line}");
            }
        }
        Ok(())
    }
}

fn effect_words(effect: &Effect, email: &str, hard_limit: u32) -> String {
    match effect {
        Effect::AlreadyProcessed => "read before: nothing changed".to_string(),
        Effect::Unchanged => "nothing changed".to_string(),
        Effect::NoSubscriber => "matches no subscriber: nothing changed".to_string(),
        Effect::Hard { count: n } => format!(
            "{email}: {}{}",
            count(*n as usize, "hard bounce"),
            if *n >= hard_limit {
                ", no longer sent to"
            } else {
                ""
            }
        ),
        Effect::Soft { in_a_row, suppressed } => format!(
            "{email}: {} in a row{}",
            count(*in_a_row as usize, "soft bounce"),
            if *suppressed { ", no longer sent to" } else { "" }
        ),
        Effect::UnsubscribedAll => format!("{email}: unsubscribed from every newsletter"),
        Effect::Unsubscribed { newsletter } => format!("{email}: unsubscribed from {newsletter}"),
    }
}
