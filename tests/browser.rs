//! `bulletin preview` in a real browser: Debian's Chromium, headless, driven
//! by playwright-core (`tests/browser/check.mjs`). Screenshots of every
//! edition at 600 px and 375 px are kept in `target/screenshots/`. Every
//! page a reader can see is checked by axe-core (`tests/browser/axe.mjs`).

use bulletin::audience::{Key, sign};

use crate::common::browser::{assert_no_serious_violations, browser_tools, node};
use crate::common::draft::{NEWS, READERS, build_a_draft, reviewing, shown_items};
use crate::common::mail::with_mail;
use crate::common::message::{escaped, html_part};
use crate::common::server::Server;
use crate::common::sink::Sink;
use crate::common::{KEY, NEWSLETTERS, Project, repo};

const SUBSCRIBERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer,2025-01-10
solo@example.fr,Solo Reader,,individual,FR,about-japan,2025-03-01
";

#[test]
fn every_edition_reads_well_in_chromium_at_600_and_375_px() {
    if !browser_tools() {
        return;
    }
    let project = Project::bundled();
    project.import_from_before(SUBSCRIBERS);
    project.run(&["fetch"]).assert_code(0);
    let preview = Server::preview(&project, &[]);
    let home = preview.url();
    let shots = repo().join("target/screenshots");
    let report = node(
        "check.mjs",
        &[
            home.as_str(),
            shots.to_str().unwrap(),
            "jane@example.de",
            "Dear Jane Doe,",
            "solo@example.fr",
            "about-japan",
            project.path("config.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "what a reader would notice"
    );
    assert_eq!(
        report["screenshots"].as_array().unwrap().len(),
        10,
        "five editions at two widths"
    );
    assert!(report["pages"].as_u64().unwrap() >= 20);
    for shot in report["screenshots"].as_array().unwrap() {
        assert!(
            std::fs::metadata(shot.as_str().unwrap()).unwrap().len() > 10_000,
            "{shot} is a real picture"
        );
    }
}

#[test]
fn the_preview_rebuilds_when_a_feed_changes() {
    let project = Project::bundled();
    project.run(&["fetch"]).assert_code(0);
    let preview = Server::preview(&project, &[]);
    let get = |path: &str| preview.get(path).1;
    assert_eq!(get("__version"), "1");
    assert!(!get("n/tech-transfer.html").contains("Quantum sensing call"));
    project.write(
        "feeds/local/events/quantum.md",
        "+++\ntitle = \"Quantum sensing call for EU-Japan research teams\"\nlink = \"https://ex.example/q\"\npublished = 2026-11-22\nstart = 2026-12-10\nplace = \"Online\"\ncategories = [\"research\"]\n+++\nA research call.\n",
    );
    let start = std::time::Instant::now();
    while get("__version") == "1" {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no rebuild after the change"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        get("n/tech-transfer.html").contains("Quantum sensing call"),
        "the new event is in the preview"
    );
    assert!(!project.path("out").exists(), "nothing is written");
    let editions = project.editions();
    assert_eq!(editions, serde_json::json!([]), "nothing is recorded");
}

/// The bundled project, with its subscribers and the test signing key.
fn subscribed_project() -> Project {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.import_from_before(SUBSCRIBERS);
    project
}

#[test]
fn every_page_a_reader_sees_passes_axe_in_light_and_dark() {
    if !browser_tools() {
        return;
    }
    // The preview shows the editions due, so it reads a store no build has
    // published them from: the archive is built in a second project.
    let (previewed, project) = (subscribed_project(), subscribed_project());
    previewed.run(&["fetch"]).assert_code(0);
    let preview = Server::preview(&previewed, &[]);
    let home = preview.url();
    project.fetch_and_build(&["--date", "2026-11-23"]);
    let serve = Server::serve(&project, &[]);
    let unsubscribe = serve.url();
    let file = |path: &str| format!("file://{}", project.path(path).display());
    let mut pages = vec![
        serde_json::json!({"name": "preview index", "url": home}),
        serde_json::json!({"name": "archive: out/index.html", "url": file("out/index.html")}),
        serde_json::json!({"name": "archive: out/archive/index.html", "url": file("out/archive/index.html")}),
    ];
    for id in NEWSLETTERS {
        pages.extend([
            serde_json::json!({"name": format!("{id}: edition page"), "url": file(&format!("out/archive/{id}/2026-11-23.html"))}),
            serde_json::json!({"name": format!("{id}: mail, as jane@example.de"), "url": format!("{home}mail/{id}?as=jane%40example.de")}),
            serde_json::json!({"name": format!("{id}: preview, notice"), "url": format!("{home}n/{id}.html?as=solo%40example.fr")}),
            serde_json::json!({"name": format!("{id}: archive index"), "url": file(&format!("out/archive/{id}/index.html"))}),
        ]);
    }
    let token = sign(
        &Key::new(KEY.as_bytes().to_vec()).unwrap(),
        "jane@example.de",
        "about-japan",
    );
    pages.extend([
        serde_json::json!({"name": "unsubscribe: confirm", "url": format!("{unsubscribe}?t={token}")}),
        serde_json::json!({"name": "unsubscribe: done", "url": format!("{unsubscribe}?t={token}"), "click": "button[type=submit]"}),
        serde_json::json!({"name": "unsubscribe: invalid link", "url": format!("{unsubscribe}?t=forged")}),
    ]);
    project.write("pages.json", &serde_json::Value::Array(pages).to_string());
    let report = node("axe.mjs", &[project.path("pages.json").to_str().unwrap()]);
    let results = report["results"].as_array().unwrap();
    println!("axe-core (wcag2a, wcag2aa, wcag21a, wcag21aa): violations by impact, per page and scheme");
    println!(
        "{:<44} {:<6} {:>8} {:>8} {:>8} {:>8}",
        "page", "scheme", "critical", "serious", "moderate", "minor"
    );
    for r in results {
        let count = |impact: &str| r["counts"][impact].as_u64().unwrap();
        println!(
            "{:<44} {:<6} {:>8} {:>8} {:>8} {:>8}",
            r["name"].as_str().unwrap(),
            r["scheme"].as_str().unwrap(),
            count("critical"),
            count("serious"),
            count("moderate"),
            count("minor")
        );
    }
    for problem in report["problems"].as_array().unwrap() {
        println!("problem: {}", problem.as_str().unwrap());
    }
    assert_eq!(results.len(), 2 * (3 + 4 * 5 + 3), "every page, light and dark");
    assert_no_serious_violations(results);
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "Japanese text marked lang=\"ja\", and only it; layout tables only"
    );
}

/// Issue 17, item 3: an editor drops an item and approves, by clicking in
/// the review page (JavaScript off); the send then mails the edition
/// without it, and with every other item.
#[test]
fn an_editor_drops_an_item_and_approves_in_chromium_and_the_mail_lacks_it() {
    if !browser_tools() {
        return;
    }
    let Some(sink) = Sink::start(&[]) else { return };
    let project = Project::bundled_as_shipped();
    with_mail(&project, sink.port, "");
    build_a_draft(&project, READERS);
    let items = shown_items(&project, NEWS);
    assert!(items.len() >= 3, "a draft worth reviewing: {items:?}");
    let (_, dropped) = &items[1];
    let preview = reviewing(&project);
    let shots = repo().join("target/screenshots");
    let report = node(
        "review.mjs",
        &[
            preview.url().as_str(),
            shots.to_str().unwrap(),
            NEWS,
            dropped,
            "Dear Jane Doe,",
        ],
    );
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "what the editor would notice"
    );
    assert!(
        report["state"]
            .as_str()
            .unwrap()
            .starts_with("Approved by Keiko Editor on"),
        "{report}"
    );
    let screenshots = report["screenshots"].as_array().unwrap();
    assert_eq!(screenshots.len(), 3);
    for shot in screenshots {
        assert!(
            std::fs::metadata(shot.as_str().unwrap()).unwrap().len() > 10_000,
            "{shot} is a real picture"
        );
    }
    drop(preview);

    let send = project.run(&["send", "--newsletter", NEWS]);
    send.assert_code(0);
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{}", send.stdout);
    for message in &messages {
        let html = html_part(message);
        assert!(
            !html.contains(&escaped(dropped)),
            "the dropped item is not mailed"
        );
        for (_, title) in items.iter().filter(|(_, t)| t != dropped) {
            assert!(html.contains(&escaped(title)), "{title} is mailed");
        }
    }
}

/// Issue 19, sections 1 and 2, the whole path a reader takes, in Chromium
/// at 375 px against `serve`: the form, the confirmation mail read from the
/// file transport, the link's page opened by a scanner running scripts
/// (nothing confirmed) and confirmed by a person's click, the next
/// editions delivered to the new subscriber, their footer's preference link
/// (a newsletter left, one chosen, the name corrected: the editions after
/// follow), and their unsubscribe link.
#[test]
fn a_reader_signs_up_confirms_in_one_click_receives_changes_preferences_and_unsubscribes_in_chromium() {
    use crate::common::signup::{confirm_target, confirmation_mail, sign_up, signup_project};
    if !browser_tools() {
        return;
    }
    let project = signup_project();
    let serve = Server::serve_at(&project, "2026-11-23T08:00:00Z");
    let shots = repo().join("target/screenshots");
    let shots = shots.to_str().unwrap();
    let form = format!("{}/subscribe", serve.base());
    let step = |args: &[&str]| {
        let report = node("signup.mjs", args);
        assert_eq!(
            report["problems"],
            serde_json::json!([]),
            "{args:?}: what a reader would notice"
        );
        report
    };
    step(&["refused", &form, shots, "solo@example.de"]);
    assert!(confirmation_mail(&project, "solo@example.de").is_none());
    step(&["form", &form, shots, "reader@example.de"]);
    let mail = confirmation_mail(&project, "reader@example.de").expect("the confirmation mail");
    assert!(
        project.subscribers().is_empty(),
        "nobody before the link is followed"
    );
    let link = format!("{}{}", serve.base(), confirm_target(&mail));
    // A mail gateway's scanner opens the link and runs its scripts.
    let report = step(&["scan", &link, shots]);
    assert_eq!(report["posted"], serde_json::json!([]), "the page posted nothing");
    assert!(
        project.subscribers().is_empty(),
        "a browser opening the link confirms nothing"
    );
    let report = step(&[
        "confirm",
        &link,
        shots,
        "You are subscribed",
        "signup-confirmed-375",
    ]);
    assert_eq!(
        report["posted"],
        serde_json::json!(["/subscribe/confirm"]),
        "the person's click posted once"
    );
    step(&[
        "confirm",
        &link,
        shots,
        "Already confirmed",
        "signup-already-confirmed-375",
    ]);
    let list = project.subscribers();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["newsletters"],
        serde_json::json!(["about-japan", "eu-japan-news"])
    );

    project.run(&["fetch"]).assert_code(0);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    for id in ["eu-japan-news", "about-japan"] {
        let sent = project.read(&format!("out/mail/{id}/1/reader@example.de.eml"));
        assert!(
            sent.contains("Dear Reader Example,"),
            "{id} reached the new subscriber"
        );
    }
    assert!(
        !project
            .path("out/mail/tech-transfer/1/reader@example.de.eml")
            .exists(),
        "nothing not chosen"
    );
    let sent = project.read("out/mail/eu-japan-news/1/reader@example.de.eml");
    let decoded =
        String::from_utf8(quoted_printable::decode(&sent, quoted_printable::ParseMode::Robust).unwrap())
            .unwrap();
    // A link of the mail's body (the List-Unsubscribe header may be
    // folded), pointed at this `serve`.
    let body = decoded.find("\r\n\r\n").unwrap();
    let link = |public: &str| {
        let start = body
            + decoded[body..]
                .find(public)
                .unwrap_or_else(|| panic!("no {public} in the mail"));
        let link: String = decoded[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '>')
            .collect();
        link.replace("https://newsletters.eu-japan.eu", &serve.base())
    };
    let unsubscribe = link("https://newsletters.eu-japan.eu/unsubscribe?t=");
    let preferences = link("https://newsletters.eu-japan.eu/preferences?t=");

    // The footer's preference link: "About Japan" left, the Tech Transfer
    // newsletter chosen, the name corrected; the next editions follow.
    let report = node(
        "preferences.mjs",
        &[
            &preferences,
            shots,
            "choose",
            "Reader Q. Example",
            "-\"About Japan\" e-News",
            "+Tech Transfer Helpdesk Newsletter",
        ],
    );
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "what a reader would notice"
    );
    let list = project.subscribers();
    assert_eq!(list[0]["name"], "Reader Q. Example");
    assert_eq!(
        list[0]["newsletters"],
        serde_json::json!(["eu-japan-news", "tech-transfer"])
    );
    project.run(&["build", "--date", "2026-11-30"]).assert_code(0);
    let send = |id: &str| {
        let run = project.run(&["send", "--newsletter", id]);
        run.assert_code(0);
        run.stdout.clone()
    };
    // Tech Transfer's latest is still No. 1: chosen now, it is sent now.
    for (id, number) in [("eu-japan-news", 2), ("tech-transfer", 1)] {
        assert!(send(id).contains("sent 1,"), "{id}");
        let sent = project.read(&format!("out/mail/{id}/{number}/reader@example.de.eml"));
        assert!(
            sent.contains("Dear Reader Q. Example,"),
            "{id} No. {number} reached the reader by the corrected name"
        );
    }
    // Its latest edition, whichever number that is (No. 2 only when the
    // classifier finds it new items), is not sent to them.
    let left = send("about-japan");
    assert!(
        left.contains(": sent 0,") && left.contains("skipped 1: unsubscribed"),
        "the newsletter left on the preference page is not sent: {left}"
    );
    assert!(
        !project
            .path("out/mail/about-japan/2/reader@example.de.eml")
            .exists()
    );

    step(&["unsubscribe", &unsubscribe, shots]);
    let list = project.subscribers();
    assert_eq!(
        list[0]["unsubscribed"],
        serde_json::json!(["about-japan", "eu-japan-news"])
    );
    assert_eq!(list[0]["newsletters"], serde_json::json!(["tech-transfer"]));

    project.write(
        "pages.json",
        &serde_json::json!([{"name": "sign-up form", "url": form}]).to_string(),
    );
    let report = node("axe.mjs", &[project.path("pages.json").to_str().unwrap()]);
    assert_no_serious_violations(report["results"].as_array().unwrap());
    assert_eq!(report["problems"], serde_json::json!([]));

    // A link followed too late, and one cut short.
    sign_up(&serve, "late@example.de", &[]);
    let late = confirm_target(&confirmation_mail(&project, "late@example.de").unwrap());
    drop(serve);
    let serve = Server::serve_at(&project, "2026-12-01T08:00:00Z");
    let late = format!("{}{late}", serve.base());
    step(&[
        "confirm",
        &late,
        shots,
        "This link has expired",
        "signup-expired-375",
        "410",
    ]);
    let cut = &late[..late.len() - 5];
    step(&[
        "confirm",
        cut,
        shots,
        "This confirmation link is not valid",
        "signup-invalid-link-375",
        "404",
    ]);
}

/// Issue 27, item 7: a review page left open in Chromium follows an
/// approval made with the command line: it reloads itself (the preview
/// watches the store) and shows the approved edition, with no correction
/// or approval form left to press.
#[test]
fn an_open_review_page_follows_an_approval_made_elsewhere_in_chromium() {
    if !browser_tools() {
        return;
    }
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    build_a_draft(&project, READERS);
    let preview = reviewing(&project);
    let review = preview.link(&format!("/review/{NEWS}"));
    let config = project.path("config.toml");
    let report = node(
        "follow.mjs",
        &[
            review.as_str(),
            env!("CARGO_BIN_EXE_bulletin"),
            "approve",
            "--newsletter",
            NEWS,
            "--by",
            "Hans",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(report["before"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["state"]
            .as_str()
            .unwrap()
            .starts_with("Approved by Hans on"),
        "{report}"
    );
    assert_eq!(report["buttons"], 0, "{report}");
}
