//! The page toolkit every page of `web/` uses: a template rendered into an
//! answer ([`rendered`]), the site's frame around a page of `serve`
//! ([`Site::page`], `templates/site_page.html`), a field of a query or a
//! form ([`field`]), what a request's method asks ([`Asked`]), and the
//! client as a consent record keeps it ([`consent_client`]). The
//! cross-site check of a POST is [`super::server::cross_site`].

use askama::Template;
use hyper::Method;

use super::server::{Network, Page, Request};
use crate::audience::Key;
use crate::config::Signup;

/// What the key's keyed hash of a client address is for, in a consent record.
const CLIENT_HASH: &str = "client address";

/// The client of `request` as a consent record keeps it (the sign-up
/// form's and the preference centre's alike): its network (an IPv4
/// address, an IPv6 /64), or the keyed hash of it with
/// `site.signup.hash_client_addresses`.
pub(super) fn consent_client(signup: &Signup, key: &Key, request: &Request) -> String {
    let ip = Network::from(request.client).to_string();
    if signup.hash_client_addresses {
        key.keyed_hash(CLIENT_HASH, ip.as_bytes())
    } else {
        ip
    }
}

/// Any page, rendered; a 500 in plain text if it cannot be.
pub(super) fn rendered(status: u16, template: &impl Template) -> Page {
    match template.render() {
        Ok(html) => Page::html(status, html),
        Err(e) => Page::text(500, format!("the page could not be rendered: {e}")),
    }
}

/// What a page of `serve` shows inside the site's frame: its view, and the
/// template (extending `site_page.html`) that shows it.
pub(super) trait Framed {
    /// The template showing this view, framed with `site_name`.
    fn framed<'a>(&'a self, site_name: &'a str) -> impl Template + 'a;
}

/// The site's frame: `[site] name` on every page of `serve`.
#[derive(Debug, Clone)]
pub(super) struct Site {
    name: String,
}

impl Site {
    pub(super) fn new(name: &str) -> Site {
        Site {
            name: name.to_string(),
        }
    }

    /// The page showing `view` in the site's frame, askama escaping every
    /// value in it.
    pub(super) fn page(&self, status: u16, view: &impl Framed) -> Page {
        rendered(status, &view.framed(&self.name))
    }
}

/// The first value of the field `name` in a query or a form body, as it
/// stands (empty included): a link's or a form's token `t`, the preview's
/// reader `as`.
pub(super) fn field(encoded: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What a request asks of a page, by its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    /// GET or HEAD: show the page; nothing changes (mail scanners and link
    /// previews follow links).
    Show,
    /// POST: do what the page's button says.
    Act,
    /// Any other method: the page answers 405.
    NotAllowed,
}

impl Asked {
    pub(super) fn of(method: &Method) -> Asked {
        match *method {
            Method::GET | Method::HEAD => Asked::Show,
            Method::POST => Asked::Act,
            _ => Asked::NotAllowed,
        }
    }
}
