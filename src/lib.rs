//! bulletin: feeds and local items in, five email-ready newsletters out.
//!
//! The modules follow the data flow: [`config`] → [`sources`] → [`items`] →
//! [`classify`] → [`editions`] → [`render`]. Each stage takes plain data and
//! gives plain data, so each can be tested and benchmarked alone.

pub mod backoff;
pub mod classify;
pub mod commands;
pub mod config;
pub mod deliver;
pub mod domain;
pub mod editions;
pub mod hex;
pub mod items;
pub mod lock;
pub mod render;
pub mod server;
pub mod sources;
pub mod store;
