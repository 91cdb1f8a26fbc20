//! What one mail in the bounce mailbox is: a hard or soft bounce, a
//! complaint, an unsubscribe request, or something to leave alone.
//!
//! The standard structure decides when it is there: a delivery status
//! notification's `message/delivery-status` part (RFC 3464), a feedback
//! report (RFC 5965), a read receipt (RFC 8098). Without it, a report's own
//! words are read only when the mail says it comes from a mail system
//! (`MAILER-DAEMON`, `X-Failed-Recipients`, a bounce subject), and only a
//! status code or an unmistakable phrase makes it a bounce. Delays,
//! auto-replies and receipts never are; whatever is not sure is `ignored`:
//! a guess must never unsubscribe a person.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::text::{
    Field, StatusCode, addresses, field, field_blocks, holds_any, named_recipient, reply_code, status_codes,
    token_candidates, typed_address,
};

/// What a mail is, as `bulletin bounces` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// The address does not work: counted towards `suppress_after_hard_bounces`.
    Hard,
    /// It did not work this time: counted towards the soft-bounce rule.
    Soft,
    /// The person reported the newsletter as spam: unsubscribed from all.
    Complaint,
    /// A mail to the `mailto:` unsubscribe address with a valid token.
    Unsubscribe,
    /// Anything else: left alone, counted.
    Ignored,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Ignored => "ignored",
        }
    }
}

/// What the classifier read in one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Before the tokens are checked: an unsubscribe request is still
    /// [`Kind::Ignored`] here, with its candidate tokens.
    pub(crate) kind: Kind,
    /// The bounced or complaining address, where the report names one.
    pub(crate) recipient: Option<String>,
    /// The address first written to, when a DSN names another than the
    /// one that failed (`Original-Recipient:` beside `Final-Recipient:`,
    /// an alias or a forward): the subscriber's, more likely.
    pub(crate) original: Option<String>,
    /// The DSN status code, if any (`5.1.1`).
    pub(crate) status: Option<String>,
    /// Why, in a few words (`delay`, `auto-reply`, `DSN`…), for the summary.
    pub(crate) why: &'static str,
    /// Words that may be unsubscribe tokens (subject and text), for a mail
    /// that is none of the reports.
    pub(crate) tokens: Vec<String>,
    /// The text the VERP address may be in: the report's headers, its
    /// parts, the returned message's headers.
    pub(crate) haystack: String,
}

/// Subjects of mail systems' failure reports, lowercase.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "undelivered",
    "delivery status notification (failure)",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "failure notice",
    "returned mail",
    "returned to sender",
    "nondeliverable",
    "non-deliverable",
    "non delivery",
    "non-delivery",
    "message not delivered",
    "could not send message",
    "mail delivery system",
    "mail system error",
    "delivery notification: delivery has failed",
    "permanent delivery failure",
    "message delivery failure",
    "could not be delivered",
    "delivery notification",
    "notice of non-delivery",
    "error sending message",
    "unzustellbar",
    "nicht zustellbar",
    "non recapitabile",
    "onbestelbaar",
    "no entregado",
    "non remis",
    "no se puede entregar",
    "配信不能",
    "配送エラー",
    "不達",
    "エラーメール",
];

/// Local parts and names of mail systems' own senders, lowercase.
const DAEMON_SENDERS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mail-daemon",
    "post_master",
    "interscan",
    "maildaemon",
    "postmaster",
    "mail delivery",
    "mail administrator",
    "mailadmin",
    "mmdf",
    "smtp gateway",
    "microsoftexchange",
    "internet mail delivery",
    "mdaemon",
    "system administrator",
    "bounce",
];

/// Words that announce a delay, not a failure, lowercase.
const DELAY_PHRASES: &[&str] = &[
    "will retry",
    "will be retried",
    "will continue to try",
    "will continue trying",
    "will keep trying",
    "will try again",
    "still trying",
    "still being retried",
    "has not yet been delivered",
    "not yet been delivered",
    "has been delayed",
    "is delayed",
    "delivery delayed",
    "delayed mail",
    "delivery status notification (delay)",
    "this is a warning",
    "warning message only",
    "no action is required",
    "you do not need to resend",
    "retry timeout not exceeded",
];

/// Subjects of delay notices, lowercase.
const DELAY_SUBJECTS: &[&str] = &[
    "delayed mail",
    "delivery delayed",
    "delivery is delayed",
    "(delay)",
    "delay notification",
    "delayed:",
    "warning: message",
    "warning: could not send",
    "still being retried",
    "not yet delivered",
];

/// Words that say the mail system gave up, lowercase: they outweigh
/// [`DELAY_PHRASES`] ("…will not retry").
const GAVE_UP_PHRASES: &[&str] = &[
    "will not retry",
    "won't retry",
    "not be retried",
    "giving up",
    "given up",
    "gave up",
    "retry timeout exceeded",
    "permanent error",
    "permanent failure",
    "failed permanently",
];

/// Words that say the address does not exist, lowercase: without a status
/// code, and beside any class-5 one.
const GONE_PHRASES: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such mailbox",
    "no mailbox here",
    "mailbox unavailable",
    "mailbox not found",
    "user not found",
    "recipient not found",
    "unknown recipient",
    "invalid recipient",
    "recipient address rejected",
    "address rejected",
    "does not exist",
    "doesn't exist",
    "doesn't have a",
    "does not have a",
    "not listed in",
    "unknown address",
    "address unknown",
    "no such address",
    "no such recipient",
    "recipient unknown",
    "invalid address",
    "invalid mailbox",
    "not a valid mailbox",
    "mailbox does not exist",
    "unknown local part",
    "unknown local-part",
    "is not a known user",
    "name is not recognized",
    "no valid recipients",
    "not our customer",
    "mailbox disabled",
    "mailbox is disabled",
    "account closed",
    "no longer valid",
    "bad destination mailbox",
    "unrouteable address",
    "host unknown",
    "host not found",
    "domain does not exist",
    "存在しません",
    "宛先不明",
    "account has been disabled",
    "account is disabled",
    "no longer available",
    "host or domain name not found",
    "domain not found",
];

/// Without a status code, words that say a failure is permanent,
/// lowercase: with the address known, a hard bounce, as [`GONE_PHRASES`]
/// are; beside a code, they say nothing of the address.
const PERMANENT_PHRASES: &[&str] = &["permanent error", "permanent failure", "failed permanently"];

/// Without an enhanced status code, words that say the mailbox is full:
/// the address exists, so even a 5xx is a soft bounce.
const FULL_PHRASES: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "mailbox has exceeded",
    "over quota",
    "overquota",
    "quota exceeded",
    "exceeded storage",
    "exceeds the quota",
    "insufficient storage",
    "mailbox size limit",
    "disk quota",
    "容量",
];

/// Words of a server that refuses to relay, lowercase: the sending side's
/// setup (or the domain's), no fault of the recipient, so no bounce
/// counted against them, whatever the class of the code (often 5.7.1).
const RELAY_PHRASES: &[&str] = &[
    "unable to relay",
    "relay access denied",
    "relaying denied",
    "relay denied",
    "relay not permitted",
    "relaying not permitted",
    "relaying not allowed",
    "not allowed to relay",
    "not permitted to relay",
    "relaying disallowed",
    "we do not relay",
    "no relaying",
    "relay prohibited",
    "relaying prohibited",
];

/// Why a relay's refusal changes nothing.
const RELAY_REFUSED: &str = "relay refused, no fault of the recipient";

/// Where a mail system's text report ends and the returned message begins, lowercase.
const RETURNED_MARKERS: &[&str] = &[
    "------ this is a copy of the message",
    "--- below this line is a copy of the message",
    "----- original message -----",
    "------ original message ------",
    "original message follows",
    "------- returned message --------",
    "--- the header of the original message is following",
    "original message:",
];

/// Subjects of auto-replies, lowercase.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "automatische antwort",
    "abwesenheitsnotiz",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "on vacation",
    "vacation reply",
    "away from my mail",
    "automatisch antwoord",
    "resposta automática",
    "automaattinen vastaus",
    "odpowiedź automatyczna",
    "automatická odpověď",
    "autosvar",
    "自動返信",
    "自動応答",
    "不在",
    "自动回复",
    "자동 응답",
];

/// How much of one part is read: its first 64 KiB. A report's own words,
/// its delivery-status fields, an SES notification and a returned
/// message's headers are a few kilobytes, and come first; what may follow
/// is the returned message's body. Every scan is linear, and this bounds
/// it too: a hostile part of megabytes costs what 64 KiB of it does.
const EXAMINED_PER_PART: usize = 64 * 1024;

/// The first [`EXAMINED_PER_PART`] bytes of `text`, ending on a character.
fn examined(text: &str) -> &str {
    let mut end = text.len().min(EXAMINED_PER_PART);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// As [`examined`], for bytes that may not be UTF-8.
fn examined_bytes(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(EXAMINED_PER_PART)]).into_owned()
}

/// Reads one mail.
pub(crate) fn classify(bytes: &[u8]) -> Reading {
    let Some(message) = MessageParser::default().parse(bytes) else {
        return Reading::ignored("not a mail", None, String::new());
    };
    let mail = Mail::new(&message);
    let mut reading = mail
        .standard_report()
        .or_else(|| mail.provider_notification())
        .or_else(|| mail.auto_reply())
        .or_else(|| mail.text_bounce())
        .unwrap_or_else(|| Reading {
            tokens: mail.tokens(),
            ..Reading::ignored("not a report", None, String::new())
        });
    reading.haystack = mail.haystack();
    if reading.recipient.is_none() && reading.kind != Kind::Ignored {
        reading.recipient = mail.returned_recipient();
    }
    reading
}

impl Reading {
    fn ignored(why: &'static str, recipient: Option<String>, status: String) -> Reading {
        Reading {
            kind: Kind::Ignored,
            recipient,
            original: None,
            status: (!status.is_empty()).then_some(status),
            why,
            tokens: Vec::new(),
            haystack: String::new(),
        }
    }

    fn new(kind: Kind, why: &'static str, recipient: Option<String>, status: Option<&StatusCode>) -> Reading {
        Reading {
            kind,
            status: status.map(StatusCode::text),
            ..Reading::ignored(why, recipient, String::new())
        }
    }
}

/// A bounce's kind from its status: class 5 is hard unless RFC 3463
/// calls the condition persistent transient; class 4 is soft.
fn bounce_kind(code: &StatusCode) -> Kind {
    match code.class {
        5 if !code.persistent_transient() => Kind::Hard,
        5 | 4 => Kind::Soft,
        _ => Kind::Ignored,
    }
}

/// A failure's kind from its code and the words of the report or the
/// server's reply (lowercase), in this order: a relay's refusal is no
/// bounce; "mailbox full" with no more than a bare class is soft; a
/// class-5 code with words that say the address is gone is hard, whatever
/// its subject (Microsoft's `5.4.1 Recipient address rejected: Access
/// denied`, a `5.0.0`); else the code decides.
fn failure_kind(code: &StatusCode, words: &str) -> Kind {
    let bare = code.subject == 0 && code.detail == 0;
    if holds_any(words, RELAY_PHRASES) {
        Kind::Ignored
    } else if bare && holds_any(words, FULL_PHRASES) {
        Kind::Soft
    } else if code.class == 5 && holds_any(words, GONE_PHRASES) && !holds_any(words, FULL_PHRASES) {
        Kind::Hard
    } else {
        bounce_kind(code)
    }
}

/// A reading of a failure: [`Kind::Ignored`] (a relay's refusal) says why.
fn failure(kind: Kind, why: &'static str, recipient: Option<String>, code: Option<&StatusCode>) -> Reading {
    let mut reading = Reading::new(kind, why, recipient, code);
    if kind == Kind::Ignored {
        reading.why = RELAY_REFUSED;
    }
    reading
}

/// A recipient's status: its `Status:` field, unless that is only the
/// class (`5.0.0`), or says less of the address than the server's own
/// reply of the same class does (`Status: 5.4.0` with `550 5.1.1 …`: the
/// server that knows the mailbox said it is unknown); without a
/// `Status:`, the reply's code.
fn dsn_status(status: Option<&str>, diagnostic: &str) -> Option<StatusCode> {
    let said = status_codes(diagnostic).into_iter().next();
    match status.and_then(|status| status_codes(status).into_iter().next()) {
        Some(generic)
            if (generic.subject == 0 && generic.detail == 0)
                || (generic.subject != 1 && said.as_ref().is_some_and(|said| said.subject == 1)) =>
        {
            Some(said.filter(|said| said.class == generic.class).unwrap_or(generic))
        }
        Some(status) => Some(status),
        None => said,
    }
}

/// The parsed mail, with what the steps need at hand.
struct Mail<'m> {
    message: &'m Message<'m>,
    /// `From:`, lowercase: address and name.
    from: String,
    subject: String,
    /// The text of the top-level text parts, as written, each examined
    /// up to [`EXAMINED_PER_PART`].
    text: String,
}

impl<'m> Mail<'m> {
    fn new(message: &'m Message<'m>) -> Mail<'m> {
        let from = message
            .from()
            .and_then(|from| from.first())
            .map(|addr| {
                format!(
                    "{} {}",
                    addr.name.as_deref().unwrap_or_default(),
                    addr.address.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_default()
            .to_lowercase();
        let text = (0..message.text_body_count())
            .filter_map(|i| message.body_text(i))
            .map(|body| examined(&body).to_string())
            .collect::<Vec<_>>()
            .join("\n");
        Mail {
            message,
            from,
            subject: examined(message.subject().unwrap_or_default()).to_lowercase(),
            text,
        }
    }

    /// A header of the report, examined up to [`EXAMINED_PER_PART`].
    fn header(&self, name: &'static str) -> Option<&str> {
        self.message.header_raw(name).map(|value| examined(value.trim()))
    }

    /// The parts of the report itself (a returned message's parts are its
    /// own), each examined up to [`EXAMINED_PER_PART`].
    fn parts_of(&self, ctype: &str, subtypes: &[&str]) -> Vec<String> {
        self.message
            .parts
            .iter()
            .filter(|part| {
                part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case(ctype)
                        && ct
                            .subtype()
                            .is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
                })
            })
            .map(|part| match &part.body {
                PartType::Text(text) | PartType::Html(text) => examined(text).to_string(),
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => examined_bytes(bytes),
                PartType::Message(inner) => examined_bytes(inner.raw_message()),
                PartType::Multipart(_) => String::new(),
            })
            .collect()
    }

    fn report_type(&self) -> String {
        self.message
            .content_type()
            .filter(|ct| ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")))
            .and_then(|ct| ct.attribute("report-type"))
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// A DSN, a feedback report or a read receipt, by their MIME structure.
    fn standard_report(&self) -> Option<Reading> {
        let feedback = self.parts_of("message", &["feedback-report"]);
        if let Some(report) = feedback.first() {
            return Some(self.feedback(report));
        }
        let status = self.parts_of("message", &["delivery-status", "global-delivery-status"]);
        if let Some(report) = status.first() {
            return Some(self.delivery_status(report));
        }
        let receipt = !self
            .parts_of(
                "message",
                &["disposition-notification", "global-disposition-notification"],
            )
            .is_empty();
        if let Some(fields) = self.plain_delivery_status() {
            return Some(self.delivery_status(&fields));
        }
        if receipt || self.report_type().contains("disposition-notification") {
            return Some(Reading::ignored("read receipt", None, String::new()));
        }
        if self.report_type() == "feedback-report" {
            return Some(self.feedback(""));
        }
        None
    }

    /// A DSN's fields in a `text/plain` part, from a mail system that
    /// labels its delivery-status part so (or writes it in its text).
    fn plain_delivery_status(&self) -> Option<String> {
        if !self.looks_like_a_report() && self.report_type() != "delivery-status" {
            return None;
        }
        self.parts_of("text", &["plain"]).into_iter().find(|text| {
            let lower = text.to_ascii_lowercase();
            (lower.contains("\nfinal-recipient:") || lower.contains("\noriginal-recipient:"))
                && (lower.contains("\naction:") || lower.contains("\nstatus:"))
        })
    }

    /// Whether the mail says it is a mail system's report: its sender, an
    /// `X-Failed-Recipients:` header or its subject.
    fn looks_like_a_report(&self) -> bool {
        self.header("X-Failed-Recipients").is_some()
            || self.sent_by_mail_system()
            || holds_any(&self.subject, BOUNCE_SUBJECTS)
    }

    /// An ARF report (RFC 5965): abuse and fraud (and an opt-out) are a
    /// person asking to stop; the other types (`not-spam`, `virus`,
    /// `auth-failure`, `other`) are not.
    fn feedback(&self, report: &str) -> Reading {
        let fields: Vec<Field> = field_blocks(report).into_iter().flatten().collect();
        let kind = field(&fields, "feedback-type").map_or("abuse".to_string(), str::to_ascii_lowercase);
        let recipient = field(&fields, "original-rcpt-to")
            .or_else(|| field(&fields, "removal-recipient"))
            .and_then(typed_address)
            .or_else(|| self.returned_header("x-hmxmroriginalrecipient"))
            .or_else(|| self.returned_recipient());
        match kind.as_str() {
            "abuse" | "fraud" | "opt-out" | "opt-out-list" => {
                Reading::new(Kind::Complaint, "feedback report", recipient, None)
            }
            _ => Reading::ignored("feedback report, not a complaint", recipient, String::new()),
        }
    }

    /// A DSN: the first recipient whose delivery failed decides; a DSN
    /// that only reports delays or deliveries is no bounce.
    fn delivery_status(&self, report: &str) -> Reading {
        let blocks = field_blocks(report);
        let recipients: Vec<&Vec<Field>> = blocks
            .iter()
            .filter(|block| field(block, "final-recipient").is_some() || field(block, "action").is_some())
            .collect();
        let mut first_other: Option<Reading> = None;
        for block in &recipients {
            let original = field(block, "original-recipient").and_then(typed_address);
            let recipient = field(block, "final-recipient")
                .and_then(typed_address)
                .or_else(|| original.clone())
                .or_else(|| self.failed_recipients());
            let diagnostic = field(block, "diagnostic-code").unwrap_or_default();
            let code = dsn_status(field(block, "status"), diagnostic);
            let action = field(block, "action").unwrap_or_default().to_ascii_lowercase();
            let status = code.as_ref().map(StatusCode::text).unwrap_or_default();
            let failed = match action.as_str() {
                "failed" => true,
                "delayed" => {
                    first_other.get_or_insert(Reading::ignored("delay", recipient, status));
                    continue;
                }
                "delivered" | "relayed" | "expanded" => {
                    first_other.get_or_insert(Reading::ignored("delivery receipt", recipient, status));
                    continue;
                }
                _ => code.as_ref().is_some_and(|c| c.class != 2),
            };
            if !failed {
                continue;
            }
            let words = diagnostic.to_lowercase();
            let kind = match (&code, reply_code(diagnostic)) {
                (Some(code), _) => failure_kind(code, &words),
                _ if holds_any(&words, RELAY_PHRASES) => Kind::Ignored,
                _ if holds_any(&words, FULL_PHRASES) => Kind::Soft,
                (None, Some(4)) => Kind::Soft,
                (None, _) => Kind::Hard,
            };
            return Reading {
                original: original.filter(|original| Some(original) != recipient.as_ref()),
                ..failure(kind, "DSN", recipient, code.as_ref())
            };
        }
        first_other.unwrap_or_else(|| {
            // A report part with no recipient block: its words may still say.
            self.text_bounce()
                .unwrap_or_else(|| Reading::ignored("DSN without a failed recipient", None, String::new()))
        })
    }

    /// Amazon SES's notifications (SNS mailed as JSON): bounces and complaints.
    fn provider_notification(&self) -> Option<Reading> {
        // The first JSON value from the first `{`: what follows it (SNS's
        // footer, a signature) is not read.
        let start = self.text.find('{')?;
        let json: serde_json::Value = serde_json::Deserializer::from_str(&self.text[start..])
            .into_iter()
            .next()?
            .ok()?;
        let json = match json.get("Message").and_then(serde_json::Value::as_str) {
            Some(inner) => serde_json::from_str(inner).ok()?,
            None => json,
        };
        let kind = json
            .get("notificationType")
            .or_else(|| json.get("eventType"))?
            .as_str()?
            .to_ascii_lowercase();
        let first = |list: &str, outer: &str| json.get(outer)?.get(list)?.get(0).cloned();
        let address = |entry: &serde_json::Value| {
            entry
                .get("emailAddress")
                .and_then(serde_json::Value::as_str)
                .and_then(|a| addresses(a).into_iter().next())
        };
        match kind.as_str() {
            "bounce" => {
                let entry = first("bouncedRecipients", "bounce")?;
                let code = entry
                    .get("status")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|s| status_codes(s).into_iter().next());
                let words = entry
                    .get("diagnosticCode")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                let mut reading = match json.get("bounce")?.get("bounceType")?.as_str()? {
                    "Permanent" => {
                        let kind = code
                            .as_ref()
                            .map_or(Kind::Hard, |code| failure_kind(code, &words));
                        failure(kind, "SES notification", address(&entry), code.as_ref())
                    }
                    "Transient" => {
                        Reading::new(Kind::Soft, "SES notification", address(&entry), code.as_ref())
                    }
                    _ => Reading::new(Kind::Ignored, "SES notification", address(&entry), code.as_ref()),
                };
                if reading.kind == Kind::Ignored && reading.why == "SES notification" {
                    reading.why = "SES notification, undetermined";
                }
                Some(reading)
            }
            "complaint" => {
                let entry = first("complainedRecipients", "complaint")?;
                let not_spam = json
                    .get("complaint")?
                    .get("complaintFeedbackType")
                    .and_then(serde_json::Value::as_str)
                    == Some("not-spam");
                let kind = if not_spam { Kind::Ignored } else { Kind::Complaint };
                Some(Reading::new(kind, "SES notification", address(&entry), None))
            }
            "delivery" => Some(Reading::ignored("delivery receipt", None, String::new())),
            _ => None,
        }
    }

    /// An out-of-office or other auto-reply: never a bounce. A mail
    /// system's own mail is left to [`Mail::text_bounce`], which needs a
    /// status code or an unmistakable phrase.
    fn auto_reply(&self) -> Option<Reading> {
        if self.sent_by_mail_system() || self.header("X-Failed-Recipients").is_some() {
            return None;
        }
        let submitted = self
            .header("Auto-Submitted")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let precedence = self.header("Precedence").unwrap_or_default().to_ascii_lowercase();
        let flagged = self.header("X-Autoreply").is_some()
            || self.header("X-Autorespond").is_some()
            || self.header("X-Autoresponder").is_some()
            || self
                .header("X-Autogenerated")
                .is_some_and(|v| v.eq_ignore_ascii_case("reply"))
            || self.header("X-Vacation").is_some()
            || submitted.starts_with("auto-replied")
            || precedence.contains("auto_reply")
            || self.subject.starts_with("auto:")
            || holds_any(&self.subject, AUTO_REPLY_SUBJECTS);
        flagged.then(|| Reading::ignored("auto-reply", None, String::new()))
    }

    fn sent_by_mail_system(&self) -> bool {
        holds_any(&self.from, DAEMON_SENDERS)
    }

    /// A mail system's report without the standard structure (Exim, qmail,
    /// Exchange's text, Lotus, Yahoo…): read only when it says it is one,
    /// and a bounce only with a status code or an unmistakable phrase.
    fn text_bounce(&self) -> Option<Reading> {
        let failed_header = self.header("X-Failed-Recipients").is_some();
        if !self.looks_like_a_report() {
            return None;
        }
        let report = self.report_text();
        let words = format!("{}\n{}", self.subject, report.to_lowercase());
        let recipient = self.failed_recipients().or_else(|| self.text_recipient(report));
        let delayed = holds_any(&words, DELAY_PHRASES)
            || holds_any(&self.subject, DELAY_SUBJECTS)
            || self.subject.starts_with("warning");
        if delayed && !failed_header && !holds_any(&words, GAVE_UP_PHRASES) {
            return Some(Reading::ignored("delay", recipient, String::new()));
        }
        let code = status_codes(report).into_iter().find(|code| code.class != 2);
        if let Some(code) = code {
            return Some(failure(
                failure_kind(&code, &words),
                "report text",
                recipient,
                Some(&code),
            ));
        }
        let known = recipient.is_some() || failed_header;
        if holds_any(&words, RELAY_PHRASES) {
            return Some(Reading::ignored(RELAY_REFUSED, recipient, String::new()));
        }
        if holds_any(&words, FULL_PHRASES) && known {
            return Some(Reading::new(Kind::Soft, "report text", recipient, None));
        }
        match reply_code(report) {
            Some(5) => return Some(Reading::new(Kind::Hard, "report text", recipient, None)),
            Some(_) => return Some(Reading::new(Kind::Soft, "report text", recipient, None)),
            None => {}
        }
        if (holds_any(&words, GONE_PHRASES) || holds_any(&words, PERMANENT_PHRASES)) && known {
            return Some(Reading::new(Kind::Hard, "report text", recipient, None));
        }
        Some(Reading::ignored(
            "a report bulletin cannot read with confidence",
            recipient,
            String::new(),
        ))
    }

    /// `X-Failed-Recipients:` (Exim), the first address.
    fn failed_recipients(&self) -> Option<String> {
        addresses(self.header("X-Failed-Recipients")?).into_iter().next()
    }

    /// The report's own words: its text up to where a returned message begins.
    fn report_text(&self) -> &str {
        let lower = self.text.to_ascii_lowercase();
        let end = RETURNED_MARKERS
            .iter()
            .filter_map(|marker| lower.find(marker))
            .min()
            .unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// The address the report's own text names on the line of the
    /// server's reply, else the first it names: not a mail system's (the
    /// report's sender, postmaster, the bounce address) nor the returned
    /// message's sender.
    fn text_recipient(&self, report: &str) -> Option<String> {
        let mut not_them = addresses(&self.from);
        // "…received from <newsletters@…>": the returned message's sender.
        not_them.extend(self.returned_header("from"));
        let theirs = |address: &String| {
            !not_them.contains(address)
                && !holds_any(address, &["mailer-daemon", "postmaster", "+"])
                && !address.starts_with("bounces")
        };
        // The address on the line with the server's reply, else one on a
        // line of a failed recipient's shape, else the first.
        let replied = report
            .lines()
            .filter(|line| !status_codes(line).is_empty() || reply_code(line).is_some())
            .flat_map(addresses)
            .find(theirs);
        replied
            .or_else(|| report.lines().filter_map(named_recipient).find(theirs))
            .or_else(|| addresses(report).into_iter().find(theirs))
    }

    /// The returned message's `To:` (a whole message or its headers).
    fn returned_recipient(&self) -> Option<String> {
        self.returned_header("to")
    }

    /// A header of the returned message, its first address.
    fn returned_header(&self, name: &str) -> Option<String> {
        for headers in self
            .parts_of("message", &["rfc822", "global"])
            .into_iter()
            .chain(self.parts_of("text", &["rfc822-headers"]))
            .chain(self.parts_of("message", &["rfc822-headers"]))
        {
            let head = headers.split("\n\n").next().unwrap_or_default();
            let head = head.split("\r\n\r\n").next().unwrap_or_default();
            let blocks = field_blocks(head);
            if let Some(address) = blocks
                .first()
                .and_then(|block| field(block, name))
                .and_then(|v| addresses(v).into_iter().next())
            {
                return Some(address);
            }
        }
        None
    }

    /// Words of the subject and the text that may be unsubscribe tokens.
    fn tokens(&self) -> Vec<String> {
        // A client that did not decode the `mailto:` link's `%20` leaves it in.
        let subject = self.message.subject().unwrap_or_default().replace("%20", " ");
        let mut tokens = token_candidates(&subject);
        tokens.extend(token_candidates(&self.text));
        tokens
    }

    /// Where the VERP address may be: the whole raw mail, decoded parts too
    /// (a bounce addressed to it, or returning headers that name it).
    fn haystack(&self) -> String {
        let mut text = String::from_utf8_lossy(self.message.raw_message()).into_owned();
        text.push('\n');
        text.push_str(&self.text);
        // Returned headers decoded too: their Message-ID and List-Unsubscribe prove whose copy it was.
        let returned = self.parts_of("message", &["rfc822", "global", "rfc822-headers"]);
        for part in returned
            .into_iter()
            .chain(self.parts_of("text", &["rfc822-headers"]))
        {
            text.push('\n');
            text.push_str(&part);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::assert_linear;
    use super::*;

    const REPORT: &str = "From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
        --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n";

    #[test]
    fn a_dsn_decides_by_its_action_and_status() {
        let dsn = |fields: &str| classify(format!("{REPORT}{fields}\r\n--b--\r\n").as_bytes());
        let hard = dsn("Final-Recipient: rfc822; A@Example.eu\r\nAction: failed\r\nStatus: 5.1.1");
        assert_eq!(
            (hard.kind, hard.recipient.as_deref(), hard.status.as_deref()),
            (Kind::Hard, Some("a@example.eu"), Some("5.1.1"))
        );
        assert_eq!(
            dsn("Final-Recipient: rfc822; a@b.eu\r\nAction: failed\r\nStatus: 5.2.2").kind,
            Kind::Soft
        );
        assert_eq!(
            dsn("Final-Recipient: rfc822; a@b.eu\r\nAction: failed\r\nStatus: 4.4.7").kind,
            Kind::Soft
        );
        let forwarded = dsn(
            "Original-Recipient: rfc822;jane@example.eu\r\nFinal-Recipient: rfc822; jane.doe@internal.example\r\n\
             Action: failed\r\nStatus: 5.1.1",
        );
        assert_eq!(
            (forwarded.recipient.as_deref(), forwarded.original.as_deref()),
            (Some("jane.doe@internal.example"), Some("jane@example.eu")),
            "the address that failed is reported, the one written to matched first"
        );
        let generic = dsn(
            "Final-Recipient: rfc822; a@b.eu\r\nAction: failed\r\nStatus: 5.0.0\r\n\
             Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
        );
        assert_eq!(
            (generic.kind, generic.status.as_deref()),
            (Kind::Soft, Some("5.2.2"))
        );
        let full = dsn(
            "Final-Recipient: rfc822; a@b.eu\r\nAction: failed\r\nStatus: 5.0.0\r\n\
             Diagnostic-Code: smtp; 552 Mailbox full",
        );
        assert_eq!((full.kind, full.status.as_deref()), (Kind::Soft, Some("5.0.0")));
        let delayed = dsn("Final-Recipient: rfc822; a@b.eu\r\nAction: delayed\r\nStatus: 4.4.1");
        assert_eq!((delayed.kind, delayed.why), (Kind::Ignored, "delay"));
        let relayed = dsn("Final-Recipient: rfc822; a@b.eu\r\nAction: relayed\r\nStatus: 2.0.0");
        assert_eq!((relayed.kind, relayed.why), (Kind::Ignored, "delivery receipt"));
        let no_status =
            dsn("Final-Recipient: rfc822; a@b.eu\r\nAction: failed\r\nDiagnostic-Code: smtp; 550 unknown");
        assert_eq!((no_status.kind, no_status.status), (Kind::Hard, None));
    }

    #[test]
    fn a_mailto_unsubscribe_offers_its_token_and_a_plain_mail_nothing() {
        let mail =
            classify(b"From: a@b.eu\r\nSubject: unsubscribe%20AbCdEfGhIjKlMnOpQrStUv_-12\r\n\r\nhi\r\n");
        assert_eq!(mail.kind, Kind::Ignored);
        assert_eq!(mail.tokens, ["AbCdEfGhIjKlMnOpQrStUv_-12"]);
        assert!(
            classify(b"From: a@b.eu\r\nSubject: hello\r\n\r\nhi there\r\n")
                .tokens
                .is_empty()
        );
    }

    /// Hostile mails of about `size` bytes from a mail system, one per
    /// shape a scan could trip on: what the audit sent (`x 550 ` repeated)
    /// and the shapes of every other scan.
    fn hostile(size: usize) -> Vec<(&'static str, Vec<u8>)> {
        let repeat = |unit: &str| unit.repeat(size / unit.len());
        let mail = |ctype: &str, header: String, body: String| {
            format!(
                "From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\
                 Content-Type: {ctype}\r\n{header}\r\n{body}"
            )
            .into_bytes()
        };
        let plain = |body: String| mail("text/plain", String::new(), body);
        let report = |fields: String| {
            mail(
                "multipart/report; report-type=delivery-status; boundary=b",
                String::new(),
                format!(
                    "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n{fields}--b--\r\n"
                ),
            )
        };
        let nesting: String = (0..size / 60)
            .map(|i| {
                format!(
                    "--b{i}\r\nContent-Type: multipart/mixed; boundary=b{}\r\n\r\n",
                    i + 1
                )
            })
            .collect();
        vec![
            ("x 550", plain(repeat("x 550 "))),
            ("said: 550", plain(repeat("said: 550 x "))),
            (
                "550 and spaces",
                plain(repeat("550                              ")),
            ),
            ("status codes", plain(repeat("x 5.1.1 "))),
            ("dotted digits", plain(repeat("5.5."))),
            ("one long number", plain(format!("5.1.{}", repeat("5")))),
            ("<a@b.cd>", plain(repeat("<a@b.cd> "))),
            (
                "distinct addresses",
                plain((0..size / 18).map(|i| format!("u{i}@h{i}.example ")).collect()),
            ),
            ("@ flood", plain(repeat("@"))),
            ("no spaces", plain(repeat("a"))),
            (
                "html",
                mail("text/html", String::new(), repeat("<p>550 <a@b.cd></p>")),
            ),
            ("open JSON", plain(format!("{{{}", repeat("\"a\":{")))),
            (
                "subject",
                mail(
                    "text/plain",
                    format!("Subject: {}\r\n", repeat("x 550 ")),
                    String::new(),
                ),
            ),
            (
                "huge header",
                mail(
                    "text/plain",
                    format!("X-Failed-Recipients: {}\r\n", repeat("a@b.cd, ")),
                    "550 5.1.1\r\n".into(),
                ),
            ),
            (
                "many parts",
                mail(
                    "multipart/mixed; boundary=b",
                    String::new(),
                    repeat("--b\r\nContent-Type: text/plain\r\n\r\nx 550 <a@b.cd>\r\n"),
                ),
            ),
            (
                "deep nesting",
                mail("multipart/mixed; boundary=b0", String::new(), nesting),
            ),
            (
                "Final-Recipient blocks",
                report(repeat(
                    "Final-Recipient: rfc822; a@b.cd\r\nAction: delayed\r\n\r\n",
                )),
            ),
            (
                "Final-Recipient fields",
                report(repeat("Final-Recipient: rfc822; a@b.cd\r\n")),
            ),
            (
                "folded Diagnostic-Code",
                report(format!(
                    "Final-Recipient: rfc822; a@b.cd\r\nAction: failed\r\nDiagnostic-Code: smtp; x\r\n{}",
                    repeat(" 550 x 550\r\n")
                )),
            ),
        ]
    }

    /// Every shape costs time linear in its bytes (see [`assert_linear`]),
    /// at 100 and 400 KB, and the audit's at its sizes, 0.4 and 1.6 MB; and
    /// its 1.6 MB of `x 550 `, 30 s before, is read in under 2 s, even by a
    /// debug build.
    #[test]
    fn a_hostile_mail_costs_time_linear_in_its_bytes() {
        let read = |mail: &[u8]| drop(std::hint::black_box(classify(mail)));
        for ((shape, small), (_, large)) in hostile(100_000).iter().zip(&hostile(400_000)) {
            assert_linear(shape, small.as_slice(), large.as_slice(), read);
        }
        let (shape, audit) = hostile(1_600_000).swap_remove(0);
        let (_, quarter) = hostile(400_000).swap_remove(0);
        assert_linear(shape, quarter.as_slice(), audit.as_slice(), read);
        let start = std::time::Instant::now();
        read(&audit);
        let took = start.elapsed();
        assert!(
            took < std::time::Duration::from_secs(2),
            "1.6 MB of `x 550 `: {took:?}"
        );
    }

    proptest::proptest! {
        /// Whatever arrives, a reading, never a panic: bytes, and report
        /// structure with any fields after it.
        #[test]
        fn any_mail_is_read_without_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1500),
            fields in "[ -~\r\n\t\u{80}-\u{3000}]{0,400}",
        ) {
            let _ = classify(&bytes);
            let _ = classify(format!("{REPORT}{fields}").as_bytes());
            let _ = classify(format!("From: MAILER-DAEMON@x\r\nSubject: failure notice\r\n\r\n{fields}").as_bytes());
        }
    }
}
