//! What goes wrong in an SMTP session, and where: the step ([`Stage`]),
//! a message's failure ([`Failure`]: the recipient's, or the session's),
//! the client's setup ([`SetupError`]).

use std::fmt;
use std::path::PathBuf;

use super::response::Reply;
use crate::mail::log::LogError;

/// The step of a session a failure happened at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    Greeting,
    Ehlo,
    Starttls,
    Tls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    /// The reply to the message's final dot.
    Message,
}

/// Why a message was not sent on a try.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The server's reply to this recipient: RCPT, or DATA or the message
    /// in this one-recipient transaction. Only a 5xx here is a hard bounce.
    #[error("{stage}: {reply}")]
    Recipient { stage: Stage, reply: Reply },
    /// The address needs what this server lacks (SMTPUTF8): not sent, and
    /// no fault of the address.
    #[error("{0}")]
    Unsendable(String),
    /// The connection broke after the message was handed over: the server
    /// may have taken it.
    #[error("{0}")]
    Unknown(String),
    /// The session could not be opened or kept: the server's or the
    /// config's problem, never the recipient's.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The delivery log could not be written before the message went out.
    #[error(transparent)]
    Log(LogError),
    /// The file transport could not write the message's file.
    #[error("{doing} {}", path.display())]
    File {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The message built for a recipient lacks an envelope address.
    #[error("{email}: the message has no {what}")]
    NoAddress { email: String, what: &'static str },
}

/// Why the SMTP client could not be set up: the config's or the
/// environment's problem, found before any message goes out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("set the environment variable {0}")]
    Env(String),
    #[error("mail.smtp: set both username_env and password_env, or neither")]
    HalfCredentials,
    #[error("SSL_CERT_FILE={}", path.display())]
    CertFile {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("SSL_CERT_FILE={}", path.display())]
    Certificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("SSL_CERT_FILE={}: no PEM certificate in it", .0.display())]
    NoCertificate(PathBuf),
    #[error("mail.smtp: TLS")]
    Tls(#[source] rustls::Error),
}

/// A failure of the session, with the server and the step.
#[derive(Debug, thiserror::Error)]
#[error("SMTP server {server}: {stage}: {what}")]
pub(crate) struct SessionError {
    pub(crate) server: String,
    pub(crate) stage: Stage,
    pub(crate) what: What,
}

/// What went wrong in a session.
#[derive(Debug)]
pub(crate) enum What {
    /// The server answered with an error; `hint` says what to do.
    Reply { reply: Reply, hint: Option<String> },
    /// The network: refused, reset, timed out, closed.
    Io(String),
    /// The TLS handshake failed.
    Tls(String),
    /// Something the config asks for that the server does not offer, or a reply that is no SMTP.
    Other(String),
}

impl SessionError {
    /// Whether another try may help: a 4xx reply or a network error. A 5xx,
    /// TLS, or a config problem will be the same next time.
    pub(crate) fn transient(&self) -> bool {
        match &self.what {
            What::Reply { reply, .. } => reply.transient(),
            What::Io(_) => true,
            What::Tls(_) | What::Other(_) => false,
        }
    }
}

impl SessionError {
    /// The server hung up (or said 421) at MAIL FROM: what a kept
    /// connection the server closed while idle looks like.
    pub(super) fn closed_at_mail_from(&self) -> bool {
        self.stage == Stage::MailFrom
            && match &self.what {
                What::Io(_) => true,
                What::Reply { reply, .. } => reply.code == 421,
                What::Tls(_) | What::Other(_) => false,
            }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connecting",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Starttls => "STARTTLS",
            Stage::Tls => "TLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "end of message",
        })
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Reply { reply, hint: None } => write!(f, "{reply}"),
            What::Reply {
                reply,
                hint: Some(hint),
            } => write!(f, "{reply}; {hint}"),
            What::Tls(reason) => write!(f, "the TLS handshake failed: {reason}"),
            What::Io(reason) | What::Other(reason) => f.write_str(reason),
        }
    }
}
