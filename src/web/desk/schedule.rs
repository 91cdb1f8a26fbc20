//! A scheduled send from the desk: the form (a local time, its zone,
//! Schedule and Clear schedule) under each edition not sent yet, and its
//! POST, which makes the same call as `bulletin schedule`
//! ([`workflow::schedule_edition`]) with the signed-in editor as who.
//! Done: a 303 back to the page the form was on (the review page of that
//! edition, else the dashboard) with a line saying what (Post/Redirect/Get,
//! as the corrections do); refused: that page, saying why.

use super::review::query;
use super::{Desk, Editor, View};
use crate::config::Newsletter;
use crate::web::server::{Form, Page, Request};
use crate::web::site::Asked;
use crate::workflow::{self, Clock, Schedule, Unsent};

/// The page a schedule form was on, where its answer leads: read from the
/// form's hidden `back` field, which is only ever one of these two (any
/// other value, a foreign URL included, leads to the dashboard).
enum Back<'a> {
    Dashboard,
    Review(&'a Newsletter, u32),
}

/// The schedule form of one edition, as `templates/desk_schedule.html`
/// shows it (the dashboard, and any page of one edition).
pub(super) struct ScheduleForm {
    pub(super) action: String,
    /// The page the form is on (its `back` field): where its answer leads.
    pub(super) back: String,
    pub(super) token: String,
    pub(super) newsletter: String,
    pub(super) number: u32,
    /// "No. 3 of 2026-12-07, approved".
    pub(super) label: String,
    /// The `datetime-local` value: the schedule's local time, or empty.
    pub(super) value: String,
    /// The zone the time is read in: the schedule's, else `site.time_zone`.
    pub(super) zone: String,
    /// "2026-12-08 09:00 Europe/Brussels (08:00 UTC)", when scheduled.
    pub(super) scheduled: Option<String>,
}

impl Desk {
    /// The schedule form of `edition` of `newsletter`, for `editor`, on
    /// the page `back`.
    pub(super) fn schedule_form(
        &self,
        editor: &Editor,
        newsletter: &str,
        edition: &Unsent,
        back: String,
    ) -> ScheduleForm {
        let state = match edition.state {
            crate::store::EditionState::Draft => "draft",
            _ => "approved",
        };
        ScheduleForm {
            action: self.at("/schedule"),
            back,
            token: editor.token.clone(),
            newsletter: newsletter.to_string(),
            number: edition.number,
            label: format!("No. {} of {}, {state}", edition.number, edition.date),
            value: edition
                .not_before
                .map(|at| at.local().replace(' ', "T"))
                .unwrap_or_default(),
            zone: edition
                .not_before
                .map_or(self.config.site.time_zone, |at| at.zone)
                .name()
                .to_string(),
            scheduled: edition.not_before.map(|at| at.to_string()),
        }
    }

    /// `/desk/schedule`: POST sets (`do=schedule`, `when`, `zone`) or
    /// clears (`do=clear`) the send time of `edition` of `newsletter`.
    pub(super) async fn schedule(&self, request: &Request) -> Page {
        if Asked::of(&request.method) != Asked::Act {
            return self.page(405, &View::MethodNotAllowed);
        }
        let (editor, form) = match self.posted(request).await {
            Ok(posted) => posted,
            Err(page) => return page,
        };
        let newsletter = form.get("newsletter").unwrap_or_default().to_string();
        let number = form.get("edition").and_then(|n| n.parse::<u32>().ok());
        let back = self.back(&form, &newsletter, number);
        let (when, zone) = (
            form.get("when").unwrap_or_default().to_string(),
            form.get("zone").unwrap_or_default().to_string(),
        );
        let clear = form.get("do") == Some("clear");
        let by = editor.session.email.clone();
        let config = self.config.clone();
        let done = self
            .store
            .with_store(move |store, now| {
                let settings = config.newsletter(&newsletter)?;
                let Some(number) = number else {
                    anyhow::bail!("the form names no edition: reload the page");
                };
                let asked = if clear {
                    Schedule::Clear
                } else {
                    Schedule::At {
                        when: &when,
                        zone: Some(&zone),
                    }
                };
                workflow::schedule_edition(
                    &config,
                    store,
                    settings,
                    Some(number),
                    asked,
                    &by,
                    Clock::fixed(now),
                )
            })
            .await;
        match done {
            Some(Ok(_)) => {
                let code = if clear { "schedule-cleared" } else { "scheduled" };
                let page = match back {
                    Back::Review(newsletter, number) => self.review_path(newsletter, number),
                    Back::Dashboard => self.at(""),
                };
                Page::see_other(format!("{page}?{}", query(&[("done", code)])))
            }
            Some(Err(why)) => {
                let why = crate::causes::said_once(why.as_ref());
                match back {
                    Back::Review(newsletter, number) => {
                        self.refused(&editor, newsletter, number, None, why, 409).await
                    }
                    Back::Dashboard => self.dashboard_page(&editor, None, Some(why), 409).await,
                }
            }
            None => self.page(503, &View::Unavailable),
        }
    }

    /// Where the answer to `form` leads: the review page of the edition it
    /// schedules when its `back` names exactly that page, else the dashboard.
    fn back<'a>(&'a self, form: &Form, newsletter: &str, number: Option<u32>) -> Back<'a> {
        let (Ok(newsletter), Some(number)) = (self.config.newsletter(newsletter), number) else {
            return Back::Dashboard;
        };
        if form.get("back") == Some(self.review_path(newsletter, number).as_str()) {
            Back::Review(newsletter, number)
        } else {
            Back::Dashboard
        }
    }
}
