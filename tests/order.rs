//! Editions in order, and undo (issue 27, item 6): a later edition is not
//! approved while an earlier one is a draft; `skip` discards a draft (its
//! number kept, its items back in the pool); `unapprove` before the send
//! has begun; "Still open" lists only what readers got.

use crate::common::draft::{DATE, NEWS, editions_show};
use crate::common::mail::{readers, with_mail};
use crate::common::sink::Sink;
use crate::common::{Project, weekly_config};

/// The bundled project as shipped (approval required), fetched, with
/// EU-Japan NEWS drafted for three Mondays: Nos. 1 to 3.
fn three_drafts() -> Project {
    let project = Project::bundled_as_shipped();
    project.run(&["fetch"]).assert_code(0);
    for date in ["2026-11-09", "2026-11-16", DATE] {
        project
            .run(&["build", "--newsletter", NEWS, "--date", date])
            .assert_code(0);
    }
    project
}

/// (number, state) of each edition of `newsletter`, oldest first.
fn states(project: &Project, newsletter: &str) -> Vec<(u64, String)> {
    let listed = project.run(&["editions", "--newsletter", newsletter, "--format", "json"]);
    let mut states: Vec<(u64, String)> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["number"].as_u64().unwrap(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    states.sort();
    states
}

#[test]
fn a_later_edition_is_refused_while_an_earlier_one_is_a_draft() {
    let project = three_drafts();
    for args in [
        vec!["approve", "--newsletter", NEWS],
        vec!["approve", "--newsletter", NEWS, "--edition", "3"],
        vec!["approve", "--newsletter", NEWS, "--edition", "2"],
    ] {
        let refused = project.run(&args);
        refused.assert_code(1);
        for command in [
            "`bulletin approve --newsletter eu-japan-news --edition 1`",
            "`bulletin skip --newsletter eu-japan-news --edition 1`",
        ] {
            assert!(refused.stderr.contains(command), "{args:?}: {}", refused.stderr);
        }
    }
    assert!(!project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
    assert_eq!(
        states(&project, NEWS),
        [(1, "draft".into()), (2, "draft".into()), (3, "draft".into())]
    );

    project
        .run(&["approve", "--newsletter", NEWS, "--edition", "1", "--by", "Keiko"])
        .assert_code(0);
    project
        .run(&["skip", "--newsletter", NEWS, "--edition", "2", "--by", "Keiko"])
        .assert_code(0)
        .assert_stdout_has("eu-japan-news No. 2 (of 2026-11-16) skipped by Keiko");
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    assert_eq!(
        states(&project, NEWS),
        [
            (1, "approved".into()),
            (2, "skipped".into()),
            (3, "approved".into())
        ]
    );
    // The skipped edition: no file, listed as skipped, never drafted again,
    // its number not reused.
    assert!(!project.path("out/drafts/eu-japan-news/2026-11-16.html").exists());
    assert!(!project.path("out/archive/eu-japan-news/2026-11-16.html").exists());
    let shown = project.run(&["editions", "show", "--newsletter", NEWS, "--edition", "2"]);
    shown.assert_code(0);
    assert!(
        shown.stdout.contains("No. 2 of 2026-11-16: skipped by Keiko")
            && shown.stdout.contains("Keiko      skipped"),
        "{}",
        shown.stdout
    );
    project.run(&["build", "--newsletter", NEWS, "--date", "2026-11-16"]);
    project.run(&["run", "--date", "2026-11-30"]).assert_code(0);
    let after = states(&project, NEWS);
    assert_eq!(after[1], (2, "skipped".into()), "{after:?}");
    assert_eq!(after.last().unwrap(), &(4, "draft".into()), "{after:?}");
    let archive = project.read("out/archive/eu-japan-news/index.html");
    assert!(!archive.contains("No. 2"), "{archive}");
}

#[test]
fn a_skipped_drafts_items_go_to_the_next_edition() {
    let project = Project::with_config(&weekly_config("approval = \"required\"\nwindow_days = 30"));
    project.story("first", "2026-11-12");
    project.run(&["run", "--date", "2026-11-16"]).assert_code(0);
    project.story("second", "2026-11-20");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let next = project.read("out/drafts/weekly/2026-11-23.html");
    assert!(!next.contains("Story first"), "in No. 1's draft: {next}");
    project
        .run(&["skip", "--newsletter", "weekly", "--edition", "1"])
        .assert_code(0)
        .assert_stdout_has("its 1 item go back to the pool");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let next = project.read("out/drafts/weekly/2026-11-23.html");
    assert!(
        next.contains("Story first") && next.contains("Story second"),
        "{next}"
    );
    let skip_again = project.run(&["skip", "--newsletter", "weekly", "--edition", "1"]);
    skip_again
        .assert_code(1)
        .assert_stderr_has("weekly has no draft: No. 1 was skipped");
}

#[test]
fn an_approval_is_undone_before_the_send_and_refused_after() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = Project::bundled_as_shipped();
    with_mail(&project, sink.port, "");
    project.import(&readers(2, |_| "company,DE,eu-japan-news"));
    project.run(&["run", "--date", DATE]).assert_code(0);
    project
        .run(&["approve", "--newsletter", NEWS, "--by", "Keiko"])
        .assert_code(0);
    assert!(project.path("out/archive/eu-japan-news/2026-11-23.html").exists());

    project
        .run(&[
            "unapprove",
            "--newsletter",
            NEWS,
            "--edition",
            "1",
            "--by",
            "Hans",
        ])
        .assert_code(0)
        .assert_stdout_has("eu-japan-news No. 1 unapproved by Hans: a draft again");
    assert!(!project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
    assert!(project.path("out/drafts/eu-japan-news/2026-11-23.html").exists());
    let archive = project.read("out/archive/eu-japan-news/index.html");
    assert!(!archive.contains("No. 1"), "{archive}");
    let shown = editions_show(&project, NEWS);
    assert!(shown.contains("No. 1 of 2026-11-23: draft"), "{shown}");
    let approved = shown.find("Keiko      approved").expect(&shown);
    let unapproved = shown.find("Hans       unapproved").expect(&shown);
    assert!(approved < unapproved, "{shown}");
    // A draft again: nothing is mailed, and it takes corrections.
    project.run(&["run", "--date", DATE]).assert_code(0);
    assert!(sink.messages().is_empty(), "an unapproved edition is not mailed");

    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    project.run(&["run", "--date", DATE]).assert_code(0);
    assert_eq!(sink.wait_for_messages(2), 2);
    let refused = project.run(&["unapprove", "--newsletter", NEWS, "--edition", "1"]);
    refused
        .assert_code(1)
        .assert_stderr_has("eu-japan-news No. 1: its send has begun (2 of 2 messages went out)");
    assert!(project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
}

#[test]
fn still_open_lists_only_the_tenders_of_approved_editions() {
    let project = Project::bundled_as_shipped();
    project.run(&["run", "--date", DATE]).assert_code(0);
    project.write(
        "feeds/local/tenders/hydrogen-refuelling.toml",
        "title = \"Hydrogen refuelling stations for the metropolitan bus fleet\"\n\
         link = \"https://www.metro.tokyo.lg.jp/procurement/h2-2026\"\npublished = 2026-11-27\n\
         entity = \"Tokyo Metropolitan Government\"\nreference = \"TMG-H2-2026\"\n\
         deadline = 2027-03-15\nsummary = \"Design and supply of two stations.\"\n",
    );
    project.run(&["run", "--date", "2026-11-30"]).assert_code(0);
    let draft = project.read("out/drafts/tax-procurement/2026-11-30.html");
    assert!(
        !draft.contains(">Still open<") && !draft.contains("Smart water meters"),
        "No. 1 is a draft nobody received: {draft}"
    );
    // Skipped, No. 1's tenders are new in No. 2.
    project
        .run(&["skip", "--newsletter", "tax-procurement", "--edition", "1"])
        .assert_code(0);
    project.run(&["run", "--date", "2026-11-30"]).assert_code(0);
    let draft = project.read("out/drafts/tax-procurement/2026-11-30.html");
    assert!(draft.contains("Smart water meters"), "{draft}");
    assert!(!draft.contains(">Still open<"), "{draft}");
    // Approved, No. 2's tenders are still open in No. 3.
    project
        .run(&["approve", "--newsletter", "tax-procurement", "--edition", "2"])
        .assert_code(0);
    project.run(&["run", "--date", "2026-12-07"]).assert_code(0);
    let draft = project.read("out/drafts/tax-procurement/2026-12-07.html");
    let still_open = draft.find(">Still open<").expect(&draft);
    assert!(draft[still_open..].contains("Smart water meters"), "{draft}");
}

#[test]
fn an_edit_of_an_approved_edition_names_unapprove_not_build() {
    let project = Project::bundled_as_shipped();
    project.run(&["run", "--date", DATE]).assert_code(0);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    for args in [
        vec!["edit", "--newsletter", NEWS, "drop", "x"],
        vec!["edit", "--newsletter", NEWS, "--edition", "1", "drop", "x"],
    ] {
        let edit = project.run(&args);
        edit.assert_code(1);
        assert!(
            edit.stderr.contains("eu-japan-news No. 1 was approved by")
                && edit
                    .stderr
                    .contains("`bulletin unapprove --newsletter eu-japan-news --edition 1`")
                && !edit.stderr.contains("bulletin build"),
            "{args:?}: {}",
            edit.stderr
        );
    }
}

/// Two names for [`Project::story`] whose items' ids begin with the same
/// four hex digits: an item's id is the SHA-256 of its link, as hex.
fn twins() -> [(String, String); 2] {
    use sha2::{Digest, Sha256};
    let mut seen = std::collections::HashMap::new();
    for n in 0.. {
        let name = format!("s{n}");
        let digest = Sha256::digest(format!("link\0https://news.example/{name}").as_bytes());
        let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        if let Some((other, its)) = seen.insert(id[..4].to_string(), (name.clone(), id.clone())) {
            return [(other, its), (name, id)];
        }
    }
    unreachable!()
}

/// Issue 27, item 7: an item's id may be given by a unique start of it (at
/// least four characters), as git takes an object's; an ambiguous start is
/// refused, listing the items it begins.
#[test]
fn an_item_is_named_by_a_unique_start_of_its_id() {
    let project = Project::with_config(&weekly_config("approval = \"required\""));
    let [(a, a_id), (b, b_id)] = twins();
    project.story(&a, "2026-11-20");
    project.story(&b, "2026-11-21");
    project.run(&["run", "--date", DATE]).assert_code(0);
    let items = project.run(&["items", "--format", "json"]).stdout;
    assert!(
        items.contains(&a_id) && items.contains(&b_id),
        "ids as computed: {items}"
    );

    let ambiguous = project.run(&["edit", "--newsletter", "weekly", "drop", &a_id[..4]]);
    ambiguous.assert_code(1);
    for wanted in [
        format!("\"{}\" is ambiguous", &a_id[..4]),
        format!("{a_id} (Story {a})"),
        format!("{b_id} (Story {b})"),
    ] {
        assert!(
            ambiguous.stderr.contains(&wanted),
            "{wanted}: {}",
            ambiguous.stderr
        );
    }
    project
        .run(&["edit", "--newsletter", "weekly", "drop", "abc"])
        .assert_code(1)
        .assert_stderr_has("too short to name an item");
    project
        .run(&["edit", "--newsletter", "weekly", "drop", "0000000000000"])
        .assert_code(1)
        .assert_stderr_has("\"0000000000000\" is not in weekly No. 1");
    project
        .run(&["edit", "--newsletter", "weekly", "add", "0000000000000"])
        .assert_code(1)
        .assert_stderr_has("no stored item \"0000000000000\"");

    let unique = &a_id[..8];
    project
        .run(&["edit", "--newsletter", "weekly", "drop", unique])
        .assert_code(0);
    project
        .run(&["edit", "--newsletter", "weekly", "add", &b_id[..7].to_uppercase()])
        .assert_code(1)
        .assert_stderr_has(&format!("{b_id} is in weekly No. 1 already"));
    let shown = editions_show(&project, "weekly");
    assert!(shown.contains(&format!("drop {a_id}")), "{shown}");
    assert!(!shown.contains(&format!("Story {a}")), "{shown}");
}
