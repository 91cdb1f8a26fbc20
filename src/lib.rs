//! bulletin: feeds and local items in, five email-ready newsletters out.
//!
//! The modules follow the data flow: [`config`] → [`sources`] → [`items`] →
//! [`classify`] → [`editions`] → [`render`]. Each stage takes plain data and
//! gives plain data, so each can be tested and benchmarked alone.

// The documentation is built with `--document-private-items`, where links to
// crate-private items resolve: they are most of what a newcomer reads.
#![allow(rustdoc::private_intra_doc_links)]

pub mod audience;
pub(crate) mod backoff;
pub(crate) mod bounces;
pub(crate) mod causes;
pub mod classify;
pub mod commands;
pub mod config;
pub(crate) mod domain;
pub mod editions;
pub(crate) mod hex;
pub mod items;
pub mod lock;
pub mod mail;
pub mod proxies;
pub mod render;
pub mod sources;
pub(crate) mod store;
pub mod web;
pub(crate) mod workflow;
