//! The sign-up form with double opt-in, served by `bulletin serve` at
//! `site.subscribe_url`'s path.
//!
//! `GET` shows the form; `POST` checks it as a CSV row is checked
//! ([`subscriber`]), refuses the EU-only newsletters to those they are not
//! for, records a pending sign-up and mails a link with a random token
//! (only its SHA-256 is stored). The link's page (`…/confirm`) confirms by
//! itself: a few lines of script of serve's own (`…/confirm.js`; the CSP
//! allows no inline script) submit its form by POST, and the button does
//! the same without script. A GET alone never confirms, so a link scanner
//! that only fetches the link confirms nothing.
//!
//! Abuse: the limits are checked on the store's thread, in the same
//! transaction that records the mail ([`crate::store::Store::record_signup`]); over a
//! limit, or with the honeypot field filled in, the answer is the same
//! "check your mailbox" page as a sign-up that mailed (no oracle on who is
//! subscribed), no mail goes out, and stderr says which limit. POSTs from
//! another site are refused by their browser's own headers
//! ([`cross_site`]). The per-client cap counts the TCP peer: behind a
//! reverse proxy that is the proxy, so the cap is then the proxy's whole.

use std::sync::Arc;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hyper::Method;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};
use url::Url;

use super::message::{Letter, MessageError, ascii_domain};
use super::send::{Outbox, SendError};
use super::serve::{Endpoint, rendered};
use super::subscribers::{InvalidField, Reason, Row, admits, subscriber};
use super::suppression;
use super::token::Key;
use crate::causes::said_once;
use crate::config::{Config, Mail, Newsletter};
use crate::domain::Subscriber;
use crate::server::{Network, Page, Request, cross_site};
use crate::store::{Confirmation, Limit, PendingSignup, SignupLimits};

/// What the key's keyed hash of a client address is for.
const CLIENT_HASH: &str = "client address";
/// Where the file transport writes confirmation mails, under `<out_dir>/mail/`.
const MAIL_FOLDER: &str = "confirm";
/// Submits the confirmation page's form once it is shown in a browser.
const CONFIRM_SCRIPT: &str = "// Confirms at once when a person opens the link: the page posts its own form.\n\
     // A link scanner that only fetches the page confirms nothing.\n\
     var form = document.getElementById('confirm');\n\
     if (form && document.visibilityState !== 'hidden') { form.submit(); }\n";

/// The sign-up form's settings and paths, fixed when `serve` starts.
pub(super) struct Signup {
    config: Arc<Config>,
    key: Key,
    outbox: Arc<Outbox>,
    from: Mailbox,
    /// The form's path (`site.subscribe_url`'s).
    form: String,
    /// The confirmation link's path.
    confirm: String,
    /// The confirmation page's script.
    script: String,
    /// The confirmation link without its token, absolute, for the mail.
    confirm_url: Url,
}

/// Which of the sign-up's pages a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignupPage {
    Form,
    Confirm,
    Script,
}

/// Why a confirmation mail was not sent.
#[derive(Debug, thiserror::Error)]
enum MailError {
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("the thread sending it stopped")]
    Stopped,
}

/// Why the sign-up form cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignupError {
    #[error("the sign-up form's confirmation mails cannot be sent")]
    Outbox(#[source] SendError),
}

impl Signup {
    /// The form, when `site.subscribe_url` is set.
    pub(super) fn new(config: &Arc<Config>, mail: &Mail, key: &Key) -> Result<Option<Signup>, SignupError> {
        let Some(url) = &config.site.subscribe_url else {
            return Ok(None);
        };
        let form = url.path().to_string();
        let confirm = format!("{}/confirm", form.trim_end_matches('/'));
        let mut confirm_url = url.clone();
        confirm_url.set_path(&confirm);
        confirm_url.set_query(None);
        Ok(Some(Signup {
            config: Arc::clone(config),
            key: key.clone(),
            outbox: Arc::new(Outbox::new(config, mail, MAIL_FOLDER).map_err(SignupError::Outbox)?),
            from: mail.from.clone(),
            script: format!("{confirm}.js"),
            form,
            confirm,
            confirm_url,
        }))
    }

    pub(super) fn page(&self, path: &str) -> Option<SignupPage> {
        match path {
            p if p == self.form => Some(SignupPage::Form),
            p if p == self.confirm => Some(SignupPage::Confirm),
            p if p == self.script => Some(SignupPage::Script),
            _ => None,
        }
    }

    fn limits(&self) -> SignupLimits {
        let s = &self.config.site.signup;
        SignupLimits {
            address_interval: chrono::Duration::minutes(i64::from(s.address_interval_minutes)),
            per_address_per_day: s.per_address_per_day,
            per_client_per_hour: s.per_client_per_hour,
            per_hour: s.per_hour,
        }
    }

    /// The client as the records keep it and the limits count it: its
    /// network (an IPv4 address, an IPv6 /64), or the keyed hash of it.
    fn client(&self, request: &Request) -> String {
        let ip = Network::from(request.client).to_string();
        if self.config.site.signup.hash_client_addresses {
            self.key.keyed_hash(CLIENT_HASH, ip.as_bytes())
        } else {
            ip
        }
    }

    /// A newsletter [`subscriber`] has checked the id of.
    fn newsletter(&self, id: &str) -> &Newsletter {
        newsletter(&self.config, id)
    }

    /// The confirmation mail: the link, what it subscribes to, and nothing
    /// typed into the form in a header but the checked address.
    fn letter(
        &self,
        subscriber: &Subscriber,
        token: &str,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Letter, MessageError> {
        let mut link = self.confirm_url.clone();
        link.query_pairs_mut().append_pair("t", token);
        let site = &self.config.site;
        let titles: Vec<&str> = subscriber
            .newsletters
            .iter()
            .map(|id| self.newsletter(id).title.as_str())
            .collect();
        let until = expires.format(&site.date_format).to_string();
        let text = ConfirmMailText {
            name: &subscriber.name,
            site_name: &site.name,
            titles: &titles,
            link: link.as_str(),
            until: &until,
        };
        let html = ConfirmMailHtml {
            name: &subscriber.name,
            site_name: &site.name,
            titles: &titles,
            link: link.as_str(),
            until: &until,
        };
        let (text, html) = match (text.render(), html.render()) {
            (Ok(text), Ok(html)) => (text, html),
            (Err(e), _) | (_, Err(e)) => return Err(MessageError::Render(e)),
        };
        let domain = self.from.email.domain().to_ascii_lowercase();
        let message_id = format!("<signup.{}@{domain}>", &hashed(token)[..32]);
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, ascii_domain(&subscriber.email)?))
            .subject(format!("Please confirm your subscription to {}", site.name))
            .message_id(Some(message_id.clone()))
            .date(std::time::SystemTime::from(now))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|source| MessageError::Build {
                email: subscriber.email.clone(),
                source,
            })?;
        Ok(Letter { message_id, message })
    }

    /// The form as a page, with what was typed and the error, if any.
    fn form_page(&self, status: u16, fields: &Fields, error: Option<&InvalidField>) -> Page {
        let choices: Vec<Choice> = self
            .config
            .newsletters
            .iter()
            .map(|n| Choice {
                id: n.id.as_str(),
                title: &n.title,
                eu_only: n.audience == crate::config::Audience::EuOrganisations,
                checked: fields.newsletters.iter().any(|id| id == n.id.as_str()),
            })
            .collect();
        let message = error.map(ToString::to_string).unwrap_or_default();
        rendered(
            status,
            &SignupPageView {
                answer: &Answer::Form {
                    action: &self.form,
                    fields,
                    choices: &choices,
                    consent_text: &self.config.site.signup.consent_text,
                    error_field: error.map_or("", |e| e.field),
                    error: &message,
                },
                site_name: &self.config.site.name,
            },
        )
    }

    fn answer(&self, status: u16, answer: &Answer<'_>) -> Page {
        rendered(
            status,
            &SignupPageView {
                answer,
                site_name: &self.config.site.name,
            },
        )
    }
}

/// The form's fields, named as the CSV columns; `website` is the honeypot.
#[derive(Debug, Default)]
struct Fields {
    email: String,
    name: String,
    organisation: String,
    organisation_type: String,
    country: String,
    /// One value per chosen newsletter id.
    newsletters: Vec<String>,
    website: String,
}

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        let mut fields = Fields::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "email" => fields.email = value,
                "name" => fields.name = value,
                "organisation" => fields.organisation = value,
                "organisation_type" => fields.organisation_type = value,
                "country" => fields.country = value,
                "newsletters" => fields.newsletters.push(value),
                "website" => fields.website = value,
                _ => {}
            }
        }
        fields
    }
}

/// A newsletter on the form.
struct Choice<'a> {
    id: &'a str,
    title: &'a str,
    /// For EU-27 companies and organisations only: the form says so.
    eu_only: bool,
    checked: bool,
}

/// What a sign-up page says: one of these, in `templates/signup.html`.
enum Answer<'a> {
    Form {
        action: &'a str,
        fields: &'a Fields,
        choices: &'a [Choice<'a>],
        consent_text: &'a str,
        /// The field the error is about, or empty.
        error_field: &'a str,
        error: &'a str,
    },
    /// After a POST, mailed or not: the same words either way.
    CheckMailbox,
    /// The link's page: a form that posts the token, submitted by the script.
    Confirm {
        action: &'a str,
        token: &'a str,
        script: &'a str,
    },
    Confirmed {
        email: &'a str,
        titles: &'a [&'a str],
    },
    AlreadyConfirmed,
    Expired {
        form: &'a str,
    },
    InvalidLink {
        form: &'a str,
    },
    CrossSite,
    MethodNotAllowed,
    /// The store or the mail failed: nothing to tell but "try again".
    Failed,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPageView<'a> {
    answer: &'a Answer<'a>,
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "signup_mail.txt")]
struct ConfirmMailText<'a> {
    name: &'a str,
    site_name: &'a str,
    titles: &'a [&'a str],
    link: &'a str,
    until: &'a str,
}

#[derive(Template)]
#[template(path = "signup_mail.html")]
struct ConfirmMailHtml<'a> {
    name: &'a str,
    site_name: &'a str,
    titles: &'a [&'a str],
    link: &'a str,
    until: &'a str,
}

/// The form as filled in, checked as a CSV row is, and the EU-only
/// newsletters refused to those they are not for: the subscriber, or the
/// field that is wrong. `today` is the consent's date.
fn check(config: &Config, fields: &Fields, today: chrono::NaiveDate) -> Result<Subscriber, InvalidField> {
    let subscriber = subscriber(
        config,
        Row {
            email: fields.email.clone(),
            name: fields.name.clone(),
            organisation: fields.organisation.clone(),
            organisation_type: fields.organisation_type.clone(),
            country: fields.country.clone(),
            newsletters: fields.newsletters.join(" "),
            consent_date: today.format("%Y-%m-%d").to_string(),
        },
    )?;
    for id in &subscriber.newsletters {
        let newsletter = newsletter(config, id);
        if let Err(skip) = admits(
            newsletter.audience,
            subscriber.organisation_type,
            &subscriber.country,
        ) {
            return Err(InvalidField {
                field: "newsletters",
                value: id.clone(),
                reason: Reason::Audience {
                    title: newsletter.title.clone(),
                    who: skip.who(),
                },
            });
        }
    }
    Ok(subscriber)
}

/// A newsletter [`subscriber`] has checked the id of.
fn newsletter<'c>(config: &'c Config, id: &str) -> &'c Newsletter {
    config
        .newsletter(id)
        .expect("the newsletters of a checked subscriber are configured")
}

/// What the store's thread made of a sign-up.
enum SignUp {
    /// A field is wrong: the form again, as it was filled in.
    Invalid(Fields, InvalidField),
    Limited,
    Recorded {
        subscriber: Subscriber,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    Failed(crate::store::StoreError),
}

/// A new confirmation token: 32 random bytes, base64url.
fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a token: its SHA-256, hex.
fn hashed(token: &str) -> String {
    crate::hex::hex(&Sha256::digest(token.as_bytes()))
}

impl Endpoint {
    /// One of the sign-up's pages; `self.signup` is set.
    pub(super) async fn signup_page(&self, page: SignupPage, request: &Request, url: &Url) -> Page {
        let signup = self
            .signup
            .as_ref()
            .expect("a sign-up page is served with the form on");
        match (page, &request.method) {
            (SignupPage::Script, &Method::GET | &Method::HEAD) => Page {
                content_type: "text/javascript; charset=utf-8",
                ..Page::text(200, CONFIRM_SCRIPT.to_string())
            },
            (SignupPage::Form, &Method::GET | &Method::HEAD) => {
                signup.form_page(200, &Fields::default(), None)
            }
            (SignupPage::Confirm, &Method::GET | &Method::HEAD) => {
                let token = url
                    .query_pairs()
                    .find(|(k, _)| k == "t")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let answer = Answer::Confirm {
                    action: &signup.confirm,
                    token: &token,
                    script: &signup.script,
                };
                signup.answer(200, &answer)
            }
            (SignupPage::Form | SignupPage::Confirm, &Method::POST)
                if let Some(why) = cross_site(&request.headers, &["http", "https"]) =>
            {
                eprintln!("sign-up: refused a POST from another site ({why})");
                signup.answer(403, &Answer::CrossSite)
            }
            (SignupPage::Form, &Method::POST) => self.sign_up(signup, request).await,
            (SignupPage::Confirm, &Method::POST) => self.confirm(signup, request).await,
            _ => signup.answer(405, &Answer::MethodNotAllowed),
        }
    }

    /// `POST` of the form: checked, limited, recorded, mailed.
    async fn sign_up(&self, signup: &Signup, request: &Request) -> Page {
        let fields = Fields::parse(&request.body);
        let client = signup.client(request);
        if !fields.website.is_empty() {
            log_limit(Limit::Honeypot, &client);
            return signup.answer(200, &Answer::CheckMailbox);
        }
        let Some(token) = new_token() else {
            eprintln!("error: sign-up: no random token could be made");
            return signup.answer(500, &Answer::Failed);
        };
        let config = Arc::clone(&signup.config);
        let (limits, token_hash) = (signup.limits(), hashed(&token));
        let recorded = self
            .with_store(move |store, now| {
                let subscriber = match check(&config, &fields, now.date_naive()) {
                    Ok(subscriber) => subscriber,
                    Err(invalid) => return SignUp::Invalid(fields, invalid),
                };
                let settings = &config.site.signup;
                let pending = PendingSignup {
                    token_hash,
                    subscriber,
                    consent_version: settings.consent_version.clone(),
                    client,
                    expires: now + chrono::Duration::days(i64::from(settings.expiry_days)),
                };
                match store.record_signup(&pending, limits, now) {
                    Ok(Ok(())) => SignUp::Recorded {
                        subscriber: pending.subscriber,
                        expires: pending.expires,
                        now,
                    },
                    Ok(Err(limit)) => {
                        log_limit(limit, &pending.client);
                        SignUp::Limited
                    }
                    Err(e) => SignUp::Failed(e),
                }
            })
            .await;
        let (subscriber, expires, now) = match recorded {
            Some(SignUp::Recorded {
                subscriber,
                expires,
                now,
            }) => (subscriber, expires, now),
            Some(SignUp::Invalid(fields, invalid)) => return signup.form_page(400, &fields, Some(&invalid)),
            Some(SignUp::Limited) => return signup.answer(200, &Answer::CheckMailbox),
            Some(SignUp::Failed(e)) => {
                eprintln!("error: sign-up not recorded: {}", said_once(&e));
                return signup.answer(500, &Answer::Failed);
            }
            None => return signup.answer(500, &Answer::Failed),
        };
        if let Err(e) = self.mail(signup, &subscriber, &token, expires, now).await {
            eprintln!(
                "error: sign-up: the confirmation mail was not sent: {}",
                said_once(&e)
            );
            let hash = hashed(&token);
            let _ = self
                .with_store(move |store, _| store.forget_signup(&hash, now))
                .await;
            return signup.answer(500, &Answer::Failed);
        }
        signup.answer(200, &Answer::CheckMailbox)
    }

    /// Sends the confirmation mail, off the thread that answers connections.
    async fn mail(
        &self,
        signup: &Signup,
        subscriber: &Subscriber,
        token: &str,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), MailError> {
        let letter = signup.letter(subscriber, token, expires, now)?;
        let outbox = Arc::clone(&signup.outbox);
        let email = subscriber.email.clone();
        tokio::task::spawn_blocking(move || outbox.send(&letter, &email))
            .await
            .map_err(|_| MailError::Stopped)??;
        Ok(())
    }

    /// `POST` of the confirmation page: the sign-up becomes a subscription.
    async fn confirm(&self, signup: &Signup, request: &Request) -> Page {
        let token = url::form_urlencoded::parse(&request.body)
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let hash = hashed(&token);
        let key = self.key.clone();
        let confirmed = self
            .with_store(move |store, now| {
                store.confirm_signup(&hash, |email| suppression::hash(&key, email), now)
            })
            .await;
        match confirmed {
            Some(Ok(Confirmation::Confirmed { email, newsletters })) => {
                let titles: Vec<&str> = newsletters
                    .iter()
                    .map(|id| {
                        signup
                            .config
                            .newsletter(id)
                            .map_or(id.as_str(), |n| n.title.as_str())
                    })
                    .collect();
                signup.answer(
                    200,
                    &Answer::Confirmed {
                        email: &email,
                        titles: &titles,
                    },
                )
            }
            Some(Ok(Confirmation::AlreadyConfirmed)) => signup.answer(200, &Answer::AlreadyConfirmed),
            Some(Ok(Confirmation::Expired)) => signup.answer(410, &Answer::Expired { form: &signup.form }),
            Some(Ok(Confirmation::Unknown)) => {
                signup.answer(404, &Answer::InvalidLink { form: &signup.form })
            }
            Some(Err(e)) => {
                eprintln!("error: sign-up not confirmed: {}", said_once(&e));
                signup.answer(500, &Answer::Failed)
            }
            None => signup.answer(500, &Answer::Failed),
        }
    }
}

/// The log line for a sign-up that got no mail: which limit, and the
/// client as the records keep it (never the address typed in).
fn log_limit(limit: Limit, client: &str) {
    eprintln!(
        "sign-up: no confirmation mail sent, over a limit: {}; client {client}",
        limit.as_str()
    );
}
