//! Load generator for `bulletin serve` (see `benches/serve.sh`):
//!
//! `load csv N` prints a subscriber CSV of N readers of all five newsletters.
//!
//! `load run ADDR PATH PID IDLE CLIENTS SECONDS` holds IDLE keep-alive
//! connections open (each has fetched one page, then stays silent), then
//! runs CLIENTS connections sending RFC 8058 one-click POSTs with valid
//! tokens (signed with `$BULLETIN_UNSUBSCRIBE_KEY`, each for another
//! reader and newsletter) back to back for SECONDS, and prints the POSTs
//! per second, the latency percentiles, how many idle connections are
//! still open, and the peak RSS of process PID (the server). The idle
//! connections come from 127.0.0.2, 127.0.0.3… (32 from each), as idle
//! clients do from many addresses: one address holds at most
//! `--max-connections-per-client` (64). A client whose connection is
//! closed after `--max-requests-per-connection` opens another.
//!
//! `load greedy ADDR PID CONNECTIONS SECONDS` is the audit's greedy
//! client: CONNECTIONS keep-alive connections from 127.0.0.1, each asking
//! for `/favicon.ico` every 3 s, for SECONDS; meanwhile another client
//! (127.0.0.2) asks for `/subscribe` every 100 ms. Prints how many of the
//! greedy connections were served and refused, how long the other client
//! waited (p50, p99, longest), and the server's peak RSS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use bulletin::audience::{Key, sign};

const NEWSLETTERS: [&str; 5] = [
    "eu-japan-news",
    "industry-policy",
    "about-japan",
    "tax-procurement",
    "tech-transfer",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("csv") => csv(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000)),
        Some("run") if args.len() == 7 => run(&args[1..]),
        Some("greedy") if args.len() == 5 => greedy(&args[1..]),
        _ => {
            eprintln!(
                "usage: load csv N | load run ADDR PATH PID IDLE CLIENTS SECONDS | load greedy ADDR PID CONNECTIONS SECONDS"
            );
            std::process::exit(2);
        }
    }
}

fn email(i: usize) -> String {
    format!("reader{i:05}@example.eu")
}

fn csv(readers: usize) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "email,name,organisation,organisation_type,country,newsletters,consent_date"
    );
    for i in 0..readers {
        let _ = writeln!(
            out,
            "{},Reader {i},Org {i},company,DE,{},2025-01-01",
            email(i),
            NEWSLETTERS.join(";")
        );
    }
}

fn run(args: &[String]) {
    let (addr, path, pid) = (&args[0], &args[1], &args[2]);
    let number = |i: usize| args[i].parse::<usize>().expect("a number");
    let (idle, clients, seconds) = (number(3), number(4), number(5));
    let key = std::env::var("BULLETIN_UNSUBSCRIBE_KEY").expect("BULLETIN_UNSUBSCRIBE_KEY is set");
    let key = Key::new(key.into_bytes()).expect("a valid key");
    let readers = 10_000;

    // Every request ready before the clock starts: the generator shares the cores.
    let body = "List-Unsubscribe=One-Click";
    let requests: Vec<String> = (0..readers * NEWSLETTERS.len())
        .map(|i| {
            let token = sign(&key, &email(i % readers), NEWSLETTERS[i / readers]);
            format!(
                "POST {path}?t={token} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .collect();

    let page = format!(
        "GET {path}?t={} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        sign(&key, &email(0), NEWSLETTERS[0])
    );
    let held: Vec<BufReader<TcpStream>> = (0..idle)
        .map(|i| {
            let source = format!("127.0.0.{}", 2 + i / IDLE_PER_ADDRESS);
            let mut stream = BufReader::new(connect_from(&source, addr));
            stream.get_mut().write_all(page.as_bytes()).unwrap();
            assert_eq!(response(&mut stream).0, 200, "the idle connections' page");
            stream
        })
        .collect();
    eprintln!("{} idle keep-alive connections open", held.len());

    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds as u64);
    let mut latencies: Vec<u32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let connect = || {
                        let stream = TcpStream::connect(addr).expect("a client connection");
                        let _ = stream.set_nodelay(true);
                        BufReader::new(stream)
                    };
                    let mut stream = connect();
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let request = &requests[next.fetch_add(1, Ordering::Relaxed) % requests.len()];
                        let sent = Instant::now();
                        stream.get_mut().write_all(request.as_bytes()).unwrap();
                        let (status, close) = response(&mut stream);
                        assert_eq!(status, 200, "a one-click POST");
                        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                        if close {
                            stream = connect();
                        }
                    }
                    latencies
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    // p is in [0, 1], so the index is in 0..=len: no sign, no truncation.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64 / 1000.0;
    let still_open = held
        .iter()
        .filter(|s| {
            let stream = s.get_ref();
            stream.set_nonblocking(true).unwrap();
            let mut byte = [0u8; 1];
            matches!(stream.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    let peak = peak_rss(pid);
    println!(
        "{} one-click POSTs in {elapsed:.1} s over {clients} connections: {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {still_open} of {idle} idle connections still open; server peak RSS {peak}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
    );
}

/// Idle connections from one loopback address, under serve's per-client cap.
const IDLE_PER_ADDRESS: usize = 32;

/// A connection to `addr` from the loopback address `source` (127.0.0.0/8
/// is all loopback on Linux: to the server, another client).
fn connect_from(source: &str, addr: &str) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    let local: SocketAddr = format!("{source}:0").parse().expect("a loopback address");
    socket.bind(&local.into()).expect("bound to a loopback address");
    let remote: SocketAddr = addr.parse().expect("ADDR is IP:PORT");
    socket.connect(&remote.into()).expect("a connection");
    socket.into()
}

/// The server's peak RSS (VmHWM), as /proc says it.
fn peak_rss(pid: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map_or("?".to_string(), |v| v.trim().to_string())
}

/// The audit's greedy client against another client's `GET /subscribe`.
fn greedy(args: &[String]) {
    let (addr, pid) = (&args[0], &args[1]);
    let number = |i: usize| args[i].parse::<usize>().expect("a number");
    let (count, seconds) = (number(2), number(3));
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let favicon = format!("GET /favicon.ico HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut greedy: Vec<BufReader<TcpStream>> = (0..count)
        .map(|_| {
            let stream = connect_from("127.0.0.1", addr);
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            BufReader::new(stream)
        })
        .collect();
    eprintln!("{count} greedy connections opened from 127.0.0.1");
    let done = AtomicBool::new(false);
    let (served, mut waits) = std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let mut waits = Vec::new();
            let form = format!("GET /subscribe HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                let mut stream = BufReader::new(connect_from("127.0.0.2", addr));
                stream.get_mut().write_all(form.as_bytes()).unwrap();
                assert_eq!(response(&mut stream).0, 200, "the other client's form");
                waits.push(started.elapsed());
                std::thread::sleep(Duration::from_millis(100));
            }
            waits
        });
        let mut served = 0;
        while Instant::now() < deadline {
            let round = Instant::now();
            for stream in &mut greedy {
                let _ = stream.get_mut().write_all(favicon.as_bytes());
            }
            served = greedy
                .iter_mut()
                .map(try_response)
                .filter(|answer| answer.as_ref().is_ok_and(|(status, _)| *status == 204))
                .count();
            std::thread::sleep(Duration::from_secs(3).saturating_sub(round.elapsed()));
        }
        done.store(true, Ordering::Relaxed);
        (served, other.join().unwrap())
    });
    waits.sort_unstable();
    let at = |p: f64| {
        // p is in [0, 1], so the index is in 0..=len: no sign, no truncation.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((waits.len() as f64 * p) as usize).min(waits.len() - 1);
        waits[i].as_secs_f64() * 1000.0
    };
    println!(
        "greedy client: {served} of {count} connections served, {} refused or closed; another client's GET /subscribe \
         ({} asked): p50 {:.1} ms, p99 {:.1} ms, longest {:.1} ms; server peak RSS {}",
        count - served,
        waits.len(),
        at(0.5),
        at(0.99),
        at(1.0),
        peak_rss(pid),
    );
}

/// Reads one response: its status, and whether it closes the connection.
fn response(stream: &mut BufReader<TcpStream>) -> (u16, bool) {
    try_response(stream).expect("a response")
}

/// Reads one response: its status, and whether it closes the connection.
/// The body is read to its Content-Length (none for a 204).
fn try_response(stream: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let (mut length, mut close) = (0, false);
    loop {
        line.clear();
        stream.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok((status, close))
}
