//! Several relays (`[[mail.relays]]`): a send spread by weight over two
//! smtp-sinks, one of them killed mid-send or refusing, and the config
//! that names them.

use std::collections::BTreeMap;
use std::process::Stdio;

use crate::common::Project;
use crate::common::mail::{bounces, readers, relays_project};
use crate::common::sink::{Sink, header};

/// Reader `i`: an individual in France, subscribed to a newsletter for everyone.
fn reader(_: usize) -> &'static str {
    "individual,FR,eu-japan-news"
}

/// The recipient of every whole message a sink took: a dump cut short by a
/// kill (the closing MIME boundary missing) is no message.
fn recipients(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter(|message| message.trim_end().ends_with("--"))
        .map(|message| {
            let rcpt = header(message, "X-Rcpt-Args").expect("a recipient");
            rcpt.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// How many copies each address got, over every sink.
fn copies(sinks: &[&Sink]) -> BTreeMap<String, usize> {
    let mut copies = BTreeMap::new();
    for sink in sinks {
        for email in recipients(sink) {
            *copies.entry(email).or_default() += 1;
        }
    }
    copies
}

/// Nobody was charged a bounce: no hard bounce counted, no delivery failed.
#[track_caller]
fn nobody_bounced(project: &Project) {
    let charged: Vec<_> = bounces(project).into_iter().filter(|(_, n)| *n > 0).collect();
    assert!(charged.is_empty(), "{charged:?}");
    let db = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let failed: u32 = db
        .query_row(
            "SELECT count(*) FROM deliveries WHERE status = 'failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 0, "no delivery recorded as failed");
}

#[test]
fn two_relays_share_a_send_by_weight_and_the_report_names_each() {
    let (Some(one), Some(three)) = (Sink::start(&[]), Sink::start(&[])) else {
        return;
    };
    const READERS: usize = 400;
    let project = relays_project(
        &[(one.port, "weight = 1"), (three.port, "weight = 3")],
        &readers(READERS, reader),
    );
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0);
    let copies = copies(&[&one, &three]);
    assert_eq!(copies.len(), READERS, "everyone has the edition");
    assert!(copies.values().all(|n| *n == 1), "each once: {copies:?}");
    let share = recipients(&one).len();
    assert!(
        (READERS * 15 / 100..=READERS * 35 / 100).contains(&share),
        "weight 1 of 4 took {share} of {READERS}"
    );
    for (sink, sent) in [(&one, share), (&three, READERS - share)] {
        run.assert_stdout_has(&format!("relay 127.0.0.1:{}: sent {sent} (", sink.port));
    }
    nobody_bounced(&project);
}

/// The must-show: 3,000 messages over two relays, one killed (by
/// its PID) mid-send; the other takes the rest.
#[test]
fn a_relay_killed_mid_send_leaves_the_rest_to_the_other() {
    let (Some(mut killed), Some(other)) = (Sink::start(&[]), Sink::start(&[])) else {
        return;
    };
    const READERS: usize = 3000;
    // A rate limit makes the send last seconds, so the kill lands in it.
    let limit = "rate_per_second = 400.0\nconcurrency = 4";
    let project = relays_project(
        &[(killed.port, limit), (other.port, limit)],
        &readers(READERS, reader),
    );
    let child = project
        .command(&["run", "--date", "2026-11-23"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    killed.wait_for_messages(300);
    killed.crash();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    let copies = copies(&[&killed, &other]);
    let expected: Vec<String> = (0..READERS).map(|i| format!("reader{i:04}@example.eu")).collect();
    let missing: Vec<_> = expected.iter().filter(|e| !copies.contains_key(*e)).collect();
    assert!(missing.is_empty(), "everyone has the edition: {missing:?}");
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 4,
        "at most one copy twice per connection killed: {twice:?}"
    );
    let before = recipients(&killed).len();
    assert!(
        (250..READERS / 2).contains(&before),
        "the killed relay had its share until the kill: {before}"
    );
    assert!(
        stdout.contains(&format!("relay 127.0.0.1:{}: sent", killed.port))
            && stdout.contains("failed session"),
        "the report names the relay that failed: {stdout}"
    );
    nobody_bounced(&project);
}

#[test]
fn a_relay_answering_421_rests_and_the_other_sends_everything() {
    let (Some(refusing), Some(other)) = (Sink::start(&["-Q", "RCPT"]), Sink::start(&[])) else {
        return;
    };
    const READERS: usize = 60;
    let project = relays_project(
        &[(refusing.port, ""), (other.port, "")],
        &readers(READERS, reader),
    );
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0)
        .assert_stdout_has(&format!("relay 127.0.0.1:{}: sent 0 (0%)", refusing.port))
        .assert_stdout_has("421");
    let copies = copies(&[&refusing, &other]);
    assert_eq!(copies.len(), READERS);
    assert!(copies.values().all(|n| *n == 1), "{copies:?}");
    nobody_bounced(&project);
}

#[test]
fn every_relay_down_stops_the_send_with_nobody_charged() {
    let (Some(first), Some(second)) = (Sink::start(&["-Q", "RCPT"]), Sink::start(&["-Q", "RCPT"])) else {
        return;
    };
    let project = relays_project(&[(first.port, ""), (second.port, "")], &readers(20, reader));
    project
        .run(&["run", "--date", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_has("stay due");
    nobody_bounced(&project);
}

#[test]
fn relays_beside_mail_smtp_or_with_a_zero_weight_are_refused() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = relays_project(&[(sink.port, "")], &readers(1, reader));
    let config = project.read("config.toml");
    project.write(
        "config.toml",
        &config.replace("[[mail.relays]]", "[mail.smtp]\nport = 25\n\n[[mail.relays]]"),
    );
    project
        .run(&["check"])
        .assert_code(1)
        .assert_stderr_has("either [mail.smtp] or [[mail.relays]]");
    project.write(
        "config.toml",
        &config.replace("[[mail.relays]]", "[[mail.relays]]\nweight = 0"),
    );
    project.run(&["check"]).assert_code(1).assert_stderr_has("weight");
    project.write(
        "config.toml",
        &config.replace("[[mail.relays]]", "[[mail.relays]]\nhots = \"x\""),
    );
    project.run(&["check"]).assert_code(1).assert_stderr_has("hots");
    let twice = format!(
        "{config}\n[[mail.relays]]\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    project.write("config.toml", &twice);
    project
        .run(&["check"])
        .assert_code(1)
        .assert_stderr_has("listed twice");
}
