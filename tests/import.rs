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
    let csv = format!("{HEADER}\nGOOD@EXAMPLE.NL,Good One,Org,company,NL,eu-japan-news,2025-01-10\n");
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(0);
    project.write(
        "again.csv",
        &format!("{HEADER}\ngood@example.nl,Good One,Org,company,NL,about-japan,2025-01-10\n"),
    );
    project
        .run(&["subscribers", "import", "again.csv"])
        .assert_code(0)
        .assert_stdout_has("1 rows imported (0 new, 1 updated)");
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

/// Issue 30: a list as a spreadsheet in Europe saves it: `;`, headers in
/// capitals with spaces, dates day first with slashes, and one person
/// twice under two spellings of their address.
#[test]
fn a_spreadsheet_list_with_capital_headers_and_slash_dates_imports_each_person_once() {
    let csv = "Email;Name;Organisation;Organisation Type;Country;Newsletters;Consent Date\r\n\
               jane@example.de;Jane Doe;Acme GmbH;Company;DE;eu-japan-news;10/01/2025\r\n\
               taro@example.jp;Yamada Taro;Example KK;company;JP;eu-japan-news;02.03.2025\r\n\
               Jane@EXAMPLE.de;Jane Again;Other GmbH;company;DE;tech-transfer;11/01/2025\r\n";
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(3)
        .assert_stderr_has(
            "subscribers.csv:4: jane@example.de: the same address as line 2 (addresses are compared as \
             the store keys them",
        )
        .assert_stderr_has("line 2 is imported, this row is not")
        .assert_stdout_has("subscribers.csv: dates with slashes read as DD/MM/YYYY (--slash-dates)")
        .assert_stdout_has(
            "2 rows imported (2 new, 0 updated), 1 rejected, 0 erased (suppressed), 0 imported without EU-only",
        );
    let list = listed(&project);
    assert_eq!(list.len(), 2, "{list:?}");
    let jane = find(&list, "jane@example.de");
    assert_eq!(jane["name"], "Jane Doe", "the first row, as the report says");
    assert_eq!(jane["consent"], "2025-01-10", "day first");
    assert_eq!(jane["newsletters"], serde_json::json!(["eu-japan-news"]));
    assert_eq!(find(&list, "taro@example.jp")["consent"], "2025-03-02");
}

/// Headers under other names (aliases, `--map`), a tab-separated file, and
/// the date order: month first when asked, and a date impossible in the
/// order asked refused with the option that reads it, never turned round.
#[test]
fn aliases_map_tabs_and_the_slash_date_order_are_the_operators_never_a_guess() {
    let csv = "E-mail\tFull Name\tCompany\tType\tCountry Code\tNewsletter\tDatum\n\
               anna@example.de\tAnna\tAcme\tcompany\tDE\teu-japan-news\t01/25/2025\n\
               bo@example.se\tBo\tOrg AB\torganisation\tSE\ttech-transfer\t12/01/2025\n";
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(1).assert_stderr_has(
        "the header line has no `consent_date` column (it has: E-mail, Full Name, Company",
    );
    let map = [
        "subscribers",
        "import",
        "subscribers.csv",
        "--map",
        "datum=consent_date",
    ];
    project.run(&map).assert_code(3).assert_stderr_has(
        "subscribers.csv:2: consent_date \"01/25/2025\": not a date read DD/MM/YYYY; a file that writes \
             the other way round needs --slash-dates month-first",
    );
    assert_eq!(find(&listed(&project), "bo@example.se")["consent"], "2025-01-12");
    let month_first = [&map[..], &["--slash-dates", "month-first"]].concat();
    project
        .run(&month_first)
        .assert_code(0)
        .assert_stdout_has("dates with slashes read as MM/DD/YYYY");
    let list = listed(&project);
    assert_eq!(find(&list, "anna@example.de")["consent"], "2025-01-25");
    assert_eq!(find(&list, "anna@example.de")["organisation"], "Acme");
    assert_eq!(find(&list, "bo@example.se")["consent"], "2025-12-01");
    project
        .run(&[
            "subscribers",
            "import",
            "subscribers.csv",
            "--map",
            "Datum=birthday",
        ])
        .assert_code(2)
        .assert_stderr_has("\"birthday\" is no column");
}

/// The EU-only newsletters are refused to a row as the sign-up form
/// refuses them, with its reason; the row keeps its other newsletters, and
/// a row left with none is refused. An address whose domain has no dot is
/// refused with its line.
#[test]
fn eu_only_newsletters_are_refused_to_a_row_as_the_form_refuses_them_and_a_dotless_domain_is_refused() {
    let csv = format!(
        "{HEADER}\n\
         taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news;about-japan,2025-02-01\n\
         solo@example.fr,Solo Reader,,individual,FR,about-japan,2025-03-01\n\
         hanna@example,Hanna,Acme,company,DE,eu-japan-news,2025-03-01\n\
         anna@example.de,Anna,Acme,company,DE,about-japan;tax-procurement,2025-03-01\n"
    );
    let (project, run) = import_file(csv.as_bytes());
    run.assert_code(3)
        .assert_stderr_has(
            "subscribers.csv:2: taro@example.jp: not subscribed: newsletters \"about-japan\": \"About Japan\" \
             e-News is for companies and organisations in the EU-27 only, not for those outside the EU-27",
        )
        .assert_stderr_has(
            "subscribers.csv:3: newsletters \"about-japan\": \"About Japan\" e-News is for companies and \
             organisations in the EU-27 only, not for individuals",
        )
        .assert_stderr_has("subscribers.csv:4: email \"hanna@example\": the domain \"example\" has no dot")
        .assert_stdout_has(
            "2 rows imported (2 new, 0 updated), 2 rejected, 0 erased (suppressed), 1 imported without EU-only",
        );
    let list = listed(&project);
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        find(&list, "taro@example.jp")["newsletters"],
        serde_json::json!(["eu-japan-news"])
    );
    assert_eq!(
        find(&list, "anna@example.de")["newsletters"],
        serde_json::json!(["about-japan", "tax-procurement"])
    );
}

/// After an erasure the suppression list needs the signing key to tell an
/// erased address: only a row of an address that is not a subscriber asks
/// for it. Without the key such a row is refused saying so; a subscriber's
/// row is imported, and a file of subscribers needs no key at all.
#[test]
fn after_an_erasure_an_import_asks_the_signing_key_only_for_new_addresses() {
    let csv = format!(
        "{HEADER}\n\
         jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n\
         otto@example.nl,Otto,Other BV,company,NL,eu-japan-news,2025-01-10\n"
    );
    let project = importing(csv.as_bytes());
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0);
    project
        .run(&["subscribers", "erase", "otto@example.nl"])
        .assert_code(0);
    let without_key = |file: &str| {
        crate::common::Run::from(
            project
                .command(&["subscribers", "import", file])
                .env_remove(crate::common::KEY_ENV)
                .output()
                .unwrap(),
        )
    };
    project.write(
        "known.csv",
        &format!("{HEADER}\njane@example.de,Jane Q. Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n"),
    );
    without_key("known.csv")
        .assert_code(0)
        .assert_stdout_has("1 rows imported (0 new, 1 updated");
    project.write(
        "new.csv",
        &format!(
            "{HEADER}\njane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n\
             otto@example.nl,Otto,Other BV,company,NL,eu-japan-news,2025-01-10\n"
        ),
    );
    without_key("new.csv")
        .assert_code(3)
        .assert_stderr_has("new.csv:3: otto@example.nl: not imported: 1 erased address(es) are suppressed, and telling them needs the signing key")
        .assert_stdout_has("1 rows imported (0 new, 1 updated");
    let list = listed(&project);
    assert_eq!(list.len(), 1, "the erased person is not back: {list:?}");
    assert_eq!(list[0]["name"], "Jane Doe");
}
