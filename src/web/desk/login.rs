//! The desk's login, logout and set-password pages.
//!
//! A login runs in three steps, so argon2 never holds the store's thread:
//! the limits and the stored hash on the store ([`workflow::login_gate`]),
//! the password checked on a blocking thread of the server's runtime
//! ([`workflow::check_password`]), then the new session on the store. Every
//! failure — wrong address, wrong password, a lock — gets the same page.

use super::{Desk, LOGIN_COOKIE, SESSION_COOKIE, View, cookie};
use crate::web::server::{Form, Network, Page, Request, cross_site};
use crate::web::site::{Asked, field};
use crate::workflow::{self, Password, Secret, form_token, form_token_matches};

/// How long the login form's cookie lasts: the form's token with it.
const LOGIN_COOKIE_SECS: i64 = 60 * 60;

impl Desk {
    /// `/desk/login`: GET shows the form (with its cookie), POST logs in.
    pub(super) async fn login(&self, request: &Request) -> Page {
        match Asked::of(&request.method) {
            Asked::Show => self.login_form(request, false, false),
            Asked::Act => self.log_in(request).await,
            Asked::NotAllowed => self.page(405, &View::MethodNotAllowed),
        }
    }

    /// The form, its token made for the browser's login cookie (a new one
    /// when it has none); `failed` after a login that did not open the desk.
    fn login_form(&self, request: &Request, failed: bool, password_set: bool) -> Page {
        let (value, new) = match cookie(&request.headers, LOGIN_COOKIE) {
            Some(value) => (value, false),
            None => match Secret::new() {
                Ok(secret) => (secret.as_str().to_string(), true),
                Err(_) => return self.page(503, &View::Unavailable),
            },
        };
        let token = form_token(&value);
        let action = self.at("/login");
        let password_set = password_set || request.target.ends_with("?set=1");
        let mut page = self.page(
            if failed { 401 } else { 200 },
            &View::Login {
                action: &action,
                token: &token,
                failed,
                password_set,
            },
        );
        if new {
            page.set_cookie = Some(self.cookie(LOGIN_COOKIE, &value, LOGIN_COOKIE_SECS, &request.headers));
        }
        page
    }

    async fn log_in(&self, request: &Request) -> Page {
        if let Some(why) = cross_site(&request.headers, &["http", "https"]) {
            return self.page(403, &View::Refused { why: &why });
        }
        let form = Form::parse(&request.body);
        let login_cookie = cookie(&request.headers, LOGIN_COOKIE).unwrap_or_default();
        if !form
            .get("token")
            .is_some_and(|t| form_token_matches(&login_cookie, t))
        {
            return self.page(
                403,
                &View::Refused {
                    why: "the login form's token is missing or wrong (cookies off, or an old page?): reload the login page",
                },
            );
        }
        let typed = form.get("email").unwrap_or_default().to_string();
        let password = form.get("password").unwrap_or_default().to_string();
        let network = self.key.keyed_hash(
            "desk login network",
            Network::from(request.client).to_string().as_bytes(),
        );
        let gate = self
            .store
            .with_store(move |store, now| workflow::login_gate(store, &typed, &network, now))
            .await;
        let gate = match gate {
            Some(Ok(gate)) => gate,
            Some(Err(e)) => return self.unavailable(&e),
            None => return self.page(503, &View::Unavailable),
        };
        let checked = tokio::task::spawn_blocking(move || workflow::check_password(gate, &password)).await;
        let Ok(Some(email)) = checked else {
            return self.login_form(request, true, false);
        };
        let brought = cookie(&request.headers, SESSION_COOKIE);
        let begun = self
            .store
            .with_store(move |store, now| workflow::begin_session(store, &email, brought.as_deref(), now))
            .await;
        match begun {
            Some(Ok(id)) => {
                let mut page = Page::see_other(self.path.clone());
                let max_age = workflow::ABSOLUTE.num_seconds();
                page.set_cookie = Some(self.cookie(SESSION_COOKIE, id.as_str(), max_age, &request.headers));
                page
            }
            _ => self.page(503, &View::Unavailable),
        }
    }

    /// `/desk/logout`: POST ends the session on the server and clears the cookie.
    pub(super) async fn logout(&self, request: &Request) -> Page {
        if Asked::of(&request.method) != Asked::Act {
            return self.page(405, &View::MethodNotAllowed);
        }
        if let Err(refused) = self.posted(request).await {
            return refused;
        }
        let id = cookie(&request.headers, SESSION_COOKIE).unwrap_or_default();
        let ended = self
            .store
            .with_store(move |store, _| workflow::end_session(store, &id))
            .await;
        match ended {
            Some(Ok(())) => {
                let mut page = Page::see_other(self.at("/login"));
                page.set_cookie = Some(self.cookie(SESSION_COOKIE, "", 0, &request.headers));
                page
            }
            Some(Err(e)) => self.unavailable(&e),
            None => self.page(503, &View::Unavailable),
        }
    }

    /// `/desk/password?t=TOKEN`: the one-time link's page. GET shows the
    /// form for the link's editor; POST sets the password and closes the link.
    pub(super) async fn password(&self, request: &Request, url: &url::Url) -> Page {
        match Asked::of(&request.method) {
            Asked::Show => {
                let link = field(url.query().unwrap_or("").as_bytes(), "t").unwrap_or_default();
                self.password_form(link, None).await
            }
            Asked::Act => self.set_password(request).await,
            Asked::NotAllowed => self.page(405, &View::MethodNotAllowed),
        }
    }

    /// The form for the editor of `link`, with what went wrong last time.
    async fn password_form(&self, link: String, error: Option<String>) -> Page {
        let token = link.clone();
        let editor = self
            .store
            .with_store(move |store, now| workflow::link_editor(store, &token, now))
            .await;
        match editor {
            Some(Ok(Some(editor))) => {
                let action = self.at("/password");
                self.page(
                    if error.is_some() { 400 } else { 200 },
                    &View::SetPassword {
                        action: &action,
                        link: &link,
                        email: &editor.email,
                        error,
                    },
                )
            }
            Some(Ok(None)) => self.page(400, &View::LinkInvalid),
            Some(Err(e)) => self.unavailable(&e),
            None => self.page(503, &View::Unavailable),
        }
    }

    async fn set_password(&self, request: &Request) -> Page {
        if let Some(why) = cross_site(&request.headers, &["http", "https"]) {
            return self.page(403, &View::Refused { why: &why });
        }
        let form = Form::parse(&request.body);
        let link = form.get("t").unwrap_or_default().to_string();
        let (typed, again) = (
            form.get("password").unwrap_or_default(),
            form.get("confirm").unwrap_or_default(),
        );
        if typed != again {
            return self
                .password_form(
                    link,
                    Some("The two passwords differ: type the same one twice.".into()),
                )
                .await;
        }
        let password = match Password::new(typed) {
            Ok(password) => password,
            Err(e) => return self.password_form(link, Some(format!("Not set: {e}."))).await,
        };
        let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || password.hash()).await else {
            return self.page(503, &View::Unavailable);
        };
        let set = self
            .store
            .with_store(move |store, now| workflow::set_password_by_link(store, &link, &hash, now))
            .await;
        match set {
            Some(Ok(Some(_))) => Page::see_other(self.at("/login?set=1")),
            Some(Ok(None)) => self.page(400, &View::LinkInvalid),
            Some(Err(e)) => self.unavailable(&e),
            None => self.page(503, &View::Unavailable),
        }
    }
}
