//! Bad configuration and bad local items are reported with file:line:column
//! and the field.

use crate::common::Project;

/// 1-based line and column of the first occurrence of `needle`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

/// 1-based line and column of VALUE in the first `KEY = VALUE`.
fn value_position(text: &str, key: &str, value: &str) -> (usize, usize) {
    let (line, start) = position(text, &format!("{key} = {value}"));
    (line, start + format!("{key} = ").len())
}

/// `check` fails, naming config.toml at `line`:`column` with `message`.
#[track_caller]
fn assert_check_refuses(project: &Project, (line, column): (usize, usize), message: &str) {
    project
        .run(&["check"])
        .assert_code(1)
        .assert_stderr_has(&format!("config.toml:{line}:{column}: {message}"));
}

/// The bundled project with `from` in its config.toml made `to`: `check`
/// refuses it at the first `at`, with `message`.
#[track_caller]
fn assert_edit_refused(from: &str, to: &str, at: &str, message: &str) {
    let project = Project::bundled();
    let config = project.edit_config(from, to);
    assert_check_refuses(&project, position(&config, at), message);
}

#[test]
fn bad_value_is_reported_with_line_column_and_field() {
    let project = Project::bundled();
    let config = project.read("config.toml");
    let start = config.find("limit = ").expect("a section limit");
    let end = start + config[start..].find('\n').unwrap();
    let config = format!("{}limit = \"four\"{}", &config[..start], &config[end..]);
    project.write("config.toml", &config);
    let (line, column) = position(&config, "\"four\"");
    project
        .run(&["run", "--date", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_has(&format!(
            "config.toml:{line}:{column}: newsletter[0].section[0].limit: invalid type"
        ));
    assert!(
        !project.path("out").exists(),
        "nothing is built from a bad config"
    );
}

#[test]
fn unknown_newsletter_in_a_source_names_the_valid_ones() {
    assert_edit_refused(
        "newsletters = [\"tech-transfer\"]",
        "newsletters = [\"tech-tranfser\"]",
        "\"tech-tranfser\"",
        "source[3].newsletters[0]: unknown newsletter \"tech-tranfser\"; expected one of: eu-japan-news, industry-policy, about-japan, tax-procurement, tech-transfer",
    );
}

#[test]
fn unknown_key_is_reported_with_its_line() {
    let project = Project::bundled();
    let config = project.edit_config("window_days = 14", "window_day = 14");
    let (line, _) = position(&config, "window_day = 14");
    assert_check_refuses(
        &project,
        (line, 1),
        "newsletter[4].window_day: unknown field `window_day`",
    );
}

#[test]
fn bad_local_item_is_reported_and_the_rest_is_built() {
    let project = Project::bundled();
    project.write(
        "feeds/local/events/broken.md",
        "+++\ntitle = \"Broken event\"\nlink = \"https://ex.example/e\"\npublished = 2026-11-20\nstart = 2026-12-01\nvenue = \"Osaka\"\n+++\nNo place.\n",
    );
    let check = project.run(&["check"]);
    check
        .assert_code(1)
        .assert_stderr_has("broken.md:6:1: venue: unknown field `venue`");
    let build = project.run(&["run", "--date", "2026-11-23"]);
    build
        .assert_code(3)
        .assert_stderr_has("source \"EU-Japan Centre events\" failed");
    let news = project.read("out/archive/eu-japan-news/2026-11-23.html");
    assert!(
        news.contains("Get Ready for Japan 2027"),
        "the good events are still there"
    );
}

#[test]
fn times_and_rates_no_clock_can_count_are_refused_at_their_line() {
    let project = Project::bundled();
    let bundled = project.read("config.toml");
    let cases = [
        (
            bundled.replacen("[fetch]\n", "[fetch]\ntotal_secs = 18446744073709551615\n", 1),
            "18446744073709551615",
            "fetch.total_secs: 18446744073709551615 s is more than a day",
        ),
        (
            bundled.replacen("rate_per_second = ", "rate_per_second = 1e-320 #", 1),
            "1e-320",
            "mail.smtp.rate_per_second: 1e-320 must be 0 (no limit) or at least one message a day",
        ),
    ];
    for (config, value, message) in cases {
        project.write("config.toml", &config);
        assert_check_refuses(&project, position(&config, value), message);
    }
}

#[test]
fn a_file_url_feed_is_refused_at_its_line_asking_for_a_path() {
    let project = Project::bundled();
    let url = format!("file://{}", project.path("feeds/digital-agency.atom").display());
    let config = project.edit_config(
        "feed = \"feeds/digital-agency.atom\"",
        &format!("feed = \"{url}\""),
    );
    let (line, column) = position(&config, &format!("\"{url}\""));
    for command in [&["check"][..], &["run", "--date", "2026-11-23"]] {
        let run = project.run(command);
        run.assert_code(1);
        assert!(
            run.stderr.contains(&format!(
                "config.toml:{line}:{column}: source[1].feed: a file:// URL is not read; write the path instead: \"{}\"",
                project.path("feeds/digital-agency.atom").display()
            )),
            "{command:?}: {}",
            run.stderr
        );
    }
    assert!(!project.path("out").exists(), "nothing is built");
}

#[test]
fn a_local_item_over_the_size_cap_is_refused_unread_and_the_rest_is_built() {
    let project = Project::bundled();
    let huge = project.path("feeds/local/events/huge.md");
    std::fs::write(
        &huge,
        "+++\ntitle = \"Huge event\"\nlink = \"https://ex.example/huge\"\npublished = 2026-11-20\nstart = 2026-12-01\nplace = \"Osaka\"\n+++\nBody\n",
    )
    .unwrap();
    // 64 MiB, sparse: no disk used, and reading it whole is what must not happen.
    std::fs::File::options()
        .append(true)
        .open(&huge)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let run = project.run(&["run", "--date", "2026-11-23"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(&format!(
            "{}: 67108864 bytes; a local item may have at most 1048576 bytes (1 MiB)",
            huge.display()
        )),
        "{}",
        run.stderr
    );
    let news = project.read("out/archive/eu-japan-news/2026-11-23.html");
    assert!(
        news.contains("Get Ready for Japan 2027"),
        "the other events are built"
    );
    assert!(!news.contains("Huge event"));
}

#[test]
fn a_feed_file_over_max_bytes_is_refused_unread_and_the_rest_is_built() {
    let project = Project::bundled();
    let big = project.path("feeds/big.xml");
    std::fs::write(&big, "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>").unwrap();
    // 64 MiB, sparse, as a feed over HTTP is cut off at `fetch.max_bytes`.
    std::fs::File::options()
        .append(true)
        .open(&big)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let config = project.read("config.toml")
        + "\n[[source]]\nname = \"Big\"\nfeed = \"feeds/big.xml\"\nnewsletters = [\"eu-japan-news\"]\n";
    project.write("config.toml", &config);
    let run = project.run(&["fetch"]);
    run.assert_code(3).assert_stderr_has(
        "big.xml: 67108864 bytes; a feed file may have at most 5000000 bytes (fetch.max_bytes)",
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("EU-Japan Centre ") && l.ends_with("ok")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_date_on_the_command_line_that_is_no_date_says_how_to_write_one() {
    let project = Project::bundled();
    for args in [
        &["run", "--date", "23/11/2026"][..],
        &["build", "--date", "2026-13-01"],
        &["preview", "--date", "tomorrow"],
        &["subscribers", "reset-bounces", "--since", "12.03.2027"],
    ] {
        let run = project.run(args);
        run.assert_code(2);
        assert!(
            run.stderr
                .contains("expected a date as YYYY-MM-DD (e.g. 2026-11-23)"),
            "bulletin {args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_date_in_a_local_item_that_toml_cannot_read_says_how_to_write_one() {
    let project = Project::bundled();
    let file = "feeds/local/events/business-mission-defence-cyber-2027.md";
    let original = project.read(file);
    for written in ["12/03/2027", "\"12/03/2027\"", "12.03.2027"] {
        project.write(
            file,
            &original.replace("start = 2027-04-13", &format!("start = {written}")),
        );
        let check = project.run(&["check"]);
        assert_ne!(check.code, 0, "{written}");
        assert!(
            check.stderr.contains(&format!("{file}:6:"))
                && check
                    .stderr
                    .contains("write a date as YYYY-MM-DD, without quotes: start = 2027-03-12"),
            "{written}: {}",
            check.stderr
        );
    }
}

#[test]
fn an_unknown_placeholder_in_a_subject_is_refused_at_its_line_and_column() {
    assert_edit_refused(
        "id = \"industry-policy\"",
        "id = \"industry-policy\"\nsubject = \"{title}: {headline}\"",
        "{headline}",
        "newsletter[1].subject: unknown placeholder {headline}; expected {title}, {number}, {date} or {lead}",
    );
}

#[test]
fn unknown_term_list_names_the_lists_there_are() {
    assert_edit_refused(
        "\"@eu-member-states\"",
        "\"@eu-member-sates\"",
        "\"@eu-member-sates\"",
        "newsletter[0].keywords[0].terms: no built-in term list \"@eu-member-sates\"; expected one of: @eu-member-states, @eu-institutions, @japan-government, @japan-prefectures, @not-business",
    );
}

#[test]
fn a_subscribe_url_on_the_path_of_another_page_of_serve_is_refused_where_it_is() {
    for (path, field) in [
        ("unsubscribe", "unsubscribe_url"),
        ("preferences", "preferences_url"),
    ] {
        let project = Project::bundled();
        let url = format!("https://newsletters.eu-japan.eu/{path}");
        let config = project.edit_config(
            "subscribe_url = \"https://newsletters.eu-japan.eu/subscribe\"",
            &format!("subscribe_url = \"{url}\""),
        );
        let at = value_position(&config, "subscribe_url", &format!("\"{url}\""));
        let message = format!(
            "site.subscribe_url: \"{url}\" has the path of `mail.{field}`; \
             `bulletin serve` answers both, so give it its own"
        );
        assert_check_refuses(&project, at, &message);
    }
}

#[test]
fn a_preferences_url_on_the_unsubscribe_path_or_with_a_query_is_refused_where_it_is() {
    for (url, message) in [
        (
            "https://newsletters.eu-japan.eu/unsubscribe",
            "has the path of `unsubscribe_url`; `bulletin serve` answers both, so give it its own",
        ),
        (
            "https://newsletters.eu-japan.eu/prefs?x=1",
            "must be an absolute http(s) URL without a query",
        ),
    ] {
        let project = Project::bundled();
        let config = project.edit_config(
            "unsubscribe_mailto = ",
            &format!("preferences_url = \"{url}\"\nunsubscribe_mailto = "),
        );
        let at = value_position(&config, "preferences_url", &format!("\"{url}\""));
        let message = format!("mail.preferences_url: \"{url}\" {message}");
        assert_check_refuses(&project, at, &message);
    }
}

/// A trusted proxy that is no address or network, one with bits set past
/// its prefix, trusting the whole internet, and an unknown header: each
/// refused at its entry's line and column.
#[test]
fn a_trusted_proxy_that_is_no_network_is_refused_at_its_entry() {
    for (entry, message) in [
        (
            "\"proxy.example\"",
            "site.trusted_proxies[1]: \"proxy.example\" is not an IP address or a network such as 10.0.0.0/8",
        ),
        (
            "\"10.1.2.3/8\"",
            "site.trusted_proxies[1]: \"10.1.2.3/8\" has bits set past its /8: the network is 10.0.0.0/8",
        ),
        (
            "\"::/0\"",
            "site.trusted_proxies[1]: \"::/0\" would trust every address on the internet to name its own client",
        ),
    ] {
        let project = Project::bundled();
        let setting = format!("trusted_proxies = [\"127.0.0.1\", {entry}]");
        let config = project.edit_config("[site]\n", &format!("[site]\n{setting}\n"));
        let (line, start) = position(&config, &setting);
        let column = start + setting.find(entry).unwrap();
        assert_check_refuses(&project, (line, column), message);
    }
    let project = Project::bundled();
    let config = project.edit_config("[site]\n", "[site]\ntrusted_proxy_header = \"X-Real-IP\"\n");
    assert_check_refuses(
        &project,
        value_position(&config, "trusted_proxy_header", "\"X-Real-IP\""),
        "site.trusted_proxy_header: \"X-Real-IP\": expected \"X-Forwarded-For\" or \"Forwarded\"",
    );
}
