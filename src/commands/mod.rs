//! The commands, thin: each parses what the command line gave, makes one
//! call into the [`crate::workflow`], and reports: results to stdout,
//! diagnostics to stderr, and the exit code that tells a script what
//! happened. No command imports another's module; what two share is an
//! operation of the workflow.

mod bounces;
mod classify;
mod deliver;
mod editors;
mod fetch;
mod inspect;
pub mod preview;
mod publish;
mod review;
mod rules;

use std::process::ExitCode;

use crate::causes::said_once;
use crate::domain::SourceReport;
use crate::lock::LockError;

pub use crate::workflow::{Clock, Timing};
pub use bounces::{BounceOptions, bounces};
pub use classify::{EvalOptions, eval, eval_leave_one_out, learn};
pub use deliver::{
    ExportFormat, ListFormat, erase, export, import, list, reset_bounces, send, serve, unsubscribe,
};
pub use editors::{EditorRole, add_editor, list_editors, remove_editor, reset_editor};
pub use fetch::fetch;
pub use inspect::{Format, ItemsQuery, check, editions, feeds, items, parse};
pub use publish::{build, run};
pub use review::{Edit, approve, edit, schedule, show, skip, status, unapprove};
pub use rules::{RuleTarget, add_rule, list_rules, remove_rule};

/// How a command ended, as a script reads it: the one place an outcome or
/// an error becomes an exit code, and the source of `--help`'s table of
/// them, so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything went as asked.
    Ok,
    /// Nothing useful was done: bad config, unreadable input, a store problem.
    Failed,
    /// The command line was wrong (clap's own code).
    Usage,
    /// The work was done, but some inputs failed (a source, a local file, a
    /// CSV row); each is reported on stderr.
    Partial,
    /// Another bulletin holds the store's lock; this one did nothing.
    Locked,
    /// Some messages were not delivered: deferred or failed.
    Undelivered,
    /// The edition is a draft: nothing is sent until it is approved.
    Draft,
}

impl Exit {
    /// Every exit, in the order of its code.
    const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Failed,
        Exit::Usage,
        Exit::Partial,
        Exit::Locked,
        Exit::Undelivered,
        Exit::Draft,
    ];

    /// The process's exit status.
    fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Partial => 3,
            Exit::Locked => 4,
            Exit::Undelivered => 5,
            Exit::Draft => 6,
        }
    }

    /// What the code means, as `--help` and the README say it (the README's
    /// table is checked against `--help` by a test).
    fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "done",
            Exit::Failed => {
                "failed: bad config, unreadable input, a store problem, an SMTP session that\n     \
                 could not be opened or kept (server down, TLS, AUTH); reason on stderr"
            }
            Exit::Usage => "bad command-line arguments",
            Exit::Partial => {
                "done, but some inputs failed: a source, a local file, a CSV row (each named on stderr)"
            }
            Exit::Locked => "another bulletin holds the store's lock; nothing done",
            Exit::Undelivered => {
                "some messages were not delivered: deferred (sent again next time) or failed (each listed)"
            }
            Exit::Draft => "the edition is a draft: nothing sent until `bulletin approve`",
        }
    }

    /// The "Exit codes:" table `--help` ends with.
    pub fn help() -> String {
        let mut table = String::from("Exit codes:");
        for exit in Exit::ALL {
            table.push_str(&format!("\n  {}  {}", exit.code(), exit.meaning()));
        }
        table
    }

    /// How a command that failed with `error` ends, after saying why on
    /// stderr, once: a closed pipe is a reader that has seen enough (exit 0,
    /// nothing said); a held lock is a plain "nothing done".
    pub fn failed(error: &anyhow::Error) -> Exit {
        if is_broken_pipe(error) {
            return Exit::Ok;
        }
        if let Some(held @ LockError::Held { .. }) = error.downcast_ref::<LockError>() {
            eprintln!("{held}");
            return Exit::Locked;
        }
        crate::workflow::Report::warning(&format!("error: {}", said_once(error.as_ref())));
        Exit::Failed
    }

    /// How the command line's own error ends: clap prints it (help and
    /// version too, which are not failures).
    pub fn usage(error: &clap::Error) -> Exit {
        // Nothing to do when stderr is gone.
        let _ = error.print();
        if error.use_stderr() { Exit::Usage } else { Exit::Ok }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// True when the error, or any error under it, is a write to a closed pipe.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        let io = cause.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        // serde_json's writer wraps the io::Error without exposing it as a source.
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        io.or(json) == Some(BrokenPipe)
    })
}

/// 0, or 3 with a one-line summary when some sources failed.
fn exit_code(reports: &[SourceReport]) -> Exit {
    match reports.iter().filter(|r| r.failed()).count() {
        0 => Exit::Ok,
        failed => {
            eprintln!("{failed} source(s) failed; the rest were used");
            Exit::Partial
        }
    }
}
