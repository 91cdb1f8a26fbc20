//! Feeds from the real web, played by a server on 127.0.0.1: slow, endless,
//! redirected, rate-limited, gzip'ed, in Shift_JIS, or not feeds at all.
//! Each failure is reported by name; the others are read all the same.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::http::{FEED, Reply, Server, serve};
use crate::common::{Project, Run, digest_config, feed_sources};

/// A one-newsletter project reading `sources` (name, URL), with `fetch` settings.
fn project(fetch: &str, sources: &[(&str, String)]) -> Project {
    Project::with_config(&digest_config(fetch, 5, &feed_sources(sources)))
}

/// A server with a good feed at `/good.xml` and these more `routes`.
fn serve_good_and(mut routes: Vec<(&'static str, Reply)>) -> Server {
    routes.insert(0, ("/good.xml", Reply::Body("application/rss+xml", FEED.into())));
    serve(routes)
}

/// A redirect with `status` to `location`.
fn redirect(status: u16, location: &str) -> Reply {
    Reply::StatusWith(status, vec![("Location", location.to_string())])
}

/// The source "Good" was read, whatever became of the others.
#[track_caller]
fn assert_good_was_read(run: &Run) {
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("Good") && l.ends_with("ok")),
        "{}",
        run.stdout
    );
}

/// A good feed, and another source "Other" at `path`.
fn good_and(server: &Server, path: &str) -> Vec<(&'static str, String)> {
    vec![("Good", server.url("/good.xml")), ("Other", server.url(path))]
}

#[test]
fn a_slow_drip_is_cut_off_at_the_time_limit() {
    let server = serve_good_and(vec![("/drip.xml", Reply::Drip(Duration::from_millis(200), 500))]);
    let project = project("timeout_secs = 1\nretries = 0", &good_and(&server, "/drip.xml"));
    let started = Instant::now();
    let run = project.run(&["fetch"]);
    run.assert_code(3)
        .assert_stderr_has("source \"Other\" failed: timed out after 1 s");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "cut off, not read to the end"
    );
    assert_good_was_read(&run);
}

#[test]
fn an_endless_body_is_cut_off_at_the_size_cap() {
    let server = serve_good_and(vec![("/endless.xml", Reply::Endless)]);
    let project = project(
        "timeout_secs = 20\nmax_bytes = 200_000\nretries = 0",
        &good_and(&server, "/endless.xml"),
    );
    let run = project.run(&["fetch"]);
    run.assert_code(3)
        .assert_stderr_has("source \"Other\" failed: larger than the 200000-byte limit");
}

#[test]
fn a_redirect_loop_stops() {
    let server = serve_good_and(vec![("/a", redirect(302, "/b")), ("/b", redirect(302, "/a"))]);
    let project = project("max_redirects = 5\nretries = 0", &good_and(&server, "/a"));
    let run = project.run(&["fetch"]);
    run.assert_code(3)
        .assert_stderr_has("source \"Other\" failed: more than 5 redirects");
    assert_eq!(
        server.hits("/a") + server.hits("/b"),
        6,
        "the first request and five redirects"
    );
}

#[test]
fn a_permanent_redirect_is_remembered() {
    let server = serve(vec![
        ("/old.xml", redirect(301, "/new.xml")),
        ("/new.xml", Reply::Tagged("application/rss+xml", FEED.into())),
    ]);
    let project = project("retries = 0", &[("Moved", server.url("/old.xml"))]);
    project.run(&["fetch"]).assert_code(0);
    let second = project.run(&["fetch"]);
    second
        .assert_code(0)
        .assert_stdout_has("1 of 1 sources not modified");
    assert_eq!(
        server.hits("/old.xml"),
        1,
        "the second fetch goes straight to the new address"
    );
    assert_eq!(server.hits("/new.xml"), 2);
    let feeds = project.run(&["feeds"]);
    feeds.assert_stdout_has(&format!("moved permanently to {}", server.url("/new.xml")));
}

#[test]
fn too_many_requests_is_retried_after_retry_after() {
    let server = serve(vec![(
        "/busy.xml",
        Reply::Then(vec![
            Reply::StatusWith(429, vec![("Retry-After", "1".into())]),
            Reply::Body("application/rss+xml", FEED.into()),
        ]),
    )]);
    let project = project(
        "retries = 2\nretry_delay_ms = 10",
        &[("Busy", server.url("/busy.xml"))],
    );
    let started = Instant::now();
    let run = project.run(&["fetch"]);
    run.assert_code(0);
    assert_eq!(server.hits("/busy.xml"), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited as Retry-After asked, not retry_delay_ms"
    );
    run.assert_stdout_has("1 new");
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = serve(vec![("/down.xml", Reply::Status(503))]);
    let project = project(
        "retries = 2\nretry_delay_ms = 10",
        &[("Down", server.url("/down.xml"))],
    );
    let run = project.run(&["fetch"]);
    run.assert_code(3);
    assert_eq!(server.hits("/down.xml"), 3);
    run.assert_stderr_has("source \"Down\" failed: HTTP status 503 (after 3 tries)");
}

#[test]
fn a_gzipped_feed_is_read() {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(FEED.as_bytes()).unwrap();
    let headers = vec![
        ("Content-Type", "application/rss+xml".to_string()),
        ("Content-Encoding", "gzip".to_string()),
    ];
    let server = serve(vec![(
        "/feed.xml.gz",
        Reply::Raw(headers, gzip.finish().unwrap()),
    )]);
    let project = project("retries = 0", &[("Zipped", server.url("/feed.xml.gz"))]);
    let parse = project.run(&["parse", &server.url("/feed.xml.gz"), "--format", "json"]);
    parse.assert_code(0);
    assert_eq!(
        parse.json()[0]["title"],
        "Public procurement reform opens tenders to EU suppliers"
    );
}

#[test]
fn a_shift_jis_feed_is_decoded() {
    let bytes = std::fs::read(crate::common::repo().join("tests/fixtures/shift_jis.rss")).unwrap();
    let headers = vec![("Content-Type", "application/rss+xml".to_string())];
    let server = serve(vec![("/sjis.xml", Reply::Raw(headers, bytes))]);
    let project = project("retries = 0", &[("Japanese", server.url("/sjis.xml"))]);
    let parse = project.run(&["parse", &server.url("/sjis.xml"), "--format", "json"]);
    parse.assert_code(0);
    let items = parse.json();
    assert_eq!(items[0]["title"], "経済産業省、半導体支援策を発表");
    assert!(items[0]["summary_text"].as_str().unwrap().contains("半導体産業"));
    assert!(
        !project.path("bulletin.sqlite").exists(),
        "parse does not touch the store"
    );
}

#[test]
fn an_html_page_is_not_a_feed_and_names_its_feed() {
    let page = r#"<!DOCTYPE html><html><head><title>News</title>
        <link rel="alternate" type="application/rss+xml" href="/news/feed.xml"></head><body>Hi</body></html>"#;
    let server = serve(vec![("/news/", Reply::Body("text/html", page.into()))]);
    let project = project("retries = 0", &[("Page", server.url("/news/"))]);
    let run = project.run(&["fetch"]);
    run.assert_code(3);
    let expected = format!(
        "source \"Page\" failed: not a feed: got an HTML page; its feed is at {}",
        server.url("/news/feed.xml")
    );
    run.assert_stderr_has(&expected);
}

#[test]
fn a_source_failing_run_after_run_is_flagged() {
    let server = serve_good_and(vec![("/broken.xml", Reply::Status(404))]);
    let project = project("retries = 0", &good_and(&server, "/broken.xml"));
    for _ in 0..3 {
        project.run(&["fetch"]).assert_code(3);
    }
    let feeds = project.run(&["feeds"]);
    feeds.assert_code(0);
    let other = feeds.stdout.lines().find(|l| l.starts_with("Other")).unwrap();
    assert!(
        other.contains("FAILING ×3") && other.contains("HTTP status 404"),
        "{other}"
    );
    let good = feeds.stdout.lines().find(|l| l.starts_with("Good")).unwrap();
    assert!(good.contains(" ok ") && !good.contains("FAILING"), "{good}");
}

#[test]
fn redirects_into_internal_addresses_are_refused_and_not_remembered() {
    let server = serve_good_and(vec![
        (
            "/metadata",
            redirect(301, "http://169.254.169.254/latest/meta-data/"),
        ),
        ("/decimal", redirect(301, "http://2852039166/latest/meta-data/")),
        ("/private", redirect(301, "http://10.0.0.1/feed.xml")),
        ("/mapped", redirect(301, "http://[::ffff:10.0.0.1]/feed.xml")),
        ("/link-local", redirect(301, "http://[fe80::1]/feed.xml")),
    ]);
    let sources = [
        ("Good", server.url("/good.xml")),
        ("Metadata", server.url("/metadata")),
        ("Decimal", server.url("/decimal")),
        ("Private", server.url("/private")),
        ("Mapped", server.url("/mapped")),
        ("LinkLocal", server.url("/link-local")),
    ];
    // The feeds are on 127.0.0.1: the config opts in to loopback, not to other internal ranges.
    let project = project("timeout_secs = 20\nretries = 0", &sources);
    for _ in 0..2 {
        let started = Instant::now();
        let run = project.run(&["fetch"]);
        run.assert_code(3);
        for (source, refused) in [
            (
                "Metadata",
                "http://169.254.169.254/latest/meta-data/: a link-local address",
            ),
            (
                "Decimal",
                "http://169.254.169.254/latest/meta-data/: a link-local address",
            ),
            ("Private", "http://10.0.0.1/feed.xml: a private address"),
            ("Mapped", "http://[::ffff:a00:1]/feed.xml: a private address"),
            ("LinkLocal", "http://[fe80::1]/feed.xml: a link-local address"),
        ] {
            let expected = format!("source \"{source}\" failed: refused a redirect to {refused}");
            assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
        }
        assert!(started.elapsed() < Duration::from_secs(15), "refused, not tried");
        assert_good_was_read(&run);
        let feeds = project.run(&["feeds"]);
        assert!(!feeds.stdout.contains("moved"), "{}", feeds.stdout);
    }
}

#[test]
fn an_internal_address_remembered_as_moved_is_forgotten() {
    let server = serve(vec![(
        "/feed.xml",
        Reply::Body("application/rss+xml", FEED.into()),
    )]);
    let project = project("retries = 0", &[("Moved", server.url("/feed.xml"))]);
    project.run(&["fetch"]).assert_code(0);
    // As an older bulletin left it after following a 301 there.
    rusqlite::Connection::open(project.path("bulletin.sqlite"))
        .unwrap()
        .execute("UPDATE feeds SET moved_to = 'http://169.254.169.254/latest/'", [])
        .unwrap();
    project.run(&["fetch"]).assert_code(0);
    assert_eq!(server.hits("/feed.xml"), 2, "the configured URL, again");
    let feeds = project.run(&["feeds"]);
    assert!(!feeds.stdout.contains("moved"), "{}", feeds.stdout);
}
