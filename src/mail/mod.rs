//! The mail pipeline: one personalised message per subscriber from an
//! edition rendered once (`message.rs`), SMTP sessions of its own
//! (`smtp/`), the send loop with its workers, rate limit and retries
//! (`send.rs`) through the SMTP server or to files (`transport.rs`), and the
//! delivery log's journal (`log.rs`).

mod dkim;
mod erasure;
pub(crate) mod log;
pub(crate) mod message;
mod relays;
pub(crate) mod send;
pub(crate) mod smtp;
pub(crate) mod transport;

pub(crate) use erasure::{Erasure, ErasureError, erase};
pub use message::{Letter, MailTemplate, MessageError, Personal};
pub(crate) use relays::Share;
pub use send::{SendMode, SendOptions};
pub(crate) use send::{SendReport, check_ready, readiness, send_edition};
pub(crate) use transport::mail_folder;
