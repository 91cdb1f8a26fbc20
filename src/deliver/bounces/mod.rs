//! `bulletin bounces`: the mailbox where the VERP envelope sender's
//! bounces, complaints and mailed unsubscribes arrive, read ([`mod@read`]),
//! each mail classified ([`mod@classify`]), matched to a subscriber (the VERP
//! token first, then the address the report names) and acted on in the
//! store, once per mail.

mod classify;
mod read;
mod text;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub(crate) use classify::Kind;
use classify::{Reading, classify};
pub(crate) use read::{Found, read_path};

use super::token::{Key, Verp, open_verp, verify, verp_address};
use crate::config::{BounceAddress, Config, Mail, VERP_TOKEN_LEN};
use crate::domain::EditionRef;
use crate::store::{Bounce, Effect, SoftRule, Store, StoreError};

/// One mail read, what it is, and what it changed.
#[derive(Debug)]
pub(crate) struct Processed {
    pub(crate) file: PathBuf,
    pub(crate) kind: Kind,
    /// The bounced or complaining address the report names (or the VERP
    /// address's subscriber, where it names none).
    pub(crate) recipient: Option<String>,
    pub(crate) status: Option<String>,
    /// What the mail was, in a few words.
    pub(crate) why: &'static str,
    /// The subscriber it was matched to.
    pub(crate) subscriber: Option<String>,
    /// What changed; `None` when nothing was to change, or in a dry run.
    pub(crate) effect: Option<Effect>,
    /// In a dry run: read before, so it would change nothing.
    pub(crate) seen_before: bool,
}

/// Reads mails against one store.
pub(crate) struct Bounces<'a> {
    key: &'a Key,
    bounce_address: Option<&'a BounceAddress>,
    newsletters: Vec<&'a str>,
    rule: SoftRule,
    store: &'a mut Store,
    dry_run: bool,
    now: DateTime<Utc>,
    /// Every subscriber by the keyed hash a VERP token names them by,
    /// made once, when the first token is read.
    by_hash: Option<HashMap<[u8; 8], String>>,
}

impl<'a> Bounces<'a> {
    pub(crate) fn new(
        config: &'a Config,
        mail: &'a Mail,
        key: &'a Key,
        store: &'a mut Store,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Bounces<'a> {
        Bounces {
            key,
            bounce_address: mail.bounce_address.as_ref(),
            newsletters: config.newsletters.iter().map(|n| n.id.as_str()).collect(),
            rule: SoftRule {
                count: mail.suppress_after_soft_bounces,
                days: mail.soft_bounce_days,
            },
            store,
            dry_run,
            now,
            by_hash: None,
        }
    }

    /// Classifies one mail, matches it, and (unless a dry run) acts on it.
    pub(crate) fn process(&mut self, found: Found) -> Result<Processed, StoreError> {
        let reading = classify(&found.bytes);
        let key = reading
            .message_id
            .clone()
            .unwrap_or_else(|| crate::hex::hex(&Sha256::digest(&found.bytes)));
        let verp = self.verp(&reading)?;
        let (kind, recipient, newsletter, subscriber) = match reading.kind {
            Kind::Ignored => match self.unsubscribe_request(&reading)? {
                Some((email, newsletter, known)) => (
                    Kind::Unsubscribe,
                    Some(email.clone()),
                    Some(newsletter),
                    known.then_some(email),
                ),
                None => (Kind::Ignored, reading.recipient.clone(), None, None),
            },
            kind => {
                let subscriber = match &verp {
                    Some((_, email)) => Some(email.clone()),
                    None => self.subscriber_named(&reading)?,
                };
                let recipient = reading.recipient.clone().or_else(|| subscriber.clone());
                let newsletter = verp.as_ref().map(|(edition, _)| edition.newsletter.clone());
                (kind, recipient, newsletter, subscriber)
            }
        };
        let mut processed = Processed {
            file: found.file,
            kind,
            recipient,
            status: reading.status.clone(),
            why: reading.why,
            subscriber: subscriber.clone(),
            effect: None,
            seen_before: false,
        };
        let Some(email) = subscriber.filter(|_| kind != Kind::Ignored) else {
            return Ok(processed);
        };
        if self.dry_run {
            processed.seen_before = self.store.bounce_processed(&key)?;
            return Ok(processed);
        }
        let bounce = Bounce {
            key: &key,
            kind: kind.as_str(),
            email: &email,
            newsletter: newsletter.as_deref(),
            number: verp.as_ref().map(|(edition, _)| edition.number),
            status: reading.status.as_deref(),
            why: reading.why,
            at: self.now,
        };
        processed.effect = Some(self.store.apply_bounce(&bounce, self.rule)?);
        Ok(processed)
    }

    /// The edition and subscriber a VERP address in the mail names, if
    /// one does and its token is bulletin's.
    fn verp(&mut self, reading: &Reading) -> Result<Option<(EditionRef, String)>, StoreError> {
        let Some(bounce) = self.bounce_address else {
            return Ok(None);
        };
        let haystack = reading.haystack.to_ascii_lowercase();
        let prefix = format!("{}+", bounce.local);
        for (at, _) in haystack.match_indices(&prefix) {
            let Some(token) = haystack.get(at + prefix.len()..at + prefix.len() + VERP_TOKEN_LEN) else {
                continue;
            };
            if let Some(verp) = open_verp(self.key, token)
                && let Some(found) = self.match_verp(&verp)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn match_verp(&mut self, verp: &Verp) -> Result<Option<(EditionRef, String)>, StoreError> {
        let Some(newsletter) = self
            .newsletters
            .iter()
            .find(|id| verp.is_newsletter(self.key, id))
        else {
            return Ok(None);
        };
        let edition = EditionRef {
            newsletter: newsletter.to_string(),
            number: verp.number,
        };
        if self.by_hash.is_none() {
            let emails = self.store.subscriber_emails()?;
            let key = self.key;
            self.by_hash = Some(
                emails
                    .into_iter()
                    .map(|email| (verp_address(key, &email), email))
                    .collect(),
            );
        }
        let by_hash = self.by_hash.as_ref().expect("made above");
        Ok(by_hash.get(&verp.address()).map(|email| (edition, email.clone())))
    }

    /// The subscriber a report names: the address first written to, else
    /// the one that failed.
    fn subscriber_named(&self, reading: &Reading) -> Result<Option<String>, StoreError> {
        for address in [&reading.original, &reading.recipient].into_iter().flatten() {
            if self.store.is_subscriber(address)? {
                return Ok(Some(address.clone()));
            }
        }
        Ok(None)
    }

    /// A mail with a valid unsubscribe token in its subject or text: the
    /// address, the newsletter, and whether the address is a subscriber.
    fn unsubscribe_request(&self, reading: &Reading) -> Result<Option<(String, String, bool)>, StoreError> {
        let Some(request) = reading.tokens.iter().find_map(|token| verify(self.key, token)) else {
            return Ok(None);
        };
        let email = request.email.to_ascii_lowercase();
        let known = self.store.is_subscriber(&email)?;
        Ok(Some((email, request.newsletter, known)))
    }
}
