//! The review page of `bulletin preview` (`/review/ID`): a newsletter's
//! draft as it will be mailed to one subscriber (`/mail/ID`, the bytes of
//! the mail's HTML part), beside its items with the editor's corrections
//! as buttons (drop, move up, move down, change section) and an Approve
//! button.
//!
//! The buttons are plain HTML forms (no script needed): a POST, applied on
//! the preview's [`super::Builder`] thread through the [`super::Desk`] (the
//! functions `bulletin edit` and `bulletin approve` call), then a 303 back
//! to the page. A POST is
//! refused (403, nothing changed) when its browser says it comes from
//! another site, or when it lacks the form's token made for its session
//! cookie ([`Csrf`]): a web page elsewhere can make a browser post to
//! 127.0.0.1, but it can read neither.

use std::time::{Duration, Instant};

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use hyper::header::{self, HeaderMap};
use sha2::Sha256;

use super::built::{Built, Page};
use crate::audience::{readers, sample_reader};
use crate::causes::said_once;
use crate::domain::Stance;
use crate::render::japanese_only;
use crate::store::EditionState;
use crate::web::server::{Form, Framing, Page as Reply, Request, cross_site};
use crate::web::site::rendered;

/// The review page's sessions and the token of its forms. A browser gets a
/// session cookie with the first page it asks for (`HttpOnly`,
/// `SameSite=Strict`, for [`SESSION`]); each form carries an HMAC of that
/// cookie under a secret drawn when the preview starts. A POST passes only
/// with a cookie the preview issued, still in time, and the token made for
/// it: a token read by one client (curl, another browser) is worthless
/// without that client's cookie, a page elsewhere can read neither, and a
/// browser does not send a `SameSite=Strict` cookie with another site's
/// request. The HMAC's own comparison takes the same time however many
/// bytes match.
pub(super) struct Csrf {
    secret: [u8; 32],
    /// The cookie's name: one per port, as browsers share cookies across a
    /// host's ports (two previews side by side keep their own).
    cookie: String,
    /// Sessions are timed from here: a cookie says when it was issued, in
    /// seconds since the preview started (a monotonic clock, so a change
    /// of the system's time neither ends nor stretches a session).
    started: Instant,
}

/// How long a session lasts; a page older than that asks to be reloaded.
pub(super) const SESSION: Duration = Duration::from_secs(12 * 60 * 60);

/// The system gave no random bytes for the form's token: the preview does
/// not start, rather than guard its forms with a guessable one.
#[derive(Debug, thiserror::Error)]
#[error("no random bytes for the review page's form token")]
pub(super) struct NoRandom(#[source] getrandom::Error);

/// One browser's session, as a page is answered: the token its forms
/// carry, and the cookie to set when it had none (or one out of time).
pub(super) struct Session {
    pub(super) token: String,
    pub(super) set_cookie: Option<String>,
}

impl Csrf {
    pub(super) fn new(port: u16) -> Result<Csrf, NoRandom> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(NoRandom)?;
        Ok(Csrf {
            secret,
            cookie: format!("bulletin_preview_{port}"),
            started: Instant::now(),
        })
    }

    /// The session of the client that sent `headers` at `now`: its own,
    /// while in time, else a new one.
    pub(super) fn session(&self, headers: &HeaderMap, now: Instant) -> Result<Session, NoRandom> {
        if let Some(cookie) = self.cookie_in(headers, now) {
            return Ok(Session {
                token: self.token(&cookie),
                set_cookie: None,
            });
        }
        let mut id = [0u8; 24];
        getrandom::fill(&mut id).map_err(NoRandom)?;
        let cookie = format!("{}.{}", self.seconds(now), URL_SAFE_NO_PAD.encode(id));
        Ok(Session {
            token: self.token(&cookie),
            set_cookie: Some(format!(
                "{}={cookie}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict",
                self.cookie,
                SESSION.as_secs()
            )),
        })
    }

    /// Whether `token` was made for the session cookie in `headers`, and
    /// that session is still in time at `now`.
    fn verify(&self, headers: &HeaderMap, token: &str, now: Instant) -> bool {
        let Some(cookie) = self.cookie_in(headers, now) else {
            return false;
        };
        URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|given| self.mac(&cookie).verify_slice(&given).is_ok())
    }

    /// The value of this preview's cookie in `headers`, when it was issued
    /// less than [`SESSION`] before `now` (and not after it).
    fn cookie_in(&self, headers: &HeaderMap, now: Instant) -> Option<String> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(&self.cookie)?.strip_prefix('='))?;
        let issued: u64 = value.split_once('.')?.0.parse().ok()?;
        let now = self.seconds(now);
        (issued <= now && now - issued < SESSION.as_secs()).then(|| value.to_string())
    }

    /// Whole seconds from the preview's start to `now`.
    fn seconds(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    fn token(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(cookie).finalize().into_bytes())
    }

    fn mac(&self, cookie: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(b"bulletin preview: the review page's forms, for the session ");
        mac.update(cookie.as_bytes());
        mac
    }
}

/// What the page's forms ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Drop(String),
    Up(String),
    Down(String),
    ToSection {
        item: String,
        section: String,
    },
    /// A lasting rule: never (or always) in this newsletter, for the
    /// source of an item of the page, or for a term.
    Rule {
        stance: Stance,
        about: About,
    },
    Approve,
}

/// What a rule made on the review page is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum About {
    /// The source of this item.
    SourceOf(String),
    Term(String),
}

/// Why a posted form asks for nothing the page offers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FormError {
    #[error("the form names no edition number")]
    NoEdition,
    #[error("the form names no item")]
    NoItem,
    #[error("the form names no section")]
    NoSection,
    #[error("the form names no term")]
    NoTerm,
    /// The `action` field's value, if any.
    #[error(
        "unknown action {0:?}; expected drop, up, down, section, never-source, never-term, always-term or approve"
    )]
    UnknownAction(Option<String>),
}

/// A form of the review page, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Posted {
    /// The edition the page showed: a POST never lands on another one.
    edition: u32,
    action: Action,
    /// The subscriber the page was shown as, kept across the redirect.
    reader: Option<String>,
}

/// A change the review page asks for, as the [`super::Desk`] applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// The newsletter's id, from the page's path.
    pub(crate) newsletter: String,
    /// The edition the page showed: a POST never lands on another one.
    pub(crate) edition: u32,
    pub(crate) action: Action,
}

impl Posted {
    fn from_form(form: &Form) -> Result<Posted, FormError> {
        let edition = form
            .get("edition")
            .and_then(|n| n.parse().ok())
            .ok_or(FormError::NoEdition)?;
        let item = || form.get("item").map(str::to_string).ok_or(FormError::NoItem);
        let action = match form.get("action") {
            Some("approve") => Action::Approve,
            Some("drop") => Action::Drop(item()?),
            Some("up") => Action::Up(item()?),
            Some("down") => Action::Down(item()?),
            Some("section") => Action::ToSection {
                item: item()?,
                section: form.get("section").ok_or(FormError::NoSection)?.to_string(),
            },
            Some("never-source") => Action::Rule {
                stance: Stance::Never,
                about: About::SourceOf(item()?),
            },
            Some(rule @ ("never-term" | "always-term")) => Action::Rule {
                stance: if rule == "never-term" {
                    Stance::Never
                } else {
                    Stance::Always
                },
                about: About::Term(
                    form.get("term")
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .ok_or(FormError::NoTerm)?
                        .to_string(),
                ),
            },
            other => return Err(FormError::UnknownAction(other.map(str::to_string))),
        };
        Ok(Posted {
            edition,
            action,
            reader: form.get("as").map(str::to_string),
        })
    }
}

/// Why the builder changed nothing: said in the words `bulletin edit` or
/// `bulletin approve` print for it, every cause once.
#[derive(Debug, thiserror::Error)]
#[error("{}", said_once(.0.as_ref()))]
struct NotApplied(anyhow::Error);

/// A POST to `/review/ID` that passed the checks: the change it asks for,
/// and the page to go back to.
pub(super) struct Posting {
    pub(super) change: Change,
    pub(super) back: String,
}

/// A POST to `/review/ID`, checked: the change to apply (on the builder's
/// thread), or the answer refusing it, nothing changed.
pub(super) fn posting(request: &Request, csrf: &Csrf) -> Result<Posting, Reply> {
    let path = request.target.split('?').next().unwrap_or_default();
    let Some(id) = path.strip_prefix("/review/") else {
        return Err(Reply::text(405, "method not allowed".into()));
    };
    if let Some(why) = cross_site(&request.headers, &["http"]) {
        return Err(Reply::text(
            403,
            format!("Refused: a request from another site ({why}). Nothing changed.\n"),
        ));
    }
    let form = Form::parse(&request.body);
    let now = Instant::now();
    if !form
        .get("token")
        .is_some_and(|token| csrf.verify(&request.headers, token, now))
    {
        return Err(Reply::text(
            403,
            "Refused: the form's token is missing or wrong, or its session is over (a page of an \
             earlier preview, or of another browser?): reload the review page. Nothing changed.\n"
                .into(),
        ));
    }
    let posted = Posted::from_form(&form)
        .map_err(|why| Reply::text(400, format!("Refused: {why}. Nothing changed.\n")))?;
    let back = review_path(id, posted.reader.as_deref());
    let change = Change {
        newsletter: id.to_string(),
        edition: posted.edition,
        action: posted.action,
    };
    Ok(Posting { change, back })
}

/// The answer to a POST once the builder applied it (`None`: it has
/// stopped): a 303 back to the page, or why nothing changed.
pub(super) fn applied(applied: Option<anyhow::Result<()>>, back: &str) -> Reply {
    match applied {
        Some(Ok(())) => Reply::see_other(back.to_string()),
        Some(Err(why)) => refused(&NotApplied(why).to_string(), back),
        None => Reply::text(503, "The preview is stopping. Nothing changed.\n".into()),
    }
}

/// The review page's address, shown as `reader`.
fn review_path(id: &str, reader: Option<&str>) -> String {
    match reader {
        Some(email) => format!("/review/{id}?{}", query_as(email)),
        None => format!("/review/{id}"),
    }
}

/// `as=EMAIL`, encoded for a query.
fn query_as(email: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("as", email)
        .finish()
}

/// A POST that changed nothing, with why (the words `bulletin edit` or
/// `bulletin approve` would print) and the way back.
fn refused(message: &str, back: &str) -> Reply {
    rendered(409, &Refused { message, back })
}

/// `templates/review_refused.html`.
#[derive(Template)]
#[template(path = "review_refused.html")]
struct Refused<'a> {
    message: &'a str,
    back: &'a str,
}

/// Who the edition is shown as: a subscriber of the list, or a sample
/// reader, named so on the page.
struct Shown<'a> {
    email: &'a str,
    name: &'a str,
    /// Said above the edition.
    label: String,
}

/// The address the sample reader is shown with: a name no mail reaches.
const SAMPLE_EMAIL: &str = "sample.reader@example.invalid";

/// The subscriber `asked` for when they receive the newsletter, else the
/// first who does, else the sample reader.
fn shown_as<'a>(page: &Page, built: &'a Built, asked: Option<&str>) -> Shown<'a> {
    match sample_reader(&page.id, page.audience, &built.subscribers, asked) {
        Some(s) => Shown {
            email: &s.email,
            name: &s.name,
            label: format!("As mailed to {}", s.mailbox()),
        },
        None => Shown {
            email: SAMPLE_EMAIL,
            name: "",
            label: format!(
                "As mailed to a sample reader ({SAMPLE_EMAIL}, no name): nobody on the list receives {} yet",
                page.title
            ),
        },
    }
}

/// `/mail/ID`: the edition's HTML exactly as the send mails it to the
/// reader shown (the bytes of the message's HTML part), or as the web
/// shows it without a `[mail]` section. Only the review page frames it.
pub(super) fn as_mailed(page: &Page, built: &Built, asked: Option<&str>) -> Reply {
    let shown = shown_as(page, built, asked);
    let html = match &page.mail {
        Some(mail) => mail.personalise(&built.key, shown.email, shown.name).html,
        None => page.web.html.clone(),
    };
    Reply {
        framing: Framing::SameOrigin,
        ..Reply::html(200, html)
    }
}

/// An item as the review page lists it.
struct Line<'a> {
    id: &'a str,
    title: &'a str,
    section: &'a str,
    /// Under "More" (past the section's limit), not in full.
    more: bool,
    /// In Japanese only, title and summary: flagged for the editor.
    japanese: bool,
    first: bool,
    last: bool,
}

/// A section as the review page lists it.
struct Part<'a> {
    title: &'a str,
    lines: Vec<Line<'a>>,
}

/// `templates/review.html`.
#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage<'a> {
    page: &'a Page,
    /// Where the edition stands, in a sentence.
    state: String,
    /// A draft: the buttons are shown.
    editable: bool,
    token: &'a str,
    by: &'a str,
    parts: Vec<Part<'a>>,
    /// The readers to show it as: (email, label, chosen).
    readers: Vec<(&'a str, String, bool)>,
    shown: Shown<'a>,
    /// The form's `as` field: the reader shown, kept across a POST.
    reader: &'a str,
    frame: String,
    corrections: &'a [String],
    changes: Option<&'a (String, Vec<String>)>,
    notes: Vec<String>,
    version: u64,
}

/// The form data of a review page: its token, and who corrects.
pub(super) struct Editor {
    pub(super) token: String,
    pub(super) by: String,
}

/// `/review/ID`: the page, shown as the reader `asked` for.
pub(super) fn review(
    page: &Page,
    built: &Built,
    asked: Option<&str>,
    editor: &Editor,
    version: u64,
) -> Reply {
    let shown = shown_as(page, built, asked);
    let reader = if shown.email == SAMPLE_EMAIL {
        ""
    } else {
        shown.email
    };
    let readers = readers(&page.id, page.audience, &built.subscribers)
        .map(|s| (s.email.as_str(), s.mailbox(), s.email == shown.email))
        .collect();
    let mut notes: Vec<String> = built.key_note.iter().cloned().collect();
    if page.mail.is_none() {
        notes.push("No [mail] section in the config: the edition is shown as on the web.".into());
    }
    match page.placed.iter().filter(|p| japanese_only(&p.item)).count() {
        0 => {}
        n => notes.push(format!(
            "{} in Japanese only, title and summary (marked “Japanese only” below): readers of this English newsletter may not read {}.",
            if n == 1 { "1 item is".to_string() } else { format!("{n} items are") },
            if n == 1 { "it" } else { "them" }
        )),
    }
    let frame = match reader {
        "" => format!("/mail/{}", page.id),
        email => format!("/mail/{}?{}", page.id, query_as(email)),
    };
    let review = ReviewPage {
        page,
        state: state(page),
        editable: page.is_draft(),
        token: &editor.token,
        by: &editor.by,
        parts: parts(page),
        readers,
        reader,
        frame,
        corrections: &page.corrections,
        changes: page.changes.as_ref(),
        notes,
        shown,
        version,
    };
    rendered(200, &review)
}

/// The edition's items, section by section, in reading order.
fn parts(page: &Page) -> Vec<Part<'_>> {
    page.sections
        .iter()
        .filter_map(|(id, title)| {
            let mine: Vec<_> = page.placed.iter().filter(|p| p.section == *id).collect();
            let count = mine.len();
            let lines: Vec<Line<'_>> = mine
                .into_iter()
                .enumerate()
                .map(|(i, p)| Line {
                    id: &p.item.id,
                    title: &p.item.title,
                    section: &p.section,
                    more: !p.featured,
                    japanese: japanese_only(&p.item),
                    first: i == 0,
                    last: i + 1 == count,
                })
                .collect();
            (!lines.is_empty()).then_some(Part { title, lines })
        })
        .collect()
}

/// Where the edition stands, in a sentence.
fn state(page: &Page) -> String {
    let Some(record) = &page.record else {
        return format!(
            "The next edition as it would be assembled today; not a draft yet, so nothing to correct: \
             `bulletin run` makes the draft on its schedule day (or `bulletin build --newsletter {}`).",
            page.id
        );
    };
    match record.state {
        EditionState::Draft => format!(
            "A draft, waiting for approval; last rebuilt {}.",
            record.built_at.format("%Y-%m-%d %H:%M UTC")
        ),
        EditionState::Approved => format!(
            "Approved by {} on {}; no longer changes. The next `bulletin run` mails it (or now: \
             `bulletin send --newsletter {}`).",
            record.approved_by.as_deref().unwrap_or("someone"),
            record.approved_at.map_or_else(
                || "an unknown date".into(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
            ),
            page.id
        ),
        EditionState::Skipped => format!(
            "No. {} was skipped: never sent; nothing to correct or approve.",
            record.number
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers carrying `set_cookie`'s `name=value`, as a browser sends it back.
    fn cookie_of(set_cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let pair = set_cookie.split(';').next().unwrap();
        headers.insert(header::COOKIE, format!("other=1; {pair}").parse().unwrap());
        headers
    }

    #[test]
    fn the_token_verifies_with_its_own_session_only_and_while_it_lasts() {
        let csrf = Csrf::new(8026).unwrap();
        let now = Instant::now();
        let session = csrf.session(&HeaderMap::new(), now).unwrap();
        let set = session.set_cookie.clone().expect("a new session sets its cookie");
        assert!(set.starts_with("bulletin_preview_8026="), "{set}");
        assert!(
            set.contains("; HttpOnly") && set.contains("; SameSite=Strict"),
            "{set}"
        );
        let mine = cookie_of(&set);
        assert!(csrf.verify(&mine, &session.token, now));
        let again = csrf.session(&mine, now).unwrap();
        assert_eq!(
            (again.token.as_str(), again.set_cookie),
            (session.token.as_str(), None)
        );

        let other = cookie_of(&csrf.session(&HeaderMap::new(), now).unwrap().set_cookie.unwrap());
        assert!(
            !csrf.verify(&other, &session.token, now),
            "another client's cookie"
        );
        assert!(!csrf.verify(&HeaderMap::new(), &session.token, now), "no cookie");
        assert!(
            !Csrf::new(8026).unwrap().verify(&mine, &session.token, now),
            "another preview's secret"
        );
        let later = now + SESSION;
        assert!(!csrf.verify(&mine, &session.token, later), "the session is over");
        assert!(
            csrf.session(&mine, later).unwrap().set_cookie.is_some(),
            "a new one"
        );
        // The first character: it carries six bits of the MAC (the last only a few).
        let token = &session.token;
        let first = if token.starts_with('A') { "B" } else { "A" };
        let off = format!("{first}{}", &token[1..]);
        for wrong in ["", "AAAA", "not base64!", off.as_str()] {
            assert!(!csrf.verify(&mine, wrong, now), "{wrong:?}");
        }
    }

    #[test]
    fn a_form_names_its_edition_action_and_item() {
        let read = |body: &str| Posted::from_form(&Form::parse(body.as_bytes()));
        assert_eq!(
            read("token=t&edition=3&action=section&item=ab&section=events&as=jane%40example.de"),
            Ok(Posted {
                edition: 3,
                action: Action::ToSection {
                    item: "ab".into(),
                    section: "events".into()
                },
                reader: Some("jane@example.de".into()),
            })
        );
        assert_eq!(
            read("edition=1&action=approve").map(|p| p.action),
            Ok(Action::Approve)
        );
        assert_eq!(read("action=approve"), Err(FormError::NoEdition));
        assert_eq!(read("edition=1&action=drop&item="), Err(FormError::NoItem));
        assert_eq!(
            read("edition=1&action=section&item=x").map_err(|e| e.to_string()),
            Err("the form names no section".into())
        );
        assert_eq!(
            read("edition=1&action=delete&item=x").map_err(|e| e.to_string()),
            Err("unknown action Some(\"delete\"); expected drop, up, down, section, never-source, never-term, always-term or approve".into())
        );
        assert_eq!(
            read("edition=1&action=always-term&term=+chip+").map(|p| p.action),
            Ok(Action::Rule {
                stance: Stance::Always,
                about: About::Term("chip".into())
            })
        );
        assert_eq!(read("edition=1&action=never-term&term=+"), Err(FormError::NoTerm));
        assert_eq!(
            read("edition=1&action=never-source&item=ab").map(|p| p.action),
            Ok(Action::Rule {
                stance: Stance::Never,
                about: About::SourceOf("ab".into())
            })
        );
    }
}
