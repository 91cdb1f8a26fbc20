//! `/desk/subscribers`: the admins' search of the subscriber list (by
//! address or name, a page of the first matches and how many there are,
//! never the whole list) and the unsubscribe of one subscriber from one
//! newsletter, through the operation `bulletin subscribers unsubscribe`
//! performs ([`workflow::unsubscribe_for`]), recorded with the admin and
//! the time. Subscribers' data stays on the page: the answer to the POST
//! sends the browser to a URL naming only the newsletter, and no token or
//! unsubscribe link of theirs is shown.

use super::{Desk, Nav, View};
use crate::store::Found;
use crate::web::server::{Page, Request};
use crate::web::site::{Asked, field};
use crate::workflow::{self, UnsubscribeError};

/// The most subscribers a search shows: the rest are counted, and a
/// narrower search finds them.
pub(super) const SHOWN: usize = 50;

/// One subscriber as the page shows them.
pub(super) struct Row {
    pub(super) email: String,
    pub(super) name: String,
    pub(super) organisation: String,
    /// `active`, `unsubscribed` or `bounced`.
    pub(super) status: &'static str,
    /// The newsletters they receive: (id, title), each with its form.
    pub(super) newsletters: Vec<(String, String)>,
    /// The titles of those they left.
    pub(super) left: Vec<String>,
}

/// What the page shows under its search form.
pub(super) struct Search {
    /// The words searched for, as typed.
    pub(super) words: String,
    pub(super) rows: Vec<Row>,
    /// How many match in all.
    pub(super) total: usize,
    /// The title of the newsletter an unsubscribe just left, after the redirect.
    pub(super) done: Option<String>,
    /// Where the forms post.
    pub(super) action: String,
}

impl Desk {
    /// `/desk/subscribers`: GET searches (`?q=`), POST unsubscribes one; admins only.
    pub(super) async fn subscribers(&self, request: &Request, url: &url::Url) -> Page {
        match Asked::of(&request.method) {
            Asked::Show => self.search(request, url).await,
            Asked::Act => self.unsubscribe(request).await,
            Asked::NotAllowed => self.page(405, &View::MethodNotAllowed),
        }
    }

    async fn search(&self, request: &Request, url: &url::Url) -> Page {
        let editor = match self.admin(self.signed_in(&request.headers).await) {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let query = url.query().unwrap_or("").as_bytes();
        let words = field(query, "q").unwrap_or_default().trim().to_string();
        let done = field(query, "done")
            .and_then(|id| self.config.newsletter(&id).ok())
            .map(|n| n.title.clone());
        let wanted = words.clone();
        let found = if words.is_empty() {
            Some(Ok((Vec::new(), 0)))
        } else {
            self.store
                .with_store(move |store, _| store.search_subscribers(&wanted, SHOWN))
                .await
        };
        let (found, total) = match found {
            Some(Ok(found)) => found,
            Some(Err(e)) => return self.unavailable(&e),
            None => return self.page(503, &View::Unavailable),
        };
        let search = Search {
            words,
            rows: found.into_iter().map(|f| self.row(f)).collect(),
            total,
            done,
            action: self.at("/subscribers"),
        };
        self.page(
            200,
            &View::Subscribers {
                nav: Nav::of(self, &editor),
                search: &search,
            },
        )
    }

    /// A subscriber as a row: their status, and their newsletters by title.
    fn row(&self, found: Found) -> Row {
        let hard_limit = self.config.mail.as_ref().map(|m| m.suppress_after_hard_bounces);
        let status = if found.unsubscribed_all || found.newsletters.is_empty() {
            "unsubscribed"
        } else if found.suppressed || hard_limit.is_some_and(|limit| found.hard_bounces >= limit) {
            "bounced"
        } else {
            "active"
        };
        Row {
            status,
            newsletters: found
                .newsletters
                .iter()
                .map(|id| (id.clone(), self.title(id).to_string()))
                .collect(),
            left: found.left.iter().map(|id| self.title(id).to_string()).collect(),
            email: found.email,
            name: found.name,
            organisation: found.organisation,
        }
    }

    /// A POST of the unsubscribe form: an admin's, with the session's token.
    async fn unsubscribe(&self, request: &Request) -> Page {
        let (editor, form) = match self.posted(request).await {
            Ok(posted) => posted,
            Err(refused) => return refused,
        };
        let editor = match self.admin(Ok(editor)) {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let email = form.get("email").unwrap_or_default().to_string();
        let newsletter = form.get("newsletter").unwrap_or_default().to_string();
        let config = self.config.clone();
        let by = editor.session.email.clone();
        let id = newsletter.clone();
        let done = self
            .store
            .with_store(move |store, now| {
                workflow::unsubscribe_for(&config, store, &email, Some(&id), &by, now)
            })
            .await;
        let why = match done {
            Some(Ok(_)) => {
                let done: String = url::form_urlencoded::byte_serialize(newsletter.as_bytes()).collect();
                return Page::see_other(format!("{}?done={done}", self.at("/subscribers")));
            }
            Some(Err(UnsubscribeError::Store(e))) => return self.unavailable(&e),
            None => return self.page(503, &View::Unavailable),
            Some(Err(UnsubscribeError::Address(_) | UnsubscribeError::NotSubscriber(_))) => {
                "the address is not a subscriber's: search again"
            }
            Some(Err(UnsubscribeError::Newsletter(_))) => "there is no such newsletter",
        };
        self.page(400, &View::Refused { why })
    }
}
