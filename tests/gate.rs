//! The editor's gate (issue 17): drafts that wait for approval, corrections
//! recorded with who and when and applied on every rebuild, approval that
//! freezes an edition's bytes, a cron cycle that catches up a missed day and
//! finishes a failed send, and `bulletin status`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use crate::common::draft::{DATE, NEWS, editions_show, shown_items};
use crate::common::mail::{readers, with_mail};
use crate::common::sink::Sink;
use crate::common::{KEY_ENV, Project, files_under, weekly_config};

/// The bundled project as shipped (approval required), fetched.
fn fetched() -> Project {
    let project = Project::bundled_as_shipped();
    project.run(&["fetch"]).assert_code(0);
    project
}

/// The bundled project as shipped, mailing to `port`, with three readers of
/// every newsletter.
fn mailing(port: u16) -> Project {
    let project = Project::bundled_as_shipped();
    with_mail(&project, port, "");
    project.import(&readers(
        3,
        |_| "company,DE,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer",
    ));
    project
}

/// A port on 127.0.0.1 where nothing listens: an SMTP server that is down.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_draft_waits_for_approval_and_send_refuses_it() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = mailing(sink.port);
    let run = project.run(&["run", "--date", DATE]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("waiting for approval")
            && run
                .stdout
                .contains("`bulletin approve --newsletter eu-japan-news --edition 1`"),
        "{}",
        run.stdout
    );
    assert!(sink.messages().is_empty(), "a draft is never mailed");
    assert!(project.path("out/drafts/eu-japan-news/2026-11-23.html").exists());
    assert!(!project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
    assert!(
        !project
            .read("out/archive/eu-japan-news/index.html")
            .contains("No. 1"),
        "the archive never lists a draft"
    );

    let send = project.run(&["send", "--newsletter", NEWS]);
    send.assert_code(6)
        .assert_stderr_has("eu-japan-news No. 1 is a draft, not approved: nothing sent");
    assert!(sink.messages().is_empty());

    let approve = project.run(&["approve", "--newsletter", NEWS, "--by", "Keiko Editor"]);
    approve
        .assert_code(0)
        .assert_stdout_has("eu-japan-news No. 1 approved by Keiko Editor");
    assert!(project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
    assert!(!project.path("out/drafts/eu-japan-news/2026-11-23.html").exists());
    assert!(
        project
            .read("out/archive/eu-japan-news/index.html")
            .contains("No. 1")
    );

    let again = project.run(&["run", "--date", DATE]);
    again
        .assert_code(0)
        .assert_stdout_has("eu-japan-news No. 1: sent 3, already sent 0");
    let newsletters: std::collections::BTreeSet<String> =
        sink.deliveries().into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        newsletters.into_iter().collect::<Vec<_>>(),
        vec![NEWS.to_string()],
        "only the approved newsletter is mailed"
    );
}

#[test]
fn an_approved_editions_bytes_never_change() {
    let project = fetched();
    project
        .run(&["build", "--newsletter", NEWS, "--date", DATE])
        .assert_code(0);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    let html = project.read("out/archive/eu-japan-news/2026-11-23.html");
    let text = project.read("out/archive/eu-japan-news/2026-11-23.txt");

    // A typo fixed at the source, fetched and built again: the draft would
    // take it, the approved edition does not.
    let feeds: Vec<_> = files_under(&project.path("feeds"));
    let (title, file) = shown_items(&project, NEWS)
        .into_iter()
        .find_map(|(_, title)| {
            let file = feeds
                .iter()
                .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(&title)))?;
            Some((title, file.clone()))
        })
        .expect("an item whose title is written as is in its feed file");
    let file = &file;
    let fixed = std::fs::read_to_string(file)
        .unwrap()
        .replace(&title, "A fixed title");
    std::fs::write(file, fixed).unwrap();
    project.run(&["fetch"]).assert_code(0);
    project
        .run(&["build", "--newsletter", NEWS, "--date", DATE])
        .assert_code(0);
    project.run(&["run", "--date", DATE]).assert_code(0);
    assert_eq!(project.read("out/archive/eu-japan-news/2026-11-23.html"), html);
    assert_eq!(project.read("out/archive/eu-japan-news/2026-11-23.txt"), text);

    let edit = project.run(&[
        "edit",
        "--newsletter",
        NEWS,
        "--edition",
        "1",
        "retitle",
        "x",
        "y",
    ]);
    edit.assert_code(1);
    assert!(
        edit.stderr.contains("eu-japan-news No. 1 was approved by")
            && edit.stderr.contains("an approved edition no longer changes"),
        "{}",
        edit.stderr
    );
    project
        .run(&["approve", "--newsletter", NEWS, "--edition", "1"])
        .assert_code(1);
    assert_eq!(project.read("out/archive/eu-japan-news/2026-11-23.html"), html);
}

#[test]
fn corrections_are_applied_on_every_rebuild_and_shown_with_who_and_when() {
    let project = fetched();
    project.run(&["run", "--date", DATE]).assert_code(0);
    let items = shown_items(&project, NEWS);
    assert!(items.len() >= 3, "{items:?}");
    let (dropped, dropped_title) = items[0].clone();
    let (retitled, _) = items[1].clone();
    let (moved, moved_title) = items[items.len() - 1].clone();
    let edit = |args: &[&str]| {
        let mut all = vec!["edit", "--newsletter", NEWS, "--by", "Keiko Editor"];
        all.extend_from_slice(args);
        project.run(&all)
    };
    edit(&["drop", &dropped]).assert_code(0);
    edit(&["retitle", &retitled, "A title the editor wrote"]).assert_code(0);
    let section = editions_show(&project, NEWS)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .find_map(|l| {
            l.strip_suffix(')')
                .and_then(|l| l.rsplit_once(" ("))
                .map(|(_, id)| id.to_string())
        })
        .unwrap();
    edit(&["move", &moved, "--section", &section, "--position", "1"]).assert_code(0);
    project.write(
        "intro.md",
        "**Welcome** to this week's edition.\n\n<script>alert(1)</script>\n\n[a link](javascript:alert(1)) and [the centre](https://centre.example/)\n",
    );
    edit(&["intro", "intro.md"]).assert_code(0);

    // A rebuild from the store (as every `run` does) keeps every correction.
    project.run(&["fetch"]).assert_code(0);
    project.run(&["run", "--date", DATE]).assert_code(0);
    let html = project.read("out/drafts/eu-japan-news/2026-11-23.html");
    let text = project.read("out/drafts/eu-japan-news/2026-11-23.txt");
    assert!(!html.contains(&dropped_title), "dropped: {dropped_title}");
    assert!(html.contains("A title the editor wrote") && text.contains("A title the editor wrote"));
    assert!(html.contains("<strong>Welcome</strong> to this week"), "{html}");
    assert!(text.contains("Welcome to this week"), "{text}");
    assert!(html.contains("<a href=\"https://centre.example/\""), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("href=\"javascript:"),
        "{html}"
    );
    let now = shown_items(&project, NEWS);
    assert_eq!(now[0], (moved.clone(), moved_title), "moved to the top: {now:?}");
    assert!(!now.iter().any(|(id, _)| *id == dropped));

    let show = project.run(&["editions", "show", "--newsletter", NEWS]);
    for line in [
        format!("Keiko Editor drop {dropped}"),
        format!("Keiko Editor retitle {retitled}: A title the editor wrote"),
        format!("Keiko Editor move {moved} to {section}, position 1"),
        "Keiko Editor introduction (5 lines)".to_string(),
    ] {
        let squeezed: String = show.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squeezed.contains(&line), "{line:?} in\n{}", show.stdout);
    }

    // Approved, the edition is what the draft was; the dropped item is
    // still free for the next edition.
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    assert_eq!(project.read("out/archive/eu-japan-news/2026-11-23.html"), html);
    project.run(&["run", "--date", "2026-11-30"]).assert_code(0);
    edit(&["add", &dropped]).assert_code(0);
    assert!(
        project
            .read("out/drafts/eu-japan-news/2026-11-30.html")
            .contains(&dropped_title)
    );
    let again = edit(&["add", &retitled]);
    again
        .assert_code(1)
        .assert_stderr_has("was in an earlier edition of eu-japan-news");
}

#[test]
fn a_bad_correction_says_what_is_wrong() {
    let project = fetched();
    let none = project.run(&["edit", "--newsletter", NEWS, "drop", "0000000000000000"]);
    none.assert_code(1)
        .assert_stderr_has("eu-japan-news has no draft");
    project.run(&["run", "--date", DATE]).assert_code(0);
    let absent = project.run(&["edit", "--newsletter", NEWS, "drop", "0000000000000000"]);
    absent
        .assert_code(1)
        .assert_stderr_has("\"0000000000000000\" is not in eu-japan-news No. 1");
    let (item, _) = shown_items(&project, NEWS).remove(0);
    let section = project.run(&[
        "edit",
        "--newsletter",
        NEWS,
        "move",
        &item,
        "--section",
        "nowhere",
    ]);
    section
        .assert_code(1)
        .assert_stderr_has("eu-japan-news has no section \"nowhere\"; expected one of:");
    let unknown = project.run(&["edit", "--newsletter", NEWS, "add", "ffffffffffffffff"]);
    unknown
        .assert_code(1)
        .assert_stderr_has("no stored item \"ffffffffffffffff\"");
}

/// Runs `bulletin ARGS` with phase lines on and kills it as soon as it
/// says `phase: PHASE`; returns whether the kill landed before it ended.
fn kill_at(project: &Project, args: &[&str], phase: &str) -> bool {
    let mut child = project
        .command(args)
        .env("BULLETIN_PHASES", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap() == format!("phase: {phase}") {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap().signal() == Some(9)
}

#[test]
fn a_correction_or_an_approval_killed_half_way_is_completed() {
    let project = fetched();
    project.run(&["run", "--date", DATE]).assert_code(0);
    let (dropped, title) = shown_items(&project, NEWS).remove(0);
    assert!(
        kill_at(
            &project,
            &["edit", "--newsletter", NEWS, "drop", &dropped],
            "corrected"
        ),
        "killed after recording the correction, before the rebuild"
    );
    // The draft was not rebuilt, but the correction is in the store: the
    // next rebuild applies it.
    assert!(
        project
            .read("out/drafts/eu-japan-news/2026-11-23.html")
            .contains(&title)
    );
    project.run(&["run", "--date", DATE]).assert_code(0);
    assert!(
        !project
            .read("out/drafts/eu-japan-news/2026-11-23.html")
            .contains(&title)
    );
    assert!(editions_show(&project, NEWS).contains(&format!("drop {dropped}")));

    kill_at(&project, &["approve", "--newsletter", NEWS], "approved");
    // Approved in the store whether or not its files were written: a
    // correction is refused, and the next run writes what is missing.
    project
        .run(&["edit", "--newsletter", NEWS, "--edition", "1", "drop", &dropped])
        .assert_code(1);
    project.run(&["run", "--date", DATE]).assert_code(0);
    let html = project.read("out/archive/eu-japan-news/2026-11-23.html");
    assert!(!html.contains(&title));
    assert!(
        project
            .read("out/archive/eu-japan-news/index.html")
            .contains("No. 1")
    );
}

#[test]
fn a_missed_schedule_day_is_caught_up_with_its_own_date_and_items() {
    let project = Project::with_config(&weekly_config("approval = \"auto\""));
    project.story("early", "2026-11-12");
    project.run(&["run", "--date", "2026-11-16"]).assert_code(0);
    // The host is down on Monday the 23rd; the story of the 20th waits.
    project.story("missed", "2026-11-20");
    project
        .run(&["run", "--date", "2026-11-24"])
        .assert_code(0)
        .assert_stdout_has(
            "weekly           catching up: the edition due 2026-11-23 was not made on its day",
        );
    let html = project.read("out/archive/weekly/2026-11-23.html");
    assert!(
        html.contains("Story missed") && !html.contains("Story early"),
        "{html}"
    );
    let editions = project.editions();
    assert_eq!(editions[0]["number"], 2);
    assert_eq!(editions[0]["date"], "2026-11-23");
    // Caught up once: the next run the same week has nothing due.
    let wednesday = project.run(&["run", "--date", "2026-11-25"]);
    wednesday.assert_stdout_has("weekly           not due on 2026-11-25");
    assert_eq!(project.editions().as_array().unwrap().len(), 2);
}

#[test]
fn a_failed_send_is_completed_by_the_next_run() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = mailing(dead_port());
    project.run(&["run", "--date", DATE]).assert_code(0);
    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    project
        .run(&["run", "--date", DATE])
        .assert_code(1)
        .assert_stderr_has("SMTP server 127.0.0.1:");

    // The next morning the server is back: the approved edition goes out.
    with_mail(&project, sink.port, "");
    let next = project.run(&["run", "--date", "2026-11-24"]);
    next.assert_code(0).assert_stdout_has(
        "eu-japan-news No. 1 (dated 2026-11-23) was approved but not sent: sending it now",
    );
    next.assert_stdout_has("eu-japan-news No. 1: sent 3");
    assert_eq!(sink.deliveries().len(), 3);
    // Sent: the run after that leaves it alone.
    let after = project.run(&["run", "--date", "2026-11-25"]);
    after.assert_code(0);
    assert!(!after.stdout.contains("eu-japan-news No. 1"), "{}", after.stdout);
    assert_eq!(sink.deliveries().len(), 3);
}

#[test]
fn an_auto_run_that_cannot_send_publishes_nothing() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = mailing(dead_port());
    let config = project.read("config.toml");
    project.write(
        "config.toml",
        &config.replace("approval = \"required\"", "approval = \"auto\""),
    );
    let down = project.run(&["run", "--date", DATE]);
    down.assert_code(1);
    assert!(
        down.stderr.contains("SMTP server 127.0.0.1:") && down.stderr.contains("nothing was published"),
        "{}",
        down.stderr
    );
    with_mail(&project, sink.port, "");
    let config = project.read("config.toml");
    project.write(
        "config.toml",
        &config.replace("approval = \"required\"", "approval = \"auto\""),
    );
    let no_key = project
        .command(&["run", "--date", DATE])
        .env_remove(KEY_ENV)
        .output()
        .unwrap();
    assert_eq!(no_key.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&no_key.stderr);
    assert!(
        stderr.contains(KEY_ENV) && stderr.contains("nothing was published"),
        "{stderr}"
    );
    assert_eq!(project.editions(), serde_json::json!([]));
    assert!(!project.path("out/archive/eu-japan-news/2026-11-23.html").exists());

    project.run(&["run", "--date", DATE]).assert_code(0);
    assert!(project.path("out/archive/eu-japan-news/2026-11-23.html").exists());
    assert!(!sink.deliveries().is_empty());
}

#[test]
fn status_says_where_each_newsletter_stands_and_what_waits() {
    let project = fetched();
    project.run(&["run", "--date", DATE]).assert_code(0);
    project
        .run(&["approve", "--newsletter", NEWS, "--by", "Keiko Editor"])
        .assert_code(0);
    let status = project.run(&["status", "--date", "2026-11-24"]);
    status.assert_code(0);
    let out = &status.stdout;
    assert!(
        out.contains("eu-japan-news    No. 1 of 2026-11-23: approved by Keiko Editor on"),
        "{out}"
    );
    assert!(
        out.contains("industry-policy  No. 1 of 2026-11-23: draft,"),
        "{out}"
    );
    assert!(out.contains("next due: 2026-11-30"), "{out}");
    assert!(
        out.contains("next due: 2026-12-28"),
        "about-japan, the fourth Monday: {out}"
    );
    assert!(
        out.contains(
            "industry-policy No. 1 (2026-11-23) is a draft waiting for approval: `bulletin editions show \
             --newsletter industry-policy --edition 1`, then `bulletin approve --newsletter industry-policy --edition 1`"
        ),
        "{out}"
    );
    assert!(
        out.contains("eu-japan-news No. 1 is approved, not sent yet: the next `bulletin run` sends it"),
        "{out}"
    );
    // A week later with no run: overdue.
    let late = project.run(&["status", "--date", "2026-12-01"]);
    late.assert_stdout_has("next due: overdue since 2026-11-30");
    late.assert_stdout_has(
        "eu-japan-news: the edition due 2026-11-30 was not made; the next `bulletin run` catches up",
    );
}

#[test]
fn a_store_from_before_the_gate_opens_and_its_editions_count_as_sent() {
    let project = Project::with_config(&weekly_config("approval = \"auto\""));
    project.story("early", "2026-11-12");
    project.run(&["run", "--date", "2026-11-16"]).assert_code(0);
    // The store as the bulletin before the gate left it: schema version 5.
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    store
        .execute_batch(
            "DROP TABLE corrections; DROP TABLE schedule_days; DROP TABLE model; DROP TABLE model_learned;
             ALTER TABLE editions DROP COLUMN state; ALTER TABLE editions DROP COLUMN approved_by;
             ALTER TABLE editions DROP COLUMN approved_at; ALTER TABLE editions DROP COLUMN sent_at;
             ALTER TABLE editions DROP COLUMN intro; PRAGMA user_version = 5;",
        )
        .unwrap();
    drop(store);
    let editions = project.editions();
    assert_eq!(editions[0]["state"], "approved", "{editions}");
    assert_eq!(editions[0]["approved_by"], "bulletin", "{editions}");
    assert!(editions[0]["sent_at"].is_string(), "{editions}");
    let status = project.run(&["status", "--date", "2026-11-17"]);
    status.assert_stdout_has("weekly           No. 1 of 2026-11-16: sent");
    project.story("later", "2026-11-20");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert!(
        project
            .read("out/archive/weekly/2026-11-23.html")
            .contains("Story later")
    );
}
