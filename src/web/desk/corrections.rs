//! The review page's forms (`review.rs`), applied: each a POST that passed
//! the desk's checks ([`Desk::posted`]: not cross-site, the session's
//! token), read into an [`Act`], then done by the function the command
//! line calls for it (`bulletin edit`, `rules add`/`remove`, `approve`,
//! `unapprove`, `skip`, `send --to`), by the signed-in editor (their
//! address is who the edition's log names), on the store's thread so the
//! desk's actions run one after another. Done: a 303 back to the page with
//! a line saying what (Post/Redirect/Get). Refused: the page, saying why in
//! the workflow's own words, nothing changed.

use super::review::{Asks, query};
use super::{Desk, Editor};
use crate::config::Newsletter;
use crate::domain::{Correction, Ruling, Stance, Target};
use crate::items::clean_text;
use crate::mail::{SendMode, SendOptions};
use crate::web::server::{Form, Page};
use crate::workflow::{self, Clock};

/// What a form of the review page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    /// Drop, add, move, retitle, teaser or introduction: `bulletin edit`.
    Correct(Correction),
    /// The introduction rendered, not saved.
    ShowIntro(String),
    /// A lasting rule: `bulletin rules add`.
    Rule(Ruling),
    /// `bulletin rules remove`.
    RemoveRule(i64),
    Approve,
    Unapprove,
    Skip,
    /// A test copy: `bulletin send --to ADDRESS`.
    Test(String),
}

/// Why a posted form asks for nothing the page offers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FormError {
    #[error("the form names no item")]
    NoItem,
    #[error("the form names no section")]
    NoSection,
    #[error("the position must be a whole number from 1 (first), or empty for the end: {0:?}")]
    BadPosition(String),
    #[error("the form gives no text")]
    NoText,
    #[error("the form names no term")]
    NoTerm,
    #[error("the form names no rule")]
    NoRule,
    #[error("the form gives no address for the test copy")]
    NoAddress,
    #[error("unknown action {0:?}")]
    UnknownAction(String),
}

impl Act {
    /// The action `form` asks for.
    pub(super) fn from_form(form: &Form) -> Result<Act, FormError> {
        let given = |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty());
        let item = || given("item").map(str::to_string).ok_or(FormError::NoItem);
        let text = || given("text").map(clean_text).ok_or(FormError::NoText);
        let action = form.get("action").unwrap_or_default();
        Ok(match action {
            "drop" => Act::Correct(Correction::Drop { item: item()? }),
            "add" => Act::Correct(Correction::Add {
                item: item()?,
                section: given("section").map(str::to_string),
            }),
            "move" => Act::Correct(Correction::Move {
                item: item()?,
                section: given("section").ok_or(FormError::NoSection)?.to_string(),
                position: match given("position") {
                    None => None,
                    Some(p) => Some(
                        p.parse::<usize>()
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| FormError::BadPosition(p.to_string()))?,
                    ),
                },
            }),
            "retitle" => Act::Correct(Correction::Retitle {
                item: item()?,
                title: text()?,
            }),
            "teaser" => Act::Correct(Correction::Teaser {
                item: item()?,
                teaser: text()?,
            }),
            "intro" => Act::Correct(Correction::Intro {
                markdown: markdown(form),
            }),
            "intro-show" => Act::ShowIntro(markdown(form)),
            "never-item" | "always-item" => Act::Rule(Ruling {
                stance: stance(action),
                target: Target::Item(item()?),
            }),
            "never-term" | "always-term" => Act::Rule(Ruling {
                stance: stance(action),
                target: Target::Term(given("term").map(clean_text).ok_or(FormError::NoTerm)?),
            }),
            "remove-rule" => Act::RemoveRule(
                given("rule")
                    .and_then(|r| r.parse().ok())
                    .ok_or(FormError::NoRule)?,
            ),
            "approve" => Act::Approve,
            "unapprove" => Act::Unapprove,
            "skip" => Act::Skip,
            "test" => Act::Test(given("to").ok_or(FormError::NoAddress)?.to_string()),
            other => return Err(FormError::UnknownAction(other.to_string())),
        })
    }

    /// The line the page shows once it is done, as a code for the
    /// redirect's query (the page words it: a link cannot make the desk
    /// say anything else).
    fn done(&self) -> &'static str {
        match self {
            Act::Correct(Correction::Drop { .. }) => "dropped",
            Act::Correct(Correction::Add { .. }) => "added",
            Act::Correct(Correction::Move { .. }) => "moved",
            Act::Correct(Correction::Retitle { .. }) => "retitled",
            Act::Correct(Correction::Teaser { .. }) => "teaser",
            Act::Correct(Correction::Intro { .. }) | Act::ShowIntro(_) => "intro",
            Act::Rule(_) => "rule",
            Act::RemoveRule(_) => "rule-removed",
            Act::Approve => "approved",
            Act::Unapprove => "unapproved",
            Act::Skip => "skipped",
            Act::Test(_) => "test",
        }
    }
}

/// The form's introduction, its line ends as a textarea posts them made `\n`.
fn markdown(form: &Form) -> String {
    form.get("markdown").unwrap_or_default().replace("\r\n", "\n")
}

fn stance(action: &str) -> Stance {
    if action.starts_with("always") {
        Stance::Always
    } else {
        Stance::Never
    }
}

/// The result lines of the actions done, by their codes.
pub(super) struct Outcome;

impl Outcome {
    /// The line for `code` (`to`: the test copy's address), if it is one.
    pub(super) fn said(code: &str, to: Option<String>) -> Option<String> {
        Some(
            match code {
                "dropped" => "Dropped: the item is out of this edition and the newsletter's later ones.",
                "added" => "Added to the draft.",
                "moved" => "Moved.",
                "retitled" => "Retitled.",
                "teaser" => "The teaser is changed.",
                "intro" => "The introduction is saved.",
                "rule" => "The lasting rule is added; the drafts are rebuilt with it.",
                "rule-removed" => "The lasting rule is removed; the drafts are rebuilt without it.",
                "approved" => "Approved: the next run mails it, or the first after its scheduled time.",
                "unapproved" => "Unapproved: a draft again.",
                "skipped" => "Skipped: never sent; its items go back to the pool.",
                "scheduled" => {
                    "Send scheduled: the first run after that time sends it (a draft, once approved)."
                }
                "schedule-cleared" => "Schedule cleared: the first run after its approval sends it.",
                "test" => {
                    return Some(format!(
                        "A test copy went to {} (not logged as a delivery).",
                        to.as_deref().unwrap_or("the address given")
                    ));
                }
                _ => return None,
            }
            .to_string(),
        )
    }
}

impl Desk {
    /// A checked POST to edition `number`'s review page: done, or refused.
    pub(super) async fn act(
        &self,
        editor: &Editor,
        newsletter: &Newsletter,
        number: u32,
        form: &Form,
    ) -> Page {
        let reader = form.get("as").filter(|r| !r.is_empty()).map(str::to_string);
        let act = match Act::from_form(form) {
            Ok(act) => act,
            Err(why) => {
                return self
                    .refused(editor, newsletter, number, reader, why.to_string(), 400)
                    .await;
            }
        };
        if let Act::ShowIntro(markdown) = act {
            let html = crate::render::intro_html(&markdown);
            let asks = Asks {
                reader,
                intro: Some((markdown, html)),
                ..Asks::default()
            };
            return self.review(editor, newsletter, number, asks, 200).await;
        }
        let config = self.config.clone();
        let id = newsletter.id.as_str().to_string();
        let by = editor.session.email.clone();
        let done = act.clone();
        let applied = self
            .store
            .with_store(move |_, now| apply(&config, &id, number, &done, &by, Clock::fixed(now)))
            .await;
        match applied {
            Some(Ok(())) => {
                let mut pairs = vec![("done", act.done())];
                if let Act::Test(to) = &act {
                    pairs.push(("to", to));
                }
                if let Some(reader) = &reader {
                    pairs.push(("as", reader));
                }
                let back = format!("{}?{}", self.review_path(newsletter, number), query(&pairs));
                Page::see_other(back)
            }
            Some(Err(why)) => {
                let why = crate::causes::said_once(why.as_ref());
                self.refused(editor, newsletter, number, reader, why, 409).await
            }
            None => self.page(503, &super::View::Unavailable),
        }
    }

    /// The review page saying why nothing was done.
    pub(super) async fn refused(
        &self,
        editor: &Editor,
        newsletter: &Newsletter,
        number: u32,
        reader: Option<String>,
        why: String,
        status: u16,
    ) -> Page {
        let asks = Asks {
            reader,
            error: Some(why),
            ..Asks::default()
        };
        self.review(editor, newsletter, number, asks, status).await
    }
}

/// Does `act` to edition `number` of newsletter `id` with the function the
/// command line calls for it, by `by` at `clock`.
fn apply(
    config: &crate::config::Config,
    id: &str,
    number: u32,
    act: &Act,
    by: &str,
    clock: Clock,
) -> anyhow::Result<()> {
    let newsletter = config.newsletter(id)?;
    match act {
        Act::Correct(correction) => workflow::edit(config, newsletter, Some(number), correction, by, clock),
        Act::Rule(ruling) => {
            workflow::add_rule(config, newsletter, ruling.clone(), "the desk", by, clock).map(drop)
        }
        Act::RemoveRule(rule) => workflow::remove_rule(config, *rule, by, clock).map(drop),
        Act::Approve => workflow::approve(config, newsletter, Some(number), by, clock),
        Act::Unapprove => workflow::unapprove(config, newsletter, number, by, clock),
        Act::Skip => workflow::skip(config, newsletter, number, by, clock),
        Act::Test(to) => {
            let options = SendOptions {
                mode: SendMode::TestTo(to.clone()),
                progress: false,
            };
            workflow::send(
                config,
                id,
                Some(number),
                &options,
                workflow::Timing::AsScheduled,
                clock,
            )
            .map(drop)
        }
        Act::ShowIntro(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<Act, FormError> {
        Act::from_form(&Form::parse(body.as_bytes()))
    }

    #[test]
    fn a_form_names_its_action_and_what_it_needs() {
        assert_eq!(
            read("action=move&item=ab&section=events&position=2"),
            Ok(Act::Correct(Correction::Move {
                item: "ab".into(),
                section: "events".into(),
                position: Some(2)
            }))
        );
        assert_eq!(
            read("action=add&item=ab&section="),
            Ok(Act::Correct(Correction::Add {
                item: "ab".into(),
                section: None
            }))
        );
        assert_eq!(
            read("action=move&item=ab&section=x&position=0"),
            Err(FormError::BadPosition("0".into()))
        );
        assert_eq!(read("action=retitle&item=ab&text=+"), Err(FormError::NoText));
        assert_eq!(read("action=drop"), Err(FormError::NoItem));
        assert_eq!(
            read("action=always-term&term=+chip+"),
            Ok(Act::Rule(Ruling {
                stance: Stance::Always,
                target: Target::Term("chip".into())
            }))
        );
        assert_eq!(read("action=test&to="), Err(FormError::NoAddress));
        assert_eq!(
            read("action=intro&markdown=a%0D%0Ab"),
            Ok(Act::Correct(Correction::Intro {
                markdown: "a\nb".into()
            }))
        );
        assert_eq!(
            read("action=delete"),
            Err(FormError::UnknownAction("delete".into()))
        );
    }

    #[test]
    fn every_code_an_action_leaves_is_said() {
        for act in [
            Act::Approve,
            Act::Unapprove,
            Act::Skip,
            Act::RemoveRule(1),
            Act::Test("a@b.c".into()),
        ] {
            assert!(Outcome::said(act.done(), None).is_some(), "{act:?}");
        }
        assert_eq!(Outcome::said("<script>", None), None);
    }
}
