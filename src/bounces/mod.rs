//! `bulletin bounces`: the mailbox where the VERP envelope sender's
//! bounces, complaints and mailed unsubscribes arrive, read ([`mod@read`]),
//! each mail classified ([`mod@classify`]) and proven to be about one
//! subscriber's copy ([`mod@proof`]) with the store only read, then every
//! mail recorded, and the proven ones acted on, in one short transaction.
//!
//! Anyone can mail the bounce address, so a report changes a subscriber
//! only with a token bulletin made for that subscriber's copy (the VERP
//! address, the keyed Message-ID, the unsubscribe token), and it changes
//! the subscriber the token names, never one the report merely names;
//! `[mail] trust_bounce_addresses` lets the named address count, for a
//! mailbox only the operator's own mail system writes to.

mod classify;
mod proof;
mod read;
mod text;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use mail_parser::MessageParser;
use sha2::{Digest, Sha256};

pub(crate) use classify::Kind;
use classify::{Reading, classify};
pub(crate) use proof::Proof;
pub(crate) use read::{Found, read_path};

use crate::audience::token::{Key, Verp, verify, verp_address};
use crate::config::{Config, Mail};
use crate::store::{Bounce, BounceMail, Effect, SoftRule, Store, StoreError};

/// One mail read, what it is, whom it is proven to be about, and what
/// recording it changed.
#[derive(Debug)]
pub(crate) struct Processed {
    pub(crate) file: PathBuf,
    /// The Message-ID, else a hash of the bytes: what it is recorded by.
    key: String,
    pub(crate) kind: Kind,
    /// The bounced or complaining address the report names (or the proven
    /// subscriber, where it names none).
    pub(crate) recipient: Option<String>,
    pub(crate) status: Option<String>,
    /// What the mail was, in a few words.
    pub(crate) why: &'static str,
    /// The subscriber it is proven to be about, and how; none for a mail
    /// that changes no one.
    pub(crate) proven: Option<Proven>,
    /// Recorded by an earlier run (or earlier in this one): not read again.
    pub(crate) read_before: bool,
    /// What recording it changed; `None` before it is recorded, and in a dry run.
    pub(crate) effect: Option<Effect>,
}

/// The subscriber a mail is proven to be about, and what of theirs it names.
#[derive(Debug, Clone)]
pub(crate) struct Proven {
    pub(crate) email: String,
    pub(crate) proof: Proof,
    /// The newsletter the token names.
    newsletter: Option<String>,
    /// The edition's number, when the token names it.
    number: Option<u32>,
}

/// Reads mails against one store, which it only reads.
pub(crate) struct Bounces<'a> {
    key: &'a Key,
    bounce_local: Option<&'a str>,
    newsletters: Vec<&'a str>,
    trust_addresses: bool,
    rule: SoftRule,
    store: &'a Store,
    now: DateTime<Utc>,
    /// Every subscriber by the keyed hash a VERP token names them by,
    /// made once, when the first token is read.
    by_hash: Option<HashMap<[u8; 8], String>>,
    /// The mails read in this run by a hash of their bytes, with their
    /// kind and status: a mail read twice (a Maildir's `new/` and `cur/`,
    /// a mailbox given twice) is parsed once.
    copies: HashMap<[u8; 32], (Kind, Option<String>)>,
}

impl<'a> Bounces<'a> {
    pub(crate) fn new(
        config: &'a Config,
        mail: &'a Mail,
        key: &'a Key,
        store: &'a Store,
        now: DateTime<Utc>,
    ) -> Bounces<'a> {
        Bounces {
            key,
            bounce_local: mail.bounce_address.as_ref().map(|b| b.local.as_str()),
            newsletters: config.newsletters.iter().map(|n| n.id.as_str()).collect(),
            trust_addresses: mail.trust_bounce_addresses,
            rule: SoftRule {
                count: mail.suppress_after_soft_bounces,
                days: mail.soft_bounce_days,
            },
            store,
            now,
            by_hash: None,
            copies: HashMap::new(),
        }
    }

    /// Reads one mail: skipped unparsed when read before, else classified
    /// and proven. Changes nothing.
    pub(crate) fn read(&mut self, found: Found) -> Result<Processed, StoreError> {
        let key = mail_key(&found.bytes);
        let copy: [u8; 32] = Sha256::digest(&found.bytes).into();
        let before = match self.copies.get(&copy) {
            Some((kind, status)) => Some((*kind, None, status.clone())),
            None => self
                .store
                .bounce_read(&key)?
                .map(|before| (recorded_kind(&before.kind), before.email, before.status)),
        };
        if let Some((kind, recipient, status)) = before {
            return Ok(Processed {
                file: found.file,
                key,
                kind,
                recipient,
                status,
                why: "read before",
                proven: None,
                read_before: true,
                effect: None,
            });
        }
        let reading = classify(&found.bytes);
        let (kind, proven) = match reading.kind {
            Kind::Ignored => match self.unsubscribe_request(&reading) {
                Some(proven) => (Kind::Unsubscribe, Some(proven)),
                None => (Kind::Ignored, None),
            },
            kind => (kind, self.prove(&reading)?),
        };
        self.copies.insert(copy, (kind, reading.status.clone()));
        let recipient = reading
            .recipient
            .clone()
            .or_else(|| proven.as_ref().map(|p| p.email.clone()));
        Ok(Processed {
            file: found.file,
            key,
            kind,
            recipient,
            status: reading.status,
            why: reading.why,
            proven,
            read_before: false,
            effect: None,
        })
    }

    /// Records every mail read for the first time, and acts on the proven
    /// ones, in one transaction of `store` (opened for writing, under the
    /// run lock); each mail's effect is filled in.
    pub(crate) fn record(&self, store: &mut Store, processed: &mut [Processed]) -> Result<(), StoreError> {
        let fresh: Vec<&mut Processed> = processed.iter_mut().filter(|p| !p.read_before).collect();
        let mails: Vec<BounceMail> = fresh
            .iter()
            .map(|p| BounceMail {
                key: &p.key,
                kind: p.kind.as_str(),
                status: p.status.as_deref(),
                why: p.why,
                proof: p.proven.as_ref().map(|proven| proven.proof.as_str()),
                bounce: p.proven.as_ref().map(|proven| Bounce {
                    email: &proven.email,
                    newsletter: proven.newsletter.as_deref(),
                    number: proven.number,
                }),
            })
            .collect();
        let effects = store.record_bounces(&mails, self.now, self.rule)?;
        drop(mails);
        for (p, effect) in fresh.into_iter().zip(effects) {
            p.effect = Some(effect);
        }
        Ok(())
    }

    /// The subscriber a report is proven to be about: a token bulletin
    /// made (the VERP address, the Message-ID, the unsubscribe token),
    /// else, under `trust_bounce_addresses`, the address it names.
    fn prove(&mut self, reading: &Reading) -> Result<Option<Proven>, StoreError> {
        let tokens = proof::tokens(self.key, &reading.haystack, self.bounce_local);
        for (verp, proof) in &tokens.verp {
            if let Some(proven) = self.match_verp(verp, *proof)? {
                return Ok(Some(proven));
            }
        }
        if let Some(request) = tokens.unsubscribe.into_iter().next() {
            return Ok(Some(Proven {
                email: request.email.to_ascii_lowercase(),
                proof: Proof::ListUnsubscribe,
                newsletter: Some(request.newsletter),
                number: None,
            }));
        }
        if self.trust_addresses {
            return self.subscriber_named(reading);
        }
        Ok(None)
    }

    fn match_verp(&mut self, verp: &Verp, proof: Proof) -> Result<Option<Proven>, StoreError> {
        let Some(newsletter) = self
            .newsletters
            .iter()
            .find(|id| verp.is_newsletter(self.key, id))
        else {
            return Ok(None);
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
        Ok(by_hash.get(&verp.address()).map(|email| Proven {
            email: email.clone(),
            proof,
            newsletter: Some(newsletter.to_string()),
            number: Some(verp.number),
        }))
    }

    /// The subscriber a report names: the address first written to, else
    /// the one that failed; else the first it names, which then matches no
    /// subscriber. Only under `trust_bounce_addresses`.
    fn subscriber_named(&self, reading: &Reading) -> Result<Option<Proven>, StoreError> {
        let named = [&reading.original, &reading.recipient];
        let mut subscriber = None;
        for address in named.into_iter().flatten() {
            if self.store.is_subscriber(address)? {
                subscriber = Some(address);
                break;
            }
        }
        Ok(subscriber
            .or_else(|| named.into_iter().flatten().next())
            .map(|email| Proven {
                email: email.clone(),
                proof: Proof::TrustedAddress,
                newsletter: None,
                number: None,
            }))
    }

    /// A mail with a valid unsubscribe token in its subject or text: the
    /// token's address and newsletter.
    fn unsubscribe_request(&self, reading: &Reading) -> Option<Proven> {
        let request = reading.tokens.iter().find_map(|token| verify(self.key, token))?;
        Some(Proven {
            email: request.email.to_ascii_lowercase(),
            proof: Proof::ListUnsubscribe,
            newsletter: Some(request.newsletter),
            number: None,
        })
    }
}

/// A recorded kind, as [`Kind::as_str`] wrote it.
fn recorded_kind(kind: &str) -> Kind {
    [Kind::Hard, Kind::Soft, Kind::Complaint, Kind::Unsubscribe]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .unwrap_or(Kind::Ignored)
}

/// What a mail is recorded by: its Message-ID (the same mail delivered
/// twice, with other trace headers, is one), else a hash of its bytes.
/// Only the headers are parsed: a mail read before is skipped unread.
fn mail_key(bytes: &[u8]) -> String {
    MessageParser::default()
        .parse_headers(bytes)
        .and_then(|headers| headers.message_id().map(str::to_string))
        .unwrap_or_else(|| crate::hex::hex(&Sha256::digest(bytes)))
}
