//! The delivery matrix against a second, independent SMTP server, Python's
//! aiosmtpd (`tests/smtp/server.py`), in the strict modes smtp-sink lacks:
//! a second EHLO refused, AUTH required, STARTTLS offered and failing, no
//! SMTPUTF8. And what every server must see of odd addresses and names.

use crate::common::Project;
use crate::common::aiosmtpd::{Aiosmtpd, Mode, PASSWORD, USER};
use crate::common::mail::{bounces, project, readers};
use crate::common::sink::{Sink, header};

const SUBSCRIBERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news,2025-02-01
solo@example.fr,Solo Reader,,individual,FR,tech-transfer,2025-03-01
";

/// Every copy the bundled editions of 2026-11-23 make for [`SUBSCRIBERS`].
const COPIES: usize = 4;

fn no_bounces(project: &Project) {
    let bounces = bounces(project);
    assert!(
        bounces.iter().all(|(_, count)| *count == 0),
        "nothing counted against anyone: {bounces:?}"
    );
}

/// Points the project's `[mail.smtp]` at another port.
fn move_to(project: &Project, from: u16, to: u16) {
    let config = project
        .read("config.toml")
        .replace(&format!("port = {from}\n"), &format!("port = {to}\n"));
    project.write("config.toml", &config);
}

#[test]
fn aiosmtpd_gets_every_copy_once() {
    let Some(server) = Aiosmtpd::start(Mode::Normal, false) else {
        return;
    };
    let project = project(server.port, "", SUBSCRIBERS);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0);
    assert_eq!(server.messages().len(), COPIES, "{}", run.stdout);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(server.messages().len(), COPIES, "a second run sends nothing");
}

#[test]
fn a_server_refusing_a_second_ehlo_gets_everything_once_and_nobody_bounces() {
    // The server announces PIPELINING: bulletin must learn it from the one EHLO.
    let Some(server) = Aiosmtpd::start(Mode::RefuseSecondEhlo, true) else {
        return;
    };
    let project = project(server.port, "", SUBSCRIBERS);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(0)
        .assert_stdout_has("eu-japan-news No. 1: sent 2, already sent 0, deferred 0, failed 0");
    assert_eq!(
        server.recipients(),
        [
            "jane@example.de",
            "jane@example.de",
            "solo@example.fr",
            "taro@example.jp"
        ]
    );
    no_bounces(&project);
}

#[test]
fn a_server_requiring_auth_stops_the_send_until_credentials_are_configured() {
    // Pipelined: the 530 to MAIL comes with the 503s to RCPT and DATA that follow it.
    let Some(server) = Aiosmtpd::start(Mode::Auth, true) else {
        return;
    };
    let project = project(server.port, "", SUBSCRIBERS);
    project.run(&["fetch"]).assert_code(0);
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    let run = project.run(&["send", "--newsletter", "eu-japan-news"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("AUTH") && run.stderr.contains("530"),
        "names AUTH and shows the server's reply: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("username_env"),
        "says what to configure: {}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one message: {}", run.stderr);
    assert!(server.messages().is_empty());
    no_bounces(&project);

    let config = project.read("config.toml").replace(
        "retry_delay_ms = 20\n",
        "retry_delay_ms = 20\nusername_env = \"TEST_SMTP_USER\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n",
    );
    project.write("config.toml", &config);
    let wrong = project
        .command(&["send", "--newsletter", "eu-japan-news"])
        .env("TEST_SMTP_USER", USER)
        .env("TEST_SMTP_PASSWORD", "not-the-password")
        .output()
        .unwrap();
    let wrong = crate::common::Run::from(wrong);
    wrong.assert_code(1).assert_stderr_has("AUTH");
    no_bounces(&project);

    let right = project
        .command(&["send", "--newsletter", "eu-japan-news"])
        .env("TEST_SMTP_USER", USER)
        .env("TEST_SMTP_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let right = crate::common::Run::from(right);
    right
        .assert_code(0)
        .assert_stdout_has("sent 2, already sent 0, deferred 0, failed 0");
    assert_eq!(server.recipients(), ["jane@example.de", "taro@example.jp"]);
}

#[test]
fn a_failing_starttls_stops_the_send_and_records_nothing_against_anyone() {
    for mode in [Mode::StarttlsRefused, Mode::StarttlsBroken] {
        let Some(server) = Aiosmtpd::start(mode, false) else {
            return;
        };
        let project = project(server.port, "", SUBSCRIBERS);
        let config = project
            .read("config.toml")
            .replace("security = \"none\"", "security = \"starttls\"");
        project.write("config.toml", &config);
        let run = project.run(&["run", "--date", "2026-11-23"]);
        run.assert_code(1);
        assert!(run.stderr.contains("STARTTLS"), "{mode:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{mode:?}: {}", run.stderr);
        assert!(server.messages().is_empty());
        no_bounces(&project);

        // Nobody was marked: over plain SMTP to a healthy server, everyone gets it.
        let Some(healthy) = Aiosmtpd::start(Mode::Normal, false) else {
            return;
        };
        let config = project
            .read("config.toml")
            .replace("security = \"starttls\"", "security = \"none\"");
        project.write("config.toml", &config);
        move_to(&project, server.port, healthy.port);
        project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
        assert_eq!(healthy.messages().len(), COPIES, "{mode:?}");
    }
}

const INTERNATIONAL: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
a@bücher.example,Anna Bücher,,individual,DE,tech-transfer,2025-01-10
jörg@example.de,Jörg Müller,,individual,DE,tech-transfer,2025-01-10
plain@example.de,Plain Reader,,individual,DE,tech-transfer,2025-01-10
";

fn send_tech_transfer(project: &Project) -> crate::common::Run {
    project.run(&["fetch"]).assert_code(0);
    project
        .run(&["build", "--date", "2026-11-23", "--newsletter", "tech-transfer"])
        .assert_code(0);
    project.run(&["send", "--newsletter", "tech-transfer"])
}

#[test]
fn international_addresses_go_out_as_punycode_and_with_smtputf8_where_offered() {
    let Some(server) = Aiosmtpd::start(Mode::Normal, false) else {
        return;
    };
    let project = project(server.port, "", INTERNATIONAL);
    let run = send_tech_transfer(&project);
    run.assert_code(0);
    let messages = server.messages();
    assert_eq!(messages.len(), 3, "{}{}", run.stdout, run.stderr);
    let anna = messages
        .iter()
        .find(|m| header(m, "X-Rcpt-To").unwrap().starts_with("a@"))
        .unwrap();
    assert_eq!(header(anna, "X-Rcpt-To").unwrap(), "a@xn--bcher-kva.example");
    assert!(
        header(anna, "To").unwrap().ends_with("<a@xn--bcher-kva.example>"),
        "{}",
        header(anna, "To").unwrap()
    );
    let jorg = messages
        .iter()
        .find(|m| header(m, "X-Rcpt-To").unwrap() == "jörg@example.de")
        .expect("the non-ASCII local part, to a server that offers SMTPUTF8");
    assert!(
        header(jorg, "X-Mail-Options").unwrap().contains("SMTPUTF8"),
        "{jorg}"
    );
}

/// Without SMTPUTF8 (aiosmtpd in that mode, and smtp-sink, which never
/// offers it), `jörg@` cannot be sent: a clear failure for that address
/// alone, not a bounce; the others are delivered, the domain as punycode.
#[test]
fn a_non_ascii_local_part_without_smtputf8_fails_alone_and_is_no_bounce() {
    let aiosmtpd = Aiosmtpd::start(Mode::NoSmtpUtf8, false);
    let sink = Sink::start(&[]);
    let (Some(aiosmtpd), Some(sink)) = (aiosmtpd, sink) else {
        return;
    };
    let servers: [(u16, &dyn Fn() -> Vec<String>); 2] = [
        (aiosmtpd.port, &|| aiosmtpd.recipients()),
        (sink.port, &|| {
            let mut all: Vec<String> = sink.deliveries().into_iter().map(|(to, _)| to).collect();
            all.sort();
            all
        }),
    ];
    for (port, recipients) in servers {
        let project = project(port, "", INTERNATIONAL);
        let run = send_tech_transfer(&project);
        run.assert_code(5);
        assert!(
            run.stderr.contains("jörg@example.de") && run.stderr.contains("SMTPUTF8"),
            "a clear reason for that address: {}",
            run.stderr
        );
        run.assert_stdout_has("sent 2,");
        assert_eq!(
            recipients(),
            ["a@xn--bcher-kva.example", "plain@example.de"],
            "port {port}"
        );
        no_bounces(&project);
    }
}

#[test]
fn a_very_long_name_never_makes_a_header_line_over_998_characters() {
    let Some(sink) = Sink::start(&[]) else { return };
    let long_ascii = "Longname ".repeat(333);
    let long_word = "x".repeat(3000);
    let long_japanese = "山田太郎".repeat(750);
    let csv = format!(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         a@example.de,{long_ascii},,individual,DE,tech-transfer,2025-01-10\n\
         b@example.de,{long_word},,individual,DE,tech-transfer,2025-01-10\n\
         c@example.de,{long_japanese},,individual,DE,tech-transfer,2025-01-10\n"
    );
    let project = project(sink.port, "", &csv);
    send_tech_transfer(&project).assert_code(0);
    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    for message in &messages {
        let message = message.replace("\r\n", "\n");
        let head = message.split("\n\n").next().unwrap();
        let longest = head.lines().map(str::len).max().unwrap();
        assert!(longest <= 998, "a header line of {longest} characters:\n{head}");
        let to = header(&message, "To").unwrap();
        assert!(to.len() < 998, "To: {to}");
    }
    let a = messages
        .iter()
        .find(|m| header(m, "To").unwrap().contains("<a@example.de>"))
        .unwrap();
    assert!(
        header(a, "To").unwrap().starts_with("\"Longname Longname"),
        "the name is kept, shortened: {}",
        header(a, "To").unwrap()
    );
}

/// STARTTLS and TLS from the first byte, against a server whose certificate
/// is signed by a test CA (`tests/smtp/ca.pem`): refused while that CA is
/// not trusted (nothing recorded against anyone), delivered over TLS once
/// `SSL_CERT_FILE` names it.
#[test]
fn starttls_and_tls_deliver_only_to_a_server_with_a_trusted_certificate() {
    for (mode, security) in [(Mode::Starttls, "starttls"), (Mode::Tls, "tls")] {
        let Some(server) = Aiosmtpd::start(mode, false) else {
            return;
        };
        let project = project(server.port, "", SUBSCRIBERS);
        let config = project
            .read("config.toml")
            .replace("security = \"none\"", &format!("security = \"{security}\""));
        project.write("config.toml", &config);
        let untrusted = project
            .command(&["run", "--date", "2026-11-23"])
            .env_remove("SSL_CERT_FILE")
            .output()
            .unwrap();
        let untrusted = crate::common::Run::from(untrusted);
        untrusted.assert_code(1);
        assert!(
            untrusted.stderr.contains("TLS handshake failed") && untrusted.stderr.contains("certificate"),
            "{mode:?}: {}",
            untrusted.stderr
        );
        assert_eq!(untrusted.stderr.lines().count(), 1, "{}", untrusted.stderr);
        assert!(server.messages().is_empty());
        no_bounces(&project);

        let trusted = project
            .command(&["run", "--date", "2026-11-23"])
            .env("SSL_CERT_FILE", crate::common::repo().join("tests/smtp/ca.pem"))
            .output()
            .unwrap();
        crate::common::Run::from(trusted).assert_code(0);
        let messages = server.messages();
        assert_eq!(messages.len(), COPIES, "{mode:?}");
        for message in &messages {
            let tls = header(message, "X-TLS").unwrap();
            assert!(tls.starts_with("TLSv1."), "{mode:?}: sent over {tls}");
        }
    }
}

/// A server that takes fewer connections than `concurrency` (421 to the
/// rest): the connections it refuses give up, the others send everything,
/// and the report says so.
#[test]
fn connections_a_server_refuses_leave_their_messages_to_the_others() {
    let Some(server) = Aiosmtpd::start_with(Mode::Normal, true, &["--max-connections", "2"]) else {
        return;
    };
    let csv = readers(40, |_| "company,BE,tech-transfer");
    let project = project(server.port, "concurrency = 4", &csv);
    let run = send_tech_transfer(&project);
    run.assert_code(0)
        .assert_stdout_has("sent 40, already sent 0, deferred 0, failed 0");
    assert!(
        run.stderr.contains("421") && run.stderr.contains("concurrency"),
        "says why and what to change: {}",
        run.stderr
    );
    let mut recipients = server.recipients();
    recipients.dedup();
    assert_eq!(recipients.len(), 40, "each once");
    assert_eq!(server.messages().len(), 40);
}
