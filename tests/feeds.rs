//! Feeds read as other mature readers read them, checked where a user
//! looks: `bulletin parse FILE --format json` (and `fetch` for what the
//! store and the source's report show).

use serde_json::Value;

use crate::common::{Project, Run, digest_config, feed_sources, repo};

/// A one-newsletter project reading the feed files `feeds` (name, path).
fn project(feeds: &[(&str, &str)]) -> Project {
    let sources: Vec<(&str, String)> = feeds.iter().map(|(n, p)| (*n, p.to_string())).collect();
    Project::with_config(&digest_config("", 20, &feed_sources(&sources)))
}

/// A project for `bulletin parse`, which reads no configured source.
fn parse_project() -> Project {
    project(&[("Unused", "feeds/unused.xml")])
}

/// `bulletin parse PATH --format json` in a fresh project.
fn parse(path: &std::path::Path) -> Run {
    parse_project().run(&["parse", path.to_str().expect("a UTF-8 path"), "--format", "json"])
}

/// The items `bulletin parse` read from a fixture.
fn parse_fixture(name: &str) -> Vec<Value> {
    let run = parse(&repo().join("tests/fixtures").join(name));
    run.assert_code(0);
    run.json().as_array().expect("an array of items").clone()
}

/// `bulletin parse` on a feed written to a file first.
fn parse_text(name: &str, text: &str) -> Run {
    let project = parse_project();
    project.write(name, text);
    project.run(&["parse", name, "--format", "json"])
}

fn field<'a>(item: &'a Value, name: &str) -> &'a str {
    item[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {item}"))
}

/// Text with its white space collapsed: how a reader sees it.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn atom_html_text_with_raw_elements_keeps_all_its_text() {
    let items = parse_fixture("atom_html_with_elements.xml");
    let titles: Vec<&str> = items.iter().map(|i| field(i, "title")).collect();
    assert_eq!(
        titles,
        [
            "naked markup end",
            "cdata part and raw nested & end",
            "mime typed end",
            "all markup"
        ]
    );
    // Summaries and content keep their markup as HTML, sanitised as usual.
    let html = field(&items[0], "summary_html");
    assert!(
        html.contains("<p>para <a href=\"https://fixture.example/more\""),
        "{html}"
    );
    assert_eq!(words(field(&items[0], "summary_text")), "intro para link tail");
    assert!(field(&items[1], "summary_html").contains("<strong>deep</strong>"));
    assert_eq!(
        words(field(&items[1], "summary_text")),
        "first one deep second third été"
    );
    let hostile = field(&items[2], "summary_html");
    assert!(
        !hostile.contains("script") && !hostile.contains("onerror") && !hostile.contains("alert"),
        "{hostile}"
    );
    assert_eq!(words(field(&items[2], "summary_text")), "safe text kept");
    assert_eq!(words(field(&items[3], "summary_text")), "one two");
}

#[test]
fn rss_items_fall_back_to_extension_summaries_in_the_documented_order() {
    let items = parse_fixture("rss_extension_summaries.xml");
    let summaries: Vec<(&str, String)> = items
        .iter()
        .map(|i| (field(i, "title"), words(field(i, "summary_text"))))
        .collect();
    let expected = [
        ("dc", "From Dublin Core"),
        ("d", "Other prefix"),
        ("itunes", "Plain podcast notes: 3 < 4 & done"),
        ("atom summary", "Atom summary"),
        ("a content", "XHTML content"),
        ("default ns", "Declared on the element"),
        ("media", "Media description"),
        ("xhtml body", "Body text"),
        ("raw markup", "Raw bold words"),
        ("description first", "The description"),
        ("content first", "The content"),
        ("atom first", "Atom content"),
        ("dc before itunes", "Dublin Core wins"),
        ("empty skipped", "Non-empty wins"),
    ];
    let expected: Vec<(&str, String)> = expected.iter().map(|(t, s)| (*t, s.to_string())).collect();
    assert_eq!(summaries, expected);
    // Markup in them is HTML (sanitised), as in a description.
    assert!(field(&items[0], "summary_html").contains("<b>Dublin</b>"));
    assert!(field(&items[4], "summary_html").contains("<b>content</b>"));
    // The teaser is made from the summary, not the title.
    assert_eq!(field(&items[6], "teaser"), "Media description");
}

#[test]
fn a_guid_wrapped_in_markup_is_its_text() {
    let items = parse_fixture("rss_guid_with_markup.xml");
    let ids: Vec<&str> = items.iter().map(|i| field(i, "id")).collect();
    assert_eq!(ids[0], ids[1], "the same guid, wrapped in <p>, is the same item");
    assert_eq!(ids[3], ids[4], "nested elements and CDATA: the same guid");
    assert_ne!(ids[0], ids[3]);
    // A permalink guid wrapped in markup is still the item's page.
    assert_eq!(field(&items[2], "link"), "https://fixture.example/posts/7");
}

#[test]
fn a_story_whose_guid_is_wrapped_in_markup_is_updated_in_place() {
    let feed = |title: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><title>{title}</title>\
             <guid isPermaLink=\"false\"><p>story-1</p></guid>\
             <pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"
        )
    };
    let project = project(&[("Wrapped", "feeds/wrapped.xml")]);
    project.write("feeds/wrapped.xml", &feed("Story"));
    project.run(&["fetch"]).assert_code(0);
    project.write("feeds/wrapped.xml", &feed("Story, corrected"));
    let second = project.run(&["fetch"]);
    second
        .assert_code(0)
        .assert_stdout_has("0 new, 1 updated, 0 unchanged");
    let items = project.run(&["items", "--format", "json"]).json();
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    assert_eq!(items[0]["title"], "Story, corrected");
}

#[test]
fn feeds_without_entries_are_empty_feeds() {
    let empty = [
        ("rss.xml", r#"<rss version="2.0"></rss>"#),
        (
            "rss-space.xml",
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\">\n</rss>\n",
        ),
        ("rss-self-closed.xml", r#"<rss version="2.0"/>"#),
        ("rss-no-version.xml", "<rss></rss>"),
        ("rss-empty-channel.xml", r#"<rss version="2.0"><channel/></rss>"#),
        (
            "rss-channel-only.xml",
            r#"<rss version="2.0"><channel><title>T</title><link>https://x.example/</link></channel></rss>"#,
        ),
        (
            "rss-091.xml",
            r#"<rss version="0.91"><channel><title>T</title></channel></rss>"#,
        ),
        (
            "rdf.xml",
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"></rdf:RDF>"#,
        ),
        ("atom.xml", r#"<feed xmlns="http://www.w3.org/2005/Atom"></feed>"#),
        (
            "atom-self-closed.xml",
            r#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#,
        ),
        (
            "feed.json",
            r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}"#,
        ),
    ];
    for (name, text) in empty {
        let run = parse_text(name, text);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.json(), serde_json::json!([]), "{name}");
    }
}

#[test]
fn an_empty_feed_is_fetched_as_a_source_with_no_items() {
    let project = project(&[("Empty", "feeds/empty.xml")]);
    project.write("feeds/empty.xml", r#"<rss version="2.0"></rss>"#);
    let run = project.run(&["fetch"]);
    run.assert_code(0);
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Empty"))
        .expect("a row");
    assert_eq!(words(row), "Empty 0 0 0 0 0 ok");
}

#[test]
fn a_document_that_is_no_feed_says_what_its_root_is() {
    let run = parse_text("list.opml", "<opml version='2.0'><body/></opml>");
    run.assert_code(1).assert_stderr_has(
        "not a valid feed: its root element is <opml>; a feed's is <rss>, <rdf:RDF> or <feed>",
    );
}

#[test]
fn json_feed_with_a_bare_version_number_is_read_with_a_warning() {
    let v1 = "https://jsonfeed.org/version/1";
    let v11 = "https://jsonfeed.org/version/1.1";
    for (version, url) in [
        (r#""1.0""#, v1),
        (r#""1.1""#, v11),
        (r#""1""#, v1),
        ("1.1", v11),
        (r#""http://jsonfeed.org/version/1""#, v1),
    ] {
        let feed = format!(
            r#"{{"version": {version}, "title": "J", "items": [{{"id": "1", "title": "One", "url": "https://j.example/1", "content_text": "Text"}}]}}"#
        );
        let run = parse_text("feed.json", &feed);
        assert_eq!(run.code, 0, "{version}: {}", run.stderr);
        let items = run.json();
        assert_eq!(items[0]["title"], "One", "{version}");
        assert_eq!(items[0]["summary_text"], "Text", "{version}");
        assert!(
            run.stderr.contains(&format!(
                "warning: feed.json: version {version} is not a JSON Feed version URL; read as {url}\n"
            )),
            "{version}: {}",
            run.stderr
        );
    }
}

#[test]
fn json_feed_version_warning_is_in_the_check_and_fetch_reports() {
    let project = project(&[("Json", "feeds/feed.json")]);
    project.write(
        "feeds/feed.json",
        r#"{"version": "1.0", "title": "J", "items": [{"id": "1", "title": "One", "url": "https://j.example/1"}]}"#,
    );
    let warning = "warning: source \"Json\": version \"1.0\" is not a JSON Feed version URL; read as https://jsonfeed.org/version/1\n";
    project.run(&["check"]).assert_code(0).assert_stderr_has(warning);
    let run = project.run(&["fetch"]);
    run.assert_code(0);
    let row = run.stdout.lines().find(|l| l.starts_with("Json")).expect("a row");
    assert_eq!(words(row), "Json 1 1 0 0 0 ok, 1 warning");
    run.assert_stderr_has(warning);
}

#[test]
fn json_feed_of_an_unknown_version_is_refused() {
    let run = parse_text(
        "feed.json",
        r#"{"version": "https://jsonfeed.org/version/2", "title": "J", "items": []}"#,
    );
    run.assert_code(1)
        .assert_stderr_has("unsupported version: https://jsonfeed.org/version/2");
}

/// The kind each folder of the bundled `feeds/local/` holds, as the bundled
/// config's sources say.
const LOCAL_FOLDERS: [(&str, &str); 4] = [
    ("events", "event"),
    ("tenders", "tender"),
    ("reports", "report"),
    ("press-review", "press-review"),
];

#[test]
fn parse_reads_every_bundled_local_file_as_the_kind_its_source_gives() {
    let project = Project::bundled();
    let mut files = 0;
    for (folder, kind) in LOCAL_FOLDERS {
        for entry in std::fs::read_dir(project.path(&format!("feeds/local/{folder}"))).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let path = format!("feeds/local/{folder}/{name}");
            let run = project.run(&["parse", &path, "--format", "json"]);
            run.assert_code(0);
            let items = run.json();
            let item = &items.as_array().expect("an array")[0];
            assert_eq!(field(item, "kind"), kind, "{path}");
            assert_ne!(
                field(item, "source"),
                "parse",
                "{path}: the configured source's name"
            );
            files += 1;
        }
    }
    assert!(files >= 20, "every bundled local file: {files}");
    // An absolute path names the same file.
    let absolute = project.path("feeds/local/tenders/nho-mri-systems.toml");
    let run = project.run(&["parse", absolute.to_str().unwrap(), "--format", "json"]);
    run.assert_code(0);
    assert_eq!(field(&run.json()[0], "kind"), "tender");
}

#[test]
fn parse_takes_the_kind_of_a_file_under_no_source_from_kind_or_says_how_to_give_it() {
    let project = Project::bundled();
    let event = project.read("feeds/local/events/get-ready-for-japan-2027.md");
    project.write("drafts/event.md", &event);
    let run = project.run(&["parse", "drafts/event.md"]);
    run.assert_code(1)
        .assert_stderr_has("drafts/event.md is under no source's `local` in")
        .assert_stderr_has("--kind event");
    let run = project.run(&["parse", "drafts/event.md", "--kind", "event", "--format", "json"]);
    run.assert_code(0);
    assert_eq!(field(&run.json()[0], "kind"), "event");
    // --kind wins over the source's kind, and its errors name the file once.
    let run = project.run(&[
        "parse",
        "feeds/local/events/get-ready-for-japan-2027.md",
        "--kind",
        "news",
    ]);
    run.assert_code(1);
    assert_eq!(
        run.stderr.matches("get-ready-for-japan-2027.md").count(),
        1,
        "{}",
        run.stderr
    );
    project
        .run(&["parse", "drafts/event.md", "--kind", "webinar"])
        .assert_code(2)
        .assert_stderr_has("press-review");
}
