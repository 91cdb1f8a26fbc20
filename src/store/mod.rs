//! The store: bulletin's memory in one SQLite file (WAL mode). Items seen,
//! feed cache headers and fetch results, and the editions with the items in
//! them. Every write is one transaction, so a run killed at any point leaves
//! the store as it was before that write or after it, never in between.
//!
//! **A table holding a person's data has an `email` column** (their address,
//! ASCII lowercase), and every row about them carries it: a person's export
//! and erasure ([`people`]) find their rows in every such table by reading
//! the schema, so a table added later is covered without a change there. A
//! table that keeps something about a person without that column escapes
//! both: don't add one.

mod actions;
mod bounces;
mod deliveries;
mod editions;
mod editors;
mod items;
mod model;
mod people;
mod report;
mod rules;
mod runs;
mod signups;
mod subscribers;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, Params, Row, Transaction, TransactionBehavior};

use crate::items::Item;

pub(crate) use actions::{Action, ActionRecord, RuleChange};
pub(crate) use bounces::{Bounce, BounceMail, Effect, SoftRule};
pub(crate) use deliveries::{Delivery, Status, StatusLabel};
pub(crate) use editions::{Decision, EditionPaths, EditionRecord, EditionState, FoundItem, Logged};
pub(crate) use editors::{EditorRecord, SessionRecord};
pub(crate) use items::{ItemOrder, ItemRow, SavedFetch, Upsert};
pub(crate) use model::{Carried, Membership};
pub(crate) use people::{Erased, PersonData};
pub(crate) use report::{DeliveryReport, ReportLine};
pub(crate) use rules::{Change, DraftChange};
pub(crate) use runs::{Problem, RunCommand, RunOutcome, RunRecord};
pub(crate) use signups::{
    ClientLimit, Confirmation, Counted, MailboxLimit, OutboxMail, PendingSignup, Signed, SignupLimits,
    WelcomeMail,
};
pub(crate) use subscribers::{
    Agreement, BounceReset, Found, Recipient, SubscriberRecord, UnsubscribeRequest,
};

/// The schema version this bulletin writes: the number of [`MIGRATIONS`].
#[allow(clippy::cast_possible_wrap)] // a handful of migrations, nowhere near i64::MAX
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Migrations, in order; the store's `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE items (
    id           TEXT PRIMARY KEY,
    link         TEXT NOT NULL,
    source       TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL  -- the Item as JSON
);
CREATE INDEX items_link ON items (link);
CREATE TABLE feeds (
    source               TEXT PRIMARY KEY,
    etag                 TEXT,
    last_modified        TEXT,
    last_fetch           TEXT NOT NULL,
    status               TEXT NOT NULL,  -- ok | not-modified | failed
    error                TEXT,
    items                INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL
);
CREATE TABLE editions (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    date       TEXT NOT NULL,
    cutoff     TEXT NOT NULL,
    built_at   TEXT NOT NULL,
    html_path  TEXT NOT NULL,
    text_path  TEXT NOT NULL,
    PRIMARY KEY (newsletter, number),
    UNIQUE (newsletter, date)
);
-- An item is in at most one edition of a newsletter: the key says so.
CREATE TABLE edition_items (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    item_id    TEXT NOT NULL,
    section    TEXT NOT NULL,
    featured   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    body       TEXT NOT NULL,  -- the Item as published, so a rebuild renders the same bytes
    PRIMARY KEY (newsletter, item_id),
    FOREIGN KEY (newsletter, number) REFERENCES editions (newsletter, number)
);
"#,
    r#"
CREATE TABLE subscribers (
    email             TEXT PRIMARY KEY,  -- the domain in lowercase
    name              TEXT NOT NULL,
    organisation      TEXT NOT NULL,
    organisation_type TEXT NOT NULL,     -- company | organisation | individual
    country           TEXT NOT NULL,     -- ISO 3166-1 alpha-2
    consent           TEXT NOT NULL,
    unsubscribed      TEXT,              -- set when they left every newsletter
    hard_bounces      INTEGER NOT NULL DEFAULT 0,
    updated           TEXT NOT NULL
);
CREATE TABLE subscriptions (
    email        TEXT NOT NULL REFERENCES subscribers (email),
    newsletter   TEXT NOT NULL,
    unsubscribed TEXT,                   -- set when they left this newsletter; never cleared by an import
    PRIMARY KEY (email, newsletter)
);
CREATE INDEX subscriptions_newsletter ON subscriptions (newsletter);
-- One row per message: written before the SMTP transaction (sending) and after it.
CREATE TABLE deliveries (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    email      TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status     TEXT NOT NULL,            -- sending | sent | deferred | failed
    attempts   INTEGER NOT NULL,
    error      TEXT,
    updated    TEXT NOT NULL,
    PRIMARY KEY (newsletter, number, email)
);
"#,
    r#"
-- Where a feed moved to for good (a 301 or 308): fetched instead of its configured URL.
ALTER TABLE feeds ADD COLUMN moved_to TEXT;
"#,
    r#"
-- A send reads a newsletter's subscribers a page at a time in address
-- order: with this index each page starts where the last one ended,
-- instead of sorting every remaining subscription again (quadratic in the list).
CREATE INDEX subscriptions_newsletter_email ON subscriptions (newsletter, email);
DROP INDEX subscriptions_newsletter;
"#,
    r#"
-- The delivery-log journals already folded into `deliveries`, by number: a
-- journal is folded once, even when the process dies between the commit and
-- removing it; a new journal is numbered after the last one folded.
CREATE TABLE folded_logs (
    id INTEGER PRIMARY KEY
);
"#,
    r#"
-- The editor's gate. An edition is a draft (rebuilt from the items and the
-- corrections whenever anything changes) until approved, then frozen.
-- Editions from before the gate were published and mailed by `run`.
ALTER TABLE editions ADD COLUMN state TEXT NOT NULL DEFAULT 'approved';  -- draft | approved
ALTER TABLE editions ADD COLUMN approved_by TEXT;
ALTER TABLE editions ADD COLUMN approved_at TEXT;
ALTER TABLE editions ADD COLUMN sent_at TEXT;   -- set when a send left nobody due
ALTER TABLE editions ADD COLUMN intro TEXT;     -- the editor's introduction, Markdown
UPDATE editions SET approved_by = 'bulletin', approved_at = built_at, sent_at = built_at;
-- The editor's corrections to a draft, applied in order on every rebuild.
CREATE TABLE corrections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the log names a mail by it
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    action     TEXT NOT NULL,  -- drop | add | move | retitle | teaser | intro
    item_id    TEXT,
    section    TEXT,
    position   INTEGER,
    text       TEXT,
    author     TEXT NOT NULL,
    at         TEXT NOT NULL,
    FOREIGN KEY (newsletter, number) REFERENCES editions (newsletter, number)
);
-- The last schedule day a run handled per newsletter (published, drafted or
-- skipped as empty): a schedule day after it that has passed is caught up.
CREATE TABLE schedule_days (
    newsletter TEXT PRIMARY KEY,
    handled    TEXT NOT NULL
);
"#,
    r#"
-- The classifier's learned model (classify/model.rs encodes it), one row,
-- and the published items it has learned from, by item id: each is
-- learned once, so training is incremental.
CREATE TABLE model (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    state BLOB NOT NULL
);
CREATE TABLE model_learned (
    item_id TEXT PRIMARY KEY
);
"#,
    r#"
-- Addresses are keyed in ASCII lowercase: `Jane@X.eu` and `jane@x.eu` are one
-- subscriber. Those stored twice are merged: the latest details, the earliest
-- unsubscribe (from all, and from each newsletter), the bounces added up.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE case_merge AS
    SELECT lower(email) AS lowered, min(unsubscribed) AS unsubscribed, sum(hard_bounces) AS hard_bounces,
           (SELECT k.email FROM subscribers k WHERE lower(k.email) = lower(s.email)
            ORDER BY k.updated DESC, k.email LIMIT 1) AS kept
    FROM subscribers s GROUP BY lower(email);
CREATE TEMP TABLE case_merge_subscriptions AS
    SELECT lower(email) AS email, newsletter, min(unsubscribed) AS unsubscribed
    FROM subscriptions GROUP BY lower(email), newsletter;
DELETE FROM subscriptions;
DELETE FROM subscribers WHERE email NOT IN (SELECT kept FROM case_merge);
UPDATE subscribers SET
    unsubscribed = (SELECT m.unsubscribed FROM case_merge m WHERE m.kept = subscribers.email),
    hard_bounces = (SELECT m.hard_bounces FROM case_merge m WHERE m.kept = subscribers.email);
UPDATE subscribers SET email = lower(email);
INSERT INTO subscriptions (email, newsletter, unsubscribed)
    SELECT email, newsletter, unsubscribed FROM case_merge_subscriptions;
-- A delivery to either spelling is a delivery to the person.
UPDATE OR IGNORE deliveries SET email = lower(email);
DELETE FROM deliveries WHERE email <> lower(email);
DROP TABLE case_merge;
DROP TABLE case_merge_subscriptions;
"#,
    r#"
-- Migration 9: sign-up with double opt-in (issue 19, section 1). Times are
-- RFC 3339 UTC to the second ("2026-12-02T08:00:00Z"): they sort as text.
-- "IF NOT EXISTS": a store whose version was set back runs it again unharmed.
-- A sign-up waiting for its confirmation link to be followed.
CREATE TABLE IF NOT EXISTS signups (
    token_hash        TEXT PRIMARY KEY,  -- SHA-256 of the link's random token, hex: the token is only in the mail
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    organisation      TEXT NOT NULL,
    organisation_type TEXT NOT NULL,
    country           TEXT NOT NULL,
    newsletters       TEXT NOT NULL,     -- ids, space-separated
    consent_version   TEXT NOT NULL,
    client            TEXT NOT NULL,     -- the client's IP address, or its keyed hash
    created           TEXT NOT NULL,
    expires           TEXT NOT NULL
);
-- Links followed: a second click says "already confirmed". Nothing personal.
CREATE TABLE IF NOT EXISTS signups_confirmed (
    token_hash TEXT PRIMARY KEY,
    at         TEXT NOT NULL
);
-- Each confirmation mail sent, for the limits; kept a day.
CREATE TABLE IF NOT EXISTS signup_mails (
    email  TEXT NOT NULL,
    client TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signup_mails_email ON signup_mails (email, at);
CREATE INDEX IF NOT EXISTS signup_mails_client ON signup_mails (client, at);
CREATE INDEX IF NOT EXISTS signup_mails_at ON signup_mails (at);
-- The consent record: who agreed to which newsletter, when, how and from where.
CREATE TABLE IF NOT EXISTS consents (
    email           TEXT NOT NULL,
    newsletter      TEXT NOT NULL,
    at              TEXT NOT NULL,
    method          TEXT NOT NULL,  -- form | import | api
    source          TEXT NOT NULL,  -- form: the client's IP or its keyed hash; import: the file's name
    consent_version TEXT            -- form: the consent text's version
);
CREATE INDEX IF NOT EXISTS consents_email ON consents (email);
"#,
    r#"
-- Migration 10: bounces, complaints and mailed unsubscribes (issue 19, section 3).
-- The mails `bulletin bounces` acted on, by a stable key (the Message-ID,
-- else a hash of the bytes): a mail read again changes nothing.
CREATE TABLE IF NOT EXISTS bounce_messages (
    key        TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,      -- hard | soft | complaint | unsubscribe
    email      TEXT NOT NULL,      -- the subscriber it was matched to
    newsletter TEXT,               -- the edition, when the VERP address or the token names it
    number     INTEGER,
    status     TEXT,               -- the DSN status code
    why        TEXT NOT NULL,      -- what the mail was (a DSN, a feedback report…)
    processed  TEXT NOT NULL
);
-- Soft bounces with when, for the rule of N in a row within M days.
CREATE TABLE IF NOT EXISTS soft_bounces (
    email      TEXT NOT NULL,
    newsletter TEXT,
    number     INTEGER,
    status     TEXT,
    at         TEXT NOT NULL,
    key        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS soft_bounces_email ON soft_bounces (email, at);
-- Subscribers nothing is sent to after soft bounces in a row: why, and since when.
CREATE TABLE IF NOT EXISTS suppressions (
    email TEXT PRIMARY KEY,
    why   TEXT NOT NULL,
    at    TEXT NOT NULL
);
"#,
    r#"
-- Migration 11 (issue 19, section 2: the preference centre; the sign-up's
-- is 9, the bounces' 10). Not `suppressions` (migration 10: addresses soft
-- bounces stopped): people who erased themselves, by a keyed hash of their address (never the
-- address): an import does not add them again, a send never mails them; a
-- new consent (a confirmed sign-up) lifts it. (IF NOT EXISTS: tests roll a
-- store back to an older version, and the migrations after it run again.)
CREATE TABLE IF NOT EXISTS suppressed (
    hash TEXT PRIMARY KEY,  -- Key::keyed_hash of the lowercase address
    at   TEXT NOT NULL,
    why  TEXT NOT NULL      -- erased
);
"#,
    r#"
-- Migration 12 (issue 25): every mail `bulletin bounces` read, acted on or
-- not, by the key of `bounce_messages` (the Message-ID, else a hash of the
-- bytes): a later run skips it unread. No address: an ignored or unproven
-- mail names no subscriber, and the ones acted on are in `bounce_messages`.
CREATE TABLE IF NOT EXISTS bounce_mails (
    key    TEXT PRIMARY KEY,
    kind   TEXT NOT NULL,  -- hard | soft | complaint | unsubscribe | ignored
    status TEXT,           -- the DSN status code
    why    TEXT NOT NULL,  -- what the mail was (a DSN, an auto-reply…)
    proof  TEXT,           -- verp | message-id | list-unsubscribe | trusted-address; none: unproven
    read   TEXT NOT NULL
);
-- The mails acted on before: the edition named came from the VERP token, a
-- newsletter alone from an unsubscribe token, neither from the address named.
INSERT OR IGNORE INTO bounce_mails (key, kind, status, why, proof, read)
    SELECT key, kind, status, why,
           CASE WHEN number IS NOT NULL THEN 'verp'
                WHEN newsletter IS NOT NULL THEN 'list-unsubscribe'
                ELSE 'trusted-address' END,
           processed
    FROM bounce_messages;
"#,
    r#"
-- Migration 13 (issue 25: sign-up abuse). The sign-ups the limits count,
-- mailed or not, by keyed hashes: the mailbox an address reaches (its
-- +tag left out, its case folded) and the client's network, never its IP
-- address. Made anew: a day of counts is all an upgrade forgets.
DROP TABLE IF EXISTS signup_mails;
CREATE TABLE signup_mails (
    email   TEXT NOT NULL,     -- the checked address: erased and exported with the person
    mailbox TEXT NOT NULL,     -- keyed hash of the mailbox it reaches
    client  TEXT NOT NULL,     -- keyed hash of the client: an IPv4 address, an IPv6 /64
    network TEXT NOT NULL,     -- keyed hash of its network: an IPv4 /24, an IPv6 /48
    mailed  INTEGER NOT NULL,  -- 1: a confirmation mail went out; 0: the mailbox had had its share
    at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signup_mails_mailbox ON signup_mails (mailbox, at);
CREATE INDEX IF NOT EXISTS signup_mails_client ON signup_mails (client, at);
CREATE INDEX IF NOT EXISTS signup_mails_network ON signup_mails (network, at);
CREATE INDEX IF NOT EXISTS signup_mails_at ON signup_mails (at);
-- Confirmation mails recorded with their sign-up and sent after the answer
-- by serve's mailer; deleted once sent (or given up).
CREATE TABLE IF NOT EXISTS signup_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the log names a mail by it
    token_hash TEXT NOT NULL,     -- the pending sign-up's
    email      TEXT NOT NULL,
    token      TEXT NOT NULL,     -- the link's token: kept only until the mail is sent
    created    TEXT NOT NULL,
    next_try   TEXT NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0
);
"#,
    r#"
-- Migration (issue 27): every `run`, `send` and `bounces`, from its start
-- (a row without `finished` is one still going, or killed) to its end, with
-- each failure's reason (no mail address: reasons are stored without them).
CREATE TABLE IF NOT EXISTS runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    command  TEXT NOT NULL,              -- run | send | bounces
    started  TEXT NOT NULL,
    finished TEXT,
    outcome  TEXT,                       -- ok | partial | failed; none until finished
    errors   TEXT NOT NULL DEFAULT '[]'  -- JSON array of reasons
);
-- The problems open now, each mailed to [alerts] once: a run of `scope`
-- replaces that scope's problems with its own, so one that goes away and
-- comes back is new again.
CREATE TABLE IF NOT EXISTS problems (
    scope  TEXT NOT NULL,  -- run | send | bounces | drafts
    text   TEXT NOT NULL,
    since  TEXT NOT NULL,
    mailed TEXT,           -- when [alerts] were told; none: not yet
    PRIMARY KEY (scope, text)
);
"#,
    r#"
-- Issue 27 (drafts that change only for a reason; corrections that last).
-- The editors' lasting rules: never or always in a newsletter, for an
-- item, a source or a term. A removed rule keeps its row, with who removed
-- it and when: the table is their log.
CREATE TABLE IF NOT EXISTS rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: `rules remove` names it
    newsletter  TEXT NOT NULL,
    stance      TEXT NOT NULL,      -- never, always
    target_kind TEXT NOT NULL,      -- item, source, term
    target      TEXT NOT NULL,
    origin      TEXT NOT NULL,      -- bulletin rules add, the review page, dropped from No. N
    added_by    TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    removed_by  TEXT,
    removed_at  TEXT
);
CREATE INDEX IF NOT EXISTS rules_active ON rules (newsletter) WHERE removed_at IS NULL;
-- What left or joined a draft on a rebuild, not by the editor's hand,
-- with why: shown as a change until the editor looks.
CREATE TABLE IF NOT EXISTS draft_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    item_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    change     TEXT NOT NULL,      -- left, joined
    reason     TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS draft_changes_edition ON draft_changes (newsletter, number);
-- The items a skipped draft held (`bulletin skip`), with when: back in the
-- pool, they join the newsletter's drafts built before the skip.
CREATE TABLE IF NOT EXISTS skipped_items (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    item_id    TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (newsletter, number, item_id)
);
-- When an editor last looked at a draft (`editions show`, the review page).
CREATE TABLE IF NOT EXISTS draft_looks (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (newsletter, number)
);
"#,
    r#"
-- Migration (issue 30): the welcome mail of each newsletter a confirmed
-- sign-up subscribed to, recorded with the confirmation and sent after it
-- by serve's mailer. One row per person and newsletter, kept once sent: no
-- second welcome, even after a new sign-up. A try is marked before it goes
-- out (`trying`): one a crash cut short is not made again, so none is sent
-- twice. Backfills nothing: subscribers before it were never welcomed.
CREATE TABLE IF NOT EXISTS welcome_mails (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- the log names a mail by it
    email      TEXT NOT NULL,
    newsletter TEXT NOT NULL,
    created    TEXT NOT NULL,
    next_try   TEXT NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    trying     TEXT,               -- set while a try is out
    done       TEXT,               -- when it was sent or given up
    outcome    TEXT,               -- sent | given up: why
    UNIQUE (email, newsletter)
);
"#,
    r#"
-- Labelled items an organisation taught the classifier (`bulletin classify
-- learn FILE`), each line of its file once, keyed by a hash of the line's
-- JSON: the model learns each as an editor's correction (workflow/learn.rs).
CREATE TABLE IF NOT EXISTS model_taught (
    key    TEXT PRIMARY KEY,
    line   TEXT NOT NULL,
    taught TEXT NOT NULL
);
"#,
    r#"
-- Migration (issue 28, the editor's desk): editors, their sessions and
-- their login attempts. An editor's address is a person's data: every
-- table has an `email` column, so a person's export and erasure cover them.
-- Times are RFC 3339 UTC to the second: they sort as text.
CREATE TABLE IF NOT EXISTS editors (
    email        TEXT PRIMARY KEY,  -- ASCII lowercase
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,     -- editor | admin
    password     TEXT,              -- argon2id, PHC string; NULL until set
    link_hash    TEXT UNIQUE,       -- SHA-256 of the one-time set-password link's token, hex
    link_expires TEXT,
    created      TEXT NOT NULL
);
-- A logged-in browser: the cookie holds a random id, the store its hash.
CREATE TABLE IF NOT EXISTS editor_sessions (
    id_hash   TEXT PRIMARY KEY,     -- SHA-256 of the cookie's 256-bit id, hex
    email     TEXT NOT NULL,
    created   TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS editor_sessions_email ON editor_sessions (email);
-- Login attempts that failed (or are being checked), kept a day: the
-- limits per account (typed address, an account or not) and per network.
CREATE TABLE IF NOT EXISTS editor_logins (
    email   TEXT NOT NULL,          -- the address typed, lowercase
    network TEXT NOT NULL,          -- keyed hash of the client's network
    at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS editor_logins_email ON editor_logins (email, at);
CREATE INDEX IF NOT EXISTS editor_logins_network ON editor_logins (network, at);
"#,
    r#"
-- Migration (issue 28, the desk's admin side): who unsubscribed a
-- subscriber on their behalf (an admin on the desk, the operator's
-- `subscribers unsubscribe`), and when; the desk's log reads it. `email`
-- is the subscriber's, so their export and erasure cover the rows.
CREATE TABLE IF NOT EXISTS unsubscribed_by (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL,
    newsletter TEXT,               -- NULL: every newsletter
    by         TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unsubscribed_by_at ON unsubscribed_by (at);
"#,
    r#"
-- Migration (issue 28, the scheduled send): an edition is not sent before
-- `not_before` (RFC 3339 UTC), shown in `zone`, the one it was given in (an
-- IANA name); no row, no schedule. Set and cleared with who and when in
-- the corrections' log. A table of its own, so the migration can run again.
CREATE TABLE IF NOT EXISTS scheduled_sends (
    newsletter TEXT NOT NULL,
    number     INTEGER NOT NULL,
    not_before TEXT NOT NULL,
    zone       TEXT NOT NULL,
    PRIMARY KEY (newsletter, number),
    FOREIGN KEY (newsletter, number) REFERENCES editions (newsletter, number)
);
"#,
];

/// What went wrong with the store, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("{path}: not a bulletin store or corrupt; restore it from a backup or move it away")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: locked by another process for too long; is another bulletin still writing to it?")]
    Locked { path: PathBuf },
    #[error(
        "{path}: written by a newer bulletin (schema version {found}, this one knows up to {known}); upgrade bulletin"
    )]
    TooNew { path: PathBuf, found: i64, known: usize },
    #[error(
        "{path}: not a bulletin store (schema version {found}); restore it from a backup or move it away"
    )]
    BadVersion { path: PathBuf, found: i64 },
    #[error("{path}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: stored data is unreadable: {message}")]
    Decode { path: PathBuf, message: String },
    #[error("{0}")]
    Conflict(String),
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

pub(crate) struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Why a write transaction was rolled back: SQLite's error, or ours.
enum Abort {
    Sql(rusqlite::Error),
    Refused(StoreError),
}

impl From<rusqlite::Error> for Abort {
    fn from(error: rusqlite::Error) -> Abort {
        Abort::Sql(error)
    }
}

impl Store {
    /// Opens the store, creating it on first use and migrating it forward.
    pub(crate) fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)
                .map_err(|e| StoreError::Conflict(format!("{}: {e}", parent.display())))?;
        }
        // The store holds subscribers' addresses: a new one is its owner's
        // only, and SQLite gives its `-wal` and `-shm` the same mode.
        match private_file().write(true).create_new(true).open(path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Conflict(format!("{}: {e}", path.display())));
            }
            _ => {}
        }
        let conn = Connection::open(path).map_err(|e| classify_error(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure().map_err(|e| store.error(e))?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store for reading only, for the commands that write
    /// nothing (`items`, `editions`, `feeds`, `subscribers list`): they work
    /// on a store their user may read but not write, and never create or
    /// migrate one. A missing store reads as an empty one.
    pub(crate) fn open_read_only(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Store::empty(path);
        }
        let (conn, found) = reader(path).map_err(|e| classify_error(path, e))?;
        if migrations_applied(path, found)? < MIGRATIONS.len() {
            // A store from an older bulletin: migrating it is a write.
            return Store::open(path);
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// An empty store in memory, named after `path` (which does not exist).
    fn empty(path: &Path) -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(|e| classify_error(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Copies what the write-ahead log holds into the store's file, on a
    /// thread of its own, while this connection goes on (reading, or writing
    /// more to the log). After a fetch the log holds every item written, and
    /// copying it was a tenth of a run when the store did it on closing.
    /// Nothing depends on it: whatever it leaves, closing does as before.
    pub(crate) fn checkpoint_in_background(&self) -> std::thread::JoinHandle<()> {
        let path = self.path.clone();
        std::thread::spawn(move || {
            if let Ok(conn) = Connection::open(&path) {
                let _ = conn.busy_timeout(Duration::from_secs(10));
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
    }

    /// How long a statement waits for another process's lock before it
    /// fails with [`StoreError::Locked`] (10 s unless changed): `serve`
    /// answers people, and would rather say "later" than keep them waiting.
    pub(crate) fn set_busy_timeout(&self, wait: Duration) -> Result<()> {
        self.conn.busy_timeout(wait).map_err(|e| self.error(e))
    }

    /// The store's file: files that belong with it (the lock, a send's
    /// journal) are named after it.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // A new store gets 16 KiB pages (an existing one keeps its own): a
        // fetch writes thousands of 1 KB rows, each page through the WAL and
        // again at the checkpoint, a system call at a time; with 4 KiB pages
        // committing the first fetch of 10,000 items took 60 ms, now 8.
        self.conn.pragma_update(None, "page_size", 16384)?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode, NORMAL survives any crash of the process (SIGKILL
        // included); only a power cut can lose the last commits.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Deleted and overwritten content is zeroed, not left in the file's
        // free space: an erased person's address and an old name must not
        // be readable from the file (see `people.rs`).
        self.conn.pragma_update(None, "secure_delete", true)?;
        self.conn.pragma_update(None, "foreign_keys", true)
    }

    fn error(&self, error: rusqlite::Error) -> StoreError {
        classify_error(&self.path, error)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.write(|tx| {
            let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            let applied = migrations_applied(&path, found).map_err(Abort::Refused)?;
            for migration in &MIGRATIONS[applied..] {
                tx.execute_batch(migration)?;
            }
            Ok(tx.pragma_update(None, "user_version", SCHEMA_VERSION)?)
        })
    }

    /// Runs `work` in one IMMEDIATE transaction: all of it is stored, or
    /// none of it (an error, or the process dying half-way, rolls it back).
    fn write<T>(&mut self, work: impl FnOnce(&Transaction) -> std::result::Result<T, Abort>) -> Result<T> {
        let failed = |abort: Abort, path: &Path| match abort {
            Abort::Sql(error) => classify_error(path, error),
            Abort::Refused(error) => error,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify_error(&self.path, e))?;
        let value = work(&tx).map_err(|abort| failed(abort, &self.path))?;
        tx.commit().map_err(|e| classify_error(&self.path, e))?;
        Ok(value)
    }

    /// Every row `sql` gives, each turned into a `T` by `row`.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| self.error(e))?;
        let rows = statement.query_map(params, row).map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.error(e))
    }

    fn timestamp(&self, text: &str) -> Result<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| self.decode(format!("timestamp {text:?}: {e}")))
    }

    fn decode(&self, message: String) -> StoreError {
        StoreError::Decode {
            path: self.path.clone(),
            message,
        }
    }
}

/// Options that create a file only its owner may read and write (0600 on
/// Unix), whatever the umask allows: for files holding personal data (the
/// store, a send's journal, `.eml` messages).
pub(crate) fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `folder` and its missing parents, each one only its owner may
/// enter (0700 on Unix); folders that exist are left as they are.
pub(crate) fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

/// A connection that only reads the store at `path`, and its schema
/// version. Tried in order, the first that opens wins:
/// 1. read-write, when this user may write the file: nothing is written,
///    but closing it removes the `-wal` and `-shm` files SQLite made for it
///    (a read-only connection leaves them, its user's own, in the way of
///    the next reader who may not read them);
/// 2. read-only, which needs the `-shm` file to exist or the folder to be
///    writable;
/// 3. read-only and `immutable` when there is no `-wal` file, so every
///    commit is in the main file: a reader that may not write the folder
///    cannot create the `-shm`, and reads the file as it is (a writer that
///    starts meanwhile is not seen).
fn reader(path: &Path) -> rusqlite::Result<(Connection, i64)> {
    let open = |uri: &str, flags: OpenFlags| {
        let conn = Connection::open_with_flags(
            uri,
            flags | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        Ok((conn, version))
    };
    let cannot_open = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
        )
    };
    let mut attempts = Vec::new();
    if OpenOptions::new().write(true).open(path).is_ok() {
        attempts.push((file_uri(path, false), OpenFlags::SQLITE_OPEN_READ_WRITE));
    }
    attempts.push((file_uri(path, false), OpenFlags::SQLITE_OPEN_READ_ONLY));
    if !wal_path(path).exists() {
        attempts.push((file_uri(path, true), OpenFlags::SQLITE_OPEN_READ_ONLY));
    }
    let mut failed = None;
    for (uri, flags) in attempts {
        match open(&uri, flags) {
            Ok(opened) => return Ok(opened),
            Err(e) if cannot_open(&e) => failed = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(failed.expect("a read-only attempt is always made"))
}

/// How many of the [`MIGRATIONS`] a store with `user_version` `found` has
/// applied: refused when it is more than this bulletin knows (a newer
/// bulletin's store) or below zero (no bulletin's).
fn migrations_applied(path: &Path, found: i64) -> Result<usize> {
    let known = MIGRATIONS.len();
    match usize::try_from(found) {
        Ok(applied) if applied <= known => Ok(applied),
        Ok(_) => Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            known,
        }),
        Err(_) => Err(StoreError::BadVersion {
            path: path.to_owned(),
            found,
        }),
    }
}

/// The store's write-ahead log: while it exists, commits may be there only.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// An SQLite `file:` URI for `path` (percent-encoded as URIs need),
/// `immutable` when no one may be writing it.
fn file_uri(path: &Path, immutable: bool) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for byte in absolute.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(byte) {
            uri.push(char::from(*byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    if immutable {
        uri.push_str("?immutable=1");
    }
    uri
}

/// An item as stored; `path` is the store's, for the error.
fn decode_item(path: &Path, body: &str) -> Result<Item> {
    serde_json::from_str(body).map_err(|e| StoreError::Decode {
        path: path.to_owned(),
        message: format!("an item: {e}"),
    })
}

/// A stored value this bulletin does not know, for a [`FromSql`] impl: the
/// read fails with [`StoreError::Decode`] naming it, instead of a default.
///
/// [`FromSql`]: rusqlite::types::FromSql
fn unknown_value(what: &'static str, value: &str, expected: &'static str) -> rusqlite::types::FromSqlError {
    rusqlite::types::FromSqlError::Other(Box::new(UnknownValue {
        what,
        value: value.to_string(),
        expected,
    }))
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {value:?}; expected {expected}")]
struct UnknownValue {
    what: &'static str,
    value: String,
    expected: &'static str,
}

fn classify_error(path: &Path, error: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    if let rusqlite::Error::FromSqlConversionFailure(_, _, source) = &error {
        return StoreError::Decode {
            path,
            message: source.to_string(),
        };
    }
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path, source: error }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        _ => StoreError::Sqlite { path, source: error },
    }
}

fn to_json(item: &Item) -> String {
    serde_json::to_string(item).expect("an item always serialises")
}
