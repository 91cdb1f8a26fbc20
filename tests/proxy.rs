//! Issue 25, item 2: `bulletin serve` behind a real nginx on loopback, set
//! up with the README's own nginx block ("Behind a reverse proxy"), with
//! `site.trusted_proxies` naming nginx. Clients are curl processes bound to
//! other loopback addresses (127.0.0.2, 127.0.0.3…): to nginx, other
//! clients. Sign-up's per-client limit (one mail an hour) shows whom
//! `serve` counted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::nginx::{Nginx, free_port};
use crate::common::server::Server;
use crate::common::signup::{confirmation_mail, signup_project};
use crate::common::{Project, repo};

/// The public name the README's block serves.
const NAME: &str = "newsletters.eu-japan.eu";

/// The README's nginx block with only where nginx listens (`port`), where
/// `serve` listens (`upstream`) and the certificate's paths (in `dir`)
/// changed.
fn readme_block(port: u16, upstream: &str, dir: &Path) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split_once("### Behind a reverse proxy")
        .expect("the README's section")
        .1;
    let mut block = section
        .split_once("```nginx\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("an nginx block in it")
        .0
        .to_string();
    let live = format!("/etc/letsencrypt/live/{NAME}");
    for (from, to) in [
        (
            "listen 443 ssl;".to_string(),
            format!("listen 127.0.0.1:{port} ssl;"),
        ),
        ("listen [::]:443 ssl;".to_string(), String::new()),
        (
            format!("{live}/fullchain.pem"),
            dir.join("cert.pem").display().to_string(),
        ),
        (
            format!("{live}/privkey.pem"),
            dir.join("key.pem").display().to_string(),
        ),
        (
            "proxy_pass http://127.0.0.1:8025;".to_string(),
            format!("proxy_pass http://{upstream};"),
        ),
    ] {
        assert!(
            block.contains(&from),
            "the README's nginx block has {from:?}:\n{block}"
        );
        block = block.replace(&from, &to);
    }
    block
}

/// The sign-up form posted for `email` by curl from `source` to `url`, with
/// these extra headers; the status and page.
fn sign_up(source: &str, url: &str, email: &str, headers: &[&str], port: u16) -> (u16, String) {
    let body = format!(
        "email={}&name=Jane+Doe&organisation=Acme+GmbH&organisation_type=company&country=DE\
         &newsletters=eu-japan-news&website=",
        email.replace('@', "%40")
    );
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-k", "--max-time", "10", "--interface", source])
        .args(["--resolve", &format!("{NAME}:{port}:127.0.0.1")])
        .args(["--data", &body, "-o", "-", "-w", "\n%{http_code}"]);
    for header in headers {
        curl.args(["-H", header]);
    }
    let output = curl.arg(url).output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (page, status) = text.rsplit_once('\n').unwrap_or(("", ""));
    let status = status
        .parse()
        .unwrap_or_else(|_| panic!("curl: {text}\n{}", String::from_utf8_lossy(&output.stderr)));
    (status, page.to_string())
}

/// Waits (at most 10 s) for the confirmation mail to `email`.
fn mailed(project: &Project, email: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if confirmation_mail(project, email).is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Two clients behind nginx are two clients; a client's own
/// `X-Forwarded-For` or `Forwarded` is never believed, through nginx or
/// straight to `serve`.
#[test]
fn behind_nginx_each_client_counts_as_itself_and_forged_headers_are_not_believed() {
    let Some(dir) = Nginx::prepare(NAME) else { return };
    let project = signup_project();
    project.edit_config("[site]\n", "[site]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    project.edit_config(
        "consent_version = \"2026-12\"",
        "consent_version = \"2026-12\"\nper_client_per_hour = 1",
    );
    let serve = Server::serve_at(&project, "2026-12-02T08:00:00Z");
    let upstream = serve.base().strip_prefix("http://").unwrap().to_string();
    let port = free_port();
    let block = readme_block(port, &upstream, dir.path());
    let nginx = Nginx::start(dir, &block, port);
    let proxied = format!("https://{NAME}:{port}/subscribe");
    let direct = format!("{}/subscribe", serve.base());
    // A sign-up within its client's limit is mailed; past it the visitor
    // is told to try later (429) and nothing goes out.
    let post = |source: &str, url: &str, email: &str, headers: &[&str], within: bool| {
        let (status, page) = sign_up(source, url, email, headers, port);
        if within {
            assert_eq!(status, 200, "{email}: {page}\n{}", nginx.error_log());
            assert!(page.contains("Check your mailbox"), "{email}: {page}");
            assert!(mailed(&project, email), "{email} is mailed");
        } else {
            assert_eq!(status, 429, "{email} is over its client's limit: {page}");
            assert!(page.contains("Please try again later"), "{email}: {page}");
        }
    };

    // Client A, through nginx: its first sign-up mails, its second is over its limit.
    post("127.0.0.2", &proxied, "a1@example.de", &[], true);
    post("127.0.0.2", &proxied, "a2@example.de", &[], false);
    // Client B, through the same nginx: a client of its own, not A (nor nginx).
    post("127.0.0.3", &proxied, "b1@example.de", &[], true);
    // A again, naming another client in both headers: still A.
    let forged = ["X-Forwarded-For: 198.51.100.1", "Forwarded: for=198.51.100.2"];
    post("127.0.0.2", &proxied, "a3@example.de", &forged, false);
    // Client C, straight to serve, naming other clients: counted as itself.
    let forged_one = ["X-Forwarded-For: 198.51.100.3"];
    post("127.0.0.4", &direct, "c1@example.de", &forged_one, true);
    let forged = ["X-Forwarded-For: 198.51.100.4", "Forwarded: for=198.51.100.5"];
    post("127.0.0.4", &direct, "c2@example.de", &forged, false);
    post("127.0.0.3", &proxied, "b2@example.de", &[], false);
    std::thread::sleep(Duration::from_millis(500));
    for email in ["a2@example.de", "a3@example.de", "c2@example.de", "b2@example.de"] {
        assert!(
            confirmation_mail(&project, email).is_none(),
            "{email}: over its client's limit, no mail"
        );
    }
    let log = project.read("serve.log");
    for client in ["client 127.0.0.2", "client 127.0.0.3", "client 127.0.0.4"] {
        assert!(log.contains(client), "{client} in the limit's log line:\n{log}");
    }
    assert!(
        !log.contains("198.51.100"),
        "no forged client was counted:\n{log}"
    );
}
