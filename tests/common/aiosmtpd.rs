//! A second, independent SMTP server: Python's aiosmtpd, run by
//! `tests/smtp/server.py` from the venv `tests/run.sh` creates
//! (`target/aiosmtpd-venv`), in one of its strict modes.
//!
//! Without the venv a test skips with a loud message on a developer's
//! machine and fails under CI (`CI` set): CI can never skip these silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::sink::{dumps, header};
use super::{first_line, repo};

/// What the server insists on; see `tests/smtp/server.py`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    Normal,
    NoSmtpUtf8,
    RefuseSecondEhlo,
    Auth,
    StarttlsRefused,
    StarttlsBroken,
    /// STARTTLS that works, with a certificate signed by `tests/smtp/ca.pem`.
    Starttls,
    /// TLS from the first byte, with the same certificate.
    Tls,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::NoSmtpUtf8 => "no-smtputf8",
            Mode::RefuseSecondEhlo => "refuse-second-ehlo",
            Mode::Auth => "auth",
            Mode::StarttlsRefused => "starttls-refused",
            Mode::StarttlsBroken => "starttls-broken",
            Mode::Starttls => "starttls",
            Mode::Tls => "tls",
        }
    }
}

/// The credentials the `auth` mode accepts.
pub(crate) const USER: &str = "bulletin";
pub(crate) const PASSWORD: &str = "test-password";

pub(crate) struct Aiosmtpd {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// The venv's Python, when aiosmtpd is installed in it.
fn python() -> Option<PathBuf> {
    let python = repo().join("target/aiosmtpd-venv/bin/python");
    let works = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(python)
}

/// The venv's Python with dkimpy, the independent DKIM verifier that
/// `tests/smtp/dkim_verify.py` runs; `None` (skip) without it, a failure
/// under CI.
pub(crate) fn dkimpy() -> Option<PathBuf> {
    let python = repo().join("target/aiosmtpd-venv/bin/python");
    let works = Command::new(&python)
        .args(["-c", "import dkim, nacl"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works && std::env::var_os("CI").is_some() {
        panic!("dkimpy is not installed in target/aiosmtpd-venv; tests/run.sh installs it");
    }
    if !works {
        eprintln!(
            "\n*** SKIPPED: dkimpy is not installed in target/aiosmtpd-venv (tests/run.sh installs it) ***\n"
        );
    }
    works.then_some(python)
}

impl Aiosmtpd {
    /// The server in `mode` on a free port, or `None` (skip). `pipelining`
    /// makes it announce PIPELINING (it reads commands in order either way).
    pub(crate) fn start(mode: Mode, pipelining: bool) -> Option<Aiosmtpd> {
        Aiosmtpd::start_with(mode, pipelining, &[])
    }

    /// The same, with more of `server.py`'s options (`--max-connections N`).
    pub(crate) fn start_with(mode: Mode, pipelining: bool, options: &[&str]) -> Option<Aiosmtpd> {
        let Some(python) = python() else {
            if std::env::var_os("CI").is_some() {
                panic!("aiosmtpd is not installed in target/aiosmtpd-venv; tests/run.sh creates it");
            }
            eprintln!(
                "\n*** SKIPPED: aiosmtpd is not installed (python3 -m venv target/aiosmtpd-venv && \
                 target/aiosmtpd-venv/bin/pip install -r tests/smtp/requirements.txt); \
                 this test needs a second SMTP server ***\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(python);
        command
            .arg(repo().join("tests/smtp/server.py"))
            .args(["--mode", mode.arg(), "--dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if pipelining {
            command.arg("--pipelining");
        }
        command.args(options);
        let mut child = command.spawn().expect("python starts");
        let line = first_line(&mut child);
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server.py did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(Aiosmtpd { port, dir, child })
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message accepted, envelope lines (`X-Mail-From`, `X-Rcpt-To`,
    /// `X-Mail-Options`) first, in order of arrival.
    pub(crate) fn messages(&self) -> Vec<String> {
        dumps(self.dir(), |p| p.extension().is_some_and(|e| e == "eml"))
    }

    /// The envelope recipients of every message, sorted.
    pub(crate) fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .messages()
            .iter()
            .map(|m| header(m, "X-Rcpt-To").unwrap())
            .collect();
        all.sort();
        all
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
