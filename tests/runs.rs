//! Every run leaves a record, and `status` leads with it: a run that could
//! not send (no signing key, the SMTP server refusing) is named with its
//! reason, and nothing promises that the next run sends what this one
//! could not. `[alerts]` mail the editors once per new problem, through
//! real smtp-sink; `check --send` checks what a send needs, sending nothing.

use std::net::TcpListener;

use crate::common::mail::project;
use crate::common::message::{decoded_subject, head};
use crate::common::sink::Sink;
use crate::common::{KEY_ENV, Project, Run};

const READER: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10
";
const DAY: &str = "2026-11-30";
const NOW: &str = "2026-11-30T06:00:00Z";
const ALERTS: &str = "\n[alerts]\nto = [\"editors@eu-japan.eu\"]\n";
/// What `status` must never say after a run that could not send.
const PROMISE: &str = "the next `bulletin run` sends it";

/// A port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `bulletin ARGS` at [`NOW`], with the signing key unless `key` is false.
fn at(project: &Project, args: &[&str], key: bool) -> Run {
    let mut command = project.command(args);
    command.env("BULLETIN_NOW", NOW);
    if !key {
        command.env_remove(KEY_ENV);
    }
    Run::from(command.output().unwrap())
}

/// The bundled project as shipped (every newsletter approved by an
/// editor) mailing to `port` (with `extra` config), one reader, fetched.
fn gated(port: u16, extra: &str) -> Project {
    let project = project(port, extra, READER);
    let config = project.read("config.toml");
    project.write(
        "config.toml",
        &config.replace("approval = \"auto\"", "approval = \"required\""),
    );
    at(&project, &["fetch"], true).assert_code(0);
    project
}

/// [`gated`], EU-Japan NEWS No. 1 approved and not sent.
fn approved(port: u16, extra: &str) -> Project {
    let project = gated(port, extra);
    let build = ["build", "--newsletter", "eu-japan-news", "--date", DAY];
    at(&project, &build, true).assert_code(0);
    at(&project, &["approve", "--newsletter", "eu-japan-news"], true).assert_code(0);
    project
}

/// `status` and `status --format json` after a failed run: the failure
/// named with `reason`, the edition NOT sent, no promise.
#[track_caller]
fn assert_status_names_failure(project: &Project, reason: &str) {
    let status = at(project, &["status", "--date", DAY], true);
    status.assert_code(0);
    let first = status.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("FAILED") && first.contains(reason),
        "{}",
        status.stdout
    );
    status.assert_stdout_has("eu-japan-news No. 1 is approved and was NOT sent");
    assert!(!status.stdout.contains(PROMISE), "{}", status.stdout);
    let json = at(project, &["status", "--date", DAY, "--format", "json"], true).json();
    let last = &json["last_run"];
    assert_eq!(last["outcome"], "failed", "{json}");
    assert_eq!(last["command"], "run", "{json}");
    assert!(
        last["started"].is_string() && last["finished"].is_string(),
        "{json}"
    );
    assert!(last["errors"][0].as_str().unwrap().contains(reason), "{json}");
    let shown = at(
        project,
        &[
            "editions",
            "show",
            "--newsletter",
            "eu-japan-news",
            "--format",
            "json",
        ],
        true,
    );
    assert_eq!(shown.json()["last_run"]["outcome"], "failed", "{}", shown.stdout);
}

#[test]
fn status_names_a_run_that_could_not_send_for_lack_of_the_signing_key() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = approved(sink.port, "");
    let before = at(&project, &["status", "--date", DAY], true);
    before.assert_stdout_has(PROMISE);
    let run = at(&project, &["run", "--date", DAY], false);
    run.assert_code(1).assert_stderr_has(KEY_ENV);
    assert_status_names_failure(&project, KEY_ENV);
    assert!(sink.messages().is_empty(), "nothing was sent");
    // Once the key is back, the run sends, and status says all went well.
    at(&project, &["run", "--date", DAY], true).assert_code(0);
    let status = at(&project, &["status", "--date", DAY, "--format", "json"], true).json();
    assert_eq!(status["last_run"]["outcome"], "ok", "{status}");
    assert_eq!(status["problems"].as_array().unwrap().len(), 0, "{status}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn status_names_a_run_that_could_not_send_to_a_closed_port() {
    let project = approved(closed_port(), "");
    at(&project, &["run", "--date", DAY], true)
        .assert_code(1)
        .assert_stderr_has("onnection refused");
    assert_status_names_failure(&project, "onnection refused");
}

#[test]
fn status_names_a_run_that_an_smtp_server_refused() {
    // smtp-sink answers MAIL with "421 Server closing connection".
    let Some(sink) = Sink::start(&["-Q", "MAIL"]) else {
        return;
    };
    // One connection: with several, one may take the 421 as its message's
    // deferral while the others give up, and the run ends partial (exit 5),
    // not failed; that race is a known doubt of the relays' failover.
    let project = approved(sink.port, "concurrency = 1");
    at(&project, &["run", "--date", DAY], true)
        .assert_code(1)
        .assert_stderr_has("421");
    assert_status_names_failure(&project, "421");
}

/// The alerts smtp-sink received (by the editors' address): each head,
/// then its text as a mail program shows it (quoted-printable decoded).
fn alerts(sink: &Sink) -> Vec<String> {
    sink.messages()
        .into_iter()
        .filter(|m| m.contains("editors@eu-japan.eu"))
        .map(|m| {
            let head = head(&m);
            assert!(head.contains("Content-Type: text/plain"), "{head}");
            let body = &m[head.len()..];
            let text = if head.contains("quoted-printable") {
                let bytes = quoted_printable::decode(body, quoted_printable::ParseMode::Robust);
                String::from_utf8(bytes.unwrap()).unwrap()
            } else {
                body.to_string()
            };
            format!("{head}{text}")
        })
        .collect()
}

#[test]
fn an_alert_lands_once_per_new_problem() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = approved(sink.port, ALERTS);
    at(&project, &["run", "--date", DAY], false).assert_code(1);
    let first = alerts(&sink);
    assert_eq!(first.len(), 1, "one alert for the failed run");
    let subject = decoded_subject(&first[0]);
    assert!(subject.contains("a run failed"), "{subject}");
    assert!(
        first[0].contains(KEY_ENV) && first[0].contains("bulletin check --send"),
        "{}",
        first[0]
    );
    assert!(
        first[0].contains("eu-japan-news No. 1 is approved and was NOT sent"),
        "{}",
        first[0]
    );
    // The same failure again: no second mail.
    at(&project, &["run", "--date", DAY], false).assert_code(1);
    assert_eq!(alerts(&sink).len(), 1, "not repeated while the problem lasts");
    let status = at(&project, &["status", "--date", DAY, "--format", "json"], true).json();
    assert_eq!(status["problems"][0]["mailed"], true, "{status}");
    // Fixed: the edition goes out, the problem is closed.
    at(&project, &["run", "--date", DAY], true).assert_code(0);
    assert_eq!(alerts(&sink).len(), 1);
    // The next week's edition, approved, and the key gone again: a new problem.
    let next = "2026-12-07";
    at(
        &project,
        &["build", "--newsletter", "eu-japan-news", "--date", next],
        true,
    )
    .assert_code(0);
    at(&project, &["approve", "--newsletter", "eu-japan-news"], true).assert_code(0);
    at(&project, &["run", "--date", next], false).assert_code(1);
    assert_eq!(
        alerts(&sink).len(),
        2,
        "mailed again after a success then a new failure"
    );
}

#[test]
fn an_alert_the_transport_cannot_carry_goes_to_stderr_with_a_failing_exit() {
    let port = closed_port();
    let project = approved(port, ALERTS);
    let run = at(&project, &["run", "--date", DAY], true);
    run.assert_code(1)
        .assert_stderr_has("could not be mailed")
        .assert_stderr_has("Subject: bulletin (")
        .assert_stderr_has("eu-japan-news No. 1 is approved and was NOT sent");
}

#[test]
fn a_draft_waiting_too_long_is_alerted_once() {
    let Some(sink) = Sink::start(&[]) else { return };
    let late_after_two_days = format!("{ALERTS}draft_waiting_days = 2\n");
    let project = gated(sink.port, &late_after_two_days);
    at(&project, &["run", "--date", DAY], true).assert_code(0);
    assert!(alerts(&sink).is_empty(), "a draft of today is not late");
    at(&project, &["run", "--date", "2026-12-03"], true).assert_code(0);
    let late = alerts(&sink);
    assert_eq!(late.len(), 1, "the late drafts in one mail");
    assert!(
        late[0].contains("has waited more than 2 days for approval"),
        "{}",
        late[0]
    );
    at(&project, &["run", "--date", "2026-12-04"], true).assert_code(0);
    assert_eq!(alerts(&sink).len(), 1, "not again the next day");
}

#[test]
fn check_send_names_each_problem_and_sends_nothing() {
    let project = project(closed_port(), "", READER);
    let check = at(&project, &["check", "--send"], false);
    check.assert_code(1);
    let errors: Vec<&str> = check
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert!(errors.iter().any(|l| l.contains(KEY_ENV)), "{}", check.stderr);
    assert!(
        errors.iter().any(|l| l.contains("onnection refused")),
        "{}",
        check.stderr
    );
    let Some(sink) = Sink::start(&[]) else { return };
    let project = project_on(sink.port);
    let check = at(&project, &["check", "--send"], true);
    check
        .assert_code(0)
        .assert_stdout_has(&format!("127.0.0.1:{} took a session", sink.port));
    check.assert_stdout_has("signing key in");
    assert!(sink.messages().is_empty(), "no mail");
    let weak = project
        .command(&["check", "--send"])
        .env(KEY_ENV, "aaaaaaaaaaaaaaaaaaaaaaaa")
        .output()
        .unwrap();
    let weak = Run::from(weak);
    weak.assert_code(1).assert_stderr_has("too easy to guess");
}

fn project_on(port: u16) -> Project {
    project(port, "", READER)
}

#[test]
fn run_lines_carry_the_time_when_not_on_a_terminal() {
    let project = gated(closed_port(), "");
    let run = at(&project, &["run", "--date", DAY], true);
    run.assert_code(0);
    let stamp = "2026-11-30T06:00:00Z ";
    assert!(!run.stdout.is_empty());
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(line.starts_with(stamp), "{line:?}\n{}", run.stdout);
    }
}
