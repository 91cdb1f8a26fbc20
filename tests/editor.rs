//! What the editor is told and what a reader gets (issue 27, item 7): one
//! salutation when an introduction brings its own, the text twin keeping
//! the introduction's links, items in Japanese only flagged.

use crate::common::Project;
use crate::common::draft::{DATE, NEWS, READERS, build_a_draft, editions_show, reviewing};
use crate::common::message::{html_part, mail_part};
use crate::common::weekly_config;

/// An introduction that greets the readers itself, with a link.
const INTRO: &str = "Dear readers,\n\nThis week the [hydrogen call](https://example.eu/h2-call) closes.\n";

#[test]
fn an_introductions_own_greeting_gives_way_to_the_mails_and_its_links_stay_in_the_text() {
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    build_a_draft(&project, READERS);
    project.write("intro.md", INTRO);
    project
        .run(&["edit", "--newsletter", NEWS, "intro", "intro.md"])
        .assert_code(0);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    project.run(&["run", "--date", DATE]).assert_code(0);
    let eml = project.read("out/mail/eu-japan-news/1/jane@example.de.eml");
    for (part, body) in [("html", html_part(&eml)), ("text", mail_part(&eml, "text/plain"))] {
        assert!(!body.contains("Dear readers"), "{part}: greeted twice:\n{body}");
        let greeting = body.find("Dear Jane Doe,").expect(&body);
        let intro = body.find("This week the").expect(&body);
        // The newsletter's description comes after the editor's letter.
        let description = body.find("flagship newsletter").expect(&body);
        assert!(greeting < intro && intro < description, "{part}: {body}");
    }
    let text = mail_part(&eml, "text/plain");
    assert!(text.contains("hydrogen call [1]"), "{text}");
    assert!(text.contains("[1] https://example.eu/h2-call"), "{text}");
    // On the web there is no greeting of the mail's: the intro keeps its own.
    let web = project.read("out/archive/eu-japan-news/2026-11-23.html");
    assert!(web.contains("Dear readers,"), "{web}");
    let web_text = project.read("out/archive/eu-japan-news/2026-11-23.txt");
    assert!(
        web_text.contains("Dear readers,") && web_text.contains("[1] https://example.eu/h2-call"),
        "{web_text}"
    );
}

#[test]
fn items_in_japanese_only_are_flagged_in_editions_show_and_on_the_review_page() {
    let project = Project::with_config(&weekly_config("approval = \"required\""));
    project.write(
        "feeds/local/ja.md",
        "+++\ntitle = \"経済産業省、半導体戦略を改定\"\nlink = \"https://news.example/ja\"\npublished = 2026-11-20\n+++\n\
         経済産業省は半導体・デジタル産業戦略を改定した。\n",
    );
    project.write(
        "feeds/local/both.md",
        "+++\ntitle = \"日本の水素戦略\"\nlink = \"https://news.example/both\"\npublished = 2026-11-20\n+++\n\
         水素戦略。Japan's hydrogen strategy was revised this week, with new funding for European partners.\n",
    );
    project.story("english", "2026-11-20");
    project.run(&["run", "--date", DATE]).assert_code(0);
    let shown = editions_show(&project, "weekly");
    let line = |needle: &str| {
        shown
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {shown}"))
            .to_string()
    };
    assert!(line("半導体戦略を改定").ends_with("[Japanese only]"), "{shown}");
    assert!(!line("水素戦略").contains("[Japanese only]"), "{shown}");
    assert!(!line("Story english").contains("[Japanese only]"), "{shown}");
    assert!(shown.contains("1 item is in Japanese only"), "{shown}");

    let preview = reviewing(&project);
    let (_, page) = preview.get("/review/weekly");
    assert_eq!(page.matches("class=\"japanese-only\"").count(), 1, "{page}");
    let flagged = page.find("class=\"japanese-only\"").unwrap();
    let item = page[..flagged].rfind("<li ").unwrap();
    assert!(page[item..flagged].contains("半導体戦略を改定"), "{page}");
    assert!(page.contains("1 item is in Japanese only"), "{page}");
}
