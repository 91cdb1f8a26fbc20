//! A running `bulletin serve` or `bulletin preview`: the one way the tests
//! start either. It listens on a free port of 127.0.0.1, is spoken to by
//! the one [`Client`], and is stopped by its PID when dropped.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{Client, Response, read_response};
use super::{Project, first_line};

/// The date `preview` shows the editions of, unless a test says otherwise.
pub(crate) const PREVIEW_DATE: &str = "2026-11-23";

pub(crate) struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    /// The page its first line names: `/unsubscribe` for serve, `/` for preview.
    pub(crate) path: String,
    client: Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `bulletin serve --listen 127.0.0.1:0 EXTRA…`, its stderr dropped.
    pub(crate) fn serve(project: &Project, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::start(project.command(&args))
    }

    /// `bulletin preview --listen 127.0.0.1:0 --date` [`PREVIEW_DATE`] `EXTRA…`,
    /// its stderr dropped.
    pub(crate) fn preview(project: &Project, extra: &[&str]) -> Server {
        let mut args = vec!["preview", "--listen", "127.0.0.1:0", "--date", PREVIEW_DATE];
        args.extend_from_slice(extra);
        Server::start(project.command(&args))
    }

    /// `bulletin serve` and `bulletin preview`, both with `extra`: for what
    /// the two servers must do alike.
    pub(crate) fn serve_and_preview(project: &Project, extra: &[&str]) -> [Server; 2] {
        [Server::serve(project, extra), Server::preview(project, extra)]
    }

    /// `bulletin serve` on a free port, its clock at `now` (`BULLETIN_NOW`),
    /// its stderr appended to `serve.log` in the project.
    pub(crate) fn serve_at(project: &Project, now: &str) -> Server {
        Server::serve_on(project, now, "127.0.0.1:0")
    }

    /// [`Server::serve_at`] listening on `listen`.
    pub(crate) fn serve_on(project: &Project, now: &str, listen: &str) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(project.path("serve.log"))
            .unwrap();
        let mut command = project.command(&["serve", "--listen", listen]);
        command.env("BULLETIN_NOW", now);
        Server::launch(command, Stdio::from(log))
    }

    /// Runs `command` (a `serve` or `preview` the test wrote itself), its
    /// stderr dropped, until its first line names where it listens.
    pub(crate) fn start(command: Command) -> Server {
        Server::launch(command, Stdio::null())
    }

    fn launch(mut command: Command, stderr: Stdio) -> Server {
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let line = first_line(&mut child);
        let url = line
            .split_whitespace()
            .nth(2)
            .unwrap_or_else(|| panic!("the first line names the address: {line:?}"));
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        Server {
            child,
            addr: addr.to_string(),
            path: path.to_string(),
            client: Client::new(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL its first line named: serve's unsubscribe page, preview's index.
    pub(crate) fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// GET `target` (a path and query): status and body.
    pub(crate) fn get(&self, target: &str) -> (u16, String) {
        self.client.get(&self.link(target))
    }

    /// POST the form `fields` to `target` with these extra headers: status and body.
    pub(crate) fn post(
        &self,
        target: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        self.client.post(&self.link(target), fields, headers)
    }

    /// [`Server::post`], with the `Location` too.
    pub(crate) fn submit(&self, target: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        self.client.submit(&self.link(target), fields, headers)
    }

    /// The session cookie (`name=value`) the last page set.
    pub(crate) fn cookie(&self) -> Option<String> {
        self.client.cookie()
    }

    /// The URL of `target` (a path and query) on this server.
    pub(crate) fn link(&self, target: &str) -> String {
        format!("http://{}/{}", self.addr, target.trim_start_matches('/'))
    }

    /// A new connection, reads timing out after 10 s.
    pub(crate) fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
    }

    /// Sends `request` on a new connection; the whole response, as text.
    pub(crate) fn raw(&self, request: &str) -> String {
        let mut stream = self.connect();
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream)
    }

    /// A GET of `target` with a correct Host, on a new connection: the raw response.
    pub(crate) fn raw_get(&self, target: &str) -> String {
        self.raw(&format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory (VmHWM), in kB.
    pub(crate) fn peak_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// Sends `signal` (`-TERM`, `-INT`) by PID.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (at most `limit`); its exit code.
    pub(crate) fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("still running after {limit:?}");
    }

    /// Stops it (SIGKILL) and waits: the store keeps what it committed.
    pub(crate) fn stop(self) {}
}
