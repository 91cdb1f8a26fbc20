//! Issue 19, section 1: the sign-up form of `bulletin serve`, its
//! confirmation mail (read from the file transport) and link, the abuse
//! limits with the clock moved by `BULLETIN_NOW`, and the consent record.
//! The whole path in Chromium is in `browser.rs`.

use crate::common::Project;
use crate::common::mail::with_mail;
use crate::common::message::head;
use crate::common::server::Server;
use crate::common::signup::{
    confirm_target, confirmation_mail, mailed, mails_written, sign_up, sign_up_from, signup_project, token,
};
use crate::common::sink::Sink;

/// The clock every test starts at.
const T0: &str = "2026-12-02T08:00:00Z";

const CHECK_MAILBOX: &str = "<h1>Check your mailbox</h1>";

#[test]
fn a_get_of_the_link_confirms_nothing_a_post_confirms_once_with_its_consent() {
    let project = signup_project();
    let serve = Server::serve_at(&project, T0);
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

    let (status, page) = sign_up(
        &serve,
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

    // A scanner fetches the link, twice: nothing is confirmed, and the
    // page has a button for a person and no script to press it.
    for _ in 0..2 {
        let (status, page) = serve.get(&target);
        assert_eq!(status, 200);
        assert!(
            page.contains("<form method=\"post\" action=\"/subscribe/confirm\" id=\"confirm\">"),
            "{page}"
        );
        assert!(page.contains("<button type=\"submit\">Confirm my subscription</button>"));
        assert!(!page.contains("<script"), "{page}");
    }
    assert_eq!(
        serve.get("/subscribe/confirm.js").0,
        404,
        "no script to submit it"
    );
    assert!(project.subscribers().is_empty(), "a GET confirms nothing");

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

    let list = project.subscribers();
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

/// Each limit: no mail, and a log line naming the limit. Past a mailbox's
/// limit the page is the one a mailed sign-up gets (a mail did go to that
/// mailbox lately); past a client's, a network's or the hourly one, the
/// visitor is told to try later. The clock moves by restarting `serve` with
/// another `BULLETIN_NOW`; the counts are in the store.
#[test]
fn each_abuse_limit_sends_no_mail_and_says_so_unless_it_is_about_the_address() {
    let project = signup_project();
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nper_address_per_day = 2\nper_client_per_hour = 4\n\
         per_network_per_hour = 6\nper_hour = 7",
    );
    let ip = |text: &str| -> std::net::Ipv4Addr { text.parse().unwrap() };
    let post = |serve: &Server, from: &str, email: &str| {
        if from == "127.0.0.1" {
            sign_up(serve, email, &[])
        } else {
            sign_up_from(serve, ip(from), email)
        }
    };
    let last_log_line = || project.read("serve.log").lines().last().unwrap_or("").to_string();
    let mailed = |serve: &Server, from: &str, email: &str| {
        let before = confirmation_mail(&project, email);
        let (status, page) = post(serve, from, email);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(CHECK_MAILBOX), "{page}");
        let after = confirmation_mail(&project, email);
        assert!(after.is_some() && after != before, "{email}: a new mail");
    };
    // Past a mailbox's limit: the answer a mailed sign-up gets.
    let held = |serve: &Server, from: &str, email: &str, mailbox: &str, limit: &str| {
        let before = confirmation_mail(&project, mailbox);
        let (status, page) = post(serve, from, email);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(CHECK_MAILBOX), "the same page: {page}");
        let written = mails_written(&project);
        assert_eq!(
            confirmation_mail(&project, mailbox),
            before,
            "{email}: no mail ({limit})"
        );
        assert_eq!(mails_written(&project), written, "{email}: no mail at all");
        assert!(
            last_log_line().contains(limit),
            "{limit} in the log: {}",
            last_log_line()
        );
    };
    // Past a limit on who signs up: told so, nothing sent.
    let refused = |serve: &Server, from: &str, email: &str, status: u16, limit: &str| {
        let (answered, page) = post(serve, from, email);
        assert_eq!(answered, status, "{page}");
        assert!(page.contains("<h1>Please try again later</h1>"), "{page}");
        assert!(!page.contains(CHECK_MAILBOX), "{page}");
        assert_eq!(
            confirmation_mail(&project, email),
            None,
            "{email}: no mail ({limit})"
        );
        assert!(
            last_log_line().contains(limit),
            "{limit} in the log: {}",
            last_log_line()
        );
    };

    let serve = Server::serve_at(&project, T0);
    mailed(&serve, "127.0.0.1", "a@example.de");
    held(
        &serve,
        "127.0.0.1",
        "a@example.de",
        "a@example.de",
        "address_interval_minutes",
    );
    held(
        &serve,
        "127.0.0.1",
        "A+again@Example.DE",
        "a@example.de",
        "address_interval_minutes",
    );
    let (status, page) = sign_up(&serve, "b@example.de", &[("website", "https://spam.example")]);
    assert_eq!((status, page.contains(CHECK_MAILBOX)), (200, true), "{page}");
    assert!(last_log_line().contains("honeypot"), "{}", last_log_line());
    assert_eq!(confirmation_mail(&project, "b@example.de"), None);
    mailed(&serve, "127.0.0.1", "c@example.de");
    refused(&serve, "127.0.0.1", "d@example.de", 429, "per_client_per_hour");
    serve.stop();

    let serve = Server::serve_at(&project, "2026-12-02T08:11:00Z");
    mailed(&serve, "127.0.0.2", "a@example.de");
    mailed(&serve, "127.0.0.3", "e@example.de");
    refused(&serve, "127.0.0.4", "f@example.de", 429, "per_network_per_hour");
    serve.stop();

    // Another network: its first sign-up passes the hourly limit, which
    // then stops its second; a third network's first passes again.
    let serve = Server::serve_at(&project, "2026-12-02T08:22:00Z");
    held(
        &serve,
        "127.0.1.2",
        "a@example.de",
        "a@example.de",
        "per_address_per_day",
    );
    refused(&serve, "127.0.1.3", "g@example.de", 503, "(site.signup.per_hour)");
    mailed(&serve, "127.0.2.2", "h@example.de");
    serve.stop();

    // A day later the address may be mailed again.
    let serve = Server::serve_at(&project, "2026-12-03T09:00:00Z");
    mailed(&serve, "127.0.0.1", "a@example.de");
}

#[test]
fn eu_only_newsletters_are_refused_with_the_reason_and_a_wrong_field_is_named() {
    let project = signup_project();
    let serve = Server::serve_at(&project, T0);
    let (status, page) = sign_up(
        &serve,
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
    let (status, page) = sign_up(&serve, "taro@example.jp", &[("country", "JP")]);
    assert_eq!(status, 400);
    assert!(page.contains("not for those outside the EU-27"), "{page}");
    let (status, page) = sign_up(&serve, "x@example.de", &[("country", "ZZ")]);
    assert_eq!(status, 400);
    assert!(
        page.contains("country &#34;ZZ&#34;: not an ISO 3166-1 alpha-2 code"),
        "{page}"
    );
    assert!(page.contains("name=\"country\" value=\"ZZ\" required maxlength=\"2\" autocomplete=\"country\" aria-invalid=\"true\""), "{page}");
    let (status, page) = sign_up(&serve, "not an address", &[]);
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
    let serve = Server::serve_at(&project, T0);
    sign_up(&serve, "late@example.de", &[]);
    let target = confirm_target(&confirmation_mail(&project, "late@example.de").unwrap());
    serve.stop();
    let serve = Server::serve_at(&project, "2026-12-09T08:00:01Z");
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 410, "{page}");
    assert!(
        page.contains("This link has expired") && page.contains("<a href=\"/subscribe\">"),
        "{page}"
    );
    assert!(project.subscribers().is_empty());
    serve.stop();
    // Just within the seven days, it works.
    let serve = Server::serve_at(&project, "2026-12-09T07:59:59Z");
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200, "{page}");
    assert_eq!(project.subscribers().len(), 1);
}

#[test]
fn the_consent_keeps_a_keyed_hash_of_the_client_when_configured() {
    let project = signup_project();
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nhash_client_addresses = true",
    );
    let serve = Server::serve_at(&project, T0);
    sign_up(&serve, "jane@example.de", &[]);
    let target = confirm_target(&confirmation_mail(&project, "jane@example.de").unwrap());
    serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    let list = project.subscribers();
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
    let serve = Server::serve_at(&project, T0);
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
    let host = serve.base().trim_start_matches("http://").to_string();
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
    let list = project.subscribers();
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
/// (Postfix's smtp-sink). When the server is down the visitor has their
/// answer all the same; the mail waits in the store's outbox, is tried
/// again, and is sent when `serve` starts again with the server back.
#[test]
fn the_confirmation_goes_through_smtp_and_one_not_taken_is_sent_when_serve_starts_again() {
    let Some(sink) = Sink::start(&[]) else { return };
    let port = sink.port;
    let project = Project::bundled();
    with_mail(&project, port, "");
    let serve = Server::serve_at(&project, T0);
    let (status, _) = sign_up(&serve, "jane@example.de", &[]);
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

    let (status, page) = sign_up(&serve, "taro@example.de", &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(CHECK_MAILBOX), "{page}");
    wait_for_log(&project, "confirmation mail #2 not sent (try 1 of 8)");
    let Some(sink) = Sink::start_on(port, &[]) else {
        return;
    };
    drop(serve);
    let serve = Server::serve_at(&project, T0);
    sink.wait_for_messages(1);
    mailed(&project);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "taro's mail went out when serve started again");
    assert!(messages[0].contains("\nTo: taro@example.de"), "{}", messages[0]);

    let (status, _) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200);
    assert_eq!(project.subscribers().len(), 1, "only the confirmed one");
}

/// Waits until `serve.log` has a line holding `words`.
fn wait_for_log(project: &Project, words: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = project.read("serve.log");
        if log.contains(words) {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {words:?} in the log after 30 s:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Issue 25, item 4: 300 sign-ups for `+tag` and case variants of two
/// mailboxes (one of them IDNA), from 30 clients, as fast as they come:
/// each mailbox gets one mail; every answer is "check your mailbox" or,
/// past the clients' network's budget, "try again later", never a lie.
#[test]
fn a_mail_bomb_of_tag_and_case_variants_from_many_clients_reaches_each_mailbox_once() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = Project::bundled();
    with_mail(&project, sink.port, "");
    let serve = Server::serve_at(&project, T0);
    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..30u8)
            .map(|client| {
                let serve = &serve;
                scope.spawn(move || {
                    (0..10)
                        .map(|n| {
                            let i = usize::from(client) * 10 + n;
                            let email = match i % 4 {
                                0 => format!("bomb+{i}@example.org"),
                                1 => format!("BOMB+{i}@Example.ORG"),
                                2 => format!("jörg+{i}@bücher.example"),
                                _ => format!("JÖRG+{i}@BÜCHER.example"),
                            };
                            sign_up_from(serve, std::net::Ipv4Addr::new(127, 0, 0, 2 + client), &email)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    for (status, page) in &answers {
        match status {
            200 => assert!(page.contains(CHECK_MAILBOX), "{page}"),
            429 => assert!(page.contains("<h1>Please try again later</h1>"), "{page}"),
            other => panic!("{other}: {page}"),
        }
    }
    mailed(&project);
    let recipients: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| crate::common::sink::header(m, "X-Rcpt-Args").unwrap())
        .collect();
    let to = |mailbox: &str| recipients.iter().filter(|r| r.contains(mailbox)).count();
    assert_eq!(
        to("@example.org"),
        1,
        "one mail to bomb@example.org: {recipients:?}"
    );
    assert!(
        to("@xn--bcher-kva.example") <= 1,
        "at most one to jörg@bücher.example: {recipients:?}"
    );
    assert_eq!(
        recipients.len(),
        to("@example.org") + to("@xn--bcher-kva.example")
    );
}

/// Issue 25, item 4: a flood of sign-ups for other addresses from 30
/// networks spends the hourly budget (200), and those past it are told to
/// try later; a visitor from a network of their own still gets their mail.
#[test]
fn a_visitor_from_a_new_network_gets_their_mail_during_a_flood() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = Project::bundled();
    with_mail(&project, sink.port, "");
    let serve = Server::serve_at(&project, T0);
    let refused: usize = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..30u8)
            .map(|network| {
                let serve = &serve;
                scope.spawn(move || {
                    let client = std::net::Ipv4Addr::new(127, 0, network, 2);
                    (0..10)
                        .filter(|n| {
                            let (status, page) =
                                sign_up_from(serve, client, &format!("flood{network}-{n}@example.net"));
                            assert!(
                                (status == 200 && page.contains(CHECK_MAILBOX))
                                    || (status == 503 && page.contains("Please try again later")),
                                "{status}: {page}"
                            );
                            status == 503
                        })
                        .count()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(refused, 100, "300 sign-ups, 200 an hour");
    let (status, page) = sign_up_from(
        &serve,
        std::net::Ipv4Addr::new(127, 0, 200, 9),
        "visitor@example.eu",
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(CHECK_MAILBOX), "{page}");
    mailed(&project);
    let messages = sink.messages();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("X-Rcpt-Args: <visitor@example.eu>")),
        "the visitor's mail arrived"
    );
    assert_eq!(messages.len(), 201, "the flood's 200 and the visitor's");
}

/// Issue 25, item 5: the confirmation mail comes from the centre, so it
/// carries nothing the visitor typed but the address; a name or an
/// organisation longer than the preference centre takes is refused on the
/// form, naming the field, without repeating it.
#[test]
fn the_confirmation_mail_carries_only_the_address_and_a_60000_character_name_is_refused() {
    let project = signup_project();
    let serve = Server::serve_at(&project, T0);
    let lure = "Customer, URGENT: your account is locked, re-validate at https://evil.example/login";
    let (status, _) = sign_up(
        &serve,
        "victim@example.de",
        &[("name", lure), ("organisation", "Evil Support Desk")],
    );
    assert_eq!(status, 200);
    let mail = confirmation_mail(&project, "victim@example.de").expect("a confirmation mail");
    let decoded =
        String::from_utf8(quoted_printable::decode(&mail, quoted_printable::ParseMode::Robust).unwrap())
            .unwrap();
    for typed in ["URGENT", "evil.example", "Evil Support", "Customer", "Dear"] {
        assert!(!decoded.contains(typed), "{typed:?} is in the mail:\n{decoded}");
    }
    assert!(decoded.contains("Hello,"), "{decoded}");

    let long = "x".repeat(60_000);
    let (status, page) = sign_up(&serve, "long@example.de", &[("name", &long)]);
    assert_eq!(status, 400);
    assert!(
        page.contains("name: at most 200 characters, not 60000"),
        "{}",
        &page[..2000]
    );
    assert!(
        page.contains("maxlength=\"200\" autocomplete=\"name\" aria-invalid=\"true\""),
        "the field is marked"
    );
    assert_eq!(
        page.matches(&long).count(),
        1,
        "shown once, in the field, not in the error"
    );
    let organisation = "o".repeat(201);
    let (status, page) = sign_up(&serve, "long@example.de", &[("organisation", &organisation)]);
    assert_eq!(status, 400);
    assert!(
        page.contains("organisation: at most 200 characters, not 201"),
        "{page}"
    );
    let (status, _) = sign_up(&serve, "long@example.de", &[("name", &"x".repeat(200))]);
    assert_eq!(status, 200, "200 characters are taken");
    assert!(confirmation_mail(&project, "long@example.de").is_some());
}

/// Issue 25, item 6: a sign-up confirmed for an address that is already a
/// subscriber adds its newsletters, with their consents, and keeps the
/// details the subscriber gave: whoever typed others into the form.
#[test]
fn a_confirmed_sign_up_for_a_subscriber_keeps_their_details_and_adds_the_newsletters() {
    let project = signup_project();
    project.write(
        "members.csv",
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n",
    );
    project
        .run(&["subscribers", "import", "members.csv"])
        .assert_code(0);
    let serve = Server::serve_at(&project, T0);
    let (status, _) = serve.post(
        "/subscribe",
        &[
            ("email", "Jane@Example.DE"),
            ("name", "Mallory"),
            ("organisation", "Evil Ltd"),
            ("organisation_type", "individual"),
            ("country", "FR"),
            ("newsletters", "tech-transfer"),
        ],
        &[],
    );
    assert_eq!(status, 200);
    let target = confirm_target(&confirmation_mail(&project, "jane@example.de").unwrap());
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200, "{page}");
    let list = project.subscribers();
    assert_eq!(list.len(), 1, "{list:?}");
    let jane = &list[0];
    for (field, kept) in [
        ("name", "Jane Doe"),
        ("organisation", "Acme GmbH"),
        ("organisation_type", "company"),
        ("country", "DE"),
    ] {
        assert_eq!(jane[field], kept, "{field}: {jane}");
    }
    assert_eq!(
        jane["newsletters"],
        serde_json::json!(["eu-japan-news", "tech-transfer"])
    );
    let consents = jane["consents"].as_array().unwrap();
    assert!(
        consents
            .iter()
            .any(|c| c["newsletter"] == "tech-transfer" && c["method"] == "form"),
        "{consents:?}"
    );
}

/// Issue 25, item 10: a confirmation mail that fails says so on stderr by
/// its number, with the server's words, and never the address, not even
/// where the server's reply repeats it.
#[test]
fn a_failed_confirmation_mail_names_no_address_on_stderr() {
    let Some(sink) = Sink::start(&[
        "-f",
        "RCPT",
        "-B",
        "550 5.1.1 <Victim@Example.DE>: Recipient address rejected",
    ]) else {
        return;
    };
    let port = sink.port;
    let project = Project::bundled();
    with_mail(&project, port, "");
    let serve = Server::serve_at(&project, T0);
    let (status, _) = sign_up(&serve, "Victim@Example.DE", &[]);
    assert_eq!(status, 200);
    wait_for_log(&project, "confirmation mail #1 not sent, given up after 1 try");
    sink.stop();
    let (status, _) = sign_up(&serve, "second.person@example.de", &[]);
    assert_eq!(status, 200);
    let log = wait_for_log(&project, "confirmation mail #2 not sent (try 1 of 8)");
    assert!(
        log.contains("550 5.1.1 <[address]>: Recipient address rejected"),
        "{log}"
    );
    for address in ["victim", "second.person", "example.de"] {
        assert!(
            !log.to_lowercase().contains(address),
            "{address} in the log:\n{log}"
        );
    }
}

/// Issue 25, item 11: the answer does not wait for the SMTP server (here
/// 3 s before it answers DATA), so its time says nothing about whether a
/// mail went out; the mail still arrives. And a mail recorded but not yet
/// sent when `serve` is killed is sent once when it starts again.
#[test]
fn the_answer_comes_before_the_mail_and_a_killed_serve_sends_it_once_when_started_again() {
    let Some(slow) = Sink::start(&["-w", "3"]) else {
        return;
    };
    let port = slow.port;
    let project = Project::bundled();
    with_mail(&project, port, "");
    let serve = Server::serve_at(&project, T0);
    let start = std::time::Instant::now();
    let (status, page) = sign_up(&serve, "jane@example.de", &[]);
    let answered = start.elapsed();
    assert_eq!(status, 200, "{page}");
    assert!(
        answered < std::time::Duration::from_millis(1000),
        "answered in {answered:?}, before the SMTP session ended"
    );
    slow.wait_for_messages(1);
    mailed(&project);
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(3),
        "the sink waited"
    );
    assert_eq!(slow.messages().len(), 1);
    slow.stop();

    // A server slow to greet: serve is killed before the mail is handed over.
    let Some(greeting) = Sink::start_on(port, &["-W", "connect:20"]) else {
        return;
    };
    let (status, _) = sign_up(&serve, "taro@example.de", &[]);
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(serve);
    greeting.stop();
    let Some(sink) = Sink::start_on(port, &[]) else {
        return;
    };
    let serve = Server::serve_at(&project, T0);
    sink.wait_for_messages(1);
    mailed(&project);
    drop(serve);
    // Started again: nothing is sent twice.
    let serve = Server::serve_at(&project, T0);
    std::thread::sleep(std::time::Duration::from_millis(500));
    mailed(&project);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "taro's mail, once");
    assert!(
        messages[0].contains("X-Rcpt-Args: <taro@example.de>"),
        "{}",
        messages[0]
    );
    drop(serve);
}

/// The client an IPv6 sign-up is counted and recorded by is its /64 (one
/// host or household), not its single address.
#[test]
fn an_ipv6_client_is_counted_and_recorded_by_its_slash_64() {
    let project = signup_project();
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nper_client_per_hour = 2",
    );
    let serve = Server::serve_on(&project, T0, "[::1]:0");
    assert!(serve.base().starts_with("http://[::1]:"), "{}", serve.base());
    for email in ["a@example.de", "b@example.de"] {
        assert_eq!(sign_up(&serve, email, &[]).0, 200);
    }
    let (status, page) = sign_up(&serve, "c@example.de", &[]);
    assert_eq!(status, 429, "{page}");
    let target = confirm_target(&confirmation_mail(&project, "a@example.de").unwrap());
    serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    let list = project.subscribers();
    assert_eq!(list[0]["consents"][0]["source"], "::/64", "{list:?}");
}

/// The welcome mails recorded in the store: (newsletter, outcome), by id.
fn welcomes(project: &Project) -> Vec<(String, Option<String>)> {
    let store = rusqlite::Connection::open_with_flags(
        project.path("bulletin.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut query = store
        .prepare("SELECT newsletter, outcome FROM welcome_mails ORDER BY id")
        .unwrap();
    query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Waits until no welcome mail is waiting (each sent, or given up).
fn welcomed(project: &Project) -> Vec<(String, Option<String>)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let all = welcomes(project);
        if all.iter().all(|(_, outcome)| outcome.is_some()) {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "welcome mails still waiting: {all:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Issue 30, item 3: confirming sends a welcome mail per newsletter, in
/// the editions' style, linking to the latest edition in the archive; it
/// is recorded, exported with the person, and never sent a second time,
/// even after another sign-up to the same newsletter.
#[test]
fn a_confirmed_sign_up_gets_one_welcome_per_newsletter_with_the_latest_edition_and_never_two() {
    let project = signup_project();
    project.fetch_and_build(&["--date", "2026-11-23"]);
    let serve = Server::serve_at(&project, T0);
    let (status, _) = sign_up(&serve, "jane@example.de", &[]);
    assert_eq!(status, 200);
    let mail = confirmation_mail(&project, "jane@example.de").unwrap();
    let (status, _) = serve.post(
        "/subscribe/confirm",
        &[("t", &token(&confirm_target(&mail)))],
        &[],
    );
    assert_eq!(status, 200);
    assert_eq!(
        welcomed(&project),
        [
            ("eu-japan-news".to_string(), Some("sent".to_string())),
            ("about-japan".to_string(), Some("sent".to_string()))
        ]
    );
    let welcome = project.read("out/mail/welcome/eu-japan-news/jane@example.de.eml");
    assert!(welcome.contains("Subject: Welcome to EU-Japan NEWS"), "{welcome}");
    let html = crate::common::message::html_part(&welcome);
    assert!(
        html.contains("https://www.eu-japan.eu/archive/eu-japan-news/2026-11-23.html"),
        "the latest edition in the archive: {html}"
    );
    assert!(
        html.contains("background-color:#003399"),
        "the editions' style: {html}"
    );
    assert!(
        html.contains("/preferences?t=") && html.contains("/unsubscribe?t="),
        "{html}"
    );
    let text = crate::common::message::mail_part(&welcome, "text/plain");
    assert!(text.contains("/archive/eu-japan-news/2026-11-23.html"), "{text}");

    // Left, then signed up again: subscribed anew, welcomed once only.
    project
        .run(&["subscribers", "unsubscribe", "jane@example.de"])
        .assert_code(0);
    let serve = {
        drop(serve);
        Server::serve_at(&project, "2026-12-02T09:00:00Z")
    };
    let (status, _) = sign_up(&serve, "jane@example.de", &[]);
    assert_eq!(status, 200);
    let mail = confirmation_mail(&project, "jane@example.de").unwrap();
    let (status, _) = serve.post(
        "/subscribe/confirm",
        &[("t", &token(&confirm_target(&mail)))],
        &[],
    );
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(welcomed(&project).len(), 2, "no second welcome");
    drop(serve);
    let export = project
        .run(&["subscribers", "export", "jane@example.de", "--format", "json"])
        .assert_code(0)
        .json();
    assert_eq!(
        export["tables"]["welcome_mails"].as_array().unwrap().len(),
        2,
        "{export}"
    );
}

/// A welcome mail whose try was out when `serve` was killed (the SMTP
/// server holding its reply to DATA) is not sent again when
/// `serve` starts: it is recorded as cut short, with a warning.
#[test]
fn a_welcome_mail_cut_short_by_a_kill_is_never_sent_twice() {
    let Some(sink) = Sink::start(&[]) else { return };
    let port = sink.port;
    let project = Project::bundled();
    with_mail(&project, port, "");
    let serve = Server::serve_at(&project, T0);
    let fields: Vec<(&str, &str)> = crate::common::signup::form("jane@example.de", &[])
        .into_iter()
        .filter(|&(_, value)| value != "about-japan")
        .collect();
    let (status, _) = serve.post("/subscribe", &fields, &[]);
    assert_eq!(status, 200);
    sink.wait_for_messages(1);
    mailed(&project);
    let target = confirm_target(&sink.messages()[0]);
    sink.stop();
    let Some(slow) = Sink::start_on(port, &["-w", "30"]) else {
        return;
    };
    let (status, _) = serve.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200);
    slow.wait_for_messages(1);
    drop(serve);
    slow.stop();

    let Some(sink) = Sink::start_on(port, &[]) else {
        return;
    };
    let serve = Server::serve_at(&project, T0);
    wait_for_log(&project, "welcome mail #1 was being sent when serve stopped");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let outcomes = welcomed(&project);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(
        outcomes[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("not known: serve stopped during the try"),
        "{outcomes:?}"
    );
    assert_eq!(sink.messages().len(), 0, "not sent again");
    drop(serve);
}
