//! The sign-up form of `bulletin serve` as a visitor fills it in, and the
//! confirmation mail it sends, read from the file transport.

use super::Project;
use super::client::{self, read_response, status};
use super::loopback::connect_from;
use super::server::Server;

/// The bundled project (sign-up form on, file transport) with the test key.
pub(crate) fn signup_project() -> Project {
    let project = Project::bundled();
    project.sign_with_test_key();
    project
}

/// The form posted with these fields (a company in Germany unless said otherwise).
pub(crate) fn sign_up(serve: &Server, email: &str, extra: &[(&str, &str)]) -> (u16, String) {
    serve.post("/subscribe", &form(email, extra), &[])
}

/// The form posted for `email` from `client`, a loopback address
/// (127.0.0.0/8 is all loopback): one client of many, as limits count them.
pub(crate) fn sign_up_from(serve: &Server, client: std::net::Ipv4Addr, email: &str) -> (u16, String) {
    use std::io::Write;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form(email, &[]))
        .finish();
    let mut stream = connect_from(&client.to_string(), &serve.addr);
    write!(
        stream,
        "POST /subscribe HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        serve.addr,
        body.len()
    )
    .unwrap();
    let response = read_response(&mut stream);
    (status(&response), client::body(&response).to_string())
}

/// The form's fields for `email` (a company in Germany), `extra` replacing
/// or adding some.
pub(crate) fn form<'a>(email: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("email", email),
        ("name", "Jane Doe"),
        ("organisation", "Acme GmbH"),
        ("organisation_type", "company"),
        ("country", "DE"),
        ("newsletters", "eu-japan-news"),
        ("newsletters", "about-japan"),
        ("website", ""),
    ];
    for (name, value) in extra {
        if let Some(field) = fields.iter_mut().find(|(n, _)| n == name) {
            field.1 = value;
        } else {
            fields.push((name, value));
        }
    }
    fields
}

/// Waits until `serve`'s mailer has sent (or given up) every confirmation
/// mail recorded so far: the store's outbox is empty. A sign-up's answer
/// comes before its mail; the mail is in the outbox before the answer.
pub(crate) fn mailed(project: &Project) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let store = rusqlite::Connection::open_with_flags(
            project.path("bulletin.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let waiting: i64 = store
            .query_row("SELECT count(*) FROM signup_outbox", [], |r| r.get(0))
            .unwrap();
        if waiting == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} confirmation mail(s) still waiting after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The confirmation mail sent to `email`, as written by the file transport,
/// once every mail recorded so far is sent.
pub(crate) fn confirmation_mail(project: &Project, email: &str) -> Option<String> {
    mailed(project);
    std::fs::read_to_string(project.path(&format!("out/mail/confirm/{email}.eml"))).ok()
}

/// How many addresses the file transport has written a confirmation mail to.
pub(crate) fn mails_written(project: &Project) -> usize {
    mailed(project);
    std::fs::read_dir(project.path("out/mail/confirm")).map_or(0, Iterator::count)
}

/// The confirmation link's path and query in `mail` (its text part,
/// quoted-printable undone).
pub(crate) fn confirm_target(mail: &str) -> String {
    let decoded = quoted_printable::decode(mail, quoted_printable::ParseMode::Robust).unwrap();
    let text = String::from_utf8(decoded).unwrap();
    let start = text
        .find("https://newsletters.eu-japan.eu/subscribe/confirm?t=")
        .unwrap_or_else(|| panic!("no confirmation link in:\n{text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    link.trim_start_matches("https://newsletters.eu-japan.eu")
        .to_string()
}

/// The token of a confirmation link.
pub(crate) fn token(target: &str) -> String {
    target.split_once("?t=").unwrap().1.to_string()
}
