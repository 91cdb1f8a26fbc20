//! Feed bytes, as a fetch or a file gives them, through the source stage:
//! parsed, then each entry made an item (summary sanitised, its plain text
//! and teaser derived), as `bulletin fetch` does.

#![no_main]

use std::sync::LazyLock;

use bulletin::items::Details;
use bulletin::sources::parse_feed;
use bulletin_fuzz::{TEASER_WIDTH, check_item};
use libfuzzer_sys::fuzz_target;

/// The feed's URL: relative links resolve against it, as for a fetched feed.
static BASE: LazyLock<url::Url> =
    LazyLock::new(|| url::Url::parse("https://feeds.example/news/feed.xml").expect("a URL"));

fuzz_target!(|bytes: &[u8]| {
    let Ok(drafts) = parse_feed(bytes, Some(&BASE), None) else {
        return;
    };
    for draft in drafts {
        check_item(
            &draft.into_item("fuzz", Details::News, TEASER_WIDTH),
            TEASER_WIDTH,
        );
    }
});
