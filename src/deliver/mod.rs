//! The deliver stage: subscribers, audiences, personalised messages, sending
//! with a delivery log, and the unsubscribe endpoint.

mod log;
mod message;
mod send;
mod serve;
mod smtp;
mod spool;
mod subscribers;
mod token;

pub use message::{Letter, MailTemplate, Personal};
pub use send::{SendMode, SendOptions, SendReport, send_edition};
pub use serve::serve;
pub use spool::{Spool, SpoolError};
pub use subscribers::{RowError, Skip, admits, normalise_email, parse_csv};
pub use token::{Key, Unsubscribe, sign, verify};
