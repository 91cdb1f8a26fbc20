//! Postfix's `smtp-sink` on 127.0.0.1: a real SMTP server that dumps each
//! message it accepts to a file, with its fault injection options.
//!
//! When it is not installed, a test skips with a loud message on a
//! developer's machine and fails under CI (`CI` set), where `tests/run.sh`
//! installs it: CI can never skip these tests silently.

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::is_root;

pub(crate) struct Sink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn program() -> Option<PathBuf> {
    ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Sink {
    /// A sink on a free port with these extra options, or `None` (skip).
    pub(crate) fn start(options: &[&str]) -> Option<Sink> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Sink::start_on(port, options)
    }

    /// A sink on `port` (e.g. a restarted server), or `None` (skip).
    pub(crate) fn start_on(port: u16, options: &[&str]) -> Option<Sink> {
        let Some(program) = program() else {
            if std::env::var_os("CI").is_some() {
                panic!("smtp-sink is not installed; tests/run.sh installs it (Debian package postfix)");
            }
            eprintln!(
                "\n*** SKIPPED: smtp-sink is not installed (apt-get install postfix); this test needs a real SMTP server ***\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(program);
        if is_root() {
            // As root, smtp-sink insists on dropping privileges; its dumps are then written as nobody.
            Command::new("chown")
                .arg("nobody")
                .arg(dir.path())
                .status()
                .unwrap();
            command.args(["-u", "nobody"]);
        }
        let template = format!("{}/%H%M%S.", dir.path().display());
        let child = command
            .args(options)
            .args(["-d", &template, &format!("127.0.0.1:{port}"), "128"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink starts");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "smtp-sink did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Sink { port, dir, child })
    }

    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server as a crash would, keeping what it dumped.
    pub(crate) fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message received, as dumped (headers with `X-Rcpt-Args` first).
    /// The sink deletes the dump of a transaction the client abandoned, so a
    /// file listed a moment ago may be gone: it was no message.
    pub(crate) fn messages(&self) -> Vec<String> {
        dumps(self.dir(), |_| true)
    }

    /// Waits until at least `count` messages have begun to arrive (a kill
    /// then lands mid-send on a fast machine or a slow one) and returns how
    /// many have. A message still arriving counts: if the client is killed,
    /// the sink deletes it again. Panics after a minute: that is a hang, not
    /// a slow machine.
    pub(crate) fn wait_for_messages(&self, count: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let arrived = std::fs::read_dir(self.dir()).unwrap().count();
            if arrived >= count {
                return arrived;
            }
            assert!(
                Instant::now() < deadline,
                "only {arrived} of {count} messages arrived in a minute"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many times each Message-ID arrived.
    pub(crate) fn message_ids(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for message in self.messages() {
            *counts
                .entry(header(&message, "Message-ID").expect("a Message-ID"))
                .or_default() += 1;
        }
        counts
    }

    /// Asserts that `count` messages arrived, each once.
    #[track_caller]
    pub(crate) fn assert_each_once(&self, count: usize) {
        let ids = self.message_ids();
        assert_eq!(ids.len(), count, "{ids:?}");
        assert!(ids.values().all(|arrived| *arrived == 1), "{ids:?}");
    }

    /// (recipient, List-Id) of every message received.
    pub(crate) fn deliveries(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .messages()
            .iter()
            .map(|m| {
                let rcpt = header(m, "X-Rcpt-Args").unwrap();
                let rcpt = rcpt
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string();
                let list = header(m, "List-Id").unwrap();
                let list = list
                    .rsplit('<')
                    .next()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string();
                (rcpt, list)
            })
            .collect();
        all.sort();
        all
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a header, unfolded, from a raw message.
pub(crate) fn header(message: &str, name: &str) -> Option<String> {
    let head = message
        .split("\r\n\r\n")
        .next()
        .unwrap_or(message)
        .replace("\r\n", "\n");
    let head = head.split("\n\n").next().unwrap().to_string();
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push(' ');
                current.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((key, rest)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_string());
        }
    }
    value
}

/// The files of `dir` that `wanted` picks, read as text in name order (the
/// order of arrival); one gone since it was listed is left out.
pub(crate) fn dumps(dir: &Path, wanted: impl Fn(&Path) -> bool) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| wanted(p))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| match std::fs::read(f) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("reading {}: {e}", f.display()),
        })
        .collect()
}
