//! `bulletin serve`: the unsubscribe endpoint behind every mail's link.
//!
//! GET shows a page with a button and changes nothing: mail scanners and
//! link previews follow links. POST (the button, or a mail client's RFC 8058
//! one-click request) checks the signed token and unsubscribes at once. No
//! cookie, no login, no redirect; a bad token gets a plain 400 page.

use std::io::Read;

use chrono::{DateTime, Utc};
use tiny_http::{Header, Method, Request, Response, Server};

use super::token::{Key, Unsubscribe, verify};
use crate::config::Config;
use crate::items::escape_html;
use crate::store::Store;

/// Serves until the process is stopped; prints the address it listens on.
pub fn serve(
    config: &Config,
    listen: &str,
    key: &Key,
    now: &dyn Fn() -> DateTime<Utc>,
) -> Result<(), String> {
    let mail = config
        .mail
        .as_ref()
        .ok_or("no [mail] section in the config: there is nothing to unsubscribe from")?;
    let path = url::Url::parse(mail.unsubscribe_url.get_ref())
        .map_err(|e| e.to_string())?
        .path()
        .to_string();
    let mut store = Store::open(&config.store_path()).map_err(|e| e.to_string())?;
    let server = Server::http(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("listening on http://{}{path}", server.server_addr());
    for mut request in server.incoming_requests() {
        let (status, body) = answer(config, &mut request, &path, key, &mut store, now());
        let page = Response::from_string(page(&body))
            .with_status_code(status)
            .with_header(
                Header::from_bytes("Content-Type", "text/html; charset=utf-8").expect("a valid header"),
            )
            .with_header(Header::from_bytes("Cache-Control", "no-store").expect("a valid header"));
        let _ = request.respond(page);
    }
    Ok(())
}

/// Status and the page's inner HTML for one request.
fn answer(
    config: &Config,
    request: &mut Request,
    path: &str,
    key: &Key,
    store: &mut Store,
    now: DateTime<Utc>,
) -> (u16, String) {
    let url = format!("http://localhost{}", request.url());
    let Ok(url) = url::Url::parse(&url) else {
        return (400, "<p>Bad request.</p>".into());
    };
    if url.path() != path {
        return (404, "<p>Not found.</p>".into());
    }
    let token = url
        .query_pairs()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some(request_for) = verify(key, &token) else {
        return (400, "<h1>This unsubscribe link is not valid</h1><p>It may have been cut or changed. Use the link in your newsletter as it is, or reply to the newsletter.</p>".into());
    };
    let title = config
        .newsletter(&request_for.newsletter)
        .map_or(request_for.newsletter.clone(), |n| n.title.clone());
    match request.method() {
        Method::Get | Method::Head => (200, confirm_page(&request_for, &title, &url)),
        Method::Post => {
            let mut body = String::new();
            let _ = request.as_reader().take(4096).read_to_string(&mut body);
            match store.unsubscribe(&request_for.email, Some(&request_for.newsletter), now) {
                Ok(_) => (
                    200,
                    format!(
                        "<h1>You are unsubscribed</h1><p>{} will no longer receive {}.</p>",
                        escape_html(&request_for.email),
                        escape_html(&title)
                    ),
                ),
                Err(e) => {
                    eprintln!("error: unsubscribing {}: {e}", request_for.email);
                    (
                        500,
                        "<p>Something went wrong on our side; please try again later.</p>".into(),
                    )
                }
            }
        }
        _ => (405, "<p>Method not allowed.</p>".into()),
    }
}

fn confirm_page(request: &Unsubscribe, title: &str, url: &url::Url) -> String {
    let action = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    format!(
        "<h1>Unsubscribe?</h1><p>Stop sending {} to {}?</p>\
         <form method=\"post\" action=\"{}\"><button type=\"submit\">Unsubscribe</button></form>",
        escape_html(title),
        escape_html(&request.email),
        escape_html(&action)
    )
}

fn page(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Unsubscribe</title></head>\
         <body style=\"font-family:Arial,Helvetica,sans-serif;max-width:480px;margin:40px auto;padding:0 16px;\">{body}</body></html>"
    )
}
