//! The web: the HTTP plumbing (`server.rs`) and every page `serve` shows.

mod preferences;
mod serve;
pub mod server;
mod signup;

pub(crate) use serve::serve;
