//! `config.toml` text: parsed and validated, or refused with a located
//! error. A config that is accepted must be usable as it stands.

#![no_main]

use std::fmt::Write;
use std::path::{Path, PathBuf};

use bulletin::config::Config;
use bulletin_fuzz::check_error;
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    match Config::parse(Path::new("config.toml"), &text, PathBuf::new()) {
        // Every page and mail shows dates in `site.date_format`.
        Ok(config) => {
            let date = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
            let mut shown = String::new();
            assert!(
                write!(shown, "{}", date.format(&config.site.date_format)).is_ok(),
                "date_format {:?} cannot show a date",
                config.site.date_format
            );
        }
        Err(error) => check_error(&error, &text),
    }
});
