//! The documentation cannot drift from the code: every default in
//! docs/configuration.md's tables is what a config that leaves the key out
//! actually gets, and the README's command-line defaults are clap's.

use std::collections::BTreeMap;
use std::fmt::Debug;

use bulletin::config::Config;
use bulletin::proxies::{ClientHeader, TrustedProxies};
use serde::de::DeserializeOwned;

use crate::common::http::{Reply, serve};
use crate::common::{Project, digest_config, feed_sources, repo};

/// What a minimal config adds to the test digest: a `[mail]` section with
/// only its required keys, and a source.
const MAIL_AND_SOURCE: &str = r#"
[[source]]
name = "Local"
local = "items"

[mail]
from = "Centre <news@centre.example>"
unsubscribe_url = "https://centre.example/unsubscribe"
unsubscribe_mailto = "unsubscribe@centre.example"
signing_key_env = "KEY"
"#;

/// One documented row: (table heading, key, default cell).
type Row = (String, String, String);

/// The rows of every `| key | type | default | meaning |` table, with the
/// heading (`[site]`, `[[newsletter.section]]`…) the table belongs to.
/// A row that is not `key | type | default | meaning` panics: a broken row
/// must not drop out of the check.
fn documented_defaults(markdown: &str) -> Vec<Row> {
    let mut table = String::new();
    let mut in_table = false;
    let mut rows = Vec::new();
    for (number, line) in markdown.lines().enumerate() {
        let heading = line.starts_with('#') || (line.starts_with('`') && line.contains("]]`"));
        if heading && let Some(name) = line.split('`').nth(1) {
            table = name.to_string();
        }
        if line == "| key | type | default | meaning |" {
            in_table = true;
            continue;
        }
        in_table &= line.starts_with('|');
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        assert!(
            cells.len() == 4 && cells[0].starts_with("| `"),
            "docs/configuration.md:{}: not a `key` | type | default | meaning row: {line}",
            number + 1
        );
        let key = cells[0].trim_start_matches("| ").trim_matches('`');
        rows.push((table.clone(), key.to_string(), cells[2].to_string()));
    }
    rows
}

/// The documented literal (TOML, between backticks) read as `T`, compared
/// with what the config holds.
fn same<T: DeserializeOwned + PartialEq + Debug>(cell: &str, actual: T) -> Result<(), String> {
    let literal = cell
        .strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .ok_or_else(|| format!("{cell} is not a `literal`"))?;
    let mut parsed: toml::Table =
        toml::from_str(&format!("v = {literal}")).map_err(|e| format!("{cell}: not TOML: {e}"))?;
    let value = parsed.remove("v").ok_or("no value")?;
    let documented: T = value
        .try_into()
        .map_err(|e| format!("{cell}: not a valid value: {e}"))?;
    if documented == actual {
        Ok(())
    } else {
        Err(format!("documented {documented:?}, the code gives {actual:?}"))
    }
}

/// A default written in words: the cell must say exactly this, and the
/// config must hold what it means.
fn words(cell: &str, expected: &str, holds: bool) -> Result<(), String> {
    match (cell == expected, holds) {
        (true, true) => Ok(()),
        (false, _) => Err(format!("documented {cell:?}, the check expects {expected:?}")),
        (true, false) => Err(format!(
            "documented {cell:?}, but the config holds something else"
        )),
    }
}

/// Checks one documented default against the config; `None` for a key this
/// test does not know (a new row: add it here).
fn check(c: &Config, table: &str, key: &str, cell: &str) -> Option<Result<(), String>> {
    let mail = c.mail.as_ref().expect("[mail] is set");
    let newsletter = &c.newsletters[0];
    let section = &newsletter.sections[0];
    let source = &c.sources[0];
    Some(match (table, key) {
        ("[site]", "publisher") => words(cell, "the site's `name`", c.site.publisher.is_none()),
        ("[site]", "date_format") => same(cell, c.site.date_format.clone()),
        ("[site]", "out_dir") => same(cell, c.site.out_dir.clone()),
        ("[site]", "teaser_width") => same(cell, c.site.teaser_width),
        ("[site]", "subscribe_url") => words(cell, "none", c.site.subscribe_url.is_none()),
        ("[site]", "desk_path") => same(cell, c.site.desk_path.clone()),
        ("[site]", "time_zone") => same(cell, c.site.time_zone.name().to_string()),
        ("[site]", "trusted_proxies") => {
            words(cell, "`[]`", c.site.trusted_proxies == TrustedProxies::default())
        }
        ("[site]", "trusted_proxy_header") => words(
            cell,
            &format!("`\"{}\"`", ClientHeader::default().name()),
            c.site.trusted_proxies == TrustedProxies::default(),
        ),
        ("[site.signup]", "consent_text") => same(cell, c.site.signup.consent_text.clone()),
        ("[site.signup]", "consent_version") => same(cell, c.site.signup.consent_version.clone()),
        ("[site.signup]", "expiry_days") => same(cell, c.site.signup.expiry_days),
        ("[site.signup]", "address_interval_minutes") => same(cell, c.site.signup.address_interval_minutes),
        ("[site.signup]", "per_address_per_day") => same(cell, c.site.signup.per_address_per_day),
        ("[site.signup]", "per_client_per_hour") => same(cell, c.site.signup.per_client_per_hour),
        ("[site.signup]", "per_network_per_hour") => same(cell, c.site.signup.per_network_per_hour),
        ("[site.signup]", "per_hour") => same(cell, c.site.signup.per_hour),
        ("[site.signup]", "hash_client_addresses") => same(cell, c.site.signup.hash_client_addresses),
        ("[fetch]", "timeout_secs") => same(cell, c.fetch.timeout_secs),
        ("[fetch]", "total_secs") => same(cell, c.fetch.total_secs),
        ("[fetch]", "max_bytes") => same(cell, c.fetch.max_bytes),
        ("[fetch]", "concurrency") => same(cell, c.fetch.concurrency),
        ("[fetch]", "per_host") => same(cell, c.fetch.per_host),
        ("[fetch]", "max_redirects") => same(cell, c.fetch.max_redirects),
        ("[fetch]", "retries") => same(cell, c.fetch.retries),
        ("[fetch]", "retry_delay_ms") => same(cell, c.fetch.retry_delay_ms),
        ("[fetch]", "flag_after_failures") => same(cell, c.fetch.flag_after_failures),
        // What is sent is checked on the wire: `user_agent_default_is_what_is_sent`.
        ("[fetch]", "user_agent") => words(cell, USER_AGENT_CELL, c.fetch.user_agent.is_none()),
        ("[store]", "path") => same(cell, c.store.path.clone()),
        ("[mail]", "reply_to") => words(cell, "none", mail.reply_to.is_none()),
        ("[mail]", "list_id_domain") => words(cell, "From's domain", mail.list_id_domain.is_none()),
        ("[mail]", "preferences_url") => words(
            cell,
            "`preferences` beside `unsubscribe_url`",
            mail.preferences_url().as_str() == "https://centre.example/preferences",
        ),
        ("[mail]", "transport") => same(cell, mail.transport),
        ("[mail]", "suppress_after_hard_bounces") => same(cell, mail.suppress_after_hard_bounces),
        ("[mail]", "suppress_after_soft_bounces") => same(cell, mail.suppress_after_soft_bounces),
        ("[mail]", "soft_bounce_days") => same(cell, mail.soft_bounce_days),
        ("[mail]", "trust_bounce_addresses") => same(cell, mail.trust_bounce_addresses),
        ("[mail]", "bounce_address") => words(cell, "none", !mail.has_bounce_address()),
        ("[mail.smtp]", "host") => same(cell, mail.smtp.host.clone()),
        ("[mail.smtp]", "port") => same(cell, mail.smtp.port),
        ("[mail.smtp]", "security") => same(cell, mail.smtp.security),
        ("[mail.smtp]", "username_env") => words(cell, "none", mail.smtp.username_env.is_none()),
        ("[mail.smtp]", "password_env") => words(cell, "none", mail.smtp.password_env.is_none()),
        ("[mail.smtp]", "timeout_secs") => same(cell, mail.smtp.timeout_secs),
        ("[mail.smtp]", "concurrency") => same(cell, mail.smtp.concurrency),
        ("[mail.smtp]", "rate_per_second") => same(cell, mail.smtp.rate_per_second),
        ("[mail.smtp]", "max_attempts") => same(cell, mail.smtp.max_attempts),
        ("[mail.smtp]", "retry_delay_ms") => same(cell, mail.smtp.retry_delay_ms),
        // `[mail.smtp]` alone is one relay with the defaults of `[[mail.relays]]`.
        ("[[mail.relays]]", "weight") => same(cell, mail.relays()[0].weight),
        ("[[mail.relays]]", "cooldown_secs") => same(cell, mail.relays()[0].cooldown_secs),
        // No [mail.dkim] in a minimal config: its defaults are those of the types.
        ("[mail.dkim]", "domain") => words(cell, "the From domain", true),
        ("[mail.dkim]", "algorithm") => same(cell, bulletin::config::DkimAlgorithm::default()),
        ("[alerts]", "draft_waiting_days") => same(cell, bulletin::config::DRAFT_WAITING_DAYS),
        ("[classify]", "threshold") => same(cell, c.classify.threshold),
        ("[classify]", "title_weight") => same(cell, c.classify.title_weight),
        ("[classify]", "model_weight") => same(cell, c.classify.model_weight),
        ("[[newsletter]]", "schedule") => same(cell, newsletter.schedule),
        ("[[newsletter]]", "subject") => same(cell, newsletter.subject.template().to_string()),
        ("[[newsletter]]", "from") => words(cell, "`mail.from`", newsletter.from.is_none()),
        ("[[newsletter]]", "reply_to") => words(cell, "`mail.reply_to`", newsletter.reply_to.is_none()),
        ("[[newsletter]]", "empty") => same(cell, newsletter.empty),
        ("[[newsletter]]", "approval") => same(cell, newsletter.approval),
        ("[[newsletter]]", "window_days") => same(cell, newsletter.window_days),
        ("[[newsletter]]", "threshold") => {
            words(cell, "`classify.threshold`", newsletter.threshold.is_none())
        }
        ("[[newsletter]]", "kinds") => same(cell, newsletter.kinds.clone()),
        ("[[newsletter]]", "exclude") => same(cell, newsletter.exclude.clone()),
        ("[[newsletter.section]]", "order") => same(cell, section.order),
        ("[[newsletter.section]]", "more") => same(cell, section.more),
        ("[[source]]", "publisher") => words(cell, "the source's `name`", source.publisher.is_none()),
        ("[[source]]", "kind") => same(cell, source.kind()),
        ("[[source]]", "newsletters") => same(
            cell,
            source
                .newsletters
                .iter()
                .map(|n| n.as_str().to_string())
                .collect::<Vec<_>>(),
        ),
        ("[[source]]", "weight") => words(cell, "that newsletter's threshold", source.weight.is_none()),
        _ => return None,
    })
}

/// The `user_agent` row's default, `<version>` standing for the crate's.
const USER_AGENT_CELL: &str = "`bulletin/<version> (newsletter generator)`";

/// Cells that are not defaults: the key must be set, or there is none.
fn has_no_default(cell: &str) -> bool {
    matches!(cell, "required" | "—")
}

#[test]
fn documented_defaults_are_what_an_empty_config_gets() {
    let markdown = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let rows = documented_defaults(&markdown);
    let project = Project::with_config(&digest_config("", 5, MAIL_AND_SOURCE));
    let config = Config::from_file(&project.path("config.toml")).expect("the minimal config");
    let mut drift = BTreeMap::new();
    let mut checked = 0;
    for (table, key, cell) in &rows {
        if has_no_default(cell) {
            continue;
        }
        match check(&config, table, key, cell) {
            Some(Ok(())) => checked += 1,
            Some(Err(why)) => drop(drift.insert(format!("{table} {key}"), why)),
            None => drop(drift.insert(format!("{table} {key}"), format!("{cell}: not checked"))),
        }
    }
    assert!(drift.is_empty(), "docs/configuration.md has drifted:\n{drift:#?}");
    assert!(
        checked >= 40,
        "only {checked} defaults found in {} rows",
        rows.len()
    );
}

#[test]
fn user_agent_default_is_what_is_sent() {
    let server = serve(vec![("/feed.xml", Reply::Status(404))]);
    let sources = feed_sources(&[("Feed", server.url("/feed.xml"))]);
    let project = Project::with_config(&digest_config("retries = 0", 5, &sources));
    project.run(&["fetch"]);
    let documented = USER_AGENT_CELL
        .trim_matches('`')
        .replace("<version>", env!("CARGO_PKG_VERSION"));
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].starts_with(&format!("GET /feed.xml {documented}")),
        "documented {documented:?}, sent {:?}",
        requests[0]
    );
}

/// The text in `text` after `marker`, up to `end`.
#[track_caller]
fn after<'a>(text: &'a str, marker: &str, end: char) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"))
        + marker.len();
    let rest = &text[start..];
    &rest[..rest.find(end).expect("the end of the value")]
}

/// `[default: X]` of `flag` in `bulletin ARGS --help`.
#[track_caller]
fn clap_default(args: &[&str], flag: &str) -> String {
    let help = Project::empty()
        .run(&[args, &["--help"]].concat())
        .assert_code(0)
        .stdout
        .clone();
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{flag} ")))
        .unwrap_or_else(|| panic!("no {flag} in {args:?} --help:\n{help}"));
    // The flag's help, on its line or the next (clap's layout for long help).
    let from = help.find(line).expect("the line is in the help");
    after(&help[from..], "[default: ", ']').to_string()
}

#[test]
fn readme_command_line_defaults_are_what_bulletin_uses() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let config = after(&readme, "`--config PATH` (default `", '`');
    assert_eq!(config, clap_default(&[], "--config"), "--config");
    let serve_listen = after(&readme, "every mail's link (default `", '`');
    assert_eq!(
        serve_listen,
        clap_default(&["serve"], "--listen"),
        "serve --listen"
    );
    let preview_port = after(&readme, "on 127.0.0.1 (default port ", ')');
    let preview_listen = format!("127.0.0.1:{preview_port}");
    assert_eq!(
        preview_listen,
        clap_default(&["preview"], "--listen"),
        "preview --listen"
    );
    for (flag, marker) in [
        ("--idle-timeout", "`--idle-timeout SECS` ("),
        ("--body-timeout", "`--body-timeout SECS` ("),
        ("--max-connections", "`--max-connections N` ("),
        (
            "--max-connections-per-client",
            "`--max-connections-per-client N` (",
        ),
        (
            "--max-requests-per-connection",
            "`--max-requests-per-connection N` (",
        ),
    ] {
        let documented = after(&readme, marker, ')');
        for command in ["serve", "preview"] {
            assert_eq!(documented, clap_default(&[command], flag), "{command} {flag}");
        }
    }
}

/// The exit codes and the first clause of each meaning (before `:` or `;`).
fn exit_codes<'a>(rows: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    rows.map(|(code, meaning)| {
        let clause = meaning.split([':', ';']).next().unwrap_or_default();
        (code.trim().to_string(), clause.trim().to_string())
    })
    .collect()
}

#[test]
fn readme_exit_codes_are_those_of_help() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table = &readme[readme.find("| code | meaning |").expect("the exit code table")..];
    let documented = exit_codes(
        table
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.trim_matches('|').split_once(" | ")),
    );
    let help = Project::empty().run(&["--help"]).assert_code(0).stdout.clone();
    let listed = &help[help.find("Exit codes:").expect("--help lists the exit codes")..];
    let from_help = exit_codes(
        listed
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .filter_map(|l| l.split_once("  ")),
    );
    assert_eq!(
        documented, from_help,
        "README.md's exit codes against `bulletin --help`"
    );
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces
/// as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every relative link in the README, ARCHITECTURE.md and docs/*.md names a
/// file that exists and, after `#`, a heading of that file: moving a section
/// cannot leave a dead link behind.
#[test]
fn relative_links_in_the_docs_resolve() {
    let root = repo();
    let mut pages = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut dead = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (_, rest) in text.match_indices("](").map(|(i, _)| text.split_at(i + 2)) {
            let target = &rest[..rest.find(')').expect("a closing parenthesis")];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let Ok(linked_text) = std::fs::read_to_string(&linked) else {
                if !linked.exists() {
                    dead.push(format!("{}: {target}", page.display()));
                }
                continue;
            };
            let headings: Vec<String> = linked_text
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|l| slug(l.trim_start_matches('#')))
                .collect();
            if !anchor.is_empty() && !headings.iter().any(|h| h == anchor) {
                dead.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(dead.is_empty(), "dead links: {dead:#?}");
}

/// The names after `fn ` in every `.rs` file under `dir`, and the fuzz
/// targets' file names.
fn function_names(dir: &std::path::Path, names: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            function_names(&path, names);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if path.parent().is_some_and(|p| p.ends_with("fuzz/fuzz_targets")) {
                names.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (_, rest) in text.match_indices("fn ").map(|(i, _)| text.split_at(i + 3)) {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                names.insert(rest[..end].to_string());
            }
        }
    }
}

/// Every test docs/bad-input.md names as the proof of a row exists: a
/// renamed or deleted test cannot leave a row that proves nothing.
#[test]
fn the_tests_docs_bad_input_names_exist() {
    let root = repo();
    let mut names = std::collections::BTreeSet::new();
    for dir in ["src", "tests", "fuzz/fuzz_targets"] {
        function_names(&root.join(dir), &mut names);
    }
    let table = std::fs::read_to_string(root.join("docs/bad-input.md")).unwrap();
    let mut missing = Vec::new();
    let mut cited = 0;
    for (number, line) in table.lines().enumerate() {
        let Some(test_cell) = line.strip_suffix(" |").and_then(|l| l.rsplit(" | ").next()) else {
            continue;
        };
        for quoted in test_cell.split('`').skip(1).step_by(2) {
            // `module::test`, `src/file.rs test`, or a fuzz target; other quoted text is not a name.
            let name = quoted.rsplit([' ', ':']).next().unwrap_or_default();
            let is_name = name.contains('_')
                && name
                    .trim_end_matches('*')
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !is_name {
                continue;
            }
            cited += 1;
            let found = match name.strip_suffix('*') {
                Some(prefix) => names.iter().any(|n| n.starts_with(prefix)),
                None => names.contains(name),
            };
            if !found {
                missing.push(format!("docs/bad-input.md:{}: {quoted}", number + 1));
            }
        }
    }
    assert!(missing.is_empty(), "tests named but not found: {missing:#?}");
    assert!(cited >= 100, "only {cited} test names found in docs/bad-input.md");
}
