//! Edition content an editor would sign: one story once, no empty edition
//! mailed, tenders listed until their deadline, local items that name their
//! newsletters.

use crate::common::Project;
use crate::common::mail::readers;
use crate::common::message::section;

/// The `.eml` files written for edition `number` of `newsletter`.
fn mails(project: &Project, newsletter: &str, number: u32) -> usize {
    std::fs::read_dir(project.path(&format!("out/mail/{newsletter}/{number}")))
        .map_or(0, |files| files.count())
}

#[test]
fn a_story_two_sources_tell_is_one_item_in_the_edition() {
    let project = Project::bundled();
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let html = project.read("out/archive/eu-japan-news/2026-11-23.html");
    let events = section(&html, "Events");
    // The Centre's news feed and its events folder tell these three stories.
    for (news, event) in [
        (
            "Get Ready for Japan 2027: applications open",
            "Get Ready for Japan 2027 – business training programme",
        ),
        (
            "Call for applications: EU-Japan business mission",
            "Business mission to Japan: defence and cyber-security technologies",
        ),
        (
            "Horizon Europe NCP Japan: info day",
            "Horizon Europe info day for Japanese researchers: 2027 calls",
        ),
    ] {
        assert!(!html.contains(news), "{news:?}: the news copy is merged");
        assert_eq!(html.matches(event).count(), 1, "{event:?} once");
        assert!(
            events.contains(event),
            "{event:?}: the richer copy, the event, is kept"
        );
    }
    let text = project.read("out/archive/eu-japan-news/2026-11-23.txt");
    assert!(!text.contains("Get Ready for Japan 2027: applications open"));
}

#[test]
fn nothing_to_say_is_reported_and_neither_mailed_nor_archived() {
    let project = Project::bundled();
    project.sign_with_test_key();
    project.import(&readers(2, |_| "company,DE,tax-procurement"));
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(mails(&project, "tax-procurement", 1), 2, "No. 1 is mailed");
    // The weeks up to March 2027 are caught up (tenders still open), then
    // every tender has closed, and nothing new came in.
    project.run(&["run", "--date", "2027-03-01"]).assert_code(0);
    let before = project.run(&["editions", "--newsletter", "tax-procurement", "--format", "json"]);
    let count = before.json().as_array().map(Vec::len).unwrap();
    let run = project.run(&["run", "--date", "2027-03-08"]);
    run.assert_code(0)
        .assert_stdout_has("tax-procurement  nothing new: no edition, nothing mailed");
    let next = u32::try_from(count).unwrap() + 1;
    assert_eq!(mails(&project, "tax-procurement", next), 0, "nothing mailed");
    assert!(
        !project
            .path("out/archive/tax-procurement/2027-03-08.html")
            .exists()
    );
    let archive = project.read("out/archive/tax-procurement/index.html");
    assert!(!archive.contains("2027-03-08"), "no archive entry");
    let editions = project.run(&["editions", "--newsletter", "tax-procurement", "--format", "json"]);
    assert_eq!(
        editions.json().as_array().map(Vec::len),
        Some(count),
        "{}",
        editions.stdout
    );
}

#[test]
fn a_tender_is_listed_as_still_open_until_its_deadline() {
    let project = Project::bundled();
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    project.write(
        "feeds/local/tenders/hydrogen-refuelling.toml",
        "title = \"Hydrogen refuelling stations for the metropolitan bus fleet\"\n\
         link = \"https://www.metro.tokyo.lg.jp/procurement/h2-2026\"\npublished = 2026-11-27\n\
         entity = \"Tokyo Metropolitan Government\"\nreference = \"TMG-H2-2026\"\n\
         deadline = 2027-03-15\nsummary = \"Design and supply of two stations.\"\n",
    );
    let second = project.run(&["run", "--date", "2026-11-30"]);
    second.assert_code(0).assert_stdout_has("1 item and 7 still open");
    let html = project.read("out/archive/tax-procurement/2026-11-30.html");
    let tenders = section(&html, "Open Tenders");
    let still_open = tenders.find(">Still open<").expect("a \"Still open\" list");
    let new = tenders
        .find("Hydrogen refuelling stations")
        .expect("the new tender");
    assert!(new < still_open, "the new tender comes first");
    for open in ["3-tesla MRI systems", "Smart water meters", "Railway signalling"] {
        assert!(tenders[still_open..].contains(open), "{open} is still open");
    }
    let text = project.read("out/archive/tax-procurement/2026-11-30.txt");
    assert!(text.contains("\nStill open\n"), "{text}");

    project.run(&["run", "--date", "2026-12-07"]).assert_code(0);
    let html = project.read("out/archive/tax-procurement/2026-12-07.html");
    let still_open = section(&html, "Open Tenders");
    assert!(
        !still_open.contains("3-tesla MRI systems"),
        "closed on 04/12/2026: gone"
    );
    for open in ["Hydrogen refuelling stations", "Smart water meters"] {
        assert!(still_open.contains(open), "{open} is still open");
    }

    // Built again, the second edition lists the same tenders, byte for byte.
    let before = project.read("out/archive/tax-procurement/2026-11-30.html");
    project
        .run(&["build", "--newsletter", "tax-procurement", "--date", "2026-11-30"])
        .assert_code(0);
    assert_eq!(
        project.read("out/archive/tax-procurement/2026-11-30.html"),
        before
    );
}

#[test]
fn a_local_item_goes_to_the_newsletters_it_names() {
    let project = Project::bundled();
    // The EU-Japan keywords alone would put it in EU-Japan NEWS.
    project.write(
        "feeds/local/reports/jtpp-epa-procurement-faq.md",
        "+++\ntitle = \"EU-Japan EPA: ten questions on public procurement in Japan\"\n\
         link = \"https://www.eu-japan.eu/publications/jtpp-epa-faq\"\npublished = 2026-11-20\n\
         newsletters = [\"tax-procurement\"]\n+++\n\
         What the EU-Japan Economic Partnership Agreement changes for European bidders.\n",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let title = "ten questions on public procurement";
    let tax = project.read("out/archive/tax-procurement/2026-11-23.html");
    assert!(section(&tax, "Tax and Procurement News").contains(title));
    for other in ["eu-japan-news", "industry-policy", "about-japan", "tech-transfer"] {
        let html = project.read(&format!("out/archive/{other}/2026-11-23.html"));
        assert!(!html.contains(title), "{other} has it");
    }
    let explain = project.run(&["items", "--newsletter", "tax-procurement", "--explain"]);
    explain.assert_stdout_has("the item names tax-procurement");
    // The newsletter no longer takes reports: the unchanged file is checked again.
    project.edit_config(
        "kinds = [\"news\", \"report\", \"event\"]",
        "kinds = [\"news\", \"event\"]",
    );
    project.run(&["fetch"]).assert_code(3).assert_stderr_has(
        "jtpp-epa-procurement-faq.md:5:16: newsletters[0]: no section of \"tax-procurement\" takes a report",
    );
}

#[test]
fn a_local_item_naming_an_unknown_newsletter_is_refused_where_it_names_it() {
    let project = Project::bundled();
    project.write(
        "feeds/local/tenders/named.toml",
        "title = \"T\"\nlink = \"https://ex.example/t\"\npublished = 2026-11-20\nentity = \"JMA\"\n\
         reference = \"JMA-9\"\ndeadline = 2027-01-10\nnewsletters = [\"tax-procurement\", \"tender-digest\"]\n",
    );
    project.write(
        "feeds/local/press-review/named.md",
        "+++\ntitle = \"P\"\nlink = \"https://ex.example/p\"\npublished = 2026-11-20\n\
         newsletters = [\"tax-procurement\"]\n+++\nA review.\n",
    );
    let check = project.run(&["check"]);
    check.assert_code(1).assert_stderr_has(
        "named.toml:7:35: newsletters[1]: unknown newsletter \"tender-digest\"; expected one of: \
             eu-japan-news, industry-policy, about-japan, tax-procurement, tech-transfer",
    );
    check.assert_stderr_has(
        "named.md:5:16: newsletters[0]: no section of \"tax-procurement\" takes a press-review",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(3);
    assert!(
        project
            .read("out/archive/tax-procurement/2026-11-23.html")
            .contains("Open Tenders")
    );
}
