//! SMTP sessions, one per worker, kept open across messages: a small client
//! of bulletin's own over a TCP socket, with rustls for TLS and STARTTLS,
//! and AUTH PLAIN or LOGIN.
//!
//! Why not lettre's client: `SmtpConnection::connect` always says EHLO and
//! keeps only what its `ServerInfo` parses, which has no PIPELINING, and its
//! socket type is private, so learning PIPELINING took a second EHLO, which
//! strict servers refuse with 503 (every address was then recorded as a
//! hard bounce). Its errors do not say which command failed, and that
//! decides whether a reply is a recipient's bounce or the server's problem.
//! And its `SmtpTransport` writes a body and its final `<CRLF>.<CRLF>` in two
//! writes with Nagle's algorithm on: 40 ms per message. Here there is one
//! EHLO (one more after STARTTLS, as RFC 3207 requires), every reply is tied
//! to its command ([`Failure`]), MAIL, RCPT and DATA are pipelined when the
//! server offers it, and a dot-stuffed body leaves in one write.

use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::Address;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::log::LogError;
use crate::config::{Security, Smtp};

/// How to reach and log in to the SMTP server.
pub(crate) struct SmtpClient {
    host: String,
    port: u16,
    timeout: Duration,
    security: Security,
    tls: Option<Arc<ClientConfig>>,
    credentials: Option<Credentials>,
    hello: String,
}

struct Credentials {
    user: String,
    password: String,
}

/// One worker's connection, opened on first use and after a session failure.
#[derive(Default)]
pub(crate) struct Session(Option<Connection>);

/// An open, greeted (and logged-in) connection and what its server offers.
struct Connection {
    stream: BufReader<Stream>,
    offers: Offers,
}

/// The extensions learnt from the one EHLO that matters (RFC 5321 4.1.1.1).
#[derive(Debug, Default, PartialEq, Eq)]
struct Offers {
    pipelining: bool,
    smtputf8: bool,
    eight_bit_mime: bool,
    starttls: bool,
    /// AUTH mechanisms, upper case.
    auth: Vec<String>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// A reply: its code and its text, lines joined with spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) text: String,
}

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
    fn closed_at_mail_from(&self) -> bool {
        self.stage == Stage::MailFrom
            && match &self.what {
                What::Io(_) => true,
                What::Reply { reply, .. } => reply.code == 421,
                What::Tls(_) | What::Other(_) => false,
            }
    }
}

impl Reply {
    /// A 4xx reply: try again later.
    pub(crate) fn transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    fn positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// On one line, with no control character from the server reaching a terminal.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{} {text}", self.code)
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

/// A reply line longer than this is no SMTP (RFC 5321 allows 512).
const MAX_LINE: u64 = 2000;
/// Lines in one reply, at most (an EHLO reply has one per extension).
const MAX_LINES: usize = 100;

impl SmtpClient {
    pub(crate) fn new(settings: &Smtp) -> Result<SmtpClient, SetupError> {
        let tls = match settings.security {
            Security::None => None,
            Security::Starttls | Security::Tls => Some(tls_config()?),
        };
        let env = |name: &Option<String>| {
            name.as_ref()
                .map(|n| std::env::var(n).map_err(|_| SetupError::Env(n.clone())))
        };
        let credentials = match (env(&settings.username_env), env(&settings.password_env)) {
            (Some(user), Some(password)) => Some(Credentials {
                user: user?,
                password: password?,
            }),
            (None, None) => None,
            _ => return Err(SetupError::HalfCredentials),
        };
        Ok(SmtpClient {
            host: settings.host.clone(),
            port: settings.port,
            timeout: Duration::from_secs(settings.timeout_secs.max(1)),
            tls,
            security: settings.security,
            credentials,
            hello: "localhost".into(),
        })
    }

    fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A network error in words: a timeout says which setting it is.
    fn io(&self, stage: Stage, error: &std::io::Error) -> Failure {
        self.fail(stage, What::Io(self.io_reason(error)))
    }

    fn io_reason(&self, error: &std::io::Error) -> String {
        match error.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("no reply within timeout_secs = {}", self.timeout.as_secs())
            }
            _ => error.to_string(),
        }
    }

    fn fail(&self, stage: Stage, what: What) -> Failure {
        Failure::Session(SessionError {
            server: self.server(),
            stage,
            what,
        })
    }

    /// The server's error reply at a step of the session.
    fn refused(&self, stage: Stage, reply: Reply) -> Failure {
        let hint = match (stage, reply.code) {
            (Stage::MailFrom | Stage::RcptTo, 530) if self.credentials.is_none() => {
                Some("the server requires AUTH: set mail.smtp.username_env and password_env".to_string())
            }
            (Stage::Auth, _) => Some(
                "check the user name and password the config's username_env and password_env name".into(),
            ),
            _ => None,
        };
        self.fail(stage, What::Reply { reply, hint })
    }

    /// Connects, reads the greeting, says EHLO once, STARTTLS (and EHLO
    /// again, as RFC 3207 requires) and AUTH as configured.
    fn connect(&self) -> Result<Connection, Failure> {
        let tcp = self.tcp().map_err(|e| self.io(Stage::Connect, &e))?;
        let stream = match self.security {
            Security::Tls => self.handshake(tcp, Stage::Tls)?,
            Security::None | Security::Starttls => Stream::Plain(tcp),
        };
        let mut connection = Connection {
            stream: BufReader::new(stream),
            offers: Offers::default(),
        };
        let greeting = connection
            .read_reply()
            .map_err(|e| self.lost(Stage::Greeting, e))?;
        if greeting.code != 220 {
            return Err(self.refused(Stage::Greeting, greeting));
        }
        self.ehlo(&mut connection)?;
        if self.security == Security::Starttls {
            connection = self.starttls(connection)?;
            self.ehlo(&mut connection)?;
        }
        if let Some(credentials) = &self.credentials {
            self.auth(&mut connection, credentials)?;
        }
        Ok(connection)
    }

    fn tcp(&self) -> std::io::Result<TcpStream> {
        let mut last = None;
        for address in (self.host.as_str(), self.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout))?;
                    tcp.set_write_timeout(Some(self.timeout))?;
                    // Every write is a whole command group or message.
                    tcp.set_nodelay(true)?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("the host name resolves to no address")))
    }

    /// A network error or a reply that is no SMTP, at `stage`.
    fn lost(&self, stage: Stage, error: ReadError) -> Failure {
        match error {
            ReadError::Io(e) => self.io(stage, &e),
            ReadError::NotSmtp(e) => self.fail(stage, What::Other(e)),
        }
    }

    /// One command and its reply; an error reply is the session's failure.
    fn command(&self, connection: &mut Connection, stage: Stage, command: &str) -> Result<Reply, Failure> {
        connection
            .write(command.as_bytes())
            .map_err(|e| self.io(stage, &e))?;
        let reply = connection.read_reply().map_err(|e| self.lost(stage, e))?;
        if reply.positive() {
            Ok(reply)
        } else {
            Err(self.refused(stage, reply))
        }
    }

    fn ehlo(&self, connection: &mut Connection) -> Result<(), Failure> {
        let reply = self.command(connection, Stage::Ehlo, &format!("EHLO {}\r\n", self.hello))?;
        connection.offers = Offers::from_ehlo(&reply.text);
        Ok(())
    }

    fn starttls(&self, mut connection: Connection) -> Result<Connection, Failure> {
        if !connection.offers.starttls {
            return Err(self.fail(
                Stage::Starttls,
                What::Other(
                    "the server does not offer STARTTLS, which security = \"starttls\" requires".into(),
                ),
            ));
        }
        self.command(&mut connection, Stage::Starttls, "STARTTLS\r\n")?;
        if !connection.stream.buffer().is_empty() {
            // Bytes sent before the handshake would be read as if encrypted (CVE-2011-0411).
            return Err(self.fail(
                Stage::Starttls,
                What::Other("the server sent data before the TLS handshake".into()),
            ));
        }
        let Stream::Plain(tcp) = connection.stream.into_inner() else {
            return Err(self.fail(Stage::Starttls, What::Other("already encrypted".into())));
        };
        Ok(Connection {
            stream: BufReader::new(self.handshake(tcp, Stage::Starttls)?),
            offers: Offers::default(),
        })
    }

    /// TLS over `tcp`, the handshake done here so that its failure is named as such.
    fn handshake(&self, mut tcp: TcpStream, stage: Stage) -> Result<Stream, Failure> {
        let tls_failed = |reason: String| self.fail(stage, What::Tls(reason));
        let config = self
            .tls
            .clone()
            .ok_or_else(|| tls_failed("no TLS configuration".into()))?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| tls_failed(format!("{}: not a valid server name ({e})", self.host)))?;
        let mut tls = ClientConnection::new(config, name).map_err(|e| tls_failed(e.to_string()))?;
        while tls.is_handshaking() {
            tls.complete_io(&mut tcp).map_err(|e| tls_failed(e.to_string()))?;
        }
        Ok(Stream::Tls(Box::new(StreamOwned::new(tls, tcp))))
    }

    /// AUTH PLAIN, or LOGIN when the server offers only that.
    fn auth(&self, connection: &mut Connection, credentials: &Credentials) -> Result<(), Failure> {
        let offered = |name: &str| connection.offers.auth.iter().any(|m| m == name);
        if offered("PLAIN") {
            let token = BASE64.encode(format!("\0{}\0{}", credentials.user, credentials.password));
            self.command(connection, Stage::Auth, &format!("AUTH PLAIN {token}\r\n"))?;
        } else if offered("LOGIN") {
            for line in [
                "AUTH LOGIN".to_string(),
                BASE64.encode(&credentials.user),
                BASE64.encode(&credentials.password),
            ] {
                self.command(connection, Stage::Auth, &format!("{line}\r\n"))?;
            }
        } else {
            return Err(self.fail(
                Stage::Auth,
                What::Other(format!(
                    "credentials are configured, but the server offers no AUTH PLAIN or LOGIN (it offers: {})",
                    if connection.offers.auth.is_empty() {
                        "no AUTH at all".to_string()
                    } else {
                        connection.offers.auth.join(" ")
                    }
                )),
            ));
        }
        Ok(())
    }

    /// One SMTP transaction on the session's connection, opening it if
    /// need be. `handing_over` runs just before the message itself goes out
    /// (the delivery log's `sending` row). A session failure closes the
    /// connection; the next try opens a new one.
    pub(crate) fn send(
        &self,
        session: &mut Session,
        from: &Address,
        to: &Address,
        message: &[u8],
        handing_over: &mut dyn FnMut() -> Result<(), LogError>,
    ) -> Result<(), Failure> {
        let reused = session.0.is_some();
        let mut result = self.transaction(session, from, to, message, handing_over);
        // A kept connection the server closed meanwhile: a new one at once.
        if reused && matches!(&result, Err(Failure::Session(e)) if e.closed_at_mail_from()) {
            session.0 = None;
            result = self.transaction(session, from, to, message, handing_over);
        }
        match &result {
            Err(Failure::Recipient { .. }) => {
                // The transaction failed, the connection did not: reset it for the next.
                if let Some(connection) = &mut session.0
                    && self.command(connection, Stage::MailFrom, "RSET\r\n").is_err()
                {
                    session.0 = None;
                }
            }
            Err(Failure::Session(_) | Failure::Unknown(_) | Failure::Log(_)) => session.0 = None,
            Ok(()) | Err(Failure::Unsendable(_) | Failure::File { .. } | Failure::NoAddress { .. }) => {}
        }
        result
    }

    fn transaction(
        &self,
        session: &mut Session,
        from: &Address,
        to: &Address,
        message: &[u8],
        handing_over: &mut dyn FnMut() -> Result<(), LogError>,
    ) -> Result<(), Failure> {
        let connection = match &mut session.0 {
            Some(connection) => connection,
            empty => empty.insert(self.connect()?),
        };
        let international = !from.user().is_ascii() || !to.user().is_ascii();
        if international && !connection.offers.smtputf8 {
            return Err(Failure::Unsendable(format!(
                "a non-ASCII local part, and {} does not offer SMTPUTF8: not sent, not counted as a bounce",
                self.server()
            )));
        }
        let mut parameters = String::new();
        if !message.is_ascii() && connection.offers.eight_bit_mime {
            parameters.push_str(" BODY=8BITMIME");
        }
        if international {
            parameters.push_str(" SMTPUTF8");
        }
        let mail = format!("MAIL FROM:<{from}>{parameters}\r\n");
        let rcpt = format!("RCPT TO:<{to}>\r\n");
        let replies = if connection.offers.pipelining {
            // MAIL, RCPT and DATA in one write, then their three replies in order.
            self.pipelined(connection, [&mail, &rcpt, "DATA\r\n"])?
        } else {
            self.one_by_one(connection, [&mail, &rcpt, "DATA\r\n"])?
        };
        self.check_envelope(&replies)?;
        handing_over().map_err(Failure::Log)?;
        let body = Body(message).to_string();
        let handed = connection
            .write(body.as_bytes())
            .map_err(|e| self.io_reason(&e))
            .and_then(|()| {
                connection.read_reply().map_err(|e| match e {
                    ReadError::Io(e) => self.io_reason(&e),
                    other => other.to_string(),
                })
            });
        match handed {
            Ok(reply) if reply.positive() => Ok(()),
            Ok(reply) if reply.code == 421 => Err(self.refused(Stage::Message, reply)),
            Ok(reply) => Err(Failure::Recipient {
                stage: Stage::Message,
                reply,
            }),
            Err(reason) => Err(Failure::Unknown(format!(
                "{}: the connection broke after the message was handed over ({reason}); \
                 the server may have it",
                self.server()
            ))),
        }
    }

    fn pipelined(&self, connection: &mut Connection, commands: [&str; 3]) -> Result<Vec<Reply>, Failure> {
        connection
            .write(commands.concat().as_bytes())
            .map_err(|e| self.io(Stage::MailFrom, &e))?;
        let mut replies = Vec::with_capacity(3);
        for stage in [Stage::MailFrom, Stage::RcptTo, Stage::Data] {
            match connection.read_reply() {
                Ok(reply) => replies.push(reply),
                // The earlier replies tell more than the broken read.
                Err(e) if !replies.is_empty() => {
                    self.check_envelope(&replies)?;
                    return Err(self.lost(stage, e));
                }
                Err(e) => return Err(self.lost(stage, e)),
            }
        }
        Ok(replies)
    }

    /// MAIL, RCPT and DATA, each sent once the previous one was accepted.
    fn one_by_one(&self, connection: &mut Connection, commands: [&str; 3]) -> Result<Vec<Reply>, Failure> {
        let mut replies = Vec::with_capacity(3);
        for (command, stage) in commands.iter().zip([Stage::MailFrom, Stage::RcptTo, Stage::Data]) {
            connection
                .write(command.as_bytes())
                .map_err(|e| self.io(stage, &e))?;
            let reply = connection.read_reply().map_err(|e| self.lost(stage, e))?;
            let positive = reply.positive();
            replies.push(reply);
            if !positive {
                self.check_envelope(&replies)?;
            }
        }
        Ok(replies)
    }

    /// The first error among the replies to MAIL, RCPT and DATA, as what it
    /// is: MAIL FROM, a 421, a bad sequence or an AUTH demand are the
    /// session's; RCPT and DATA otherwise the recipient's.
    fn check_envelope(&self, replies: &[Reply]) -> Result<(), Failure> {
        let stages = [Stage::MailFrom, Stage::RcptTo, Stage::Data];
        let Some((stage, reply)) = stages
            .into_iter()
            .zip(replies)
            .find(|(stage, reply)| match stage {
                Stage::Data => reply.code != 354,
                _ => !reply.positive(),
            })
        else {
            return Ok(());
        };
        let session_level = match stage {
            Stage::MailFrom => true,
            Stage::RcptTo => matches!(reply.code, 421 | 503 | 530),
            _ => matches!(reply.code, 421 | 500 | 502 | 503 | 504 | 530) || (200..400).contains(&reply.code),
        };
        if session_level {
            Err(self.refused(stage, reply.clone()))
        } else {
            Err(Failure::Recipient {
                stage,
                reply: reply.clone(),
            })
        }
    }

    /// Opens a session (greeting, EHLO, STARTTLS and AUTH as configured)
    /// and closes it: whether a send could start now.
    pub(crate) fn check(&self) -> Result<(), Failure> {
        let mut connection = self.connect()?;
        let _ = connection.write(b"QUIT\r\n");
        let _ = connection.read_reply();
        Ok(())
    }

    /// Says goodbye politely; the server may already be gone.
    pub(crate) fn close(&self, session: Session) {
        if let Some(mut connection) = session.0 {
            let _ = connection.write(b"QUIT\r\n");
            let _ = connection.read_reply();
        }
    }
}

/// Certificates are checked against the Mozilla roots bundled in
/// webpki-roots, and those in the PEM file `SSL_CERT_FILE` names (the
/// OpenSSL convention), for a relay with a private CA.
fn tls_config() -> Result<Arc<ClientConfig>, SetupError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        let path = PathBuf::from(path);
        let pem = |source| SetupError::CertFile {
            path: path.clone(),
            source,
        };
        let mut added = 0;
        for certificate in CertificateDer::pem_file_iter(&path).map_err(pem)? {
            roots
                .add(certificate.map_err(pem)?)
                .map_err(|source| SetupError::Certificate {
                    path: path.clone(),
                    source,
                })?;
            added += 1;
        }
        if added == 0 {
            return Err(SetupError::NoCertificate(path));
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why a reply could not be read.
enum ReadError {
    Io(std::io::Error),
    NotSmtp(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(error) => write!(f, "{error}"),
            ReadError::NotSmtp(reason) => f.write_str(reason),
        }
    }
}

impl Connection {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// One reply, of one or more lines (`250-…` then `250 …`).
    fn read_reply(&mut self) -> Result<Reply, ReadError> {
        let mut code = None;
        let mut text: Vec<String> = Vec::new();
        let mut line = Vec::new();
        for _ in 0..MAX_LINES {
            line.clear();
            let read = (&mut self.stream)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(ReadError::Io)?;
            if read as u64 == MAX_LINE && !line.ends_with(b"\n") {
                return Err(ReadError::NotSmtp(format!(
                    "a reply line longer than {MAX_LINE} bytes"
                )));
            }
            if read == 0 {
                return Err(ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let not_smtp = || ReadError::NotSmtp(format!("not an SMTP reply: {:?}", truncate(line, 80)));
            let this: u16 = line
                .get(..3)
                .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(not_smtp)?;
            if *code.get_or_insert(this) != this {
                return Err(not_smtp());
            }
            let (last, rest) = match line.as_bytes().get(3) {
                None => (true, ""),
                Some(b' ') => (true, &line[4..]),
                Some(b'-') => (false, &line[4..]),
                Some(_) => return Err(not_smtp()),
            };
            text.push(rest.trim().to_string());
            if last {
                return Ok(Reply {
                    code: this,
                    text: text.join("\n"),
                });
            }
        }
        Err(ReadError::NotSmtp(format!(
            "a reply of more than {MAX_LINES} lines"
        )))
    }
}

fn truncate(text: &str, chars: usize) -> &str {
    text.char_indices().nth(chars).map_or(text, |(at, _)| &text[..at])
}

impl Offers {
    /// The keywords of an EHLO reply's lines after the first.
    fn from_ehlo(text: &str) -> Offers {
        let mut offers = Offers::default();
        for line in text.lines().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else { continue };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => offers.pipelining = true,
                "SMTPUTF8" => offers.smtputf8 = true,
                "8BITMIME" => offers.eight_bit_mime = true,
                "STARTTLS" => offers.starttls = true,
                "AUTH" => offers.auth.extend(words.map(str::to_ascii_uppercase)),
                _ => {}
            }
        }
        offers
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// A message as sent after DATA: lines starting with "." doubled, then the
/// terminating `<CRLF>.<CRLF>`, all written at once.
struct Body<'a>(&'a [u8]);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part is encoded, so the message is ASCII (or UTF-8 headers
        // under SMTPUTF8) and borrowed here, not copied.
        let text = match std::str::from_utf8(self.0) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(self.0),
        };
        // memchr's vectorised search: std's substring search was most of a send's work.
        let dotted = memchr::memmem::find_iter(text.as_bytes(), b"\n.").map(|at| at + 1);
        let mut written = 0;
        for start in std::iter::once(0).filter(|_| text.starts_with('.')).chain(dotted) {
            f.write_str(&text[written..start])?;
            f.write_str(".")?;
            written = start;
        }
        f.write_str(&text[written..])?;
        if !text.ends_with("\r\n") {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::{Body, Offers, Reply};

    #[test]
    fn dot_stuffs_and_terminates() {
        assert_eq!(Body(b"a\r\n.b\r\nc").to_string(), "a\r\n..b\r\nc\r\n.\r\n");
        assert_eq!(Body(b".start\r\n").to_string(), "..start\r\n.\r\n");
        assert_eq!(Body(b"a\r\n.\r\n..\r\n").to_string(), "a\r\n..\r\n...\r\n.\r\n");
    }

    #[test]
    fn replies_show_on_one_line_without_control_characters() {
        let reply = Reply {
            code: 550,
            text: "5.1.1 no such user\nsee \u{1b}[2Jhttps://example.org".into(),
        };
        assert_eq!(
            reply.to_string(),
            "550 5.1.1 no such user see  [2Jhttps://example.org"
        );
    }

    #[test]
    fn learns_the_extensions_from_one_ehlo_reply() {
        let offers = Offers::from_ehlo(
            "smtp.example\nPIPELINING\n8BITMIME\nauth plain LOGIN\nSTARTTLS\nSMTPUTF8\nSIZE 1000",
        );
        assert_eq!(
            offers,
            Offers {
                pipelining: true,
                smtputf8: true,
                eight_bit_mime: true,
                starttls: true,
                auth: vec!["PLAIN".into(), "LOGIN".into()],
            }
        );
        assert_eq!(
            Offers::from_ehlo("PIPELINING greets you"),
            Offers::default(),
            "the first line is the server's name"
        );
    }
}
