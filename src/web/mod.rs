//! The web: every page bulletin serves, and the HTTP plumbing under them.
//!
//! From the bottom: `server.rs` (hyper with limits, headers, the Host
//! check, shutdown, the cross-site check of a POST), `site.rs` (the page
//! toolkit: rendering, the site's frame, a query's fields, the method's
//! routing), `worker.rs` (the one thread owning what pages share) and
//! `keeper.rs` (`serve`'s store on it); then the pages, each a file that
//! imports only those: `unsubscribe.rs`, `signup.rs`, `preferences.rs`,
//! `preview.rs` with `preview/review.rs`, `desk/` (the editor's desk); and `serve.rs`, which puts
//! `serve`'s pages together by path.

mod desk;
mod keeper;
mod preferences;
pub(crate) mod preview;
mod serve;
pub mod server;
mod signup;
mod site;
mod unsubscribe;
mod worker;

pub(crate) use serve::serve;
