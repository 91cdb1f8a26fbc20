//! `bulletin editors`: the desk's accounts (`add`, `list`, `remove`,
//! `reset`). A password comes on stdin (`--password-stdin`), never on the
//! command line, where `ps` and the shell's history would show it; without
//! it, a one-time link to set one is printed, valid 24 hours.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

use super::{Clock, Exit};
use crate::config::Config;
use crate::domain::Role;
use crate::items::for_terminal;
use crate::store::Store;
use crate::workflow::{self, Password};

/// What an editor may do: `editor` reviews, corrects, tests, approves and
/// schedules; `admin` also manages subscribers and editors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EditorRole {
    Editor,
    Admin,
}

impl From<EditorRole> for Role {
    fn from(role: EditorRole) -> Role {
        match role {
            EditorRole::Editor => Role::Editor,
            EditorRole::Admin => Role::Admin,
        }
    }
}

/// The password on stdin's first line (its line ending left out), checked.
fn password_from_stdin(wanted: bool) -> Result<Option<Password>> {
    if !wanted {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Some(Password::new(line)?))
}

/// `bulletin editors add EMAIL --name NAME [--role editor|admin] [--password-stdin]`.
pub fn add_editor(
    config: &Config,
    email: &str,
    name: &str,
    role: EditorRole,
    password_stdin: bool,
    clock: Clock,
) -> Result<Exit> {
    let password = password_from_stdin(password_stdin)?;
    workflow::add_editor(config, clock, email, name, role.into(), password.as_ref())?;
    Ok(Exit::Ok)
}

/// `bulletin editors reset EMAIL [--password-stdin]`.
pub fn reset_editor(config: &Config, email: &str, password_stdin: bool, clock: Clock) -> Result<Exit> {
    let password = password_from_stdin(password_stdin)?;
    workflow::reset_editor(config, clock, email, password.as_ref())?;
    Ok(Exit::Ok)
}

/// `bulletin editors remove EMAIL`.
pub fn remove_editor(config: &Config, email: &str) -> Result<Exit> {
    workflow::remove_editor(config, email)?;
    Ok(Exit::Ok)
}

/// `bulletin editors list`: one line each, what they may do and whether
/// they can log in.
pub fn list_editors(config: &Config) -> Result<Exit> {
    let store = Store::open_read_only(&config.store_path())?;
    let mut out = std::io::stdout().lock();
    let editors = store.editors()?;
    if editors.is_empty() {
        writeln!(
            out,
            "no editors: `bulletin editors add EMAIL --name NAME` adds one"
        )?;
    }
    for editor in editors {
        let access = match (&editor.password, editor.link_expires) {
            (Some(_), _) => "password set".to_string(),
            (None, Some(expires)) => format!("set-password link open until {expires}"),
            (None, None) => "no password".to_string(),
        };
        writeln!(
            out,
            "{:<32} {:<6} {} ({access})",
            editor.email,
            editor.role.as_str(),
            for_terminal(&editor.name)
        )?;
    }
    Ok(Exit::Ok)
}
