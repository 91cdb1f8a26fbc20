//! The store and the edition cycle: no repeats across runs, numbered
//! editions, conditional GETs, a locked and idempotent `bulletin run` that
//! survives being killed, and clear errors for a bad store file.

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::http::{Reply, Server, serve};
use crate::common::{Project, chmod, weekly_config};

/// The weekly newsletter of local news, looking back 14 days, its fetches
/// timing out after 5 s.
fn config() -> String {
    format!("[fetch]\ntimeout_secs = 5\n{}", weekly_config("window_days = 14"))
}

fn project() -> Project {
    Project::with_config(&config())
}

/// Links of the items in a rendered edition.
fn links(project: &Project, date: &str) -> HashSet<String> {
    project
        .read(&format!("out/archive/weekly/{date}.html"))
        .split("href=\"https://news.example/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

fn open_store(project: &Project) -> rusqlite::Connection {
    rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap()
}

#[test]
fn consecutive_weekly_editions_never_repeat_an_item() {
    let project = project();
    project.story("a", "2026-11-20");
    project.story("b", "2026-11-22");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(
        links(&project, "2026-11-23"),
        HashSet::from(["a".into(), "b".into()])
    );
    // c was published before the first edition but only appears now; d is new.
    project.story("c", "2026-11-21");
    project.story("d", "2026-11-27");
    project
        .run(&["run", "--date", "2026-11-30"])
        .assert_code(0)
        .assert_stdout_has("weekly           No. 2 ");
    assert_eq!(
        links(&project, "2026-11-30"),
        HashSet::from(["c".into(), "d".into()])
    );
    assert!(
        project
            .read("out/archive/weekly/2026-11-30.html")
            .contains("No. 2 · 30/11/2026")
    );
    let editions = project.editions();
    let numbers: Vec<(u64, &str)> = editions
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["number"].as_u64().unwrap(), e["date"].as_str().unwrap()))
        .collect();
    assert_eq!(numbers, [(2, "2026-11-30"), (1, "2026-11-23")]);
}

#[test]
fn rebuild_keeps_number_and_bytes() {
    let project = project();
    project.story("a", "2026-11-20");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let first = project.read("out/archive/weekly/2026-11-23.html");
    let first_text = project.read("out/archive/weekly/2026-11-23.txt");
    // A changed story and a new one do not change what was published.
    project.story("a", "2026-11-21");
    project.story("b", "2026-11-22");
    project.run(&["fetch"]).assert_code(0);
    let rebuild = project.run(&["build", "--date", "2026-11-23"]);
    rebuild.assert_code(0).assert_stdout_has("No. 1 ");
    rebuild.assert_stdout_has("already published\n");
    assert!(
        !rebuild.stdout.contains("written again"),
        "nothing was missing: {}",
        rebuild.stdout
    );
    assert_eq!(project.read("out/archive/weekly/2026-11-23.html"), first);
    assert_eq!(project.read("out/archive/weekly/2026-11-23.txt"), first_text);
    std::fs::remove_file(project.path("out/archive/weekly/2026-11-23.txt")).unwrap();
    let rebuild = project.run(&["build", "--date", "2026-11-23"]);
    rebuild.assert_stdout_has("already published; its missing files written again");
    assert_eq!(project.read("out/archive/weekly/2026-11-23.txt"), first_text);
    let count: u32 = open_store(&project)
        .query_row("SELECT count(*) FROM editions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1);
}

#[test]
fn run_is_idempotent_and_follows_the_schedule() {
    let project = project();
    project.story("a", "2026-11-20");
    let tuesday = project.run(&["run", "--date", "2026-11-24"]);
    tuesday
        .assert_code(0)
        .assert_stdout_has("weekly           not due on 2026-11-24");
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let again = project.run(&["run", "--date", "2026-11-23"]);
    again.assert_code(0).assert_stdout_has("already published");
    again.assert_stdout_has("0 new, 0 updated, 0 unchanged; 1 of 1 sources not modified");
    assert_eq!(project.editions().as_array().unwrap().len(), 1);
}

#[test]
fn changed_item_is_updated_not_duplicated() {
    let project = project();
    project.story("a", "2026-11-20");
    project.run(&["fetch"]).assert_code(0);
    project.write(
        "feeds/local/a.md",
        "+++\ntitle = \"Story a, corrected\"\nlink = \"https://news.example/a\"\npublished = 2026-11-20\n+++\nAbout a.\n",
    );
    let second = project.run(&["fetch"]);
    second.assert_stdout_has("0 new, 1 updated, 0 unchanged");
    let items = project.run(&["items", "--format", "json"]).json();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["title"], "Story a, corrected");
}

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Remote</title>
<item><title>Remote story</title><link>https://remote.example/1</link><pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"#;

fn with_remote(server: &Server, path: &str) -> String {
    format!(
        "{}\n[[source]]\nname = \"Remote\"\nfeed = \"{}\"\nnewsletters = [\"weekly\"]\n",
        config(),
        server.url(path)
    )
}

#[test]
fn second_fetch_sends_conditional_gets_and_counts_304s() {
    let server = serve(vec![(
        "/feed.xml",
        Reply::Tagged("application/rss+xml", FEED.into()),
    )]);
    let project = project();
    project.story("a", "2026-11-20");
    project.write("config.toml", &with_remote(&server, "/feed.xml"));
    let first = project.run(&["fetch"]);
    first
        .assert_code(0)
        .assert_stdout_has("2 new, 0 updated, 0 unchanged; 0 of 2 sources not modified");
    let second = project.run(&["fetch"]);
    second
        .assert_code(0)
        .assert_stdout_has("0 new, 0 updated, 0 unchanged; 2 of 2 sources not modified");
    let remote = second.stdout.lines().find(|l| l.starts_with("Remote")).unwrap();
    assert!(remote.ends_with("not modified"), "{remote}");
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].ends_with("[]"),
        "first GET is unconditional: {requests:?}"
    );
    assert!(
        requests[1].ends_with(&format!("[\"v{}\"]", FEED.len())),
        "second sends If-None-Match: {requests:?}"
    );
    drop(requests);
    // The items of the 304 source are still there for the edition.
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    assert!(
        project
            .read("out/archive/weekly/2026-11-23.html")
            .contains("Remote story")
    );
}

/// Waits until the server has seen `count` requests.
fn wait_for_requests(server: &Server, count: usize) {
    let start = Instant::now();
    while server.requests.lock().unwrap().len() < count {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no request reached the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `run --date 2026-11-23` started in the background, its output dropped.
fn spawn_run(project: &Project) -> Child {
    project
        .command(&["run", "--date", "2026-11-23"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_with_code_4() {
    let server = serve(vec![("/slow.xml", Reply::Hang(Duration::from_secs(2)))]);
    let project = project();
    project.story("a", "2026-11-20");
    project.write("config.toml", &with_remote(&server, "/slow.xml"));
    let mut first = spawn_run(&project);
    wait_for_requests(&server, 1);
    let second = project.run(&["run", "--date", "2026-11-23"]);
    second.assert_code(4);
    assert_eq!(second.stderr.lines().count(), 1, "one line: {}", second.stderr);
    second.assert_stderr_has("another bulletin is running on this store");
    assert!(
        second.stdout.is_empty(),
        "the second run did nothing: {}",
        second.stdout
    );
    let status = first.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the first run finishes (its slow feed times out)"
    );
}

/// Invariants after any number of crashes: one edition per newsletter and
/// date, no item in two editions of a newsletter, a sound database.
fn assert_consistent(project: &Project) {
    let db = open_store(project);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let twice: u32 = db
        .query_row("SELECT count(*) FROM (SELECT item_id FROM edition_items GROUP BY newsletter, item_id HAVING count(*) > 1)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(twice, 0);
    let numbers: Vec<(u32, String)> = db
        .prepare("SELECT number, date FROM editions WHERE newsletter = 'weekly' ORDER BY number")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(numbers, [(1, "2026-11-23".to_string())]);
}

#[test]
fn runs_killed_at_any_moment_are_completed_by_the_next() {
    let project = project();
    for (i, day) in (15..=22).enumerate() {
        project.story(&format!("s{i}"), &format!("2026-11-{day}"));
    }
    // Kill the run after a growing delay: during start-up, fetch, build and writing.
    for delay_ms in [0, 2, 4, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 70, 100] {
        let mut child = spawn_run(&project);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        if project.path("bulletin.sqlite").exists() {
            let integrity: String = open_store(&project)
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(integrity, "ok", "after a kill at {delay_ms} ms");
        }
    }
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_consistent(&project);
    let links = links(&project, "2026-11-23");
    assert_eq!(links.len(), 8, "every story is in the edition: {links:?}");
}

#[test]
fn corrupt_store_is_a_clear_error_and_left_alone() {
    let project = project();
    project.story("a", "2026-11-20");
    let garbage = "this is not a database, it is a note someone saved here\n".repeat(200);
    project.write("bulletin.sqlite", &garbage);
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(1)
        .assert_stderr_has("bulletin.sqlite: not a bulletin store or corrupt");
    run.assert_stderr_has("restore it from a backup");
    assert_eq!(project.read("bulletin.sqlite"), garbage, "never silently reset");
}

/// A project with one story fetched, then its store's schema version
/// set to `version`.
fn fetched_with_schema_version(version: i64) -> Project {
    let project = project();
    project.story("a", "2026-11-20");
    project.run(&["fetch"]).assert_code(0);
    open_store(&project)
        .pragma_update(None, "user_version", version)
        .unwrap();
    project
}

#[test]
fn store_from_a_newer_bulletin_is_refused() {
    let project = fetched_with_schema_version(99);
    project
        .run(&["fetch"])
        .assert_code(1)
        .assert_stderr_has("written by a newer bulletin (schema version 99, this one knows up to ");
}

/// A schema version below zero is no bulletin's: the store is refused by
/// name, by the commands that write and those that only read, and left as
/// it was (it panicked, indexing the migrations with `-1 as usize`).
#[test]
fn store_with_a_negative_schema_version_is_not_a_bulletin_store() {
    let project = fetched_with_schema_version(-1);
    for command in [&["fetch"][..], &["editions"], &["items"]] {
        let run = project.run(command);
        run.assert_code(1);
        assert!(
            run.stderr
                .contains("bulletin.sqlite: not a bulletin store (schema version -1)"),
            "{command:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{command:?}: {}", run.stderr);
    }
    let version: i64 = open_store(&project)
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, -1, "left as it was");
}

#[test]
fn a_bad_local_file_is_reported_on_every_fetch() {
    let project = project();
    project.story("a", "2026-11-20");
    project.write(
        "feeds/local/bad.md",
        "+++\ntitle = \"No link\"\npublished = 2026-11-20\n+++\n",
    );
    for _ in 0..2 {
        let run = project.run(&["fetch"]);
        run.assert_code(3)
            .assert_stderr_has("bad.md:2:1: missing field `link`");
    }
}

#[test]
fn build_before_any_fetch_says_what_to_do() {
    let project = project();
    project.story("a", "2026-11-20");
    let run = project.run(&["build", "--date", "2026-11-23"]);
    run.assert_code(1)
        .assert_stderr_has("holds no items yet: run `bulletin fetch`");
}

/// `bulletin ARGS` run to the end as a user who may not write the project.
fn as_reader(project: &Project, args: &[&str]) -> crate::common::Run {
    crate::common::Run::from(project.reader_command(args).output().expect("bulletin runs"))
}

#[test]
fn read_only_commands_work_on_a_store_they_may_not_write() {
    let project = Project::published_to_one_subscriber();
    let commands: [&[&str]; 5] = [
        &["items"],
        &["items", "--format", "json"],
        &["editions"],
        &["subscribers", "list"],
        &["feeds"],
    ];
    let expected: Vec<String> = commands
        .iter()
        .map(|args| project.run(args).assert_code(0).stdout.clone())
        .collect();
    let store = project.path("bulletin.sqlite");
    let reads_as_before = |state: &str| {
        let before = std::fs::read(&store).unwrap();
        chmod(&store, 0o444);
        chmod(project.dir.path(), 0o555);
        let runs: Vec<_> = commands.iter().map(|args| as_reader(&project, args)).collect();
        chmod(project.dir.path(), 0o755);
        chmod(&store, 0o644);
        for ((args, expected), run) in commands.iter().zip(&expected).zip(runs) {
            run.assert_code(0);
            assert_eq!(&run.stdout, expected, "{state}: {args:?}");
        }
        assert_eq!(
            std::fs::read(&store).unwrap(),
            before,
            "{state}: the store is untouched"
        );
    };
    // The write-ahead log and its index, as a run leaves them (or not), owned by another user.
    reads_as_before("as the run left it");
    // Every commit in the main file; no -wal or -shm, which the reader may not create.
    open_store(&project)
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    assert!(!project.path("bulletin.sqlite-wal").exists());
    assert!(!project.path("bulletin.sqlite-shm").exists());
    reads_as_before("checkpointed");
    project.write("bulletin.sqlite-wal", "");
    project.write("bulletin.sqlite-shm", "");
    reads_as_before("with an empty log and index left by a writer");
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn files_with_personal_data_are_for_their_owner_only() {
    let project = Project::published_to_one_subscriber();
    let store = project.path("bulletin.sqlite");
    assert_eq!(format!("{:o}", mode(&store)), "600", "the store");
    // SQLite gives the log and its index the store's mode: a write shows them.
    let writer = open_store(&project);
    writer
        .execute("UPDATE subscribers SET name = 'Jane D.'", [])
        .unwrap();
    for side in ["bulletin.sqlite-wal", "bulletin.sqlite-shm"] {
        assert_eq!(format!("{:o}", mode(&project.path(side))), "600", "{side}");
    }
    drop(writer);
    let mail = project.path("out/mail");
    let mut folders = vec![mail];
    let mut messages = 0;
    while let Some(folder) = folders.pop() {
        assert_eq!(format!("{:o}", mode(&folder)), "700", "{}", folder.display());
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                assert_eq!(format!("{:o}", mode(&path)), "600", "{}", path.display());
                messages += 1;
            }
        }
    }
    assert_eq!(messages, 1, "Jane's message");
}
