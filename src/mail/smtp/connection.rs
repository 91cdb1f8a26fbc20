//! The connection: TCP with its timeouts, TLS from the start or after
//! STARTTLS (rustls, the Mozilla roots and `SSL_CERT_FILE`'s), the greeting
//! and EHLO, and each reply read within bounds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::client::SmtpClient;
use super::error::{Failure, Stage, What};
use super::extension::Offers;
use super::response::{MAX_LINE, MAX_LINES, ReadError, Reply, truncate};
use crate::config::Security;

/// An open, greeted (and logged-in) connection and what its server offers.
pub(super) struct Connection {
    pub(super) stream: BufReader<Stream>,
    pub(super) offers: Offers,
}

pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl SmtpClient {
    /// Connects, reads the greeting, says EHLO once, STARTTLS (and EHLO
    /// again, as RFC 3207 requires) and AUTH as configured.
    pub(super) fn connect(&self) -> Result<Connection, Failure> {
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
}

impl SmtpClient {
    pub(super) fn ehlo(&self, connection: &mut Connection) -> Result<(), Failure> {
        let reply = self.command(connection, Stage::Ehlo, &format!("EHLO {}\r\n", self.hello))?;
        connection.offers = Offers::from_ehlo(&reply.text);
        Ok(())
    }
}

impl Connection {
    /// One reply, of one or more lines (`250-…` then `250 …`).
    pub(super) fn read_reply(&mut self) -> Result<Reply, ReadError> {
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

impl Connection {
    pub(super) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
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

impl SmtpClient {
    /// One command and its reply; an error reply is the session's failure.
    pub(super) fn command(
        &self,
        connection: &mut Connection,
        stage: Stage,
        command: &str,
    ) -> Result<Reply, Failure> {
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
}
