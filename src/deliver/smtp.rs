//! SMTP sessions over lettre's `SmtpConnection`, one per worker, kept open
//! across messages.
//!
//! Why not lettre's `SmtpTransport`: it writes a message's body and its
//! closing `<CRLF>.<CRLF>` in two writes on a socket with Nagle's algorithm
//! on, so every message waits for the server's delayed ACK (40 ms on Linux):
//! about 22 messages a second per connection (lettre PR #1159, not yet
//! released). Here the dot-stuffed body and its terminator leave in one
//! write, and a pooled connection is not probed with NOOP before each use.
//! Connecting, EHLO, STARTTLS and AUTH are lettre's.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Quit, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::{Security, Smtp};

/// How to reach and log in to the SMTP server.
pub struct SmtpClient {
    server: (String, u16),
    timeout: Duration,
    tls: Option<TlsParameters>,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

/// One worker's connection, opened on first use and after any error.
#[derive(Default)]
pub struct Session(Option<Connection>);

/// An open connection, and whether its server takes pipelined commands.
struct Connection {
    conn: SmtpConnection,
    pipelining: bool,
}

/// A failed try: whether another try may help, and the server's words.
pub struct Failure {
    pub transient: bool,
    pub reason: String,
}

impl SmtpClient {
    pub fn new(settings: &Smtp) -> Result<SmtpClient, String> {
        let tls = match settings.security {
            Security::None => None,
            Security::Starttls | Security::Tls => {
                Some(TlsParameters::new(settings.host.clone()).map_err(|e| format!("mail.smtp: {e}"))?)
            }
        };
        let env = |name: &Option<String>| {
            name.as_ref()
                .map(|n| std::env::var(n).map_err(|_| format!("set the environment variable {n}")))
        };
        let credentials = match (env(&settings.username_env), env(&settings.password_env)) {
            (Some(user), Some(password)) => Some(Credentials::new(user?, password?)),
            (None, None) => None,
            _ => return Err("mail.smtp: set both username_env and password_env, or neither".into()),
        };
        Ok(SmtpClient {
            server: (settings.host.clone(), settings.port),
            timeout: Duration::from_secs(settings.timeout_secs),
            tls,
            security: settings.security,
            credentials,
            hello: ClientId::Domain("localhost".into()),
        })
    }

    fn connect(&self) -> Result<Connection, lettre::transport::smtp::Error> {
        let server = (self.server.0.as_str(), self.server.1);
        let direct_tls = if self.security == Security::Tls {
            self.tls.as_ref()
        } else {
            None
        };
        let mut conn = SmtpConnection::connect(server, Some(self.timeout), &self.hello, direct_tls, None)?;
        if self.security == Security::Starttls
            && let Some(tls) = &self.tls
        {
            conn.starttls(tls, &self.hello)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)?;
        }
        // lettre keeps no record of PIPELINING (RFC 2920), so ask again: one
        // EHLO per connection saves two round trips per message.
        let pipelining = conn
            .command(Ehlo::new(self.hello.clone()))?
            .message()
            .any(|line| line.eq_ignore_ascii_case("PIPELINING"));
        Ok(Connection { conn, pipelining })
    }

    /// One SMTP transaction on the session's connection, opening it if need
    /// be. Any error closes the connection; the next try opens a new one.
    pub fn send(
        &self,
        session: &mut Session,
        from: &Address,
        to: &Address,
        message: &[u8],
    ) -> Result<(), Failure> {
        let result = self.transaction(session, from, to, message);
        if result.is_err()
            && let Some(mut connection) = session.0.take()
        {
            connection.conn.abort();
        }
        result.map_err(|e| Failure {
            transient: !e.is_permanent(),
            reason: e.to_string().replace('\n', " "),
        })
    }

    fn transaction(
        &self,
        session: &mut Session,
        from: &Address,
        to: &Address,
        message: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        let Connection { conn, pipelining } = match &mut session.0 {
            Some(connection) => connection,
            empty => empty.insert(self.connect()?),
        };
        let mut parameters = Vec::new();
        if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(Some(from.clone()), parameters);
        let rcpt = Rcpt::new(to.clone(), Vec::new());
        if *pipelining {
            // MAIL, RCPT and DATA in one write, then their three replies in
            // order; any error closes the connection, so nothing is left unread.
            conn.command(format!("{mail}{rcpt}{Data}"))?;
            conn.read_response()?;
            conn.read_response()?;
        } else {
            conn.command(mail)?;
            conn.command(rcpt)?;
            conn.command(Data)?;
        }
        conn.command(Body(message))?;
        Ok(())
    }

    /// Says goodbye politely; the server may already be gone.
    pub fn close(&self, session: Session) {
        if let Some(mut connection) = session.0 {
            let _ = connection.conn.command(Quit);
        }
    }
}

/// A message as sent after DATA: lines starting with "." doubled, then the
/// terminating `<CRLF>.<CRLF>`, all written at once.
struct Body<'a>(&'a [u8]);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part is encoded, so the message is ASCII and borrowed here, not copied.
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
    use super::Body;

    #[test]
    fn dot_stuffs_and_terminates() {
        assert_eq!(Body(b"a\r\n.b\r\nc").to_string(), "a\r\n..b\r\nc\r\n.\r\n");
        assert_eq!(Body(b".start\r\n").to_string(), "..start\r\n.\r\n");
        assert_eq!(Body(b"a\r\n.\r\n..\r\n").to_string(), "a\r\n..\r\n...\r\n.\r\n");
    }
}
