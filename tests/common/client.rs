//! The one HTTP client of the tests, in two registers: [`Client`] does what
//! a browser does (GET, a form's POST, no redirect followed, the session
//! cookie a page set sent back); the raw functions below read what a
//! hand-written request over TCP gets back, as an attacker's would.

use std::io::Read;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A browser-like client: statuses are answers, not errors; a redirect is
/// returned, not followed; the cookie a GET set is sent with what follows.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// The session cookie (`name=value`) the last page set.
    cookie: Mutex<Option<String>>,
}

/// What came back: the status, the `Location` (empty when none), the
/// headers, the body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) headers: ureq::http::HeaderMap,
    pub(crate) body: String,
}

impl Response {
    fn read(mut response: ureq::http::Response<ureq::Body>) -> Response {
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        Response {
            status: response.status().as_u16(),
            location,
            headers: response.headers().clone(),
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    /// The value of header `name`, if there is one.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Client {
    pub(crate) fn new() -> Client {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookie: Mutex::new(None),
        }
    }

    /// GET `url`: status and body. A cookie the page sets is kept.
    pub(crate) fn get(&self, url: &str) -> (u16, String) {
        let response = self.fetch(url);
        (response.status, response.body)
    }

    /// GET `url`, the whole response. A cookie the page sets is kept.
    pub(crate) fn fetch(&self, url: &str) -> Response {
        let mut request = self.agent.get(url);
        if let Some(cookie) = self.cookie().as_deref() {
            request = request.header("Cookie", cookie);
        }
        let response = Response::read(request.call().unwrap());
        if let Some(set) = response.header("set-cookie") {
            let pair = set.split(';').next().unwrap().to_string();
            *self.cookie.lock().unwrap() = Some(pair);
        }
        response
    }

    /// GET `url` with these headers (a `Cookie` of the caller's own), the
    /// whole response; nothing kept.
    pub(crate) fn fetch_with(&self, url: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Response::read(request.call().unwrap())
    }

    /// The session cookie (`name=value`) the last page set.
    pub(crate) fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    /// POST the form `fields` to `url`: status and body (see [`Client::submit`]).
    pub(crate) fn post(&self, url: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> (u16, String) {
        let response = self.submit(url, fields, headers);
        (response.status, response.body)
    }

    /// POST the form `fields` to `url` with these extra headers, and the
    /// session cookie unless they carry a `Cookie` of their own.
    pub(crate) fn submit(&self, url: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let mut request = self.agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(cookie) = self.cookie().as_deref()
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        {
            request = request.header("Cookie", cookie);
        }
        Response::read(request.send_form(fields.iter().copied()).unwrap())
    }
}

/// Reads one response: its head, then as much body as Content-Length says
/// (none for a 204, or to the end of the stream). Whatever arrived if the
/// server hangs up.
pub(crate) fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let head_end = find(&bytes, b"\r\n\r\n");
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&bytes[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .or_else(|| head.starts_with("http/1.1 204").then_some(0));
            if length.is_some_and(|n| bytes.len() >= end + 4 + n) {
                break;
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status code of a raw response.
pub(crate) fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// The body of a raw response: what follows the head.
pub(crate) fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The value of a raw response's header (case-insensitive name).
pub(crate) fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = &response[..response.find("\r\n\r\n").unwrap_or(response.len())];
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// True when the server closes `stream` (EOF or reset) within `limit`,
/// after sending whatever it sends.
pub(crate) fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 4096];
    let started = Instant::now();
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
        if started.elapsed() > limit {
            return false;
        }
    }
}

/// Asserts that the server closes `stream` within `limit`, saying `what`
/// is expected if not.
#[track_caller]
pub(crate) fn assert_closed_within(stream: &mut TcpStream, limit: Duration, what: &str) {
    assert!(closed_within(stream, limit), "{what}");
}
