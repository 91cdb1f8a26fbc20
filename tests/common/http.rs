//! A real HTTP/1.1 server on 127.0.0.1 with canned routes, for feeds that
//! succeed, fail, redirect, drip, never end or never answer.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A small RSS feed with one item, "Public procurement reform opens tenders to EU suppliers".
pub(crate) const FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Good</title><link>https://good.example/</link>
<item><title>Public procurement reform opens tenders to EU suppliers</title>
<link>https://good.example/procurement</link><guid>https://good.example/procurement</guid>
<pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate>
<description>A tender reform.</description></item>
</channel></rss>"#;

#[derive(Clone)]
pub(crate) enum Reply {
    /// 200 with this content type and body.
    Body(&'static str, String),
    /// 200 with these extra headers and raw bytes (a gzip'ed or Shift_JIS body).
    Raw(Vec<(&'static str, String)>, Vec<u8>),
    /// This status and a short text body.
    Status(u16),
    /// This status with these headers (Retry-After, Location…).
    StatusWith(u16, Vec<(&'static str, String)>),
    /// Reads the request, then says nothing for this long.
    Hang(Duration),
    /// Waits this long, then answers with this reply: a slow but healthy feed.
    Late(Duration, Box<Reply>),
    /// 200 with an ETag, or 304 when the request's If-None-Match has it.
    Tagged(&'static str, String),
    /// 200, then one byte of a feed every `0` interval, `1` bytes in all.
    Drip(Duration, usize),
    /// 200 with a chunked body that never ends.
    Endless,
    /// The n-th request to the path gets the n-th reply; the last repeats.
    Then(Vec<Reply>),
}

pub(crate) struct Server {
    pub base: String,
    /// Each request as "METHOD PATH user-agent [if-none-match]".
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many requests asked for `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        let prefix = format!("GET {path} ");
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .count()
    }
}

/// Serves `routes` (path → reply) until the test process ends; other paths get 404.
pub(crate) fn serve(routes: Vec<(&'static str, Reply)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let routes = Arc::new(routes);
    let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (routes, log, counts) = (Arc::clone(&routes), Arc::clone(&log), Arc::clone(&counts));
            std::thread::spawn(move || answer(stream, &routes, &log, &counts));
        }
    });
    Server { base, requests }
}

fn answer(
    mut stream: TcpStream,
    routes: &[(&'static str, Reply)],
    log: &Mutex<Vec<String>>,
    counts: &Mutex<HashMap<String, usize>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let (mut user_agent, mut if_none_match) = (String::new(), String::new());
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.to_ascii_lowercase().as_str() {
            "user-agent" => user_agent = value.trim().to_string(),
            "if-none-match" => if_none_match = value.trim().to_string(),
            _ => {}
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    log.lock()
        .unwrap()
        .push(format!("{method} {path} {user_agent} [{if_none_match}]"));
    let nth = {
        let mut counts = counts.lock().unwrap();
        let count = counts.entry(path.to_string()).or_default();
        *count += 1;
        *count - 1
    };
    let mut reply = routes
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone())
        .unwrap_or(Reply::Status(404));
    if let Reply::Then(replies) = reply {
        reply = replies[nth.min(replies.len() - 1)].clone();
    }
    let _ = respond(&mut stream, reply, &if_none_match);
}

fn respond(stream: &mut TcpStream, reply: Reply, if_none_match: &str) -> std::io::Result<()> {
    let head = |status: u16, headers: &[(&str, String)], length: Option<usize>| {
        let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match length {
            Some(length) => head.push_str(&format!("Content-Length: {length}\r\n\r\n")),
            None => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
        }
        head
    };
    let xml = |t: &str| vec![("Content-Type", t.to_string())];
    match reply {
        Reply::Body(content_type, body) => {
            stream.write_all(head(200, &xml(content_type), Some(body.len())).as_bytes())?;
            stream.write_all(body.as_bytes())
        }
        Reply::Raw(headers, bytes) => {
            stream.write_all(head(200, &headers, Some(bytes.len())).as_bytes())?;
            stream.write_all(&bytes)
        }
        Reply::Status(code) => {
            let body = format!("status {code}");
            stream.write_all(head(code, &xml("text/plain"), Some(body.len())).as_bytes())?;
            stream.write_all(body.as_bytes())
        }
        Reply::StatusWith(code, headers) => stream.write_all(head(code, &headers, Some(0)).as_bytes()),
        Reply::Hang(duration) => {
            std::thread::sleep(duration);
            Ok(())
        }
        Reply::Late(duration, reply) => {
            std::thread::sleep(duration);
            respond(stream, *reply, if_none_match)
        }
        Reply::Tagged(content_type, body) => {
            let tag = format!("\"v{}\"", body.len());
            let mut headers = xml(content_type);
            headers.push(("ETag", tag.clone()));
            if if_none_match == tag {
                stream.write_all(head(304, &headers, Some(0)).as_bytes())
            } else {
                stream.write_all(head(200, &headers, Some(body.len())).as_bytes())?;
                stream.write_all(body.as_bytes())
            }
        }
        Reply::Drip(every, total) => {
            stream.write_all(head(200, &xml("application/rss+xml"), Some(total)).as_bytes())?;
            for _ in 0..total {
                std::thread::sleep(every);
                stream.write_all(b" ")?;
            }
            Ok(())
        }
        Reply::Endless => {
            stream.write_all(head(200, &xml("application/rss+xml"), None).as_bytes())?;
            let chunk = format!("{:x}\r\n{}\r\n", 8192, "<!-- x -->".repeat(8192 / 10) + "xx");
            loop {
                stream.write_all(chunk.as_bytes())?;
            }
        }
        Reply::Then(_) => unreachable!("resolved above"),
    }
}
