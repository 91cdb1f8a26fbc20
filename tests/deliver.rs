//! Subscribers and delivery against Postfix's smtp-sink on 127.0.0.1: who
//! gets what, what a message looks like, retries, hard failures, a send
//! killed half-way, and the unsubscribe endpoint.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use bulletin::audience::{Key, sign, verify};

use crate::common::mail::{bounces, import_file, project, readers, with_mail};
use crate::common::message::decoded_subject;
use crate::common::server::Server;
use crate::common::sink::{Sink, header};
use crate::common::{KEY, KEY_ENV, Project, chmod};

const SUBSCRIBERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@Example.DE,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan;tax-procurement,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news;about-japan;tax-procurement,2025-02-01
solo@example.fr,Solo Reader,,individual,FR,about-japan;tech-transfer,2025-03-01
left@example.nl,Left Early,Leaving BV,company,NL,about-japan;eu-japan-news,2025-03-02
";

fn key() -> Key {
    Key::new(KEY.as_bytes().to_vec()).unwrap()
}

#[test]
fn each_newsletter_reaches_exactly_its_audience() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = project(sink.port, "", SUBSCRIBERS);
    project
        .run(&["subscribers", "unsubscribe", "left@EXAMPLE.NL"])
        .assert_code(0);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0);
    let got: BTreeSet<(String, String)> = sink.deliveries().into_iter().collect();
    let expected: BTreeSet<(String, String)> = [
        ("jane@example.de", "about-japan"),
        ("jane@example.de", "eu-japan-news"),
        ("jane@example.de", "tax-procurement"),
        ("solo@example.fr", "tech-transfer"),
        ("taro@example.jp", "eu-japan-news"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        got, expected,
        "an individual, a non-EU company and an unsubscribed address get no EU-only newsletter"
    );
    assert_eq!(sink.messages().len(), 5, "one copy each");
    run.assert_stdout_has("about-japan No. 1: sent 1, already sent 0, deferred 0, failed 0");
    run.assert_stdout_has("skipped 1: an individual");
    run.assert_stdout_has("skipped 1: outside the EU-27");
    run.assert_stdout_has("skipped 1: unsubscribed");
    let again = project.run(&["run", "--date", "2026-11-23"]);
    again
        .assert_code(0)
        .assert_stdout_has("about-japan No. 1: sent 0, already sent 1");
    assert_eq!(sink.messages().len(), 5, "a second run sends nothing");
}

#[test]
fn messages_are_multipart_with_one_click_unsubscribe() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = project(sink.port, "", SUBSCRIBERS);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let message = sink
        .messages()
        .into_iter()
        .find(|m| {
            header(m, "List-Id").unwrap().contains("about-japan") && header(m, "To").unwrap().contains("jane")
        })
        .expect("Jane's about-japan message");
    assert_eq!(
        header(&message, "From").unwrap(),
        "\"EU-Japan Centre\" <newsletters@eu-japan.eu>"
    );
    assert_eq!(header(&message, "Reply-To").unwrap(), "info@eu-japan.eu");
    assert_eq!(header(&message, "To").unwrap(), "\"Jane Doe\" <jane@example.de>");
    let subject = decoded_subject(&message);
    assert!(subject.starts_with("\"About Japan\" e-News No. 1: "), "{subject}");
    assert_eq!(
        header(&message, "List-Id").unwrap(),
        "\"\\\"About Japan\\\" e-News\" <about-japan.eu-japan.eu>".replace("\\\"", "'")
    );
    assert_eq!(
        header(&message, "List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    let unsubscribe = header(&message, "List-Unsubscribe").unwrap();
    let https = unsubscribe
        .split("<https://news.eu-japan.eu/unsubscribe?t=")
        .nth(1)
        .unwrap();
    let token = &https[..https.find('>').unwrap()];
    let request = verify(&key(), token).expect("the token verifies");
    assert_eq!(
        (request.email.as_str(), request.newsletter.as_str()),
        ("jane@example.de", "about-japan")
    );
    assert!(unsubscribe.contains(&format!(
        "<mailto:unsubscribe@eu-japan.eu?subject=unsubscribe%20{token}>"
    )));
    let message_id = header(&message, "Message-ID").unwrap();
    assert!(
        message_id.ends_with(".about-japan.1@eu-japan.eu>"),
        "{message_id}"
    );
    assert!(
        header(&message, "Content-Type")
            .unwrap()
            .starts_with("multipart/alternative;")
    );
    assert!(message.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(message.contains("Content-Type: text/html; charset=utf-8"));
    assert!(message.contains("Dear Jane Doe,"), "a personal greeting");
}

#[test]
fn soft_rejects_are_deferred_then_delivered_once() {
    let Some(rejecting) = Sink::start(&["-r", "RCPT"]) else {
        return;
    };
    let port = rejecting.port;
    let project = project(port, "", SUBSCRIBERS);
    let first = project.run(&["run", "--date", "2026-11-23"]);
    first
        .assert_code(5)
        .assert_stderr_has("deferred: jane@example.de:");
    assert!(
        first.stderr.contains("450"),
        "the server's reply is shown: {}",
        first.stderr
    );
    assert!(rejecting.messages().is_empty());
    rejecting.stop();
    let healthy = Sink::start_on(port, &[]).unwrap();
    let second = project.run(&["send", "--newsletter", "eu-japan-news"]);
    second
        .assert_code(0)
        .assert_stdout_has("eu-japan-news No. 1: sent 3, already sent 0, deferred 0, failed 0");
    healthy.assert_each_once(3);
}

#[test]
fn hard_rejects_are_recorded_and_not_retried() {
    let Some(sink) = Sink::start(&["-f", "RCPT"]) else {
        return;
    };
    let project = project(sink.port, "", SUBSCRIBERS);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(5)
        .assert_stderr_has("failed: jane@example.de: RCPT TO: 500 5.3.0");
    assert!(
        run.stdout.contains("skipped 1: suppressed after 2 hard bounces"),
        "Jane, after eu-japan-news and about-japan failed: {}",
        run.stdout
    );
    let again = project.run(&["send", "--newsletter", "about-japan"]);
    again.assert_code(0);
    assert!(
        again
            .stdout
            .contains("sent 0, already sent 0, deferred 0, failed 0"),
        "not retried: {}",
        again.stdout
    );
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    let jane = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "jane@example.de")
        .unwrap();
    assert_eq!(
        jane["hard_bounces"], 2,
        "one per message that failed, then suppressed"
    );
}

/// A session-level failure is the server's or the config's problem, never
/// a recipient's bounce: the send stops with one clear message, records
/// nothing against anyone, and a later send to a healthy server delivers.
#[test]
fn session_failures_stop_the_send_and_bounce_nobody() {
    // -f EHLO: 5xx to EHLO; -f MAIL: 5xx to MAIL FROM; -r MAIL: 4xx to MAIL FROM
    // (retried, then given up); -Q MAIL: 421 and hang up at MAIL.
    for (fault, says) in [
        (["-f", "EHLO"], "EHLO"),
        (["-f", "MAIL"], "MAIL FROM"),
        (["-r", "MAIL"], "MAIL FROM: 450"),
        (["-Q", "MAIL"], "421"),
    ] {
        let Some(faulty) = Sink::start(&fault) else {
            return;
        };
        let port = faulty.port;
        let project = project(port, "", SUBSCRIBERS);
        let run = project.run(&["run", "--date", "2026-11-23"]);
        run.assert_code(1);
        assert!(run.stderr.contains(says), "{fault:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "one message: {}", run.stderr);
        let list = project.run(&["subscribers", "list", "--format", "json"]).json();
        assert!(
            list.as_array().unwrap().iter().all(|s| s["hard_bounces"] == 0),
            "{fault:?}: nobody bounced: {list}"
        );
        faulty.stop();
        let healthy = Sink::start_on(port, &[]).unwrap();
        let again = project.run(&["run", "--date", "2026-11-23"]);
        again.assert_code(0);
        assert!(
            again
                .stdout
                .contains("eu-japan-news No. 1: sent 3, already sent 0, deferred 0, failed 0"),
            "{fault:?}: nobody was marked: {}",
            again.stdout
        );
        let ids = healthy.message_ids();
        assert_eq!(ids.len(), 7, "{fault:?}: {ids:?}");
        assert!(ids.values().all(|count| *count == 1), "{ids:?}");
    }
}

/// Server down: the send gives up after one retry budget, not one per
/// address (it took 173 s for 43 addresses), exits 1 with one message,
/// records nothing; a later send delivers each once.
#[test]
fn a_server_that_cannot_be_reached_stops_the_send_after_one_retry_budget() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let csv = readers(40, |_| "company,BE,tech-transfer");
    let project = project(port, "", &csv);
    // One budget: 4 tries, 200 + 400 + 800 ms apart (1.75 s at most with the
    // spread); one per address would be 40 x 1.4 s / 4 connections = 14 s.
    project.edit_config("max_attempts = 2", "max_attempts = 4");
    project.edit_config("retry_delay_ms = 20", "retry_delay_ms = 200");
    project.fetch_and_build(&["--date", "2026-11-23", "--newsletter", "tech-transfer"]);
    let start = std::time::Instant::now();
    let run = project.run(&["send", "--newsletter", "tech-transfer"]);
    let took = start.elapsed();
    run.assert_code(1);
    assert!(
        took < Duration::from_secs(7),
        "one retry budget, not one per address: {took:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "one message: {}", run.stderr);
    assert!(
        run.stderr.to_lowercase().contains("connection refused")
            && run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    assert!(list.as_array().unwrap().iter().all(|s| s["hard_bounces"] == 0));
    let Some(sink) = Sink::start_on(port, &[]) else {
        return;
    };
    let later = project.run(&["send", "--newsletter", "tech-transfer"]);
    later.assert_code(0);
    assert!(
        later
            .stdout
            .contains("sent 40, already sent 0, deferred 0, failed 0")
            && !later.stdout.contains("sent again"),
        "nothing was recorded for anyone: {}",
        later.stdout
    );
    sink.assert_each_once(40);
}

#[test]
fn reset_bounces_undoes_wrongly_counted_hard_bounces() {
    let Some(rejecting) = Sink::start(&["-f", "RCPT"]) else {
        return;
    };
    let port = rejecting.port;
    let project = project(port, "", SUBSCRIBERS);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(5);
    assert!(bounces(&project).contains(&("jane@example.de".into(), 2)));
    rejecting.stop();
    let healthy = Sink::start_on(port, &[]).unwrap();

    project
        .run(&["subscribers", "reset-bounces", "--since", "2999-01-01"])
        .assert_code(0)
        .assert_stdout_has("no hard bounces to reset");

    let jane = project.run(&["subscribers", "reset-bounces", "jane@EXAMPLE.DE"]);
    jane.assert_code(0)
        .assert_stdout_has("jane@example.de: 2 hard bounces reset, 2 failed deliveries due again");
    assert!(bounces(&project).contains(&("jane@example.de".into(), 0)));
    project
        .run(&["subscribers", "reset-bounces", "nobody@example.de"])
        .assert_code(1);

    let rest = project.run(&["subscribers", "reset-bounces", "--since", "2000-01-01"]);
    rest.assert_code(0)
        .assert_stdout_has("taro@example.jp: 1 hard bounce reset");
    assert!(!rest.stdout.contains("jane@"), "already reset: {}", rest.stdout);
    assert!(bounces(&project).iter().all(|(_, count)| *count == 0));

    // Un-suppressed, and the failed copies are due again.
    project
        .run(&["send", "--newsletter", "about-japan"])
        .assert_code(0);
    project
        .run(&["send", "--newsletter", "eu-japan-news"])
        .assert_code(0);
    let got: BTreeSet<(String, String)> = healthy.deliveries().into_iter().collect();
    assert!(
        got.contains(&("jane@example.de".into(), "about-japan".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("jane@example.de".into(), "eu-japan-news".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("taro@example.jp".into(), "eu-japan-news".into())),
        "{got:?}"
    );
}

#[test]
fn a_killed_send_resumes_without_losing_anyone() {
    let Some(sink) = Sink::start(&[]) else { return };
    let csv = readers(300, |_| "company,BE,tech-transfer");
    let project = project(sink.port, "rate_per_second = 150.0\nconcurrency = 4", &csv);
    project
        .run(&["build", "--date", "2026-11-23", "--newsletter", "tech-transfer"])
        .assert_code(1);
    project.fetch_and_build(&["--date", "2026-11-23", "--newsletter", "tech-transfer"]);
    let mut child = project
        .command(&["send", "--newsletter", "tech-transfer"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    sink.wait_for_messages(100);
    child.kill().unwrap(); // SIGKILL, a third of the way through
    child.wait().unwrap();
    let before = sink.messages().len();
    // Of the 100 begun, those in flight on the 4 connections were cut off.
    assert!((96..300).contains(&before), "killed part-way: {before} sent");
    let resume = project.run(&["send", "--newsletter", "tech-transfer"]);
    resume.assert_code(0);
    let resent: usize = resume
        .stdout
        .lines()
        .flat_map(|line| line.split(", "))
        .find_map(|part| part.strip_suffix(" sent again after an interrupted send"))
        .map_or(0, |n| n.trim().parse().unwrap());
    let ids = sink.message_ids();
    assert_eq!(ids.len(), 300, "every subscriber got the edition");
    let duplicates: usize = ids.values().map(|count| count - 1).sum();
    assert!(
        duplicates <= resent,
        "duplicates ({duplicates}) only from the documented window ({resent} in flight)"
    );
    assert!(
        resent <= 4,
        "at most one message per connection was in flight: {resent}"
    );
}

#[test]
fn test_copy_and_dry_run_are_not_deliveries() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = project(sink.port, "", SUBSCRIBERS);
    project.fetch_and_build(&["--date", "2026-11-23"]);
    let dry = project.run(&["send", "--newsletter", "eu-japan-news", "--dry-run"]);
    dry.assert_code(0)
        .assert_stdout_has("would send eu-japan-news No. 1 to jane@example.de");
    assert!(sink.messages().is_empty(), "a dry run sends nothing");
    project
        .run(&[
            "send",
            "--newsletter",
            "eu-japan-news",
            "--to",
            "editor@eu-japan.eu",
        ])
        .assert_code(0);
    assert_eq!(
        sink.deliveries(),
        [("editor@eu-japan.eu".to_string(), "eu-japan-news".to_string())]
    );
    let real = project.run(&["send", "--newsletter", "eu-japan-news"]);
    real.assert_code(0);
    assert!(
        real.stdout.contains("sent 3, already sent 0"),
        "the test copy was not logged: {}",
        real.stdout
    );
}

/// A dry run with a test address asks two contradictory things: the command
/// line refuses it (exit 2), and nothing reaches the server.
#[test]
fn dry_run_with_a_test_address_is_refused_and_sends_nothing() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = project(sink.port, "", SUBSCRIBERS);
    project.run(&["fetch"]).assert_code(0);
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    let both = project.run(&[
        "send",
        "--newsletter",
        "eu-japan-news",
        "--dry-run",
        "--to",
        "editor@eu-japan.eu",
    ]);
    both.assert_code(2);
    assert!(
        both.stderr.contains("--dry-run") && both.stderr.contains("--to"),
        "names the two flags: {}",
        both.stderr
    );
    assert!(sink.messages().is_empty(), "a dry run sends nothing");
}

/// A store row whose organisation type or delivery status this bulletin does
/// not know (edited by hand, or written by another version) is a clear
/// error naming the value, never a silent default: an unknown type read as
/// `individual` dropped a company from the EU-only newsletters, an unknown
/// status read as `sending` sent the edition again.
#[test]
fn unknown_organisation_type_or_status_in_the_store_is_an_error() {
    let project = Project::bundled();
    with_mail(&project, 25, "");
    project.import_from_before(SUBSCRIBERS);
    project.run(&["fetch"]).assert_code(0);
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    store
        .execute(
            "UPDATE subscribers SET organisation_type = 'compnay' WHERE email = 'jane@example.de'",
            [],
        )
        .unwrap();
    for args in [
        &["send", "--newsletter", "about-japan", "--dry-run"][..],
        &["subscribers", "list"][..],
    ] {
        let run = project.run(args);
        run.assert_code(1);
        assert!(
            run.stderr.contains("unknown organisation type \"compnay\""),
            "{args:?}: {}",
            run.stderr
        );
    }
    store
        .execute(
            "UPDATE subscribers SET organisation_type = 'company' WHERE email = 'jane@example.de'",
            [],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO deliveries (newsletter, number, email, message_id, status, attempts, updated)
             VALUES ('about-japan', 1, 'jane@example.de', '<x@eu-japan.eu>', 'snet', 1, '2026-11-23T08:00:00Z')",
            [],
        )
        .unwrap();
    let run = project.run(&["send", "--newsletter", "about-japan", "--dry-run"]);
    run.assert_code(1)
        .assert_stderr_has("unknown delivery status \"snet\"");
}

#[test]
fn import_reports_bad_rows_and_keeps_unsubscriptions() {
    let (project, run) = import_file(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         ok@example.de,Ok,Org,company,DE,about-japan,2025-01-01\n\
         not-an-address,X,Org,company,DE,about-japan,2025-01-01\n\
         a@example.de,X,Org,company,DE,about-japon,2025-01-01\n\
         b@example.de,X,Org,company,ZZ,about-japan,2025-01-01\n\
         \"eve@example.de\",\"Eve\r\nBcc: victim@example.com\",Org,company,DE,about-japan,2025-01-01\n",
    );
    run.assert_code(3)
        .assert_stderr_has("subscribers.csv:3: email \"not-an-address\": invalid address");
    run.assert_stderr_has(
        "subscribers.csv:4: newsletters \"about-japon\": unknown newsletter; expected one of:",
    );
    run.assert_stderr_has("subscribers.csv:5: country \"ZZ\": not an ISO 3166-1 alpha-2 code");
    run.assert_stdout_has("2 rows imported (2 new, 0 updated), 3 rejected");
    project
        .run(&[
            "subscribers",
            "unsubscribe",
            "OK@EXAMPLE.DE",
            "--newsletter",
            "about-japan",
        ])
        .assert_code(0);
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(3);
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    let ok = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "ok@example.de")
        .unwrap();
    assert_eq!(
        ok["newsletters"],
        serde_json::json!([]),
        "re-import does not resubscribe"
    );
    assert_eq!(ok["unsubscribed"], serde_json::json!(["about-japan"]));
    let eve = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "eve@example.de")
        .unwrap();
    assert_eq!(
        eve["name"], "Eve Bcc: victim@example.com",
        "line breaks cannot reach a header"
    );
}

#[test]
fn unsubscribe_endpoint_acts_on_post_only_and_rejects_forgeries() {
    let project = project(25, "", SUBSCRIBERS);
    let server = Server::serve(&project, &[]);
    let url = &server.path;
    let token = sign(&key(), "jane@example.de", "about-japan");
    let subscribed = |project: &Project| {
        let list = project
            .run(&[
                "subscribers",
                "list",
                "--newsletter",
                "about-japan",
                "--format",
                "json",
            ])
            .json();
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["email"] == "jane@example.de")
    };
    let (status, body) = server.get(&format!("{url}?t={token}"));
    assert_eq!(status, 200);
    assert!(
        body.contains("<form method=\"post\"") && body.contains("jane@example.de"),
        "{body}"
    );
    assert!(subscribed(&project), "GET changes nothing");
    let mut forged = token.clone();
    forged.replace_range(0..4, "AAAA");
    let one_click = [("List-Unsubscribe", "One-Click")];
    let (status, _) = server.post(&format!("{url}?t={forged}"), &one_click, &[]);
    assert_eq!(status, 400);
    assert!(subscribed(&project), "a forged token changes nothing");
    for _ in 0..2 {
        let (status, done) = server.post(&format!("{url}?t={token}"), &one_click, &[]);
        assert_eq!(status, 200, "one-click, and again: idempotent");
        assert!(done.contains("You are unsubscribed"));
    }
    assert!(!subscribed(&project), "POST unsubscribed");
}

#[test]
fn the_bundled_file_transport_writes_one_eml_per_message() {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.import_from_before(SUBSCRIBERS);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let eml = project.read("out/mail/about-japan/1/jane@example.de.eml");
    assert!(eml.contains("Dear Jane Doe,"), "{eml}");
    assert!(
        header(&eml, "List-Unsubscribe")
            .unwrap()
            .contains("https://newsletters.eu-japan.eu/unsubscribe?t=")
    );
    let about_japan = std::fs::read_dir(project.path("out/mail/about-japan/1"))
        .unwrap()
        .count();
    assert_eq!(
        about_japan, 2,
        "Jane and Left Early; not the individual nor the Japanese company"
    );
}

#[test]
fn dkim_signature_covers_the_unsubscribe_headers() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[mail.dkim]\nselector = \"news2026\"\nkey_path = \"dkim.key\"\nalgorithm = \"ed25519\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    // An Ed25519 private key is 32 bytes, base64: these are 0x01..=0x20.
    project.write("dkim.key", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n");
    chmod(&project.path("dkim.key"), 0o600);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let messages = sink.messages();
    assert!(!messages.is_empty());
    for message in &messages {
        let signature = header(message, "DKIM-Signature").expect("every message is signed");
        assert!(signature.contains("a=ed25519-sha256"), "{signature}");
        assert!(
            signature.contains("d=eu-japan.eu") && signature.contains("s=news2026"),
            "{signature}"
        );
        let signed: String = signature
            .split("h=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_lowercase()
            .replace(' ', "");
        for name in [
            "from",
            "subject",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ] {
            assert!(signed.split(':').any(|h| h == name), "{name} is signed: {signed}");
        }
    }
}

#[test]
fn a_missing_dkim_key_is_a_clear_error() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[mail.dkim]\nselector = \"news2026\"\nkey_path = \"missing.pem\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    project
        .run(&["run", "--date", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_has("mail.dkim.key_path");
    assert!(sink.messages().is_empty());
}

#[test]
fn a_connection_dropped_after_the_message_is_sent_again_with_the_same_message_id() {
    // The ambiguous case: the whole message reached the server, which hung up
    // before answering. bulletin cannot know whether it was accepted, so it
    // sends again later, with the same Message-ID.
    let Some(dropping) = Sink::start(&["-q", "."]) else {
        return;
    };
    let port = dropping.port;
    let project = project(port, "", SUBSCRIBERS);
    project.fetch_and_build(&["--date", "2026-11-23", "--newsletter", "tech-transfer"]);
    let first = project.run(&["send", "--newsletter", "tech-transfer"]);
    first
        .assert_code(5)
        .assert_stderr_has("deferred: solo@example.fr:");
    let ambiguous = dropping.message_ids();
    assert_eq!(
        ambiguous.values().sum::<usize>(),
        2,
        "the server kept both tries (max_attempts = 2): {ambiguous:?}"
    );
    dropping.stop();
    let healthy = Sink::start_on(port, &[]).unwrap();
    project
        .run(&["send", "--newsletter", "tech-transfer"])
        .assert_code(0);
    let delivered = healthy.message_ids();
    assert_eq!(delivered.len(), 1, "one subscriber, one message: {delivered:?}");
    for id in ambiguous.keys() {
        assert!(
            delivered.contains_key(id),
            "a copy the server may have kept has the same Message-ID: {id}"
        );
    }
}

/// A server slower than `timeout_secs` is the server's problem: the send
/// stops with the timeout named, nothing recorded against anyone.
#[test]
fn a_server_slower_than_the_timeout_stops_the_send_and_records_nothing() {
    let Some(slow) = Sink::start(&["-w", "3"]) else {
        return;
    };
    let project = project(slow.port, "", SUBSCRIBERS);
    project.edit_config("timeout_secs = 5", "timeout_secs = 1");
    project.fetch_and_build(&["--date", "2026-11-23", "--newsletter", "tech-transfer"]);
    let run = project.run(&["send", "--newsletter", "tech-transfer"]);
    run.assert_code(1)
        .assert_stderr_has("no reply within timeout_secs = 1");
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    assert!(list.as_array().unwrap().iter().all(|s| s["hard_bounces"] == 0));
    let dry = project.run(&["send", "--newsletter", "tech-transfer", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("would send tech-transfer No. 1 to solo@example.fr"),
        "still due: {}",
        dry.stdout
    );
}

/// How many times each Message-ID arrived at any of these servers. A dump
/// cut short by a crash before its Message-ID is no delivery.
pub(crate) fn arrivals(sinks: &[&Sink]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for message in sinks.iter().flat_map(|sink| sink.messages()) {
        if let Some(id) = header(&message, "Message-ID") {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

#[test]
fn a_server_stopped_and_restarted_mid_send_loses_no_one() {
    let Some(mut first) = Sink::start(&[]) else {
        return;
    };
    let port = first.port;
    let csv = readers(2000, |_| "company,BE,tech-transfer");
    let project = project(port, "rate_per_second = 500.0\nconcurrency = 4", &csv);
    // Retries that outlast a one-second outage: 200, 400, 800, 1,600, 3,200 ms.
    project.edit_config("max_attempts = 2", "max_attempts = 6");
    project.edit_config("retry_delay_ms = 20", "retry_delay_ms = 200");
    project.fetch_and_build(&["--date", "2026-11-23", "--newsletter", "tech-transfer"]);
    let child = project
        .command(&["send", "--newsletter", "tech-transfer"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while first.messages().len() < 300 {
        assert!(start.elapsed() < Duration::from_secs(30), "the send started");
        std::thread::sleep(Duration::from_millis(10));
    }
    first.crash();
    std::thread::sleep(Duration::from_secs(1));
    let second = Sink::start_on(port, &[]).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("sent 2000, already sent 0, deferred 0, failed 0"),
        "{stdout}"
    );
    let (before, after) = (arrivals(&[&first]), arrivals(&[&second]));
    assert!(
        before.len() >= 300 && after.len() >= 1000,
        "the send spanned the restart: {} before, {} after",
        before.len(),
        after.len()
    );
    let ids = arrivals(&[&first, &second]);
    assert_eq!(ids.len(), 2000, "none lost");
    let duplicates: usize = ids.values().map(|count| count - 1).sum();
    assert!(
        duplicates <= 4,
        "only messages in flight on the 4 connections when the server died come twice: {duplicates}"
    );
}

#[test]
fn a_server_without_pipelining_gets_one_command_at_a_time_and_every_message() {
    let Some(sink) = Sink::start(&["-p"]) else {
        return;
    };
    let project = project(sink.port, "", SUBSCRIBERS);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let ids = sink.message_ids();
    // Jane 3 (an EU company), Taro 1 (not in the EU), Solo 1 (an individual), Left 2.
    assert_eq!(ids.len(), 7, "every eligible copy: {ids:?}");
    assert!(ids.values().all(|count| *count == 1));
}

#[test]
fn addresses_that_can_never_be_sent_are_refused_at_import_with_their_line() {
    let (project, run) = import_file(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         ok@example.de,Ok,Org,company,DE,about-japan,2025-01-10\n\
         \"\"\"quoted local\"\"@example.de\",Q,Org,company,DE,about-japan,2025-01-10\n\
         ip@[127.0.0.1],I,Org,company,DE,about-japan,2025-01-10\n\
         a@bücher.example,A,Org,company,DE,about-japan,2025-01-10\n",
    );
    run.assert_code(3)
        .assert_stderr_has("subscribers.csv:3: email \"\\\"quoted local\\\"@example.de\": ");
    run.assert_stderr_has("subscribers.csv:4: email \"ip@[127.0.0.1]\": ");
    run.assert_stdout_has("2 rows imported (2 new, 0 updated), 2 rejected");
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a@xn--bcher-kva.example", "ok@example.de"]);
}

/// `a+b@`, `a/b@` and `a_b@` once all became `a_b@example.de.eml`: two
/// messages lost while the log said "sent". A test copy has its own folder.
#[test]
fn eml_files_never_collide() {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.import(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         a+b@example.de,Plus,,individual,DE,tech-transfer,2025-01-10\n\
         a/b@example.de,Slash,,individual,DE,tech-transfer,2025-01-10\n\
         a_b@example.de,Underscore,,individual,DE,tech-transfer,2025-01-10\n",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let folder = project.path("out/mail/tech-transfer/1");
    let mut to: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| {
            let eml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            header(&eml, "To").unwrap()
        })
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "Plus <a+b@example.de>",
            "Slash <a/b@example.de>",
            "Underscore <a_b@example.de>"
        ]
    );
    let before: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    project
        .run(&["send", "--newsletter", "tech-transfer", "--to", "a_b@example.de"])
        .assert_code(0);
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        before.len(),
        "the test copy is not among the subscribers' messages"
    );
    let tests = project.path("out/mail/test/tech-transfer/1");
    assert_eq!(
        std::fs::read_dir(&tests).unwrap().count(),
        1,
        "{}",
        tests.display()
    );
}

/// `unsubscribe_mailto` is read as a mailbox, so a display name is allowed
/// (`Unsubscribe <unsubscribe@…>`); the `mailto:` link must carry only the
/// address, or mail clients get `mailto:Unsubscribe <…>`, which no client opens.
#[test]
fn a_display_name_in_unsubscribe_mailto_leaves_a_bare_address_in_the_mailto_link() {
    let project = Project::bundled();
    let config = project
        .read("config.toml")
        .replace("BULLETIN_UNSUBSCRIBE_KEY", KEY_ENV)
        .replace(
            "unsubscribe_mailto = \"unsubscribe@eu-japan.eu\"",
            "unsubscribe_mailto = \"Unsubscribe Desk <unsubscribe@eu-japan.eu>\"",
        );
    project.write("config.toml", &config);
    project.import_from_before(SUBSCRIBERS);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let eml = project.read("out/mail/about-japan/1/jane@example.de.eml");
    let unsubscribe = header(&eml, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.contains("<mailto:unsubscribe@eu-japan.eu?subject=unsubscribe%20"),
        "{unsubscribe}"
    );
    assert!(!unsubscribe.contains("Desk"), "{unsubscribe}");
}

/// Every command that names a newsletter refuses an unknown one with the
/// same message. `subscribers list --newsletter` with a typo listed nobody
/// and exited 0, as if the newsletter had no subscribers.
#[test]
fn every_command_refuses_an_unknown_newsletter_alike() {
    let project = Project::bundled();
    project.import_from_before(SUBSCRIBERS);
    let commands: [&[&str]; 6] = [
        &["subscribers", "list", "--newsletter", "about-japon"],
        &[
            "subscribers",
            "unsubscribe",
            "jane@example.de",
            "--newsletter",
            "about-japon",
        ],
        &["build", "--newsletter", "about-japon", "--date", "2026-11-23"],
        &["items", "--newsletter", "about-japon"],
        &["editions", "--newsletter", "about-japon"],
        &["send", "--newsletter", "about-japon", "--dry-run"],
    ];
    for args in commands {
        let run = project.run(args);
        run.assert_code(1);
        assert!(
            run.stderr.contains(
                "unknown newsletter \"about-japon\"; expected one of: eu-japan-news, industry-policy, about-japan, tax-procurement, tech-transfer"
            ),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("jane@example.de"),
            "{args:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn the_subscriber_table_is_aligned_as_a_terminal_shows_it() {
    let project = Project::with_one_subscriber();
    project.write(
        "subscribers.csv",
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n\
         taro@example.jp,山田太郎,株式会社例,company,JP,eu-japan-news;tech-transfer,2025-02-01\n",
    );
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0);
    let table = project
        .run(&["subscribers", "list"])
        .assert_code(0)
        .stdout
        .clone();
    assert!(!table.contains('\t'), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    // Each column starts at the same terminal column on every line.
    let column_of = |line: &str, cell: &str| {
        let at = line.rfind(cell).unwrap_or_else(|| panic!("{cell:?} in {line:?}"));
        bulletin::items::display_width(&line[..at])
    };
    assert_eq!(column_of(lines[0], "NAME"), column_of(lines[1], "Jane Doe"));
    assert_eq!(column_of(lines[1], "Jane Doe"), column_of(lines[2], "山田太郎"));
    assert_eq!(
        column_of(lines[1], "Acme GmbH"),
        column_of(lines[2], "株式会社例")
    );
    let consents = lines[2].rfind("import ").expect("the import's consent");
    assert_eq!(column_of(lines[0], "CONSENTS"), column_of(lines[2], "import "));
    assert_eq!(
        column_of(lines[0], "HARD_BOUNCES"),
        column_of(&lines[2][..consents], "0")
    );
}

#[test]
fn a_send_to_eml_files_says_where_they_went() {
    let project = Project::with_one_subscriber();
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0);
    let folder = project.path("out/mail/eu-japan-news/1");
    run.assert_stdout_has(&format!("  written as .eml files to {}\n", folder.display()));
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        1,
        "Jane's copy is there"
    );
    let test = project.run(&["send", "--newsletter", "eu-japan-news", "--to", "desk@example.eu"]);
    test.assert_code(0);
    let test_folder = project.path("out/mail/test/eu-japan-news/1");
    test.assert_stdout_has(&format!("written as an .eml file to {}", test_folder.display()));
}

/// The text of the first `<tag …>…</tag>` in an edition's page, as a reader
/// sees it (tags dropped, the entities askama writes decoded).
fn first_text(html: &str, tag: &str) -> String {
    let start = html.find(&format!("<{tag}")).expect("the tag");
    let inner = &html[start..start + html[start..].find(&format!("</{tag}>")).unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn subjects_carry_the_lead_headline_cut_after_a_word_within_78_columns() {
    use unicode_width::UnicodeWidthStr;
    let Some(sink) = Sink::start(&[]) else { return };
    let everything = "eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer";
    let project = project(
        sink.port,
        "",
        &format!(
            "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
             jane@example.de,Jane Doe,Acme GmbH,company,DE,{everything},2025-01-10\n"
        ),
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let messages = sink.messages();
    assert_eq!(messages.len(), 5, "one message per newsletter");
    for message in messages {
        let list = header(&message, "List-Id").unwrap();
        let id = &list[list.rfind('<').unwrap() + 1..list.find(".eu-japan.eu>").unwrap()];
        let page = project.read(&format!("out/archive/{id}/2026-11-23.html"));
        let (title, lead) = (first_text(&page, "h1"), first_text(&page, "h3"));
        // The bundled config gives the digest, whose title is long, a subject of its own.
        let start = match id {
            "tax-procurement" => "Tender Digest No. 1: ".to_string(),
            _ => format!("{title} No. 1: "),
        };
        let whole = format!("{start}{lead}");
        let subject = decoded_subject(&message);
        assert!(
            subject.width() <= 78,
            "{id}: {subject:?} is {} columns",
            subject.width()
        );
        if whole.width() <= 78 {
            assert_eq!(subject, whole, "{id}");
            continue;
        }
        let kept = subject
            .strip_suffix('…')
            .unwrap_or_else(|| panic!("{id}: {subject:?} ends in …"));
        assert!(
            whole.starts_with(kept),
            "{id}: {subject:?} is the start of {whole:?}"
        );
        let next = whole[kept.len()..].chars().next().unwrap();
        assert!(
            next == ' ' || next == ',' || next == ':',
            "{id}: {subject:?} is cut after a word of {whole:?}"
        );
        assert!(
            kept.len() > start.len(),
            "{id}: {subject:?} carries some of the lead {lead:?}"
        );
    }
}

#[test]
fn a_subject_template_fills_its_placeholders_on_one_header_safe_line() {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.edit_config(
        "title = \"Tech Transfer Helpdesk Newsletter\"",
        "title = \"Tech Transfer\\r\\nBcc: spy@evil.example\"\nsubject = \"{title}, {date}, No. {number}: {lead}\"",
    );
    project.write(
        "feeds/local/reports/kenkyu.md",
        "+++\ntitle = \"欧州と日本の大学による技術移転の共同研究プログラムが始まりました\"\n\
         link = \"https://ex.example/kenkyu\"\npublished = 2026-11-23T12:00:00Z\n+++\n技術移転の手引き。\n",
    );
    project.import(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         jane@example.de,Jane Doe,Acme GmbH,company,DE,tech-transfer,2025-01-10\n",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let eml = project.read("out/mail/tech-transfer/1/jane@example.de.eml");
    assert_eq!(
        decoded_subject(&eml),
        // 56 columns of text, then 10 Japanese characters (20 columns) and the "…".
        "Tech Transfer Bcc: spy@evil.example, 23/11/2026, No. 1: 欧州と日本の大学によ…"
    );
    assert_eq!(header(&eml, "Bcc"), None, "no header made from the title");
    let page = project.read("out/archive/tech-transfer/2026-11-23.html");
    assert!(
        page.contains(&format!("<title>{}</title>", decoded_subject(&eml))),
        "the page's title is the subject"
    );
    let preheader = page
        .split("<div style=\"display:none;")
        .nth(1)
        .expect("a hidden preheader");
    assert!(
        preheader[preheader.find('>').unwrap() + 1..].starts_with("欧州と日本の大学による技術移転"),
        "the preheader, the preview line of a mail client, starts with the lead headline: {}",
        preheader.chars().take(100).collect::<String>()
    );
}

/// The tender digest comes from the JTPP Helpdesk: its own From and
/// Reply-To, the centre's address as Sender, and DKIM signing for the
/// From's domain; the other newsletters keep `[mail]`'s.
#[test]
fn a_newsletter_with_its_own_from_and_reply_to_is_sent_from_them() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[mail.dkim]\nselector = \"news2026\"\nkey_path = \"dkim.key\"\nalgorithm = \"ed25519\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    project.write("dkim.key", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n");
    chmod(&project.path("dkim.key"), 0o600);
    project.edit_config(
        "id = \"tax-procurement\"\n",
        "id = \"tax-procurement\"\nfrom = \"JTPP Helpdesk <helpdesk@jtpp.eu>\"\nreply_to = \"questions@jtpp.eu\"\n",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let messages = sink.messages();
    let list = |m: &String| header(m, "List-Id").unwrap_or_default();
    let tender: Vec<_> = messages
        .iter()
        .filter(|m| list(m).contains("<tax-procurement."))
        .collect();
    let other: Vec<_> = messages
        .iter()
        .filter(|m| !list(m).contains("<tax-procurement."))
        .collect();
    assert!(!tender.is_empty() && !other.is_empty(), "{messages:?}");
    for message in tender {
        assert_eq!(
            header(message, "From").unwrap(),
            "\"JTPP Helpdesk\" <helpdesk@jtpp.eu>"
        );
        assert_eq!(header(message, "Reply-To").unwrap(), "questions@jtpp.eu");
        assert_eq!(
            header(message, "Sender").unwrap(),
            "\"EU-Japan Centre\" <newsletters@eu-japan.eu>"
        );
        assert!(
            header(message, "DKIM-Signature").unwrap().contains("d=jtpp.eu"),
            "{message}"
        );
    }
    for message in other {
        assert_eq!(
            header(message, "From").unwrap(),
            "\"EU-Japan Centre\" <newsletters@eu-japan.eu>"
        );
        assert_eq!(header(message, "Reply-To").unwrap(), "info@eu-japan.eu");
        assert_eq!(header(message, "Sender"), None);
        assert!(
            header(message, "DKIM-Signature")
                .unwrap()
                .contains("d=eu-japan.eu")
        );
    }
}

#[test]
fn a_newsletter_from_that_is_not_a_mailbox_is_refused_with_its_place() {
    let project = Project::bundled();
    with_mail(&project, 25, "");
    let config = project.edit_config(
        "id = \"tax-procurement\"\n",
        "id = \"tax-procurement\"\nreply_to = \"JTPP Helpdesk\"\n",
    );
    let line = config
        .lines()
        .position(|l| l == "reply_to = \"JTPP Helpdesk\"")
        .unwrap()
        + 1;
    project.run(&["check"]).assert_code(1).assert_stderr_has(&format!(
        "config.toml:{line}:12: newsletter[3].reply_to: \"JTPP Helpdesk\" is not a mail address"
    ));
}
