//! What readers and operators notice (issue 20): the "Source:" line names
//! the publisher, links inside summaries keep their URLs in the text twin,
//! the footer names the publisher as the config writes it, `fetch`'s counts
//! add up, and the bundled config's comments say how an item lands.

use serde_json::Value;

use crate::common::{Project, digest_config, feed_sources, repo};

const DATE: &str = "2026-11-23";

/// A source for a config that needs one and a test that reads none.
const UNUSED_SOURCE: &str = "\n[[source]]\nname = \"Unused\"\nfeed = \"unused.xml\"\n";

/// The bundled default, run for [`DATE`].
fn built() -> Project {
    let project = Project::bundled();
    project.run(&["run", "--date", DATE]).assert_code(0);
    project
}

/// `bulletin parse FILE --format json` on `text`, written to `name` in a
/// one-newsletter project: the items read. A local item file no source
/// reads is read as a report.
fn parse(name: &str, text: &str) -> Vec<Value> {
    let project = Project::with_config(&digest_config("", 5, UNUSED_SOURCE));
    project.write(name, text);
    let mut args = vec!["parse", name, "--format", "json"];
    if name.ends_with(".md") {
        args.extend(["--kind", "report"]);
    }
    let run = project.run(&args);
    run.assert_code(0);
    run.json().as_array().expect("an array of items").clone()
}

/// The "Source:" line each item of a parsed feed would show, by title.
fn credits(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|item| {
            let text = |name: &str| {
                item[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {name} in {item}"))
            };
            (text("title").to_string(), text("credit").to_string())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const RSS_WITH_PUBLISHERS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Wire</title><link>https://wire.example/</link><description>d</description>
<item><title>RSS source</title><link>https://wire.example/1</link>
  <source url="https://vnanet.vn/en/rss">Vietnam News Agency</source></item>
<item><title>Dublin Core publisher</title><link>https://wire.example/2</link>
  <dc:publisher>Embassy of Estonia in Tokyo</dc:publisher></item>
<item><title>Dublin Core source</title><link>https://wire.example/3</link>
  <dc:source>  Japan External Trade
    Organization  </dc:source></item>
<item><title>Publisher before source</title><link>https://wire.example/4</link>
  <dc:source>Kyodo</dc:source><source url="https://nikkei.example/rss">Nikkei</source>
  <dc:publisher>Nikkei Asia</dc:publisher></item>
<item><title>A source that is only a URL</title><link>https://wire.example/5</link>
  <dc:source>https://original.example/story</dc:source></item>
<item><title>No publisher</title><link>https://wire.example/6</link></item>
</channel></rss>"#;

#[test]
fn the_source_line_names_the_publisher_an_rss_item_gives() {
    let items = parse("wire.rss", RSS_WITH_PUBLISHERS);
    assert_eq!(
        credits(&items),
        pairs(&[
            ("RSS source", "Vietnam News Agency"),
            ("Dublin Core publisher", "Embassy of Estonia in Tokyo"),
            ("Dublin Core source", "Japan External Trade Organization"),
            ("Publisher before source", "Nikkei Asia"),
            // A URL names no publisher: the source's own name is used.
            ("A source that is only a URL", "parse"),
            ("No publisher", "parse"),
        ])
    );
}

#[test]
fn the_source_line_names_the_publisher_of_an_atom_entrys_source() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Agency</title><id>tag:a.example,2026:feed</id>
<updated>2026-11-20T00:00:00Z</updated>
<entry><title>Copied entry</title><id>tag:a.example,2026:1</id><updated>2026-11-20T00:00:00Z</updated>
  <link href="https://a.example/1"/>
  <source><id>tag:embassy.example,2026:feed</id><title type="html">Embassy of Estonia &lt;b&gt;in Tokyo&lt;/b&gt;</title>
    <updated>2026-11-19T00:00:00Z</updated></source>
  <summary>Body</summary></entry>
<entry><title>Own entry</title><id>tag:a.example,2026:2</id><updated>2026-11-20T00:00:00Z</updated>
  <link href="https://a.example/2"/><summary>Body</summary></entry>
</feed>"#;
    let items = parse("agency.atom", atom);
    assert_eq!(
        credits(&items),
        pairs(&[
            ("Copied entry", "Embassy of Estonia in Tokyo"),
            ("Own entry", "parse"),
        ])
    );
    assert_eq!(
        items[0]["summary_text"], "Body",
        "the source's title is no summary"
    );
}

#[test]
fn the_source_line_names_the_publisher_a_local_item_gives() {
    let items = parse(
        "report.md",
        "+++\ntitle = \"A study\"\nlink = \"https://r.example/1\"\npublished = 2026-11-20\nsource = \"EU Business in Japan\"\n+++\nBody.\n",
    );
    assert_eq!(credits(&items), pairs(&[("A study", "EU Business in Japan")]));
}

/// A project of local items under `notes/` (source "Centre notes", with
/// `setting` added to its `[[source]]`) and `wire/` (source "Wire desk").
fn local_project(setting: &str) -> Project {
    let sources = format!(
        "\n[[source]]\nname = \"Centre notes\"\nlocal = \"notes\"\nnewsletters = [\"digest\"]\n{setting}\n\
         \n[[source]]\nname = \"Wire desk\"\nlocal = \"wire\"\nnewsletters = [\"digest\"]\n"
    );
    let project = Project::with_config(&digest_config("", 10, &sources));
    let item = |title: &str, link: &str, extra: &str| {
        format!(
            "+++\ntitle = \"{title}\"\nlink = \"https://n.example/{link}\"\npublished = 2026-11-20\n{extra}+++\nBody of {title}.\n"
        )
    };
    project.write("notes/a.md", &item("Plain note", "a", ""));
    project.write(
        "notes/b.md",
        &item("Credited note", "b", "source = \"Embassy of Estonia in Tokyo\"\n"),
    );
    project.write("wire/c.md", &item("Wire story", "c", ""));
    project
}

/// The "Source:" line under each title in the text edition of `digest`.
fn source_lines(project: &Project) -> Vec<(String, String)> {
    project.run(&["run", "--date", DATE]).assert_code(0);
    let text = project.read(&format!("out/archive/digest/{DATE}.txt"));
    let html = project.read(&format!("out/archive/digest/{DATE}.html"));
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(credit) = line.strip_prefix("Source: ") {
            let title = lines[..i]
                .iter()
                .rev()
                .find(|l| l.ends_with(']'))
                .expect("a title above");
            assert!(
                html.contains(&format!("Source: {credit}</div>")),
                "{credit} in\n{html}"
            );
            found.push((title.split(" [").next().unwrap().to_string(), credit.to_string()));
        }
    }
    found.sort();
    found
}

#[test]
fn the_source_line_falls_back_to_the_sources_publisher_then_its_name() {
    let with_publisher = local_project("publisher = \"EU-Japan Centre\"");
    assert_eq!(
        source_lines(&with_publisher),
        pairs(&[
            ("Credited note", "Embassy of Estonia in Tokyo"),
            ("Plain note", "EU-Japan Centre"),
            ("Wire story", "Wire desk"),
        ])
    );
    // No `publisher`, or an empty one, is the source's name.
    for setting in ["", "publisher = \" \""] {
        assert_eq!(
            source_lines(&local_project(setting)),
            pairs(&[
                ("Credited note", "Embassy of Estonia in Tokyo"),
                ("Plain note", "Centre notes"),
                ("Wire story", "Wire desk"),
            ]),
            "{setting:?}"
        );
    }
}

#[test]
fn a_changed_publisher_setting_reaches_items_of_unchanged_files() {
    let project = local_project("");
    project.run(&["fetch"]).assert_code(0);
    project.edit_config(
        "name = \"Centre notes\"",
        "name = \"Centre notes\"\npublisher = \"EU-Japan Centre\"",
    );
    let fetched = project.run(&["fetch"]);
    fetched.assert_code(0);
    let row = fetched
        .stdout
        .lines()
        .find(|l| l.starts_with("Centre notes"))
        .unwrap();
    assert!(
        row.ends_with(" 0       1         1      0  ok"),
        "read again, one item updated: {row}"
    );
    let lines = source_lines(&project);
    assert!(
        lines.contains(&("Plain note".to_string(), "EU-Japan Centre".to_string())),
        "{lines:?}"
    );
}

#[test]
fn the_bundled_editions_name_each_items_publisher() {
    let project = built();
    let agency = project.run(&["parse", "feeds/digital-agency.atom", "--format", "json"]);
    agency.assert_code(0);
    let items = agency.json();
    let estonia = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Japan and Estonia"))
        .expect("the Estonia story");
    assert_eq!(estonia["credit"], "Embassy of Estonia in Tokyo");
    let body = estonia["summary_text"].as_str().unwrap();
    assert!(!body.contains("Source:"), "said once, in its place: {body}");
    // Local events, reports and press reviews are the centre's own.
    let text = project.read(&format!("out/archive/eu-japan-news/{DATE}.txt"));
    assert!(text.contains("Source: EU-Japan Centre\n"), "{text}");
    for id in ["eu-japan-news", "tech-transfer", "about-japan"] {
        let text = project.read(&format!("out/archive/{id}/{DATE}.txt"));
        for wrong in ["events", "reports", "press review"] {
            assert!(
                !text.contains(&format!("Source: EU-Japan Centre {wrong}\n")),
                "{id}: {wrong}"
            );
        }
    }
}

/// Text with its white space collapsed: wrapped lines joined, as a reader reads them.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of an HTML page as a reader sees it: tags dropped, white space
/// collapsed.
fn visible(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    words(&text)
}

/// The URL a text edition gives for the link labelled `label`: the
/// reference number after the label (wrapped lines joined), looked up in
/// the references at the end.
#[track_caller]
fn reference_of(text: &str, label: &str) -> String {
    let flat = words(text);
    let after = &flat[flat
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in\n{text}"))
        + label.len()..];
    let number = after
        .strip_prefix(" [")
        .and_then(|rest| rest.split_once(']'))
        .map(|(n, _)| n)
        .unwrap_or_else(|| {
            panic!(
                "{label:?} has no reference number: {:?}",
                &after[..40.min(after.len())]
            )
        });
    let references = &text[text.rfind("\nReferences\n").expect("a references list")..];
    references
        .lines()
        .find_map(|line| line.strip_prefix(&format!("[{number}] ")))
        .unwrap_or_else(|| panic!("no [{number}] in {references}"))
        .to_string()
}

/// A digest of five items from one source, NAME, reading the feed FILE
/// with these `contents`.
fn one_feed(name: &str, file: &str, contents: &str) -> Project {
    let sources = feed_sources(&[(name, file.to_string())]);
    let project = Project::with_config(&digest_config("", 5, &sources));
    project.write(file, contents);
    project
}

#[test]
fn links_inside_summaries_are_numbered_references_in_the_text_twin() {
    let project = one_feed(
        "Centre",
        "centre.rss",
        r#"<rss version="2.0"><channel><title>C</title><link>https://c.example/</link><description>d</description>
<item><title>Horizon Europe info day</title><link>https://c.example/news/info-day</link><pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>
<description><![CDATA[<p>Calls for 2027 explained.</p><p><a href="https://c.example/events/info-day?utm_source=rss">Agenda and registration</a>
or <a href="https://c.example/news/info-day">the news page</a>.</p>]]></description></item>
<item><title>Agri-food exports to Japan</title><link>https://c.example/news/agri-food</link><pubDate>Thu, 19 Nov 2026 09:00:00 +0000</pubDate>
<description><![CDATA[<p>A record year. See <a href="https://c.example/epa-helpdesk/agri-food">EPA Helpdesk: agri-food fact sheets</a>.</p>]]></description></item>
</channel></rss>"#,
    );
    project.run(&["run", "--date", DATE]).assert_code(0);
    let news = project.read(&format!("out/archive/digest/{DATE}.txt"));
    assert_eq!(
        reference_of(&news, "Agenda and registration"),
        "https://c.example/events/info-day"
    );
    assert_eq!(
        reference_of(&news, "EPA Helpdesk: agri-food fact sheets"),
        "https://c.example/epa-helpdesk/agri-food"
    );
    // Tracking parameters are gone from these as from item links.
    assert!(!news.contains("utm_"), "{news}");
    // The item's own link keeps its number when the summary links it again.
    assert_eq!(
        reference_of(&news, "the news page"),
        "https://c.example/news/info-day"
    );
    let references = &news[news.rfind("\nReferences\n").unwrap()..];
    let numbers: Vec<&str> = references.lines().skip(2).filter(|l| !l.is_empty()).collect();
    let unique: std::collections::HashSet<&str> =
        numbers.iter().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(unique.len(), numbers.len(), "each URL listed once: {numbers:#?}");
}

#[test]
fn unsafe_links_in_summaries_never_reach_the_text_twin() {
    let project = one_feed(
        "Hostile",
        "hostile.rss",
        r#"<rss version="2.0"><channel><title>H</title><link>https://h.example/</link><description>d</description>
<item><title>Links of every kind</title><link>https://h.example/1</link><pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>
<description><![CDATA[<p>Read <a href="javascript:alert(1)">the script</a>, <a href="data:text/html;base64,PHNjcmlwdD4=">the data</a>,
<a href="vbscript:msgbox(1)">the vb</a>, <a href="JaVaScRiPt:alert(2)">the mixed case</a> and
<a href="https://h.example/safe?utm_source=x">the safe one</a>, or write to <a href="mailto:desk@h.example">the desk</a>.</p>]]></description></item>
</channel></rss>"#,
    );
    project.run(&["run", "--date", DATE]).assert_code(0);
    let text = project.read(&format!("out/archive/digest/{DATE}.txt"));
    for bad in [
        "javascript:",
        "data:",
        "vbscript:",
        "JaVaScRiPt",
        "alert",
        "base64",
    ] {
        assert!(
            !text.to_lowercase().contains(&bad.to_lowercase()),
            "{bad} in\n{text}"
        );
    }
    let flat = words(&text);
    for dead in ["the script,", "the data,", "the vb,", "the mixed case and"] {
        assert!(
            flat.contains(dead),
            "{dead:?}: the text stays, with no number, in\n{text}"
        );
    }
    assert_eq!(reference_of(&text, "the safe one"), "https://h.example/safe");
    assert_eq!(reference_of(&text, "the desk"), "mailto:desk@h.example");
}

#[test]
fn the_footer_names_the_publisher_as_the_config_writes_it() {
    let project = built();
    let publisher = "the EU-Japan Centre for Industrial Cooperation";
    let html = project.read(&format!("out/archive/eu-japan-news/{DATE}.html"));
    assert!(
        visible(&html).contains(&format!("EU-Japan NEWS is published by {publisher}.")),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://www.eu-japan.eu/\" "),
        "the publisher links home"
    );
    let text = project.read(&format!("out/archive/eu-japan-news/{DATE}.txt"));
    assert!(
        words(&text).contains(&format!(
            "EU-Japan NEWS is published by {publisher}: https://www.eu-japan.eu/"
        )),
        "{text}"
    );
    for page in [
        "out/index.html",
        "out/archive/index.html",
        "out/archive/about-japan/index.html",
    ] {
        let archive = project.read(page);
        assert!(
            visible(&archive).contains(&format!("Published by {publisher}.")),
            "{page}:\n{archive}"
        );
    }
    // Without `publisher`, or with an empty one, the footer names the site.
    for setting in ["", "publisher = \"\"\n"] {
        let plain = local_project("");
        plain.edit_config(
            "name = \"Test centre\"\n",
            &format!("name = \"Test centre\"\n{setting}"),
        );
        plain.run(&["run", "--date", DATE]).assert_code(0);
        let text = plain.read(&format!("out/archive/digest/{DATE}.txt"));
        assert!(
            words(&text).contains("Digest is published by Test centre: https://centre.example/"),
            "{setting:?}: {text}"
        );
    }
}

/// `fetch`'s table as rows of cells, the header first.
fn fetch_table(stdout: &str) -> Vec<Vec<String>> {
    let header = stdout.lines().next().expect("a header");
    let status = header.find("STATUS").expect("a STATUS column");
    stdout
        .lines()
        .take_while(|line| line.len() > status && !line.contains(" sources not modified"))
        .map(|line| {
            let (name, rest) = line.split_at(32);
            let mut cells = vec![name.trim().to_string()];
            cells.extend(rest[..status - 32].split_whitespace().map(str::to_string));
            cells
        })
        .collect()
}

#[test]
fn fetch_counts_add_up_with_the_merged_duplicates() {
    let project = Project::bundled();
    let run = project.run(&["fetch"]);
    run.assert_code(0);
    let table = fetch_table(&run.stdout);
    assert_eq!(
        table[0],
        ["SOURCE", "ITEMS", "NEW", "UPDATED", "UNCHANGED", "MERGED"],
        "{}",
        run.stdout
    );
    let mut total = [0; 5];
    for row in &table[1..] {
        let n: Vec<usize> = row[1..].iter().map(|c| c.parse().expect("a number")).collect();
        assert_eq!(n[0], n[1] + n[2] + n[3] + n[4], "{row:?} adds up");
        for (sum, value) in total.iter_mut().zip(&n) {
            *sum += value;
        }
    }
    let wire = table
        .iter()
        .find(|r| r[0] == "Japan Business Wire")
        .expect("the wire");
    assert_eq!(wire[1..], ["12", "11", "0", "0", "1"], "{}", run.stdout);
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("sources not modified"))
        .unwrap();
    assert_eq!(
        summary,
        format!(
            "{} new, 0 updated, 0 unchanged, 1 merged as a duplicate; 0 of 9 sources not modified",
            total[1]
        )
    );
    assert_eq!(total[0], total[1] + 1);
    let stored = project.run(&["items", "--format", "json"]);
    assert_eq!(
        stored.json().as_array().unwrap().len(),
        total[1],
        "new items are the stored ones"
    );
}

/// The examples of `schedule = { … }` in the bundled config's comments.
fn commented_schedules() -> Vec<String> {
    let config = std::fs::read_to_string(repo().join("config.toml")).unwrap();
    config
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .filter_map(|comment| {
            let at = comment.find("schedule = {")?;
            let example = &comment[at + "schedule = ".len()..];
            Some(example[..=example.find('}')?].to_string())
        })
        .collect()
}

/// Which form of schedule a parsed one is. A new form the parser accepts
/// fails to compile here, and then needs its example in the comment.
fn form(schedule: bulletin::config::Schedule) -> &'static str {
    use bulletin::config::Schedule;
    match schedule {
        Schedule::Weekly { every: 1, .. } => "weekly",
        Schedule::Weekly { .. } => "every few weeks",
        Schedule::MonthlyWeekday { .. } => "a weekday of the month",
        Schedule::MonthlyDay { .. } => "a day of the month",
    }
}

#[test]
fn the_bundled_configs_schedule_examples_are_what_the_parser_accepts() {
    let examples = commented_schedules();
    let mut forms = std::collections::BTreeSet::new();
    for example in &examples {
        let config = digest_config("", 5, UNUSED_SOURCE).replacen(
            "audience = \"everyone\"",
            &format!("audience = \"everyone\"\nschedule = {example}"),
            1,
        );
        let project = Project::with_config(&config);
        let parsed = bulletin::config::Config::from_file(&project.path("config.toml"))
            .unwrap_or_else(|e| panic!("the comment's {example} is refused: {e}"));
        forms.insert(form(parsed.newsletters[0].schedule));
    }
    assert_eq!(
        forms.into_iter().collect::<Vec<_>>(),
        [
            "a day of the month",
            "a weekday of the month",
            "every few weeks",
            "weekly"
        ],
        "every form, and only those, from {examples:?}"
    );
}

#[test]
fn the_bundled_configs_comment_says_how_an_item_is_scored() {
    let config = std::fs::read_to_string(repo().join("config.toml")).unwrap();
    let comments: String = config
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let comments = words(&comments);
    // Each part of the score, by the key that sets it, and what decides.
    for key in [
        "`newsletters`",
        "`weight`",
        "`kinds`",
        "`title_weight`",
        "`threshold`",
        "`exclude`",
        "`kinds` include",
    ] {
        assert!(
            comments.contains(key),
            "the comments say nothing of {key}:\n{comments}"
        );
    }
}
