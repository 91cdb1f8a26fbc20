//! `bulletin bounces`: every fixture (written from each MTA's published
//! format, two of Postfix's genuine) classified as a person reading it
//! would; the store changed once per mail; Maildir, mbox and `.eml` read
//! and left as they were; and genuine DSNs from a private Postfix
//! instance, for mail `bulletin send` sent it, matched by VERP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::Digest;

use crate::common::{KEY_ENV, Project, Run, files_under, repo};

/// One row of `tests/fixtures/bounces/manifest.tsv`.
struct Expected {
    file: String,
    kind: String,
    recipient: Option<String>,
    status: Option<String>,
}

/// The bundled project (its `bounce_address` set), with the tests' signing key.
fn bundled() -> Project {
    let project = Project::bundled();
    project.edit_config(
        "signing_key_env = \"BULLETIN_UNSUBSCRIBE_KEY\"",
        &format!("signing_key_env = \"{KEY_ENV}\""),
    );
    project
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/bounces")
}

fn manifest() -> Vec<Expected> {
    let text = std::fs::read_to_string(fixtures().join("manifest.tsv")).unwrap();
    let none = |cell: &str| (cell != "-").then(|| cell.to_string());
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), 4, "manifest line {line:?}");
            Expected {
                file: cells[0].to_string(),
                kind: cells[1].to_string(),
                recipient: none(cells[2]),
                status: none(cells[3]),
            }
        })
        .collect()
}

/// The JSON objects `bounces --format json` printed, one a line.
fn objects(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// A fixture's bytes.
/// `bulletin bounces OPTIONS FILES…`.
fn bounces(project: &Project, options: &[&str], files: &[String]) -> Run {
    let mut args = vec!["bounces"];
    args.extend_from_slice(options);
    args.extend(files.iter().map(String::as_str));
    project.run(&args)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

#[test]
fn every_fixture_is_classified_as_a_person_reading_it_would() {
    let project = bundled();
    let expected = manifest();
    let files: Vec<String> = expected
        .iter()
        .map(|e| fixtures().join(&e.file).display().to_string())
        .collect();
    let run = bounces(&project, &["--dry-run", "--format", "json"], &files);
    run.assert_code(0);
    let got = objects(&run.stdout);
    assert_eq!(got.len(), expected.len(), "one object per mail:\n{}", run.stdout);
    let mut per_mta: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for ((object, expected), file) in got.iter().zip(&expected).zip(&files) {
        assert_eq!(object["file"], file.as_str(), "objects in the order of the files");
        let mta = expected.file.split('/').next().unwrap();
        let tally = per_mta.entry(mta).or_default();
        tally.1 += 1;
        let seen = (
            object["kind"].as_str().unwrap().to_string(),
            object["recipient"].as_str().map(str::to_string),
            object["status"].as_str().map(str::to_string),
        );
        let wanted = (
            expected.kind.clone(),
            expected.recipient.clone(),
            expected.status.clone(),
        );
        if seen == wanted {
            tally.0 += 1;
        } else {
            wrong.push(format!(
                "{}: read {seen:?}, a person reads {wanted:?}",
                expected.file
            ));
        }
    }
    let right: usize = per_mta.values().map(|(right, _)| right).sum();
    eprintln!("bounce fixtures classified right: {right} of {}", expected.len());
    for (mta, (right, all)) in &per_mta {
        eprintln!("  {mta}: {right} of {all}");
    }
    let kinds = ["hard", "soft", "complaint", "unsubscribe", "ignored"].map(|kind| {
        let n = expected.iter().filter(|e| e.kind == kind).count();
        format!("{n} {kind}")
    });
    eprintln!("  expected kinds: {}", kinds.join(", "));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The summary goes to stderr with --format json, and says nothing changed.
    run.assert_stderr_has("dry run: nothing was changed");
}

const JANE: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.com,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan,2025-01-10
marie@example.net,Marie Curie,Labo SA,organisation,FR,eu-japan-news,2025-01-11
";

/// The bundled project with Jane and Marie subscribed.
fn subscribed() -> Project {
    let project = bundled();
    project.import(JANE);
    project
}

/// The VERP address of Jane's copy of EU-Japan NEWS No. 1 (the file
/// transport writes it first, as `Return-Path`).
fn janes_verp(project: &Project) -> String {
    let eml = project.read("out/mail/eu-japan-news/1/jane@example.com.eml");
    eml.lines()
        .next()
        .and_then(|line| line.strip_prefix("Return-Path: <"))
        .and_then(|line| line.strip_suffix('>'))
        .expect("a Return-Path line first")
        .to_string()
}

/// [`subscribed`], with `trust_bounce_addresses` on: a report acts on the
/// subscriber it names, as for a mailbox only the operator's MTA writes to.
fn trusting() -> Project {
    let project = subscribed();
    trust_named_addresses(&project);
    project
}

fn trust_named_addresses(project: &Project) {
    project.edit_config(
        "bounce_address = \"bounces@eu-japan.eu\"\n",
        "bounce_address = \"bounces@eu-japan.eu\"\ntrust_bounce_addresses = true\n",
    );
}

/// `subscribers list --format json`, by address.
fn subscribers(project: &Project) -> BTreeMap<String, serde_json::Value> {
    let run = project.run(&["subscribers", "list", "--format", "json"]);
    run.assert_code(0);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["email"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn a_maildir_is_read_once_and_left_as_it_was() {
    let project = trusting();
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(project.path(&format!("Maildir/{sub}"))).unwrap();
    }
    let put = |name: &str, bytes: &[u8]| std::fs::write(project.path(name), bytes).unwrap();
    put(
        "Maildir/new/1795939511.M1P1.mx",
        &fixture("postfix/remote-user-unknown.eml"),
    );
    put(
        "Maildir/cur/1795939512.M2P1.mx:2,S",
        &fixture("autoreply/out-of-office.eml"),
    );
    put(
        "Maildir/new/1795939513.M3P1.mx",
        &fixture("other/reader-reply.eml"),
    );
    put(
        "Maildir/new/1795939514.M4P1.mx",
        &fixture("arf/rfc5965-example.eml"),
    );
    let before = snapshot(&project.path("Maildir"));

    let dry = project.run(&["bounces", "--dry-run", "Maildir"]);
    dry.assert_code(0)
        .assert_stdout_has("dry run: nothing was changed");
    dry.assert_stdout_has("jane@example.com: would be acted on");
    assert_eq!(
        subscribers(&project)["jane@example.com"]["hard_bounces"],
        0,
        "a dry run changes nothing"
    );

    let first = project.run(&["bounces", "Maildir"]);
    first
        .assert_code(0)
        .assert_stdout_has("4 mails read: 1 hard, 0 soft, 1 complaint, 0 unsubscribe, 2 ignored");
    first.assert_stdout_has("jane@example.com: 1 hard bounce");
    assert!(
        first.stdout.contains("1 auto-reply") && first.stdout.contains("1 matching no subscriber"),
        "the complaint names user@example.com, no subscriber: {}",
        first.stdout
    );
    let second = project.run(&["bounces", "Maildir"]);
    second.assert_code(0);
    assert!(
        second.stdout.contains("0 mails read: 0 hard")
            && second.stdout.contains("changed 0 subscriber records")
            && second.stdout.contains("4 mails read before, not read again"),
        "every mail, ignored ones too, is skipped unread: {}",
        second.stdout
    );
    assert_eq!(
        subscribers(&project)["jane@example.com"]["hard_bounces"],
        1,
        "counted once"
    );
    assert_eq!(
        snapshot(&project.path("Maildir")),
        before,
        "no mail moved, renamed or changed"
    );
}

/// An mbox file as `From ` lines separate mails, with a line of a body
/// that starts with "From " quoted as `>From `.
fn mbox(mails: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for mail in mails {
        out.extend_from_slice(b"From MAILER-DAEMON Mon Nov 23 08:05:11 2026\n");
        for line in String::from_utf8_lossy(mail).lines() {
            if line.starts_with("From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

#[test]
fn an_mbox_of_several_mails_complaint_and_mailed_unsubscribe() {
    let project = trusting();
    let file = mbox(&[
        tokenless("sendmail/user-unknown.eml").into_bytes(),
        fixture("unsubscribe/mailto-subject.eml"),
        fixture("exim/delay-warning.eml"),
        tokenless("ses/complaint.eml").into_bytes(),
    ]);
    std::fs::write(project.path("bounces.mbox"), &file).unwrap();
    let run = project.run(&["bounces", "--format", "json", "bounces.mbox"]);
    run.assert_code(0);
    let got = objects(&run.stdout);
    let kinds: Vec<&str> = got.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hard", "unsubscribe", "ignored", "complaint"]);
    for object in &got {
        assert_eq!(object["file"], "bounces.mbox");
        let keys: Vec<&String> = object.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "changed",
                "file",
                "kind",
                "outcome",
                "proof",
                "read_before",
                "recipient",
                "status",
                "verified"
            ],
            "the issue's fields, and whether it was verified"
        );
    }
    let proofs: Vec<Option<&str>> = got.iter().map(|o| o["proof"].as_str()).collect();
    assert_eq!(
        proofs,
        [
            Some("trusted-address"),
            Some("list-unsubscribe"),
            None,
            Some("trusted-address")
        ],
        "the mailed unsubscribe by its token, the reports by the address they name"
    );
    assert_eq!(got[0]["recipient"], "marie@example.net");
    assert_eq!(got[0]["status"], "5.1.1");
    assert_eq!(got[1]["recipient"], "jane@example.com");
    assert_eq!(got[1]["status"], serde_json::Value::Null);
    let people = subscribers(&project);
    assert_eq!(people["marie@example.net"]["hard_bounces"], 1);
    assert_eq!(
        people["jane@example.com"]["unsubscribed"],
        serde_json::json!(["eu-japan-news"]),
        "the token's newsletter only"
    );
    assert_eq!(people["jane@example.com"]["unsubscribed_all"], false);
    // The complaint names olga@example.pl: not a subscriber, nothing changes.
    run.assert_stderr_has("1 matching no subscriber");
    assert_eq!(
        std::fs::read(project.path("bounces.mbox")).unwrap(),
        file,
        "the mbox untouched"
    );
}

#[test]
fn a_complaint_unsubscribes_from_every_newsletter() {
    let project = subscribed();
    let complaint = String::from_utf8(fixture("yahoo/arf-complaint.eml"))
        .unwrap()
        .replace("misaki@yahoo.example", "jane@example.com");
    project.write("complaint.eml", &complaint);
    project
        .run(&["bounces", "complaint.eml"])
        .assert_code(0)
        .assert_stdout_has(
            "complaint jane@example.com (feedback report, verified by list-unsubscribe): \
             jane@example.com: unsubscribed from every newsletter",
        );
    let jane = &subscribers(&project)["jane@example.com"];
    assert_eq!(jane["unsubscribed_all"], true);
    assert_eq!(jane["newsletters"], serde_json::json!([]));
}

/// The soft-bounce rule: three in a row within 15 days suppress; one that
/// falls out of the window does not count.
#[test]
fn soft_bounces_suppress_after_three_in_a_row_within_the_window() {
    let project = trusting();
    let soft = String::from_utf8(fixture("postfix/expired-over-quota.eml")).unwrap();
    let mut outputs = Vec::new();
    for (n, day) in ["2026-11-01", "2026-11-20", "2026-11-21", "2026-11-22"]
        .iter()
        .enumerate()
    {
        let mail = soft.replace("<20261123080511.9D8E77A012@", &format!("<{n}.9D8E77A012@"));
        project.write(&format!("soft-{n}.eml"), &mail);
        let run = project
            .command(&["bounces", &format!("soft-{n}.eml")])
            .env("BULLETIN_NOW", format!("{day}T09:00:00Z"))
            .output()
            .unwrap();
        assert!(run.status.success());
        outputs.push(String::from_utf8(run.stdout).unwrap());
    }
    assert!(
        outputs[0].contains("jane@example.com: 1 soft bounce in a row\n"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[1].contains("1 soft bounce in a row\n"),
        "the first is 19 days old: {}",
        outputs[1]
    );
    assert!(outputs[2].contains("2 soft bounces in a row\n"), "{}", outputs[2]);
    assert!(
        outputs[3].contains("3 soft bounces in a row, no longer sent to"),
        "{}",
        outputs[3]
    );
    let reset = project.run(&["subscribers", "reset-bounces", "jane@example.com"]);
    reset
        .assert_code(0)
        .assert_stdout_has("soft-bounce suppression lifted");
}

#[test]
fn a_missing_path_is_reported_and_the_others_read() {
    let project = subscribed();
    project.write(
        "one.eml",
        &String::from_utf8(fixture("qmail/no-mailbox.eml")).unwrap(),
    );
    let run = project.run(&["bounces", "nowhere", "one.eml"]);
    run.assert_code(3).assert_stderr_has("nowhere: No such file");
    run.assert_stdout_has("1 mail read: 1 hard");
}

/// The audit's hostile mail: from MAILER-DAEMON, "failure notice", one
/// line of `x 550 ` (1.6 MB took 30 s, the scans quadratic in a line's
/// length); read in under 2 s, even by a debug build, and ignored.
#[test]
fn a_hostile_failure_notice_of_megabytes_is_read_in_under_two_seconds() {
    let project = bundled();
    let line = "x 550 ".repeat(1_600_000 / 6);
    project.write(
        "hostile.eml",
        &format!("From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n{line}\r\n"),
    );
    let start = std::time::Instant::now();
    let run = project.run(&["bounces", "--dry-run", "hostile.eml"]);
    let took = start.elapsed();
    run.assert_code(0);
    assert!(run.stdout.contains("1 mail read: 0 hard"), "{}", run.stdout);
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
}

const READERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
ghost@readers.test,Nobody Home,Ghost BV,company,NL,eu-japan-news,2025-01-10
full@readers.test,Full Box,Full SA,company,FR,eu-japan-news,2025-01-10
ok@readers.test,Fine Reader,Fine AG,company,DE,eu-japan-news,2025-01-10
";

/// Real bounces: `bulletin send` mails an edition over SMTP to a private
/// Postfix, whose local delivery bounces the unknown user (5.1.1) and the
/// full mailbox (5.2.2) to the VERP address; `bulletin bounces` reads
/// that Maildir, matches each DSN to its subscriber and edition by the
/// token, and the next send leaves both out.
#[test]
fn genuine_postfix_dsns_are_matched_by_verp_and_suppress() {
    let Some(postfix) = crate::common::postfix::Postfix::start() else {
        return;
    };
    let project = Project::bundled();
    crate::common::mail::with_mail(&project, postfix.port, "");
    project.edit_config(
        "transport = \"smtp\"",
        "transport = \"smtp\"\nbounce_address = \"bounces@eu-japan.eu\"\n\
         suppress_after_hard_bounces = 1\nsuppress_after_soft_bounces = 1",
    );
    project.write("readers.csv", READERS);
    project
        .run(&["subscribers", "import", "readers.csv"])
        .assert_code(0);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);

    let delivered = postfix.wait_for("ok", 1);
    assert_eq!(delivered.len(), 1, "ok@ got its copy:\n{}", postfix.log());
    let verp = delivered[0]
        .lines()
        .find_map(|line| line.strip_prefix("Return-Path: <"))
        .expect("local delivery writes the envelope sender");
    assert!(
        verp.starts_with("bounces+") && verp.ends_with("@eu-japan.eu>"),
        "{verp}"
    );
    assert!(
        !verp.contains("ok@") && !verp.contains("readers"),
        "the token shows no address: {verp}"
    );
    let dsns = postfix.wait_for("bounces", 2);
    assert_eq!(dsns.len(), 2, "two DSNs:\n{}", postfix.log());
    assert!(
        dsns.iter()
            .all(|dsn| dsn.contains("multipart/report; report-type=delivery-status"))
    );

    let run = project.run(&[
        "bounces",
        "--format",
        "json",
        &postfix.bounces().display().to_string(),
    ]);
    run.assert_code(0);
    let mut got: Vec<(String, String, String)> = objects(&run.stdout)
        .iter()
        .map(|o| {
            let text = |key: &str| o[key].as_str().unwrap_or_default().to_string();
            (text("kind"), text("recipient"), text("status"))
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("hard".into(), "ghost@readers.test".into(), "5.1.1".into()),
            ("soft".into(), "full@readers.test".into(), "5.2.2".into()),
        ]
    );
    // Each matched by its VERP token to the edition it bounced.
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let matched: Vec<(String, String, String, u32)> = store
        .prepare("SELECT kind, email, newsletter, number FROM bounce_messages ORDER BY kind")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        matched,
        [
            (
                "hard".into(),
                "ghost@readers.test".into(),
                "eu-japan-news".into(),
                1
            ),
            (
                "soft".into(),
                "full@readers.test".into(),
                "eu-japan-news".into(),
                1
            ),
        ]
    );
    let again = project.run(&["bounces", &postfix.bounces().display().to_string()]);
    again.assert_stdout_has("2 mails read before, not read again");

    let next = project.run(&["send", "--newsletter", "eu-japan-news", "--dry-run"]);
    next.assert_code(0)
        .assert_stdout_has("skipped 1: suppressed after 1 hard bounces");
    next.assert_stdout_has("skipped 1: suppressed after 1 soft bounces in a row");
}

#[test]
fn a_bounce_address_that_cannot_carry_a_token_is_refused_at_its_place() {
    let project = bundled();
    for (address, why) in [
        ("bounces+list@eu-japan.eu", "without '+'"),
        (
            "a-very-long-bounce-mailbox-name@eu-japan.eu",
            "at most 24 characters",
        ),
        ("Bounces <bounces@eu-japan.eu>", "is not a bare mail address"),
    ] {
        let config = project.read("config.toml");
        let start = config.find("bounce_address = ").unwrap();
        let end = start + config[start..].find('\n').unwrap();
        let config = format!(
            "{}bounce_address = {address:?}{}",
            &config[..start],
            &config[end..]
        );
        project.write("config.toml", &config);
        let line = config[..start].lines().count() + 1;
        let run = project.run(&["check"]);
        run.assert_code(1);
        let place = format!("config.toml:{line}:18: mail.bounce_address: ");
        assert!(
            run.stderr.contains(&place) && run.stderr.contains(why),
            "{address}: {}",
            run.stderr
        );
    }
}

/// The first line of a test copy to Jane (`Return-Path:`, as the file
/// transport writes the envelope sender) and the message after it.
fn test_copy(project: &Project) -> (String, String) {
    let run = project
        .command(&[
            "send",
            "--newsletter",
            "eu-japan-news",
            "--to",
            "jane@example.com",
        ])
        .env("BULLETIN_NOW", "2026-11-23T09:00:00Z")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let eml = project.read("out/mail/test/eu-japan-news/1/jane@example.com.eml");
    let (first, rest) = eml.split_once("\r\n").unwrap();
    // The MIME boundary is new in every message, VERP or not.
    let boundary = rest
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .unwrap();
    (first.to_string(), rest.replace(boundary, "BOUNDARY"))
}

/// Each copy goes out with its own VERP envelope sender (the file
/// transport writes it as local delivery would, a `Return-Path:` line),
/// which matches a report that names nobody; the message's own bytes are
/// those it has without a bounce address.
#[test]
fn a_report_that_names_nobody_is_matched_by_its_verp_address() {
    let project = subscribed();
    project.fetch_and_build(&["--date", "2026-11-23"]);
    project
        .run(&["send", "--newsletter", "eu-japan-news"])
        .assert_code(0);
    let verp = janes_verp(&project);
    let token = verp
        .strip_prefix("bounces+")
        .and_then(|rest| rest.strip_suffix("@eu-japan.eu"))
        .unwrap_or_else(|| panic!("{verp}"));
    assert_eq!(token.len(), 39, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    );
    let marie = project.read("out/mail/eu-japan-news/1/marie@example.net.eml");
    assert!(!marie.contains(&verp), "each copy its own token");

    // A mail system's words naming no address, sent to the VERP address
    // (upper-cased on the way, as some systems do).
    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.com\nTo: {}\nSubject: failure notice\nMessage-ID: <nameless@mx.example.com>\n\n\
         Sorry, your message could not be delivered.\n550 5.7.1 Message rejected by policy\n",
        verp.to_uppercase()
    );
    project.write("nameless.eml", &bounce);
    project.run(&["bounces", "nameless.eml"]).assert_code(0).assert_stdout_has("nameless.eml: hard 5.7.1 jane@example.com (report text, verified by verp): jane@example.com: 1 hard bounce");
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let edition: (String, u32) = store
        .query_row("SELECT newsletter, number FROM bounce_messages", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(edition, ("eu-japan-news".to_string(), 1));

    // The bytes of the message are the same without a bounce address.
    let (with_verp, message) = test_copy(&project);
    assert!(with_verp.starts_with("Return-Path: <bounces+"), "{with_verp}");
    project.edit_config("bounce_address = \"bounces@eu-japan.eu\"\n", "");
    let (plain, same) = test_copy(&project);
    assert_eq!(plain, "Return-Path: <newsletters@eu-japan.eu>");
    assert_eq!(message, same, "only the envelope changes");
}

/// A fixture as text, without its returned `List-Unsubscribe:` line (the
/// fixtures return Jane's copy with her genuine token): what an outsider,
/// who has no token of bulletin's, can write.
fn tokenless(name: &str) -> String {
    String::from_utf8(fixture(name))
        .unwrap()
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("list-unsubscribe:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The audit's forged reports, from an outside domain, none with a token
/// bulletin made, each naming Jane or Marie: a DSN (5.1.1, twice, with
/// two Message-IDs), an ARF abuse report (`Original-Rcpt-To`), a qmail
/// text bounce, an `X-Failed-Recipients` report, and Amazon SES JSON.
fn forged_reports(project: &Project) -> Vec<String> {
    let jane = "jane@example.com";
    let marie = "marie@example.net";
    let dsn = tokenless("postfix/remote-user-unknown.eml");
    let mails = [
        ("dsn-1.eml", dsn.clone()),
        (
            "dsn-2.eml",
            dsn.replace("<20261123080511.4F1A22C0A1@", "<20261124080511.4F1A22C0A2@"),
        ),
        (
            "arf.eml",
            tokenless("arf/rfc5965-example.eml").replace("user@example.com", marie),
        ),
        (
            "qmail.eml",
            tokenless("qmail/no-mailbox.eml").replace("jane@example.org", jane),
        ),
        ("exim.eml", tokenless("exim/user-unknown.eml")),
        (
            "ses-bounce.eml",
            tokenless("ses/bounce-permanent.eml").replace("olga@example.pl", marie),
        ),
        (
            "ses-complaint.eml",
            tokenless("ses/complaint.eml").replace("olga@example.pl", jane),
        ),
    ];
    mails
        .into_iter()
        .map(|(name, mail)| {
            project.write(&format!("forged/{name}"), &mail);
            format!("forged/{name}")
        })
        .collect()
}

/// Issue 25, item 1: anyone can mail the bounce address. Reports that
/// merely name subscribers change nobody, each reported with its kind
/// and recipient as unverified; with `trust_bounce_addresses` on (a
/// mailbox only the operator's MTA writes to) the same reports act.
#[test]
fn reports_that_merely_name_subscribers_change_nobody_unless_the_mailbox_is_trusted() {
    let wanted = [
        ("hard", "jane@example.com"),
        ("hard", "jane@example.com"),
        ("complaint", "marie@example.net"),
        ("hard", "jane@example.com"),
        ("hard", "jane@example.com"),
        ("hard", "marie@example.net"),
        ("complaint", "jane@example.com"),
    ];
    let project = subscribed();
    let files = forged_reports(&project);
    let run = bounces(&project, &["--format", "json"], &files);
    run.assert_code(0);
    let people = subscribers(&project);
    for email in ["jane@example.com", "marie@example.net"] {
        assert_eq!(people[email]["hard_bounces"], 0, "{email}");
        assert_eq!(people[email]["unsubscribed_all"], false, "{email}");
        assert_eq!(people[email]["unsubscribed"], serde_json::json!([]), "{email}");
    }
    let got = objects(&run.stdout);
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap(),
                o["recipient"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(seen, wanted, "each reported as what it is:\n{}", run.stdout);
    for object in &got {
        assert_eq!(object["verified"], false, "{object}");
        assert_eq!(object["proof"], serde_json::Value::Null, "{object}");
        assert_eq!(object["changed"], false, "{object}");
        assert!(
            object["outcome"].as_str().unwrap().contains("not verified")
                && object["outcome"].as_str().unwrap().ends_with("nothing changed"),
            "{object}"
        );
    }
    run.assert_stderr_has("changed 0 subscriber records; 7 not verified, nothing changed for them");
    let table = project.run(&["bounces", "--dry-run", &files[0]]);
    table.assert_stdout_has("read before: not read again, nothing changed");

    let trusted = trusting();
    let files = forged_reports(&trusted);
    let run = bounces(&trusted, &["--format", "json"], &files);
    run.assert_code(0);
    for object in objects(&run.stdout) {
        assert_eq!(object["verified"], true, "{object}");
        assert_eq!(object["proof"], "trusted-address", "{object}");
        assert_eq!(object["changed"], true, "{object}");
    }
    let people = subscribers(&trusted);
    assert_eq!(people["jane@example.com"]["hard_bounces"], 4);
    assert_eq!(people["jane@example.com"]["unsubscribed_all"], true);
    assert_eq!(people["marie@example.net"]["hard_bounces"], 1);
    assert_eq!(people["marie@example.net"]["unsubscribed_all"], true);
}

/// The headers of Jane's and Marie's copies of edition 1, as sent (the
/// file transport's `Return-Path:` line, the VERP address, left out: the
/// report below is not mailed back to it).
fn sent_headers(project: &Project) -> (String, String) {
    project.fetch_and_build(&["--date", "2026-11-23"]);
    project
        .run(&["send", "--newsletter", "eu-japan-news"])
        .assert_code(0);
    let headers = |email: &str| {
        let eml = project.read(&format!("out/mail/eu-japan-news/1/{email}.eml"));
        let head = eml.split("\r\n\r\n").next().unwrap().to_string();
        head.lines()
            .filter(|line| !line.starts_with("Return-Path:"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    (headers("jane@example.com"), headers("marie@example.net"))
}

/// `headers` without the field `name` (and its folded lines).
fn without_field(headers: &str, name: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            if !skipping {
                out.push(line);
            }
            continue;
        }
        skipping = line
            .to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()));
        if !skipping {
            out.push(line);
        }
    }
    out.join("\r\n")
}

/// An ARF abuse report from a feedback loop, naming `named`, returning `headers`.
fn feedback_report(id: &str, named: &str, headers: &str) -> String {
    format!(
        "From: Feedback Loop <fbl@isp.example>\r\nTo: bounces@eu-japan.eu\r\nSubject: complaint about message\r\n\
         Message-ID: <{id}@isp.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n\
         --b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: fbl/1.0\r\n\
         Version: 1\r\nOriginal-Rcpt-To: <{named}>\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n\r\n--b--\r\n"
    )
}

/// Issue 25, item 1: a report that returns the copy's headers (no VERP
/// address) is proven by the keyed Message-ID bulletin gave Jane's copy,
/// and unsubscribes Jane, the one it proves, not Marie, whom it names; a
/// forged or unkeyed Message-ID proves nothing. A DSN returning Marie's
/// headers with only their `List-Unsubscribe` token counts her hard bounce.
#[test]
fn a_returned_keyed_message_id_or_unsubscribe_token_proves_whose_copy_it_was() {
    let project = subscribed();
    let (jane, marie) = sent_headers(&project);
    let jane = without_field(&jane, "List-Unsubscribe");
    let id = jane
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID: "))
        .expect("a Message-ID")
        .to_string();
    // What the Message-ID was before it was keyed: anyone could compute it.
    let digest = sha2::Sha256::digest(b"eu-japan-news\x001\x00jane@example.com");
    let unkeyed: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let forgeries = [
        format!("<{unkeyed}.eu-japan-news.1@eu-japan.eu>"),
        format!("<{}.eu-japan-news.1@eu-japan.eu>", "a".repeat(39)),
    ];
    for (n, forged) in forgeries.iter().enumerate() {
        let report = feedback_report(
            &format!("forged-{n}"),
            "marie@example.net",
            &jane.replace(&id, forged),
        );
        project.write(&format!("forged-{n}.eml"), &report);
        let run = project.run(&["bounces", "--format", "json", &format!("forged-{n}.eml")]);
        run.assert_code(0);
        let people = subscribers(&project);
        assert_eq!(people["jane@example.com"]["unsubscribed_all"], false);
        assert_eq!(people["marie@example.net"]["unsubscribed_all"], false);
        let object = &objects(&run.stdout)[0];
        assert_eq!(
            (&object["kind"], &object["verified"]),
            (&"complaint".into(), &false.into()),
            "{object}"
        );
    }

    project.write(
        "genuine.eml",
        &feedback_report("genuine", "marie@example.net", &jane),
    );
    let run = project.run(&["bounces", "genuine.eml"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "complaint marie@example.net (feedback report, verified by message-id): \
             jane@example.com: unsubscribed from every newsletter"
        ),
        "the copy's subscriber, not the one named: {}",
        run.stdout
    );
    let people = subscribers(&project);
    assert_eq!(people["jane@example.com"]["unsubscribed_all"], true);
    assert_eq!(people["marie@example.net"]["unsubscribed_all"], false);

    let marie = without_field(&marie, "Message-ID");
    let dsn = format!(
        "From: MAILER-DAEMON@mx.isp.example\r\nTo: bounces@eu-japan.eu\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-1@mx.isp.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\r\n\r\n\
         --d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.isp.example\r\n\r\n\
         Final-Recipient: rfc822; marie.curie@labo.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --d\r\nContent-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: base64\r\n\r\n{marie}\r\n\r\n--d--\r\n",
        // As some mail systems return them: encoded, the token in no line of the raw mail.
        marie = base64::engine::general_purpose::STANDARD.encode(&marie)
    );
    project.write("dsn.eml", &dsn);
    let run = project.run(&["bounces", "--format", "json", "dsn.eml"]);
    run.assert_code(0);
    let object = &objects(&run.stdout)[0];
    assert_eq!(object["proof"], "list-unsubscribe", "{object}");
    assert_eq!(object["changed"], true, "{object}");
    assert_eq!(subscribers(&project)["marie@example.net"]["hard_bounces"], 1);
}

/// A "failure notice" of the hostile kind the audit sent (`x 550 `
/// repeated), changing no one.
fn hostile_notice(id: &str, body: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.com\nTo: bounces@eu-japan.eu\nSubject: failure notice\nMessage-ID: <{id}>\n\n{body}\n"
    )
}

/// Issue 25, item 3: every mail read is recorded, an ignored or unproven
/// one too, so a later run skips it unparsed (here: the file changed into
/// a genuine VERP bounce under the same Message-ID, which a parse would
/// act on); and the same mail twice in one run is parsed once.
#[test]
fn a_mail_read_once_is_skipped_unparsed_ever_after() {
    let project = subscribed();
    let hostile = hostile_notice("hostile@mx.example.com", &"x 550 ".repeat(5_000));
    project.write("box/1.eml", &hostile);
    project.write("box/2.eml", &hostile);
    let first = project.run(&["bounces", "--format", "json", "box"]);
    first.assert_code(0);

    project.fetch_and_build(&["--date", "2026-11-23"]);
    project
        .run(&["send", "--newsletter", "eu-japan-news"])
        .assert_code(0);
    let verp = janes_verp(&project);
    let genuine = hostile_notice(
        "hostile@mx.example.com",
        &format!("Your message to {verp} could not be delivered.\n550 5.1.1 User unknown\n"),
    )
    .replace("To: bounces@eu-japan.eu", &format!("To: {verp}"));
    project.write("box/1.eml", &genuine);
    let second = project.run(&["bounces", "--format", "json", "box"]);
    second.assert_code(0);
    assert_eq!(subscribers(&project)["jane@example.com"]["hard_bounces"], 0);
    for object in objects(&second.stdout) {
        assert_eq!(object["read_before"], true, "{object}");
    }
    let got = objects(&first.stdout);
    assert_eq!(got.len(), 2, "{}", first.stdout);
    assert_eq!(
        (&got[0]["read_before"], &got[0]["changed"]),
        (&false.into(), &false.into())
    );
    assert_eq!(
        got[1]["read_before"], true,
        "the copy is not parsed again: {}",
        got[1]
    );
    // The same words under a Message-ID never read are acted on.
    project.write("box/3.eml", &genuine.replace("<hostile@", "<fresh@"));
    let third = project.run(&["bounces", "box/3.eml"]);
    third.assert_stdout_has("verified by verp");
    assert_eq!(subscribers(&project)["jane@example.com"]["hard_bounces"], 1);
}

/// Issue 25, item 3: `bounces` reads the mailbox without the run lock, so
/// `run` is not refused (exit 4) while it reads; it takes the lock only to
/// write what it read. The mailbox is a named pipe: `bounces` is reading it
/// for as long as the test holds it open.
#[test]
fn run_goes_on_while_bounces_reads_the_mailbox() {
    let project = subscribed();
    let fifo = project.path("mailbox.eml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = project
        .command(&["bounces", "mailbox.eml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the pipe for writing returns once `bounces` has opened it to read.
    let (opened, writer) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = opened.send(std::fs::OpenOptions::new().write(true).open(path));
    });
    let mut writer = writer
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("bounces opens the mailbox")
        .unwrap();

    let run = project.run(&["run", "--date", "2026-11-23"]);
    assert_ne!(run.code, 4, "refused while bounces reads: {}", run.stderr);
    run.assert_code(0);

    let verp = janes_verp(&project);
    let bounce = hostile_notice("late@mx.example.com", "550 5.1.1 User unknown")
        .replace("To: bounces@eu-japan.eu", &format!("To: {verp}"));
    std::io::Write::write_all(&mut writer, bounce.as_bytes()).unwrap();
    drop(writer);
    let done = reader.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("jane@example.com: 1 hard bounce"), "{stdout}");
    assert_eq!(subscribers(&project)["jane@example.com"]["hard_bounces"], 1);
}
