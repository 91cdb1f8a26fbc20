//! Where messages go: the SMTP server, or the file transport's `.eml`
//! files (one per message, for their owner only, named by address so an
//! erasure finds them), for an edition's send and for single messages
//! outside any edition ([`Outbox`]).

use std::path::{Path, PathBuf};

use super::log::LogError;
use super::message::Letter;
use super::smtp::{Failure, Session, SetupError, SmtpClient};
use crate::config::{Config, Mail, Transport};
use crate::domain::EditionRef;

/// Where messages go.
pub(super) enum Sender {
    /// The relays of `[[mail.relays]]` (or `[mail.smtp]` alone), in their order.
    Smtp(Vec<SmtpClient>),
    /// One `.eml` file per message in this folder.
    Files(PathBuf),
}

impl Sender {
    pub(super) fn folder(&self) -> Option<PathBuf> {
        match self {
            Sender::Files(folder) => Some(folder.clone()),
            Sender::Smtp(_) => None,
        }
    }

    /// Test copies (`test`) go to files of their own, never among the subscribers' messages.
    pub(super) fn new(
        config: &Config,
        mail: &Mail,
        edition: &EditionRef,
        test: bool,
    ) -> Result<Sender, SetupError> {
        match mail.transport {
            Transport::File => {
                let mut folder = mail_folder(config);
                if test {
                    folder.push("test");
                }
                Ok(Sender::Files(
                    folder.join(&edition.newsletter).join(edition.number.to_string()),
                ))
            }
            Transport::Smtp => Ok(Sender::Smtp(clients(mail)?)),
        }
    }

    /// How many relays there are: the file transport counts as one.
    pub(super) fn relays(&self) -> usize {
        match self {
            Sender::Smtp(clients) => clients.len(),
            Sender::Files(_) => 1,
        }
    }

    /// One try on this worker's session with relay number `relay`: `Ok`,
    /// or the failure. `handing_over` runs just before the message itself
    /// goes out.
    pub(super) fn send(
        &self,
        relay: usize,
        session: &mut Session,
        letter: &Letter,
        email: &str,
        handing_over: &mut dyn FnMut() -> Result<(), LogError>,
    ) -> Result<(), Failure> {
        match self {
            Sender::Smtp(clients) => {
                let client = &clients[relay];
                let envelope = &letter.envelope;
                let missing = |what| Failure::NoAddress {
                    email: email.to_string(),
                    what,
                };
                let from = envelope.from().ok_or_else(|| missing("sender address"))?;
                let to = envelope
                    .to()
                    .first()
                    .ok_or_else(|| missing("recipient address"))?;
                client.send(session, from, to, &letter.bytes, handing_over)
            }
            Sender::Files(folder) => {
                handing_over().map_err(Failure::Log)?;
                write_eml(folder, email, letter)
            }
        }
    }

    pub(super) fn close(&self, relay: usize, session: Session) {
        if let Sender::Smtp(clients) = self {
            clients[relay].close(session);
        }
    }
}

/// A client for each relay, in the config's order.
fn clients(mail: &Mail) -> Result<Vec<SmtpClient>, SetupError> {
    mail.relays()
        .iter()
        .map(|relay| SmtpClient::new(&relay.smtp))
        .collect()
}

/// Where single messages outside any edition go (a sign-up's
/// confirmation): the configured transport, set up once. The file
/// transport writes `<out_dir>/mail/<folder>/<address>.eml`, the latest
/// message to an address replacing the one before.
pub(crate) struct Outbox(Sender);

impl Outbox {
    pub(crate) fn new(config: &Config, mail: &Mail, folder: &str) -> Result<Outbox, SetupError> {
        Ok(Outbox(match mail.transport {
            Transport::File => Sender::Files(mail_folder(config).join(folder)),
            Transport::Smtp => Sender::Smtp(clients(mail)?),
        }))
    }

    /// One try, in a session of its own; the caller retries. A relay
    /// whose session fails passes the message to the next one. The
    /// failure's words may name the address (a file's name, the server's
    /// reply).
    pub(crate) fn send(&self, letter: &Letter, email: &str) -> Result<(), Failure> {
        let mut sent = Ok(());
        for relay in 0..self.0.relays() {
            let mut session = Session::default();
            sent = self.0.send(relay, &mut session, letter, email, &mut || Ok(()));
            self.0.close(relay, session);
            if !matches!(sent, Err(Failure::Session(_))) {
                break;
            }
        }
        sent
    }
}

/// Where the file transport writes: `<out_dir>/mail/`, a folder per
/// edition (`test/` for test copies) and one for confirmation mails.
pub(crate) fn mail_folder(config: &Config) -> PathBuf {
    config.out_dir().join("mail")
}

/// Removes every message the file transport wrote to `email` under
/// `folder`, at any depth (each edition's, the test copies', the
/// confirmation mail), a half-written one too: the file names say whose
/// they are ([`eml_name`]). Symbolic links are not followed. How many went.
pub(crate) fn remove_mail_to(folder: &Path, email: &str) -> std::io::Result<usize> {
    let name = eml_name(email);
    let mut removed = 0;
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name();
            if entry.file_type()?.is_dir() {
                folders.push(entry.path());
            } else if file_name.to_str() == Some(name.as_str())
                || file_name.to_str() == Some(format!("{name}.tmp").as_str())
            {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn write_eml(folder: &Path, email: &str, letter: &Letter) -> Result<(), Failure> {
    let failed = |doing, path: &Path| {
        let path = path.to_path_buf();
        move |source| Failure::File { doing, path, source }
    };
    crate::store::create_private_dir(folder).map_err(failed("creating", folder))?;
    let path = folder.join(eml_name(email));
    let temporary = path.with_extension("eml.tmp");
    write_private(&temporary, &with_return_path(letter))
        .and_then(|_| std::fs::rename(&temporary, &path))
        .map_err(failed("writing", &path))
}

/// The message as local delivery would store it: a `Return-Path:` line
/// with the envelope sender (the VERP address, when `bounce_address` is
/// set) before the bytes an SMTP server would get.
fn with_return_path(letter: &Letter) -> Vec<u8> {
    let from = letter
        .envelope
        .from()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut bytes = format!("Return-Path: <{from}>\r\n").into_bytes();
    bytes.extend_from_slice(&letter.bytes);
    bytes
}

/// Writes a new file only its owner may read: a message holds its
/// reader's address and personal unsubscribe link.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    crate::store::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?
        .write_all(bytes)
}

/// A file name for each address, never the same for two: lowercase ASCII
/// letters, digits, `@`, `.` and `-` as they are, every other byte as `_`
/// and two hex digits (so `a+b@`, `a/b@` and `a_b@` differ, and so do `A@`
/// and `a@` on a case-insensitive disk). A name too long for a file system
/// is cut and ends in a hash of the whole address.
fn eml_name(email: &str) -> String {
    let mut name = String::with_capacity(email.len() + 4);
    for byte in email.bytes() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'@' | b'.' | b'-' => name.push(char::from(byte)),
            other => name.push_str(&format!("_{other:02X}")),
        }
    }
    const LONGEST: usize = 200;
    if name.len() > LONGEST {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(email.as_bytes());
        name.truncate(LONGEST - 17);
        name = format!("{name}-{}", crate::hex::hex(&digest[..8]));
    }
    name + ".eml"
}

#[cfg(test)]
mod tests {
    use super::eml_name;

    #[test]
    fn eml_names_differ_for_every_address() {
        let names: std::collections::HashSet<String> = [
            "a+b@example.de",
            "a/b@example.de",
            "a_b@example.de",
            "A_b@example.de",
            "a_5Fb@example.de",
        ]
        .iter()
        .map(|email| eml_name(email))
        .collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert_eq!(eml_name("jane@example.de"), "jane@example.de.eml");
        let long = format!("{}@example.de", "ä".repeat(60));
        assert!(
            eml_name(&long).len() <= 204
                && eml_name(&long) != eml_name(&format!("{}ö@example.de", "ä".repeat(59)))
        );
    }
}
