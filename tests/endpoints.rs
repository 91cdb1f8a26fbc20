//! `bulletin serve` and `bulletin preview` attacked as the audit did: the
//! real binary on a free 127.0.0.1 port, spoken to over raw TCP where a
//! well-behaved client would not do what an attacker does.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bulletin::audience::{Key, sign};

use crate::common::client::{assert_closed_within, closed_within, header_of, read_response, status};
use crate::common::loopback::{connect_from, open_files_limit};
use crate::common::mail::project;
use crate::common::server::Server;
use crate::common::signup::signup_project;
use crate::common::sink::Sink;
use crate::common::{KEY, KEY_ENV, Project, chmod, first_line};

const SUBSCRIBERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news;about-japan,2025-02-01
";

fn key() -> Key {
    Key::new(KEY.as_bytes().to_vec()).unwrap()
}

/// A project with subscribers and a `[mail]` section (SMTP on `port`).
fn mail_project(port: u16) -> Project {
    project(port, "", SUBSCRIBERS)
}

/// The addresses subscribed to `newsletter`, as `subscribers list` shows them.
fn subscribed(project: &Project, newsletter: &str) -> Vec<String> {
    project
        .run(&[
            "subscribers",
            "list",
            "--newsletter",
            newsletter,
            "--format",
            "json",
        ])
        .assert_code(0)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["newsletters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == newsletter)
        })
        .map(|s| s["email"].as_str().unwrap().to_string())
        .collect()
}

/// `Content-Length: 2^64-1` and `10^14` with no body: 413 at once, nothing
/// read, and the next request is answered (serve died of it; preview went deaf).
#[test]
fn an_absurd_content_length_gets_413_and_the_server_stays_up() {
    let project = mail_project(25);
    let serve = Server::serve(&project, &[]);
    let preview = Server::preview(&project, &[]);
    let token = sign(&key(), "jane@example.de", "about-japan");
    for server in [&serve, &preview] {
        let target = format!("{}?t={token}", server.path);
        // hyper refuses a length over 2^64-3 while parsing the head, with
        // 431 (that header field is too large); any other too long body
        // gets 413 from the limit. Neither reads a byte of the body.
        for (length, refusal) in [("18446744073709551615", 431), ("100000000000000", 413)] {
            let started = Instant::now();
            let response = server.raw(&format!(
                "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\n\r\n",
                server.addr
            ));
            assert_eq!(status(&response), refusal, "{length}: {response}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "answered without waiting for the body"
            );
            let next = server.raw_get(&server.path);
            assert!(
                [200, 400].contains(&status(&next)),
                "the server still answers after Content-Length {length}: {next}"
            );
        }
        // A chunked body is cut at 64 KB too.
        let mut stream = server.connect();
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.addr
        );
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
        for _ in 0..8 {
            if stream.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let response = read_response(&mut stream);
        assert_eq!(status(&response), 413, "128 KB chunked: {response}");
    }
    assert!(
        subscribed(&project, "about-japan").contains(&"jane@example.de".to_string()),
        "a refused request changes nothing"
    );
}

/// A request whose body never comes holds no one else up, and its
/// connection is closed after the body timeout.
#[test]
fn a_stalled_body_delays_no_one_and_is_cut_off() {
    let project = mail_project(25);
    let token = sign(&key(), "jane@example.de", "about-japan");
    for server in Server::serve_and_preview(&project, &["--body-timeout", "3"]) {
        // A one-click POST with a valid token, its body announced (10 KB:
        // more than tiny_http read ahead, less than the limit) and never sent.
        let mut stalled = server.connect();
        stalled
            .write_all(
                format!(
                    "POST {}?t={token} HTTP/1.1\r\nHost: {}\r\nContent-Length: 10000\r\n\r\nabc",
                    server.path, server.addr
                )
                .as_bytes(),
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        let other = server.raw_get(&server.path);
        assert!([200, 400].contains(&status(&other)), "{other}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "another client waited {:?}",
            started.elapsed()
        );
        assert_closed_within(
            &mut stalled,
            Duration::from_secs(8),
            "the stalled connection is closed after the body timeout",
        );
    }
}

/// Headers over 16 KB get 431; a 256 MB header line is refused while it
/// streams in, and the server's memory stays small.
#[test]
fn oversized_headers_get_431_and_memory_stays_small() {
    let project = mail_project(25);
    for server in Server::serve_and_preview(&project, &[]) {
        let big = "a".repeat(20 * 1024);
        let response = server.raw(&format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nX-Big: {big}\r\n\r\n",
            server.path, server.addr
        ));
        assert_eq!(status(&response), 431, "{response}");

        let mut stream = server.connect();
        let head = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nX-Huge: ",
            server.path, server.addr
        );
        stream.write_all(head.as_bytes()).unwrap();
        let block = vec![b'a'; 1 << 20];
        let mut sent = 0;
        while sent < 256 << 20 && stream.write_all(&block).is_ok() {
            sent += block.len();
        }
        assert!(sent < 256 << 20, "the server hung up before taking 256 MB");
        let peak = server.peak_kb();
        eprintln!(
            "{}: peak RSS {peak} kB after a header line of {sent} bytes",
            server.path
        );
        assert!(peak < 64 * 1024, "peak RSS {peak} kB");
        let next = server.raw_get(&server.path);
        assert!([200, 400].contains(&status(&next)), "{next}");
    }
}

/// A connection that says nothing, sends its headers a byte at a time, or
/// stays idle after a response is closed after the idle timeout.
#[test]
fn idle_connections_and_slow_headers_time_out() {
    let project = mail_project(25);
    for server in Server::serve_and_preview(&project, &["--idle-timeout", "1"]) {
        let mut silent = server.connect();
        let mut slow = server.connect();
        let mut kept = server.connect();
        kept.write_all(format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", server.path, server.addr).as_bytes())
            .unwrap();
        let first = read_response(&mut kept);
        assert!([200, 400].contains(&status(&first)), "{first}");
        let started = Instant::now();
        let mut slow_cut = false;
        for byte in format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
            server.path, server.addr
        )
        .bytes()
        .chain(std::iter::repeat(b'a'))
        {
            if slow.write_all(&[byte]).is_err() {
                slow_cut = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            if started.elapsed() > Duration::from_secs(6) {
                break;
            }
        }
        assert!(
            slow_cut || closed_within(&mut slow, Duration::from_millis(100)),
            "slow headers are cut off"
        );
        assert_closed_within(
            &mut silent,
            Duration::from_secs(3),
            "a silent connection is closed",
        );
        assert_closed_within(
            &mut kept,
            Duration::from_secs(3),
            "an idle keep-alive connection is closed",
        );
    }
}

/// Beyond `--max-connections`, with every connection busy (a body that
/// never comes), a new connection waits (no thread, no answer) until one
/// closes; then it is served.
#[test]
fn connections_beyond_the_cap_wait_while_every_one_is_busy() {
    let project = mail_project(25);
    let server = Server::serve(&project, &["--max-connections", "4", "--body-timeout", "2"]);
    let stalled = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\nabc",
        server.path, server.addr
    );
    let busy: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = server.connect();
            stream.write_all(stalled.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut waiting = server.connect();
    waiting
        .write_all(format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", server.path, server.addr).as_bytes())
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buffer = [0u8; 16];
    assert!(
        waiting.read(&mut buffer).is_err(),
        "a fifth connection is not served while four have a request in hand"
    );
    waiting.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let response = read_response(&mut waiting);
    assert_eq!(
        status(&response),
        400,
        "served once a busy one was cut off: {response}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    drop(busy);
}

/// A GET on `stream` (keep-alive); the response's status.
fn get_on(stream: &mut TcpStream, server: &Server, target: &str) -> u16 {
    stream
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes())
        .unwrap();
    status(&read_response(stream))
}

/// The audit's greedy client: 4,200 keep-alive connections from one
/// address, each asking for `/favicon.ico` every few seconds, held another
/// client's `GET /subscribe` unanswered for 90 s. Its connections past
/// `--max-connections-per-client` (64) are refused with 503 at once, and
/// another client (127.0.0.2) is answered at once throughout.
#[test]
fn one_greedy_client_keeps_no_other_client_waiting() {
    let project = signup_project();
    let server = Server::serve(&project, &[]);
    // The test holds every connection: as many as its file limit allows.
    let count = 4200.min(open_files_limit().saturating_sub(400));
    eprintln!("the greedy client opens {count} connections");
    let mut greedy: Vec<TcpStream> = (0..count)
        .map(|_| connect_from("127.0.0.1", &server.addr))
        .collect();
    let favicon = format!("GET /favicon.ico HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (served, waits) = std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let mut waits = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let mut stream = connect_from("127.0.0.2", &server.addr);
                stream
                    .write_all(
                        format!(
                            "GET /subscribe HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                            server.addr
                        )
                        .as_bytes(),
                    )
                    .unwrap();
                let response = read_response(&mut stream);
                waits.push(started.elapsed());
                assert_eq!(status(&response), 200, "the other client's form: {response}");
                assert!(response.contains("name=\"email\""), "{response}");
                std::thread::sleep(Duration::from_millis(100));
            }
            waits
        });
        // Three rounds, a few seconds apart: each connection asks again.
        let mut served = 0;
        for round in 0..3 {
            if round > 0 {
                std::thread::sleep(Duration::from_secs(2));
            }
            for stream in &mut greedy {
                let _ = stream.write_all(favicon.as_bytes());
            }
            served = greedy
                .iter_mut()
                .map(read_response)
                .filter(|response| response.starts_with("HTTP/1.1 204"))
                .count();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (served, other.join().unwrap())
    });
    let longest = waits.iter().max().unwrap();
    eprintln!(
        "{served} of {count} greedy connections served; the other client asked {} times, waited at most {longest:?}; server peak RSS {} kB",
        waits.len(),
        server.peak_kb()
    );
    assert!(
        *longest < Duration::from_secs(2),
        "the other client waited {longest:?}"
    );
    assert!(
        waits.len() >= 10,
        "the other client was answered throughout: {waits:?}"
    );
    assert_eq!(
        served, 64,
        "one client holds --max-connections-per-client connections"
    );
    let mut refused = connect_from("127.0.0.1", &server.addr);
    let response = read_response(&mut refused);
    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(header_of(&response, "Retry-After"), Some("10"), "{response}");
    assert!(server.peak_kb() < 64 * 1024, "peak RSS {} kB", server.peak_kb());
}

/// At `--max-connections`, the connection idle the longest is closed for a
/// new client, who is answered at once; the others stay open.
#[test]
fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let project = mail_project(25);
    let server = Server::serve(
        &project,
        &["--max-connections", "12", "--max-connections-per-client", "4"],
    );
    let mut idle = Vec::new();
    for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        for _ in 0..4 {
            let mut stream = connect_from(source, &server.addr);
            assert_eq!(get_on(&mut stream, &server, &server.path), 400);
            idle.push(stream);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let started = Instant::now();
    let mut newcomer = connect_from("127.0.0.5", &server.addr);
    assert_eq!(get_on(&mut newcomer, &server, &server.path), 400);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the new client waited {:?}",
        started.elapsed()
    );
    assert_closed_within(
        &mut idle[0],
        Duration::from_secs(2),
        "the oldest idle connection was closed",
    );
    for (i, stream) in idle.iter_mut().enumerate().skip(1) {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(
            get_on(stream, &server, &server.path),
            400,
            "connection {i} still serves"
        );
    }
}

/// A connection serves `--max-requests-per-connection` requests; the last
/// answer says `Connection: close`, and the connection closes.
#[test]
fn a_connection_serves_a_bounded_number_of_requests() {
    let project = mail_project(25);
    for server in Server::serve_and_preview(&project, &["--max-requests-per-connection", "3"]) {
        let mut stream = server.connect();
        let request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", server.path, server.addr);
        for i in 1..=3 {
            stream.write_all(request.as_bytes()).unwrap();
            let response = read_response(&mut stream);
            assert!([200, 400].contains(&status(&response)), "{response}");
            let close = header_of(&response, "Connection") == Some("close");
            assert_eq!(close, i == 3, "request {i}: {response}");
        }
        assert_closed_within(&mut stream, Duration::from_secs(2), "closed after the third");
    }
}

/// A trusted proxy's connections carry many clients: they are not capped as
/// one client's; an untrusted address's are.
#[test]
fn a_trusted_proxys_connections_are_not_one_clients() {
    let project = mail_project(25);
    project.edit_config("[site]\n", "[site]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let server = Server::serve(&project, &["--max-connections-per-client", "2"]);
    let mut proxy: Vec<TcpStream> = (0..5).map(|_| connect_from("127.0.0.1", &server.addr)).collect();
    for stream in &mut proxy {
        assert_eq!(get_on(stream, &server, &server.path), 400);
    }
    let mut client: Vec<TcpStream> = (0..3).map(|_| connect_from("127.0.0.2", &server.addr)).collect();
    assert_eq!(get_on(&mut client[0], &server, &server.path), 400);
    assert_eq!(get_on(&mut client[1], &server, &server.path), 400);
    let third = read_response(&mut client[2]);
    assert_eq!(status(&third), 503, "the third from one client: {third}");
}

/// DNS rebinding: preview answers only requests addressed to the loopback
/// names with its own port; serve, public, answers any Host.
#[test]
fn preview_answers_only_its_loopback_host() {
    let project = mail_project(25);
    let preview = Server::preview(&project, &[]);
    let port = preview.addr.rsplit(':').next().unwrap();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("LocalHost:{port}"),
    ] {
        let response = preview.raw(&format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(status(&response), 200, "{host}: {response}");
        assert!(response.contains("Next editions"));
    }
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        "localhost:1".to_string(),
        format!("127.0.0.1.evil.example:{port}"),
        "127.0.0.1".to_string(),
    ] {
        let response = preview.raw(&format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(status(&response), 421, "{host}: {response}");
        assert!(
            !response.contains("jane@example.de"),
            "no subscriber leaks to {host}"
        );
    }
    let response = preview.raw("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status(&response), 421, "no Host at all: {response}");

    let serve = Server::serve(&project, &[]);
    let response = serve.raw(&format!(
        "GET {} HTTP/1.1\r\nHost: news.eu-japan.eu\r\nConnection: close\r\n\r\n",
        serve.path
    ));
    assert_eq!(
        status(&response),
        400,
        "serve is public: any Host, a missing token: {response}"
    );
}

/// Issue 25, item 12: two `Host` headers, the allowed one first, passed
/// preview's check. Both servers refuse a request with more than one Host
/// (400), in either order; the same request with one Host is answered.
#[test]
fn a_request_with_two_host_headers_is_refused_by_preview_and_serve() {
    let project = mail_project(25);
    let preview = Server::preview(&project, &[]);
    let serve = Server::serve(&project, &[]);
    for (server, target, answered) in [(&preview, "/", 200), (&serve, "/favicon.ico", 204)] {
        let own = server.addr.clone();
        let one = server.raw(&format!(
            "GET {target} HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(status(&one), answered, "{one}");
        for hosts in [
            [own.as_str(), "evil.example"],
            ["evil.example", own.as_str()],
            [own.as_str(), own.as_str()],
        ] {
            let response = server.raw(&format!(
                "GET {target} HTTP/1.1\r\nHost: {}\r\nHost: {}\r\nConnection: close\r\n\r\n",
                hosts[0], hosts[1]
            ));
            assert_eq!(status(&response), 400, "{hosts:?}: {response}");
            assert!(response.contains("one Host, not several"), "{response}");
            assert!(!response.contains("jane@example.de"), "{response}");
        }
    }
}

/// What `preview --listen LISTEN` writes to stderr until it is listening.
fn preview_stderr(project: &Project, listen: &str) -> String {
    let mut child = project
        .command(&["preview", "--listen", listen, "--date", "2026-11-23"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    first_line(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    stderr
}

/// A preview listening beyond this machine says so.
#[test]
fn a_preview_listening_beyond_loopback_warns() {
    let project = mail_project(25);
    let stderr = preview_stderr(&project, "0.0.0.0:0");
    assert!(
        stderr.contains("warning") && stderr.contains("0.0.0.0"),
        "stderr: {stderr}"
    );
    let stderr = preview_stderr(&project, "127.0.0.1:0");
    assert!(!stderr.contains("warning"), "loopback: no warning: {stderr}");
}

/// The headers a security reviewer expects, on every page of both servers.
#[test]
fn every_page_carries_the_security_headers() {
    let project = mail_project(25);
    let serve = Server::serve(&project, &[]);
    let preview = Server::preview(&project, &[]);
    let token = sign(&key(), "jane@example.de", "about-japan");
    let pages = [
        (&serve, format!("{}?t={token}", serve.path), 200),
        (&serve, format!("{}?t=forged", serve.path), 400),
        (&serve, "/elsewhere".to_string(), 404),
        (&preview, "/".to_string(), 200),
        (&preview, "/n/about-japan.html".to_string(), 200),
        (
            &preview,
            "/n/about-japan.html?as=jane%40example.de".to_string(),
            200,
        ),
        (&preview, "/n/about-japan.txt".to_string(), 200),
        (&preview, "/__version".to_string(), 200),
        (&preview, "/nowhere".to_string(), 404),
    ];
    for (server, target, code) in pages {
        let response = server.raw_get(&target);
        assert_eq!(status(&response), code, "{target}: {response}");
        for (name, value) in [
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ] {
            assert_eq!(header_of(&response, name), Some(value), "{target}: {name}");
        }
        let policy = header_of(&response, "Content-Security-Policy").unwrap_or_default();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{target}: CSP {policy:?}"
        );
    }
}

/// SIGTERM (and Ctrl-C, SIGINT) lets a request in flight finish, then exits 0.
#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let project = mail_project(25);
    for signal in ["-TERM", "-INT"] {
        let mut server = Server::serve(&project, &[]);
        let token = sign(&key(), "jane@example.de", "eu-japan-news");
        let mut stream = server.connect();
        let body = "List-Unsubscribe=One-Click";
        stream
            .write_all(
                format!(
                    "POST {}?t={token} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{}",
                    server.path,
                    server.addr,
                    body.len(),
                    &body[..10]
                )
                .as_bytes(),
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let _idle = server.connect();
        server.signal(signal);
        std::thread::sleep(Duration::from_millis(200));
        stream.write_all(&body.as_bytes()[10..]).unwrap();
        let response = read_response(&mut stream);
        assert_eq!(
            status(&response),
            200,
            "{signal}: the request in flight is answered: {response}"
        );
        assert!(response.contains("You are unsubscribed"), "{response}");
        assert_eq!(server.exit_code(Duration::from_secs(10)), Some(0), "{signal}");
        assert!(
            !subscribed(&project, "eu-japan-news").contains(&"jane@example.de".to_string()),
            "{signal}: the unsubscribe was stored"
        );
        project.import_from_before(SUBSCRIBERS);
    }
}

/// Another process holds a write transaction on the store: a one-click POST
/// answers 503 with Retry-After within two seconds, and the unsubscribe is
/// kept in the spool: applied by serve when the store is free, and by
/// `send` before it picks recipients even when serve was stopped.
#[test]
fn a_busy_store_answers_503_and_loses_no_unsubscribe() {
    let Some(sink) = Sink::start(&[]) else { return };
    let project = mail_project(sink.port);
    let store = project.path("bulletin.sqlite");
    let server = Server::serve(&project, &[]);
    let post = |email: &str, newsletter: &str| {
        let token = sign(&key(), email, newsletter);
        let body = "List-Unsubscribe=One-Click";
        server.raw(&format!(
            "POST {}?t={token} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            server.path,
            server.addr,
            body.len()
        ))
    };

    // serve applies what it kept as soon as the store is free.
    let holder = rusqlite::Connection::open(&store).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let response = post("jane@example.de", "about-japan");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(status(&response), 503, "{response}");
    assert!(header_of(&response, "Retry-After").is_some(), "{response}");
    assert!(response.contains("taken care of"), "{response}");
    let spool = project.path("bulletin.sqlite.unsubscribes");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&spool).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the spool holds addresses: owner only");
    holder.execute_batch("COMMIT").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribed(&project, "about-japan").contains(&"jane@example.de".to_string()) {
        assert!(Instant::now() < deadline, "serve applied the kept unsubscribe");
        std::thread::sleep(Duration::from_millis(200));
    }

    // serve stopped before the store was free: the next send applies it.
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let response = post("taro@example.jp", "eu-japan-news");
    assert_eq!(status(&response), 503, "{response}");
    server.signal("-TERM");
    drop(server);
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(
        sink.deliveries(),
        vec![("jane@example.de".to_string(), "eu-japan-news".to_string())],
        "jane left about-japan (applied by serve), taro eu-japan-news (applied by the send)"
    );
    assert!(!subscribed(&project, "eu-japan-news").contains(&"taro@example.jp".to_string()));
}

/// Issue 25, item 9: with the store held by another process, 1,000
/// one-click POSTs of one token leave one line in the spool, each answered
/// "taken care of"; 200 forged tokens (each different) are refused 400 and
/// add nothing. The spool's cap itself is `spool.rs`'s unit test.
#[test]
fn one_token_posted_a_thousand_times_while_the_store_is_busy_is_kept_once() {
    let project = mail_project(25);
    let store = project.path("bulletin.sqlite");
    let server = Server::serve(&project, &[]);
    let post = |token: &str| {
        let body = "List-Unsubscribe=One-Click";
        server.raw(&format!(
            "POST {}?t={token} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            server.path,
            server.addr,
            body.len()
        ))
    };
    let holder = rusqlite::Connection::open(&store).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let token = sign(&key(), "jane@example.de", "about-japan");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..250 {
                    let response = post(&token);
                    assert_eq!(status(&response), 503, "{response}");
                    assert!(response.contains("taken care of"), "{response}");
                }
            });
        }
    });
    let spool = project.path("bulletin.sqlite.unsubscribes");
    let kept = std::fs::read_to_string(&spool).unwrap();
    assert_eq!(kept.lines().count(), 1, "one line for one token:\n{kept}");
    assert!(
        kept.contains("jane@example.de") && kept.contains("about-japan"),
        "{kept}"
    );

    let mut forged = token.clone().into_bytes();
    for n in 0..200usize {
        let at = n % forged.len();
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let response = post(std::str::from_utf8(&forged).unwrap());
        assert_eq!(status(&response), 400, "{response}");
    }
    assert_eq!(
        std::fs::read_to_string(&spool).unwrap(),
        kept,
        "forged tokens are not kept"
    );
    holder.execute_batch("COMMIT").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribed(&project, "about-japan").contains(&"jane@example.de".to_string()) {
        assert!(Instant::now() < deadline, "serve applied the kept unsubscribe");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Tokens in mail already sent (`base64(email\nnewsletter).base64(hmac)`)
/// still unsubscribe; new tokens carry neither the address nor the newsletter.
#[test]
fn an_old_format_token_still_unsubscribes() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, KeyInit, Mac};
    let project = mail_project(25);
    let server = Server::serve(&project, &[]);
    let payload = "jane@example.de\nabout-japan";
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    let old = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let response = server.raw(&format!(
        "POST {}?t={old} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.path, server.addr
    ));
    assert_eq!(status(&response), 200, "{response}");
    assert!(!subscribed(&project, "about-japan").contains(&"jane@example.de".to_string()));
    let new = sign(&key(), "taro@example.jp", "about-japan");
    assert_ne!(new, old);
    for clear in [
        "taro".to_string(),
        "example.jp".to_string(),
        "about-japan".to_string(),
        URL_SAFE_NO_PAD.encode("taro@example.jp"),
        URL_SAFE_NO_PAD.encode("taro@example.jp\nabout-japan")[..12].to_string(),
    ] {
        assert!(!new.contains(&clear), "{new} shows {clear}");
    }
}

/// A signing key anyone could guess is refused before serving.
#[test]
fn a_guessable_signing_key_is_refused() {
    let project = mail_project(25);
    for weak in [
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "                        ",
        "abababababababababababab",
    ] {
        let run = crate::common::Run::from(
            project
                .command(&["serve", "--listen", "127.0.0.1:0"])
                .env(KEY_ENV, weak)
                .output()
                .unwrap(),
        );
        run.assert_code(1);
        assert!(
            run.stderr.contains(KEY_ENV) && run.stderr.contains("openssl rand -base64 32"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn preview_reads_a_store_its_user_may_not_write() {
    let project = Project::published_to_one_subscriber();
    let store = project.path("bulletin.sqlite");
    chmod(&store, 0o444);
    chmod(project.dir.path(), 0o555);
    let args = ["preview", "--listen", "127.0.0.1:0", "--date", "2026-11-30"];
    let server = Server::start(project.reader_command(&args));
    let index = server.raw_get("/");
    drop(server);
    chmod(project.dir.path(), 0o755);
    chmod(&store, 0o644);
    assert_eq!(status(&index), 200, "{index}");
    // No. 1 of every newsletter is in the store: the preview shows the next.
    assert!(index.contains("No. 2"), "{index}");
    assert!(
        index.contains("jane@example.de"),
        "the stored subscribers are offered: {index}"
    );
}
