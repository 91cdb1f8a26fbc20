//! The preference centre: the page every mail's footer links to, where a
//! subscriber chooses their newsletters, corrects their details, downloads
//! what is held about them and erases themselves.
//!
//! The link carries a token sealed for [`Purpose::Preferences`] with their
//! address: no login, no cookie; whoever has the mail has the page, as with
//! the unsubscribe link. GET only shows; every change is a POST of one of
//! the page's forms, refused when the browser says it comes from another
//! site. A change that loses an EU-only newsletter (type `individual`, a
//! country outside the EU-27) says which, and saves only once confirmed;
//! erasure asks once more too. Store work runs on `serve`'s store thread.

use std::path::{Path, PathBuf};

use askama::Template;

use super::keeper::Keeper;
use super::server::{Form, Page, Request, cross_site};
use super::site::{Asked, Framed, Site, consent_client, field};
use super::worker::Worker;
use crate::audience::Key;
use crate::audience::subscribers::{MAX_TEXT, Skip, admits, is_country};
use crate::audience::suppression;
use crate::audience::token::{Purpose, open};
use crate::causes::said_once;
use crate::config::{Audience, Config, Mail, Signup};
use crate::domain::ConsentMethod;
use crate::domain::{Details, OrganisationType};
use crate::items::clean_text;
use crate::lock::{LockError, RunLock};
use crate::mail::ErasureError;
use crate::mail::mail_folder;
use crate::store::{Agreement, SubscriberRecord};

/// What a 503 asks them to wait before erasing again, while a send runs.
const ERASE_RETRY_SECS: u32 = 300;
/// What the export is saved as.
const EXPORT_FILE: &str = "bulletin-my-data.json";

/// The preference centre as `serve` runs it.
pub(super) struct PreferenceCentre {
    /// `mail.preferences_url`'s path.
    path: String,
    newsletters: Vec<Choice>,
    /// Where the file transport writes: an erasure removes their messages.
    mail_folder: PathBuf,
    site: Site,
    key: Key,
    /// The consent text a newsletter added here is agreed to, its version,
    /// and how the client is kept in the record: the sign-up form's.
    signup: Signup,
    store: Worker<Keeper>,
}

/// A newsletter one may choose.
struct Choice {
    id: String,
    title: String,
    audience: Audience,
}

impl PreferenceCentre {
    pub(super) fn new(config: &Config, mail: &Mail, key: &Key, store: Worker<Keeper>) -> PreferenceCentre {
        PreferenceCentre {
            site: Site::new(&config.site.name),
            key: key.clone(),
            signup: config.site.signup.clone(),
            store,
            path: mail.preferences_url.path().to_string(),
            mail_folder: mail_folder(config),
            newsletters: config
                .newsletters
                .iter()
                .map(|n| Choice {
                    id: n.id.to_string(),
                    title: n.title.clone(),
                    audience: n.audience,
                })
                .collect(),
        }
    }

    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// The answer to a request for the page's path.
    pub(super) async fn answer(&self, request: &Request, url: &url::Url) -> Page {
        let query = |name: &str| field(url.query().unwrap_or("").as_bytes(), name);
        let token = query("t").unwrap_or_default();
        let show = |status, view: &View<'_>| self.site.page(status, view);
        let Some(email) = open(&self.key, Purpose::Preferences, &token) else {
            return show(400, &View::InvalidLink);
        };
        let action = format!(
            "{}?{}",
            self.path,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("t", &token)
                .finish()
        );
        let here = Here {
            centre: self,
            email,
            action: &action,
        };
        match Asked::of(&request.method) {
            Asked::Show => self.show(&here, query("saved").is_some()).await,
            Asked::Act => {
                if let Some(why) = cross_site(&request.headers, &["http", "https"]) {
                    return show(403, &View::Refused { why: &why });
                }
                let form = Form::parse(&request.body);
                match form.get("action") {
                    Some("save") => self.save(&here, &form, request).await,
                    Some("export") => export(&here).await,
                    Some("erase") => here.page(
                        200,
                        &View::ConfirmErase {
                            email: &here.email,
                            action: &action,
                        },
                    ),
                    Some("erase-confirmed") => erase(&here, &self.mail_folder).await,
                    _ => show(
                        400,
                        &View::Refused {
                            why: "the form says nothing to do",
                        },
                    ),
                }
            }
            Asked::NotAllowed => show(405, &View::MethodNotAllowed),
        }
    }

    /// The form, filled with what is stored.
    async fn show(&self, here: &Here<'_>, saved: bool) -> Page {
        let email = here.email.clone();
        let record = here
            .centre
            .store
            .with_store(move |store, _| store.subscriber(&email))
            .await;
        let record = match record {
            Some(Ok(Some(record))) => record,
            Some(Ok(None)) => return here.page(200, &View::NothingHeld),
            Some(Err(e)) => return here.failed(&e),
            None => return here.page(503, &View::Failed),
        };
        let posted = Posted::from_record(&record);
        here.page(
            200,
            &View::Form(Box::new(self.form_view(here, &posted, Vec::new(), saved))),
        )
    }

    /// A posted form saved; or shown again with what is wrong in it; or,
    /// when it would drop EU-only newsletters unconfirmed, which and why.
    /// A newsletter received anew has a consent record, as the form's: the
    /// client, and the version of the consent text the page shows.
    async fn save(&self, here: &Here<'_>, form: &Form, request: &Request) -> Page {
        let posted = Posted::from_form(form, &self.newsletters);
        let details = match posted.details() {
            Ok(details) => details,
            Err(errors) => {
                let view = self.form_view(here, &posted, errors, false);
                return here.page(400, &View::Form(Box::new(view)));
            }
        };
        let losing: Vec<(&Choice, Skip)> = self
            .newsletters
            .iter()
            .filter(|n| posted.chosen.contains(&n.id))
            .filter_map(|n| {
                let refused = admits(n.audience, details.organisation_type, &details.country);
                refused.err().map(|skip| (n, skip))
            })
            .collect();
        if !losing.is_empty() && form.get("confirm") != Some("yes") {
            let view = View::Dropping {
                dropped: losing
                    .iter()
                    .map(|(n, skip)| Dropped {
                        title: &n.title,
                        reason: reason(*skip, &details.country),
                    })
                    .collect(),
                hidden: posted.fields(),
                action: here.action,
            };
            return here.page(200, &view);
        }
        let chosen: Vec<String> = posted
            .chosen
            .iter()
            .filter(|id| !losing.iter().any(|(n, _)| &n.id == *id))
            .cloned()
            .collect();
        let all: Vec<String> = self.newsletters.iter().map(|n| n.id.clone()).collect();
        let email = here.email.clone();
        let agreed = Agreement {
            method: ConsentMethod::Preferences,
            source: consent_client(&self.signup, &self.key, request),
            version: self.signup.consent_version.clone(),
        };
        let saved = here
            .centre
            .store
            .with_store(move |store, now| store.update_person(&email, &details, &chosen, &all, &agreed, now))
            .await;
        match saved {
            Some(Ok(true)) => Page::see_other(format!("{}&saved=1", here.action)),
            Some(Ok(false)) => here.page(200, &View::NothingHeld),
            Some(Err(e)) => here.failed(&e),
            None => here.page(503, &View::Failed),
        }
    }

    fn form_view<'a>(
        &'a self,
        here: &'a Here<'_>,
        posted: &'a Posted,
        errors: Vec<String>,
        saved: bool,
    ) -> FormView<'a> {
        FormView {
            email: &here.email,
            consent_text: &self.signup.consent_text,
            name: &posted.name,
            organisation: &posted.organisation,
            types: [
                OrganisationType::Company,
                OrganisationType::Organisation,
                OrganisationType::Individual,
            ]
            .map(|t| TypeOption {
                value: t.as_str(),
                label: match t {
                    OrganisationType::Company => "A company",
                    OrganisationType::Organisation => "An organisation",
                    OrganisationType::Individual => "An individual",
                },
                checked: posted.organisation_type == t.as_str(),
            }),
            country: &posted.country,
            choices: self
                .newsletters
                .iter()
                .map(|n| ChoiceView {
                    id: &n.id,
                    title: &n.title,
                    eu_only: n.audience == Audience::EuOrganisations,
                    checked: posted.chosen.contains(&n.id),
                })
                .collect(),
            errors,
            saved,
            action: here.action,
        }
    }
}

/// The request being answered: whose page, and where its forms post.
struct Here<'a> {
    centre: &'a PreferenceCentre,
    /// From the token: the subscriber's address.
    email: String,
    /// The page's path with its token: every form posts here.
    action: &'a str,
}

impl Here<'_> {
    fn page(&self, status: u16, view: &View<'_>) -> Page {
        self.centre.site.page(status, view)
    }

    fn failed(&self, error: &(dyn std::error::Error + 'static)) -> Page {
        eprintln!("error: the preference centre: {}", said_once(error));
        self.page(500, &View::Failed)
    }
}

/// Everything held about them, as a JSON file to save.
async fn export(here: &Here<'_>) -> Page {
    let email = here.email.clone();
    match here
        .centre
        .store
        .with_store(move |store, _| store.person(&email))
        .await
    {
        Some(Ok(data)) if data.is_empty() => here.page(200, &View::NothingHeld),
        Some(Ok(data)) => Page::download(EXPORT_FILE, suppression::export_json(&data)),
        Some(Err(e)) => here.failed(&e),
        None => here.page(503, &View::Failed),
    }
}

/// Erases them, once confirmed, and keeps their address's keyed hash.
/// Holding the run lock, as `subscribers erase` does: while a command
/// (a send) holds it, they are asked to try again in a few minutes.
async fn erase(here: &Here<'_>, mail_folder: &Path) -> Page {
    let (email, key, mail_folder) = (
        here.email.clone(),
        here.centre.key.clone(),
        mail_folder.to_path_buf(),
    );
    let erased = here
        .centre
        .store
        .with_store(move |store, now| {
            let lock = RunLock::acquire(store.path()).map_err(Busy::Lock)?;
            crate::mail::erase(&lock, store, &key, &mail_folder, &email, now).map_err(Busy::Erasure)
        })
        .await;
    match erased {
        Some(Ok(_)) => here.page(200, &View::Erased { email: &here.email }),
        Some(Err(Busy::Lock(LockError::Held { .. }))) => Page {
            retry_after: Some(ERASE_RETRY_SECS),
            ..here.page(503, &View::Busy)
        },
        Some(Err(Busy::Lock(e))) => here.failed(&e),
        Some(Err(Busy::Erasure(e))) => here.failed(&e),
        None => here.page(503, &View::Failed),
    }
}

/// Why an erasure was not done now.
enum Busy {
    Lock(LockError),
    Erasure(ErasureError),
}

/// Why an EU-only newsletter would be dropped, in the subscriber's terms.
fn reason(skip: Skip, country: &str) -> String {
    match skip {
        Skip::Individual => {
            "it is for EU companies and organisations, and you would be an individual".to_string()
        }
        Skip::OutsideEu => {
            format!("it is for EU companies and organisations, and {country} is not in the EU-27")
        }
    }
}

/// The form's fields as posted (or as stored), before they are checked.
struct Posted {
    name: String,
    organisation: String,
    organisation_type: String,
    country: String,
    /// Newsletter ids, only configured ones, in the config's order.
    chosen: Vec<String>,
}

impl Posted {
    fn from_record(record: &SubscriberRecord) -> Posted {
        Posted {
            name: record.name.clone(),
            organisation: record.organisation.clone(),
            organisation_type: record.organisation_type.as_str().to_string(),
            country: record.country.clone(),
            chosen: if record.unsubscribed_all {
                Vec::new()
            } else {
                record.newsletters.clone()
            },
        }
    }

    /// The fields are named as the CSV columns.
    fn from_form(form: &Form, newsletters: &[Choice]) -> Posted {
        let field = |name: &str| form.get(name).unwrap_or_default().trim().to_string();
        let ticked = form.all("newsletters");
        Posted {
            name: field("name"),
            organisation: field("organisation"),
            organisation_type: field("organisation_type"),
            country: field("country"),
            chosen: newsletters
                .iter()
                .filter(|n| ticked.contains(&n.id.as_str()))
                .map(|n| n.id.clone())
                .collect(),
        }
    }

    /// The details, checked as an import checks them; or each problem.
    fn details(&self) -> Result<Details, Vec<String>> {
        let mut errors = Vec::new();
        for (field, value) in [("Name", &self.name), ("Organisation", &self.organisation)] {
            if value.chars().count() > MAX_TEXT {
                errors.push(format!("{field}: at most {MAX_TEXT} characters."));
            }
        }
        let organisation_type = OrganisationType::parse(&self.organisation_type);
        if organisation_type.is_none() {
            errors.push("Type: choose company, organisation or individual.".to_string());
        }
        let country = self.country.to_ascii_uppercase();
        if !is_country(&country) {
            errors.push(format!(
                "Country {:?}: give its two-letter ISO code, such as DE, FR or JP.",
                self.country
            ));
        }
        match organisation_type {
            Some(organisation_type) if errors.is_empty() => Ok(Details {
                name: clean_text(&self.name),
                organisation: clean_text(&self.organisation),
                organisation_type,
                country,
            }),
            _ => Err(errors),
        }
    }

    /// The fields again, for the confirmation's form to post.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("name", self.name.clone()),
            ("organisation", self.organisation.clone()),
            ("organisation_type", self.organisation_type.clone()),
            ("country", self.country.clone()),
        ];
        fields.extend(self.chosen.iter().map(|id| ("newsletters", id.clone())));
        fields
    }
}

/// What the page shows: one of these, in `templates/preferences.html`.
enum View<'a> {
    Form(Box<FormView<'a>>),
    /// The change would drop these EU-only newsletters: save anyway?
    Dropping {
        dropped: Vec<Dropped<'a>>,
        /// The posted fields, posted again with `confirm=yes`.
        hidden: Vec<(&'static str, String)>,
        action: &'a str,
    },
    ConfirmErase {
        email: &'a str,
        action: &'a str,
    },
    Erased {
        email: &'a str,
    },
    /// A send (or another command) holds the store: erase again later.
    Busy,
    /// Nothing is held about the token's address (erased, or never imported).
    NothingHeld,
    InvalidLink,
    /// A cross-site POST, or a form that says nothing to do.
    Refused {
        why: &'a str,
    },
    MethodNotAllowed,
    Failed,
}

struct FormView<'a> {
    email: &'a str,
    name: &'a str,
    organisation: &'a str,
    types: [TypeOption; 3],
    country: &'a str,
    choices: Vec<ChoiceView<'a>>,
    /// What ticking a newsletter not received yet agrees to.
    consent_text: &'a str,
    /// What is wrong with the posted form.
    errors: Vec<String>,
    /// Shown after a save (the redirect back says so).
    saved: bool,
    action: &'a str,
}

struct TypeOption {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

struct ChoiceView<'a> {
    id: &'a str,
    title: &'a str,
    eu_only: bool,
    checked: bool,
}

struct Dropped<'a> {
    title: &'a str,
    reason: String,
}

#[derive(Template)]
#[template(path = "preferences.html")]
struct PreferencesPage<'a> {
    view: &'a View<'a>,
    site_name: &'a str,
}

impl Framed for View<'_> {
    fn framed<'a>(&'a self, site_name: &'a str) -> impl Template + 'a {
        PreferencesPage {
            view: self,
            site_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(organisation_type: &str, country: &str) -> Posted {
        Posted {
            name: "Jane\r\nBcc: x@y.example".into(),
            organisation: "Acme".into(),
            organisation_type: organisation_type.into(),
            country: country.into(),
            chosen: vec!["about-japan".into()],
        }
    }

    #[test]
    fn details_are_checked_as_an_import_checks_them() {
        let details = posted("Company", "de").details().unwrap();
        assert_eq!(details.organisation_type, OrganisationType::Company);
        assert_eq!(details.country, "DE");
        assert_eq!(
            details.name, "Jane Bcc: x@y.example",
            "no line break reaches a header"
        );
        let errors = posted("robot", "EU").details().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("Type:") && errors[1].contains("\"EU\""),
            "{errors:?}"
        );
    }

    #[test]
    fn the_form_escapes_what_it_shows() {
        let record = posted("individual", "FR");
        let html = PreferencesPage {
            view: &View::Dropping {
                dropped: vec![Dropped {
                    title: "About <Japan>",
                    reason: "because".into(),
                }],
                hidden: record.fields(),
                action: "/preferences?t=a\"b",
            },
            site_name: "EU-Japan <Centre>",
        }
        .render()
        .unwrap();
        assert!(html.contains("About &#60;Japan&#62;"), "{html}");
        assert!(html.contains("action=\"/preferences?t=a&#34;b\""), "{html}");
        assert!(html.contains("value=\"Jane\r\nBcc: x@y.example\""), "{html}");
        assert!(!html.contains("<Centre>"), "{html}");
    }
}
