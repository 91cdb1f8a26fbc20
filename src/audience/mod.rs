//! The audience: subscribers from CSV and who admits which newsletter
//! (`subscribers.rs`), the sealed tokens of every link and address
//! (`token.rs`), erased addresses kept out (`suppression.rs`), and the
//! unsubscribes kept while the store is busy (`spool.rs`).

pub(crate) mod spool;
pub(crate) mod subscribers;
pub(crate) mod suppression;
pub(crate) mod token;

pub(crate) use spool::Spool;
pub(crate) use subscribers::read_csv;
pub(crate) use subscribers::{AddressError, admits, normalise_email, readers, sample_reader};
pub use subscribers::{
    Column, CsvError, CsvOptions, InvalidField, Reason, RowError, RowProblem, SlashDates, parse_csv,
};
pub(crate) use suppression::{Suppressed, export_json};
pub use token::{Key, KeyError, Unsubscribe, Weakness, sign, verify};
