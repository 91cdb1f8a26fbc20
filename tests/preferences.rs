//! Issue 19, section 2: the preference centre behind every mail's footer,
//! against `bulletin serve`, with the mails read from the file transport
//! and the store read table by table.

use crate::common::browser::{browser_tools, node};
use crate::common::draft::DATE;
use crate::common::message::{escaped, html_part, mail_part};
use crate::common::server::Server;
use crate::common::signup::{confirm_target, confirmation_mail, sign_up, signup_project, token};
use crate::common::{Project, files_under, repo};

const SUBSCRIBERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
Jane@Example.DE,Jane Doe,Acme GmbH,company,DE,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer,2025-01-10
other@example.nl,Otto Other,Other BV,company,NL,eu-japan-news;about-japan,2025-03-02
";

/// Where the mails say the preference centre is (the bundled config's).
const PUBLIC: &str = "https://newsletters.eu-japan.eu";

/// The bundled project with the two subscribers, every edition of
/// [`DATE`] published, and EU-Japan NEWS sent to them as `.eml` files.
fn mailed() -> Project {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.import(SUBSCRIBERS);
    project.fetch_and_build(&["--date", DATE]);
    send(&project, "eu-japan-news");
    project
}

fn send(project: &Project, newsletter: &str) {
    project.run(&["send", "--newsletter", newsletter]).assert_code(0);
}

/// The preference link of Jane's mail of `newsletter` No. 1, from its HTML
/// part, checked to be the same in its text part.
fn preference_link(project: &Project, newsletter: &str) -> String {
    let eml = project.read(&format!("out/mail/{newsletter}/1/jane@example.de.eml"));
    let html = html_part(&eml);
    let start = html
        .find(&format!("href=\"{PUBLIC}/preferences?t="))
        .unwrap_or_else(|| panic!("no preference link in the HTML part:\n{html}"))
        + "href=\"".len();
    let link = &html[start..start + html[start..].find('"').unwrap()];
    assert!(html[start..].contains("Your preferences</a>"), "{html}");
    let text = mail_part(&eml, "text/plain");
    assert!(
        text.contains(&format!(
            "Your preferences (newsletters, details, your data):\r\n{link}\r\n"
        )) || text.contains(&format!(
            "Your preferences (newsletters, details, your data):\n{link}\n"
        )),
        "the text part has the same link {link}:\n{text}"
    );
    assert!(
        !link.contains("jane") && !link.contains("example"),
        "opaque: {link}"
    );
    link.to_string()
}

/// `serve` on a free port, and the target (path and query) of `link` on it.
fn serve(project: &Project, link: &str) -> (Server, String) {
    let target = link.strip_prefix(PUBLIC).expect("a link to the public site");
    (Server::serve(project, &[]), target.to_string())
}

/// Every value of every row of every table of the store, as text.
fn every_value(project: &Project) -> Vec<(String, String)> {
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let tables: Vec<String> = store
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(tables.len() >= 10, "{tables:?}");
    let mut values = Vec::new();
    for table in tables {
        let mut query = store.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = query.column_count();
        let mut rows = query.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for index in 0..columns {
                let text = match row.get_ref(index).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    other => format!("{other:?}"),
                };
                values.push((table.clone(), text));
            }
        }
    }
    values
}

#[test]
fn a_forged_token_gets_the_invalid_link_page_and_a_cross_site_post_is_refused() {
    let project = mailed();
    let link = preference_link(&project, "eu-japan-news");
    let (served, link) = serve(&project, &link);
    let (status, page) = served.get(&link);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("For <strong>jane@example.de</strong>"), "{page}");
    assert!(
        page.contains("value=\"Jane Doe\"") && page.contains("value=\"Acme GmbH\""),
        "{page}"
    );
    let token_at = link.find("?t=").unwrap() + 3;
    for changed in [4, link.len() - 1] {
        let mut forged = link.clone().into_bytes();
        let at = changed.max(token_at);
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let (status, page) = served.get(&String::from_utf8(forged).unwrap());
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("This link is not valid"), "{page}");
    }
    let (status, page) = served.get(&link.replace("?t=", "?t=x"));
    assert_eq!((status, page.contains("This link is not valid")), (400, true));
    let erase = [("action", "erase-confirmed")];
    for foreign in [
        [
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        [("Origin", "https://evil.example"), ("X-Nothing", "")],
        [("Origin", "null"), ("X-Nothing", "")],
    ] {
        let (status, page) = served.post(&link, &erase, &foreign);
        assert_eq!(status, 403, "{foreign:?}: {page}");
        assert!(page.contains("Nothing changed"), "{page}");
    }
    let rename = [
        ("action", "save"),
        ("name", "Mallory"),
        ("organisation", "Acme GmbH"),
        ("organisation_type", "company"),
        ("country", "DE"),
    ];
    let (status, _) = served.post(&link, &rename, &[("Sec-Fetch-Site", "same-site")]);
    assert_eq!(status, 403, "a sibling site is another site");
    let list = project.subscribers();
    assert_eq!(list[0]["email"], "jane@example.de", "{list:?}");
    assert_eq!(list[0]["name"], "Jane Doe", "nothing changed: {list:?}");
    // The origin is checked against the Host the request came with: a
    // proxy that passes the public Host on, but not the proxy's own Host
    // with the public origin.
    let (status, _) = served.post(&link, &rename, &[("Origin", PUBLIC)]);
    assert_eq!(status, 403, "another origin than the Host's");
    assert_eq!(project.subscribers()[0]["name"], "Jane Doe");
    // Behind a proxy that ends TLS: the page is https, the server hears http.
    let origin = format!("https://{}", served.addr);
    let (status, page) = served.post(&link, &rename, &[("Origin", &origin)]);
    assert_eq!(status, 303, "{page}");
    assert_eq!(project.subscribers()[0]["name"], "Mallory");
}

#[test]
fn a_bad_correction_is_shown_again_with_what_is_wrong_and_nothing_saved() {
    let project = mailed();
    let link = preference_link(&project, "eu-japan-news");
    let (served, link) = serve(&project, &link);
    let (status, page) = served.post(
        &link,
        &[
            ("action", "save"),
            ("name", "<b>Jane</b>"),
            ("organisation", "Acme GmbH"),
            ("organisation_type", "robot"),
            ("country", "EU"),
            ("newsletters", "eu-japan-news"),
        ],
        &[],
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Nothing was saved"), "{page}");
    assert!(
        page.contains("Type: choose company, organisation or individual."),
        "{page}"
    );
    assert!(
        page.contains(&escaped("Country \"EU\": give its two-letter ISO code")),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{}\"", escaped("<b>Jane</b>"))),
        "{page}"
    );
    assert!(!page.contains("<b>Jane"), "escaped: {page}");
    assert_eq!(project.subscribers()[0]["name"], "Jane Doe");
}

/// The whole path in Chromium at 375 px: the link from the mail, a change of
/// newsletters and name, a change to `individual` that warns first, the
/// download, the next send following the choices, then erasure: nothing
/// left of Jane in any table, and a re-import refused.
#[test]
fn a_subscriber_changes_downloads_and_erases_in_chromium_and_the_store_keeps_nothing() {
    if !browser_tools() {
        return;
    }
    let project = mailed();
    let link = preference_link(&project, "eu-japan-news");
    let (served, target) = serve(&project, &link);
    let local = served.link(&target);
    let shots = repo().join("target/screenshots");
    let download = project.path("export.json");
    let report = node(
        "preferences.mjs",
        &[
            &local,
            shots.to_str().unwrap(),
            "change",
            download.to_str().unwrap(),
        ],
    );
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "what a subscriber would notice"
    );

    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&download).unwrap()).unwrap();
    assert_eq!(export["email"], "jane@example.de");
    let tables = &export["tables"];
    assert_eq!(tables["subscribers"][0]["name"], "Jane Q. Doe");
    assert_eq!(tables["subscribers"][0]["organisation_type"], "individual");
    let subscriptions = tables["subscriptions"].as_array().unwrap();
    assert_eq!(subscriptions.len(), 5, "{subscriptions:?}");
    let kept: Vec<&str> = subscriptions
        .iter()
        .filter(|s| s["unsubscribed"].is_null())
        .map(|s| s["newsletter"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["eu-japan-news", "tech-transfer"]);
    assert_eq!(tables["deliveries"][0]["newsletter"], "eu-japan-news");
    let exported = export.to_string();
    assert!(
        !exported.contains("other") && !exported.contains("Otto"),
        "nobody else's: {exported}"
    );

    for newsletter in [
        "industry-policy",
        "about-japan",
        "tax-procurement",
        "tech-transfer",
    ] {
        send(&project, newsletter);
    }
    let jane = |newsletter: &str| project.path(&format!("out/mail/{newsletter}/1/jane@example.de.eml"));
    assert!(!jane("industry-policy").exists(), "unticked in the browser");
    assert!(
        !jane("about-japan").exists() && !jane("tax-procurement").exists(),
        "EU-only, dropped"
    );
    assert!(
        project
            .path("out/mail/about-japan/1/other@example.nl.eml")
            .exists()
    );
    let tech = std::fs::read_to_string(jane("tech-transfer")).unwrap();
    assert!(
        html_part(&tech).contains("Dear Jane Q. Doe,"),
        "the corrected name"
    );
    assert_eq!(
        preference_link(&project, "tech-transfer"),
        link,
        "one link per person"
    );

    let report = node("preferences.mjs", &[&local, shots.to_str().unwrap(), "erase"]);
    assert_eq!(report["problems"], serde_json::json!([]));
    drop(served);
    let values = every_value(&project);
    for (table, value) in &values {
        let value = value.to_lowercase();
        for personal in ["jane@example.de", "jane q. doe", "jane doe", "acme gmbh"] {
            assert!(
                !value.contains(personal),
                "{table} still holds {personal:?}: {value}"
            );
        }
    }
    assert!(
        values
            .iter()
            .any(|(table, value)| table == "subscribers" && value == "Otto Other"),
        "the others are kept"
    );
    let suppressed: Vec<&String> = values
        .iter()
        .filter(|(t, _)| t == "suppressed")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(suppressed.len(), 3, "one row: hash, when, why: {suppressed:?}");
    assert_eq!(suppressed[2], "erased");
    let store = std::fs::read(project.path("bulletin.sqlite")).unwrap();
    assert!(
        !store
            .windows(15)
            .any(|w| w.eq_ignore_ascii_case(b"jane@example.de")),
        "not even in the file's free pages"
    );

    project.write(
        "again.csv",
        &SUBSCRIBERS.replace("Jane@Example.DE", "JANE@example.de"),
    );
    let again = project.run(&["subscribers", "import", "again.csv"]);
    again.assert_code(3).assert_stderr_has(
        "again.csv:2: jane@example.de: erased at their request; not added again without a new consent",
    );
    again.assert_stdout_has("1 rows imported (0 new, 1 updated), 0 rejected, 1 erased");
    let list = project.subscribers();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["email"], "other@example.nl");
}

#[test]
fn the_operator_exports_and_erases_with_the_same_code_and_a_send_skips_the_erased() {
    let project = mailed();
    let export = project
        .run(&["subscribers", "export", "JANE@example.de", "--format", "json"])
        .assert_code(0)
        .json();
    assert_eq!(export["tables"]["subscribers"][0]["organisation"], "Acme GmbH");
    assert_eq!(export["tables"]["subscriptions"].as_array().unwrap().len(), 5);
    assert_eq!(export["tables"]["deliveries"][0]["email"], "jane@example.de");
    let consents = export["tables"]["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 5, "one per newsletter imported: {consents:?}");
    for consent in consents {
        assert_eq!(consent["method"], "import", "{consent}");
        assert_eq!(consent["source"], "subscribers.csv", "{consent}");
    }
    assert!(!export.to_string().contains("other@"), "{export}");
    let table = project.run(&["subscribers", "export", "jane@example.de"]);
    assert!(
        table
            .assert_code(0)
            .stdout
            .contains("subscribers: 1 row\n  consent: 2025-01-10\n  country: DE\n  email: jane@example.de\n"),
        "{}",
        table.stdout
    );

    let erased = project.run(&["subscribers", "erase", "Jane@Example.de"]);
    erased.assert_code(0).assert_stdout_has(
        "jane@example.de erased: 5 rows from consents, 1 row from deliveries, 1 row from subscribers, \
             5 rows from subscriptions, 1 mail file written to them; the address is suppressed",
    );
    let nothing = project.run(&["subscribers", "export", "jane@example.de"]);
    assert_eq!(
        nothing.assert_code(0).stdout,
        "nothing held about jane@example.de\n"
    );
    // Were they added again by other means, the send still leaves them out.
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    store
        .execute_batch(
            "INSERT INTO subscribers (email, name, organisation, organisation_type, country, consent, updated)
             VALUES ('jane@example.de', 'Jane Doe', 'Acme GmbH', 'company', 'DE', '2025-01-10', '2026-01-01');
             INSERT INTO subscriptions (email, newsletter) VALUES ('jane@example.de', 'tech-transfer');",
        )
        .unwrap();
    let sent = project.run(&["send", "--newsletter", "tech-transfer"]);
    sent.assert_code(0)
        .assert_stdout_has("skipped 1: erased at their request (suppressed)");
    assert!(
        !project
            .path("out/mail/tech-transfer/1/jane@example.de.eml")
            .exists()
    );
}

/// Erasure reaches what the sign-up and the bounces keep (issue 19,
/// sections 1 and 3): a pending sign-up, its confirmation mail's count, the
/// consents, the bounces read and the soft-bounce suppression. Then only a
/// confirmed sign-up, a new consent, lets the person in again; a CSV
/// import alone does not.
#[test]
fn an_erased_person_is_let_in_again_by_a_confirmed_sign_up_not_by_an_import() {
    let project = signup_project();
    project.import(SUBSCRIBERS);
    // Three soft bounces in a row from Jane's mailbox, read by `bounces`
    // from a mailbox only the operator's MTA writes to.
    project.edit_config(
        "signing_key_env",
        "trust_bounce_addresses = true\nsigning_key_env",
    );
    let full = std::fs::read_to_string(repo().join("tests/fixtures/bounces/postfix/mailbox-full.eml"))
        .unwrap()
        .replace("full@eu-japan.test", "jane@example.de");
    for n in 0..3 {
        project.write(
            &format!("full-{n}.eml"),
            &full.replace("<20261202081158.", &format!("<{n}.20261202081158.")),
        );
        let run = project
            .command(&["bounces", &format!("full-{n}.eml")])
            .env("BULLETIN_NOW", format!("2026-12-01T0{n}:00:00Z"))
            .output()
            .unwrap();
        assert!(run.status.success(), "{run:?}");
        if n == 2 {
            let said = String::from_utf8_lossy(&run.stdout);
            assert!(
                said.contains("3 soft bounces in a row, no longer sent to"),
                "{said}"
            );
        }
    }
    // A sign-up, mailed and not confirmed.
    let serve = Server::serve_at(&project, "2026-12-02T08:00:00Z");
    let (status, page) = sign_up(&serve, "jane@example.de", &[("name", "Jane Pending")]);
    assert_eq!(status, 200, "{page}");
    serve.stop();

    let export = project
        .run(&["subscribers", "export", "jane@example.de", "--format", "json"])
        .assert_code(0)
        .json();
    let tables = &export["tables"];
    assert_eq!(tables["signups"][0]["email"], "jane@example.de", "{export}");
    assert!(
        tables["signups"][0].get("name").is_none(),
        "typed at a sign-up never confirmed: not shown: {export}"
    );
    assert_eq!(tables["signup_mails"].as_array().unwrap().len(), 1, "{export}");
    assert_eq!(tables["consents"].as_array().unwrap().len(), 5, "{export}");
    assert_eq!(tables["consents"][0]["method"], "import", "{export}");
    assert_eq!(tables["bounce_messages"].as_array().unwrap().len(), 3, "{export}");
    assert_eq!(tables["soft_bounces"][0]["status"], "5.2.2", "{export}");
    assert_eq!(tables["suppressions"][0]["email"], "jane@example.de", "{export}");

    let erased = project.run(&["subscribers", "erase", "jane@example.de"]);
    erased.assert_code(0);
    for table in [
        "bounce_messages",
        "consents",
        "signup_mails",
        "signups",
        "soft_bounces",
        "suppressions",
        "subscribers",
        "subscriptions",
    ] {
        assert!(
            erased.stdout.contains(&format!(" from {table}")),
            "{table}: {}",
            erased.stdout
        );
    }
    for (table, value) in every_value(&project) {
        let value = value.to_lowercase();
        for personal in ["jane@example.de", "jane doe", "jane pending", "acme gmbh"] {
            assert!(
                !value.contains(personal),
                "{table} still holds {personal:?}: {value}"
            );
        }
    }

    let again = project.run(&["subscribers", "import", "subscribers.csv"]);
    again.assert_code(3).assert_stdout_has("1 erased (suppressed)");
    assert!(
        project
            .subscribers()
            .iter()
            .all(|s| s["email"] != "jane@example.de"),
        "a CSV alone is no new consent"
    );

    let serve = Server::serve_at(&project, "2026-12-02T09:00:00Z");
    let (status, page) = sign_up(&serve, "Jane@Example.DE", &[]);
    assert_eq!(status, 200, "{page}");
    let mail = confirmation_mail(&project, "jane@example.de").expect("a confirmation mail");
    let (status, page) = serve.post(
        "/subscribe/confirm",
        &[("t", &token(&confirm_target(&mail)))],
        &[],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are subscribed"), "{page}");
    serve.stop();
    let list = project.subscribers();
    let jane = list
        .iter()
        .find(|s| s["email"] == "jane@example.de")
        .unwrap_or_else(|| panic!("subscribed again: {list:?}"));
    assert_eq!(
        jane["newsletters"],
        serde_json::json!(["about-japan", "eu-japan-news"])
    );
    assert_eq!(jane["consents"][0]["method"], "form", "{jane}");
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0)
        .assert_stdout_has("0 erased (suppressed)");
}

/// Everything a file could show of a person: their address, their details
/// and the tokens in their mails, as written and in the encodings mail
/// uses (a header's `=?utf-8?q?…?=` and `=?utf-8?b?…?=`, quoted-printable,
/// base64 at each alignment), in lowercase but for base64 and tokens.
fn traces(texts: &[&str], tokens: &[String]) -> Vec<String> {
    use base64::Engine;
    let mut traces: Vec<String> = tokens.to_vec();
    for text in texts {
        let lower = text.to_lowercase();
        traces.push(lower.clone());
        traces.push(lower.replace(' ', "_"));
        traces.push(lower.replace(' ', "=20"));
        traces.push(lower.replace('@', "=40"));
        for spelling in [text.to_string(), lower] {
            for shift in 0..3 {
                let padded = format!("{}{spelling}", "x".repeat(shift));
                let encoded = base64::engine::general_purpose::STANDARD.encode(&padded);
                // The characters that depend on the text alone.
                let inner = &encoded[(shift * 4).div_ceil(3) + 1..encoded.len() - 4];
                traces.push(inner.to_string());
            }
        }
    }
    traces
}

/// The tokens in a person's mails: every link's `t=`, and the VERP address.
fn tokens_in(project: &Project, email: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for file in files_under(project.dir.path()) {
        if !file.file_name().unwrap().to_string_lossy().starts_with(email) {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("=\r\n", "")
            .replace("=\n", "");
        for (at, _) in text.match_indices("t=") {
            let token: String = text[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if token.len() >= 16 {
                tokens.push(token);
            }
        }
        if let Some(line) = text.lines().find(|l| l.starts_with("Return-Path: <")) {
            let verp = line["Return-Path: <".len()..].split('@').next().unwrap();
            if let Some((_, token)) = verp.split_once('+') {
                tokens.push(token.to_string());
            }
        }
    }
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The files under the project that show one of `traces`: every file but
/// the two the test itself wrote (the CSV it imported, serve's stderr).
fn files_showing(project: &Project, traces: &[String]) -> Vec<String> {
    let mut showing = Vec::new();
    for file in files_under(project.dir.path()) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name == "subscribers.csv" || name == "serve.log" {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let lower = text.to_lowercase();
        for trace in traces {
            if lower.contains(trace.as_str()) || text.contains(trace.as_str()) {
                showing.push(format!("{}: {trace}", file.display()));
            }
        }
    }
    showing
}

/// Issue 25, item 7: an erasure, by the operator or by the person on the
/// preference page, leaves no file under the project that names them:
/// their edition mails, a test copy sent to them, their confirmation
/// mail, their unsubscribe kept in the spool while the store was busy,
/// and the store itself show neither their address, their name nor a
/// token of theirs, in any encoding the mail used. Their links then open
/// on nothing.
#[test]
fn an_erasure_leaves_no_file_that_names_the_person() {
    let project = mailed();
    send(&project, "about-japan");
    project
        .run(&["send", "--newsletter", "about-japan", "--to", "jane@example.de"])
        .assert_code(0);
    assert!(
        project
            .path("out/mail/test/about-japan/1/jane@example.de.eml")
            .exists()
    );
    let serve = Server::serve_at(&project, "2026-12-02T08:00:00Z");
    for (email, name, organisation) in [
        ("jane@example.de", "Jane Signup", "Acme GmbH"),
        ("other@example.nl", "Otto Signup", "Other BV"),
    ] {
        let (status, page) = sign_up(&serve, email, &[("name", name), ("organisation", organisation)]);
        assert_eq!(status, 200, "{page}");
        assert!(confirmation_mail(&project, email).is_some(), "{email}");
    }
    // Jane's one-click unsubscribe while another process holds the store:
    // kept in the spool, and serve killed before the store is free.
    let jane_tokens = tokens_in(&project, "jane@example.de");
    let eml = project.read("out/mail/about-japan/1/jane@example.de.eml");
    let unsubscribe = eml
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .map(|l| l.split('>').next().unwrap().to_string())
        .unwrap_or_else(|| panic!("a List-Unsubscribe link:\n{eml}"));
    let target = &unsubscribe[unsubscribe.find("/unsubscribe").unwrap()..];
    let holder = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (status, page) = serve.post(target, &[("List-Unsubscribe", "One-Click")], &[]);
    assert_eq!(status, 503, "{page}");
    drop(serve);
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    assert!(
        project
            .read("bulletin.sqlite.unsubscribes")
            .contains("jane@example.de")
    );
    let jane = traces(
        &["jane@example.de", "Jane Doe", "Jane Signup", "Acme GmbH"],
        &jane_tokens,
    );
    assert!(jane_tokens.len() >= 3, "{jane_tokens:?}");
    assert!(
        files_showing(&project, &jane).len() >= 5,
        "the files to erase are there"
    );

    let erased = project.run(&["subscribers", "erase", "jane@example.de"]);
    erased
        .assert_code(0)
        .assert_stdout_has("4 mail files written to them, 1 unsubscribe kept aside");
    assert_eq!(files_showing(&project, &jane), Vec::<String>::new());

    // Otto erases himself on the preference page.
    let otto_tokens = tokens_in(&project, "other@example.nl");
    let eml = project.read("out/mail/eu-japan-news/1/other@example.nl.eml");
    let html = html_part(&eml);
    let start = html.find(&format!("{PUBLIC}/preferences?t=")).unwrap() + PUBLIC.len();
    let preferences = &html[start..start + html[start..].find('"').unwrap()];
    let serve = Server::serve_at(&project, "2026-12-02T09:00:00Z");
    // While a command (a send) holds the run lock: come back later.
    let held = std::fs::File::create(project.path("bulletin.sqlite.lock")).unwrap();
    held.lock().unwrap();
    let (status, page) = serve.post(preferences, &[("action", "erase-confirmed")], &[]);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("try again in a few minutes"), "{page}");
    assert!(
        project
            .path("out/mail/eu-japan-news/1/other@example.nl.eml")
            .exists()
    );
    drop(held);
    let (status, page) = serve.post(preferences, &[("action", "erase-confirmed")], &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are erased"), "{page}");
    let (status, page) = serve.post(preferences, &[("action", "export")], &[]);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("We hold nothing about you"),
        "no file to download: {page}"
    );
    drop(serve);
    let otto = traces(
        &["other@example.nl", "Otto Other", "Otto Signup", "Other BV"],
        &otto_tokens,
    );
    assert_eq!(files_showing(&project, &otto), Vec::<String>::new());
}

/// Issue 25, item 8: someone else signs Jane's address up, typing a name
/// and an organisation; Jane's download (and the operator's export of her)
/// shows that a sign-up was asked for, not what the other person typed,
/// and no client address of anyone. A person who signed up and confirmed
/// sees their consents without the client address either.
#[test]
fn an_export_shows_neither_what_a_third_party_typed_nor_any_client_address() {
    let project = mailed();
    let link = preference_link(&project, "eu-japan-news");
    let target = link.strip_prefix(PUBLIC).unwrap().to_string();
    let serve = Server::serve_at(&project, "2026-12-02T08:00:00Z");
    let (status, page) = sign_up(
        &serve,
        "jane@example.de",
        &[
            ("name", "Mallory Typed"),
            ("organisation", "Evil Corp"),
            ("country", "FR"),
        ],
    );
    assert_eq!(status, 200, "{page}");
    let (status, page) = sign_up(&serve, "taro@example.jp", &[("name", "Taro Self")]);
    assert_eq!(status, 200, "{page}");
    let mail = confirmation_mail(&project, "taro@example.jp").expect("a confirmation mail");
    let token = token(&confirm_target(&mail));
    let (status, page) = serve.post("/subscribe/confirm", &[("t", &token)], &[]);
    assert_eq!(status, 200, "{page}");
    let (status, downloaded) = serve.post(&target, &[("action", "export")], &[]);
    assert_eq!(status, 200, "{downloaded}");
    drop(serve);

    let operator = project
        .run(&["subscribers", "export", "jane@example.de", "--format", "json"])
        .assert_code(0)
        .stdout
        .clone();
    for export in [downloaded.as_str(), operator.as_str()] {
        let json: serde_json::Value = serde_json::from_str(export).unwrap();
        let signup = &json["tables"]["signups"][0];
        assert_eq!(
            signup["email"], "jane@example.de",
            "the sign-up is shown: {export}"
        );
        assert!(signup["newsletters"].is_string(), "{export}");
        for typed in ["Mallory", "Evil Corp", "\"FR\"", "127.0.0.1", "\"client\""] {
            assert!(!export.contains(typed), "{typed} in Jane's export: {export}");
        }
        assert_eq!(
            json["tables"]["signup_mails"].as_array().unwrap().len(),
            1,
            "{export}"
        );
        assert_eq!(
            json["tables"]["subscribers"][0]["name"], "Jane Doe",
            "her own: {export}"
        );
    }
    let taro = project
        .run(&["subscribers", "export", "taro@example.jp", "--format", "json"])
        .assert_code(0)
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_str(&taro).unwrap();
    assert_eq!(
        json["tables"]["subscribers"][0]["name"], "Taro Self",
        "confirmed: {taro}"
    );
    let consents = json["tables"]["consents"].as_array().unwrap();
    assert!(
        !consents.is_empty() && consents.iter().all(|c| c["method"] == "form"),
        "{taro}"
    );
    assert!(
        !taro.contains("127.0.0.1") && !taro.contains("\"client\""),
        "{taro}"
    );
    assert!(
        !taro.contains("\"source\""),
        "a form consent's source is a client address: {taro}"
    );
}

/// Issue 30, "must show": a reader signs up for EU-Japan NEWS on the form,
/// confirms from the mail smtp-sink took, gets an edition, follows its
/// footer's preference link in Chromium and adds "About Japan": their
/// export holds a consent record for it, as for the form's newsletter.
#[test]
fn a_newsletter_added_in_the_preference_centre_has_its_consent_record_in_the_export() {
    use crate::common::mail::with_mail;
    use crate::common::signup::form;
    use crate::common::sink::Sink;
    if !browser_tools() {
        return;
    }
    let Some(sink) = Sink::start(&[]) else { return };
    let project = Project::bundled();
    with_mail(&project, sink.port, "");
    let served = Server::serve(&project, &[]);
    let fields: Vec<(&str, &str)> = form("reader@example.de", &[])
        .into_iter()
        .filter(|&(_, value)| value != "about-japan")
        .collect();
    let (status, page) = served.post("/subscribe", &fields, &[]);
    assert_eq!(status, 200, "{page}");
    sink.wait_for_messages(1);
    crate::common::signup::mailed(&project);
    let target = confirm_target(&sink.messages()[0]);
    let (status, page) = served.post("/subscribe/confirm", &[("t", &token(&target))], &[]);
    assert_eq!(status, 200, "{page}");

    project.fetch_and_build(&["--date", DATE]);
    send(&project, "eu-japan-news");
    let edition = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("List-Unsubscribe-Post"))
        .expect("the edition went through smtp-sink");
    let text = mail_part(&edition, "text/plain");
    let public = "https://news.eu-japan.eu";
    let start = text
        .find(&format!("{public}/preferences?t="))
        .unwrap_or_else(|| panic!("no preference link in the footer:\n{text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let local = served.link(link.strip_prefix(public).unwrap());
    let shots = repo().join("target/screenshots");
    let report = node(
        "preferences.mjs",
        &[
            &local,
            shots.to_str().unwrap(),
            "choose",
            "Jane Doe",
            "+About Japan",
        ],
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    drop(served);

    let export = project
        .run(&["subscribers", "export", "reader@example.de", "--format", "json"])
        .assert_code(0)
        .json();
    let consents = export["tables"]["consents"].as_array().unwrap();
    let about = consents
        .iter()
        .find(|c| c["newsletter"] == "about-japan")
        .unwrap_or_else(|| panic!("no consent for About Japan: {export}"));
    assert_eq!(about["method"], "preferences", "{export}");
    assert!(about["at"].as_str().unwrap().ends_with('Z'), "{export}");
    let form = consents
        .iter()
        .find(|c| c["newsletter"] == "eu-japan-news" && c["method"] == "form")
        .unwrap_or_else(|| panic!("the form's consent: {export}"));
    assert!(
        about["consent_version"].is_string() && about["consent_version"] == form["consent_version"],
        "the consent text's version, as the form's: {export}"
    );
    assert!(
        !export.to_string().contains("127.0.0.1"),
        "no client address in an export: {export}"
    );
    for subscription in export["tables"]["subscriptions"].as_array().unwrap() {
        assert!(subscription.get("consent").is_none(), "recorded: {export}");
    }
}

/// A subscription from before every way of subscribing recorded a consent
/// (here: its consent row gone, as a store of then has none) says so in the
/// export; nothing is made up for it.
#[test]
fn an_export_says_when_a_subscription_has_no_consent_record_rather_than_inventing_one() {
    let project = mailed();
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    store
        .execute(
            "DELETE FROM consents WHERE email = 'jane@example.de' AND newsletter = 'tech-transfer'",
            [],
        )
        .unwrap();
    drop(store);
    let export = project
        .run(&["subscribers", "export", "jane@example.de", "--format", "json"])
        .assert_code(0)
        .json();
    for subscription in export["tables"]["subscriptions"].as_array().unwrap() {
        let note = subscription.get("consent").and_then(|c| c.as_str());
        if subscription["newsletter"] == "tech-transfer" {
            assert!(
                note.is_some_and(|n| n.starts_with("not recorded") && n.contains("is not known")),
                "{export}"
            );
        } else {
            assert_eq!(note, None, "{export}");
        }
    }
}

/// Issue 30, item 4: the "You are unsubscribed" page offers the ways back:
/// the person's own preference centre, and the form to subscribe again.
#[test]
fn the_unsubscribed_page_links_to_the_preference_centre_and_to_subscribing_again() {
    let project = mailed();
    let eml = project.read("out/mail/eu-japan-news/1/jane@example.de.eml");
    let text = mail_part(&eml, "text/plain");
    let start = text
        .find(&format!("{PUBLIC}/unsubscribe?t="))
        .unwrap_or_else(|| panic!("no unsubscribe link:\n{text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let (served, target) = serve(&project, &link);
    let (status, page) = served.post(&target, &[], &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>You are unsubscribed</h1>"), "{page}");
    assert!(
        page.contains(&format!("<a href=\"{PUBLIC}/subscribe\">Subscribe again</a>")),
        "{page}"
    );
    let start = page
        .find(&format!("<a href=\"{PUBLIC}/preferences?t="))
        .unwrap_or_else(|| panic!("no link to the preference centre: {page}"))
        + "<a href=\"".len();
    let preferences = &page[start..start + page[start..].find('"').unwrap()];
    let (status, centre) = served.get(preferences.strip_prefix(PUBLIC).unwrap());
    assert_eq!(status, 200, "{centre}");
    assert!(centre.contains("<h1>Your preferences</h1>"), "{centre}");
    assert!(centre.contains("jane@example.de"), "their own: {centre}");
}
