//! The desk's accounts and sessions (issue 28), written once for the
//! `editors` commands and the desk's pages.
//!
//! Passwords are hashed with argon2id (RustCrypto's `argon2`, its default
//! parameters: 19 MiB, 2 passes). Whatever grants access is stored only as
//! a hash: a session's 256-bit id and a set-password link's token as
//! SHA-256 (they are random: nothing to guess), a password as argon2id.
//!
//! Logins are limited: [`ACCOUNT_ATTEMPTS`] attempts for one address typed
//! and [`NETWORK_ATTEMPTS`] from one client network within [`WINDOW`];
//! past either the account is locked, and the answer is the same whether
//! the account exists, the password is right, or the lock refused it, in
//! the same time: an unknown address or a locked attempt is checked
//! against a dummy hash.

use std::sync::LazyLock;

use anyhow::{Result, bail};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{Clock, open_for_writing};
use crate::audience::normalise_email;
use crate::config::Config;
use crate::domain::Role;
use crate::hex::hex;
use crate::items::clean_text;
use crate::store::{EditorRecord, SessionRecord, Store, StoreError};

/// The shortest password taken, in characters.
pub(crate) const MIN_PASSWORD: usize = 12;
/// The longest, in bytes: a form's field, not a file.
const MAX_PASSWORD: usize = 1024;
/// How long a set-password link works.
pub(crate) const LINK_VALID: Duration = Duration::hours(24);
/// A session unused this long is over.
pub(crate) const IDLE: Duration = Duration::hours(1);
/// A session is over this long after its login, used or not.
pub(crate) const ABSOLUTE: Duration = Duration::hours(12);
/// The time the login limits count attempts over.
pub(crate) const WINDOW: Duration = Duration::minutes(15);
/// Attempts for one address within [`WINDOW`] before it is locked.
pub(crate) const ACCOUNT_ATTEMPTS: u32 = 10;
/// Attempts from one client network within [`WINDOW`] before it is refused.
pub(crate) const NETWORK_ATTEMPTS: u32 = 50;
/// How long attempts are kept at all.
const KEPT: Duration = Duration::days(1);

/// A password that may be set: long enough, not absurdly long.
pub(crate) struct Password(String);

/// Why a password may not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PasswordError {
    #[error("the password is too short: at least {MIN_PASSWORD} characters")]
    TooShort,
    #[error("the password is too long: at most {MAX_PASSWORD} bytes")]
    TooLong,
}

impl Password {
    pub(crate) fn new(text: &str) -> Result<Password, PasswordError> {
        if text.len() > MAX_PASSWORD {
            Err(PasswordError::TooLong)
        } else if text.chars().count() < MIN_PASSWORD {
            Err(PasswordError::TooShort)
        } else {
            Ok(Password(text.to_string()))
        }
    }

    /// Its argon2id string, with a fresh salt.
    pub(crate) fn hash(&self) -> Result<String> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no random bytes for a salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password_with_salt(self.0.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
        Ok(hash.to_string())
    }
}

/// What every check of an unknown or locked account is run against, so it
/// takes as long as a real one.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password_with_salt(b"no account has this password", b"bulletin-dummy-salt")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// A random 256-bit secret, URL-safe: a session's id, a link's token.
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new() -> Result<Secret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes for a secret: {e}"))?;
        Ok(Secret(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the store keeps of a secret (as a cookie or a link gave it).
pub(crate) fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The token of the forms shown with the cookie `cookie`: a page elsewhere
/// can read neither, and a token is worthless without its own cookie.
pub(crate) fn form_token(cookie: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"bulletin desk: the token of a form, for the cookie ");
    digest.update(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// Whether `given` is the form token of `cookie`, compared in the same
/// time however many bytes match.
pub(crate) fn form_token_matches(cookie: &str, given: &str) -> bool {
    let expected = form_token(cookie);
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Where the desk is, for the links the commands print: `mail.unsubscribe_url`'s
/// host with `site.desk_path`.
fn desk_url(config: &Config, page: &str) -> Result<url::Url> {
    let Some(mail) = &config.mail else {
        bail!(
            "no [mail] section in the config: `bulletin serve` (which hosts the desk) needs one; \
             or give the password with --password-stdin"
        );
    };
    Ok(mail
        .unsubscribe_url
        .join(&format!("{}/{page}", config.site.desk_path))?)
}

/// A set-password link for the account, valid [`LINK_VALID`] from `now`:
/// the link, and what the store keeps of it.
fn new_link(config: &Config, now: DateTime<Utc>) -> Result<(String, String, DateTime<Utc>)> {
    let token = Secret::new()?;
    let mut url = desk_url(config, "password")?;
    url.query_pairs_mut().append_pair("t", token.as_str());
    Ok((url.to_string(), secret_hash(token.as_str()), now + LINK_VALID))
}

/// `bulletin editors add`: an account with `password`, or, without one, a
/// set-password link printed.
pub(crate) fn add_editor(
    config: &Config,
    clock: Clock,
    email: &str,
    name: &str,
    role: Role,
    password: Option<&Password>,
) -> Result<()> {
    let email = normalise_email(email)?;
    let name = clean_text(name);
    if name.trim().is_empty() {
        bail!("an editor needs a name: --name \"Keiko Editor\"");
    }
    let (_lock, mut store) = open_for_writing(config)?;
    let (hash, link) = match password {
        Some(password) => (Some(password.hash()?), None),
        None => (None, Some(new_link(config, clock.now)?)),
    };
    let editor = EditorRecord {
        email: email.clone(),
        name: name.trim().to_string(),
        role,
        password: hash,
        link_expires: link.as_ref().map(|l| l.2),
    };
    if !store.add_editor(&editor, link.as_ref().map(|l| l.1.as_str()), clock.now)? {
        bail!("{email} is an editor already: `bulletin editors reset {email}` gives them a new password");
    }
    say!("added {} <{email}> as {}", editor.name, role.as_str());
    if let Some((url, _, expires)) = link {
        say!("their link to set a password, valid until {expires}:\n{url}");
    }
    Ok(())
}

/// `bulletin editors reset`: their password replaced (or cleared, a new
/// set-password link printed) and every session of theirs ended.
pub(crate) fn reset_editor(
    config: &Config,
    clock: Clock,
    email: &str,
    password: Option<&Password>,
) -> Result<()> {
    let email = normalise_email(email)?;
    let (_lock, mut store) = open_for_writing(config)?;
    let (hash, link) = match password {
        Some(password) => (Some(password.hash()?), None),
        None => (None, Some(new_link(config, clock.now)?)),
    };
    let stored_link = link.as_ref().map(|l| (l.1.as_str(), l.2));
    if !store.reset_editor(&email, hash.as_deref(), stored_link)? {
        bail!("{email} is no editor: `bulletin editors list` lists them");
    }
    say!("reset {email}: their sessions are over");
    if let Some((url, _, expires)) = link {
        say!("their link to set a password, valid until {expires}:\n{url}");
    }
    Ok(())
}

/// `bulletin editors remove`: the account and its sessions gone.
pub(crate) fn remove_editor(config: &Config, email: &str) -> Result<()> {
    let email = normalise_email(email)?;
    let (_lock, mut store) = open_for_writing(config)?;
    if !store.remove_editor(&email)? {
        bail!("{email} is no editor: `bulletin editors list` lists them");
    }
    say!("removed {email}: their sessions are over");
    Ok(())
}

/// Whether a login attempt may be checked: the stored hash to check it
/// against (none: no such account), or locked by the limits.
pub(crate) enum Gate {
    Open { email: String, hash: Option<String> },
    Locked,
}

/// The first half of a login, on the store: the address typed, counted
/// against the limits; when within them, the attempt is recorded (so
/// attempts at once count) and the account's hash handed out.
pub(crate) fn login_gate(
    store: &mut Store,
    typed: &str,
    network: &str,
    now: DateTime<Utc>,
) -> Result<Gate, StoreError> {
    // An address that is no address is counted as typed: it is no account.
    let email = normalise_email(typed).unwrap_or_else(|_| typed.trim().to_ascii_lowercase());
    let counts = store.login_counts(&email, network, now - WINDOW)?;
    if counts.account >= ACCOUNT_ATTEMPTS || counts.network >= NETWORK_ATTEMPTS {
        return Ok(Gate::Locked);
    }
    store.record_login(&email, network, now, now - KEPT)?;
    let hash = store.editor(&email)?.and_then(|e| e.password);
    Ok(Gate::Open { email, hash })
}

/// The second half, off the store's thread (argon2 takes a while): the
/// account that `password` opens, if the gate was open and it matches.
/// Every path runs one argon2 check.
pub(crate) fn check_password(gate: Gate, password: &str) -> Option<String> {
    let (email, hash) = match gate {
        Gate::Open { email, hash } => (Some(email), hash),
        Gate::Locked => (None, None),
    };
    let matched = Argon2::default()
        .verify_password(password.as_bytes(), hash.as_deref().unwrap_or(&DUMMY))
        .is_ok();
    email.filter(|_| matched && hash.is_some())
}

/// The third half of a login that matched: a new session (never the one
/// the browser brought, which ends), its id for the cookie.
pub(crate) fn begin_session(
    store: &mut Store,
    email: &str,
    brought: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Secret, anyhow::Error> {
    let id = Secret::new()?;
    let replaced = brought.map(secret_hash);
    store.open_session(email, &secret_hash(id.as_str()), replaced.as_deref(), now)?;
    Ok(id)
}

/// The session whose cookie is `cookie`, while in time at `now` (its use
/// then noted); one out of time is ended.
pub(crate) fn current_session(
    store: &mut Store,
    cookie: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRecord>, StoreError> {
    let id_hash = secret_hash(cookie);
    let Some(session) = store.session(&id_hash)? else {
        return Ok(None);
    };
    if now - session.last_seen >= IDLE || now - session.created >= ABSOLUTE || now < session.created {
        store.close_session(&id_hash)?;
        return Ok(None);
    }
    store.touch_session(&id_hash, now)?;
    Ok(Some(session))
}

/// Logout: the session ends on the server, whatever the browser keeps.
pub(crate) fn end_session(store: &mut Store, cookie: &str) -> Result<(), StoreError> {
    store.close_session(&secret_hash(cookie))
}

/// The editor a set-password link is for, while it is open at `now`.
pub(crate) fn link_editor(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<EditorRecord>, StoreError> {
    store.editor_by_link(&secret_hash(token), now)
}

/// Sets the password through the link (once): the editor's address, or
/// `None` when the link is not open (any more).
pub(crate) fn set_password_by_link(
    store: &mut Store,
    token: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    store.use_link(&secret_hash(token), hash, now)
}
