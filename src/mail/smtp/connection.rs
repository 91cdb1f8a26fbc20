//! The connection: TCP with its timeouts, TLS from the start or after
//! STARTTLS (rustls, the Mozilla roots and `SSL_CERT_FILE`'s), the greeting.

use std::io::{BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::SmtpClient;
use super::error::{Failure, SetupError, Stage, What};
use super::extension::Offers;
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

/// Certificates are checked against the Mozilla roots bundled in
/// webpki-roots, and those in the PEM file `SSL_CERT_FILE` names (the
/// OpenSSL convention), for a relay with a private CA.
pub(super) fn tls_config() -> Result<Arc<ClientConfig>, SetupError> {
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
