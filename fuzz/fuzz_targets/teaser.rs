//! Any text cut to a teaser of any width, and any HTML sanitised (with and
//! without a base URL for its links) and turned into plain text.
//!
//! The input's first byte is the width; the rest is the text (or HTML).

#![no_main]

use std::sync::LazyLock;

use bulletin::items::{sanitize, teaser, to_text};
use bulletin_fuzz::{check_sanitized, check_teaser, check_text};
use libfuzzer_sys::fuzz_target;

static BASE: LazyLock<url::Url> =
    LazyLock::new(|| url::Url::parse("https://news.example/a/b.html").expect("a URL"));

fuzz_target!(|bytes: &[u8]| {
    let Some((&width, text)) = bytes.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let width = usize::from(width);
    check_teaser(&text, width, &teaser(&text, width));
    for base in [None, Some(&*BASE)] {
        let html = sanitize(&text, base);
        check_sanitized(&html);
        check_text(&to_text(&html));
    }
});
