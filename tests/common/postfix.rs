//! A private Postfix instance on 127.0.0.1: its real smtpd, queue manager,
//! local delivery and bounce daemon, in a temp folder of its own (config,
//! queue, data, mailboxes), started with `postfix -c DIR start` and stopped
//! with `postfix -c DIR stop` (never by name). It produces genuine DSNs.
//!
//! Its domains: `eu-japan.eu` and `readers.test`. Mail to `bounces`
//! (and `bounces+anything`) goes to the Maildir [`Postfix::bounces`];
//! `full` to an mbox file one kilobyte short of `mailbox_size_limit`, so
//! any newsletter makes it overflow; `ok` to a Maildir; any other local
//! part is an unknown user. smtpd accepts every recipient, so unknown
//! users are bounced by local delivery, as a DSN.
//!
//! Starting Postfix needs root (CI runs as root) and the `postfix` user
//! the Debian package creates: without them a test skips with a loud
//! message on a developer's machine, and fails under CI.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::is_root;

pub(crate) struct Postfix {
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

/// The largest mailbox file local delivery writes, in bytes.
const MAILBOX_LIMIT: usize = 400_000;

fn skip(why: &str) -> Option<Postfix> {
    if std::env::var_os("CI").is_some() {
        panic!("{why}; tests/run.sh installs Postfix (Debian package postfix) and CI runs as root");
    }
    eprintln!("\n*** SKIPPED: {why}; this test needs a private Postfix instance ***\n");
    None
}

impl Postfix {
    /// A running instance on a free port, or `None` (skip).
    pub(crate) fn start() -> Option<Postfix> {
        if !Path::new("/usr/sbin/postfix").exists() {
            return skip("Postfix is not installed (apt-get install postfix)");
        }
        if !is_root() {
            return skip("starting Postfix needs root");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let postfix = Postfix { port, dir };
        postfix.lay_out();
        let started = postfix.postfix("start");
        assert!(
            started.0,
            "postfix start failed:\n{}\n{}",
            started.1,
            postfix.log()
        );
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "Postfix's smtpd did not listen on {port}:\n{}",
                postfix.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(postfix)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// main.cf, master.cf, the aliases, the queue and data folders and the mailboxes.
    fn lay_out(&self) {
        let root = self.dir.path().display().to_string();
        // Local delivery to files runs as nobody: it must reach them.
        chmod(self.dir.path(), "755");
        for folder in ["conf", "queue", "data", "mail"] {
            std::fs::create_dir_all(self.path(folder)).unwrap();
        }
        chown(&["postfix"], &self.path("data"));
        for maildir in ["bounces", "ok"] {
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(self.path(&format!("mail/{maildir}/{sub}"))).unwrap();
            }
        }
        std::fs::write(self.path("mail/full.mbox"), "x".repeat(MAILBOX_LIMIT - 1000)).unwrap();
        chown(&["-R", "nobody"], &self.path("mail"));
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.eu-japan.eu
mydomain = eu-japan.eu
myorigin = eu-japan.eu
mydestination = eu-japan.eu, readers.test
local_recipient_maps =
alias_maps = texthash:{root}/conf/aliases
alias_database =
recipient_delimiter = +
mailbox_size_limit = {MAILBOX_LIMIT}
message_size_limit = {}
default_privs = nobody
allow_mail_to_files = alias
biff = no
smtputf8_enable = no
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
relayhost =
default_transport = error:no mail leaves this test instance
",
            MAILBOX_LIMIT / 2
        );
        std::fs::write(self.path("conf/main.cf"), main_cf).unwrap();
        let aliases =
            format!("bounces {root}/mail/bounces/\nfull {root}/mail/full.mbox\nok {root}/mail/ok/\n");
        std::fs::write(self.path("conf/aliases"), aliases).unwrap();
        let services = [
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "local unix - n n - - local",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ];
        let master_cf = format!(
            "127.0.0.1:{} inet n - n - - smtpd\n{}\n",
            self.port,
            services.join("\n")
        );
        std::fs::write(self.path("conf/master.cf"), master_cf).unwrap();
    }

    /// `postfix -c DIR COMMAND`: whether it worked, and what it said.
    fn postfix(&self, command: &str) -> (bool, String) {
        let output = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.path("conf"))
            .arg(command)
            .output()
            .expect("postfix runs");
        let said =
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), said)
    }

    /// The instance's log.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.path("maillog")).unwrap_or_default()
    }

    /// The Maildir where mail to `bounces+…` is delivered.
    pub(crate) fn bounces(&self) -> PathBuf {
        self.path("mail/bounces")
    }

    /// Mails delivered to a Maildir (`bounces` or `ok`) once `count` are
    /// there, or all there are after 30 seconds.
    pub(crate) fn wait_for(&self, maildir: &str, count: usize) -> Vec<String> {
        let folder = self.path(&format!("mail/{maildir}/new"));
        let start = Instant::now();
        loop {
            let mails: Vec<String> = std::fs::read_dir(&folder)
                .unwrap()
                .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
                .collect();
            if mails.len() >= count || start.elapsed() > Duration::from_secs(30) {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let (stopped, said) = self.postfix("stop");
        if !stopped {
            eprintln!("postfix -c {} stop: {said}", self.path("conf").display());
        }
    }
}

fn chmod(path: &Path, mode: &str) {
    assert!(
        Command::new("chmod")
            .arg(mode)
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

/// `chown ARGS… PATH`.
fn chown(args: &[&str], path: &Path) {
    assert!(
        Command::new("chown")
            .args(args)
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}
