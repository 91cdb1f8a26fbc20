//! Subscriber CSV files as operators have them on day one: separated by
//! `;`, saved as Windows-1252, with a BOM, the same address in two cases;
//! and a store from before addresses were compared without case.

use crate::common::mail::{import_file, importing};
use crate::common::{Project, files_under};

const HEADER: &str = "email,name,organisation,organisation_type,country,newsletters,consent_date";

/// The subscribers `subscribers list` shows, by address.
fn listed(project: &Project) -> Vec<serde_json::Value> {
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    list.as_array().unwrap().clone()
}

fn find<'a>(list: &'a [serde_json::Value], email: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|s| s["email"] == email)
        .unwrap_or_else(|| panic!("{email} not listed: {list:?}"))
}

#[test]
fn a_semicolon_file_with_quoted_separators_and_a_bom_is_read() {
    let csv = format!(
        "\u{feff}{}\r\n\
         anna@example.de;\"Anna; Maria\";\"Acme, GmbH\";company;DE;\"eu-japan-news;about-japan\";2025-01-10\r\n\
         bo@example.se;Bo;Org AB;organisation;SE;tech-transfer;2025-01-11\r\n",
        HEADER.replace(',', ";")
    );
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(0)
        .assert_stdout_has("2 rows imported (2 new, 0 updated), 0 rejected");
    let list = listed(&project);
    let anna = find(&list, "anna@example.de");
    assert_eq!(anna["name"], "Anna; Maria");
    assert_eq!(anna["organisation"], "Acme, GmbH");
    assert_eq!(
        anna["newsletters"],
        serde_json::json!(["about-japan", "eu-japan-news"])
    );
    assert_eq!(find(&list, "bo@example.se")["country"], "SE");
}

#[test]
fn an_unquoted_semicolon_in_a_semicolon_file_says_how_to_fix_it() {
    let csv = format!(
        "{}\nanna@example.de;Anna;Acme;company;DE;eu-japan-news;about-japan;2025-01-10\n",
        HEADER.replace(',', ";")
    );
    let (_project, run) = import_file(csv.as_bytes());
    run.assert_code(3)
        .assert_stderr_has("subscribers.csv:2: 8 field(s); the header has 7")
        .assert_stderr_has("this file is separated by ';'");
}

#[test]
fn a_windows_1252_file_is_read_with_its_accents() {
    let text = format!(
        "{HEADER}\nrene@example.fr,René Müller,Straße & Café SARL,company,FR,eu-japan-news,2025-01-10\n"
    );
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture is not UTF-8");
    let (project, run) = import_file(&bytes);
    run.assert_code(0)
        .assert_stderr_has("not UTF-8: read as Windows-1252");
    let list = listed(&project);
    let rene = find(&list, "rene@example.fr");
    assert_eq!(rene["name"], "René Müller");
    assert_eq!(rene["organisation"], "Straße & Café SARL");
}

#[test]
fn addresses_differing_only_in_case_are_one_subscriber() {
    let csv = format!(
        "{HEADER}\n\
         GOOD@EXAMPLE.NL,Good One,Org,company,NL,eu-japan-news,2025-01-10\n\
         good@example.nl,Good One,Org,company,NL,about-japan,2025-01-10\n"
    );
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(0)
        .assert_stdout_has("2 rows imported (1 new, 1 updated)");
    project
        .run(&[
            "subscribers",
            "unsubscribe",
            "Good@Example.nl",
            "--newsletter",
            "about-japan",
        ])
        .assert_code(0);
    let list = listed(&project);
    assert_eq!(list.len(), 1, "{list:?}");
    let good = find(&list, "good@example.nl");
    assert_eq!(good["newsletters"], serde_json::json!(["eu-japan-news"]));
    assert_eq!(good["unsubscribed"], serde_json::json!(["about-japan"]));
}

/// A store written when the local part kept its case may hold one person
/// twice; the migration merges them, keeping every unsubscribe and bounce.
#[test]
fn a_store_with_case_duplicates_is_merged_when_opened() {
    let csv = format!("{HEADER}\nother@example.de,Other,Org,company,DE,eu-japan-news,2025-01-10\n");
    let project = importing(csv.as_bytes());
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0);
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    store
        .execute_batch(
            "INSERT INTO subscribers (email, name, organisation, organisation_type, country, consent, hard_bounces, updated)
             VALUES ('Good@example.nl', 'Old Name', 'Org', 'company', 'NL', '2024-01-01', 1, '2025-01-01T00:00:00+00:00'),
                    ('good@example.nl', 'New Name', 'Org', 'company', 'NL', '2025-01-01', 1, '2025-06-01T00:00:00+00:00');
             INSERT INTO subscriptions (email, newsletter, unsubscribed) VALUES
                    ('Good@example.nl', 'about-japan', '2025-02-01T00:00:00+00:00'),
                    ('Good@example.nl', 'eu-japan-news', NULL),
                    ('good@example.nl', 'about-japan', NULL),
                    ('good@example.nl', 'tech-transfer', NULL);
             INSERT INTO deliveries (newsletter, number, email, message_id, status, attempts, updated) VALUES
                    ('eu-japan-news', 1, 'Good@example.nl', '<a@x>', 'sent', 1, '2025-03-01T00:00:00+00:00');",
        )
        .unwrap();
    // The store as the bulletin before the merge (migration 8) left it;
    // the migrations after it are run again too, and must allow that.
    store.pragma_update(None, "user_version", 7).unwrap();
    drop(store);
    let list = listed(&project);
    assert_eq!(list.len(), 2, "{list:?}");
    let good = find(&list, "good@example.nl");
    assert_eq!(good["name"], "New Name", "the latest details are kept");
    assert_eq!(
        good["newsletters"],
        serde_json::json!(["eu-japan-news", "tech-transfer"])
    );
    assert_eq!(
        good["unsubscribed"],
        serde_json::json!(["about-japan"]),
        "an unsubscribe is never lost"
    );
    assert_eq!(good["hard_bounces"], 2, "bounces add up");
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let delivered: String = store
        .query_row("SELECT email FROM deliveries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(delivered, "good@example.nl", "the delivery log follows the merge");
}

/// `[site] subscribe_url` puts a sign-up link in every mail's footer (HTML
/// and text), on the edition pages and on the archive index; unset, none.
#[test]
fn the_sign_up_link_is_in_the_footer_and_the_archive_only_when_set() {
    use crate::common::mail::project;
    use crate::common::sink::Sink;
    let csv = format!("{HEADER}\nanna@example.de,Anna,Acme,company,DE,eu-japan-news,2025-01-10\n");
    let url = "https://news.eu-japan.eu/join-us";
    let archive = |project: &Project| {
        let mut pages = String::new();
        for entry in files_under(&project.path("out/archive")) {
            if entry.extension().is_some_and(|e| e == "html" || e == "txt") {
                pages.push_str(&std::fs::read_to_string(&entry).unwrap());
            }
        }
        pages
    };
    let Some(sink) = Sink::start(&[]) else { return };
    let unset = project(sink.port, "", &csv);
    unset.edit_config(
        "subscribe_url = \"https://newsletters.eu-japan.eu/subscribe\"\n",
        "",
    );
    unset.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert!(!sink.messages().is_empty());
    for message in sink.messages() {
        assert!(
            !message.contains("join-us") && !message.contains("Subscribe"),
            "{message}"
        );
    }
    assert!(!archive(&unset).contains("join-us"));

    let Some(sink) = Sink::start(&[]) else { return };
    let set = project(sink.port, "", &csv);
    set.edit_config(
        "subscribe_url = \"https://newsletters.eu-japan.eu/subscribe\"",
        &format!("subscribe_url = \"{url}\""),
    );
    set.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let messages = sink.messages();
    assert!(!messages.is_empty());
    for message in &messages {
        let unwrapped = message
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        assert!(
            unwrapped.contains(&format!("href=\"{url}\"")),
            "HTML link: {message}"
        );
        assert!(
            unwrapped.contains(&format!("Subscribe: {url}")),
            "text link: {message}"
        );
    }
    let index = std::fs::read_to_string(set.path("out/archive/index.html")).unwrap();
    assert!(index.contains(&format!("href=\"{url}\"")), "{index}");
    let pages = archive(&set);
    assert!(pages.contains(&format!("Subscribe: {url}")), "the text pages");
}
