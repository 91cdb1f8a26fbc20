//! `/desk/edition/NEWSLETTER/NUMBER`: the review page of an edition, for
//! any signed-in editor. The edition as mailed to a chosen subscriber of
//! the newsletter (`…/mail`, framed: the bytes of the send's HTML part,
//! [`workflow::mail_template`] filled as the send fills it), its items with
//! every correction `bulletin edit` has as plain forms, the stored items
//! to add, the introduction, the lasting rules, a test copy, approve,
//! unapprove and skip (`corrections.rs` applies them), and the edition's
//! log of who did what when. An approved edition shows read-only but for
//! Unapprove; a skipped or sent one read-only.

use super::corrections::Outcome;
use super::schedule::ScheduleForm;
use super::{Desk, Editor, Nav, View};
use crate::audience::{readers, sample_reader};
use crate::config::Newsletter;
use crate::domain::{Placed, Rule};
use crate::render::lang_of;
use crate::store::{EditionRecord, EditionState, FoundItem, Store};
use crate::web::server::{Framing, Page, Request};
use crate::web::site::{Asked, field};
use crate::workflow::{self, Clock, Unsent};

/// Stored items the add search lists at most.
const FOUND: usize = 20;
/// Who the edition is shown as when nobody on the list receives it.
const SAMPLE_EMAIL: &str = "sample.reader@example.invalid";

/// Which edition a path names: `NEWSLETTER/NUMBER`, or its `…/mail` frame.
struct Named<'a> {
    newsletter: &'a Newsletter,
    number: u32,
    /// The frame: the edition as mailed, alone.
    mail: bool,
}

/// What the review page shows besides the store's rows: what the editor
/// asked for in the query, or what an action said.
#[derive(Default)]
pub(super) struct Asks {
    /// The subscriber to show the edition as.
    pub(super) reader: Option<String>,
    /// The add search's words.
    pub(super) words: String,
    /// The one-line result of the action just done.
    pub(super) done: Option<String>,
    /// Why the action asked for was refused, in the workflow's words.
    pub(super) error: Option<String>,
    /// An introduction shown rendered, not saved: its Markdown and HTML.
    pub(super) intro: Option<(String, String)>,
}

/// Where an edition stands, as the page offers what applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Every correction, approve and skip.
    Draft,
    /// Read-only but for Unapprove (before its send begins).
    Approved,
    /// Read-only: sent (or sending), or skipped.
    Closed,
}

/// An item as the page lists it.
pub(super) struct Line {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) teaser: String,
    /// The title's language when it is not the page's (`ja`).
    pub(super) lang: Option<&'static str>,
    pub(super) section: String,
    /// Its place in its section, 1 = first.
    pub(super) position: usize,
    /// Under "More", not in full.
    pub(super) more: bool,
}

/// A section and its items, in reading order.
pub(super) struct Part {
    pub(super) title: String,
    pub(super) lines: Vec<Line>,
}

/// The review page, as the template reads it.
pub(super) struct Review {
    /// "EU-Japan NEWS No. 1 of 2026-11-23".
    pub(super) heading: String,
    /// The page's path: every form posts here.
    pub(super) path: String,
    pub(super) stage: Stage,
    /// Where it stands, in a sentence.
    pub(super) state: String,
    pub(super) number: u32,
    pub(super) asks: Asks,
    /// (id, title) of the newsletter's sections.
    pub(super) sections: Vec<(String, String)>,
    pub(super) parts: Vec<Part>,
    /// The readers to show it as: (email, label, chosen).
    pub(super) readers: Vec<(String, String, bool)>,
    /// The reader shown, kept across a form ("" for the sample reader).
    pub(super) reader: String,
    /// "As mailed to Jane Doe <jane@example.de>".
    pub(super) shown: String,
    /// The frame's address.
    pub(super) frame: String,
    /// The introduction as saved, Markdown.
    pub(super) intro: String,
    /// The stored items to add, each with its title's language when it is
    /// not the page's.
    pub(super) found: Vec<(FoundItem, Option<&'static str>)>,
    /// The newsletter's lasting rules in force: (number, in words).
    pub(super) rules: Vec<(i64, String)>,
    pub(super) log: Vec<String>,
    /// The signed-in editor's address, for the test copy to themselves.
    pub(super) me: String,
    /// The scheduled send's form, while the edition is not sent.
    pub(super) schedule: Option<ScheduleForm>,
}

/// What the page reads from the store.
struct Loaded {
    record: EditionRecord,
    placed: Vec<Placed>,
    log: Vec<String>,
    /// (email, label) of the newsletter's readers.
    readers: Vec<(String, String)>,
    /// The reader shown: (email, label); `None`: the sample reader.
    shown: Option<(String, String)>,
    /// The edition's HTML as mailed to them.
    html: String,
    rules: Vec<Rule>,
    found: Vec<FoundItem>,
    /// Its send has begun.
    sending: bool,
}

impl Desk {
    /// `/desk/edition/…`; `rest` is what follows `/edition/`.
    pub(super) async fn edition(&self, request: &Request, url: &url::Url, rest: &str) -> Page {
        let asked = Asked::of(&request.method);
        if asked == Asked::NotAllowed {
            return self.page(405, &View::MethodNotAllowed);
        }
        let Some(named) = self.named(rest) else {
            return match self.signed_in(&request.headers).await {
                Ok(_) => self.page(404, &View::NotFound),
                Err(page) => page,
            };
        };
        if asked == Asked::Act {
            if named.mail {
                return self.page(405, &View::MethodNotAllowed);
            }
            let (editor, form) = match self.posted(request).await {
                Ok(posted) => posted,
                Err(page) => return page,
            };
            return self.act(&editor, named.newsletter, named.number, &form).await;
        }
        let editor = match self.signed_in(&request.headers).await {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let query = url.query().unwrap_or("").as_bytes();
        let asks = Asks {
            reader: field(query, "as").filter(|r| !r.is_empty()),
            words: field(query, "q").unwrap_or_default(),
            done: field(query, "done").and_then(|code| Outcome::said(&code, field(query, "to"))),
            ..Asks::default()
        };
        if named.mail {
            return self.mail_frame(named.newsletter, named.number, asks.reader).await;
        }
        self.review(&editor, named.newsletter, named.number, asks, 200)
            .await
    }

    /// The edition `rest` names (`NEWSLETTER/NUMBER` or `…/mail`), when its
    /// newsletter is configured.
    fn named<'a>(&'a self, rest: &str) -> Option<Named<'a>> {
        let (rest, mail) = match rest.strip_suffix("/mail") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (id, number) = rest.split_once('/')?;
        Some(Named {
            newsletter: self.config.newsletter(id).ok()?,
            number: number.parse().ok()?,
            mail,
        })
    }

    /// The review page's path for edition `number` of `newsletter`.
    pub(super) fn review_path(&self, newsletter: &Newsletter, number: u32) -> String {
        self.at(&format!("/edition/{}/{number}", newsletter.id))
    }

    /// The review page with `asks`, answered with `status` (a refused
    /// action's page says why with its own status).
    pub(super) async fn review(
        &self,
        editor: &Editor,
        newsletter: &Newsletter,
        number: u32,
        asks: Asks,
        status: u16,
    ) -> Page {
        let loaded = match self.load(newsletter, number, &asks).await {
            Ok(loaded) => loaded,
            Err(page) => return page,
        };
        let review = self.shaped(editor, newsletter, loaded, asks);
        self.page(
            status,
            &View::Review {
                nav: Nav::of(self, editor),
                review: &review,
            },
        )
    }

    /// `…/mail`: the edition's HTML exactly as the send mails it to the
    /// reader asked for; only the review page frames it.
    async fn mail_frame(&self, newsletter: &Newsletter, number: u32, reader: Option<String>) -> Page {
        let asks = Asks {
            reader,
            ..Asks::default()
        };
        match self.load(newsletter, number, &asks).await {
            Ok(loaded) => Page {
                framing: Framing::SameOrigin,
                ..Page::html(200, loaded.html)
            },
            Err(page) => page,
        }
    }

    /// The edition and all the page shows of it, read on the store's thread.
    async fn load(&self, newsletter: &Newsletter, number: u32, asks: &Asks) -> Result<Loaded, Page> {
        let config = self.config.clone();
        let key = self.key.clone();
        let id = newsletter.id.as_str().to_string();
        let reader = asks.reader.clone();
        let words = asks.words.trim().to_string();
        let loaded = self
            .store
            .with_store(move |store, now| {
                let newsletter = config.newsletter(&id)?;
                load(
                    &config,
                    &key,
                    store,
                    newsletter,
                    number,
                    reader.as_deref(),
                    &words,
                    now,
                )
            })
            .await;
        match loaded {
            Some(Ok(Some(loaded))) => Ok(loaded),
            Some(Ok(None)) => Err(self.page(404, &View::NotFound)),
            Some(Err(e)) => {
                eprintln!("desk: the review page: {}", crate::causes::said_once(e.as_ref()));
                Err(self.page(503, &View::Unavailable))
            }
            None => Err(self.page(503, &View::Unavailable)),
        }
    }

    /// What was read, in the page's words.
    fn shaped(&self, editor: &Editor, newsletter: &Newsletter, loaded: Loaded, asks: Asks) -> Review {
        let record = &loaded.record;
        let stage = match record.state {
            EditionState::Draft => Stage::Draft,
            EditionState::Approved if !loaded.sending => Stage::Approved,
            EditionState::Approved | EditionState::Skipped => Stage::Closed,
        };
        let path = self.review_path(newsletter, record.number);
        let reader = loaded.shown.as_ref().map_or("", |(email, _)| email).to_string();
        let frame = match reader.as_str() {
            "" => format!("{path}/mail"),
            email => format!("{path}/mail?{}", query(&[("as", email)])),
        };
        Review {
            heading: format!("{} No. {} of {}", newsletter.title, record.number, record.date),
            state: state(record, loaded.sending),
            number: record.number,
            stage,
            sections: newsletter
                .sections
                .iter()
                .map(|s| (s.id.clone(), s.title.clone()))
                .collect(),
            parts: parts(newsletter, &loaded.placed),
            readers: loaded
                .readers
                .iter()
                .map(|(email, label)| (email.clone(), label.clone(), *email == reader))
                .collect(),
            shown: match &loaded.shown {
                Some((_, label)) => format!("As mailed to {label}"),
                None => format!(
                    "As mailed to a sample reader ({SAMPLE_EMAIL}, no name): nobody on the list receives {} yet",
                    newsletter.title
                ),
            },
            reader,
            frame,
            intro: record.intro.clone().unwrap_or_default(),
            found: loaded
                .found
                .into_iter()
                .map(|f| {
                    let lang = lang_of(&f.title);
                    (f, lang)
                })
                .collect(),
            rules: loaded.rules.iter().map(|r| (r.id, r.to_string())).collect(),
            log: loaded.log,
            me: editor.session.email.clone(),
            schedule: (stage != Stage::Closed).then(|| {
                let unsent = Unsent {
                    number: record.number,
                    date: record.date,
                    state: record.state,
                    not_before: record.not_before,
                };
                self.schedule_form(editor, newsletter.id.as_str(), &unsent, path.clone())
            }),
            path,
            asks,
        }
    }
}

/// Reads edition `number` of `newsletter` and what its page shows; `None`
/// when there is no such edition.
#[allow(clippy::too_many_arguments)]
fn load(
    config: &crate::config::Config,
    key: &crate::audience::Key,
    store: &Store,
    newsletter: &Newsletter,
    number: u32,
    reader: Option<&str>,
    words: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<Loaded>> {
    let id = newsletter.id.as_str();
    let Some((record, placed)) = store.edition_numbered(id, number)? else {
        return Ok(None);
    };
    let subscribers = store.subscribers()?;
    let shown = sample_reader(id, newsletter.audience, &subscribers, reader);
    let template = workflow::mail_template(config, store, newsletter, &record, Clock::fixed(now))?;
    let html = match shown {
        Some(s) => template.personalise(key, &s.email, &s.name).html,
        None => template.personalise(key, SAMPLE_EMAIL, "").html,
    };
    let sending = record.sent_at.is_some() || !store.delivery_counts(id, number)?.is_empty();
    Ok(Some(Loaded {
        log: workflow::log_lines(store, id, number)?,
        readers: readers(id, newsletter.audience, &subscribers)
            .map(|s| (s.email.clone(), s.mailbox()))
            .collect(),
        shown: shown.map(|s| (s.email.clone(), s.mailbox())),
        html,
        rules: store
            .rules()?
            .into_iter()
            .filter(|r| r.newsletter == id)
            .collect(),
        found: store.search_items(id, words, FOUND)?,
        sending,
        record,
        placed,
    }))
}

/// The edition's items, section by section, in reading order.
fn parts(newsletter: &Newsletter, placed: &[Placed]) -> Vec<Part> {
    newsletter
        .sections
        .iter()
        .filter_map(|section| {
            let lines: Vec<Line> = placed
                .iter()
                .filter(|p| p.section == section.id && !p.still_open)
                .enumerate()
                .map(|(i, p)| Line {
                    id: p.item.id.clone(),
                    title: p.item.title.clone(),
                    teaser: p.item.teaser.clone(),
                    lang: lang_of(&p.item.title),
                    section: p.section.clone(),
                    position: i + 1,
                    more: !p.featured,
                })
                .collect();
            (!lines.is_empty()).then(|| Part {
                title: section.title.clone(),
                lines,
            })
        })
        .collect()
}

/// `pairs` encoded as a query.
pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    query.finish()
}

/// Where the edition stands, in a sentence.
fn state(record: &EditionRecord, sending: bool) -> String {
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "an unknown date".into(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    match record.state {
        EditionState::Draft => format!(
            "A draft, waiting for approval; last rebuilt {}.",
            record.built_at.format("%Y-%m-%d %H:%M UTC")
        ),
        EditionState::Approved if sending => format!(
            "Approved by {} on {}; its send has begun: it no longer changes.",
            record.approved_by.as_deref().unwrap_or("someone"),
            at(record.approved_at)
        ),
        EditionState::Approved => format!(
            "Approved by {} on {}: {}. Unapprove it to correct it again.",
            record.approved_by.as_deref().unwrap_or("someone"),
            at(record.approved_at),
            match record.not_before {
                Some(not_before) => format!("the first run after {not_before} mails it"),
                None => "the next run mails it".into(),
            }
        ),
        EditionState::Skipped => "Skipped: never sent; its number is not reused.".into(),
    }
}
