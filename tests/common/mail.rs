//! A project that mails: the bundled default with a `[mail]` section sending
//! over SMTP to a server on 127.0.0.1, and subscribers imported.

use super::{KEY_ENV, Project, Run};

fn mail_config(port: u16, extra: &str) -> String {
    format!(
        r#"
[mail]
from = "EU-Japan Centre <newsletters@eu-japan.eu>"
reply_to = "info@eu-japan.eu"
unsubscribe_url = "https://news.eu-japan.eu/unsubscribe"
unsubscribe_mailto = "unsubscribe@eu-japan.eu"
signing_key_env = "{KEY_ENV}"
transport = "smtp"

[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout_secs = 5
max_attempts = 2
retry_delay_ms = 20
{extra}
"#
    )
}

/// The bundled config with its `[mail]` section (the last) sending to `port`.
pub(crate) fn with_mail(project: &Project, port: u16, extra: &str) {
    let config = project.read("config.toml");
    let bundled = &config[..config.find("\n[mail]").expect("the bundled config has [mail]")];
    project.write("config.toml", &(bundled.to_string() + &mail_config(port, extra)));
}

/// The bundled default sending to port 25, with `csv` as `subscribers.csv`
/// (not imported yet).
pub(crate) fn importing(csv: &[u8]) -> Project {
    let project = Project::bundled();
    with_mail(&project, 25, "");
    std::fs::write(project.path("subscribers.csv"), csv).unwrap();
    project
}

/// [`importing`] `csv`, then `subscribers import subscribers.csv`, however
/// that ends.
pub(crate) fn import_file(csv: impl AsRef<[u8]>) -> (Project, Run) {
    let project = importing(csv.as_ref());
    let run = project.run(&["subscribers", "import", "subscribers.csv"]);
    (project, run)
}

/// The bundled default with subscribers, sending through one relay of
/// `[[mail.relays]]` per `(port, extra keys)`.
pub(crate) fn relays_project(relays: &[(u16, &str)], subscribers: &str) -> Project {
    let project = Project::bundled();
    with_mail(&project, 25, "");
    let mut config = project.read("config.toml");
    config.truncate(
        config
            .find("\n[mail.smtp]")
            .expect("with_mail writes [mail.smtp]"),
    );
    for (port, extra) in relays {
        config.push_str(&format!(
            "\n[[mail.relays]]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
             timeout_secs = 5\nmax_attempts = 2\nretry_delay_ms = 20\n{extra}\n"
        ));
    }
    project.write("config.toml", &config);
    project.write("subscribers.csv", subscribers);
    project
        .run(&["subscribers", "import", "subscribers.csv"])
        .assert_code(0);
    project
}

/// The bundled default with subscribers, sending to `port`: imported as
/// a store from before issue 30 holds them ([`Project::import_from_before`]),
/// EU-only newsletters and all, so a send's own audience check is tested.
pub(crate) fn project(port: u16, extra: &str, subscribers: &str) -> Project {
    let project = Project::bundled();
    with_mail(&project, port, extra);
    project.import_from_before(subscribers);
    project
}

/// A subscriber CSV of `count` readers; `row(i)` gives the
/// `organisation_type,country,newsletters` of reader `i`.
pub(crate) fn readers(count: usize, row: impl Fn(usize) -> &'static str) -> String {
    let mut csv =
        String::from("email,name,organisation,organisation_type,country,newsletters,consent_date\n");
    for i in 0..count {
        csv.push_str(&format!(
            "reader{i:04}@example.eu,Reader {i},Org {i},{},2025-01-01\n",
            row(i)
        ));
    }
    csv
}

/// `hard_bounces` of every subscriber, by address.
pub(crate) fn bounces(project: &Project) -> Vec<(String, u64)> {
    let list = project.run(&["subscribers", "list", "--format", "json"]).json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"].as_str().unwrap().to_string(),
                s["hard_bounces"].as_u64().unwrap(),
            )
        })
        .collect()
}
