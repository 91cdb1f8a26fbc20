//! A subscriber CSV, as `bulletin subscribers import` reads it, against the
//! bundled config's newsletters.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bulletin::config::Config;
use bulletin::audience::parse_csv;
use bulletin::items::clean_text;
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    Config::parse(
        Path::new("config.toml"),
        include_str!("../../config.toml"),
        PathBuf::new(),
    )
    .expect("the bundled config is valid")
});

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let Ok((good, bad)) = parse_csv(&CONFIG, &text) else {
        return;
    };
    // What goes in a header and a greeting, and who may be mailed what.
    for subscriber in good {
        assert!(subscriber.email.contains('@'), "{subscriber:?}");
        assert_eq!(subscriber.name, clean_text(&subscriber.name));
        assert_eq!(subscriber.organisation, clean_text(&subscriber.organisation));
        assert!(!subscriber.newsletters.is_empty());
        assert!(
            subscriber
                .newsletters
                .iter()
                .all(|id| CONFIG.newsletter(id).is_ok())
        );
    }
    // Each bad row is reported at its line, after the header's.
    for row in bad {
        assert!(
            row.line >= 2,
            "bad row reported at line {}: {}",
            row.line,
            row.reason
        );
    }
});
