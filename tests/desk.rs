//! Issue 28, items 1 to 3, 5 and 6: the editor's desk of `bulletin serve`, its
//! accounts (`bulletin editors`), its sessions, its dashboard, an
//! edition's delivery report, and the admins' subscribers and log, through
//! the real binary, as an editor's browser and an attacker's client see it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use crate::common::browser::{browser_tools, node};
use crate::common::client::{Client, Response, body, header_of, read_response, status};
use crate::common::draft::{NEWS, editions_show, form_value, shown_items};
use crate::common::loopback::connect_from;
use crate::common::mail;
use crate::common::message::{escaped, head, html_part};
use crate::common::server::Server;
use crate::common::sink::Sink;
use crate::common::{KEY_ENV, Project, Run, repo};

const KEIKO: &str = "keiko@eu-japan.eu";
const PASSWORD: &str = "correct horse battery staple";
/// The bundled config's five newsletters, as the dashboard names them.
const TITLES: [&str; 5] = [
    "EU-Japan NEWS",
    "Japanese Industry and Policy News",
    "\"About Japan\" e-News",
    "Japan Tax and Public Procurement Weekly Tender Digest",
    "Tech Transfer Helpdesk Newsletter",
];

/// `echo PASSWORD | bulletin editors add EMAIL --name NAME EXTRA… --password-stdin`.
fn add_editor(project: &Project, email: &str, name: &str, extra: &[&str], password: &str) -> Run {
    let mut args = vec!["editors", "add", email, "--name", name, "--password-stdin"];
    args.extend_from_slice(extra);
    let mut child = project
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap().into()
}

/// The bundled project, signed with the test key, Keiko an editor.
fn desk_project() -> Project {
    let project = Project::bundled();
    project.sign_with_test_key();
    add_editor(&project, KEIKO, "Keiko Editor", &[], PASSWORD).assert_code(0);
    project
}

/// One browser: its own cookies, by name, sent with every request.
struct Browser {
    /// `http://127.0.0.1:PORT`.
    base: String,
    client: Client,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser {
            base: server.base(),
            client: Client::new(),
            cookies: RefCell::default(),
        }
    }

    fn link(&self, target: &str) -> String {
        format!("{}{target}", self.base)
    }

    fn header(&self) -> String {
        let cookies = self.cookies.borrow();
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the cookie `response` sets (or drops it when it is cleared).
    fn keep(&self, response: &Response) {
        if let Some(set) = response.header("set-cookie") {
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.borrow_mut().remove(name);
            } else {
                self.cookies.borrow_mut().insert(name.into(), value.into());
            }
        }
    }

    fn get(&self, target: &str) -> Response {
        let response = self
            .client
            .fetch_with(&self.link(target), &[("Cookie", &self.header())]);
        self.keep(&response);
        response
    }

    fn post(&self, target: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let cookie = self.header();
        let mut all = vec![("Cookie", cookie.as_str())];
        all.extend_from_slice(headers);
        let response = self.client.submit(&self.link(target), fields, &all);
        self.keep(&response);
        response
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.borrow_mut().insert(name.into(), value.into());
    }

    /// The login form, filled in and posted: the answer.
    fn log_in(&self, email: &str, password: &str) -> Response {
        let form = self.get("/desk/login");
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/desk/login",
            &[
                ("token", &token(&form.body)),
                ("email", email),
                ("password", password),
            ],
            &[],
        )
    }
}

/// The value of the page's `token` field.
#[track_caller]
fn token(body: &str) -> String {
    let start = body.find("name=\"token\" value=\"").expect("a form with a token") + 20;
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

#[test]
fn an_editor_added_on_the_command_line_logs_in_to_a_desk_naming_the_five_newsletters() {
    let project = Project::bundled();
    project.sign_with_test_key();
    let added = add_editor(&project, KEIKO, "Keiko Editor", &[], PASSWORD);
    added.assert_code(0).assert_stdout_has("Keiko Editor");
    assert!(!added.stdout.contains(PASSWORD), "{}", added.stdout);
    project
        .run(&["editors", "list"])
        .assert_code(0)
        .assert_stdout_has("keiko@eu-japan.eu")
        .assert_stdout_has("editor Keiko Editor (password set)");
    let server = Server::serve(&project, &[]);
    let browser = Browser::new(&server);

    let unsigned = browser.get("/desk");
    assert_eq!(
        (unsigned.status, unsigned.location.as_str()),
        (303, "/desk/login")
    );
    let login = browser.get("/desk/login");
    assert!(login.body.contains("type=\"email\"") && login.body.contains("type=\"password\""));

    let answer = browser.log_in(KEIKO, PASSWORD);
    assert_eq!(
        (answer.status, answer.location.as_str()),
        (303, "/desk"),
        "{}",
        answer.body
    );
    let set = answer.header("set-cookie").unwrap();
    for flag in ["bulletin_desk=", "HttpOnly", "SameSite=Strict", "Path=/desk"] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    assert!(!set.contains("Secure"), "served on loopback over http: {set}");
    let id = browser.cookie("bulletin_desk").unwrap();
    assert_eq!(id.len(), 43, "256 random bits, base64: {id}");

    let desk = browser.get("/desk");
    assert_eq!(desk.status, 200, "{}", desk.body);
    assert!(desk.body.contains("Keiko Editor"), "{}", desk.body);
    for title in TITLES {
        let escaped = title.replace('"', "&#34;");
        assert!(
            desk.body.contains(&format!("\">{escaped}</h2>")),
            "{title} named:\n{}",
            desk.body
        );
    }

    // The session id is stored hashed: the store never holds the cookie's value.
    let store = std::fs::read(project.path("bulletin.sqlite")).unwrap();
    assert!(
        !store.windows(id.len()).any(|w| w == id.as_bytes()),
        "the id is stored hashed"
    );

    // Asked for by a public name (behind https), the cookie is Secure.
    let public = Client::new().submit(
        &server.link("/desk/login"),
        &[("token", "x")],
        &[("Host", "newsletters.eu-japan.eu")],
    );
    assert_eq!(public.status, 403);
    let form = Client::new().fetch_with(
        &server.link("/desk/login"),
        &[("Host", "newsletters.eu-japan.eu")],
    );
    assert!(
        form.header("set-cookie").unwrap().contains("; Secure"),
        "{:?}",
        form.headers
    );
}

#[test]
fn twelve_wrong_passwords_lock_the_account_with_the_answer_an_unknown_one_gets() {
    let project = desk_project();
    let server = Server::serve(&project, &[]);
    let attacker = Browser::new(&server);
    let wrong = attacker.log_in(KEIKO, "not her password at all");
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.header("set-cookie").is_none()
            || !wrong.header("set-cookie").unwrap().starts_with("bulletin_desk=")
    );
    let unknown = attacker.log_in("nobody@eu-japan.eu", "not her password at all");
    assert_eq!(
        (unknown.status, &unknown.body),
        (401, &wrong.body),
        "the same answer, account or not"
    );
    for _ in 0..11 {
        assert_eq!(attacker.log_in(KEIKO, "still not her password").status, 401);
    }
    let locked = attacker.log_in(KEIKO, PASSWORD);
    assert_eq!(
        (locked.status, &locked.body),
        (401, &wrong.body),
        "the right password no longer logs in at once"
    );
    assert_eq!(attacker.cookie("bulletin_desk"), None);
    // Keiko, from the same network, is locked out for now as well.
    let keiko = Browser::new(&server);
    assert_eq!(keiko.log_in(KEIKO, PASSWORD).status, 401);
    // Twelve attempts at an unknown address lock it the same way.
    for _ in 0..12 {
        attacker.log_in("ghost@eu-japan.eu", "whatever it is, wrong");
    }
    assert_eq!(attacker.log_in("ghost@eu-japan.eu", "whatever").body, wrong.body);
}

/// Keiko's login from `source` (another loopback address: another client
/// network), over raw HTTP: the status of the answer.
fn log_in_from(source: &str, server: &Server) -> u16 {
    let exchange = |request: String| {
        let mut stream = connect_from(source, &server.addr);
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream)
    };
    let host = &server.addr;
    let form = exchange(format!(
        "GET /desk/login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    ));
    let cookie = header_of(&form, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let fields = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &token(body(&form)))
        .append_pair("email", KEIKO)
        .append_pair("password", PASSWORD)
        .finish();
    status(&exchange(format!(
        "POST /desk/login HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{fields}",
        fields.len()
    )))
}

#[test]
fn fifty_attempts_from_one_network_lock_it_and_not_another() {
    let project = desk_project();
    let server = Server::serve(&project, &[]);
    let guesser = Browser::new(&server);
    for n in 0..50 {
        let answer = guesser.log_in(&format!("guess{}@eu-japan.eu", n / 5), "a guess at the password");
        assert_eq!(answer.status, 401);
    }
    assert_eq!(
        guesser.log_in(KEIKO, PASSWORD).status,
        401,
        "this network is locked"
    );
    assert_eq!(log_in_from("127.0.0.1", &server), 401);
    assert_eq!(log_in_from("127.0.0.2", &server), 303, "another network is not");
}

#[test]
fn the_desk_refuses_fixation_a_cookie_after_logout_forged_forms_and_an_editor_on_an_admin_page() {
    let project = desk_project();
    add_editor(
        &project,
        "admin@eu-japan.eu",
        "Ada Admin",
        &["--role", "admin"],
        "the admin's own long password",
    )
    .assert_code(0);
    let server = Server::serve(&project, &[]);

    // Fixation: a session id planted in Keiko's browser is never the one she gets.
    let attacker = Browser::new(&server);
    assert_eq!(
        attacker
            .log_in("admin@eu-japan.eu", "the admin's own long password")
            .status,
        303
    );
    let planted = attacker.cookie("bulletin_desk").unwrap();
    let keiko = Browser::new(&server);
    keiko.set_cookie("bulletin_desk", &planted);
    assert_eq!(keiko.log_in(KEIKO, PASSWORD).status, 303);
    let hers = keiko.cookie("bulletin_desk").unwrap();
    assert_ne!(hers, planted, "a login begins a new session");
    assert_eq!(
        attacker.get("/desk").status,
        303,
        "the planted session ended with her login"
    );
    let invented = Browser::new(&server);
    invented.set_cookie("bulletin_desk", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        invented.get("/desk").status,
        303,
        "an id never issued opens nothing"
    );

    // Another editor's session: each browser is its own editor.
    let admin = Browser::new(&server);
    admin.log_in("admin@eu-japan.eu", "the admin's own long password");
    let admins_desk = admin.get("/desk").body;
    assert!(admins_desk.contains("Ada Admin") && !admins_desk.contains("Keiko Editor"));
    let her_desk = keiko.get("/desk").body;
    assert!(her_desk.contains("Keiko Editor") && !her_desk.contains("Ada Admin"));

    // An editor on an admin's page; the admin there.
    let refused = keiko.get("/desk/editors");
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains("admin@eu-japan.eu"), "{}", refused.body);
    let editors = admin.get("/desk/editors");
    assert_eq!(editors.status, 200);
    assert!(editors.body.contains(KEIKO), "{}", editors.body);

    // CSRF: logout without a token, with another session's, from another site.
    let her_token = token(&her_desk);
    let admins_token = token(&admins_desk);
    for (fields, headers) in [
        (vec![], vec![]),
        (vec![("token", admins_token.as_str())], vec![]),
        (vec![("token", "")], vec![]),
        (
            vec![("token", her_token.as_str())],
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
        (
            vec![("token", her_token.as_str())],
            vec![("Origin", "https://evil.example")],
        ),
    ] {
        let forged = keiko.post("/desk/logout", &fields, &headers);
        assert_eq!(forged.status, 403, "{fields:?} {headers:?}: {}", forged.body);
        assert_eq!(
            keiko.get("/desk").status,
            200,
            "still logged in after {fields:?} {headers:?}"
        );
    }
    let login_form = Browser::new(&server);
    let form = login_form.get("/desk/login");
    let forged_login = Browser::new(&server).post(
        "/desk/login",
        &[
            ("token", &token(&form.body)),
            ("email", KEIKO),
            ("password", PASSWORD),
        ],
        &[],
    );
    assert_eq!(
        forged_login.status, 403,
        "a login form's token without its cookie"
    );

    // A stolen cookie after logout: the session ended on the server.
    let stolen = keiko.cookie("bulletin_desk").unwrap();
    let out = keiko.post("/desk/logout", &[("token", &her_token)], &[]);
    assert_eq!((out.status, out.location.as_str()), (303, "/desk/login"));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let thief = Browser::new(&server);
    thief.set_cookie("bulletin_desk", &stolen);
    assert_eq!(thief.get("/desk").status, 303);
    assert_eq!(
        thief.post("/desk/logout", &[("token", &her_token)], &[]).status,
        403
    );
}

#[test]
fn a_session_ends_after_an_hour_idle_and_twelve_hours_in_all() {
    let project = desk_project();
    let keiko_at = |now: &str| {
        let server = Server::serve_at(&project, now);
        let browser = Browser::new(&server);
        assert_eq!(browser.log_in(KEIKO, PASSWORD).status, 303);
        (server, browser.cookie("bulletin_desk").unwrap())
    };
    let opens = |now: &str, id: &str| {
        let server = Server::serve_at(&project, now);
        let browser = Browser::new(&server);
        browser.set_cookie("bulletin_desk", id);
        browser.get("/desk").status == 200
    };
    let (server, id) = keiko_at("2026-12-01T08:00:00Z");
    drop(server);
    assert!(opens("2026-12-01T08:59:00Z", &id));
    assert!(opens("2026-12-01T09:58:00Z", &id), "used at 08:59: not idle yet");
    assert!(!opens("2026-12-01T11:00:00Z", &id), "an hour idle");
    let (server, id) = keiko_at("2026-12-02T08:00:00Z");
    drop(server);
    // Used every 50 minutes, from 08:50 to 19:40: never idle an hour.
    for k in 1..=14 {
        let minutes = 8 * 60 + 50 * k;
        let at = format!("2026-12-02T{:02}:{:02}:00Z", minutes / 60, minutes % 60);
        assert!(opens(&at, &id), "in use at {at}");
    }
    assert!(
        !opens("2026-12-02T20:10:00Z", &id),
        "twelve hours after the login, 30 minutes idle"
    );
}

#[test]
fn a_one_time_link_sets_a_password_once_within_a_day() {
    let project = Project::bundled();
    project.sign_with_test_key();
    let mut command = project.command(&[
        "editors",
        "add",
        "Tanaka@EU-Japan.eu",
        "--name",
        "Tanaka",
        "--role",
        "admin",
    ]);
    command.env("BULLETIN_NOW", "2026-12-01T08:00:00Z");
    let added: Run = command.output().unwrap().into();
    added.assert_code(0);
    let prefix = "https://newsletters.eu-japan.eu/desk/password?t=";
    let link = added
        .stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("a link in {}", added.stdout))
        .to_string();
    let target = link.strip_prefix("https://newsletters.eu-japan.eu").unwrap();
    project
        .run(&["editors", "list"])
        .assert_stdout_has("tanaka@eu-japan.eu")
        .assert_stdout_has("set-password link open until 2026-12-02 08:00:00 UTC");
    let store = std::fs::read(project.path("bulletin.sqlite")).unwrap();
    let secret = &target["/desk/password?t=".len()..];
    assert!(
        !store.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the link is stored hashed"
    );

    let late = Server::serve_at(&project, "2026-12-02T08:00:01Z");
    assert_eq!(Browser::new(&late).get(target).status, 400, "a day later");
    drop(late);

    let server = Server::serve_at(&project, "2026-12-01T20:00:00Z");
    let browser = Browser::new(&server);
    let form = browser.get(target);
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("tanaka@eu-japan.eu"));
    let t = &target["/desk/password?t=".len()..];
    let post = |password: &str, confirm: &str| {
        browser.post(
            "/desk/password",
            &[("t", t), ("password", password), ("confirm", confirm)],
            &[],
        )
    };
    assert_eq!(post("short", "short").status, 400);
    assert_eq!(
        post("a long enough password", "another long password").status,
        400
    );
    let set = post("a long enough password", "a long enough password");
    assert_eq!((set.status, set.location.as_str()), (303, "/desk/login?set=1"));
    assert_eq!(
        post("a second password here", "a second password here").status,
        400,
        "once"
    );
    assert_eq!(browser.get(target).status, 400);
    assert_eq!(
        browser
            .log_in("tanaka@eu-japan.eu", "a long enough password")
            .status,
        303
    );
    assert_eq!(browser.get("/desk/editors").status, 200, "an admin");

    // `reset` ends the sessions and opens a new link.
    drop(server);
    project
        .run(&["editors", "reset", "tanaka@eu-japan.eu"])
        .assert_code(0)
        .assert_stdout_has(prefix);
    let server = Server::serve_at(&project, "2026-12-01T20:30:00Z");
    let again = Browser::new(&server);
    again.set_cookie("bulletin_desk", &browser.cookie("bulletin_desk").unwrap());
    assert_eq!(again.get("/desk").status, 303, "reset ended the session");
    assert_eq!(
        again
            .log_in("tanaka@eu-japan.eu", "a long enough password")
            .status,
        401
    );
    drop(server);
    project
        .run(&["editors", "remove", "tanaka@eu-japan.eu"])
        .assert_code(0);
    project.run(&["editors", "list"]).assert_stdout_has("no editors");
}

#[test]
fn editors_refuses_a_short_password_a_second_account_and_an_unknown_one() {
    let project = desk_project();
    add_editor(&project, "short@eu-japan.eu", "Short", &[], "eleven char")
        .assert_code(1)
        .assert_stderr_has("at least 12 characters");
    add_editor(&project, "KEIKO@eu-japan.eu", "Keiko Again", &[], PASSWORD)
        .assert_code(1)
        .assert_stderr_has("is an editor already");
    project
        .run(&["editors", "remove", "nobody@eu-japan.eu"])
        .assert_code(1)
        .assert_stderr_has("is no editor");
    // The store taken back to the version before the desk's migration opens again, Keiko kept.
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let version: i64 = store.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    store.pragma_update(None, "user_version", version - 1).unwrap();
    drop(store);
    project
        .run(&["editors", "list"])
        .assert_code(0)
        .assert_stdout_has(KEIKO);
    // An editor's address is a person's data: exported and erased with them, no secret exported.
    let export = project.run(&["subscribers", "export", KEIKO, "--format", "json"]);
    export.assert_code(0).assert_stdout_has("editors");
    assert!(!export.stdout.contains("argon2id"), "{}", export.stdout);
    project.run(&["subscribers", "erase", KEIKO]).assert_code(0);
    project.run(&["editors", "list"]).assert_stdout_has("no editors");
}

#[test]
fn the_desk_in_chromium_logs_in_and_out_with_javascript_off_and_on() {
    if !browser_tools() {
        return;
    }
    // Subscribers, so the admin has someone to find and unsubscribe.
    let project = admin_project(&many_readers());
    // An edition, so the dashboard links its delivery report.
    project.run(&["fetch"]).assert_code(0);
    project
        .run(&["build", "--newsletter", "eu-japan-news", "--date", "2026-11-23"])
        .assert_code(0);
    let server = Server::serve(&project, &[]);
    let shots = repo().join("target/screenshots");
    let desk = server.link("/desk");
    let mut args = vec![desk.as_str(), KEIKO, PASSWORD, shots.to_str().unwrap()];
    args.extend(TITLES);
    args.extend(["--admin", ADMIN, ADMINS_PASSWORD, "JANE"]);
    let report = node("desk.mjs", &args);
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "what an editor would notice"
    );
    assert_eq!(report["screenshots"].as_array().unwrap().len(), 24, "{report}");
}

/// Three readers of EU-Japan NEWS; Taro's name is a spreadsheet formula.
const READERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news,2025-01-10
taro@example.jp,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\",Example KK,company,JP,eu-japan-news,2025-02-01
anna@example.at,Anna Berger,Wien AG,company,AT,eu-japan-news,2025-03-01
";

/// A project mailing [`READERS`] to `port`, Keiko an editor.
fn mailing_desk(port: u16) -> Project {
    let project = mail::project(port, "", READERS);
    add_editor(&project, KEIKO, "Keiko Editor", &[], PASSWORD).assert_code(0);
    project
}

#[test]
fn the_dashboard_names_a_failed_run_as_status_does() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = mailing_desk(sink.port);
    let mut run = project.command(&["run", "--date", "2026-11-23"]);
    run.env_remove(KEY_ENV);
    Run::from(run.output().unwrap()).assert_code(1);
    let server = Server::serve(&project, &[]);
    let browser = Browser::new(&server);
    assert_eq!(browser.log_in(KEIKO, PASSWORD).status, 303);
    let desk = browser.get("/desk");
    assert_eq!(desk.status, 200, "{}", desk.body);
    for said in [
        "The last run (bulletin run, started ",
        ") FAILED.",
        "role=\"alert\"",
        "the unsubscribe signing key is missing",
        KEY_ENV,
    ] {
        assert!(desk.body.contains(said), "{said} in:\n{}", desk.body);
    }
    assert!(sink.messages().is_empty(), "nothing was sent");
}

#[test]
fn the_delivery_report_counts_and_lists_each_outcome_with_the_servers_words_and_as_inert_csv() {
    // A complaint is its own list, apart from the bounces.
    // Every RCPT refused (500 5.3.0), then Taro's and Anna's made due
    // again and sent to a healthy server: Jane's stays failed.
    let Some(refusing) = Sink::start(&["-f", "RCPT"]) else {
        return;
    };
    let port = refusing.port;
    let project = mailing_desk(port);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(5);
    refusing.stop();
    let sink = Sink::start_on(port, &[]).unwrap();
    for email in ["taro@example.jp", "anna@example.at"] {
        project
            .run(&["subscribers", "reset-bounces", email])
            .assert_code(0);
    }
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(sink.messages().len(), 2);
    project
        .run(&["subscribers", "unsubscribe", "anna@example.at"])
        .assert_code(0);
    // Taro's provider reports his copy as spam (a mailbox of the operator's
    // own MTA: reports act on the subscriber they name).
    project.edit_config(
        "transport = \"smtp\"",
        "transport = \"smtp\"\ntrust_bounce_addresses = true",
    );
    let complaint = std::fs::read_to_string(repo().join("tests/fixtures/bounces/yahoo/arf-complaint.eml"))
        .unwrap()
        .replace("misaki@yahoo.example", "taro@example.jp")
        .lines()
        .filter(|line| !line.starts_with("List-Unsubscribe"))
        .collect::<Vec<_>>()
        .join("\r\n");
    project.write("complaint.eml", &complaint);
    project
        .run(&["bounces", "complaint.eml"])
        .assert_code(0)
        .assert_stdout_has("complaint taro@example.jp");

    let server = Server::serve(&project, &[]);
    let report = "/desk/report/eu-japan-news/1";
    let stranger = Browser::new(&server);
    let refused = stranger.get(report);
    assert_eq!((refused.status, refused.location.as_str()), (303, "/desk/login"));
    assert!(!refused.body.contains("jane@"), "{}", refused.body);
    assert_eq!(stranger.get(&format!("{report}?format=csv")).status, 303);

    let browser = Browser::new(&server);
    assert_eq!(browser.log_in(KEIKO, PASSWORD).status, 303);
    let desk = browser.get("/desk");
    assert!(desk.body.contains(&format!("href=\"{report}\"")), "{}", desk.body);
    let page = browser.get(report);
    assert_eq!(page.status, 200, "{}", page.body);
    for said in [
        "sent: <strong>2</strong>",
        "deferred: <strong>0</strong>",
        "failed: <strong>1</strong>",
        "bounced: <strong>0</strong>",
        "complained: <strong>1</strong>",
        "<h2 id=\"r-complained\">complained (1)</h2>",
        "unsubscribed: <strong>2</strong>",
        "what came back: complaint: ",
        "<strong>jane@example.de</strong> (Jane Doe)",
        "the server said: ",
        "500 5.3.0",
        "<strong>anna@example.at</strong> (Anna Berger)",
    ] {
        assert!(page.body.contains(said), "{said} in:\n{}", page.body);
    }

    let csv = browser.get(&format!("{report}?format=csv"));
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "\"outcome\",\"email\",\"name\",\"detail\",\"when\"");
    assert_eq!(lines.len(), 7, "a line per outcome and subscriber:\n{}", csv.body);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"complained\",\"taro@example.jp\",")),
        "{}",
        csv.body
    );
    let taro = lines.iter().find(|l| l.starts_with("\"sent\",\"taro@")).unwrap();
    assert!(
        taro.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\""),
        "the formula is text: {taro}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("\"failed\",\"jane@example.de\",\"Jane Doe\",\"") && l.contains("500 5.3.0")
        ),
        "{}",
        csv.body
    );

    for unknown in [
        "/desk/report/eu-japan-news/2",
        "/desk/report/no-such-newsletter/1",
        "/desk/report/eu-japan-news/x",
        "/desk/report/eu-japan-news",
    ] {
        assert_eq!(browser.get(unknown).status, 404, "{unknown}");
    }
}

const ADMIN: &str = "admin@eu-japan.eu";
const ADMINS_PASSWORD: &str = "the admin's own long password";

/// [`desk_project`] with Ada an admin besides Keiko, and `readers` imported.
fn admin_project(readers: &str) -> Project {
    let project = desk_project();
    add_editor(
        &project,
        ADMIN,
        "Ada Admin",
        &["--role", "admin"],
        ADMINS_PASSWORD,
    )
    .assert_code(0);
    project.import_from_before(readers);
    project
}

/// Jane, Élodie (a name in capitals that are not ASCII), and sixty readers
/// of one domain.
fn many_readers() -> String {
    let mut csv = String::from(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan,2025-01-10\n\
         elodie@example.fr,Élodie Martin,Lyon SA,company,FR,eu-japan-news,2025-01-11\n\
         sato@example.jp,\u{212A}enji Sato,Osaka KK,company,JP,eu-japan-news,2025-01-12\n",
    );
    // Stored last first: a search shows the first addresses in their order, not the store's.
    for n in (0..60).rev() {
        csv.push_str(&format!(
            "reader{n:02}@many.example,Reader {n},Many BV,company,NL,eu-japan-news,2025-02-01\n"
        ));
    }
    csv
}

/// Where `email` stands, as `subscribers list` says: (newsletters, unsubscribed).
fn standing(project: &Project, email: &str) -> (String, String) {
    let all = project.subscribers();
    let found = all.iter().find(|s| s["email"] == email).unwrap();
    (
        found["newsletters"].to_string(),
        found["unsubscribed"].to_string(),
    )
}

#[test]
fn an_admin_finds_subscribers_by_a_part_of_address_or_name_and_unsubscribes_one_from_one_newsletter() {
    let project = admin_project(&many_readers());
    let server = Server::serve(&project, &[]);
    let admin = Browser::new(&server);
    assert_eq!(admin.log_in(ADMIN, ADMINS_PASSWORD).status, 303);
    let desk = admin.get("/desk").body;
    assert!(desk.contains("href=\"/desk/subscribers\"") && desk.contains("href=\"/desk/log\""));

    let empty = admin.get("/desk/subscribers");
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(!empty.body.contains("@example"), "no list before a search");

    for (words, who) in [
        ("JANE", "jane@example.de"),
        ("doe", "jane@example.de"),
        ("ÉLODIE", "elodie@example.fr"),
        // The Kelvin sign (U+212A) is a capital K whose lowercase is ASCII.
        ("kenji", "sato@example.jp"),
        ("Example.FR", "elodie@example.fr"),
    ] {
        let page = admin.get(&format!("/desk/subscribers?q={}", urlencode(words)));
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("1 match."), "{words}: {}", page.body);
        assert!(page.body.contains(&format!("<strong>{who}</strong>")), "{words}");
    }
    let jane = admin.get("/desk/subscribers?q=jane").body;
    for said in [
        "(Jane Doe), Acme GmbH",
        "Status: <strong>active</strong>",
        "EU-Japan NEWS",
        "&#34;About Japan&#34; e-News",
        "name=\"newsletter\" value=\"about-japan\"",
    ] {
        assert!(jane.contains(said), "{said} in:\n{jane}");
    }
    assert!(
        !jane.contains(&server.link("")) && !jane.contains("/unsubscribe"),
        "no links of hers"
    );
    let many = admin.get("/desk/subscribers?q=MANY.example").body;
    assert!(many.contains("60 match; the first 50 are shown"), "{many}");
    assert_eq!(many.matches("@many.example</strong>").count(), 50);
    let at = |email: &str| many.find(&format!("<strong>{email}</strong>"));
    assert!(at("reader50@many.example").is_none(), "{many}");
    assert!(at("reader00@many.example") < at("reader01@many.example"));
    assert!(at("reader48@many.example") < at("reader49@many.example"));
    let none = admin.get("/desk/subscribers?q=nobody-at-all").body;
    assert!(none.contains("No subscriber"), "{none}");

    // Unsubscribed from one newsletter: the answer names no one.
    let done = admin.post(
        "/desk/subscribers",
        &[
            ("token", &token(&jane)),
            ("email", "jane@example.de"),
            ("newsletter", "about-japan"),
        ],
        &[],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, "/desk/subscribers?done=about-japan");
    let confirmed = admin.get(&done.location).body;
    assert!(
        confirmed.contains("Unsubscribed from &#34;About Japan&#34; e-News."),
        "{confirmed}"
    );
    let (receives, left) = standing(&project, "jane@example.de");
    assert!(
        receives.contains("eu-japan-news") && !receives.contains("about-japan"),
        "{receives}"
    );
    assert!(left.contains("about-japan"), "{left}");
    let again = admin.get("/desk/subscribers?q=jane").body;
    assert!(again.contains("left &#34;About Japan&#34; e-News"), "{again}");
    assert!(!again.contains("value=\"about-japan\""), "{again}");

    // Her last newsletter too: unsubscribed.
    admin.post(
        "/desk/subscribers",
        &[
            ("token", &token(&again)),
            ("email", "jane@example.de"),
            ("newsletter", "eu-japan-news"),
        ],
        &[],
    );
    let gone = admin.get("/desk/subscribers?q=jane").body;
    assert!(gone.contains("Status: <strong>unsubscribed</strong>"), "{gone}");

    // What is not a subscriber, or no newsletter: refused, the address not repeated.
    for (email, newsletter) in [
        ("stranger@example.org", "eu-japan-news"),
        ("not an address", "eu-japan-news"),
        ("elodie@example.fr", "no-such-newsletter"),
    ] {
        let refused = admin.post(
            "/desk/subscribers",
            &[
                ("token", &token(&gone)),
                ("email", email),
                ("newsletter", newsletter),
            ],
            &[],
        );
        assert_eq!(refused.status, 400, "{email} {newsletter}");
        assert!(!refused.body.contains(email), "{}", refused.body);
    }
    assert!(
        !standing(&project, "elodie@example.fr")
            .1
            .contains("eu-japan-news")
    );

    // The log names her until she is erased; then nothing of her is left there.
    let log = admin.get("/desk/log").body;
    assert_eq!(
        log.matches("jane@example.de unsubscribed from").count(),
        2,
        "{log}"
    );
    project
        .run(&["subscribers", "erase", "jane@example.de"])
        .assert_code(0);
    assert!(!admin.get("/desk/log").body.contains("jane@"));
}

#[test]
fn an_editor_cannot_search_unsubscribe_or_read_the_log_and_a_forged_unsubscribe_does_nothing() {
    let project = admin_project(&many_readers());
    let server = Server::serve(&project, &[]);
    let admin = Browser::new(&server);
    admin.log_in(ADMIN, ADMINS_PASSWORD);
    let admins_token = token(&admin.get("/desk").body);
    let keiko = Browser::new(&server);
    keiko.log_in(KEIKO, PASSWORD);
    let her_desk = keiko.get("/desk").body;
    assert!(!her_desk.contains("href=\"/desk/subscribers\"") && !her_desk.contains("href=\"/desk/log\""));
    let her_token = token(&her_desk);

    for page in ["/desk/subscribers?q=jane", "/desk/log", "/desk/editors"] {
        let refused = keiko.get(page);
        assert_eq!(refused.status, 403, "{page}");
        assert!(refused.body.contains("For admins only"), "{page}");
        assert!(!refused.body.contains("jane@"), "{page}: {}", refused.body);
    }
    let unsubscribe = |browser: &Browser, token: &str, headers: &[(&str, &str)]| {
        let mut fields = vec![("email", "jane@example.de"), ("newsletter", "eu-japan-news")];
        if !token.is_empty() {
            fields.push(("token", token));
        }
        browser.post("/desk/subscribers", &fields, headers).status
    };
    assert_eq!(
        unsubscribe(&keiko, &her_token, &[]),
        403,
        "an editor, with her own token"
    );
    // The admin's session: no token, a wrong one, another session's, from another site.
    assert_eq!(unsubscribe(&admin, "", &[]), 403);
    assert_eq!(
        unsubscribe(&admin, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &[]),
        403
    );
    assert_eq!(
        unsubscribe(&admin, &her_token, &[]),
        403,
        "Keiko's token, the admin's cookie"
    );
    assert_eq!(
        unsubscribe(&admin, &admins_token, &[("Origin", "https://evil.example")]),
        403
    );
    assert_eq!(
        unsubscribe(&admin, &admins_token, &[("Sec-Fetch-Site", "cross-site")]),
        403
    );
    // Without a session, the admin's token alone.
    assert_eq!(unsubscribe(&Browser::new(&server), &admins_token, &[]), 403);
    assert!(
        !standing(&project, "jane@example.de").1.contains("eu-japan-news"),
        "still subscribed"
    );
    assert_eq!(unsubscribe(&admin, &admins_token, &[]), 303);
    assert!(standing(&project, "jane@example.de").1.contains("eu-japan-news"));
}

/// `words`, as a form encodes them in a URL.
fn urlencode(words: &str) -> String {
    url::form_urlencoded::byte_serialize(words.as_bytes()).collect()
}

/// `bulletin ARGS…` at `now` (`BULLETIN_NOW`), succeeding.
#[track_caller]
fn run_at(project: &Project, now: &str, args: &[&str]) {
    let mut command = project.command(args);
    command.env("BULLETIN_NOW", now);
    Run::from(command.output().unwrap()).assert_code(0);
}

#[test]
fn the_log_lists_corrections_decisions_rules_and_unsubscribes_with_who_and_when_newest_first_a_page_at_a_time()
 {
    use crate::common::draft::{NEWS, READERS, build_a_draft, shown_items};
    // Shipped, its drafts wait for an editor's approval.
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    add_editor(&project, KEIKO, "Keiko Editor", &[], PASSWORD).assert_code(0);
    add_editor(
        &project,
        ADMIN,
        "Ada Admin",
        &["--role", "admin"],
        ADMINS_PASSWORD,
    )
    .assert_code(0);
    build_a_draft(&project, READERS);
    let (dropped, dropped_title) = shown_items(&project, NEWS)[0].clone();
    let by = |who| ["--by", who];
    run_at(
        &project,
        "2026-12-01T08:00:00Z",
        &[
            &["edit", "--newsletter", NEWS][..],
            &by(KEIKO),
            &["drop", &dropped],
        ]
        .concat(),
    );
    run_at(
        &project,
        "2026-12-01T08:05:00Z",
        &[
            &[
                "rules",
                "add",
                "--newsletter",
                NEWS,
                "--never",
                "--term",
                "tariff",
            ][..],
            &by(KEIKO),
        ]
        .concat(),
    );
    run_at(
        &project,
        "2026-12-01T08:10:00Z",
        &[&["approve", "--newsletter", NEWS][..], &by(ADMIN)].concat(),
    );
    run_at(
        &project,
        "2026-12-01T08:20:00Z",
        &[&["rules", "remove", "2"][..], &by(ADMIN)].concat(),
    );
    run_at(
        &project,
        "2026-12-01T08:30:00Z",
        &[&["subscribers", "unsubscribe", "taro@example.jp"][..], &by("ops")].concat(),
    );

    let server = Server::serve(&project, &[]);
    let admin = Browser::new(&server);
    assert_eq!(admin.log_in(ADMIN, ADMINS_PASSWORD).status, 303);
    let log = admin.get("/desk/log");
    assert_eq!(log.status, 200, "{}", log.body);
    let newest_first = [
        (
            "taro@example.jp unsubscribed from every newsletter",
            "ops",
            "08:30:00",
        ),
        (
            "EU-Japan NEWS: rule #2 removed: never term &#34;tariff&#34;",
            ADMIN,
            "08:20:00",
        ),
        ("EU-Japan NEWS No. 1: approved", ADMIN, "08:10:00"),
        (
            "EU-Japan NEWS: rule #2 added: never term &#34;tariff&#34;",
            KEIKO,
            "08:05:00",
        ),
        ("EU-Japan NEWS No. 1: drop ", KEIKO, "08:00:00"),
        ("EU-Japan NEWS: rule #1 added: never item", KEIKO, "08:00:00"),
    ];
    let mut from = 0;
    for (what, who, at) in newest_first {
        let line = format!("<strong>{what}");
        let found = log.body[from..]
            .find(&line)
            .unwrap_or_else(|| panic!("{what} after the line before, in:\n{}", log.body));
        from += found;
        let by = format!("by {who}, 2026-12-01 {at} UTC");
        assert!(log.body[from..].contains(&by), "{by} in:\n{}", log.body);
    }
    // The item dropped (and its rule) named by its stored title beside a short id.
    let named = format!("\u{201c}{}\u{201d} ({})", escaped(&dropped_title), &dropped[..8]);
    for said in [format!("drop {named}"), format!("never item {named}")] {
        assert!(log.body.contains(&said), "{said} in:\n{}", log.body);
    }
    assert!(log.body.contains("Actions 1 to 6 of 6"), "{}", log.body);

    // An admin's unsubscribe on the desk joins it; sixty actions take two pages.
    let search = admin.get("/desk/subscribers?q=jane").body;
    admin.post(
        "/desk/subscribers",
        &[
            ("token", &token(&search)),
            ("email", "jane@example.de"),
            ("newsletter", "tech-transfer"),
        ],
        &[],
    );
    let log = admin.get("/desk/log").body;
    assert!(
        log.contains("<strong>jane@example.de unsubscribed from Tech Transfer Helpdesk Newsletter</strong><br><span class=\"note\">by admin@eu-japan.eu, "),
        "{log}"
    );
    for minute in 0..53 {
        run_at(
            &project,
            &format!("2026-12-01T09:{minute:02}:00Z"),
            &[
                &[
                    "subscribers",
                    "unsubscribe",
                    "jane@example.de",
                    "--newsletter",
                    "about-japan",
                ][..],
                &by("ops"),
            ]
            .concat(),
        );
    }
    let first = admin.get("/desk/log").body;
    assert!(first.contains("Actions 1 to 50 of 60, newest first."), "{first}");
    assert_eq!(first.matches("<li><strong>").count(), 50);
    assert!(first.contains("href=\"/desk/log?page=2\">Older</a>") && !first.contains(">Newer<"));
    let second = admin.get("/desk/log?page=2").body;
    assert!(second.contains("Actions 51 to 60 of 60"), "{second}");
    assert_eq!(second.matches("<li><strong>").count(), 10);
    assert!(second.contains("href=\"/desk/log?page=1\">Newer</a>") && !second.contains(">Older<"));
    assert!(
        second.contains("by keiko@eu-japan.eu, 2026-12-01 08:00:00 UTC"),
        "the oldest last"
    );
    assert_eq!(admin.get("/desk/log?page=3").status, 404);
}

#[test]
fn a_session_id_counts_only_as_a_cookie_and_ends_at_once_when_its_editor_is_reset_or_removed() {
    let project = desk_project();
    let server = Server::serve(&project, &[]);
    let keiko = Browser::new(&server);
    assert_eq!(keiko.log_in(KEIKO, PASSWORD).status, 303);
    let id = keiko.cookie("bulletin_desk").unwrap();
    let her_token = token(&keiko.get("/desk").body);

    // The id in a URL or a form, never in a cookie, opens nothing.
    let stranger = Browser::new(&server);
    for target in [
        format!("/desk?bulletin_desk={id}"),
        format!("/desk/editors?bulletin_desk={id}&session={id}"),
        format!("/desk;bulletin_desk={id}"),
    ] {
        let answer = stranger.get(&target);
        assert_ne!(answer.status, 200, "{target}");
        assert!(!answer.body.contains("Keiko Editor"), "{target}");
    }
    for fields in [
        vec![("bulletin_desk", id.as_str()), ("token", her_token.as_str())],
        vec![("session", id.as_str()), ("token", her_token.as_str())],
    ] {
        assert_eq!(stranger.post("/desk/logout", &fields, &[]).status, 403);
    }
    let in_a_header = stranger.client.fetch_with(
        &stranger.link("/desk"),
        &[("Authorization", &format!("Bearer {id}"))],
    );
    assert_eq!(in_a_header.status, 303);
    assert_eq!(keiko.get("/desk").status, 200, "her session is untouched");

    // `editors reset` while serve runs: her open session ends at once.
    let mut reset = project.command(&["editors", "reset", KEIKO, "--password-stdin"]);
    reset
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = reset.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "a new password for Keiko").unwrap();
    Run::from(child.wait_with_output().unwrap()).assert_code(0);
    let after_reset = keiko.get("/desk");
    assert_eq!(
        (after_reset.status, after_reset.location.as_str()),
        (303, "/desk/login")
    );
    assert_eq!(
        keiko.post("/desk/logout", &[("token", &her_token)], &[]).status,
        403
    );
    assert_eq!(keiko.log_in(KEIKO, PASSWORD).status, 401, "the old password");
    assert_eq!(keiko.log_in(KEIKO, "a new password for Keiko").status, 303);
    assert_eq!(keiko.get("/desk").status, 200);

    // `editors remove` while serve runs: the same.
    project.run(&["editors", "remove", KEIKO]).assert_code(0);
    assert_eq!(keiko.get("/desk").status, 303, "removed: her session is over");
    assert_eq!(keiko.log_in(KEIKO, "a new password for Keiko").status, 401);
}

#[test]
fn the_delivery_report_lists_each_deferred_message_with_the_servers_words() {
    let Some(full) = Sink::start(&["-r", "RCPT", "-b", "452 4.2.2 Mailbox full, try later"]) else {
        return;
    };
    let project = mailing_desk(full.port);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(5);
    let server = Server::serve(&project, &[]);
    let browser = Browser::new(&server);
    assert_eq!(browser.log_in(KEIKO, PASSWORD).status, 303);
    let page = browser.get("/desk/report/eu-japan-news/1");
    assert_eq!(page.status, 200, "{}", page.body);
    for said in [
        "sent: <strong>0</strong>",
        "deferred: <strong>3</strong>",
        "<h2 id=\"r-deferred\">deferred (3)</h2>",
        "<strong>anna@example.at</strong> (Anna Berger)",
        "the server said: ",
        "452 4.2.2 Mailbox full, try later",
    ] {
        assert!(page.body.contains(said), "{said} in:\n{}", page.body);
    }
    let csv = browser.get("/desk/report/eu-japan-news/1?format=csv").body;
    let deferred: Vec<&str> = csv.lines().filter(|l| l.starts_with("\"deferred\",")).collect();
    assert_eq!(deferred.len(), 3, "{csv}");
    assert!(
        deferred.iter().all(|l| l.contains("452 4.2.2 Mailbox full")),
        "{csv}"
    );
}

/// Issue 28, item 4: the review page of EU-Japan NEWS No. 1.
const REVIEW: &str = "/desk/edition/eu-japan-news/1";

/// A project mailing [`READERS`] to `port`, Keiko an editor, EU-Japan NEWS
/// No. 1 drafted.
fn drafted(port: u16) -> Project {
    let project = mailing_desk(port);
    project.edit_config("approval = \"auto\"", "approval = \"required\"");
    project.run(&["fetch"]).assert_code(0);
    project
        .run(&["build", "--newsletter", NEWS, "--date", "2026-11-23"])
        .assert_code(0);
    project
}

/// Keiko, logged in to `server`'s desk.
fn keiko(server: &Server) -> Browser {
    let browser = Browser::new(server);
    assert_eq!(browser.log_in(KEIKO, PASSWORD).status, 303);
    browser
}

impl Browser {
    /// A form of the review page posted with its token and `fields`: the answer.
    fn correct(&self, fields: &[(&str, &str)]) -> Response {
        let page = self.get(REVIEW);
        assert_eq!(page.status, 200, "{}", page.body);
        let token = token(&page.body);
        let mut all = vec![("token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(REVIEW, &all, &[])
    }

    /// [`Browser::correct`], done: the line the page then shows.
    #[track_caller]
    fn corrected(&self, fields: &[(&str, &str)]) -> String {
        let done = self.correct(fields);
        assert_eq!(done.status, 303, "{fields:?}: {}", done.body);
        assert!(
            done.location.starts_with(&format!("{REVIEW}?done=")),
            "{}",
            done.location
        );
        let page = self.get(&done.location);
        let start = page
            .body
            .find("role=\"status\" class=\"done\"><strong>")
            .expect("a result line");
        let line = &page.body[start..];
        line[line.find("<strong>").unwrap() + 8..line.find("</strong>").unwrap()].to_string()
    }
}

/// The first stored item the review page offers to add (none of the
/// newsletter's editions has it).
fn offered(page: &str) -> String {
    let found = &page[page
        .find("<ul class=\"found\">")
        .unwrap_or_else(|| panic!("the add list in:\n{page}"))..];
    assert!(
        !found[..found.find("</li>").unwrap()].contains("in an edition already"),
        "the unplaced first: {found}"
    );
    form_value(found, "item")
}

/// How many titles the page lists in Japanese (at least half of the
/// letters kana or kanji, as `tests/browser/axe.mjs` reads them), each
/// checked to be marked `lang="ja"` for a screen reader.
#[track_caller]
fn japanese_titles_marked(page: &str) -> usize {
    let japanese = |c: &char| ('\u{3040}'..='\u{30ff}').contains(c) || ('\u{4e00}'..='\u{9fff}').contains(c);
    let mut marked = 0;
    for span in page.split("<span id=\"").skip(1) {
        let (tag, rest) = span.split_once('>').unwrap();
        let text = &rest[..rest.find('<').unwrap_or(rest.len())];
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let kana = text.chars().filter(japanese).count();
        if kana > 0 && 2 * kana >= letters {
            assert!(tag.contains("lang=\"ja\""), "{text} unmarked: {tag}");
            marked += 1;
        }
    }
    marked
}

/// The draft's HTML file, as `out/drafts/` holds it.
fn draft_html(project: &Project) -> String {
    project.read("out/drafts/eu-japan-news/2026-11-23.html")
}

#[test]
fn each_correction_on_the_review_page_changes_the_draft_as_bulletin_edit_does_by_the_editor() {
    let Some(sink) = Sink::start(&[]) else { return };
    let desk = drafted(sink.port);
    let cli = drafted(sink.port);
    let items = shown_items(&desk, NEWS);
    assert_eq!(items, shown_items(&cli, NEWS));
    assert!(items.len() >= 3, "{items:?}");
    let server = Server::serve(&desk, &[]);
    let browser = keiko(&server);
    let dashboard = browser.get("/desk");
    assert!(
        dashboard.body.contains(&format!("href=\"{REVIEW}\">Review</a>")),
        "{}",
        dashboard.body
    );
    let page = browser.get(REVIEW);
    assert_eq!(page.status, 200, "{}", page.body);
    for (id, _) in &items {
        assert!(page.body.contains(&format!("id=\"item-{id}\"")), "{id}");
    }
    assert!(
        japanese_titles_marked(&page.body) > 0,
        "the page lists Japanese titles"
    );
    assert!(
        page.body.contains("action=\"/desk/schedule\"") && page.body.contains("name=\"edition\" value=\"1\""),
        "the review page offers the draft's scheduled send"
    );
    let added = offered(&page.body);
    let (first, second, third) = (&items[0].0, &items[1].0, &items[2].0);
    let edit = |args: &[&str]| {
        let mut all = vec!["edit", "--newsletter", NEWS, "--by", KEIKO];
        all.extend_from_slice(args);
        cli.run(&all).assert_code(0);
    };

    assert!(
        browser
            .corrected(&[("action", "drop"), ("item", first)])
            .starts_with("Dropped")
    );
    edit(&["drop", first]);
    assert_eq!(
        browser.corrected(&[("action", "add"), ("item", &added), ("section", "")]),
        "Added to the draft."
    );
    edit(&["add", &added]);
    let moved = [
        ("action", "move"),
        ("item", third.as_str()),
        ("section", "events"),
        ("position", "1"),
    ];
    assert_eq!(browser.corrected(&moved), "Moved.");
    edit(&["move", third, "--section", "events", "--position", "1"]);
    let title = "Desk & CLI: one title";
    assert_eq!(
        browser.corrected(&[("action", "retitle"), ("item", second), ("text", title)]),
        "Retitled."
    );
    edit(&["retitle", second, title]);
    let teaser = "One line, set on the desk";
    browser.corrected(&[("action", "teaser"), ("item", third), ("text", teaser)]);
    edit(&["teaser", third, teaser]);

    // The introduction: shown rendered and sanitised, nothing saved; then saved.
    let markdown = "Dear readers,\r\n\r\nThis week **matters**. <script>alert(1)</script>";
    let before = editions_show(&desk, NEWS);
    let shown = browser.correct(&[("action", "intro-show"), ("markdown", markdown)]);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("<strong>matters</strong>"), "{}", shown.body);
    assert!(
        !shown.body.contains("<script>alert"),
        "sanitised as the edition's own"
    );
    assert_eq!(editions_show(&desk, NEWS), before, "a Show saves nothing");
    assert_eq!(
        browser.corrected(&[("action", "intro"), ("markdown", markdown)]),
        "The introduction is saved."
    );
    cli.write("intro.md", &markdown.replace("\r\n", "\n"));
    edit(&["intro", cli.path("intro.md").to_str().unwrap()]);

    assert_eq!(shown_items(&desk, NEWS), shown_items(&cli, NEWS));
    assert_eq!(
        draft_html(&desk),
        draft_html(&cli),
        "the same draft, byte for byte"
    );
    let log = editions_show(&desk, NEWS);
    for said in [
        format!("drop {first}"),
        format!("add {added}"),
        format!("retitle {second}"),
    ] {
        assert!(
            log.contains(&said) && log.contains(KEIKO),
            "{said} by Keiko in:\n{log}"
        );
    }
    let page = browser.get(REVIEW);
    assert!(
        page.body.contains(&format!("by {KEIKO}: drop {first}")),
        "the page's log:\n{}",
        page.body
    );

    // A lasting rule, added then removed, with who and how it came.
    let rule = [("action", "never-term"), ("term", "zzyzx")];
    assert!(browser.corrected(&rule).starts_with("The lasting rule is added"));
    let rules = desk.run(&["rules", "--format", "json"]).json();
    let made = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r.to_string().contains("zzyzx"))
        .unwrap_or_else(|| panic!("{rules}"))
        .clone();
    assert_eq!(
        (made["by"].as_str(), made["origin"].as_str()),
        (Some(KEIKO), Some("the desk"))
    );
    let number = made["id"].to_string();
    assert!(
        browser
            .corrected(&[("action", "remove-rule"), ("rule", &number)])
            .starts_with("The lasting rule is removed")
    );
    assert!(!desk.run(&["rules"]).stdout.contains("zzyzx"));

    // Approve; then the page is read-only but for Unapprove.
    assert!(
        browser
            .corrected(&[("action", "approve")])
            .starts_with("Approved")
    );
    let approved = browser.get(REVIEW);
    assert!(approved.body.contains("value=\"unapprove\""), "{}", approved.body);
    assert!(!approved.body.contains("value=\"drop\""), "read-only");
    assert!(desk.run(&["editions", "--format", "json"]).stdout.contains(KEIKO));
    assert!(
        browser
            .corrected(&[("action", "unapprove")])
            .starts_with("Unapproved")
    );
    assert!(browser.corrected(&[("action", "skip")]).starts_with("Skipped"));
    let skipped = browser.get(REVIEW);
    assert!(!skipped.body.contains("value=\"unapprove\"") && !skipped.body.contains("value=\"approve\""));
    assert!(
        skipped.body.contains(&format!("by {KEIKO}: skipped")),
        "{}",
        skipped.body
    );
}

#[test]
fn the_review_page_refuses_forged_posts_and_says_why_bad_input_changes_nothing() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = drafted(sink.port);
    let items = shown_items(&project, NEWS);
    let first = items[0].0.as_str();
    let server = Server::serve(&project, &[]);
    let browser = keiko(&server);
    let mine = token(&browser.get(REVIEW).body);
    let drop = [("action", "drop"), ("item", first)];
    let with = |token: &str| {
        let mut fields = vec![("token", token.to_string())];
        fields.extend(drop.iter().map(|(k, v)| (*k, v.to_string())));
        fields
    };
    let fields = |pairs: &[(&'static str, String)]| -> Vec<(&'static str, String)> { pairs.to_vec() };
    let post = |who: &Browser, pairs: Vec<(&str, String)>, headers: &[(&str, &str)]| {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        who.post(REVIEW, &borrowed, headers)
    };
    let untouched = || {
        assert_eq!(shown_items(&project, NEWS), items, "nothing changed");
        assert!(!editions_show(&project, NEWS).contains(KEIKO), "nothing logged");
    };

    // Forged: no token, another session's, another site, no session.
    let no_token = post(
        &browser,
        fields(&[("action", "drop".into()), ("item", first.into())]),
        &[],
    );
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let other = keiko(&server);
    let theirs = token(&other.get(REVIEW).body);
    assert_eq!(
        post(&browser, with(&theirs), &[]).status,
        403,
        "another session's token"
    );
    let cross = post(&browser, with(&mine), &[("Origin", "http://evil.example")]);
    assert_eq!(cross.status, 403, "{}", cross.body);
    let stranger = Browser::new(&server);
    assert_eq!(post(&stranger, with(&mine), &[]).status, 403, "no session");
    for target in [REVIEW.to_string(), format!("{REVIEW}/mail")] {
        let unsigned = stranger.get(&target);
        assert_eq!(
            (unsigned.status, unsigned.location.as_str()),
            (303, "/desk/login"),
            "{target}"
        );
    }
    untouched();

    // Bad input: the page, saying why in the workflow's words; never a 500.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 8] = [
        (
            &[("action", "move"), ("item", first), ("section", "nope")],
            409,
            "has no section",
        ),
        (
            &[("action", "drop"), ("item", "00000000000000aa")],
            409,
            "is not in eu-japan-news No. 1",
        ),
        (
            &[("action", "add"), ("item", "00000000000000aa")],
            409,
            "no stored item",
        ),
        (
            &[
                ("action", "move"),
                ("item", first),
                ("section", "news"),
                ("position", "x"),
            ],
            400,
            "the position must be a whole number",
        ),
        (
            &[("action", "retitle"), ("item", first), ("text", " ")],
            400,
            "the form gives no text",
        ),
        (&[("action", "delete"), ("item", first)], 400, "unknown action"),
        (
            &[("action", "test"), ("to", "not an address")],
            409,
            "not an address",
        ),
        (
            &[("action", "remove-rule"), ("rule", "999")],
            409,
            "there is no rule #999",
        ),
    ];
    for (fields, status, said) in cases {
        let answer = browser.correct(fields);
        assert_eq!(answer.status, status, "{fields:?}: {}", answer.body);
        assert!(answer.body.contains("role=\"alert\""), "{fields:?}");
        assert!(
            answer.body.contains(said),
            "{said} for {fields:?} in:\n{}",
            answer.body
        );
    }
    untouched();
    assert!(sink.messages().is_empty(), "no test copy to a bad address");

    // An approved edition is not corrected: the words of `bulletin edit`.
    browser.corrected(&[("action", "approve")]);
    let late = browser.correct(&drop);
    assert_eq!(late.status, 409, "{}", late.body);
    for said in [format!("was approved by {KEIKO}"), "bulletin unapprove".into()] {
        assert!(late.body.contains(&said), "{said} in:\n{}", late.body);
    }
    assert_eq!(shown_items(&project, NEWS), items);
}

#[test]
fn a_test_copy_from_the_review_page_lands_in_smtp_sink_unlogged_and_the_frame_is_the_sends_bytes() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = drafted(sink.port);
    let server = Server::serve(&project, &[]);
    let browser = keiko(&server);
    let frame = browser.get(&format!("{REVIEW}/mail?as=jane%40example.de"));
    assert_eq!(frame.status, 200, "{}", frame.body);
    assert!(frame.body.contains("Dear Jane Doe"), "as mailed to Jane");

    let said = browser.corrected(&[("action", "test"), ("to", KEIKO)]);
    assert_eq!(
        said,
        format!("A test copy went to {KEIKO} (not logged as a delivery).")
    );
    let typed = browser.corrected(&[("action", "test"), ("to", "desk.test@example.org")]);
    assert!(typed.contains("desk.test@example.org"), "{typed}");
    let copies = sink.messages();
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert!(
        copies.iter().any(|m| m.contains(&format!("To: {KEIKO}"))),
        "{copies:?}"
    );
    assert!(html_part(&copies[0]).contains("EU-Japan NEWS"));
    let report = browser.get("/desk/report/eu-japan-news/1");
    assert!(
        report.body.contains("sent: <strong>0</strong>"),
        "nothing logged:\n{}",
        report.body
    );

    // Approved and sent: Jane's copy carries the frame's bytes.
    browser.corrected(&[("action", "approve")]);
    project.run(&["send", "--newsletter", NEWS]).assert_code(0);
    let all = sink.messages();
    let jane = all
        .iter()
        .find(|m| head(m).contains("jane@example.de"))
        .unwrap_or_else(|| panic!("Jane's copy among {}", all.len()));
    assert_eq!(html_part(jane), frame.body, "the frame is the send's HTML part");
}

/// The draft's eve, when Keiko corrects and schedules it.
const EVE: &str = "2026-11-23T10:00:00Z";
/// The send's time as typed, and as the desk names it; a minute before
/// 09:00 in Brussels (08:00 UTC), and a minute after.
const WHEN: &str = "2026-11-24T09:00";
const SHOWN: &str = "2026-11-24 09:00 Europe/Brussels (08:00 UTC)";
const BEFORE: &str = "2026-11-24T07:59:00Z";
const AFTER: &str = "2026-11-24T08:01:00Z";

#[test]
fn the_desk_in_chromium_corrects_tests_schedules_and_reports_a_send_with_javascript_off_and_on() {
    if !browser_tools() {
        return;
    }
    let Some(sink) = Sink::start(&[]) else { return };
    let project = drafted(sink.port);
    let server = Server::serve_at(&project, EVE);
    let shots = repo().join("target/screenshots");
    let desk = server.link("/desk");
    let args = |phase: &'static str, said: &'static [&'static str]| {
        let mut args = vec![desk.clone(), KEIKO.into(), PASSWORD.into()];
        args.push(shots.to_str().unwrap().into());
        args.push(phase.into());
        args.extend(said.iter().map(|s| s.to_string()));
        args
    };
    let browse = |args: Vec<String>, screenshots: usize| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let report = node("desk_review.mjs", &args);
        assert_eq!(
            report["problems"],
            serde_json::json!([]),
            "what an editor would notice"
        );
        assert_eq!(
            report["screenshots"].as_array().unwrap().len(),
            screenshots,
            "{report}"
        );
    };
    browse(args("review", &[WHEN, SHOWN]), 14);
    let copies = sink.messages();
    assert_eq!(copies.len(), 2, "a test copy per round");
    assert!(copies.iter().all(|m| head(m).contains(KEIKO)));
    let log = editions_show(&project, NEWS);
    for said in [
        "drop ",
        "add ",
        "retitle ",
        "introduction",
        "approved",
        "unapproved",
        &format!("send scheduled: not before {SHOWN}"),
    ] {
        assert!(log.contains(said), "{said} in:\n{log}");
    }
    assert!(log.contains(KEIKO), "{log}");

    run_at(&project, BEFORE, &["run", "--date", "2026-11-24"]);
    assert_eq!(sink.messages().len(), 2, "nothing sent before its time");
    run_at(&project, AFTER, &["run", "--date", "2026-11-24"]);
    run_at(&project, AFTER, &["run", "--date", "2026-11-24"]);
    sink.wait_for_messages(5);
    let sent: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| head(m).to_string())
        .filter(|h| !h.contains(KEIKO))
        .collect();
    for reader in ["jane@example.de", "taro@example.jp", "anna@example.at"] {
        let copies = sent.iter().filter(|h| h.contains(reader)).count();
        assert_eq!(copies, 1, "{reader} gets the edition once: {sent:?}");
    }
    assert_eq!(sent.len(), 3, "{sent:?}");
    browse(args("report", &["sent: 3"]), 2);
}
