//! `bulletin build` on the bundled default and on a hostile feed.

use unicode_width::UnicodeWidthStr;

use crate::common::message::section;
use crate::common::{NEWSLETTERS, Project, digest_config, feed_sources};

const DATE: &str = "2026-11-23";

fn built() -> Project {
    let project = Project::bundled();
    project.run(&["run", "--date", DATE]).assert_code(0);
    project
}

/// The edition of `newsletter` for [`DATE`] in `out/archive/`, as `ext`
/// ("html" or "txt").
fn archived(project: &Project, newsletter: &str, ext: &str) -> String {
    project.read(&format!("out/archive/{newsletter}/{DATE}.{ext}"))
}

#[test]
fn bundled_default_writes_five_editions_and_an_index() {
    let project = built();
    let index = project.read("out/index.html");
    for id in NEWSLETTERS {
        let html = archived(&project, id, "html");
        let text = archived(&project, id, "txt");
        assert!(
            html.contains("23/11/2026"),
            "{id}: the date in the configured format"
        );
        assert!(
            html.matches("<h3").count() >= 3,
            "{id}: a full edition has several items in full"
        );
        assert!(
            text.contains("References\n[1] https://"),
            "{id}: text twin lists its links"
        );
        assert!(
            index.contains(&format!("href=\"archive/{id}/{DATE}.html\"")),
            "index links {id}"
        );
        assert!(
            index.contains(&format!("href=\"archive/{id}/{DATE}.txt\"")),
            "index links {id} text"
        );
    }
}

#[test]
fn items_land_in_their_newsletter_and_section() {
    let project = built();
    let tax = archived(&project, "tax-procurement", "html");
    let tenders = section(&tax, "Open Tenders");
    assert!(
        tenders.contains("気象観測装置の調達"),
        "a Japanese tender is in the tender section"
    );
    assert!(tenders.contains("Deadline: "), "tenders show their deadline");
    let news = archived(&project, "eu-japan-news", "html");
    assert!(news.contains("Japan and Estonia review digital cooperation"));
    let events = section(&news, "Events");
    assert!(events.contains("Online and in Japan"));
    assert!(
        events.contains("18/01/2027 - 12/02/2027"),
        "events show their date range"
    );
    assert!(
        !news.contains("Anime film passes"),
        "an unrelated item is in no newsletter"
    );
}

#[test]
fn tenders_are_ordered_by_deadline_and_events_by_start() {
    let project = built();
    let tax = archived(&project, "tax-procurement", "html");
    let deadlines: Vec<chrono::NaiveDate> = section(&tax, "Open Tenders")
        .split("Deadline: ")
        .skip(1)
        .map(|rest| chrono::NaiveDate::parse_from_str(&rest[..10], "%d/%m/%Y").unwrap())
        .collect();
    assert!(deadlines.len() >= 5, "{deadlines:?}");
    assert!(deadlines.is_sorted(), "{deadlines:?}");
}

#[test]
fn expired_tender_and_past_event_are_left_out() {
    let project = built();
    let tax = archived(&project, "tax-procurement", "html");
    assert!(
        !tax.contains("ABCI extension"),
        "the tender that closed on 20/11/2026 is left out"
    );
    assert!(tax.contains("Cryo-electron microscope"), "an open tender is in");
    let news = archived(&project, "eu-japan-news", "html");
    assert!(
        !news.contains("Hydrogen Business Forum 2026"),
        "the event that ended on 12/11/2026 is left out"
    );
}

#[test]
fn text_twin_wraps_at_72_columns_with_teasers() {
    let project = built();
    for id in NEWSLETTERS {
        let text = archived(&project, id, "txt");
        for line in text.lines().filter(|l| !l.contains("https://")) {
            assert!(line.width() <= 72, "{id}: {line:?} is {} columns", line.width());
        }
    }
    let text = archived(&project, "eu-japan-news", "txt");
    let more = &text[text.find("\nMore\n").expect("a More list")..];
    assert!(
        more.lines().any(|l| l.ends_with('…')),
        "More teasers are cut with an ellipsis"
    );
    let industry = archived(&project, "industry-policy", "txt");
    assert!(industry.contains("経済産業省"), "Japanese text survives");
}

#[test]
fn every_link_in_the_mail_is_absolute() {
    let project = built();
    for id in NEWSLETTERS {
        let html = archived(&project, id, "html");
        for href in html
            .split("href=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
        {
            assert!(
                href.starts_with("https://") || href.starts_with("http://"),
                "{id}: {href}"
            );
            assert!(!href.contains("utm_"), "{id}: tracking parameter kept in {href}");
        }
    }
}

#[test]
fn hostile_feed_never_reaches_the_html() {
    let project = Project::empty();
    project.write("feeds/hostile.rss", include_str!("fixtures/hostile.rss"));
    let feed = [("Hostile", "feeds/hostile.rss".to_string())];
    project.write("config.toml", &digest_config("", 5, &feed_sources(&feed)));
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let page = project.read("out/archive/digest/2026-11-23.html").to_lowercase();
    // The head is the template's alone (its `<style>` is the dark scheme).
    let html = &page[page.find("<body").expect("a body")..];
    for bad in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "data:text",
        "<iframe",
        "<style",
        "style=\"background:url",
        "track.example",
        "evil.example",
        "<img",
        "<svg",
        "<form",
        "<input",
    ] {
        assert!(!html.contains(bad), "{bad:?} reached the HTML");
    }
    assert!(
        html.contains("a public procurement notice."),
        "the text itself is kept"
    );
    assert!(
        html.contains("href=\"https://hostile.example/relative/page\""),
        "relative links made absolute"
    );
    assert!(
        html.contains("for procurement of sensors</a>"),
        "the title's text is kept"
    );
    assert!(!html.contains("alert"), "no script text either");
    let text = project.read("out/archive/digest/2026-11-23.txt");
    assert!(
        text.contains("https://hostile.example/tender?id=7"),
        "canonical link without utm_source"
    );
}

#[test]
fn an_edition_gmail_would_clip_gets_a_warning() {
    let local = "[[source]]\nname = \"Long reads\"\nlocal = \"feeds/local\"\nnewsletters = [\"digest\"]\n";
    let project = Project::with_config(&digest_config("", 50, local));
    let paragraph = "A long paragraph about trade between the European Union and Japan. ".repeat(40);
    for i in 0..40 {
        project.write(
            &format!("feeds/local/{i}.md"),
            &format!("+++\ntitle = \"Long read {i}\"\nlink = \"https://long.example/{i}\"\npublished = 2026-11-20\n+++\n{paragraph}\n"),
        );
    }
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0).assert_stderr_has("warning: digest No. 1 is 1");
    run.assert_stderr_has("Gmail clips messages past about 100 KB");
}

#[test]
fn the_archive_has_an_index_and_an_atom_feed_per_newsletter() {
    let project = built();
    let base = "https://www.eu-japan.eu/archive";
    let archive = project.read("out/archive/index.html");
    for id in NEWSLETTERS {
        assert!(
            archive.contains(&format!("href=\"{base}/{id}/\"")),
            "{id} listed in the archive"
        );
        let page = project.read(&format!("out/archive/{id}/index.html"));
        assert!(
            page.contains(&format!("href=\"{base}/{id}/{DATE}.html\"")),
            "{id}: the edition, by absolute link"
        );
        assert!(
            page.contains(&format!("href=\"{base}/{id}/feed.xml\"")),
            "{id}: its feed"
        );
        let edition = archived(&project, id, "html");
        assert!(
            edition.contains(&format!("href=\"{base}/{id}/{DATE}.html\"")),
            "the mail's view-in-browser link is this page"
        );
    }
    let feed = project.run(&["parse", "out/archive/eu-japan-news/feed.xml", "--format", "json"]);
    feed.assert_code(0);
    let entries = feed.json();
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["title"], "EU-Japan NEWS No. 1 — 23/11/2026");
    assert_eq!(entries[0]["link"], format!("{base}/eu-japan-news/{DATE}.html"));
    let before = project.read("out/archive/eu-japan-news/feed.xml");
    project.run(&["run", "--date", DATE]).assert_code(0);
    assert_eq!(
        project.read("out/archive/eu-japan-news/feed.xml"),
        before,
        "a rerun leaves the feed as it was"
    );
}

#[test]
fn one_item_is_one_item_not_one_items() {
    let local = "[[source]]\nname = \"Notes\"\nlocal = \"feeds/local\"\nnewsletters = [\"digest\"]\n";
    let project = Project::with_config(&digest_config("", 5, local));
    project.write(
        "feeds/local/only.md",
        "+++\ntitle = \"The only note\"\nlink = \"https://notes.example/1\"\npublished = 2026-11-20\n+++\nJust one.\n",
    );
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0).assert_stdout_has("No. 1      1 item →");
    let archive = project.read("out/archive/digest/index.html");
    assert!(archive.contains("(1 item, "), "{archive}");
    let items = project.run(&["items", "--newsletter", "digest"]);
    assert!(!items.stdout.contains("1 items"), "{}", items.stdout);
    for text in [&run.stdout, &archive] {
        assert!(!text.contains("1 items"), "{text}");
    }
}

#[test]
fn a_newsletters_archive_page_says_its_title_once() {
    let project = built();
    for id in NEWSLETTERS {
        let page = project.read(&format!("out/archive/{id}/index.html"));
        let body = &page[page.find("<body").unwrap()..];
        let heading = &body[body.find("<h1").unwrap()..];
        let title = &heading[heading.find('>').unwrap() + 1..heading.find("</h1>").unwrap()];
        assert_eq!(body.matches(title).count(), 1, "{id}: {title:?} in\n{body}");
    }
    // The index of all newsletters still names each one.
    let index = project.read("out/archive/index.html");
    assert!(index.contains(">EU-Japan NEWS</a></h2>"), "{index}");
}

#[test]
fn the_subject_of_an_edition_with_nothing_new_says_so() {
    let project = Project::bundled();
    // The bundled tender digest skips an empty edition; this one publishes it.
    project.edit_config(
        "subject = \"Tender Digest No. {number}: {lead}\"",
        "subject = \"Tender Digest No. {number}: {lead}\"\nempty = \"publish\"",
    );
    project.fetch_and_build(&["--newsletter", "tax-procurement", "--date", "2030-01-07"]);
    let page = project.read("out/archive/tax-procurement/2030-01-07.html");
    assert!(
        page.contains("<title>Tender Digest No. 1: Nothing new this time</title>"),
        "{}",
        &page[..page.find("</title>").unwrap()]
    );
}
