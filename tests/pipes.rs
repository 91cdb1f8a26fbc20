//! Output piped into a reader that stops early (`bulletin items | head -1`):
//! a closed pipe is how such a reader says "enough", not an error. Exit 0,
//! print nothing, as ripgrep and the coreutils do.

use std::process::Stdio;

use crate::common::Project;

/// Runs `bulletin ARGS` with stdout a pipe whose reading end is already
/// closed, so the first write fails with `EPIPE` (Rust ignores `SIGPIPE`).
fn run_into_closed_pipe(project: &Project, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = project
        .command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("bulletin runs");
    let code = output.status.code().expect("exited, not killed");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn closed_stdout_pipe_exits_0_silently() {
    let project = Project::bundled();
    project.run(&["fetch"]).assert_code(0);
    for args in [
        &["items"][..],
        &["items", "--format", "json"],
        &["items", "--explain"],
        &["feeds"],
        &["editions"],
        &["check"],
        &["parse", "feeds/meti-news.json"],
    ] {
        let (code, stderr) = run_into_closed_pipe(&project, args);
        assert_eq!((code, stderr.as_str()), (0, ""), "bulletin {args:?} | head -0");
    }
}

#[test]
fn commands_that_change_something_finish_their_work_when_stdout_closes() {
    let project = Project::with_one_subscriber();
    for args in [
        &["subscribers", "import", "subscribers.csv"][..],
        &["run", "--date", "2026-11-23"],
        &["build", "--date", "2026-11-24"],
        &["send", "--newsletter", "eu-japan-news"],
    ] {
        let (code, stderr) = run_into_closed_pipe(&project, args);
        assert_eq!(code, 0, "bulletin {args:?} | head -0: {stderr}");
        assert!(!stderr.contains("panicked"), "bulletin {args:?}: {stderr}");
    }
    // All of it was done: imported, published (twice) and sent.
    let editions = project.run(&["editions"]).assert_code(0).stdout.clone();
    let on = |date: &str| editions.lines().filter(|l| l.contains(date)).count();
    assert_eq!(on("2026-11-23"), 5, "{editions}");
    assert!(on("2026-11-24") > 0, "{editions}");
    let mails = std::fs::read_dir(project.path("out/mail/eu-japan-news/2"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(mails, 1, "Jane's copy of the latest edition");
}
