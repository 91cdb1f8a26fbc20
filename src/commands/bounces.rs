//! `bulletin bounces PATH…`: reads the bounce mailbox (Maildir folders,
//! mbox files, `.eml` files), acts on each bounce, complaint and mailed
//! unsubscribe once, and says what it did. Never moves or deletes a mail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::{Clock, Exit, Format, count, open_for_writing};
use crate::config::Config;
use crate::deliver::{BounceKind, Bounces, Key, Processed, read_path};
use crate::store::{Effect, Store};

/// How `bulletin bounces` runs.
pub struct BounceOptions {
    pub paths: Vec<PathBuf>,
    /// Classify and match, change nothing.
    pub dry_run: bool,
    /// `json`: one object per mail read (`file`, `kind`, `recipient`,
    /// `status`) on stdout, the summary on stderr.
    pub format: Format,
}

/// `bulletin bounces`: 0 when every path was read, 3 when one could not be.
pub fn bounces(config: &Config, options: &BounceOptions, clock: Clock) -> Result<Exit> {
    let mail = config
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the config: no bounces to match"))?;
    let key = Key::from_env(&mail.signing_key_env)?;
    let (_lock, mut store) = if options.dry_run {
        (None, Store::open_read_only(&config.store_path())?)
    } else {
        let (lock, store) = open_for_writing(config)?;
        (Some(lock), store)
    };
    let mut bounces = Bounces::new(config, mail, &key, &mut store, options.dry_run, clock.now);
    let mut summary = Summary {
        hard_limit: mail.suppress_after_hard_bounces,
        ..Summary::default()
    };
    let mut failed = None;
    let mut unreadable = 0;
    for path in &options.paths {
        let errors = read_path(path, &mut |found| {
            if failed.is_some() {
                return;
            }
            match bounces.process(found) {
                Ok(processed) => {
                    if let Err(e) = summary.add(&processed, options) {
                        failed = Some(e);
                    }
                }
                Err(e) => failed = Some(e.into()),
            }
        });
        if let Some(error) = failed.take() {
            return Err(error);
        }
        for error in &errors {
            eprintln!("error: {error}");
        }
        unreadable += errors.len();
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
    seen_before: usize,
    no_subscriber: usize,
}

impl Summary {
    fn add(&mut self, processed: &Processed, options: &BounceOptions) -> Result<()> {
        self.read += 1;
        *self.kinds.entry(processed.kind.as_str()).or_default() += 1;
        if options.format == Format::Json {
            let line = serde_json::json!({
                "file": processed.file,
                "kind": processed.kind,
                "recipient": processed.recipient,
                "status": processed.status,
            });
            say!("{line}");
        }
        let what = match (&processed.effect, &processed.subscriber) {
            _ if processed.kind == BounceKind::Ignored => {
                *self.ignored.entry(processed.why).or_default() += 1;
                return Ok(());
            }
            (Some(Effect::AlreadyProcessed), _) => {
                self.seen_before += 1;
                "already processed: nothing changed".to_string()
            }
            (Some(effect), Some(email)) => {
                self.changed += 1;
                effect_words(effect, email, self.hard_limit)
            }
            (None, Some(email)) if processed.seen_before => {
                self.seen_before += 1;
                format!("{email}: already processed, nothing would change")
            }
            (None, Some(email)) => {
                self.changed += 1;
                format!("{email}: would be acted on")
            }
            (_, None) => {
                self.no_subscriber += 1;
                "matches no subscriber: nothing changed".to_string()
            }
        };
        if options.format == Format::Table {
            let status = processed
                .status
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let recipient = processed.recipient.as_deref().unwrap_or("(no address named)");
            say!(
                "{}: {}{status} {recipient} ({}): {what}",
                processed.file.display(),
                processed.kind.as_str(),
                processed.why
            );
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
            "  {verb} {}; {} already processed; {} matching no subscriber",
            count(self.changed, "subscriber record"),
            self.seen_before,
            self.no_subscriber
        ));
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
        Effect::AlreadyProcessed => "already processed: nothing changed".to_string(),
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
