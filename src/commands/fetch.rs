//! `bulletin fetch`: every source into the store, with a line per source.

use anyhow::Result;

use super::{Clock, Exit, exit_code};
use crate::config::Config;

pub fn fetch(config: &Config, clock: Clock) -> Result<Exit> {
    let reports = crate::workflow::fetch(config, clock)?;
    Ok(exit_code(&reports))
}
