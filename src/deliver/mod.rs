//! The deliver stage: subscribers, audiences, personalised messages, sending
//! with a delivery log, the unsubscribe endpoint and the preference centre.

mod bounces;
mod log;
pub(crate) mod message;
pub(crate) mod send;
pub(crate) mod smtp;
pub(crate) mod spool;
pub(crate) mod subscribers;
pub(crate) mod suppression;
pub(crate) mod token;

pub(crate) use bounces::{Bounces, Kind as BounceKind, Processed, read_path};
pub use message::{Letter, MailTemplate, MessageError, Personal};
pub use send::{SendMode, SendOptions};
pub(crate) use send::{SendReport, check_ready, mail_folder, send_edition};
pub(crate) use spool::Spool;
pub(crate) use subscribers::read_csv;
pub use subscribers::{CsvError, InvalidField, Reason, RowError, RowProblem, parse_csv};
pub(crate) use subscribers::{admits, normalise_email};
pub(crate) use suppression::{Suppressed, erase, export_json};
pub use token::{Key, KeyError, Unsubscribe, Weakness, sign, verify};
