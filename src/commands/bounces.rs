//! `bulletin bounces PATH…`: the bounce mailbox read and acted on (see
//! [`crate::workflow::read_bounces`]), and what it did said: a line or a
//! JSON object per mail, the summary. Never moves or deletes a mail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use super::{Clock, Exit, Format};
use crate::bounces::{Kind as BounceKind, Processed};
use crate::config::Config;
use crate::store::Effect;
use crate::workflow::{count, read_bounces, say};

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
    let read = read_bounces(config, &options.paths, options.dry_run, clock)?;
    let mut summary = Summary {
        hard_limit: read.hard_limit,
        ..Summary::default()
    };
    for one in &read.processed {
        summary.add(one, options)?;
    }
    summary.print(options, read.unreadable)?;
    Ok(if read.unreadable == 0 {
        Exit::Ok
    } else {
        Exit::Partial
    })
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
