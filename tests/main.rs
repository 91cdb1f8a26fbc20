//! Integration tests: the `bulletin` binary run on real files, and on feeds
//! served over HTTP from 127.0.0.1, checked the way a user would check.

mod common;

mod benches;
mod bounces;
mod browser;
mod build;
mod classifier;
mod config_errors;
mod content;
mod corpus;
mod deliver;
mod desk;
mod dkim;
mod docs;
mod editor;
mod endpoints;
mod errors;
mod feeds;
mod fetching;
mod fuzz_regressions;
mod gate;
mod hostile;
mod http_sources;
mod import;
mod items;
mod kills;
mod lasting;
mod layers;
mod order;
mod pipes;
mod preferences;
mod proxy;
mod readers;
mod relays;
mod review;
mod runs;
mod schedule;
mod signup;
mod smtp;
mod store;
