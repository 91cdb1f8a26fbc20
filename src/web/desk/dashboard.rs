//! The desk's first page: what `bulletin status` says ([`workflow::health`]):
//! the last run and how it ended, the problems open, each newsletter's last
//! edition (with its delivery report) and next due day, and what waits for
//! a person; and the admins' list of editors.

use super::corrections::Outcome;
use super::schedule::ScheduleForm;
use super::{Desk, Editor, Nav, View};
use crate::store::{Store, StoreError};
use crate::web::server::Page;
use crate::web::site::{Asked, field};
use crate::workflow::{self, Ended, Health};

/// The dashboard: [`Health`] in the words of a page.
pub(super) struct Overview {
    /// The one-line result of the action just done.
    pub(super) done: Option<String>,
    /// Why the action asked for was refused, in the workflow's words.
    pub(super) error: Option<String>,
    /// The last run, in a sentence; none before the first.
    pub(super) last_run: Option<String>,
    /// Whether it failed or partly failed (shown as an alert).
    pub(super) run_failed: bool,
    /// Its errors, one a line.
    pub(super) run_errors: Vec<String>,
    /// The other problems open, as "since …: what".
    pub(super) problems: Vec<String>,
    pub(super) newsletters: Vec<Newsletter>,
    /// What a person must do, a line each.
    pub(super) waiting: Vec<String>,
}

/// One newsletter on the dashboard.
pub(super) struct Newsletter {
    pub(super) id: String,
    pub(super) title: String,
    /// "No. 3 of 2026-11-23: sent: sent 40, …", or that there is none yet.
    pub(super) last: String,
    /// The last edition's delivery report.
    pub(super) report: Option<String>,
    /// The last edition's review page, while it waits (a draft, or
    /// approved and not sent).
    pub(super) review: Option<String>,
    /// The next schedule day, or since when one is overdue.
    pub(super) next: String,
    /// A schedule form for each edition not sent yet, oldest first.
    pub(super) schedules: Vec<ScheduleForm>,
}

/// One editor on the admins' page.
pub(super) struct Account {
    pub(super) email: String,
    pub(super) name: String,
    pub(super) role: &'static str,
    pub(super) access: &'static str,
}

impl Desk {
    /// `/desk`: the dashboard, for a signed-in editor, with the line of
    /// the schedule just set or cleared (its code in the query).
    pub(super) async fn dashboard(&self, request: &crate::web::server::Request, url: &url::Url) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.signed_in(&request.headers).await {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let done =
            field(url.query().unwrap_or("").as_bytes(), "done").and_then(|code| Outcome::said(&code, None));
        self.dashboard_page(&editor, done, None, 200).await
    }

    /// The dashboard saying `done` (what was just done) or `error` (why it
    /// was refused), answered with `status`.
    pub(super) async fn dashboard_page(
        &self,
        editor: &Editor,
        done: Option<String>,
        error: Option<String>,
        status: u16,
    ) -> Page {
        let config = self.config.clone();
        let health = self
            .store
            .with_store(move |store, now| workflow::health(&config, store, now.date_naive(), now))
            .await;
        match health {
            Some(Ok(health)) => {
                let overview = Overview {
                    done,
                    error,
                    ..self.overview(editor, health)
                };
                self.page(
                    status,
                    &View::Dashboard {
                        nav: Nav::of(self, editor),
                        overview: &overview,
                    },
                )
            }
            Some(Err(e)) => {
                eprintln!("desk: the store: {}", crate::causes::said_once(e.as_ref()));
                self.page(503, &View::Unavailable)
            }
            None => self.page(503, &View::Unavailable),
        }
    }

    /// What `status` says, for the page: each newsletter with its title and
    /// the link to its last edition's report.
    fn overview(&self, editor: &Editor, health: Health) -> Overview {
        let run_errors = health
            .last_run
            .as_ref()
            .map(|r| r.errors.clone())
            .unwrap_or_default();
        let problems = health
            .problems
            .iter()
            .filter(|p| !run_errors.contains(&p.text))
            .map(|p| format!("since {}: {}", p.since.format("%Y-%m-%d %H:%M UTC"), p.text))
            .collect();
        let newsletters = health
            .newsletters
            .iter()
            .map(|n| Newsletter {
                id: n.id.clone(),
                title: self.title(&n.id).to_string(),
                last: n.last_edition.as_ref().map_or_else(
                    || "no edition yet".into(),
                    |e| format!("No. {} of {}: {}", e.number, e.date, e.state),
                ),
                report: n
                    .last_edition
                    .as_ref()
                    .map(|e| self.at(&format!("/report/{}/{}", n.id, e.number))),
                review: n
                    .last_edition
                    .as_ref()
                    .filter(|e| e.waits)
                    .map(|e| self.at(&format!("/edition/{}/{}", n.id, e.number))),
                next: match (n.overdue_since, n.next_due) {
                    (Some(day), _) => format!("overdue since {day}"),
                    (None, Some(day)) => day.to_string(),
                    (None, None) => "none".into(),
                },
                schedules: n
                    .unsent
                    .iter()
                    .map(|e| self.schedule_form(editor, &n.id, e, self.at("")))
                    .collect(),
            })
            .collect();
        Overview {
            done: None,
            error: None,
            last_run: health.last_run.as_ref().map(|run| {
                let how = match run.outcome {
                    Ended::Ok => "went well",
                    Ended::Partial => "partly failed",
                    Ended::Failed => "FAILED",
                    Ended::Unfinished => "has not finished: it is still running, or it was killed",
                };
                format!(
                    "The last run (bulletin {}, started {}) {how}.",
                    run.command.as_str(),
                    run.started.format("%Y-%m-%d %H:%M UTC")
                )
            }),
            run_failed: health
                .last_run
                .as_ref()
                .is_some_and(|r| matches!(r.outcome, Ended::Failed | Ended::Partial)),
            run_errors,
            problems,
            newsletters,
            waiting: health.waiting,
        }
    }

    /// `/desk/editors`: every editor, for admins only.
    pub(super) async fn editors(&self, request: &crate::web::server::Request) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.admin(self.signed_in(&request.headers).await) {
            Ok(editor) => editor,
            Err(page) => return page,
        };
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
