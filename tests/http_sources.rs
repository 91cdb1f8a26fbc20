//! Feeds over HTTP from 127.0.0.1: one good, the others failing each their
//! own way; the run reports each by name and builds from the rest.

use std::time::Duration;

use crate::common::http::{FEED, Reply, serve};
use crate::common::{Project, digest_config, feed_sources};

fn config(sources: &[(&str, String)]) -> String {
    digest_config("timeout_secs = 1\nretries = 0", 5, &feed_sources(sources))
}

#[test]
fn failing_feeds_are_reported_and_the_rest_is_built() {
    let server = serve(vec![
        ("/good.xml", Reply::Body("application/rss+xml", FEED.to_string())),
        ("/error.xml", Reply::Status(500)),
        ("/hang.xml", Reply::Hang(Duration::from_secs(10))),
        (
            "/page.html",
            Reply::Body(
                "text/html",
                "<!DOCTYPE html><html><body>Welcome</body></html>".into(),
            ),
        ),
        (
            "/broken.xml",
            Reply::Body(
                "application/rss+xml",
                "<rss version=\"2.0\"><channel><item><title>x".into(),
            ),
        ),
    ]);
    let project = Project::with_config(&config(&[
        ("Good", server.url("/good.xml")),
        ("Erroring", server.url("/error.xml")),
        ("Hanging", server.url("/hang.xml")),
        ("Missing", server.url("/missing.xml")),
        ("Web page", server.url("/page.html")),
        ("Broken", server.url("/broken.xml")),
        ("Unreachable", "http://127.0.0.1:9/feed.xml".to_string()),
    ]));
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(3);
    for (name, reason) in [
        ("Erroring", "HTTP status 500"),
        ("Hanging", "timed out after 1 s"),
        ("Missing", "HTTP status 404"),
        ("Web page", "not a feed: got an HTML page"),
        ("Broken", "not a valid feed"),
        ("Unreachable", "connection refused"),
    ] {
        let line = format!("warning: source \"{name}\" failed: {reason}");
        assert!(run.stderr.contains(&line), "missing {line:?} in\n{}", run.stderr);
    }
    run.assert_stderr_has("6 source(s) failed");
    let html = project.read("out/archive/digest/2026-11-23.html");
    assert!(
        html.contains("Public procurement reform opens tenders"),
        "the good feed is in the edition"
    );
}

#[test]
fn requests_name_bulletin_in_the_user_agent() {
    let server = serve(vec![(
        "/good.xml",
        Reply::Body("application/rss+xml", FEED.to_string()),
    )]);
    let project = Project::with_config(&config(&[("Good", server.url("/good.xml"))]));
    project.run(&["fetch"]).assert_code(0);
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].starts_with("GET /good.xml bulletin/"), "{requests:?}");
}

#[test]
fn oversized_feed_is_refused() {
    let huge = format!(
        "{}{}",
        &FEED[..FEED.len() - 16],
        "<!-- padding -->".repeat(100_000)
    );
    let server = serve(vec![("/huge.xml", Reply::Body("application/rss+xml", huge))]);
    let config = config(&[("Huge", server.url("/huge.xml"))])
        .replace("timeout_secs = 1", "timeout_secs = 5\nmax_bytes = 100_000");
    let project = Project::with_config(&config);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(3)
        .assert_stderr_has("source \"Huge\" failed: larger than the 100000-byte limit");
}
