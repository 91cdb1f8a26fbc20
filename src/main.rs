//! The `bulletin` command line: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use bulletin::commands::{self, Clock, EXIT_FAILURE, EXIT_LOCKED, Format, ItemsQuery};
use bulletin::config::Config;
use bulletin::lock::LockError;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// Newsletters and digests from feeds and local items.
#[derive(Parser)]
#[command(version, about, after_help = EXIT_CODES)]
struct Cli {
    /// The configuration file; relative paths in it are resolved from its folder.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes:
  0  done
  1  failed: bad config, unreadable input, a store problem (reason on stderr)
  2  bad command-line arguments
  3  done, but some sources failed (each named on stderr)
  4  another bulletin holds the store's lock; nothing done";

#[derive(Subcommand)]
enum Command {
    /// Validate the config, the feed files and every local item.
    Check,
    /// Read every source into the store; a line per source.
    Fetch,
    /// Publish each newsletter's edition for a date (whatever its schedule) into the output folder.
    Build {
        /// Only this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        /// Edition date, YYYY-MM-DD; default today.
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// The cron entry: fetch, then publish every edition due today. Locked; safe to repeat.
    Run {
        /// Run as if today were this date, YYYY-MM-DD.
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// List the stored items with the newsletters and sections they land in.
    Items {
        /// Only items placed in this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        /// Only items that match no newsletter.
        #[arg(long)]
        unplaced: bool,
        /// Show each rule that counted (table format).
        #[arg(long)]
        explain: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the published editions, newest first.
    Editions {
        /// Only this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error)
            if error
                .downcast_ref::<LockError>()
                .is_some_and(|e| matches!(e, LockError::Held { .. })) =>
        {
            eprintln!("{error}");
            ExitCode::from(EXIT_LOCKED)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::from_file(&cli.config)?;
    let clock = now();
    let today = || clock.now.with_timezone(&chrono::Local).date_naive();
    match cli.command {
        Command::Check => commands::check(&config),
        Command::Fetch => commands::fetch(&config, clock),
        Command::Build { newsletter, date } => {
            commands::build(&config, date.unwrap_or_else(today), newsletter.as_deref(), clock)
        }
        Command::Run { date } => commands::run(&config, date.unwrap_or_else(today), clock),
        Command::Items {
            newsletter,
            unplaced,
            explain,
            format,
        } => commands::items(
            &config,
            &ItemsQuery {
                newsletter: newsletter.as_deref(),
                unplaced,
                explain,
                format,
            },
        ),
        Command::Editions { newsletter, format } => {
            commands::editions(&config, newsletter.as_deref(), format)
        }
    }
}

/// The only place that reads the clock: everything below takes it in.
#[allow(clippy::disallowed_methods)]
fn now() -> Clock {
    Clock {
        now: chrono::Utc::now(),
    }
}
