//! What the fuzz targets (`fuzz/run.sh`) found, minimised, each checked the
//! way a reader of the mail or a user of the command would see it.

use bulletin::audience::parse_csv;
use bulletin::config::Config;
use bulletin::items::{Details, sanitize};
use bulletin::sources::parse_feed;

use crate::common::{Project, repo};

/// The sanitiser's `<a>` tags, as (start tags, end tags).
fn links(html: &str) -> (usize, usize) {
    (html.matches("<a ").count(), html.matches("</a>").count())
}

/// `teaser` target: an `<a>` nested deep in another (the HTML parser leaves
/// it there) left a stray `</a>` once both dead links were unwrapped.
#[test]
fn nested_dead_links_leave_no_stray_end_tag() {
    let html = sanitize("<a><ul><li><ol><ul><<li><ul><li>i<ul>f<a>", None);
    assert_eq!(
        html,
        "<ul><li><ol><ul>&lt;<li><ul><li>i<ul>f</ul></li></ul></li></ul></ol></li></ul>"
    );
}

/// The same nesting with a live link inside a dead one: the live link
/// keeps its own end tag, and the dead one's goes.
#[test]
fn a_live_link_nested_in_a_dead_one_keeps_its_end_tag() {
    let base = url::Url::parse("https://news.example/a/").unwrap();
    let html = sanitize(
        "<a href='javascript:x'>dead<ul><li><ol><ul><li><ul><li><ul><a href='/ok'>live</a>after</ul>",
        Some(&base),
    );
    assert_eq!(links(&html), (1, 1), "{html}");
    assert!(
        html.contains(r#"<a href="https://news.example/ok" rel="noopener noreferrer">live</a>after"#),
        "{html}"
    );
}

/// `feed` target: an item whose link is not http(s) (here `httpv://…`, in
/// the fuzzer's input) was the base its summary's relative links were made
/// absolute against, unchecked: a `javascript:` item link turned
/// `href="#more"` into a `javascript:` link in the archive page.
#[test]
fn a_summary_link_never_takes_the_scheme_of_the_item_link() {
    for link in [
        "javascript:alert(document.domain)//",
        "data:text/html,x",
        "httpv://x.example/a/",
    ] {
        let feed = format!(
            "<rss version='2.0'><channel><item><title>T</title><link>{link}</link>\
             <description>&lt;a href='#more'&gt;more&lt;/a&gt; &lt;a href='b'&gt;b&lt;/a&gt;</description></item></channel></rss>"
        );
        let draft = parse_feed(feed.as_bytes(), None, None).unwrap().remove(0);
        let item = draft.into_item("feed", Details::News, 100);
        assert_eq!(item.summary_html, "more b", "{link}");
    }
}

/// `config` target: a `date_format` chrono cannot show a date with (an
/// unknown `%=`, a time's `%H`) passed `check`, and `run` panicked when it
/// wrote the first date, with an edition recorded. Now the config is
/// refused, with the place, before anything is done.
#[test]
fn a_date_format_that_cannot_show_a_date_is_refused_where_it_is_written() {
    for format in ["%e %= %Y", "%d/%m/%Y %H:%M"] {
        let project = Project::bundled();
        let config = project.read("config.toml").replacen(
            "date_format = \"%d/%m/%Y\"",
            &format!("date_format = \"{format}\""),
            1,
        );
        project.write("config.toml", &config);
        let offset = config.find(&format!("\"{format}\"")).unwrap();
        let line = config[..offset].matches('\n').count() + 1;
        let column = offset - config[..offset].rfind('\n').unwrap();
        let run = project.run(&["run", "--date", "2026-11-23"]);
        run.assert_code(1);
        let expected =
            format!("config.toml:{line}:{column}: site.date_format: {format:?} cannot show a date");
        run.assert_stderr_has(&expected);
        assert!(
            !project.path("bulletin.sqlite").exists(),
            "nothing is done with a bad config"
        );
    }
}

/// `subscribers_csv` target: the CSV reader's own line numbers are wrong
/// with lone CRs for line ends (old Mac exports: every row line 1), with
/// CRLF (Windows exports: each row one line early) and after a blank line.
/// Each bad row is now reported at its own line, whatever the line ends.
#[test]
fn bad_rows_are_reported_at_their_lines_whatever_the_line_ends() {
    let config = Config::from_file(&repo().join("config.toml")).unwrap();
    let rows = [
        "email,name,organisation,organisation_type,country,newsletters,consent_date",
        "ok@example.de,Ok,Org,company,DE,about-japan,2025-01-01",
        "not-an-address,X,Org,company,DE,about-japan,2025-01-01",
        "",
        "b@example.de,X,Org,company,ZZ,about-japan,2025-01-01",
        "c@example.de,X",
    ];
    for end in ["\n", "\r\n", "\r"] {
        let (good, bad) = parse_csv(&config, &rows.join(end)).unwrap();
        assert_eq!(good.len(), 1, "{end:?}");
        let lines: Vec<u64> = bad.iter().map(|row| row.line).collect();
        assert_eq!(lines, [3, 5, 6], "{end:?}: {bad:?}");
        assert_eq!(bad[2].reason.to_string(), "2 field(s); the header has 7");
    }
    // The fuzzer's first input: a one-field record between a CR and an LF.
    let csv = "email,n,newsletters,consent_date,country,organisation_type,-\r\0\n";
    let (_, bad) = parse_csv(&config, csv).unwrap();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 2, "{}", bad[0].reason);
}
