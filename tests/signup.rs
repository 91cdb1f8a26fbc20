//! Issue 19, section 1: the sign-up form of `bulletin serve`, its
//! confirmation mail (read from the file transport) and link, the abuse
//! limits with the clock moved by `BULLETIN_NOW`, and the consent record.
//! The whole path in Chromium is in `browser.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::common::mail::with_mail;
use crate::common::sink::Sink;
use crate::common::{KEY_ENV, Project};

/// The clock every test starts at.
const T0: &str = "2026-12-02T08:00:00Z";

/// The bundled project (sign-up form on, file transport) with the test key.
pub(crate) fn signup_project() -> Project {
    let project = Project::bundled();
    project.edit_config("BULLETIN_UNSUBSCRIBE_KEY", KEY_ENV);
    project
}

/// A running `bulletin serve`, stopped by its PID when dropped; its stderr
/// goes to `serve.log` in the project.
pub(crate) struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// `bulletin serve` on a free port, its clock at `now`.
    pub(crate) fn start(project: &Project, now: &str) -> Serve {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(project.path("serve.log"))
            .unwrap();
        let mut child = project
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .env("BULLETIN_NOW", now)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.split_whitespace().nth(2).expect("listening on URL");
        let base = url[..url[7..].find('/').unwrap() + 7].to_string();
        Serve { child, base }
    }

    /// Stops it (SIGKILL) and waits: the store keeps what it committed.
    pub(crate) fn stop(self) {}

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// GET `target`: status and body.
    pub(crate) fn get(&self, target: &str) -> (u16, String) {
        let mut response = Serve::agent()
            .get(format!("{}{target}", self.base))
            .call()
            .unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    }

    /// POST a form to `target`, with these extra headers: status and body.
    pub(crate) fn post(
        &self,
        target: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        let mut request = Serve::agent()
            .post(format!("{}{target}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body.finish().as_str()).unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    }

    /// The form posted with these fields (a company in Germany unless said otherwise).
    pub(crate) fn sign_up(&self, email: &str, extra: &[(&str, &str)]) -> (u16, String) {
        let mut fields = vec![
            ("email", email),
            ("name", "Jane Doe"),
            ("organisation", "Acme GmbH"),
            ("organisation_type", "company"),
            ("country", "DE"),
            ("newsletters", "eu-japan-news"),
            ("newsletters", "about-japan"),
            ("website", ""),
        ];
        for (name, value) in extra {
            if let Some(field) = fields.iter_mut().find(|(n, _)| n == name) {
                field.1 = value;
            } else {
                fields.push((name, value));
            }
        }
        self.post("/subscribe", &fields, &[])
    }
}

/// The confirmation mail sent to `email`, as written by the file transport.
pub(crate) fn confirmation_mail(project: &Project, email: &str) -> Option<String> {
    std::fs::read_to_string(project.path(&format!("out/mail/confirm/{email}.eml"))).ok()
}

/// The confirmation link's path and query in `mail` (its text part,
/// quoted-printable undone).
pub(crate) fn confirm_target(mail: &str) -> String {
    let decoded = quoted_printable::decode(mail, quoted_printable::ParseMode::Robust).unwrap();
    let text = String::from_utf8(decoded).unwrap();
    let start = text
        .find("https://newsletters.eu-japan.eu/subscribe/confirm?t=")
        .unwrap_or_else(|| panic!("no confirmation link in:\n{text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    link.trim_start_matches("https://newsletters.eu-japan.eu")
        .to_string()
}

/// The token of a confirmation link.
fn token(target: &str) -> String {
    target.split_once("?t=").unwrap().1.to_string()
}

/// `subscribers list --format json`.
pub(crate) fn subscribers(project: &Project) -> Vec<serde_json::Value> {
    project
        .run(&["subscribers", "list", "--format", "json"])
        .assert_code(0)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

/// The head of a message: everything before the first blank line.
fn head(message: &str) -> &str {
    &message[..message.find("\r\n\r\n").or_else(|| message.find("\n\n")).unwrap()]
}

const CHECK_MAILBOX: &str = "<h1>Check your mailbox</h1>";

#[test]
fn a_get_of_the_link_confirms_nothing_a_post_confirms_once_with_its_consent() {
    let project = signup_project();
    let serve = Serve::start(&project, T0);
    let (status, form) = serve.get("/subscribe");
    assert_eq!(status, 200);
    for field in [
        "name=\"email\"",
        "name=\"name\"",
        "name=\"organisation\"",
        "name=\"organisation_type\"",
        "name=\"country\"",
        "name=\"newsletters\" value=\"about-japan\"",
        "name=\"website\"",
    ] {
        assert!(form.contains(field), "the form has {field}");
    }
    assert!(
        form.contains("I agree to receive the newsletters I chose"),
        "the consent text"
    );
    assert_eq!(
        form.matches("For companies and organisations in the EU-27 only.")
            .count(),
        2,
        "the two EU-only newsletters say so"
    );

    let (status, page) = serve.sign_up(
        "Jane@Example.DE",
        &[
            ("name", "Jane\r\nBcc: mallory@evil.example"),
            ("organisation", "Acme\nSubject: pwned"),
        ],
    );
    assert_eq!(status, 200);
    assert!(page.contains(CHECK_MAILBOX), "{page}");
    let mail = confirmation_mail(&project, "jane@example.de").expect("a confirmation mail");
    let head = head(&mail);
    assert!(
        head.contains("\nTo: jane@example.de\r\n"),
        "only the checked address: {head}"
    );
    assert!(
        head.contains("From: \"EU-Japan Centre\" <newsletters@eu-japan.eu>"),
        "{head}"
    );
    for injected in ["mallory", "Bcc", "pwned", "Jane", "Acme"] {
        assert!(!head.contains(injected), "{injected} is in a header:\n{head}");
    }
    let target = confirm_target(&mail);

    // A scanner fetches the link, twice: nothing is confirmed.
    for _ in 0..2 {
        let (status, page) = serve.get(&target);
        assert_eq!(status, 200);
        assert!(
            page.contains("<form method=\"post\" action=\"/subscribe/confirm\" id=\"confirm\">"),
            "{page}"
        );
        assert!(page.contains("<button type=\"submit\">Confirm my subscription</button>"));
        assert!(page.contains("<script src=\"/subscribe/confirm.js\"></script>"));
    }
    let (status, script) = serve.get("/subscribe/confirm.js");
    assert_eq!(status, 200);
    assert!(script.contains("form.submit()"), "{script}");
    assert!(subscribers(&project).is_empty(), "a GET confirms nothing");

    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are subscribed"), "{page}");
    assert!(page.contains("<li>EU-Japan NEWS</li>"), "{page}");
    let (_, again) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert!(again.contains("Already confirmed"), "{again}");
    let (status, forged) = serve.post("/subscribe/confirm", &[("t", "forged")], &[]);
    assert_eq!(status, 404);
    assert!(
        forged.contains("not valid") && forged.contains("href=\"/subscribe\""),
        "{forged}"
    );

    let list = subscribers(&project);
    assert_eq!(list.len(), 1, "{list:?}");
    let jane = &list[0];
    assert_eq!(jane["email"], "jane@example.de");
    assert_eq!(
        jane["name"], "Jane Bcc: mallory@evil.example",
        "control characters gone"
    );
    assert_eq!(
        jane["newsletters"],
        serde_json::json!(["about-japan", "eu-japan-news"])
    );
    assert_eq!(
        jane["consents"],
        serde_json::json!([
            {"newsletter": "eu-japan-news", "at": "2026-12-02T08:00:00Z", "method": "form",
             "source": "127.0.0.1", "consent_version": "2026-12"},
            {"newsletter": "about-japan", "at": "2026-12-02T08:00:00Z", "method": "form",
             "source": "127.0.0.1", "consent_version": "2026-12"},
        ])
    );
    let table = project
        .run(&["subscribers", "list"])
        .assert_code(0)
        .stdout
        .clone();
    assert!(table.contains("form 2026-12-02T08:00:00Z"), "{table}");
}

/// Each limit: no mail, the same page as a sign-up that mailed, and a log
/// line naming the limit. The clock moves by restarting `serve` with
/// another `BULLETIN_NOW`; the counts are in the store.
#[test]
fn each_abuse_limit_sends_no_mail_and_answers_as_if_it_had() {
    let project = signup_project();
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nper_address_per_day = 2\nper_client_per_hour = 3\nper_hour = 4",
    );
    let refused = |serve: &Serve, email: &str, extra: &[(&str, &str)], limit: &str| {
        let before = confirmation_mail(&project, email);
        let (status, page) = serve.sign_up(email, extra);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(CHECK_MAILBOX), "the same page: {page}");
        assert_eq!(
            confirmation_mail(&project, email),
            before,
            "{email}: no mail ({limit})"
        );
        let log = project.read("serve.log");
        assert!(
            log.lines().last().unwrap().contains(limit),
            "{limit} in the log:\n{log}"
        );
    };
    let mailed = |serve: &Serve, email: &str| {
        let before = confirmation_mail(&project, email);
        let (_, page) = serve.sign_up(email, &[]);
        assert!(page.contains(CHECK_MAILBOX), "{page}");
        let after = confirmation_mail(&project, email);
        assert!(after.is_some() && after != before, "{email}: a new mail");
    };

    let serve = Serve::start(&project, T0);
    mailed(&serve, "a@example.de");
    refused(&serve, "a@example.de", &[], "address_interval_minutes");
    refused(
        &serve,
        "b@example.de",
        &[("website", "https://spam.example")],
        "honeypot",
    );
    serve.stop();

    let serve = Serve::start(&project, "2026-12-02T08:11:00Z");
    mailed(&serve, "a@example.de");
    serve.stop();

    let serve = Serve::start(&project, "2026-12-02T08:22:00Z");
    refused(&serve, "a@example.de", &[], "per_address_per_day");
    mailed(&serve, "c@example.de");
    refused(&serve, "d@example.de", &[], "per_client_per_hour");
    serve.stop();

    // Another client would pass the per-client cap; the hourly one stops all.
    project.edit_config("per_client_per_hour = 3", "per_client_per_hour = 100");
    let serve = Serve::start(&project, "2026-12-02T08:23:00Z");
    mailed(&serve, "e@example.de");
    refused(&serve, "f@example.de", &[], "(site.signup.per_hour)");
    serve.stop();

    // A day later the address may be mailed again.
    let serve = Serve::start(&project, "2026-12-03T09:00:00Z");
    mailed(&serve, "a@example.de");
}

#[test]
fn eu_only_newsletters_are_refused_with_the_reason_and_a_wrong_field_is_named() {
    let project = signup_project();
    let serve = Serve::start(&project, T0);
    let (status, page) = serve.sign_up(
        "solo@example.fr",
        &[("organisation_type", "individual"), ("country", "FR")],
    );
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("\"About Japan\" e-News is for companies and organisations in the EU-27 only, not for individuals")
            || page.contains(
                "&#34;About Japan&#34; e-News is for companies and organisations in the EU-27 only, not for individuals"
            ),
        "{page}"
    );
    assert!(
        page.contains("value=\"solo@example.fr\""),
        "what was typed is kept: {page}"
    );
    let (status, page) = serve.sign_up("taro@example.jp", &[("country", "JP")]);
    assert_eq!(status, 400);
    assert!(page.contains("not for those outside the EU-27"), "{page}");
    let (status, page) = serve.sign_up("x@example.de", &[("country", "ZZ")]);
    assert_eq!(status, 400);
    assert!(
        page.contains("country &#34;ZZ&#34;: not an ISO 3166-1 alpha-2 code"),
        "{page}"
    );
    assert!(page.contains("name=\"country\" value=\"ZZ\" required maxlength=\"2\" autocomplete=\"country\" aria-invalid=\"true\""), "{page}");
    let (status, page) = serve.sign_up("not an address", &[]);
    assert_eq!(status, 400);
    assert!(
        page.contains("email &#34;not an address&#34;: invalid address"),
        "{page}"
    );
    // Without the EU-only newsletter, the individual is welcome.
    let (status, page) = serve.post(
        "/subscribe",
        &[
            ("email", "solo@example.fr"),
            ("organisation_type", "individual"),
            ("country", "FR"),
            ("newsletters", "tech-transfer"),
        ],
        &[],
    );
    assert_eq!(status, 200, "{page}");
    assert!(confirmation_mail(&project, "solo@example.fr").is_some());
    for refused in ["taro@example.jp", "x@example.de"] {
        assert!(confirmation_mail(&project, refused).is_none());
    }
}

#[test]
fn an_expired_link_says_so_and_links_to_the_form() {
    let project = signup_project();
    let serve = Serve::start(&project, T0);
    serve.sign_up("late@example.de", &[]);
    serve.stop();
    let target = confirm_target(&confirmation_mail(&project, "late@example.de").unwrap());
    let serve = Serve::start(&project, "2026-12-09T08:00:01Z");
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 410, "{page}");
    assert!(
        page.contains("This link has expired") && page.contains("<a href=\"/subscribe\">"),
        "{page}"
    );
    assert!(subscribers(&project).is_empty());
    serve.stop();
    // Just within the seven days, it works.
    let serve = Serve::start(&project, "2026-12-09T07:59:59Z");
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200, "{page}");
    assert_eq!(subscribers(&project).len(), 1);
}

#[test]
fn the_consent_keeps_a_keyed_hash_of_the_client_when_configured() {
    let project = signup_project();
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nhash_client_addresses = true",
    );
    let serve = Serve::start(&project, T0);
    serve.sign_up("jane@example.de", &[]);
    let target = confirm_target(&confirmation_mail(&project, "jane@example.de").unwrap());
    serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    let list = subscribers(&project);
    let source = list[0]["consents"][0]["source"].as_str().unwrap().to_string();
    assert_eq!(source.len(), 64, "{source}");
    assert!(source.chars().all(|c| c.is_ascii_hexdigit()), "{source}");
    let store = std::fs::read(project.path("bulletin.sqlite")).unwrap();
    let wal = std::fs::read(project.path("bulletin.sqlite-wal")).unwrap_or_default();
    for bytes in [&store, &wal] {
        assert!(
            !bytes.windows(9).any(|w| w == b"127.0.0.1"),
            "the client's address is nowhere in the store"
        );
    }
}

#[test]
fn a_post_from_another_site_is_refused() {
    let project = signup_project();
    let serve = Serve::start(&project, T0);
    let fields = [
        ("email", "jane@example.de"),
        ("organisation_type", "company"),
        ("country", "DE"),
        ("newsletters", "eu-japan-news"),
    ];
    for header in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let (status, page) = serve.post("/subscribe", &fields, &[header]);
        assert_eq!(status, 403, "{header:?}: {page}");
    }
    assert!(confirmation_mail(&project, "jane@example.de").is_none());
    let host = serve.base.trim_start_matches("http://").to_string();
    let origin = format!("https://{host}");
    let (status, _) = serve.post("/subscribe", &fields, &[("Origin", &origin)]);
    assert_eq!(status, 200, "its own origin, behind a proxy that ends TLS");
    // What Chromium sends with the form under `Referrer-Policy: no-referrer`.
    let chromium = [("Sec-Fetch-Site", "same-origin"), ("Origin", "null")];
    let (status, _) = serve.post("/subscribe", &fields, &chromium);
    assert_eq!(status, 200, "a same-origin form whose Origin is null");
}

#[test]
fn a_csv_import_records_an_import_consent_with_the_file_name() {
    let project = signup_project();
    project.write(
        "lists/members.csv",
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         jane@example.de,Jane,Acme,company,DE,eu-japan-news;about-japan,2025-01-10\n",
    );
    for _ in 0..2 {
        let output = project
            .command(&["subscribers", "import", "lists/members.csv"])
            .env("BULLETIN_NOW", T0)
            .output()
            .unwrap();
        crate::common::Run::from(output).assert_code(0);
    }
    let list = subscribers(&project);
    assert_eq!(
        list[0]["consents"],
        serde_json::json!([
            {"newsletter": "eu-japan-news", "at": "2026-12-02T08:00:00Z", "method": "import",
             "source": "members.csv", "consent_version": null},
            {"newsletter": "about-japan", "at": "2026-12-02T08:00:00Z", "method": "import",
             "source": "members.csv", "consent_version": null},
        ]),
        "one record per subscription, not one per import"
    );
    let csv = project
        .run(&["subscribers", "list", "--format", "csv"])
        .assert_code(0)
        .stdout
        .clone();
    assert!(csv.lines().next().unwrap().ends_with(",consents"), "{csv}");
    assert!(csv.contains("import 2026-12-02T08:00:00Z"), "{csv}");
}

/// With `transport = "smtp"` the confirmation goes to the SMTP server
/// (Postfix's smtp-sink); when the server is down, the person is told to
/// try again, and may at once: a mail that never left counts for no limit.
#[test]
fn the_confirmation_goes_through_smtp_and_a_failed_one_may_be_asked_again_at_once() {
    let Some(sink) = Sink::start(&[]) else { return };
    let port = sink.port;
    let project = Project::bundled();
    with_mail(&project, port, "");
    let serve = Serve::start(&project, T0);
    let (status, _) = serve.sign_up("jane@example.de", &[]);
    assert_eq!(status, 200);
    sink.wait_for_messages(1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Subject: Please confirm your subscription to EU-Japan Centre"),
        "{}",
        messages[0]
    );
    let target = confirm_target(&messages[0]);
    assert!(
        confirmation_mail(&project, "jane@example.de").is_none(),
        "no file with SMTP"
    );
    sink.stop();

    let (status, page) = serve.sign_up("taro@example.de", &[]);
    assert_eq!(status, 500, "{page}");
    assert!(page.contains("please try again later"), "{page}");
    let Some(sink) = Sink::start_on(port, &[]) else {
        return;
    };
    let (status, page) = serve.sign_up("taro@example.de", &[]);
    assert_eq!(status, 200, "{page}");
    sink.wait_for_messages(1);
    assert_eq!(sink.messages().len(), 1, "taro's mail went out on the second try");

    let (status, _) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200);
    assert_eq!(subscribers(&project).len(), 1, "only the confirmed one");
}
