//! The editor's desk (issue 28): `bulletin serve`'s pages at
//! `site.desk_path` (default `/desk`), behind a login, in the site's frame.
//!
//! Plain forms, no script needed. A session is a random 256-bit id in a
//! cookie (`HttpOnly`, `SameSite=Strict`, `Secure` unless the page is asked
//! for on a loopback name over http), stored hashed, with an idle and an
//! absolute expiry; a login always begins a new one (no fixation), a
//! logout ends it on the server. Every POST passes the cross-site check and
//! carries the form token of its cookie: the session's, or, for the login
//! form, the login cookie's. The accounts, the limits and the sessions
//! themselves are the workflow's ([`crate::workflow`]); the pages here
//! ask for them on `serve`'s store thread.
//!
//! `login.rs`: login, logout, the set-password link's page; `dashboard.rs`:
//! the newsletters at a glance, and the admins' list of editors;
//! `report.rs`: an edition's delivery report; `subscribers.rs`: the admins'
//! search of the subscribers and their unsubscribe of one; `log.rs`: the
//! admins' log of what editors and admins did; `schedule.rs`: an edition's
//! scheduled send, its form and its POST; `review.rs`: an edition's
//! review page, its corrections' forms applied by `corrections.rs`.

mod corrections;
mod dashboard;
mod log;
mod login;
mod report;
mod review;
mod schedule;
mod subscribers;

use std::sync::Arc;

use askama::Template;
use hyper::header::{self, HeaderMap};

use self::review::Stage;
use super::keeper::Keeper;
use super::server::{Form, Page, Request, cross_site};
use super::site::{Framed, Site};
use super::worker::Worker;
use crate::audience::Key;
use crate::config::Config;
use crate::domain::Role;
use crate::store::{SessionRecord, StoreError};
use crate::workflow::{self, form_token, form_token_matches};

/// The session's cookie.
const SESSION_COOKIE: &str = "bulletin_desk";
/// The login form's own cookie, before any session: its token is made for it.
const LOGIN_COOKIE: &str = "bulletin_desk_login";

/// The desk as `serve` runs it.
pub(super) struct Desk {
    /// `site.desk_path`: the dashboard; its pages below it.
    path: String,
    site: Site,
    config: Arc<Config>,
    key: Key,
    store: Worker<Keeper>,
}

/// A signed-in editor, as a page shows them: who, and the token their
/// forms carry.
pub(super) struct Editor {
    session: SessionRecord,
    token: String,
}

impl Editor {
    fn is_admin(&self) -> bool {
        self.session.role == Role::Admin
    }
}

impl Desk {
    pub(super) fn new(config: Arc<Config>, key: &Key, store: Worker<Keeper>) -> Desk {
        Desk {
            path: config.site.desk_path.clone(),
            site: Site::new(&config.site.name),
            config,
            key: key.clone(),
            store,
        }
    }

    /// Whether `path` is one of the desk's.
    pub(super) fn serves(&self, path: &str) -> bool {
        path.strip_prefix(&self.path)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The answer to a request for one of the desk's paths.
    pub(super) async fn answer(&self, request: &Request, url: &url::Url) -> Page {
        let rest = url.path().strip_prefix(&self.path).unwrap_or_default();
        match rest {
            "" => self.dashboard(request, url).await,
            "/login" => self.login(request).await,
            "/logout" => self.logout(request).await,
            "/password" => self.password(request, url).await,
            "/editors" => self.editors(request).await,
            "/subscribers" => self.subscribers(request, url).await,
            "/log" => self.log(request, url).await,
            "/schedule" => self.schedule(request).await,
            _ => {
                if let Some(edition) = rest.strip_prefix("/report/") {
                    self.report(request, url, edition).await
                } else if let Some(edition) = rest.strip_prefix("/edition/") {
                    self.edition(request, url, edition).await
                } else {
                    self.page(404, &View::NotFound)
                }
            }
        }
    }

    fn page(&self, status: u16, view: &View<'_>) -> Page {
        self.site.page(status, view)
    }

    /// The title of the newsletter `id`, as its readers know it (its id
    /// when it is no longer configured).
    fn title<'a>(&'a self, id: &'a str) -> &'a str {
        self.config
            .newsletters
            .iter()
            .find(|n| n.id == id)
            .map_or(id, |n| n.title.as_str())
    }

    /// `path` under the desk: `/desk/login` for `"/login"`.
    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.path)
    }

    /// The editor whose session cookie `headers` carry, while it is in time;
    /// else the way to the login page (or a 503 when the store is away).
    async fn signed_in(&self, headers: &HeaderMap) -> Result<Editor, Page> {
        let Some(cookie) = cookie(headers, SESSION_COOKIE) else {
            return Err(Page::see_other(self.at("/login")));
        };
        let id = cookie.clone();
        let found = self
            .store
            .with_store(move |store, now| workflow::current_session(store, &id, now))
            .await;
        match found {
            Some(Ok(Some(session))) => Ok(Editor {
                session,
                token: form_token(&cookie),
            }),
            Some(Ok(None)) => Err(Page::see_other(self.at("/login"))),
            Some(Err(e)) => Err(self.unavailable(&e)),
            None => Err(self.page(503, &View::Unavailable)),
        }
    }

    /// `signed_in`'s editor when they are an admin; else the page that says
    /// this is for admins (403), or the way to the login.
    fn admin(&self, signed_in: Result<Editor, Page>) -> Result<Editor, Page> {
        let editor = signed_in?;
        if editor.is_admin() {
            return Ok(editor);
        }
        Err(self.page(
            403,
            &View::AdminsOnly {
                nav: Nav::of(self, &editor),
            },
        ))
    }

    /// A POST of a signed-in editor's form, checked: not from another
    /// site, with the token of their session. Else the refusal, nothing done.
    async fn posted(&self, request: &Request) -> Result<(Editor, Form), Page> {
        if let Some(why) = cross_site(&request.headers, &["http", "https"]) {
            return Err(self.page(403, &View::Refused { why: &why }));
        }
        let Ok(editor) = self.signed_in(&request.headers).await else {
            return Err(self.page(403, &View::Refused { why: SESSION_OVER }));
        };
        let form = Form::parse(&request.body);
        let cookie = cookie(&request.headers, SESSION_COOKIE).unwrap_or_default();
        if !form.get("token").is_some_and(|t| form_token_matches(&cookie, t)) {
            return Err(self.page(403, &View::Refused { why: BAD_TOKEN }));
        }
        Ok((editor, form))
    }

    /// The 503 of a store error, said in `serve`'s log without an address.
    fn unavailable(&self, error: &StoreError) -> Page {
        eprintln!(
            "desk: the store: {}",
            crate::causes::said_without_addresses(error)
        );
        self.page(503, &View::Unavailable)
    }

    /// The `Set-Cookie` value of the cookie `name` holding `value` for
    /// `max_age` seconds (0: gone), for the desk's paths only.
    fn cookie(&self, name: &str, value: &str, max_age: i64, headers: &HeaderMap) -> String {
        let secure = if on_loopback(headers) { "" } else { "; Secure" };
        format!(
            "{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
            self.path
        )
    }
}

/// Why a POST without a session is refused.
const SESSION_OVER: &str = "your session is over or was never begun: log in again";
/// Why a POST whose token is missing or not its session's is refused.
const BAD_TOKEN: &str = "the form's token is missing or not this session's: reload the page";

/// The value of the cookie `name` in `headers`, if it is there and could
/// be one of ours (URL-safe base64, not absurdly long).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
}

/// Whether the page was asked for on a loopback name (`127.0.0.1`, `[::1]`,
/// `localhost`): served over plain http there, a `Secure` cookie would not
/// come back. Everywhere else the desk is behind https, and its cookies say so.
fn on_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "127.0.0.1" || name == "[::1]" || name.eq_ignore_ascii_case("localhost")
}

/// What a page of the desk shows.
enum View<'a> {
    Login {
        action: &'a str,
        token: &'a str,
        /// The one answer to a login that did not open the desk.
        failed: bool,
        /// A password was just set.
        password_set: bool,
    },
    Dashboard {
        nav: Nav<'a>,
        overview: &'a dashboard::Overview,
    },
    /// An edition's delivery report.
    Report {
        nav: Nav<'a>,
        /// "EU-Japan NEWS, No. 1 of 2026-11-23".
        heading: &'a str,
        /// The same as CSV.
        download: &'a str,
        parts: &'a [report::Part<'a>],
    },
    Editors {
        nav: Nav<'a>,
        editors: &'a [dashboard::Account],
    },
    /// The admins' search of the subscribers.
    Subscribers {
        nav: Nav<'a>,
        search: &'a subscribers::Search,
    },
    /// The admins' log of actions.
    Log {
        nav: Nav<'a>,
        log: &'a log::LogPage,
    },
    /// An edition's review page.
    Review {
        nav: Nav<'a>,
        review: &'a review::Review,
    },
    SetPassword {
        action: &'a str,
        link: &'a str,
        email: &'a str,
        error: Option<String>,
    },
    /// The link to set a password is not (or no longer) valid.
    LinkInvalid,
    /// An admin's page, asked for by an editor.
    AdminsOnly {
        nav: Nav<'a>,
    },
    Refused {
        why: &'a str,
    },
    NotFound,
    MethodNotAllowed,
    Unavailable,
}

/// The bar of every signed-in page: who, where to go, and logout.
struct Nav<'a> {
    name: &'a str,
    role: &'a str,
    admin: bool,
    token: &'a str,
    home: &'a str,
    editors: String,
    subscribers: String,
    log: String,
    logout: String,
}

impl<'a> Nav<'a> {
    fn of(desk: &'a Desk, editor: &'a Editor) -> Nav<'a> {
        Nav {
            name: &editor.session.name,
            role: editor.session.role.as_str(),
            admin: editor.is_admin(),
            token: &editor.token,
            home: &desk.path,
            editors: desk.at("/editors"),
            subscribers: desk.at("/subscribers"),
            log: desk.at("/log"),
            logout: desk.at("/logout"),
        }
    }
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage<'a> {
    view: &'a View<'a>,
    site_name: &'a str,
}

impl Framed for View<'_> {
    fn framed<'a>(&'a self, site_name: &'a str) -> impl Template + 'a {
        DeskPage {
            view: self,
            site_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_a_plausible_cookie_of_its_name_is_read() {
        let read = |value| cookie(&headers(&[("cookie", value)]), SESSION_COOKIE);
        assert_eq!(read("a=1; bulletin_desk=abc-_9"), Some("abc-_9".into()));
        assert_eq!(read("bulletin_desk_login=x"), None);
        assert_eq!(read("bulletin_desk=a b"), None);
        assert_eq!(read("bulletin_desk="), None);
    }

    #[test]
    fn cookies_are_secure_but_on_a_loopback_name() {
        for host in ["127.0.0.1:8025", "[::1]:8025", "localhost", "LOCALHOST:1"] {
            assert!(on_loopback(&headers(&[("host", host)])), "{host}");
        }
        for host in ["news.example.eu", "127.0.0.1.example.eu:80", "10.0.0.1:8025"] {
            assert!(!on_loopback(&headers(&[("host", host)])), "{host}");
        }
        assert!(!on_loopback(&HeaderMap::new()));
    }
}
