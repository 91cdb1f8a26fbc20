//! Issue 28, item 4's scheduled send ("not before 2026-12-08 09:00
//! Europe/Brussels"): set with `bulletin schedule` or the desk's form, held
//! by `run` and `send` until its time, sent once by the first run after
//! it into a real smtp-sink, and shown by `status`, text and JSON. The
//! same in Chromium, from the review page: `desk::the_desk_in_chromium_…`.

use std::io::Write;
use std::process::Stdio;

use crate::common::client::{Client, Response};
use crate::common::mail;
use crate::common::server::Server;
use crate::common::sink::Sink;
use crate::common::{Project, Run};

const NEWS: &str = "eu-japan-news";
const KEIKO: &str = "keiko@eu-japan.eu";
const PASSWORD: &str = "correct horse battery staple";
/// The day before the send, when the editor schedules it.
const EVE: &str = "2026-12-07T10:00:00Z";
/// A minute before 09:00 in Brussels (08:00 UTC), and a minute after.
const BEFORE: &str = "2026-12-08T07:59:00Z";
const AFTER: &str = "2026-12-08T08:01:00Z";
/// How `status` and `run` name the time.
const SHOWN: &str = "2026-12-08 09:00 Europe/Brussels (08:00 UTC)";

const READERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news,2025-02-01
";

/// `bulletin ARGS` with the clock at `now`.
fn at(project: &Project, now: &str, args: &[&str]) -> Run {
    let mut command = project.command(args);
    command.env("BULLETIN_NOW", now);
    command.output().unwrap().into()
}

/// The bundled project mailing [`READERS`] to `port`, EU-Japan NEWS No. 1
/// (of 2026-12-07) built on the eve, approved as it is built (the mail
/// config's `approval = "auto"`), Keiko an editor.
fn approved(port: u16) -> Project {
    let project = mail::project(port, "", READERS);
    project.run(&["fetch"]).assert_code(0);
    at(
        &project,
        EVE,
        &["build", "--newsletter", NEWS, "--date", "2026-12-07"],
    )
    .assert_code(0);
    let mut child = project
        .command(&[
            "editors",
            "add",
            KEIKO,
            "--name",
            "Keiko Editor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    Run::from(child.wait_with_output().unwrap()).assert_code(0);
    project
}

/// `schedule --newsletter eu-japan-news --edition 1 --not-before WHEN EXTRA…` on the eve.
fn schedule(project: &Project, when: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "schedule",
        "--newsletter",
        NEWS,
        "--edition",
        "1",
        "--not-before",
        when,
    ];
    args.extend_from_slice(extra);
    at(project, EVE, &args)
}

/// EU-Japan NEWS in `status --format json`.
fn news_status(project: &Project, now: &str) -> serde_json::Value {
    let status = at(project, now, &["status", "--format", "json"]);
    status.assert_code(0);
    status.json()["newsletters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == NEWS)
        .unwrap()
        .clone()
}

#[test]
fn a_scheduled_edition_is_held_by_run_and_send_until_its_time_then_sent_once() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = approved(sink.port);
    schedule(&project, "2026-12-08 09:00", &[])
        .assert_code(0)
        .assert_stdout_has(&format!("not before {SHOWN}"));

    let status = at(&project, BEFORE, &["status"]);
    status
        .assert_code(0)
        .assert_stdout_has(&format!("scheduled for {SHOWN}"));
    assert!(
        !status
            .stdout
            .contains("No. 1 is approved, not sent yet: the next `bulletin run` sends it"),
        "{}",
        status.stdout
    );
    let news = news_status(&project, BEFORE);
    assert_eq!(
        news["last_edition"]["not_before"]["at"], "2026-12-08T08:00:00Z",
        "{news}"
    );
    assert_eq!(
        news["last_edition"]["not_before"]["zone"], "Europe/Brussels",
        "{news}"
    );
    assert_eq!(
        news["unsent"][0]["not_before"]["local"], "2026-12-08 09:00",
        "{news}"
    );

    at(&project, BEFORE, &["run", "--date", "2026-12-08"]).assert_stdout_has(&format!(
        "{NEWS} No. 1: scheduled: not before {SHOWN}; not sent by this run"
    ));
    at(
        &project,
        BEFORE,
        &["send", "--newsletter", NEWS, "--edition", "1"],
    )
    .assert_code(1)
    .assert_stderr_has(&format!("{NEWS} No. 1 is scheduled: not before {SHOWN}"))
    .assert_stderr_has("--now");
    assert!(sink.messages().is_empty(), "nothing sent before its time");

    at(&project, AFTER, &["run", "--date", "2026-12-08"]).assert_stdout_has(&format!("{NEWS} No. 1: sent 2"));
    assert_eq!(sink.wait_for_messages(2), 2);
    at(&project, AFTER, &["run", "--date", "2026-12-08"]);
    sink.assert_each_once(2);
    let news = news_status(&project, AFTER);
    assert!(
        news["last_edition"]["state"]
            .as_str()
            .unwrap()
            .starts_with("sent"),
        "{news}"
    );
    let show = at(
        &project,
        AFTER,
        &["editions", "show", "--newsletter", NEWS, "--edition", "1"],
    );
    show.assert_stdout_has(&format!("send scheduled: not before {SHOWN}"));
    schedule(&project, "2026-12-09 09:00", &[])
        .assert_code(1)
        .assert_stderr_has("No. 1 was sent (2026-12-08 08:01): too late to schedule its send");
}

#[test]
fn a_later_edition_waits_for_an_earlier_scheduled_one_and_send_now_overrides() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = approved(sink.port);
    schedule(&project, "2026-12-09 09:00", &[]).assert_code(0);
    at(
        &project,
        EVE,
        &["build", "--newsletter", NEWS, "--date", "2026-12-08"],
    )
    .assert_code(0);
    at(&project, AFTER, &["run", "--date", "2026-12-08"])
        .assert_stdout_has(&format!("{NEWS} No. 2 waits for No. 1's scheduled send"));
    at(&project, AFTER, &["status"])
        .assert_stdout_has("No. 2 is approved and waits for No. 1's scheduled send");
    assert!(sink.messages().is_empty(), "editions reach readers in order");
    at(
        &project,
        AFTER,
        &["send", "--newsletter", NEWS, "--edition", "1", "--now"],
    )
    .assert_code(0);
    assert_eq!(sink.wait_for_messages(2), 2);
}

#[test]
fn a_schedule_the_clocks_skip_or_in_the_past_or_of_a_sent_edition_is_refused_saying_why() {
    let project = approved(25);
    schedule(&project, "2027-03-28 02:30", &[])
        .assert_code(1)
        .assert_stderr_has("2027-03-28 02:30 does not exist in Europe/Brussels");
    schedule(&project, "2027-10-31 02:30", &[])
        .assert_code(0)
        .assert_stdout_has("happens twice in Europe/Brussels (the clocks go back): the earlier is taken")
        .assert_stdout_has("not before 2027-10-31 02:30 Europe/Brussels (00:30 UTC)");
    schedule(&project, "2026-12-01 09:00", &[])
        .assert_code(1)
        .assert_stderr_has("is past (it is now 2026-12-07 11:00 Europe/Brussels)");
    schedule(&project, "2026-12-08 09:00", &["--zone", "Asia/Tokyo"])
        .assert_code(0)
        .assert_stdout_has("not before 2026-12-08 09:00 Asia/Tokyo (00:00 UTC)");
    schedule(&project, "2026-12-08 09:00", &["--zone", "Mars/Olympus"])
        .assert_code(1)
        .assert_stderr_has("\"Mars/Olympus\" is not a time zone");
    schedule(&project, "next tuesday", &[])
        .assert_code(1)
        .assert_stderr_has("is not a time to send at");
    at(
        &project,
        EVE,
        &["schedule", "--newsletter", NEWS, "--edition", "1", "--clear"],
    )
    .assert_code(0)
    .assert_stdout_has("schedule cleared by");
    // Skipped: never sent.
    at(
        &project,
        EVE,
        &["build", "--newsletter", NEWS, "--date", "2026-12-08"],
    )
    .assert_code(0);
    at(
        &project,
        EVE,
        &["unapprove", "--newsletter", NEWS, "--edition", "2"],
    )
    .assert_code(0);
    at(&project, EVE, &["skip", "--newsletter", NEWS, "--edition", "2"]).assert_code(0);
    at(
        &project,
        EVE,
        &[
            "schedule",
            "--newsletter",
            NEWS,
            "--edition",
            "2",
            "--not-before",
            "2026-12-09 09:00",
        ],
    )
    .assert_code(1)
    .assert_stderr_has("No. 2 was skipped: it is never sent");
}

#[test]
fn a_time_zone_not_of_the_tz_database_is_a_config_error_at_its_place() {
    let project = Project::bundled();
    let config = project.edit_config(
        "time_zone = \"Europe/Brussels\"",
        "time_zone = \"Europe/Bruxelles\"",
    );
    let line = config.lines().position(|l| l.starts_with("time_zone")).unwrap() + 1;
    project.run(&["check"]).assert_code(1).assert_stderr_has(&format!(
        "config.toml:{line}:13: site.time_zone: \"Europe/Bruxelles\" is not a time zone"
    ));
}

/// A session on the desk of `server`: its cookie and its forms' token.
fn log_in(client: &Client, server: &Server) -> (String, String) {
    let form = client.fetch_with(&server.link("/desk/login"), &[]);
    let login_cookie = form
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let answer = client.submit(
        &server.link("/desk/login"),
        &[
            ("token", &token(&form.body)),
            ("email", KEIKO),
            ("password", PASSWORD),
        ],
        &[("Cookie", &login_cookie)],
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let session = answer
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let desk = client.fetch_with(&server.link("/desk"), &[("Cookie", &session)]);
    assert_eq!(desk.status, 200, "{}", desk.body);
    (session, token(&desk.body))
}

/// The value of the page's first `token` field.
fn token(body: &str) -> String {
    let start = body.find("name=\"token\" value=\"").expect("a form with a token") + 20;
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

#[test]
fn the_desk_schedules_an_edition_with_a_session_and_its_token_and_refuses_without() {
    let project = approved(25);
    let server = Server::serve_at(&project, EVE);
    let client = Client::new();
    let (session, token) = log_in(&client, &server);
    let desk = client.fetch_with(&server.link("/desk"), &[("Cookie", &session)]);
    for shown in [
        "Send of No. 1 of 2026-12-07, approved",
        "type=\"datetime-local\"",
        "value=\"Europe/Brussels\"",
    ] {
        assert!(desk.body.contains(shown), "{shown} in:\n{}", desk.body);
    }
    let post = |fields: &[(&str, &str)]| -> Response {
        client.submit(&server.link("/desk/schedule"), fields, &[("Cookie", &session)])
    };
    let fields = [
        ("newsletter", NEWS),
        ("edition", "1"),
        ("when", "2026-12-08T09:00"),
        ("zone", "Europe/Brussels"),
        ("do", "schedule"),
    ];
    let refused = post(&fields);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        !at(&project, EVE, &["status"]).stdout.contains("scheduled for"),
        "nothing scheduled"
    );

    let with_token = [&[("token", token.as_str())], &fields[..]].concat();
    let done = post(&with_token);
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/desk?done=scheduled"),
        "the dashboard's form leads back to the dashboard"
    );
    let said = client.fetch_with(&server.link(&done.location), &[("Cookie", &session)]);
    assert!(
        said.body
            .contains("Send scheduled: the first run after that time sends it"),
        "{}",
        said.body
    );
    at(&project, EVE, &["status"]).assert_stdout_has(&format!("scheduled for {SHOWN}"));
    at(
        &project,
        EVE,
        &["editions", "show", "--newsletter", NEWS, "--edition", "1"],
    )
    .assert_stdout_has(KEIKO)
    .assert_stdout_has(&format!("send scheduled: not before {SHOWN}"));
    let desk = client.fetch_with(&server.link("/desk"), &[("Cookie", &session)]);
    assert!(
        desk.body.contains(&format!("scheduled for {SHOWN}")),
        "{}",
        desk.body
    );
    assert!(desk.body.contains("Clear schedule"), "{}", desk.body);

    let past = [
        &[("token", token.as_str())],
        &fields[..2],
        &[("when", "2026-12-01T09:00"), ("zone", ""), ("do", "schedule")][..],
    ]
    .concat();
    let refused = post(&past);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("<h1>Newsletters</h1>") && refused.body.contains("is past"),
        "the dashboard says why: {}",
        refused.body
    );
    let cleared = post(&[
        ("token", &token),
        ("newsletter", NEWS),
        ("edition", "1"),
        ("do", "clear"),
    ]);
    assert_eq!(
        (cleared.status, cleared.location.as_str()),
        (303, "/desk?done=schedule-cleared")
    );
    assert!(
        !at(&project, EVE, &["status"]).stdout.contains("scheduled for"),
        "cleared"
    );
}

#[test]
fn the_schedule_forms_answer_leads_back_to_its_review_page_and_never_off_the_desk() {
    let project = approved(25);
    let server = Server::serve_at(&project, EVE);
    let client = Client::new();
    let (session, _) = log_in(&client, &server);
    let review = "/desk/edition/eu-japan-news/1";
    let page = client.fetch_with(&server.link(review), &[("Cookie", &session)]);
    assert!(
        page.body.contains(&format!("name=\"back\" value=\"{review}\"")),
        "{}",
        page.body
    );
    let token = token(&page.body);
    let post = |back: &str, when: &str| -> Response {
        let fields = [
            ("token", token.as_str()),
            ("back", back),
            ("newsletter", NEWS),
            ("edition", "1"),
            ("when", when),
            ("zone", "Europe/Brussels"),
            ("do", "schedule"),
        ];
        client.submit(&server.link("/desk/schedule"), &fields, &[("Cookie", &session)])
    };
    let done = post(review, "2026-12-08T09:00");
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/desk/edition/eu-japan-news/1?done=scheduled")
    );
    let shown = client.fetch_with(&server.link(&done.location), &[("Cookie", &session)]);
    assert!(
        shown
            .body
            .contains("<p role=\"status\" class=\"done\"><strong>Send scheduled:")
            && shown
                .body
                .contains(&format!("Scheduled: not before <strong>{SHOWN}</strong>")),
        "{}",
        shown.body
    );
    let refused = post(review, "2026-12-01T09:00");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("<h1>Review: ") && refused.body.contains("is past"),
        "the review page says why: {}",
        refused.body
    );
    for foreign in [
        "https://evil.example/desk/edition/eu-japan-news/1",
        "//evil.example/",
        "/desk/edition/eu-japan-news/2",
        "/desk/edition/eu-japan-news/1/../../../logout",
        "/desk/edition/eu-japan-news/1\r\nSet-Cookie: x=y",
    ] {
        let done = post(foreign, "2026-12-08T09:00");
        assert_eq!(
            (done.status, done.location.as_str()),
            (303, "/desk?done=scheduled"),
            "{foreign:?} is not followed"
        );
    }
}

#[test]
fn a_drafts_schedule_takes_effect_once_it_is_approved() {
    let project = Project::bundled_as_shipped();
    mail::with_mail(&project, 25, "");
    project.run(&["fetch"]).assert_code(0);
    at(
        &project,
        EVE,
        &["build", "--newsletter", NEWS, "--date", "2026-12-07"],
    )
    .assert_code(0);
    schedule(&project, "2026-12-08 09:00", &[])
        .assert_code(0)
        .assert_stdout_has("No. 1 (a draft): send scheduled by")
        .assert_stdout_has(&format!("not before {SHOWN}, once approved"));
    at(&project, EVE, &["status"]).assert_stdout_has(&format!("to be sent not before {SHOWN} once approved"));
    let approve = at(
        &project,
        EVE,
        &["approve", "--newsletter", NEWS, "--edition", "1"],
    );
    approve.assert_code(0).assert_stdout_has(&format!(
        "scheduled: not before {SHOWN}; the first `bulletin run` after that mails it"
    ));
    assert!(
        !approve.stdout.contains("the next `bulletin run` mails it"),
        "{}",
        approve.stdout
    );
    at(&project, EVE, &["status"]).assert_stdout_has(&format!("scheduled for {SHOWN}"));
}
