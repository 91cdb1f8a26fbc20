//! The `bulletin` command line: parses arguments and calls into the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use bulletin::commands::{
    self, Clock, Edit, EditorRole, Exit, ExportFormat, Format, ItemsQuery, ListFormat, RuleTarget, Timing,
};
use bulletin::config::Config;
use bulletin::items::Kind;
use bulletin::mail::{SendMode, SendOptions};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: a fetch allocates and frees millions
/// of small strings on every core, and glibc's malloc and free were a sixth
/// of its CPU time. A run of 10,000 items is 12% faster, for 5 MB more at its
/// peak (31 MB against 26).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Newsletters and digests from feeds and local items.
#[derive(Parser)]
#[command(version, about, after_help = Exit::help())]
struct Cli {
    /// The configuration file; relative paths in it are resolved from its folder.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config, the feed files and every local item.
    Check {
        /// Also check what a send needs, sending nothing: the signing key present and not guessable, the SMTP server taking a session as configured (EHLO, STARTTLS, AUTH, then QUIT), the bounce address.
        #[arg(long)]
        send: bool,
    },
    /// Read every source into the store; a line per source.
    Fetch,
    /// Each source's health: last fetch, status, items, last error.
    Feeds {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What bulletin reads from one feed (URL or file) or local item file, without touching the store.
    Parse {
        #[arg(value_name = "FILE_OR_URL")]
        target: String,
        /// Read the items as this kind; default the kind of the configured source that reads the file.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Publish each newsletter's edition for a date (whatever its schedule) into the output folder.
    Build {
        /// Only this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        /// Edition date, YYYY-MM-DD; default today.
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
    },
    /// The cron entry: fetch, make every edition due (catching up a missed schedule day), rebuild the drafts, send the approved editions not yet sent. Locked; safe to repeat.
    Run {
        /// Run as if today were this date, YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
    },
    /// The classifier: how well it agrees with labelled items.
    Classify {
        #[command(subcommand)]
        command: ClassifyCommand,
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
    /// Import, list and unsubscribe subscribers; reset wrongly counted bounces.
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
    },
    /// The editor's desk's accounts: add, list, remove, reset.
    Editors {
        #[command(subcommand)]
        command: EditorsCommand,
    },
    /// Send a published edition to its subscribers; resumes where a killed send stopped.
    Send {
        #[arg(long)]
        newsletter: String,
        /// Edition number; default the latest.
        #[arg(long)]
        edition: Option<u32>,
        /// List who would get it; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send one test copy to this address; not logged as a delivery.
        #[arg(long, value_name = "ADDRESS", conflicts_with = "dry_run")]
        to: Option<String>,
        /// Send an edition scheduled for later now (without it, `send` refuses it before its time).
        #[arg(long)]
        now: bool,
    },
    /// Read the bounce mailbox (Maildir folders, mbox or .eml files): hard and soft bounces counted, complaints and mailed unsubscribes unsubscribe; each mail once, none moved or deleted.
    Bounces {
        /// Maildir folders, mbox files, .eml files, or folders of them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Say what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// `json`: one object per mail read (file, kind, recipient, status), the summary on stderr.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Answer unsubscribe links (GET shows a button, POST unsubscribes), show the sign-up form at site.subscribe_url's path, and the preference centre at mail.preferences_url's.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8025")]
        listen: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Serve the next edition of every newsletter on 127.0.0.1; rebuilds on change; its review page corrects and approves drafts.
    Preview {
        #[arg(long, default_value = "127.0.0.1:8026")]
        listen: String,
        /// Preview the editions of this date, YYYY-MM-DD; default today.
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
        /// Open the index in the default browser.
        #[arg(long)]
        open: bool,
        /// Who makes the review page's corrections and approvals; default $USER.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// List the editions (drafts and approved), newest first; `editions show` shows one.
    Editions {
        #[command(subcommand)]
        show: Option<EditionsCommand>,
        /// Only this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Correct a draft: drop, add, move, retitle an item, change its teaser, or write the introduction.
    Edit {
        #[arg(long)]
        newsletter: String,
        /// The draft's number; default the latest draft.
        #[arg(long)]
        edition: Option<u32>,
        /// Who makes the correction; default $USER.
        #[arg(long)]
        by: Option<String>,
        #[command(subcommand)]
        correction: Edit,
    },
    /// Approve a draft: its bytes no longer change, and `run` (or `send`) mails it.
    Approve {
        #[arg(long)]
        newsletter: String,
        /// The draft's number; default the latest draft.
        #[arg(long)]
        edition: Option<u32>,
        /// Who approves; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Make an approved edition a draft again, before its send has begun (refused once a message went out).
    Unapprove {
        #[arg(long)]
        newsletter: String,
        /// The approved edition's number.
        #[arg(long)]
        edition: u32,
        /// Who unapproves; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Schedule an edition's send: `run` sends it at its first run after that time (a draft's once approved); `--clear` removes the schedule.
    Schedule {
        #[arg(long)]
        newsletter: String,
        /// The edition's number; default the latest not sent.
        #[arg(long)]
        edition: Option<u32>,
        /// Not before this local time, "2026-12-08 09:00" (a zone may follow: "… Asia/Tokyo").
        #[arg(
            long,
            value_name = "TIME",
            required_unless_present = "clear",
            conflicts_with = "clear"
        )]
        not_before: Option<String>,
        /// The time zone of --not-before (an IANA name); default site.time_zone.
        #[arg(long, requires = "not_before")]
        zone: Option<String>,
        /// Remove the schedule: sent at the next run once approved.
        #[arg(long)]
        clear: bool,
        /// Who schedules; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Discard a draft, never sent: it keeps its number (listed as skipped), its items go back to the pool.
    Skip {
        #[arg(long)]
        newsletter: String,
        /// The draft's number.
        #[arg(long)]
        edition: u32,
        /// Who skips it; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// The editors' lasting rules (never or always in a newsletter, for an item, a source or a term): list, add, remove.
    Rules {
        #[command(subcommand)]
        command: Option<RulesCommand>,
        /// Only this newsletter's.
        #[arg(long)]
        newsletter: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The last run and how it ended, then per newsletter the last edition and its state, the next due date, and what waits for a person.
    Status {
        /// As if today were this date, YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
        /// `json`: one object for monitoring, with `last_run` (`started`, `finished`, `outcome`, `errors`).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Add a rule: never (or always) in the newsletter, for an item, a source or a term; its drafts are rebuilt.
    Add {
        #[arg(long)]
        newsletter: String,
        /// Keep what it names out of the newsletter, whatever the config and the model say.
        #[arg(long, conflicts_with = "always", required_unless_present = "always")]
        never: bool,
        /// Place what it names in the newsletter, whatever the config and the model say.
        #[arg(long)]
        always: bool,
        #[command(flatten)]
        target: RuleTarget,
        /// Who adds it; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Remove a rule by its number (`bulletin rules` lists them); its newsletter's drafts are rebuilt.
    Remove {
        rule: i64,
        /// Who removes it; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum EditionsCommand {
    /// One edition: its items as placed, and the corrections with who and when.
    Show {
        #[arg(long)]
        newsletter: String,
        /// Edition number; default the latest.
        #[arg(long)]
        edition: Option<u32>,
        /// `json`: one object, with the last run recorded (`last_run`).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// The HTTP limits of `serve` and `preview` (README: "Serving").
#[derive(clap::Args)]
struct LimitArgs {
    /// Close a connection that sends no complete request head this many seconds after opening or after its last response.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
    /// Answer 408 and close when a request's body takes longer than this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Connections served at once; at the cap, the one idle the longest is closed for a new one (with none idle, new ones wait).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold at once; more are refused with 503 (a trusted proxy's are not one client's).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections_per_client: u64,
    /// Requests served on one connection; the last answer says `Connection: close`.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    max_requests_per_connection: u64,
}

impl LimitArgs {
    fn limits(&self) -> bulletin::web::server::Limits {
        bulletin::web::server::Limits {
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            body_timeout: std::time::Duration::from_secs(self.body_timeout),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            max_connections_per_client: usize::try_from(self.max_connections_per_client)
                .unwrap_or(usize::MAX),
            max_requests_per_connection: usize::try_from(self.max_requests_per_connection)
                .unwrap_or(usize::MAX),
        }
    }
}

#[derive(Subcommand)]
enum ClassifyCommand {
    /// Classify labelled items (JSON Lines, see README) and compare with their labels:
    /// precision, recall and F1 per newsletter, the confusion between newsletters, the
    /// items that went wrong and why.
    Eval {
        /// The labelled items.
        #[arg(required_unless_present = "leave_one_out")]
        file: Option<PathBuf>,
        /// K-fold cross-validation: each fold classified by a model trained on the others.
        #[arg(long, value_name = "K", conflicts_with = "leave_one_out")]
        folds: Option<usize>,
        /// Each *.jsonl of DIR (one author's items) classified by a model trained on the
        /// others only, with its learning curve, instead of FILE.
        #[arg(long, value_name = "DIR", conflicts_with = "file")]
        leave_one_out: Option<PathBuf>,
        /// The rules alone, without the learned model.
        #[arg(long)]
        rules_only: bool,
        /// The bundled model alone, not the store's (bundled + learned + corrections), which `run` uses.
        #[arg(long, conflicts_with = "rules_only")]
        bundled: bool,
        /// Exit 1 when fewer items than this share (0 to 1) land exactly as labelled.
        #[arg(long, value_name = "SHARE")]
        min_accuracy: Option<f64>,
        /// The figures as tables, or as one JSON object.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Teach the model labelled items (JSON Lines, as `eval` reads them), say a year of the
    /// organisation's archive, as the editor's own corrections; a line learned before changes nothing.
    Learn {
        /// The labelled items.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum SubscribersCommand {
    /// Import a CSV file (email, name, organisation, organisation_type, country, newsletters, consent_date), separated by `,`, `;` or tab; headers in any case, with spaces, `_` or `-`, or common aliases.
    Import {
        file: PathBuf,
        /// Read the column HEADER as COLUMN (email, name, organisation, organisation_type, country, newsletters, consent_date); repeatable.
        #[arg(long, value_name = "HEADER=COLUMN", value_parser = column_map)]
        map: Vec<(String, bulletin::audience::Column)>,
        /// How consent dates written with slashes are read: 10/01/2025 is 10 January day first, 1 October month first.
        #[arg(long, value_enum, default_value_t = SlashOrder::DayFirst)]
        slash_dates: SlashOrder,
    },
    /// List the subscribers.
    List {
        /// Only subscribers of this newsletter.
        #[arg(long)]
        newsletter: Option<String>,
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Unsubscribe an address from one newsletter, or from all; the desk's log names who.
    Unsubscribe {
        email: String,
        #[arg(long)]
        newsletter: Option<String>,
        /// Who unsubscribes them; default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Print everything held about one person (every table with an `email` column), as the preference page's download.
    Export {
        email: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Table)]
        format: ExportFormat,
    },
    /// Erase one person: every row about them deleted, a keyed hash of the address kept so no import re-adds them.
    Erase { email: String },
    /// Undo hard bounces counted wrongly (a server's fault): failed copies due again, suppression lifted.
    ResetBounces {
        /// Only these subscribers (their count goes back to 0).
        #[arg(required_unless_present = "since")]
        emails: Vec<String>,
        /// Only deliveries that failed on or after this date, YYYY-MM-DD (UTC).
        #[arg(long, value_parser = date)]
        since: Option<NaiveDate>,
    },
}

#[derive(Subcommand)]
enum EditorsCommand {
    /// Add an editor; without --password-stdin, prints a one-time link to set a password (valid 24 hours).
    Add {
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = EditorRole::Editor)]
        role: EditorRole,
        /// Read the password from stdin's first line (at least 12 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the editors, their role and whether they can log in.
    List,
    /// Remove an editor; their sessions end.
    Remove { email: String },
    /// Replace an editor's password (or print a new set-password link); their sessions end.
    Reset {
        email: String,
        /// Read the new password from stdin's first line.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let exit = match Cli::try_parse() {
        Err(error) => Exit::usage(&error),
        Ok(cli) => run(cli).unwrap_or_else(|error| Exit::failed(&error)),
    };
    exit.into()
}

/// A date on the command line, with what to write when it is not one
/// (chrono says only "input contains invalid characters"). A clap value
/// parser: clap prints the `String` as the reason after the argument's
/// name, so it stays the one `Result<_, String>` of the crate.
/// `--map HEADER=COLUMN`.
fn column_map(text: &str) -> Result<(String, bulletin::audience::Column), String> {
    let (header, column) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("expected HEADER=COLUMN (e.g. Firma=organisation), not {text:?}"))?;
    let column = bulletin::audience::Column::parse(column).ok_or_else(|| {
        format!(
            "{column:?} is no column; expected email, name, organisation, organisation_type, country, \
             newsletters or consent_date"
        )
    })?;
    Ok((header.trim().to_string(), column))
}

/// `--slash-dates`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SlashOrder {
    /// DD/MM/YYYY.
    DayFirst,
    /// MM/DD/YYYY.
    MonthFirst,
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("expected a date as YYYY-MM-DD (e.g. 2026-11-23), not {text:?}"))
}

/// What every command is run with: the config file, read by each command
/// that needs it (the preview reads it itself, again on every change), and
/// the time, read once.
struct Invocation<'a> {
    config: &'a Path,
    clock: Clock,
}

impl Invocation<'_> {
    fn config(&self) -> Result<Config> {
        Ok(Config::from_file(self.config)?)
    }

    /// The day a command without `--date` works on: today, where it runs.
    fn today(&self) -> NaiveDate {
        self.clock.now.with_timezone(&chrono::Local).date_naive()
    }
}

/// The command line, made one call of `commands`.
fn run(cli: Cli) -> Result<Exit> {
    let at = Invocation {
        config: &cli.config,
        clock: now(),
    };
    let (config, clock) = (|| at.config(), at.clock);
    match cli.command {
        Command::Preview {
            listen,
            date,
            open,
            by,
            limits,
        } => {
            let options = commands::preview::Options {
                listen,
                date: date.unwrap_or_else(|| at.today()),
                open,
                limits: limits.limits(),
                by: who(by),
            };
            commands::preview::run(at.config, &options, &|| now().now)?;
            Ok(Exit::Ok)
        }
        Command::Check { send } => commands::check(&config()?, send),
        Command::Fetch => commands::fetch(&config()?, clock),
        Command::Feeds { format } => commands::feeds(&config()?, format),
        Command::Parse { target, kind, format } => commands::parse(&config()?, &target, kind, format, clock),
        Command::Build { newsletter, date } => commands::build(
            &config()?,
            date.unwrap_or_else(|| at.today()),
            newsletter.as_deref(),
            clock,
        ),
        Command::Run { date } => commands::run(&config()?, date.unwrap_or_else(|| at.today()), clock),
        Command::Items {
            newsletter,
            unplaced,
            explain,
            format,
        } => commands::items(
            &config()?,
            &ItemsQuery {
                newsletter: newsletter.as_deref(),
                unplaced,
                explain,
                format,
            },
        ),
        Command::Classify { command } => classify(&at, command),
        Command::Subscribers { command } => subscribers(&at, command),
        Command::Editors { command } => editors(&at, command),
        Command::Send {
            newsletter,
            edition,
            dry_run,
            to,
            now,
        } => commands::send(
            &config()?,
            &newsletter,
            edition,
            send_options(dry_run, to),
            if now { Timing::Now } else { Timing::AsScheduled },
            clock,
        ),
        Command::Bounces {
            paths,
            dry_run,
            format,
        } => commands::bounces(
            &config()?,
            &commands::BounceOptions {
                paths,
                dry_run,
                format,
            },
            clock,
        ),
        Command::Serve { listen, limits } => {
            commands::serve(config()?, &listen, limits.limits(), &|| now().now)
        }
        editorial => editions(&at, editorial),
    }
}

/// The editor's commands: `editions`, `edit`, `approve`, `status`, `rules`.
fn editions(at: &Invocation, command: Command) -> Result<Exit> {
    let (config, clock) = (|| at.config(), at.clock);
    match command {
        Command::Editions {
            show:
                Some(EditionsCommand::Show {
                    newsletter,
                    edition,
                    format,
                }),
            ..
        } => commands::show(&config()?, &newsletter, edition, format, clock),
        Command::Editions {
            show: None,
            newsletter,
            format,
        } => commands::editions(&config()?, newsletter.as_deref(), format),
        Command::Edit {
            newsletter,
            edition,
            by,
            correction,
        } => commands::edit(&config()?, &newsletter, edition, correction, &who(by), clock),
        Command::Approve {
            newsletter,
            edition,
            by,
        } => commands::approve(&config()?, &newsletter, edition, &who(by), clock),
        Command::Unapprove {
            newsletter,
            edition,
            by,
        } => commands::unapprove(&config()?, &newsletter, edition, &who(by), clock),
        Command::Skip {
            newsletter,
            edition,
            by,
        } => commands::skip(&config()?, &newsletter, edition, &who(by), clock),
        Command::Schedule {
            newsletter,
            edition,
            not_before,
            zone,
            clear: _,
            by,
        } => commands::schedule(
            &config()?,
            &newsletter,
            edition,
            not_before.as_deref(),
            zone.as_deref(),
            &who(by),
            clock,
        ),
        Command::Status { date, format } => {
            commands::status(&config()?, date.unwrap_or_else(|| at.today()), format, clock)
        }
        Command::Rules {
            command: None,
            newsletter,
            format,
        } => commands::list_rules(&config()?, newsletter.as_deref(), format),
        Command::Rules {
            command:
                Some(RulesCommand::Add {
                    newsletter,
                    always,
                    target,
                    by,
                    ..
                }),
            ..
        } => commands::add_rule(&config()?, &newsletter, always, target, &who(by), clock),
        Command::Rules {
            command: Some(RulesCommand::Remove { rule, by }),
            ..
        } => commands::remove_rule(&config()?, rule, &who(by), clock),
        _ => unreachable!("`run` dispatches every other command itself"),
    }
}

/// `bulletin classify …`.
fn classify(at: &Invocation, command: ClassifyCommand) -> Result<Exit> {
    match command {
        ClassifyCommand::Eval {
            file,
            folds,
            leave_one_out,
            rules_only,
            bundled,
            min_accuracy,
            format,
        } => {
            let options = commands::EvalOptions {
                folds,
                rules_only,
                bundled,
                min_accuracy,
                format,
            };
            match (leave_one_out, file) {
                (Some(dir), _) => commands::eval_leave_one_out(&at.config()?, &dir, &options),
                (None, Some(file)) => commands::eval(&at.config()?, &file, &options),
                (None, None) => unreachable!("clap requires FILE without --leave-one-out"),
            }
        }
        ClassifyCommand::Learn { file } => commands::learn(&at.config()?, &file, at.clock),
    }
}

/// `bulletin subscribers …`.
fn editors(at: &Invocation, command: EditorsCommand) -> Result<Exit> {
    let (config, clock) = (|| at.config(), at.clock);
    match command {
        EditorsCommand::Add {
            email,
            name,
            role,
            password_stdin,
        } => commands::add_editor(&config()?, &email, &name, role, password_stdin, clock),
        EditorsCommand::List => commands::list_editors(&config()?),
        EditorsCommand::Remove { email } => commands::remove_editor(&config()?, &email),
        EditorsCommand::Reset {
            email,
            password_stdin,
        } => commands::reset_editor(&config()?, &email, password_stdin, clock),
    }
}

fn subscribers(at: &Invocation, command: SubscribersCommand) -> Result<Exit> {
    let (config, clock) = (|| at.config(), at.clock);
    match command {
        SubscribersCommand::Import {
            file,
            map,
            slash_dates,
        } => {
            let options = bulletin::audience::CsvOptions {
                map,
                slash_dates: match slash_dates {
                    SlashOrder::DayFirst => bulletin::audience::SlashDates::DayFirst,
                    SlashOrder::MonthFirst => bulletin::audience::SlashDates::MonthFirst,
                },
            };
            commands::import(&config()?, &file, &options, clock)
        }
        SubscribersCommand::List { newsletter, format } => {
            commands::list(&config()?, newsletter.as_deref(), format)
        }
        SubscribersCommand::Unsubscribe {
            email,
            newsletter,
            by,
        } => commands::unsubscribe(&config()?, &email, newsletter.as_deref(), &who(by), clock),
        SubscribersCommand::Export { email, format } => commands::export(&config()?, &email, format),
        SubscribersCommand::Erase { email } => commands::erase(&config()?, &email, clock),
        SubscribersCommand::ResetBounces { emails, since } => {
            commands::reset_bounces(&config()?, &emails, since, clock)
        }
    }
}

/// How `bulletin send` sends: a test copy to `--to`, a dry run, or for real.
fn send_options(dry_run: bool, to: Option<String>) -> SendOptions {
    let mode = match (dry_run, to) {
        (_, Some(to)) => SendMode::TestTo(to),
        (true, None) => SendMode::DryRun,
        (false, None) => SendMode::Real,
    };
    SendOptions {
        mode,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    }
}

/// Who makes a correction or an approval: `--by`, else the login name.
fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The only place that reads the clock: everything below takes it in.
/// `BULLETIN_NOW` (an RFC 3339 time), when set, is returned instead: for
/// tests and replays (README).
#[allow(clippy::disallowed_methods)]
fn now() -> Clock {
    let set = std::env::var("BULLETIN_NOW").ok().and_then(|text| {
        chrono::DateTime::parse_from_rfc3339(&text)
            .inspect_err(|e| {
                eprintln!("BULLETIN_NOW={text:?} is not an RFC 3339 time ({e}): the clock is used")
            })
            .ok()
    });
    Clock {
        now: set.map_or_else(chrono::Utc::now, |time| time.with_timezone(&chrono::Utc)),
        ticking: Some(|| now().now),
    }
}
