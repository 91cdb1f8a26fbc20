//! `bulletin build` and `bulletin run`: the edition cycle (see
//! [`crate::workflow::run`]), its outcome as an exit code.

use anyhow::Result;
use chrono::NaiveDate;

use super::{Clock, Exit, exit_code};
use crate::config::Config;
use crate::workflow;

/// `bulletin build`: each selected newsletter's edition for `date`, whatever
/// its schedule. An edition already recorded for that date is rendered again
/// from the record: same number, same items, same bytes.
pub fn build(config: &Config, date: NaiveDate, only: Option<&str>, clock: Clock) -> Result<Exit> {
    workflow::build(config, date, only, clock)?;
    Ok(Exit::Ok)
}

/// `bulletin run`, the cron entry: fetch, make every edition due by
/// `date`, rebuild the drafts, send every approved edition not yet sent.
/// A failed source is exit 3; a message not delivered, exit 5.
pub fn run(config: &Config, date: NaiveDate, clock: Clock) -> Result<Exit> {
    let ran = workflow::run(config, date, clock)?;
    let code = exit_code(&ran.reports);
    Ok(if ran.delivered { code } else { Exit::Undelivered })
}
