//! The client: where the SMTP server is, how to reach it (TLS settings and
//! roots) and log in, and how a session's failures are worded. The other
//! files of `smtp/` add its steps; this one imports none of them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::error::{Failure, SessionError, SetupError, Stage, What};
use super::response::{ReadError, Reply};
use crate::config::{Security, Smtp};

/// How to reach and log in to the SMTP server.
pub(crate) struct SmtpClient {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) timeout: Duration,
    pub(super) security: Security,
    pub(super) tls: Option<Arc<ClientConfig>>,
    pub(super) credentials: Option<Credentials>,
    pub(super) hello: String,
}

pub(super) struct Credentials {
    pub(super) user: String,
    pub(super) password: String,
}

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

    pub(super) fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A network error in words: a timeout says which setting it is.
    pub(super) fn io(&self, stage: Stage, error: &std::io::Error) -> Failure {
        self.fail(stage, What::Io(self.io_reason(error)))
    }

    pub(super) fn io_reason(&self, error: &std::io::Error) -> String {
        match error.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("no reply within timeout_secs = {}", self.timeout.as_secs())
            }
            _ => error.to_string(),
        }
    }

    pub(super) fn fail(&self, stage: Stage, what: What) -> Failure {
        Failure::Session(SessionError {
            server: self.server(),
            stage,
            what,
        })
    }

    /// The server's error reply at a step of the session.
    pub(super) fn refused(&self, stage: Stage, reply: Reply) -> Failure {
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

    /// A network error or a reply that is no SMTP, at `stage`.
    pub(super) fn lost(&self, stage: Stage, error: ReadError) -> Failure {
        match error {
            ReadError::Io(e) => self.io(stage, &e),
            ReadError::NotSmtp(e) => self.fail(stage, What::Other(e)),
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
