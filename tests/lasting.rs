//! Issue 27, items 4 and 5: a reviewed draft changes only for a reason the
//! editor can see, and corrections last. On the bundled default as shipped
//! (approval required), through the binary and the review page's forms.

use crate::common::Project;
use crate::common::draft::{NEWS, READERS, build_a_draft, editions_show, form_value, reviewing, shown_items};

/// The day the bundled sample's first editions are due.
const DAY: &str = "2026-11-23";

/// The bundled project as shipped, run on [`DAY`]: every newsletter a draft.
fn drafted() -> Project {
    let project = Project::bundled_as_shipped();
    project.run(&["run", "--date", DAY]).assert_code(0);
    project
}

/// Every newsletter of the bundled config.
const NEWSLETTERS: [&str; 5] = [
    "eu-japan-news",
    "industry-policy",
    "about-japan",
    "tax-procurement",
    "tech-transfer",
];

/// The id of the item of `newsletter`'s latest edition whose title has `words`.
fn item_titled(project: &Project, newsletter: &str, words: &str) -> String {
    shown_items(project, newsletter)
        .into_iter()
        .find(|(_, title)| title.contains(words))
        .unwrap_or_else(|| {
            panic!(
                "no {words:?} in {newsletter}:\n{}",
                editions_show(project, newsletter)
            )
        })
        .0
}

/// What `editions show` prints of edition `number` of `newsletter`.
fn show_edition(project: &Project, newsletter: &str, number: &str) -> String {
    let show = project.run(&[
        "editions",
        "show",
        "--newsletter",
        newsletter,
        "--edition",
        number,
    ]);
    show.assert_code(0);
    show.stdout
}

#[test]
fn approving_one_newsletter_and_running_again_changes_no_other_draft() {
    let project = drafted();
    let others: Vec<&str> = NEWSLETTERS.into_iter().filter(|n| *n != NEWS).collect();
    let before: Vec<_> = others.iter().map(|n| shown_items(&project, n)).collect();
    // Enough items that a reshuffle would show (9 before the authors' sets, 7 since).
    assert!(before[1].len() >= 5, "About Japan's draft: {:?}", before[1]);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    let again = project.run(&["run", "--date", DAY]);
    again.assert_code(0);
    assert!(
        !again.stdout.contains(" left "),
        "nothing leaves a draft: {}",
        again.stdout
    );
    for (newsletter, before) in others.iter().zip(&before) {
        assert_eq!(
            &shown_items(&project, newsletter),
            before,
            "{newsletter}'s draft lists the same items, in the same places, after {NEWS} was approved"
        );
        assert!(
            !editions_show(&project, newsletter).contains("Changed since"),
            "and nothing is shown as changed"
        );
    }
}

#[test]
fn an_event_dropped_from_no_1_is_in_none_of_the_editions_caught_up_two_weeks_later() {
    let project = drafted();
    let mission = item_titled(&project, NEWS, "Business mission");
    project
        .run(&["edit", "--newsletter", NEWS, "--by", "keiko", "drop", &mission])
        .assert_code(0);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    let caught_up = project.run(&["run", "--date", "2026-12-07"]);
    caught_up.assert_code(0);
    caught_up.assert_stdout_has("catching up: the edition due 2026-11-30");
    for number in ["2", "3"] {
        let show = show_edition(&project, NEWS, number);
        assert!(
            !show.to_lowercase().contains("business mission"),
            "No. {number} carries neither the dropped event nor its copy from another source:\n{show}"
        );
    }
    for file in [
        "out/drafts/eu-japan-news/2026-11-30.html",
        "out/drafts/eu-japan-news/2026-12-07.html",
    ] {
        let html = project.read(file).to_lowercase();
        assert!(!html.contains("business mission"), "{file}");
    }
    let rules = project.run(&["rules", "--newsletter", NEWS]);
    rules.assert_code(0);
    rules
        .assert_stdout_has(&mission)
        .assert_stdout_has("dropped from No. 1");
    let explain = project.run(&["items", "--explain"]);
    explain.assert_stdout_has("kept out by rule #1: never in eu-japan-news, item");
}

#[test]
fn an_item_added_back_after_its_drop_is_due_again() {
    let project = drafted();
    let mission = item_titled(&project, NEWS, "Business mission");
    project
        .run(&["edit", "--newsletter", NEWS, "drop", &mission])
        .assert_code(0);
    project.run(&["rules"]).assert_stdout_has(&mission);
    project
        .run(&["edit", "--newsletter", NEWS, "add", &mission])
        .assert_code(0);
    assert!(
        shown_items(&project, NEWS).iter().any(|(id, _)| *id == mission),
        "added back"
    );
    let rules = project.run(&["rules"]);
    assert!(
        !rules.stdout.contains(&mission),
        "the drop's rule is taken back: {}",
        rules.stdout
    );
}

#[test]
fn a_drop_on_the_review_page_lasts_into_later_editions() {
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    build_a_draft(&project, READERS);
    let mission = item_titled(&project, NEWS, "Business mission");
    {
        let preview = reviewing(&project);
        let path = format!("/review/{NEWS}");
        let (_, page) = preview.get(&path);
        let token = form_value(&page, "token");
        let own = preview.base();
        let own = own.as_str();
        let applied = preview.submit(
            &path,
            &[
                ("token", token.as_str()),
                ("edition", "1"),
                ("item", mission.as_str()),
                ("action", "drop"),
            ],
            &[("Origin", own), ("Sec-Fetch-Site", "same-origin")],
        );
        assert_eq!(applied.status, 303, "{}", applied.body);
    }
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    project
        .run(&["build", "--newsletter", NEWS, "--date", "2026-12-07"])
        .assert_code(0);
    let later = show_edition(&project, NEWS, "2");
    assert!(!later.to_lowercase().contains("business mission"), "{later}");
    project
        .run(&["rules"])
        .assert_stdout_has("Keiko Editor")
        .assert_stdout_has("dropped from No. 1");
}

#[test]
fn rules_by_source_and_term_move_items_with_the_reason_shown_and_are_removed() {
    let project = drafted();
    let newsletter = "about-japan";
    let before = shown_items(&project, newsletter);
    // Never: every item of a source leaves the draft, and the editor is told why.
    let added = project.run(&[
        "rules",
        "add",
        "--newsletter",
        newsletter,
        "--never",
        "--source",
        "Japan Business Wire",
        "--by",
        "keiko",
    ]);
    added.assert_code(0).assert_stdout_has("rule #1 added");
    // The first look shows what changed; `shown_items` below is a second one.
    let show = editions_show(&project, newsletter);
    assert!(show.contains("Changed since an editor last looked"), "{show}");
    assert!(
        show.contains("left")
            && show.contains("kept out by rule #1: never in about-japan, source \"Japan Business Wire\""),
        "{show}"
    );
    assert!(
        !editions_show(&project, newsletter).contains("Changed since"),
        "shown once: the editor has looked"
    );
    let after = shown_items(&project, newsletter);
    assert!(after.len() < before.len(), "{after:?}");
    project
        .run(&["items", "--explain", "--newsletter", newsletter])
        .assert_code(0);
    project
        .run(&["items", "--explain"])
        .assert_stdout_has("kept out by rule #1");
    // Always: an item with the term joins, placed by the rule.
    project
        .run(&[
            "rules",
            "add",
            "--newsletter",
            newsletter,
            "--always",
            "--term",
            "semiconductor",
        ])
        .assert_code(0)
        .assert_stdout_has("joined");
    let show = editions_show(&project, newsletter);
    assert!(
        show.contains("placed by rule #2: always in about-japan, term \"semiconductor\""),
        "{show}"
    );
    assert!(
        shown_items(&project, newsletter)
            .iter()
            .any(|(_, t)| t.to_lowercase().contains("semiconductor"))
    );
    let listed = project.run(&["rules", "--format", "json"]).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed[0]["target"]["kind"], "source", "{listed}");
    // Removed: the source's items may come back, and the rule is no longer listed.
    project.run(&["rules", "remove", "1"]).assert_code(0);
    project
        .run(&["rules", "remove", "1"])
        .assert_code(1)
        .assert_stderr_has("no rule #1 in force");
    let listed = project.run(&["rules", "--format", "json"]).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    // Bad rules are refused with what is expected.
    project
        .run(&[
            "rules",
            "add",
            "--newsletter",
            newsletter,
            "--never",
            "--source",
            "Nope",
        ])
        .assert_code(1)
        .assert_stderr_has("no source is named \"Nope\"");
    project
        .run(&[
            "rules",
            "add",
            "--newsletter",
            newsletter,
            "--never",
            "--item",
            "0000",
        ])
        .assert_code(1)
        .assert_stderr_has("no stored item");
    project
        .run(&["rules", "add", "--newsletter", newsletter, "--never"])
        .assert_code(2);
}

#[test]
fn a_term_rule_from_the_review_page_keeps_items_out_of_the_draft_and_later_ones() {
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    build_a_draft(&project, READERS);
    let before = shown_items(&project, NEWS);
    let preview = reviewing(&project);
    let path = format!("/review/{NEWS}");
    let (_, page) = preview.get(&path);
    assert!(
        page.contains("value=\"never-source\"") && page.contains("value=\"never-term\""),
        "{page}"
    );
    let token = form_value(&page, "token");
    let own = preview.base();
    let own = own.as_str();
    let applied = preview.submit(
        &path,
        &[
            ("token", token.as_str()),
            ("edition", "1"),
            ("term", "Minerva"),
            ("action", "never-term"),
        ],
        &[("Origin", own), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(applied.status, 303, "{}", applied.body);
    let after = shown_items(&project, NEWS);
    assert!(before.iter().any(|(_, t)| t.contains("Minerva")), "{before:?}");
    assert!(!after.iter().any(|(_, t)| t.contains("Minerva")), "{after:?}");
    let (_, page) = preview.get(&path);
    assert!(
        page.contains("kept out by rule #1: never in eu-japan-news, term"),
        "the review page says why:\n{page}"
    );
    project
        .run(&["rules"])
        .assert_stdout_has("Minerva")
        .assert_stdout_has("the review page");
}
