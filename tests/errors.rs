//! An error says each thing once: the file it is about and its cause, with
//! no layer repeating the words of the one under it.

use crate::common::Project;

/// How many times `needle` appears in `text`.
fn times(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn parse_of_a_missing_file_names_it_once() {
    let project = Project::bundled();
    let missing = project.path("missing-feed.xml");
    let run = project.run(&["parse", missing.to_str().unwrap()]);
    run.assert_code(1);
    assert_eq!(times(&run.stderr, "missing-feed.xml"), 1, "{}", run.stderr);
    assert_eq!(
        times(&run.stderr, "No such file or directory"),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn every_command_on_a_corrupt_store_says_why_once() {
    let project = Project::bundled();
    project.write("bulletin.sqlite", &"not a database, a note\n".repeat(300));
    let commands: [&[&str]; 8] = [
        &["fetch"],
        &["feeds"],
        &["items"],
        &["editions"],
        &["build", "--date", "2026-11-23"],
        &["run", "--date", "2026-11-23"],
        &["subscribers", "list"],
        &["send", "--newsletter", "eu-japan-news"],
    ];
    for args in commands {
        let run = project.run(args);
        run.assert_code(1);
        let stderr = &run.stderr;
        assert_eq!(times(stderr, "file is not a database"), 1, "{args:?}: {stderr}");
        assert_eq!(times(stderr, "bulletin.sqlite"), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("restore it from a backup"), "{args:?}: {stderr}");
    }
}
