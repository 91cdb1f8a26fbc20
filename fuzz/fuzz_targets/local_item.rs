//! A local item file (`feeds/local/**`): TOML, or Markdown with TOML front
//! matter, read as each kind of source would read it, then made an item.

#![no_main]

use std::path::Path;

use bulletin::items::Kind;
use bulletin::sources::parse_local;
use bulletin_fuzz::{TEASER_WIDTH, check_error, check_item};
use libfuzzer_sys::fuzz_target;

/// Every kind a source may give its files: each one requires other fields.
const KINDS: [Kind; 5] = [
    Kind::News,
    Kind::Event,
    Kind::Tender,
    Kind::Report,
    Kind::PressReview,
];

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    // Markdown items are the ones with front matter; the seeds are both.
    let markdown = text.trim_start_matches('\u{feff}').starts_with("+++");
    let path = Path::new(if markdown { "item.md" } else { "item.toml" });
    for kind in KINDS {
        match parse_local(path, &text, kind, &[]) {
            Ok((draft, details)) => {
                check_item(&draft.into_item("fuzz", details, TEASER_WIDTH), TEASER_WIDTH);
            }
            Err(error) => check_error(&error, &text),
        }
    }
});
