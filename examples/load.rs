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
//! still open, and the peak RSS of process PID (the server).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bulletin::deliver::{Key, sign};

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
        _ => {
            eprintln!("usage: load csv N | load run ADDR PATH PID IDLE CLIENTS SECONDS");
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
        .map(|_| {
            let mut stream = BufReader::new(TcpStream::connect(addr).expect("an idle connection"));
            stream.get_mut().write_all(page.as_bytes()).unwrap();
            assert_eq!(response(&mut stream), 200, "the idle connections' page");
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
                    let mut stream = BufReader::new(TcpStream::connect(addr).expect("a client connection"));
                    let _ = stream.get_ref().set_nodelay(true);
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let request = &requests[next.fetch_add(1, Ordering::Relaxed) % requests.len()];
                        let sent = Instant::now();
                        stream.get_mut().write_all(request.as_bytes()).unwrap();
                        let status = response(&mut stream);
                        assert_eq!(status, 200, "a one-click POST");
                        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map_or("?".to_string(), |v| v.trim().to_string());
    println!(
        "{} one-click POSTs in {elapsed:.1} s over {clients} connections: {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {still_open} of {idle} idle connections still open; server peak RSS {peak}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
    );
}

/// Reads one response; its status. The body is read to its Content-Length.
fn response(stream: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    stream.read_line(&mut line).expect("a status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        stream.read_line(&mut line).expect("a header");
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).expect("the body");
    status
}
