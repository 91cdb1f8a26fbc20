//! Helpers: a project folder in a temp dir, the binary, a tiny HTTP server.

pub(crate) mod aiosmtpd;
pub(crate) mod browser;
pub(crate) mod client;
pub(crate) mod draft;
pub(crate) mod http;
pub(crate) mod loopback;
pub(crate) mod mail;
pub(crate) mod message;
pub(crate) mod nginx;
pub(crate) mod postfix;
pub(crate) mod server;
pub(crate) mod signup;
pub(crate) mod sink;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// The environment variable the test configs name for the signing key.
pub(crate) const KEY_ENV: &str = "BULLETIN_TEST_KEY";
pub(crate) const KEY: &str = "test-signing-key-0123456789";

/// The newsletters of the bundled config, in its order.
pub(crate) const NEWSLETTERS: [&str; 5] = [
    "eu-japan-news",
    "industry-policy",
    "about-japan",
    "tax-procurement",
    "tech-transfer",
];

/// The repository root, where the bundled `config.toml` and `feeds/` live.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A one-newsletter config: "digest", one news section of `limit` items,
/// these `[fetch]` settings and these `[[source]]` tables.
pub(crate) fn digest_config(fetch: &str, limit: usize, sources: &str) -> String {
    format!(
        r#"
[site]
name = "Test centre"
base_url = "https://centre.example/"

[fetch]
{fetch}

[[newsletter]]
id = "digest"
title = "Digest"
description = "All of it"
audience = "everyone"

[[newsletter.section]]
id = "news"
title = "News"
kinds = ["news"]
limit = {limit}
{sources}"#
    )
}

/// A one-newsletter config: "weekly", on Mondays, one news section of ten
/// items from the local folder `feeds/local` (see [`Project::story`]), with
/// these more `[[newsletter]]` settings.
pub(crate) fn weekly_config(settings: &str) -> String {
    format!(
        r#"
[site]
name = "Test centre"
base_url = "https://centre.example/"

[[newsletter]]
id = "weekly"
title = "Weekly"
description = "Every Monday"
audience = "everyone"
schedule = {{ weekday = "monday" }}
{settings}

[[newsletter.section]]
id = "news"
title = "News"
kinds = ["news"]
limit = 10

[[source]]
name = "Local news"
local = "feeds/local"
newsletters = ["weekly"]
"#
    )
}

/// `[[source]]` tables for these feeds (name, path or URL), all for "digest".
pub(crate) fn feed_sources(feeds: &[(&str, String)]) -> String {
    feeds
        .iter()
        .map(|(name, url)| {
            format!("\n[[source]]\nname = \"{name}\"\nfeed = \"{url}\"\nnewsletters = [\"digest\"]\n")
        })
        .collect()
}

/// Whether the tests run as root, which ignores file modes.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A throwaway project folder; removed when dropped.
pub(crate) struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn empty() -> Project {
        Project {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// A project of only this `config.toml`.
    pub(crate) fn with_config(config: &str) -> Project {
        let project = Project::empty();
        project.write("config.toml", config);
        project
    }

    /// A copy of the bundled default (`config.toml` and `feeds/`) with
    /// `approval = "auto"`: editions are published and mailed when due, as
    /// the tests of the edition cycle and the send expect. The editor's gate
    /// has its own tests, on [`Project::bundled_as_shipped`].
    pub(crate) fn bundled() -> Project {
        let project = Project::bundled_as_shipped();
        let config = project.read("config.toml");
        assert!(
            config.contains("approval = \"required\""),
            "the bundled config requires approval"
        );
        project.write(
            "config.toml",
            &config.replace("approval = \"required\"", "approval = \"auto\""),
        );
        project
    }

    /// The bundled project with the test signing key and a `subscribers.csv`
    /// of one subscriber (Jane Doe, a German company, EU-Japan NEWS), not
    /// imported yet.
    pub(crate) fn with_one_subscriber() -> Project {
        let project = Project::bundled();
        project.sign_with_test_key();
        project.write(
            "subscribers.csv",
            "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
             jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10\n",
        );
        project
    }

    /// [`Project::with_one_subscriber`] imported, after `run` on 2026-11-23.
    pub(crate) fn published_to_one_subscriber() -> Project {
        let project = Project::with_one_subscriber();
        project
            .run(&["subscribers", "import", "subscribers.csv"])
            .assert_code(0);
        project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
        project
    }

    /// A copy of the bundled default as shipped: `config.toml` and `feeds/`.
    pub(crate) fn bundled_as_shipped() -> Project {
        let project = Project::empty();
        std::fs::copy(repo().join("config.toml"), project.path("config.toml")).unwrap();
        copy_dir(&repo().join("feeds"), &project.path("feeds"));
        project
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub(crate) fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        let path = self.path(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// `bulletin ARGS --config <project>/config.toml`, ready to run.
    /// The signing key is in [`KEY_ENV`].
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bulletin"));
        command
            .args(args)
            .arg("--config")
            .arg(self.path("config.toml"))
            .current_dir(self.dir.path())
            .env(KEY_ENV, KEY);
        command
    }

    /// Replaces the first `from` in `config.toml` with `to` and returns the
    /// new config. Panics when `from` is not there: a test must not go on
    /// with a config it did not mean to write.
    #[track_caller]
    pub(crate) fn edit_config(&self, from: &str, to: &str) -> String {
        let config = self.read("config.toml");
        assert!(config.contains(from), "config.toml has no {from:?}:\n{config}");
        let config = config.replacen(from, to, 1);
        self.write("config.toml", &config);
        config
    }

    /// Unsubscribe links signed with the key in [`KEY_ENV`], which
    /// [`Project::command`] sets, instead of the bundled config's variable.
    #[track_caller]
    pub(crate) fn sign_with_test_key(&self) {
        self.edit_config("BULLETIN_UNSUBSCRIBE_KEY", KEY_ENV);
    }

    /// Writes `csv` to `subscribers.csv` and imports it, succeeding.
    #[track_caller]
    pub(crate) fn import(&self, csv: &str) {
        self.write("subscribers.csv", csv);
        self.run(&["subscribers", "import", "subscribers.csv"])
            .assert_code(0);
    }

    /// Imports `csv` as a store from before issue 30 holds it: every
    /// newsletter of every row, the EU-only ones too, which the import now
    /// refuses to whom they are not for (as the sign-up form does); so that
    /// what a send or the preview does with such a subscriber is tested.
    #[track_caller]
    pub(crate) fn import_from_before(&self, csv: &str) {
        let config = self.read("config.toml");
        self.write(
            "config.toml",
            &config.replace("audience = \"eu-organisations\"", "audience = \"everyone\""),
        );
        self.import(csv);
        self.write("config.toml", &config);
    }

    /// `subscribers list --format json`: one object a subscriber.
    pub(crate) fn subscribers(&self) -> Vec<serde_json::Value> {
        self.run(&["subscribers", "list", "--format", "json"])
            .assert_code(0)
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    /// `editions --format json`: an array, one object an edition.
    pub(crate) fn editions(&self) -> serde_json::Value {
        self.run(&["editions", "--format", "json"]).json()
    }

    /// A local news item, "Story NAME", published on `published` (a date).
    pub(crate) fn story(&self, name: &str, published: &str) {
        self.write(
            &format!("feeds/local/{name}.md"),
            &format!(
                "+++\ntitle = \"Story {name}\"\nlink = \"https://news.example/{name}\"\npublished = {published}\n+++\nAbout {name}.\n"
            ),
        );
    }

    /// `fetch`, then `build BUILD_ARGS`, both succeeding: the store holds
    /// the items and the editions are published.
    #[track_caller]
    pub(crate) fn fetch_and_build(&self, build_args: &[&str]) {
        self.run(&["fetch"]).assert_code(0);
        let mut args = vec!["build"];
        args.extend_from_slice(build_args);
        self.run(&args).assert_code(0);
    }

    /// `bulletin ARGS` as a user who may read the project but not write it:
    /// as root (which ignores file modes) the user `nobody`, else this user.
    pub(crate) fn reader_command(&self, args: &[&str]) -> Command {
        let command = self.command(args);
        if !is_root() {
            return command;
        }
        let mut dropped = Command::new("setpriv");
        dropped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(command.get_program())
            .args(command.get_args())
            .current_dir(self.dir.path())
            .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))));
        dropped
    }

    /// Runs `bulletin ARGS` to the end.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("bulletin runs"))
    }
}

/// The first line `child` writes to its piped stdout: a server's
/// "listening on" line, once it is ready.
pub(crate) fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .unwrap();
    line
}

/// Sets the mode of `path`.
pub(crate) fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file under `folder`, at any depth.
pub(crate) fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What a run of the binary printed and returned.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
        }
    }
}

impl Run {
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub(crate) fn assert_stdout_has(&self, text: &str) -> &Run {
        assert_has("stdout", &self.stdout, text);
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub(crate) fn assert_stderr_has(&self, text: &str) -> &Run {
        assert_has("stderr", &self.stderr, text);
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

#[track_caller]
fn assert_has(name: &str, output: &str, text: &str) {
    assert!(output.contains(text), "{name} lacks {text:?}:\n{output}");
}
