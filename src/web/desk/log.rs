//! `/desk/log`: for admins, what the editors and admins did — corrections,
//! approvals, skips, lasting rules, unsubscribes on a subscriber's behalf
//! — with who and when, newest first, a page at a time (`?page=N`), as the
//! store records them ([`crate::store::Action`]).

use super::{Desk, Nav, View};
use crate::domain::Target;
use crate::store::{Action, ActionRecord, RuleChange};
use crate::web::server::{Page, Request};
use crate::web::site::{Asked, field};
use crate::workflow::describe_logged_naming;

/// Actions a page shows.
const PER_PAGE: usize = 50;

/// One line of the log, in words.
pub(super) struct Line {
    /// `2026-12-01 08:00 UTC`.
    pub(super) at: String,
    pub(super) by: String,
    /// "EU-Japan NEWS No. 3: approved".
    pub(super) what: String,
}

/// A page of the log and the links to its neighbours.
pub(super) struct LogPage {
    pub(super) lines: Vec<Line>,
    /// "actions 51 to 100 of 230".
    pub(super) showing: String,
    pub(super) newer: Option<String>,
    pub(super) older: Option<String>,
}

impl Desk {
    /// `/desk/log?page=N` (from 1).
    pub(super) async fn log(&self, request: &Request, url: &url::Url) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.admin(self.signed_in(&request.headers).await) {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let page = field(url.query().unwrap_or("").as_bytes(), "page")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n >= 1)
            .unwrap_or(1);
        let skip = (page - 1).saturating_mul(PER_PAGE);
        let read = self
            .store
            .with_store(move |store, _| {
                Ok::<_, crate::store::StoreError>((store.action_count()?, store.actions(skip, PER_PAGE)?))
            })
            .await;
        let (total, actions) = match read {
            Some(Ok(read)) => read,
            Some(Err(e)) => return self.unavailable(&e),
            None => return self.page(503, &View::Unavailable),
        };
        if page > 1 && actions.is_empty() {
            return self.page(404, &View::NotFound);
        }
        let link = |n: usize| format!("{}?page={n}", self.at("/log"));
        let log = LogPage {
            showing: match actions.len() {
                0 => "No action recorded yet.".into(),
                shown => format!(
                    "Actions {} to {} of {total}, newest first.",
                    skip + 1,
                    skip + shown
                ),
            },
            lines: actions.iter().map(|a| self.line(a)).collect(),
            newer: (page > 1).then(|| link(page - 1)),
            older: (skip + actions.len() < total).then(|| link(page + 1)),
        };
        self.page(
            200,
            &View::Log {
                nav: Nav::of(self, &editor),
                log: &log,
            },
        )
    }

    fn line(&self, record: &ActionRecord) -> Line {
        let item = |id: &str| named(id, record.item_title.as_deref());
        let what = match &record.action {
            Action::Edition {
                newsletter,
                number,
                entry,
            } => format!(
                "{} No. {number}: {}",
                self.title(newsletter),
                describe_logged_naming(entry, &item)
            ),
            Action::Rule {
                id,
                newsletter,
                change,
                stance,
                target,
            } => format!(
                "{}: rule #{id} {}: {} {} {}",
                self.title(newsletter),
                match change {
                    RuleChange::Added => "added",
                    RuleChange::Removed => "removed",
                },
                stance.as_str(),
                target.kind(),
                match target {
                    Target::Item(id) => item(id),
                    _ => format!("{:?}", target.value()),
                }
            ),
            Action::Unsubscribed { email, newsletter } => format!(
                "{email} unsubscribed from {}",
                newsletter
                    .as_deref()
                    .map_or("every newsletter", |id| self.title(id))
            ),
        };
        Line {
            at: record.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            by: record.by.clone(),
            what,
        }
    }
}

/// How the log names the item `id`: by its stored `title` beside its
/// first 8 characters (enough to find it in the review page's add search),
/// or by its whole id when it is not stored.
fn named(id: &str, title: Option<&str>) -> String {
    match title {
        Some(title) => format!("\u{201c}{title}\u{201d} ({})", id.get(..8).unwrap_or(id)),
        None => id.to_string(),
    }
}
