//! A real HTTP/1.1 server on 127.0.0.1 with canned routes, for feeds that
//! succeed, fail, or never answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Reply {
    /// 200 with this content type and body.
    Body(&'static str, String),
    /// This status and a short text body.
    Status(u16),
    /// Reads the request, then says nothing for this long.
    Hang(Duration),
    /// 200 with an ETag, or 304 when the request's If-None-Match has it.
    Tagged(&'static str, String),
}

pub struct Server {
    pub base: String,
    /// Each request as "METHOD PATH user-agent [if-none-match]".
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves `routes` (path → reply) until the test process ends; other paths get 404.
pub fn serve(routes: Vec<(&'static str, Reply)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = Arc::clone(&routes);
            let log = Arc::clone(&log);
            std::thread::spawn(move || answer(stream, &routes, &log));
        }
    });
    Server { base, requests }
}

fn answer(mut stream: TcpStream, routes: &[(&'static str, Reply)], log: &Mutex<Vec<String>>) {
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
    let reply = routes
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone())
        .unwrap_or(Reply::Status(404));
    let mut etag = String::new();
    let (status, content_type, body) = match reply {
        Reply::Body(content_type, body) => (200, content_type, body),
        Reply::Tagged(content_type, body) => {
            let tag = format!("\"v{}\"", body.len());
            etag = format!("ETag: {tag}\r\n");
            if if_none_match == tag {
                (304, content_type, String::new())
            } else {
                (200, content_type, body)
            }
        }
        Reply::Status(code) => (code, "text/plain", format!("status {code}")),
        Reply::Hang(duration) => {
            std::thread::sleep(duration);
            return;
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{etag}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body.as_bytes()));
}
