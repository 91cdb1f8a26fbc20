//! The unsubscribe link's page, behind every mail's link. GET shows a
//! page with a button and changes nothing: mail scanners and link previews
//! follow links. POST (the button, or a mail client's RFC 8058 one-click
//! request) checks the token and unsubscribes at once, through the
//! store's thread ([`Keeper`]). No cookie, no login, no redirect; a bad
//! token gets a plain 400 page. When the store is busy the request is kept
//! and answered 503 with `Retry-After`; a request the full spool cannot
//! take is answered 503 too, saying it was not recorded.

use std::collections::HashMap;

use askama::Template;
use url::Url;

use super::keeper::{Keeper, Outcome};
use super::server::{Page, Request};
use super::site::{Asked, Framed, Site, field};
use super::worker::Worker;
use crate::audience::token::{Purpose, seal};
use crate::audience::{Key, Unsubscribe, verify};
use crate::config::Config;

/// What a 503 asks a one-click client to wait before trying again.
const RETRY_AFTER_SECS: u32 = 60;

/// The unsubscribe page as `serve` runs it.
pub(super) struct Unsubscribes {
    /// `mail.unsubscribe_url`'s path.
    pub(super) path: String,
    site: Site,
    titles: HashMap<String, String>,
    /// `mail.preferences_url`: the unsubscribed page links to their own.
    preferences_url: Option<Url>,
    /// `site.subscribe_url`: the unsubscribed page offers a way back.
    subscribe_url: Option<String>,
    key: Key,
    store: Worker<Keeper>,
}

impl Unsubscribes {
    pub(super) fn new(config: &Config, path: String, key: &Key, store: Worker<Keeper>) -> Unsubscribes {
        Unsubscribes {
            path,
            site: Site::new(&config.site.name),
            titles: config
                .newsletters
                .iter()
                .map(|n| (n.id.to_string(), n.title.clone()))
                .collect(),
            preferences_url: config.mail.as_ref().map(|mail| mail.preferences_url.clone()),
            subscribe_url: config.site.subscribe_url.as_ref().map(Url::to_string),
            key: key.clone(),
            store,
        }
    }

    /// Where the unsubscribed page leads: their preference centre (its
    /// link sealed for them, as in every mail's footer), and the form.
    fn ways_back(&self, email: &str) -> WaysBack {
        WaysBack {
            preferences: self.preferences_url.as_ref().map(|url| {
                let mut url = url.clone();
                url.query_pairs_mut()
                    .append_pair("t", &seal(&self.key, Purpose::Preferences, email));
                url.to_string()
            }),
            subscribe: self.subscribe_url.clone(),
        }
    }

    /// The page for `answer`: also `serve`'s 400 and 404.
    pub(super) fn page(&self, status: u16, answer: &Answer<'_>) -> Page {
        self.site.page(status, answer)
    }

    /// The unsubscribe link's page: GET asks, POST unsubscribes.
    pub(super) async fn answer(&self, request: &Request, url: &Url) -> Page {
        let token = field(url.query().unwrap_or("").as_bytes(), "t").unwrap_or_default();
        let Some(unsubscribe) = verify(&self.key, &token) else {
            return self.page(400, &Answer::InvalidLink);
        };
        let title = self
            .titles
            .get(&unsubscribe.newsletter)
            .cloned()
            .unwrap_or_else(|| unsubscribe.newsletter.clone());
        match Asked::of(&request.method) {
            Asked::Show => {
                let action = format!("{}?{}", url.path(), url.query().unwrap_or(""));
                let confirm = Answer::Confirm {
                    title: &title,
                    email: &unsubscribe.email,
                    action: &action,
                };
                self.page(200, &confirm)
            }
            Asked::Act => self.unsubscribe(unsubscribe, &title).await,
            Asked::NotAllowed => self.page(405, &Answer::MethodNotAllowed),
        }
    }

    async fn unsubscribe(&self, request: Unsubscribe, title: &str) -> Page {
        let email = request.email.clone();
        let back = self.ways_back(&email);
        match self.store.unsubscribe(request).await {
            Outcome::Stored => self.page(
                200,
                &Answer::Done {
                    title,
                    email: &email,
                    back: &back,
                },
            ),
            Outcome::Kept => Page {
                retry_after: Some(RETRY_AFTER_SECS),
                ..self.page(
                    503,
                    &Answer::Kept {
                        title,
                        email: &email,
                        back: &back,
                    },
                )
            },
            Outcome::Full => Page {
                retry_after: Some(RETRY_AFTER_SECS),
                ..self.page(503, &Answer::Full)
            },
            Outcome::Failed => self.page(500, &Answer::Failed),
        }
    }
}

/// What the unsubscribe page says: one of these, in `templates/unsubscribe.html`.
pub(super) enum Answer<'a> {
    /// The GET: a button that POSTs back to the same link.
    Confirm {
        title: &'a str,
        email: &'a str,
        /// The path and query the button posts to.
        action: &'a str,
    },
    Done {
        title: &'a str,
        email: &'a str,
        back: &'a WaysBack,
    },
    /// The store was busy: the request is in the spool.
    Kept {
        title: &'a str,
        email: &'a str,
        back: &'a WaysBack,
    },
    /// The store was busy and the spool full: nothing recorded.
    Full,
    InvalidLink,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    Failed,
}

/// The links of the unsubscribed page, each when configured.
pub(super) struct WaysBack {
    /// Their preference centre: other newsletters, their details, their data.
    preferences: Option<String>,
    /// The sign-up form, to subscribe again.
    subscribe: Option<String>,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    answer: &'a Answer<'a>,
    site_name: &'a str,
}

impl Framed for Answer<'_> {
    fn framed<'a>(&'a self, site_name: &'a str) -> impl Template + 'a {
        UnsubscribePage {
            answer: self,
            site_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, UnsubscribePage};
    use askama::Template;

    #[test]
    fn the_confirm_page_escapes_what_it_shows_and_posts_back() {
        let html = UnsubscribePage {
            answer: &Answer::Confirm {
                title: "News <b>&</b>",
                email: "o'brien@example.ie",
                action: "/unsubscribe?t=a\"b",
            },
            site_name: "EU-Japan <Centre>",
        }
        .render()
        .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(
            html.contains("Stop sending News &#60;b&#62;&#38;&#60;/b&#62; to o&#39;brien@example.ie?"),
            "{html}"
        );
        assert!(
            html.contains("<form method=\"post\" action=\"/unsubscribe?t=a&#34;b\">"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("EU-Japan &#60;Centre&#62;"), "{html}");
    }
}
