//! The preview's review page (issue 17, item 3), over plain HTTP: the
//! draft shown byte for byte as it is mailed, and the corrections' POSTs
//! refused (403, nothing changed) without the form's token or from
//! another site, and refused with the command line's words once the
//! edition is approved. `browser.rs` clicks the same buttons in Chromium.

use crate::common::Project;
use crate::common::client::Client;
use crate::common::draft::{NEWS, READERS, build_a_draft, editions_show, form_value, reviewing, shown_items};
use crate::common::message::html_part;
use crate::common::server::Server;

/// The bundled project as shipped (approval required, mail written as
/// `.eml` files), its key in `KEY_ENV`, two readers, fetched, with a
/// draft of eu-japan-news No. 1.
pub(crate) fn with_a_draft() -> Project {
    with_a_draft_for(READERS)
}

/// [`with_a_draft`] with these readers (a CSV).
fn with_a_draft_for(readers: &str) -> Project {
    let project = Project::bundled_as_shipped();
    project.sign_with_test_key();
    build_a_draft(&project, readers);
    project
}

/// The document an edition's preview page (`/n/ID.html`) frames: its
/// `srcdoc`, unescaped.
fn srcdoc(page: &str) -> String {
    let (_, rest) = page
        .split_once(" srcdoc=\"")
        .unwrap_or_else(|| panic!("no framed edition:\n{page}"));
    rest[..rest.find('"').unwrap()]
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// `project` under review: the preview server, the NEWS review page's
/// path, and the form token that page carries.
fn review_form(project: &Project) -> (Server, String, String) {
    let preview = reviewing(project);
    let path = format!("/review/{NEWS}");
    let (_, page) = preview.get(&path);
    let token = form_value(&page, "token");
    (preview, path, token)
}

/// The ids of the items of the latest NEWS edition, in reading order.
fn shown_ids(project: &Project) -> Vec<String> {
    shown_items(project, NEWS).into_iter().map(|(id, _)| id).collect()
}

#[test]
fn the_review_page_shows_the_draft_byte_for_byte_as_it_is_mailed() {
    let project = with_a_draft();
    let preview = reviewing(&project);
    let (status, page) = preview.get(&format!("/review/{NEWS}"));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("As mailed to Jane Doe &#60;jane@example.de&#62;"),
        "the first reader of the list is shown by default: {page}"
    );
    let (status, jane) = preview.get(&format!("/mail/{NEWS}?as=jane%40example.de"));
    assert_eq!(status, 200);
    let framed = Client::new().fetch(&preview.link(&format!("/mail/{NEWS}")));
    let header = |name: &str| framed.header(name).unwrap().to_string();
    assert_eq!(
        header("x-frame-options"),
        "SAMEORIGIN",
        "framed by the review page only"
    );
    assert!(header("content-security-policy").contains("frame-ancestors 'self'"));
    let (_, taro) = preview.get(&format!("/mail/{NEWS}?as=taro%40example.jp"));
    assert!(jane.contains("Dear Jane Doe,") && taro.contains("Dear Yamada Taro,"));
    let (_, as_taro) = preview.get(&format!("/review/{NEWS}?as=taro%40example.jp"));
    assert!(
        as_taro.contains(&format!("src=\"/mail/{NEWS}?as=taro%40example.jp\"")),
        "{as_taro}"
    );
    let (status, page) = preview.get(&format!("/n/{NEWS}.html?as=jane%40example.de"));
    assert_eq!(status, 200, "{page}");
    let previewed = srcdoc(&page);
    drop(preview);

    project.run(&["approve", "--newsletter", NEWS]).assert_code(0);
    project.run(&["send", "--newsletter", NEWS]).assert_code(0);
    for (email, shown) in [("jane@example.de", &jane), ("taro@example.jp", &taro)] {
        let sent = html_part(&project.read(&format!("out/mail/{NEWS}/1/{email}.eml")));
        assert!(
            sent == **shown,
            "the preview shows {email} the bytes mailed to them"
        );
    }
    let sent = html_part(&project.read(&format!("out/mail/{NEWS}/1/jane@example.de.eml")));
    assert!(
        sent == previewed,
        "the edition's preview page frames the bytes mailed, untouched"
    );
}

#[test]
fn a_newsletter_nobody_receives_is_shown_as_mailed_to_a_labelled_sample_reader() {
    let project = with_a_draft_for(
        "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
         solo@example.fr,Solo Reader,,individual,FR,about-japan,2025-03-01\n",
    );
    let preview = reviewing(&project);
    let (_, page) = preview.get(&format!("/review/{NEWS}"));
    assert!(
        page.contains("As mailed to a sample reader (sample.reader@example.invalid, no name)"),
        "{page}"
    );
    let (status, mail) = preview.get(&format!("/mail/{NEWS}"));
    assert_eq!(status, 200);
    assert!(mail.contains("Dear reader,"), "{mail}");
}

#[test]
fn a_post_without_the_token_or_from_another_site_gets_403_and_changes_nothing() {
    let project = with_a_draft();
    let before = editions_show(&project, NEWS);
    let (dropped, _) = shown_items(&project, NEWS)[0].clone();
    let (preview, path, token) = review_form(&project);
    let own = preview.base();
    fn drop_with<'a>(item: &'a str, token: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
        let mut fields = vec![("edition", "1"), ("action", "drop"), ("item", item)];
        fields.extend(token.map(|t| ("token", t)));
        fields
    }
    // The first character: it carries six bits of the MAC (the last only a few).
    let first = if token.starts_with('A') { "B" } else { "A" };
    let off = format!("{first}{}", &token[1..]);
    type Fields<'a> = Vec<(&'a str, &'a str)>;
    let refused: [(&str, Fields, Fields); 5] = [
        (
            "no token",
            vec![("Origin", own.as_str())],
            drop_with(&dropped, None),
        ),
        (
            "a wrong token",
            vec![("Origin", own.as_str())],
            drop_with(&dropped, Some("AAAA")),
        ),
        (
            "a token one character off",
            vec![],
            drop_with(&dropped, Some(&off)),
        ),
        (
            "a foreign Origin",
            vec![("Origin", "http://evil.example")],
            drop_with(&dropped, Some(&token)),
        ),
        (
            "Sec-Fetch-Site: cross-site",
            vec![("Sec-Fetch-Site", "cross-site")],
            drop_with(&dropped, Some(&token)),
        ),
    ];
    for (what, headers, fields) in refused {
        let (status, body) = preview.post(&path, &fields, &headers);
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("Nothing changed"), "{what}: {body}");
    }
    assert_eq!(editions_show(&project, NEWS), before, "the store is unchanged");

    // The same form with its token, from the page's own origin, is applied.
    let applied = preview.submit(
        &path,
        &drop_with(&dropped, Some(&token)),
        &[("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(
        (applied.status, applied.location.as_str()),
        (303, path.as_str()),
        "{}",
        applied.body
    );
    let show = project.run(&["editions", "show", "--newsletter", NEWS]);
    assert!(!show.stdout.contains(&format!("{dropped}  ")), "{}", show.stdout);
    assert!(
        show.stdout.contains(&format!("Keiko Editor drop {dropped}")),
        "recorded with who: {}",
        show.stdout
    );
    let (_, page) = preview.get(&path);
    assert!(
        !page.contains(&format!("id=\"item-{dropped}\"")),
        "the page shows the change at once"
    );
}

/// Issue 25, item 12: the review page's form token was one per process,
/// reusable from curl. Now the page sets a session cookie (`HttpOnly`,
/// `SameSite=Strict`) and its forms carry a token bound to it: the token
/// with no cookie, another client's cookie or a made-up one is refused
/// (403, nothing changed); with its own cookie it is applied.
#[test]
fn a_form_token_is_refused_without_the_session_cookie_its_page_set() {
    let project = with_a_draft();
    let before = editions_show(&project, NEWS);
    let (dropped, _) = shown_items(&project, NEWS)[0].clone();
    let (preview, path, token) = review_form(&project);
    let mine = preview.cookie().expect("the page sets a session cookie");
    let port = preview.addr.rsplit(':').next().unwrap().to_string();
    assert!(mine.starts_with(&format!("bulletin_preview_{port}=")), "{mine}");

    // Another client: its own page, its own cookie and token.
    let theirs = Client::new().fetch(&preview.link(&path));
    let set = theirs.header("set-cookie").unwrap().to_string();
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/", "; Max-Age="] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let other = set.split(';').next().unwrap().to_string();
    assert_ne!(other, mine, "a session per client");
    let their_token = form_value(&theirs.body, "token");
    assert_ne!(their_token, token, "a token per session");

    let fields = [
        ("edition", "1"),
        ("action", "drop"),
        ("item", dropped.as_str()),
        ("token", token.as_str()),
    ];
    let made_up = format!("bulletin_preview_{port}=1.AAAA");
    for (what, cookie) in [
        ("no cookie", ""),
        ("another client's cookie", other.as_str()),
        ("a made-up cookie", made_up.as_str()),
    ] {
        let (status, body) = preview.post(&path, &fields, &[("Cookie", cookie)]);
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("Nothing changed"), "{what}: {body}");
    }
    let (status, body) = preview.post(
        &path,
        &[
            ("edition", "1"),
            ("action", "drop"),
            ("item", dropped.as_str()),
            ("token", their_token.as_str()),
        ],
        &[("Cookie", other.as_str())],
    );
    assert_eq!(status, 303, "the other client's own token and cookie: {body}");
    assert_ne!(editions_show(&project, NEWS), before, "applied");
    let (status, body) = preview.post(&path, &fields, &[]);
    assert_eq!(
        status, 409,
        "with its own cookie the token passes (the item is gone): {body}"
    );
}

#[test]
fn moves_and_the_approval_go_through_the_commands_and_an_approved_edition_refuses_with_their_words() {
    let project = with_a_draft();
    let items = shown_items(&project, NEWS);
    let (preview, path, token) = review_form(&project);
    let post = |fields: &[(&str, &str)]| {
        let mut all = vec![("token", token.as_str()), ("edition", "1")];
        all.extend_from_slice(fields);
        let answer = preview.submit(&path, &all, &[]);
        (answer.status, answer.location, answer.body)
    };
    let (second, first) = (items[1].0.as_str(), items[0].0.as_str());
    let (status, _, body) = post(&[("action", "up"), ("item", second)]);
    assert_eq!(status, 303, "{body}");
    let moved = shown_ids(&project);
    assert_eq!(&moved[..2], [second, first], "moved up one place");
    let (status, _, body) = post(&[("action", "up"), ("item", second)]);
    assert_eq!(status, 409, "first already: {body}");
    assert!(body.contains("first in its section already"), "{body}");
    let (status, _, body) = post(&[("action", "down"), ("item", second)]);
    assert_eq!(status, 303, "{body}");
    let moved = shown_ids(&project);
    assert_eq!(&moved[..2], [first, second], "moved down one place");

    let (status, _, body) = post(&[("action", "section"), ("item", first), ("section", "events")]);
    assert_eq!(status, 303, "{body}");
    let show = editions_show(&project, NEWS);
    let events = show.find("(events)").expect("an events section");
    assert!(
        show[events..].contains(&format!("{first}  ")),
        "moved to the events section: {show}"
    );

    let (status, location, body) = post(&[("action", "approve"), ("as", "taro@example.jp")]);
    assert_eq!(
        (status, location.as_str()),
        (303, "/review/eu-japan-news?as=taro%40example.jp"),
        "{body}"
    );
    let (_, page) = preview.get(&location);
    assert!(page.contains("Approved by Keiko Editor on"), "{page}");
    assert!(
        !page.contains("value=\"drop\""),
        "no buttons on an approved edition"
    );

    let cli = project.run(&["edit", "--newsletter", NEWS, "--edition", "1", "drop", first]);
    cli.assert_code(1);
    let words = cli.stderr.trim().trim_start_matches("error: ");
    assert!(words.contains("an approved edition no longer changes"), "{words}");
    for action in [
        vec![("action", "drop"), ("item", first)],
        vec![("action", "approve")],
    ] {
        let (status, _, body) = post(&action);
        assert_eq!(status, 409, "{body}");
        assert!(
            body.contains(words),
            "the command line's words {words:?} in {body}"
        );
    }
}

/// The review page at `path` once `shows` holds for it, within 10 s (the
/// preview looks at its files every 400 ms).
fn page_once(preview: &Server, path: &str, shows: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, page) = preview.get(path);
        if shows(&page) {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "never came: {page}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Issue 27, item 7: an approval, an unapproval or a skip made with the
/// command line while the review page is open is followed by the page (no
/// more "Review the draft" and correction forms on an approved edition),
/// and a form the page showed before is refused, saying why.
#[test]
fn the_review_page_follows_an_approval_or_a_skip_made_elsewhere() {
    let project = with_a_draft();
    let first = shown_ids(&project).remove(0);
    let (preview, path, token) = review_form(&project);
    assert!(preview.get("/").1.contains("Review the draft"));
    let stale = |action: &str| {
        preview.submit(
            &path,
            &[
                ("token", token.as_str()),
                ("edition", "1"),
                ("action", action),
                ("item", first.as_str()),
            ],
            &[],
        )
    };

    project
        .run(&["approve", "--newsletter", NEWS, "--by", "Hans"])
        .assert_code(0);
    let page = page_once(&preview, &path, |page| page.contains("Approved by Hans on"));
    assert!(
        !page.contains("value=\"drop\"") && !page.contains("value=\"approve\""),
        "no correction or approval form on an approved edition: {page}"
    );
    assert!(!preview.get("/").1.contains("Review the draft"));
    let refused = stale("drop");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("No. 1 was approved by Hans")
            && refused
                .body
                .contains("bulletin unapprove --newsletter eu-japan-news --edition 1"),
        "{}",
        refused.body
    );

    project
        .run(&["unapprove", "--newsletter", NEWS, "--edition", "1"])
        .assert_code(0);
    page_once(&preview, &path, |page| page.contains("value=\"drop\""));
    project
        .run(&["skip", "--newsletter", NEWS, "--edition", "1"])
        .assert_code(0);
    let page = page_once(&preview, &path, |page| !page.contains("value=\"drop\""));
    assert!(page.contains("not a draft yet"), "{page}");
    let refused = stale("approve");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("No. 1 was skipped"), "{}", refused.body);
    assert!(editions_show(&project, NEWS).contains("skipped"));
}
