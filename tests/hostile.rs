//! Hostile content: every file of feedparser's sanitising suite (hundreds of
//! XSS vectors) through bulletin's own pipeline to a rendered edition, and the
//! output checked by tokenising it as a browser would, not by string search.

use std::cell::RefCell;
use std::path::Path;

use bulletin::classify::classify;
use bulletin::config::Config;
use bulletin::deliver::{Key, MailTemplate};
use bulletin::editions::assemble;
use bulletin::items::{Details, Item};
use bulletin::render::{Reader, render_edition};
use bulletin::sources::parse_feed;
use chrono::{NaiveDate, TimeZone, Utc};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::common::{digest_config, feed_sources, repo};

/// The start tags of an HTML text, as the HTML5 tokenizer sees them.
fn start_tags(html: &str) -> Vec<Tag> {
    struct Tags(RefCell<Vec<Tag>>);
    impl TokenSink for Tags {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == TagKind::StartTag
            {
                self.0.borrow_mut().push(tag);
            }
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Tags(RefCell::default()), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

/// Why this tag could run code, load something, or restyle the page.
fn danger(tag: &Tag, ours: bool) -> Option<String> {
    const NEVER: &[&str] = &[
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "img",
        "image",
        "svg",
        "math",
        "video",
        "audio",
        "source",
        "track",
        "link",
        "base",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "style",
        "template",
        "noscript",
        "xmp",
        "plaintext",
        "picture",
        "portal",
    ];
    let name = tag.name.to_string();
    if NEVER.contains(&name.as_str()) && !(ours && name == "meta") {
        return Some(format!("<{name}>"));
    }
    for attribute in &tag.attrs {
        let (key, value) = (attribute.name.local.to_string(), attribute.value.to_lowercase());
        let value: String = value
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect();
        if key.starts_with("on") {
            return Some(format!("<{name} {key}>"));
        }
        if matches!(
            key.as_str(),
            "href" | "src" | "action" | "formaction" | "xlink:href" | "background" | "srcset"
        ) && !(value.starts_with("https://")
            || value.starts_with("http://")
            || value.starts_with("mailto:"))
        {
            return Some(format!("<{name} {key}={value}>"));
        }
        if key == "style"
            && (!ours
                || value.contains("url(")
                || value.contains("expression")
                || value.contains("javascript:"))
        {
            return Some(format!("<{name} style={value}>"));
        }
    }
    None
}

#[test]
fn the_sanitising_suite_never_reaches_a_reader() {
    let folder = repo().join("../shared/corpus/feedparser/wellformed/sanitize");
    if !folder.exists() {
        if std::env::var_os("CI").is_some() {
            panic!("../shared/corpus is missing");
        }
        eprintln!("\n*** SKIPPED: ../shared/corpus is missing ***\n");
        return;
    }
    let config_text = digest_config(
        "",
        100_000,
        &feed_sources(&[("Hostile", "hostile.xml".to_string())]),
    )
    .replace(
        "audience = \"everyone\"",
        "audience = \"everyone\"\nwindow_days = 100000",
    ) + "\n[mail]\nfrom = \"Centre <news@centre.example>\"\nunsubscribe_url = \"https://centre.example/unsubscribe\"\n\
           unsubscribe_mailto = \"unsubscribe@centre.example\"\nsigning_key_env = \"UNUSED\"\n";
    let config = Config::parse(Path::new("config.toml"), &config_text, repo()).unwrap();
    let published = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let base = url::Url::parse("http://127.0.0.1/feed/").unwrap();
    let mut items: Vec<Item> = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        files += 1;
        let Ok(drafts) = parse_feed(&std::fs::read(&path).unwrap(), Some(&base), None) else {
            continue;
        };
        for mut draft in drafts {
            draft.published = Some(published);
            let item = draft.into_item("Hostile", Details::News, 100);
            for tag in start_tags(&item.summary_html) {
                assert_eq!(
                    danger(&tag, false),
                    None,
                    "{}: {}",
                    path.display(),
                    item.summary_html
                );
            }
            items.push(item);
        }
    }
    assert!(files > 700, "the whole suite: {files} files");
    assert!(items.len() > 500, "most files give an entry: {}", items.len());
    let count = items.len();
    let classified = classify(&config, items);
    let newsletter = config.newsletter("digest").unwrap();
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let edition = assemble(newsletter, &classified, date, 1, &Default::default());
    assert_eq!(edition.item_count(), count, "every item is in the edition");
    let web = render_edition(&edition, &config.site, Reader::Web).unwrap().html;
    let template = MailTemplate::new(
        &edition,
        &config.site,
        config.mail.as_ref().unwrap(),
        &repo(),
        published,
    )
    .unwrap();
    let key = Key::new(b"hostile-test-signing-key".to_vec()).unwrap();
    let mail = template
        .personalise(&key, "jane@example.de", "Jane <script>alert(1)</script>")
        .html;
    for (name, html) in [("archive page", web), ("mail", mail)] {
        let problems: Vec<String> = start_tags(&html)
            .iter()
            .filter_map(|tag| danger(tag, true))
            .collect();
        assert_eq!(problems, Vec::<String>::new(), "what survived into the {name}");
    }
}
