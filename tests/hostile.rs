//! Hostile content: every file of feedparser's sanitising suite (hundreds of
//! XSS vectors) through bulletin's own pipeline to a rendered edition, and the
//! output checked by tokenising it as a browser would, not by string search.

use std::cell::RefCell;
use std::path::Path;

use bulletin::audience::Key;
use bulletin::classify::classify;
use bulletin::config::Config;
use bulletin::editions::assemble;
use bulletin::items::{Details, Item};
use bulletin::mail::MailTemplate;
use bulletin::render::{Reader, render_edition};
use bulletin::sources::parse_feed;
use chrono::{NaiveDate, TimeZone, Utc};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::common::server::Server;
use crate::common::{KEY_ENV, Project, digest_config, feed_sources, files_under, repo};

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
    let weights = bulletin::classify::Weights::default();
    let classified = classify(&config, &weights, items);
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
        // The head is the template's alone (its `<style>` is the dark
        // scheme); what came from outside is in the body.
        let body = &html[html.find("<body").expect("a body")..];
        let problems: Vec<String> = start_tags(body)
            .iter()
            .filter_map(|tag| danger(tag, true))
            .collect();
        assert_eq!(problems, Vec::<String>::new(), "what survived into the {name}");
    }
}

/// A copy of the bundled project with the file transport, one more source
/// (`fixture`, a feed in tests/fixtures/, for "EU-Japan NEWS") and these
/// subscribers imported.
fn bundled_with_feed(fixture: &str, subscribers: &str) -> Project {
    let project = Project::bundled();
    std::fs::copy(repo().join("tests/fixtures").join(fixture), project.path(fixture)).unwrap();
    let config = project
        .read("config.toml")
        .replace("BULLETIN_UNSUBSCRIBE_KEY", KEY_ENV)
        + &format!(
            "\n[[source]]\nname = \"Hostile\"\nfeed = \"{fixture}\"\nnewsletters = [\"eu-japan-news\"]\n"
        );
    project.write("config.toml", &config);
    project.import(subscribers);
    project
}

/// A message's headers and each of its parts decoded (quoted-printable or
/// base64), as a reader's mail program shows them.
fn decoded(message: &str) -> Vec<String> {
    use base64::Engine;
    let message = message.replace("\r\n", "\n");
    let mut shown = vec![message[..message.find("\n\n").unwrap()].to_string()];
    for part in message.split("Content-Transfer-Encoding: ").skip(1) {
        let encoding = &part[..part.find('\n').unwrap()];
        let body = &part[part.find("\n\n").unwrap() + 2..];
        let body = &body[..body.find("\n--").unwrap_or(body.len())];
        let bytes = match encoding.trim() {
            "quoted-printable" => {
                quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap()
            }
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(body.replace('\n', ""))
                .unwrap(),
            _ => body.as_bytes().to_vec(),
        };
        shown.push(String::from_utf8(bytes).unwrap());
    }
    shown
}

/// The words of `text`, one space between each.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}')
}

#[test]
fn template_placeholders_in_feeds_local_items_and_names_are_plain_text() {
    let subscribers = "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
        jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n\
        taro@example.jp,Taro \u{E000}unsubscribe\u{E000} Yamada,\u{E000}greeting\u{E000} KK,company,JP,eu-japan-news,2025-02-01\n";
    let project = bundled_with_feed("placeholders.rss", subscribers);
    project.write(
        "feeds/local/events/placeholders.toml",
        "title = \"DELTA \\uE000greeting\\uE000 EPSILON: EU-Japan seminar\"\n\
         link = \"https://www.eu-japan.eu/events/placeholders\"\n\
         published = 2026-11-20\nstart = 2027-01-20\n\
         place = \"Tokyo \\uE000unsubscribe\\uE000 hall\"\n\
         categories = [\"\\uE000greeting\\uE000\"]\n\
         summary = \"ZETA \\uE000unsubscribe\\uE000 ETA\"\n",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let mails: Vec<_> = files_under(&project.path("out/mail/eu-japan-news"));
    assert_eq!(mails.len(), 2, "{mails:?}");
    for mail in mails {
        let shown = decoded(&std::fs::read_to_string(&mail).unwrap());
        let [headers, text, html] = &shown[..] else {
            panic!("{}: headers, text and HTML: {shown:?}", mail.display())
        };
        for part in [headers, text, html] {
            assert!(!part.chars().any(is_private_use), "{}: {part}", mail.display());
        }
        for part in [text, html] {
            let part = words(part);
            assert_eq!(part.matches("Dear ").count(), 1, "one greeting: {part}");
            for written in [
                "ALPHA greeting OMEGA",
                "BETA unsubscribe GAMMA",
                "DELTA greeting EPSILON",
            ] {
                assert!(
                    part.contains(written),
                    "{}: {written:?} in {part}",
                    mail.display()
                );
            }
        }
        if headers.contains("taro@example.jp") {
            assert!(words(text).contains("Dear Taro unsubscribe Yamada,"), "{text}");
        }
    }
}

/// What `text` carries that would drive a terminal or reorder a line:
/// control characters other than line breaks, and bidi controls.
fn drivers(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\r' && c != '\t')
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
fn control_characters_in_feed_titles_reach_no_terminal_mail_or_atom_feed() {
    let subscribers = "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
        jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n";
    let project = bundled_with_feed("controls.rss", subscribers);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let items = project.run(&["items"]);
    let parsed = project.run(&["parse", "controls.rss"]);
    for (name, run) in [("items", &items), ("parse", &parsed)] {
        run.assert_code(0);
        assert_eq!(drivers(&run.stdout), Vec::<char>::new(), "{name}: {}", run.stdout);
        assert!(
            run.stdout.contains("the screen and ring the bell here"),
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("Invoice fdp.exe for"),
            "{name}: {}",
            run.stdout
        );
    }
    let atom = project.read("out/archive/eu-japan-news/feed.xml");
    let document = roxmltree::Document::parse(&atom).unwrap_or_else(|e| panic!("{e}: {atom}"));
    let summaries: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("summary"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("Invoice fdp.exe for the EU-Japan")),
        "{summaries:?}"
    );
    let mails = files_under(&project.path("out/mail/eu-japan-news"));
    assert_eq!(mails.len(), 1, "{mails:?}");
    for part in decoded(&std::fs::read_to_string(&mails[0]).unwrap()) {
        assert_eq!(drivers(&part), Vec::<char>::new(), "{part}");
        assert!(words(&part).contains("the screen and ring the bell here") || part.contains("Subject:"));
    }
}

/// CPU time `pid` has used, in clock ticks (user + system, /proc/PID/stat).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // After the name: state is field 3, utime 14 and stime 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn the_preview_watcher_survives_symlink_loops_at_rest() {
    let project = Project::bundled();
    std::os::unix::fs::symlink(".", project.path("feeds/a")).unwrap();
    std::os::unix::fs::symlink(".", project.path("feeds/b")).unwrap();
    std::os::unix::fs::symlink("..", project.path("feeds/local/up")).unwrap();
    let preview = Server::preview(&project, &[]);
    let (status, index) = preview.get("/");
    assert_eq!(status, 200, "{index}");
    assert!(index.contains("EU-Japan NEWS"), "{index}");
    let before = cpu_ticks(preview.pid());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = cpu_ticks(preview.pid()) - before;
    // Watching a few dozen files every 400 ms costs next to nothing; walking
    // the loops took 90% of a core.
    assert!(used < 40, "{used} ticks of CPU in 2 s at rest");
}
