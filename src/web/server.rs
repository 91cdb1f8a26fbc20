//! The HTTP plumbing `serve` and `preview` share: hyper's HTTP/1.1 server on
//! one tokio thread, with every limit an endpoint facing the internet needs
//! set in one place. A request's headers are capped (431), its body too
//! (413, refused on its announced length before a byte of it is read), and
//! reading either is bounded in time, so a slow or silent client holds only
//! its own connection. Every page carries the headers a security reviewer
//! expects. SIGTERM and Ctrl-C stop accepting, let the requests in flight
//! finish, and return.
//!
//! Connections are shared out so that no client can keep the server from
//! answering another ([`Connections`]): one client network (an IPv4
//! address, an IPv6 /64) holds at most `max_connections_per_client`, and
//! its connections past that are refused at once, nobody else's; at the
//! global cap, the connection idle the longest (between requests, or
//! never sent one) is closed to make room, so a new client is answered at
//! once; a connection serves at most `max_requests_per_connection`
//! requests. A trusted reverse proxy's connections carry many clients
//! ([`TrustedProxies`]): they are not one client's, and each request's
//! client is the one the proxy names.

mod connections;
mod network;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::HeaderMap;
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use self::connections::{Connection, Connections, Holder};
pub(crate) use self::network::Network;
use crate::proxies::Headers;
pub(crate) use crate::proxies::TrustedProxies;

/// The largest request body read: a one-click POST is 26 bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// The largest request head (request line and headers): 431 beyond it.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// How long requests in flight get to finish after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);
/// What a connection refused over the per-client cap asks its client to wait.
const REFUSED_RETRY_AFTER_SECS: u32 = 10;

/// What a server tolerates from its clients. The defaults are the command
/// line's (`--idle-timeout`, `--body-timeout`, `--max-connections`,
/// `--max-connections-per-client`, `--max-requests-per-connection`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A connection must send a whole request head within this time of
    /// opening or of its last response: slow headers and idle keep-alive
    /// connections alike are closed after it.
    pub idle_timeout: Duration,
    /// A request's body must arrive within this time of its head (else 408).
    pub body_timeout: Duration,
    /// Connections open at once. At the cap, the connection idle the
    /// longest is closed for a new one; with none idle, new ones wait.
    pub max_connections: usize,
    /// Connections one client network holds at once; more are refused.
    /// A trusted proxy's connections are not counted as one client's.
    pub max_connections_per_client: usize,
    /// Requests one connection serves; the last answer says
    /// `Connection: close`.
    pub max_requests_per_connection: usize,
}

/// Which `Host` headers are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hosts {
    /// Any: a public endpoint, reached by whatever name the mail links use.
    Any,
    /// Only `127.0.0.1`, `[::1]` and `localhost` with the server's own port,
    /// so a web page that rebinds its own name to 127.0.0.1 gets nothing.
    Loopback,
}

/// A request as the endpoints see it, its body already read within limits.
pub(crate) struct Request {
    pub(crate) method: Method,
    /// Path and query, as sent.
    pub(crate) target: String,
    /// As sent; `Host` is already checked where the server asks for it.
    pub(crate) headers: HeaderMap,
    /// The whole body, at most [`MAX_BODY`] bytes.
    pub(crate) body: Bytes,
    /// Who sent the request: the address that connected (an IPv4-mapped
    /// IPv6 address as IPv4), or, on a connection from a trusted proxy, the
    /// client the proxy names ([`TrustedProxies::client`]). Limits count
    /// it by its [`Network`].
    pub(crate) client: IpAddr,
}

/// Who may show a page in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Nobody: the default (clickjacking the unsubscribe button).
    Deny,
    /// Pages of the same origin only: the preview's review page frames the
    /// edition as mailed.
    SameOrigin,
}

/// A response as the endpoints give it; the plumbing adds the rest.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    /// Seconds for `Retry-After`, with a 503.
    pub(crate) retry_after: Option<u32>,
    /// Where a 303 sends the browser (a form's POST, answered).
    pub(crate) location: Option<String>,
    pub(crate) framing: Framing,
    /// A file to save rather than a page to show: its name, for
    /// `Content-Disposition: attachment`.
    pub(crate) download: Option<&'static str>,
    /// A `Set-Cookie` value (the preview's session).
    pub(crate) set_cookie: Option<String>,
}

impl Page {
    pub(crate) fn html(status: u16, body: String) -> Page {
        Page {
            status,
            content_type: "text/html; charset=utf-8",
            body,
            retry_after: None,
            location: None,
            framing: Framing::Deny,
            download: None,
            set_cookie: None,
        }
    }

    pub(crate) fn text(status: u16, body: String) -> Page {
        Page {
            content_type: "text/plain; charset=utf-8",
            ..Page::html(status, body)
        }
    }

    /// JSON the browser saves as `file_name` instead of showing it.
    pub(crate) fn download(file_name: &'static str, json: String) -> Page {
        Page {
            content_type: "application/json; charset=utf-8",
            download: Some(file_name),
            ..Page::text(200, json)
        }
    }

    /// CSV the browser saves as `file_name`: a spreadsheet's download.
    pub(crate) fn csv(file_name: &'static str, csv: String) -> Page {
        Page {
            content_type: "text/csv; charset=utf-8",
            download: Some(file_name),
            ..Page::text(200, csv)
        }
    }

    /// 303 See Other: after a form's POST, the browser GETs `location`
    /// (reloading it then does not post the form again).
    pub(crate) fn see_other(location: String) -> Page {
        Page {
            location: Some(location),
            ..Page::text(303, String::new())
        }
    }
}

/// The proxies read a request's headers from hyper's map.
impl Headers for HeaderMap {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.get_all(name).iter().map(HeaderValue::as_bytes).collect()
    }
}

/// A form's fields, as posted (`application/x-www-form-urlencoded`).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first non-empty value of the field `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of the field `name` (checkboxes of one name), in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What answers the requests that pass the limits.
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request) -> impl Future<Output = Page> + Send;
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the server's runtime")]
    Runtime(#[source] std::io::Error),
}

/// A bound listener with its runtime and signal handlers, not yet serving:
/// the caller prints the address first.
pub(crate) struct Server {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    stop: Stop,
}

/// SIGTERM and SIGINT, registered when binding, so a signal that arrives
/// as soon as the address is printed already stops the server gracefully.
struct Stop {
    term: Signal,
    interrupt: Signal,
}

impl Stop {
    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

impl Server {
    pub(crate) fn bind(addr: &str) -> Result<Server, ServerError> {
        // One thread answers every connection; a few more at most do what
        // must not hold it up (a preview page being personalised).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(4)
            .build()
            .map_err(ServerError::Runtime)?;
        let listener = runtime
            .block_on(TcpListener::bind(addr))
            .map_err(|source| ServerError::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let stop = runtime
            .block_on(async {
                Ok::<_, std::io::Error>(Stop {
                    term: signal(SignalKind::terminate())?,
                    interrupt: signal(SignalKind::interrupt())?,
                })
            })
            .map_err(ServerError::Runtime)?;
        Ok(Server {
            runtime,
            listener,
            stop,
        })
    }

    pub(crate) fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener.local_addr().map_err(ServerError::Runtime)
    }

    /// Serves until SIGTERM or Ctrl-C, then lets the requests in flight
    /// finish (for up to ten seconds) and returns. `proxies` name the
    /// clients of the connections they make.
    pub(crate) fn run<H: Handler>(
        self,
        handler: Arc<H>,
        hosts: Hosts,
        limits: Limits,
        proxies: TrustedProxies,
    ) -> Result<(), ServerError> {
        let port = self.local_addr()?.port();
        let Server {
            runtime,
            listener,
            mut stop,
        } = self;
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .max_header_size(MAX_HEAD)
            .max_buf_size(4 * MAX_HEAD)
            .max_headers(64);
        let context = Arc::new(Context {
            handler,
            hosts,
            port,
            limits,
            proxies,
            http,
            connections: Connections::default(),
        });
        runtime.block_on(accept(listener, context, &mut stop));
        Ok(())
    }
}

/// What every connection's requests share.
struct Context<H> {
    handler: Arc<H>,
    hosts: Hosts,
    port: u16,
    limits: Limits,
    proxies: TrustedProxies,
    http: http1::Builder,
    connections: Connections,
}

/// Accepts connections until stopped, each on a task of its own: a client
/// network's beyond its cap refused at once; at the global cap, the one
/// idle the longest closed to make room (or, with none idle, a wait for
/// one to close). Then waits for the requests in flight.
async fn accept<H: Handler>(listener: TcpListener, context: Arc<Context<H>>, stop: &mut Stop) {
    let limits = context.limits;
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: wait a little rather than spin.
                eprintln!("warning: accepting a connection: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = peer.ip().to_canonical();
        let holder = if context.proxies.trusts(ip) {
            Holder::Proxy
        } else {
            Holder::Client(Network::from(ip))
        };
        if !context
            .connections
            .admits(holder, limits.max_connections_per_client)
        {
            refuse(&stream);
            continue;
        }
        // Only this loop opens connections: the count just checked holds.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                context.connections.close_oldest_idle();
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = stop.wait() => break,
                }
            }
        };
        let connection = context.connections.open(holder);
        tokio::spawn(serve(stream, peer, connection, slot, context.clone()));
    }
    drop(listener);
    context.connections.close_all();
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        eprintln!("warning: requests still in flight after {GRACE:?} were cut off");
    }
}

/// One connection's requests, until it closes or is told to.
async fn serve<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    connection: Arc<Connection>,
    slot: OwnedSemaphorePermit,
    context: Arc<Context<H>>,
) {
    let _ = stream.set_nodelay(true);
    let service = {
        let (connection, context) = (connection.clone(), context.clone());
        service_fn(move |request| respond(request, peer, connection.clone(), context.clone()))
    };
    let http = context.http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(http);
    tokio::select! {
        _ = http.as_mut() => {}
        () = connection.close.notified() => {
            // Closes at once when idle; else after the answer in hand.
            http.as_mut().graceful_shutdown();
            let _ = http.await;
        }
    }
    context.connections.closed(&connection);
    drop(slot);
}

/// The answer to a connection refused over the per-client cap, written
/// before its request is read (the connection is closed after it).
fn refuse(stream: &TcpStream) {
    let body = "Too many connections from your network: close some, then try again.\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: {REFUSED_RETRY_AFTER_SECS}\r\nConnection: close\r\n\
         X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    // A new socket's send buffer is empty: it takes the whole answer or
    // the client is gone. Either way the connection is closed when dropped.
    let _ = stream.try_write(response.as_bytes());
}

/// One request through the limits, then the handler, then the headers;
/// the connection's last one says `Connection: close`.
async fn respond<H: Handler>(
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    connection: Arc<Connection>,
    context: Arc<Context<H>>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (_busy, last) = connection.begin(context.limits.max_requests_per_connection);
    let mut response = answer(request, peer, &context).await;
    if last {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// The response to one request.
async fn answer<H: Handler>(
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    context: &Context<H>,
) -> hyper::Response<Full<Bytes>> {
    if let Some(refused) = host_refusal(&request, context.hosts, context.port) {
        return finish(refused);
    }
    let announced = request.body().size_hint().lower();
    if announced > MAX_BODY as u64 {
        return closing(refusal(413, "The request is too large."));
    }
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, MAX_BODY).collect();
    // Bounded in time: a client must not hold a connection by announcing
    // a body it never sends.
    let body = match tokio::time::timeout(context.limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return closing(refusal(413, "The request is too large."));
        }
        Ok(Err(_)) => return closing(refusal(400, "The request could not be read.")),
        Err(_) => return closing(refusal(408, "The request took too long to arrive.")),
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let client = context.proxies.client(peer.ip(), &parts.headers);
    let page = context
        .handler
        .handle(Request {
            method: parts.method,
            target,
            headers: parts.headers,
            body,
            client,
        })
        .await;
    finish(page)
}

/// The Host check, for `serve` and `preview` alike: a request with more
/// than one `Host` header is refused (400: which one a proxy or a check
/// reads differs, so the allowed one first must not let another through),
/// and with [`Hosts::Loopback`], one not addressed to the loopback with
/// `port` (421).
fn host_refusal(request: &hyper::Request<Incoming>, hosts: Hosts, port: u16) -> Option<Page> {
    if request.headers().get_all(header::HOST).iter().nth(1).is_some() {
        return Some(refusal(400, "A request names one Host, not several."));
    }
    (hosts == Hosts::Loopback && !is_loopback_host(request, port)).then(|| {
        refusal(
            421,
            "This server answers only on this computer's loopback address.",
        )
    })
}

/// True when the request names `127.0.0.1`, `[::1]` or `localhost` with `port`.
fn is_loopback_host(request: &hyper::Request<Incoming>, port: u16) -> bool {
    let Some(host) = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((name, given)) = host.rsplit_once(':') else {
        return false;
    };
    given == port.to_string()
        && (name == "127.0.0.1" || name == "[::1]" || name.eq_ignore_ascii_case("localhost"))
}

/// Why a POST comes from another site, when its browser says so. A
/// browser's `Sec-Fetch-Site` decides when it is there: `same-origin`, or
/// `none` (the person's own action), passes. Without it, an `Origin` must
/// be one of `schemes` with the `Host` the request was sent to (`serve`
/// takes `http` and `https`: behind a proxy that ends TLS, the page is
/// `https` and the server hears `http`). `Origin` alone cannot decide
/// when `Sec-Fetch-Site` is there: under `Referrer-Policy: no-referrer`
/// (every page here) Chromium sends `Origin: null` with a same-origin
/// form. A client that sends neither header, such as curl, is no browser
/// being misled.
pub(crate) fn cross_site(headers: &HeaderMap, schemes: &[&str]) -> Option<String> {
    let shown = |value: &HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    if let Some(site) = headers.get("sec-fetch-site") {
        return (!matches!(site.as_bytes(), b"same-origin" | b"none"))
            .then(|| format!("Sec-Fetch-Site: {}", shown(site)));
    }
    let origin = headers.get(header::ORIGIN)?;
    let own = |host: &HeaderValue| {
        schemes.iter().any(|scheme| {
            format!("{scheme}://{}", shown(host))
                .as_bytes()
                .eq_ignore_ascii_case(origin.as_bytes())
        })
    };
    if headers.get(header::HOST).is_some_and(own) {
        return None;
    }
    Some(format!("Origin: {}", shown(origin)))
}

fn refusal(status: u16, message: &str) -> Page {
    Page::text(status, format!("{message}\n"))
}

/// The page as a response, with the headers every page carries.
fn finish(page: Page) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(page.body)));
    *response.status_mut() = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(page.content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name.clone(), HeaderValue::from_static(value));
    }
    let (frame_options, policy) = match page.framing {
        Framing::Deny => ("DENY", CONTENT_SECURITY_POLICY),
        Framing::SameOrigin => ("SAMEORIGIN", FRAMED_CONTENT_SECURITY_POLICY),
    };
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static(frame_options));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    if let Some(file_name) = page.download
        && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(cookie) = page.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    if let Some(seconds) = page.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    // A location that is no header value (a control character) is left
    // out: the 303 then leads nowhere, which is safer than a split header.
    if let Some(location) = page.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// A refusal after which the connection is closed: its body was not read.
fn closing(page: Page) -> hyper::Response<Full<Bytes>> {
    let mut response = finish(page);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// No content-type guessing, no address leaking in a Referer, nothing
/// cached (pages name a subscriber). Framing is per page ([`Framing`]).
const SECURITY_HEADERS: &[(header::HeaderName, &str)] = &[
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// What the pages use: inline styles, scripts, forms, fetches and frames
/// from the same origin only; framed by nobody.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// [`CONTENT_SECURITY_POLICY`] for a page framed by the same origin only.
const FRAMED_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; \
     base-uri 'none'; frame-ancestors 'self'";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_the_own_origin_or_none_may_post() {
        let host = ("host", "127.0.0.1:8026");
        for fine in [
            vec![host],
            vec![host, ("origin", "http://127.0.0.1:8026")],
            vec![host, ("sec-fetch-site", "same-origin")],
            vec![host, ("sec-fetch-site", "none")],
            // Chromium's same-origin form under `Referrer-Policy: no-referrer`.
            vec![host, ("sec-fetch-site", "same-origin"), ("origin", "null")],
        ] {
            assert_eq!(cross_site(&headers(&fine), &["http"]), None, "{fine:?}");
        }
        for foreign in [
            vec![host, ("origin", "null")],
            vec![host, ("origin", "http://127.0.0.1:8027")],
            vec![host, ("origin", "https://127.0.0.1:8026")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:8026"),
            ],
            vec![("origin", "http://127.0.0.1:8026")],
        ] {
            assert!(cross_site(&headers(&foreign), &["http"]).is_some(), "{foreign:?}");
        }
        let proxied = [("host", "news.example.eu"), ("origin", "https://news.example.eu")];
        assert_eq!(cross_site(&headers(&proxied), &["http", "https"]), None);
        let other = [("host", "news.example.eu"), ("origin", "https://evil.example")];
        assert!(cross_site(&headers(&other), &["http", "https"]).is_some());
    }
}
