//! The desk's first page: each newsletter's last edition and its state, and
//! the next due day, as `bulletin status` says them; and the admins' list
//! of editors.
//!
//! The last run's health and any alert belong on the dashboard too (issue
//! 28, item 3): they come with the run records, which are not stored yet.
//! Their place is [`Newsletter`]'s and `templates/desk.html`'s
//! "run-health" slot, nothing is shown there until then.

use chrono::NaiveDate;

use super::{Desk, Nav, View};
use crate::config::Config;
use crate::editions::{due_days, next_due};
use crate::store::{EditionState, Store, StoreError};
use crate::web::server::Page;
use crate::web::site::Asked;

/// One newsletter on the dashboard.
pub(super) struct Newsletter {
    pub(super) id: String,
    pub(super) title: String,
    /// "No. 3 of 2026-11-23", or none yet.
    pub(super) last: Option<String>,
    /// What the last edition waits for, or that it went out.
    pub(super) state: &'static str,
    /// The next schedule day, or since when one is overdue.
    pub(super) next: String,
}

/// One editor on the admins' page.
pub(super) struct Account {
    pub(super) email: String,
    pub(super) name: String,
    pub(super) role: &'static str,
    pub(super) access: &'static str,
}

impl Desk {
    /// `/desk`: the dashboard, for a signed-in editor.
    pub(super) async fn dashboard(&self, request: &crate::web::server::Request) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.signed_in(&request.headers).await {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let config = self.config.clone();
        let overview = self
            .store
            .with_store(move |store, now| overview(&config, store, now.date_naive()))
            .await;
        match overview {
            Some(Ok(newsletters)) => self.page(
                200,
                &View::Dashboard {
                    nav: Nav::of(self, &editor),
                    newsletters: &newsletters,
                },
            ),
            Some(Err(e)) => self.unavailable(&e),
            None => self.page(503, &View::Unavailable),
        }
    }

    /// `/desk/editors`: every editor, for admins only.
    pub(super) async fn editors(&self, request: &crate::web::server::Request) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.signed_in(&request.headers).await {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        if !editor.is_admin() {
            return self.page(
                403,
                &View::AdminsOnly {
                    nav: Nav::of(self, &editor),
                },
            );
        }
        let accounts = self.store.with_store(|store, _| accounts(store)).await;
        match accounts {
            Some(Ok(editors)) => self.page(
                200,
                &View::Editors {
                    nav: Nav::of(self, &editor),
                    editors: &editors,
                },
            ),
            Some(Err(e)) => self.unavailable(&e),
            None => self.page(503, &View::Unavailable),
        }
    }
}

/// Every configured newsletter as of `today`, from the store.
fn overview(config: &Config, store: &Store, today: NaiveDate) -> Result<Vec<Newsletter>, StoreError> {
    config
        .newsletters
        .iter()
        .map(|newsletter| {
            let id = newsletter.id.as_str();
            let editions = store.editions(Some(id))?;
            let last_day = editions
                .iter()
                .map(|e| e.date)
                .chain(store.schedule_handled(id)?)
                .max();
            let last = editions.iter().max_by_key(|e| e.number);
            let missed = due_days(newsletter.schedule, today, last_day);
            let next = match missed.first() {
                Some(day) if *day < today => format!("overdue since {day}"),
                Some(day) => day.to_string(),
                None => next_due(newsletter.schedule, today, last_day)
                    .map_or_else(|| "none".into(), |d| d.to_string()),
            };
            Ok(Newsletter {
                id: id.to_string(),
                title: newsletter.title.clone(),
                last: last.map(|e| format!("No. {} of {}", e.number, e.date)),
                state: match last {
                    None => "no edition yet",
                    Some(e) if e.state == EditionState::Draft => "draft: waits for approval",
                    Some(e) if e.sent_at.is_some() => "sent",
                    Some(_) => "approved: the next run sends it",
                },
                next,
            })
        })
        .collect()
}

/// Every editor, and whether they can log in.
fn accounts(store: &Store) -> Result<Vec<Account>, StoreError> {
    Ok(store
        .editors()?
        .into_iter()
        .map(|e| Account {
            access: match (&e.password, e.link_expires) {
                (Some(_), _) => "password set",
                (None, Some(_)) => "set-password link open",
                (None, None) => "no password",
            },
            email: e.email,
            name: e.name,
            role: e.role.as_str(),
        })
        .collect())
}
