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
//!
//! Laid out as lettre's `transport/smtp/`: `connection.rs` (TCP, TLS,
//! STARTTLS, the greeting), `extension.rs` (what EHLO offers),
//! `authentication.rs` (AUTH), `response.rs` (replies read and shown),
//! `error.rs` (stages and failures), `client.rs` (the server and how to
//! log in, and how a failure is worded); here the transactions.

mod authentication;
mod client;
mod connection;
mod error;
mod extension;
mod response;

use std::borrow::Cow;
use std::fmt;

use lettre::Address;

pub(crate) use self::client::SmtpClient;
use self::connection::Connection;
pub(crate) use self::error::{Failure, SessionError, SetupError, Stage};
use self::response::{ReadError, Reply};
use super::log::LogError;

/// One worker's connection, opened on first use and after a session failure.
#[derive(Default)]
pub(crate) struct Session(Option<Connection>);

impl SmtpClient {
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
    use super::*;

    #[test]
    fn dot_stuffs_and_terminates() {
        assert_eq!(Body(b"a\r\n.b\r\nc").to_string(), "a\r\n..b\r\nc\r\n.\r\n");
        assert_eq!(Body(b".start\r\n").to_string(), "..start\r\n.\r\n");
        assert_eq!(Body(b"a\r\n.\r\n..\r\n").to_string(), "a\r\n..\r\n...\r\n.\r\n");
    }
}
