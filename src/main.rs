//! The `bulletin` command line: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use bulletin::commands::{self, EXIT_FAILURE, Format, ItemsQuery};
use bulletin::config::Config;
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
  1  failed: bad config, unreadable input, unwritable output (reason on stderr)
  2  bad command-line arguments
  3  done, but some sources failed (each named on stderr)";

#[derive(Subcommand)]
enum Command {
    /// Validate the config, the feed files and every local item.
    Check,
    /// Assemble and render each newsletter's edition into the output folder.
    Build {
        /// Only this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        /// Edition date, YYYY-MM-DD; default today.
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// List the items with the newsletters and sections they landed in.
    Items {
        /// Only items placed in this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        /// Only items that matched no newsletter.
        #[arg(long)]
        unplaced: bool,
        /// Show each rule that counted (table format).
        #[arg(long)]
        explain: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::from_file(&cli.config)?;
    match cli.command {
        Command::Check => commands::check(&config),
        Command::Build { newsletter, date } => {
            commands::build(&config, date.unwrap_or_else(today), newsletter.as_deref())
        }
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
    }
}

/// The only place that reads the clock: everything below takes the date in.
#[allow(clippy::disallowed_methods)]
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}
