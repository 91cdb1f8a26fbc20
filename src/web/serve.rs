//! `bulletin serve`: the unsubscribe endpoint behind every mail's link
//! ([`super::unsubscribe`]), the sign-up form with its confirmation page
//! ([`super::signup`]), and the preference centre ([`super::preferences`])
//! behind its footer's link, and the editor's desk ([`super::desk`]), on [`super::server`]'s limits, with the store
//! on a thread of its own ([`super::keeper`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::desk::Desk;
use super::keeper::{Keeper, RHYTHM};
use super::preferences::PreferenceCentre;
use super::server::{Handler, Hosts, Limits, Page, Request, Server, ServerError};
use super::signup::{Signup, SignupError};
use super::unsubscribe::{Answer, Unsubscribes};
use super::worker;
use crate::audience::Key;
use crate::config::Config;
use crate::store::StoreError;

/// Serves until SIGTERM or Ctrl-C; prints the address it listens on first.
pub(crate) fn serve(
    config: Arc<Config>,
    listen: &str,
    limits: Limits,
    key: &Key,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<(), ServeError> {
    let mail = config.mail.as_ref().ok_or(ServeError::NoMail)?;
    let path = mail.unsubscribe_url.path().to_string();
    let (store, queue) = worker::channel();
    let (signup, mailer) = match Signup::new(&config, mail, key, store.clone())? {
        Some((signup, mailer)) => (Some(signup), Some(mailer)),
        None => (None, None),
    };
    let preferences = PreferenceCentre::new(&config, mail, key, store.clone());
    let mut keeper = Keeper::open(&config.store_path())?;
    let server = Server::bind(listen)?;
    let addr = server.local_addr()?;
    println!("listening on http://{addr}{path}");
    let proxies = config.site.trusted_proxies.clone();
    let desk = Desk::new(config.clone(), key, store.clone());
    let endpoint = Arc::new(Endpoint {
        desk,
        unsubscribe: Unsubscribes::new(&config, path, key, store),
        signup,
        preferences,
    });
    std::thread::scope(|scope| {
        scope.spawn(move || worker::work(&mut keeper, &queue, RHYTHM, now));
        if let Some(mailer) = mailer {
            // Ends once the endpoint is dropped; the store's thread after it.
            scope.spawn(move || mailer.run());
        }
        // Returns once every connection is closed; the endpoint, and with
        // it every worker of the store, is dropped with them: the store's
        // thread ends.
        server.run(endpoint, Hosts::Any, limits, proxies)
    })?;
    Ok(())
}

/// Why the unsubscribe endpoint could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error("no [mail] section in the config: there is nothing to unsubscribe from")]
    NoMail,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Signup(#[from] SignupError),
}

/// Every page `serve` shows; none holds the store, only a worker of its thread.
struct Endpoint {
    unsubscribe: Unsubscribes,
    /// The sign-up form, when `site.subscribe_url` is set.
    signup: Option<Signup>,
    /// The preference centre, at `mail.preferences_url`'s path.
    preferences: PreferenceCentre,
    /// The editor's desk, at `site.desk_path` and below.
    desk: Desk,
}

impl Handler for Endpoint {
    async fn handle(&self, request: Request) -> Page {
        let Ok(url) = url::Url::parse(&format!("http://localhost{}", request.target)) else {
            return self.unsubscribe.page(400, &Answer::BadRequest);
        };
        // One arm per page `serve` shows.
        match url.path() {
            path if path == self.unsubscribe.path => self.unsubscribe.answer(&request, &url).await,
            path if path == self.preferences.path() => self.preferences.answer(&request, &url).await,
            path if self.desk.serves(path) => self.desk.answer(&request, &url).await,
            // Browsers ask for it on their own; a 404 shows as an error in their console.
            "/favicon.ico" => Page::text(204, String::new()),
            path if let Some(signup) = &self.signup
                && let Some(page) = signup.page(path) =>
            {
                signup.answer(page, &request, &url).await
            }
            _ => self.unsubscribe.page(404, &Answer::NotFound),
        }
    }
}
