//! Fetching feeds over HTTP, politely and within bounds: a time limit per
//! feed and for the whole fetch, a size cap enforced while reading, gzip, a
//! few redirects (a permanent one remembered), retries with back-off and
//! jitter on timeouts, 429 and 5xx (honouring Retry-After), a bounded number
//! of requests at once overall and per host, and conditional GETs.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::backoff::BackOff;
use crate::config::Fetch;
use crate::domain::Validators;

/// What a GET brought.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per feed, moved once: boxing buys nothing
pub(crate) enum Response {
    Body {
        bytes: Vec<u8>,
        /// The Content-Type header: its charset says how to decode the feed.
        content_type: Option<String>,
        validators: Validators,
        /// The URL the body came from, after redirects: relative links resolve against it.
        url: url::Url,
    },
    /// 304: unchanged since the validators were given.
    NotModified,
}

/// A response, or why there is none.
pub(crate) type Fetched = Result<Response, FetchError>;

/// Why a feed was not fetched: what the last try came to, and how many
/// tries were made (said when the failure was retried).
#[derive(Debug, thiserror::Error)]
#[error("{failure}{}", after(*tries))]
pub(crate) struct FetchError {
    failure: Failure,
    /// The GETs made: more than one when a timeout, a broken connection,
    /// 429 or 5xx was retried; none when the whole fetch's time ran out first.
    tries: u32,
}

/// " (after N tries)" when there was more than one.
fn after(tries: u32) -> String {
    if tries > 1 {
        format!(" (after {tries} tries)")
    } else {
        String::new()
    }
}

/// What one GET (its redirects followed) came to, in words a person can
/// act on rather than the transport's.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("not fetched: the whole fetch passed its {0} s limit")]
    PastTotal(u64),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("HTTP status {0} without a usable Location")]
    NoLocation(u16),
    #[error("redirected to a {0} URL, which is not fetched")]
    Scheme(String),
    /// A redirect to an address the feed may not reach (see [`Reach`]).
    #[error("refused a redirect to {to}: {}", reach.describe())]
    Unreachable { to: url::Url, reach: Reach },
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
    #[error("timed out after {0} s")]
    TimedOut(u64),
    #[error("larger than the {0}-byte limit")]
    TooLarge(u64),
    #[error("host not found")]
    HostNotFound,
    #[error("connection refused or unreachable")]
    ConnectionFailed,
    #[error("connection refused")]
    ConnectionRefused,
    /// Anything else, in the words of ureq or the system (a name that
    /// resolves only to addresses the feed may not reach among them).
    #[error("{0}")]
    Transport(String),
}

/// The User-Agent sent when the config names none.
pub(crate) fn default_user_agent() -> String {
    format!("bulletin/{} (newsletter generator)", env!("CARGO_PKG_VERSION"))
}

/// Fetches every URL, conditionally when validators are known; results
/// come back in the order asked.
///
/// `now` is the time the command started, as `main` read it: no fetch
/// reads the wall clock (see [`Since`]).
pub(crate) fn fetch_all(
    requests: &[(url::Url, Validators)],
    fetch: &Fetch,
    now: DateTime<Utc>,
) -> Vec<Fetched> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(fetch.timeout_secs)))
        .user_agent(fetch.user_agent.clone().unwrap_or_else(default_user_agent))
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let found = Arc::new(Mutex::new(HashMap::new()));
    let mut agents: HashMap<Allowed, ureq::Agent> = HashMap::new();
    for (url, _) in requests {
        let allowed = Allowed::for_feed(url);
        agents.entry(allowed).or_insert_with(|| {
            let resolver = Guarded {
                allowed,
                found: Arc::clone(&found),
            };
            ureq::Agent::with_parts(config.clone(), DefaultConnector::default(), resolver)
        });
    }
    let since = Since {
        then: now,
        at: Instant::now(),
    };
    let deadline = since.at + Duration::from_secs(fetch.total_secs);
    let queue = Queue::new(
        requests
            .iter()
            .map(|(url, _)| url.host_str().unwrap_or("").to_string())
            .collect(),
    );
    let results: Mutex<Vec<Option<Fetched>>> = Mutex::new(requests.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..fetch.concurrency.clamp(1, requests.len().max(1)) {
            scope.spawn(|| {
                while let Some(index) = queue.take(fetch.per_host.max(1)) {
                    let (url, validators) = &requests[index];
                    let result = if Instant::now() >= deadline {
                        Err(FetchError {
                            failure: Failure::PastTotal(fetch.total_secs),
                            tries: 0,
                        })
                    } else {
                        let allowed = Allowed::for_feed(url);
                        get_with_retries(
                            &agents[&allowed],
                            allowed,
                            url,
                            validators,
                            fetch,
                            deadline,
                            since,
                        )
                    };
                    results.lock().expect("a fetch thread panicked")[index] = Some(result);
                    queue.done(index);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("a fetch thread panicked")
        .into_iter()
        .map(|result| result.expect("every index is fetched"))
        .collect()
}

/// A host's addresses looked up once a fetch, however many of its feeds
/// are fetched (ureq looks a host up for every request, each lookup on a
/// thread of its own, so that it can time out), and only those a feed may
/// reach given to ureq: a public name that resolves to an internal address
/// (a cloud metadata service, a router) is refused before connecting.
#[derive(Debug)]
struct Guarded {
    allowed: Allowed,
    /// Shared by the agents of one fetch, by scheme and authority.
    found: Arc<Mutex<HashMap<String, ResolvedSocketAddrs>>>,
}

impl Resolver for Guarded {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // With the scheme: the addresses carry the port, which it implies.
        let host = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str())
        );
        let cached = self.found.lock().expect("poisoned").get(&host).cloned();
        let found = match cached {
            Some(found) => found,
            None => {
                let found = DefaultResolver::default().resolve(uri, config, timeout)?;
                self.found.lock().expect("poisoned").insert(host, found.clone());
                found
            }
        };
        let mut kept = self.empty();
        for address in found.iter().filter(|a| self.allowed.admits(Reach::of(a.ip()))) {
            kept.push(*address);
        }
        match found.first() {
            Some(refused) if kept.is_empty() => Err(ureq::Error::Other(Box::new(Refused(format!(
                "{} resolves to {}, {}: not fetched",
                uri.host().unwrap_or(""),
                refused.ip(),
                Reach::of(refused.ip()).describe()
            ))))),
            _ => Ok(kept),
        }
    }
}

/// Why an address was not connected to, as the fetch reports it.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Where an address leads. Only public addresses are fetched, and the kind
/// of address a feed's configured URL names: writing `http://127.0.0.1/…`
/// or `http://10.0.0.5/…` in the config is the operator's choice, while a
/// redirect or a name resolving there is the feed's, and may be an attack
/// on what only this machine can reach (SSRF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reach {
    Public,
    /// 127.0.0.0/8, ::1, `localhost`.
    Loopback,
    /// RFC 1918, shared address space (100.64.0.0/10), fc00::/7, fec0::/10.
    Private,
    /// 169.254.0.0/16 (the cloud metadata address among them), fe80::/10.
    LinkLocal,
    /// Unspecified, "this network", documentation, benchmarking, multicast,
    /// reserved and broadcast ranges.
    Special,
}

impl Reach {
    /// The kind of `ip`; an IPv6 address that carries an IPv4 one (mapped,
    /// NAT64, 6to4) is the kind of the address it carries.
    pub(crate) fn of(ip: IpAddr) -> Reach {
        match ip {
            IpAddr::V4(v4) => Reach::of_v4(v4),
            IpAddr::V6(v6) => Reach::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Reach {
        let [a, b, c, _] = ip.octets();
        match (a, b, c) {
            (127, ..) => Reach::Loopback,
            (10, ..) | (172, 16..=31, _) | (192, 168, _) | (100, 64..=127, _) => Reach::Private,
            (169, 254, _) => Reach::LinkLocal,
            (0, ..)
            | (192, 0, 0 | 2)
            | (198, 18 | 19, _)
            | (198, 51, 100)
            | (203, 0, 113)
            | (224..=255, ..) => Reach::Special,
            _ => Reach::Public,
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Reach {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Reach::of_v4(v4);
        }
        let s = ip.segments();
        let embedded = |high: u16, low: u16| {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low.to_be_bytes();
            Reach::of_v4(Ipv4Addr::new(a, b, c, d))
        };
        match s {
            [0, 0, 0, 0, 0, 0, 0, 1] => Reach::Loopback,
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
            [0x64, 0xff9b, 0, 0, 0, 0, high, low] | [0x2002, high, low, ..] => embedded(high, low),
            [0, 0, 0, 0, 0, 0, ..] => Reach::Special,
            [first, ..] if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => Reach::Private,
            [first, ..] if first & 0xffc0 == 0xfe80 => Reach::LinkLocal,
            [first, ..] if first & 0xff00 == 0xff00 => Reach::Special,
            [0x2001, 0x0db8, ..] | [0x0100, 0, 0, 0, ..] => Reach::Special,
            [0x2001, second, ..] if second < 0x0200 => Reach::Special,
            _ => Reach::Public,
        }
    }

    /// The kind of address a URL names without a lookup (an IP literal, or
    /// `localhost`); `None` for another name, known only once resolved.
    pub(crate) fn of_url(url: &url::Url) -> Option<Reach> {
        match url.host()? {
            url::Host::Ipv4(ip) => Some(Reach::of_v4(ip)),
            url::Host::Ipv6(ip) => Some(Reach::of_v6(ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                (name == "localhost" || name.ends_with(".localhost")).then_some(Reach::Loopback)
            }
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Reach::Public => "a public address",
            Reach::Loopback => "a loopback address (this machine)",
            Reach::Private => "a private address",
            Reach::LinkLocal => "a link-local address",
            Reach::Special => "a reserved or special-purpose address",
        }
    }
}

/// The kinds of address one feed may be fetched from: public ones, and the
/// kind its configured URL names (the operator's opt-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Allowed(Option<Reach>);

impl Allowed {
    fn for_feed(configured: &url::Url) -> Allowed {
        Allowed(Reach::of_url(configured).filter(|&reach| reach != Reach::Public))
    }

    fn admits(self, reach: Reach) -> bool {
        reach == Reach::Public || Some(reach) == self.0
    }

    /// The kind of address `url` names when this feed may not go there.
    fn refuses(self, url: &url::Url) -> Option<Reach> {
        Reach::of_url(url).filter(|&reach| !self.admits(reach))
    }
}

/// The requests not yet taken, and how many are running per host.
struct Queue {
    hosts: Vec<String>,
    state: Mutex<(VecDeque<usize>, HashMap<String, usize>)>,
    freed: Condvar,
}

impl Queue {
    fn new(hosts: Vec<String>) -> Queue {
        Queue {
            state: Mutex::new(((0..hosts.len()).collect(), HashMap::new())),
            hosts,
            freed: Condvar::new(),
        }
    }

    /// The next request whose host has fewer than `per_host` running;
    /// waits while every pending one's host is busy; `None` when all are taken.
    fn take(&self, per_host: usize) -> Option<usize> {
        let mut state = self.state.lock().expect("queue poisoned");
        loop {
            let (pending, running) = &mut *state;
            if pending.is_empty() {
                return None;
            }
            let free = pending
                .iter()
                .position(|&i| running.get(&self.hosts[i]).copied().unwrap_or(0) < per_host);
            if let Some(position) = free {
                let index = pending.remove(position).expect("position is in range");
                *running.entry(self.hosts[index].clone()).or_default() += 1;
                return Some(index);
            }
            state = self.freed.wait(state).expect("queue poisoned");
        }
    }

    fn done(&self, index: usize) {
        let mut state = self.state.lock().expect("queue poisoned");
        if let Some(count) = state.1.get_mut(&self.hosts[index]) {
            *count -= 1;
        }
        self.freed.notify_all();
    }
}

/// What one try came to.
enum Try {
    Done(Result<Response, Failure>),
    /// Worth another try after this long (at least), with the reason.
    Again(Option<Duration>, Failure),
}

fn get_with_retries(
    agent: &ureq::Agent,
    allowed: Allowed,
    url: &url::Url,
    validators: &Validators,
    fetch: &Fetch,
    deadline: Instant,
    since: Since,
) -> Fetched {
    let mut tries = 0;
    loop {
        tries += 1;
        let failure = match get(agent, allowed, url, validators, fetch, since) {
            Try::Done(Ok(response)) => return Ok(response),
            Try::Done(Err(failure)) => failure,
            Try::Again(wait, failure) => {
                let wait = wait.unwrap_or_else(|| back_off(fetch.retry_delay_ms).delay(tries, url.as_str()));
                if tries <= fetch.retries && Instant::now() + wait < deadline {
                    std::thread::sleep(wait);
                    continue;
                }
                failure
            }
        };
        return Err(FetchError { failure, tries });
    }
}

/// A feed's retries: `retry_delay_ms × 2^(attempt-1)` (doubling at most 10
/// times) plus up to half of it, varied per URL so that retries to one host
/// do not arrive in step. A `Retry-After` from the server wins over it.
fn back_off(retry_delay_ms: u64) -> BackOff {
    BackOff {
        base_ms: retry_delay_ms,
        max_doublings: 10,
        spread_divisor: 2,
    }
}

/// One GET, following at most `fetch.max_redirects` redirects by hand so a
/// permanent one can be remembered, and none to an address the feed may
/// not reach (see [`Reach`]). A new address remembered before such
/// redirects were refused is forgotten.
fn get(
    agent: &ureq::Agent,
    allowed: Allowed,
    start: &url::Url,
    validators: &Validators,
    fetch: &Fetch,
    since: Since,
) -> Try {
    let remembered = validators
        .moved_to
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| allowed.refuses(u).is_none());
    let mut url = remembered.clone().unwrap_or_else(|| start.clone());
    let (mut hops, mut all_permanent) = (0, true);
    for _ in 0..=fetch.max_redirects {
        let mut request = agent.get(url.as_str());
        if let Some(etag) = &validators.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header("If-Modified-Since", date);
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(e @ (ureq::Error::Timeout(_) | ureq::Error::Io(_) | ureq::Error::ConnectionFailed)) => {
                return Try::Again(None, describe(e, fetch));
            }
            Err(e) => return Try::Done(Err(describe(e, fetch))),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match status {
            304 => return Try::Done(Ok(Response::NotModified)),
            301 | 302 | 303 | 307 | 308 => {
                let Some(next) = header("location").and_then(|l| url.join(&l).ok()) else {
                    return Try::Done(Err(Failure::NoLocation(status)));
                };
                if !matches!(next.scheme(), "http" | "https") {
                    return Try::Done(Err(Failure::Scheme(next.scheme().to_string())));
                }
                if let Some(reach) = allowed.refuses(&next) {
                    return Try::Done(Err(Failure::Unreachable { to: next, reach }));
                }
                hops += 1;
                all_permanent &= matches!(status, 301 | 308);
                url = next;
                continue;
            }
            429 | 500..=599 => {
                let wait = header("retry-after").and_then(|v| retry_after(&v, since.now()));
                return Try::Again(wait, Failure::Status(status));
            }
            200..=299 => {}
            _ => return Try::Done(Err(Failure::Status(status))),
        }
        let content_type = header("content-type");
        let next_validators = Validators {
            etag: header("etag"),
            last_modified: header("last-modified"),
            moved_to: if hops > 0 && all_permanent && url != *start {
                Some(url.to_string())
            } else {
                remembered.map(String::from)
            },
        };
        return match response
            .body_mut()
            .with_config()
            .limit(fetch.max_bytes)
            .read_to_vec()
        {
            Ok(bytes) => Try::Done(Ok(Response::Body {
                bytes,
                content_type,
                validators: next_validators,
                url,
            })),
            Err(e @ (ureq::Error::Timeout(_) | ureq::Error::Io(_))) => Try::Again(None, describe(e, fetch)),
            Err(e) => Try::Done(Err(describe(e, fetch))),
        };
    }
    Try::Done(Err(Failure::TooManyRedirects(fetch.max_redirects)))
}

/// Retry-After in seconds or as an HTTP date (a wait until then from
/// `now`); waits are capped at 10 minutes.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let seconds = value.trim().parse::<u64>().ok().or_else(|| {
        let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
        u64::try_from((date.timestamp() - now.timestamp()).max(0)).ok()
    })?;
    Some(Duration::from_secs(seconds.min(600)))
}

/// The wall-clock time during a fetch without reading the wall clock (only
/// `main` does): the time the command started, moved on by the monotonic
/// clock the timeouts use. An HTTP-date Retry-After names a wall-clock time;
/// this turns it into a wait.
#[derive(Debug, Clone, Copy)]
struct Since {
    /// The time `main` read.
    then: DateTime<Utc>,
    /// The moment the fetch began.
    at: Instant,
}

impl Since {
    fn now(self) -> DateTime<Utc> {
        self.then + chrono::TimeDelta::from_std(self.at.elapsed()).unwrap_or_default()
    }
}

/// The transport's error as a [`Failure`].
fn describe(error: ureq::Error, fetch: &Fetch) -> Failure {
    match error {
        ureq::Error::StatusCode(code) => Failure::Status(code),
        ureq::Error::Timeout(_) => Failure::TimedOut(fetch.timeout_secs),
        ureq::Error::BodyExceedsLimit(limit) => Failure::TooLarge(limit),
        ureq::Error::HostNotFound => Failure::HostNotFound,
        ureq::Error::ConnectionFailed => Failure::ConnectionFailed,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
        ureq::Error::Io(e) => Failure::Transport(e.to_string()),
        ureq::Error::Other(e) => Failure::Transport(e.to_string()),
        other => Failure::Transport(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified_by_where_they_lead() {
        let cases = [
            ("93.184.215.14", Reach::Public),
            ("2606:4700::1111", Reach::Public),
            ("2001:4860:4860::8888", Reach::Public),
            ("127.0.0.1", Reach::Loopback),
            ("127.255.0.9", Reach::Loopback),
            ("::1", Reach::Loopback),
            ("::ffff:127.0.0.1", Reach::Loopback),
            ("10.0.0.1", Reach::Private),
            ("172.16.0.1", Reach::Private),
            ("172.31.255.255", Reach::Private),
            ("192.168.1.1", Reach::Private),
            ("100.64.0.1", Reach::Private),
            ("fc00::1", Reach::Private),
            ("fd00:ec2::254", Reach::Private),
            ("::ffff:10.0.0.1", Reach::Private),
            ("64:ff9b::a00:1", Reach::Private),
            ("2002:c0a8:101::1", Reach::Private),
            ("169.254.169.254", Reach::LinkLocal),
            ("fe80::1", Reach::LinkLocal),
            ("0.0.0.0", Reach::Special),
            ("::", Reach::Special),
            ("224.0.0.1", Reach::Special),
            ("255.255.255.255", Reach::Special),
            ("192.0.2.1", Reach::Special),
            ("198.18.0.1", Reach::Special),
            ("2001:db8::1", Reach::Special),
            ("ff02::1", Reach::Special),
        ];
        for (ip, reach) in cases {
            assert_eq!(Reach::of(ip.parse().unwrap()), reach, "{ip}");
        }
        assert_eq!(Reach::of_v4(Ipv4Addr::new(172, 32, 0, 1)), Reach::Public);
        assert_eq!(Reach::of_v4(Ipv4Addr::new(100, 128, 0, 1)), Reach::Public);
    }

    #[test]
    fn urls_name_their_reach_when_they_can_without_a_lookup() {
        let reach = |url: &str| Reach::of_url(&url::Url::parse(url).unwrap());
        assert_eq!(reach("http://localhost:8080/feed"), Some(Reach::Loopback));
        assert_eq!(reach("http://LOCALHOST./feed"), Some(Reach::Loopback));
        assert_eq!(reach("http://a.localhost/feed"), Some(Reach::Loopback));
        assert_eq!(
            reach("http://2852039166/"),
            Some(Reach::LinkLocal),
            "decimal 169.254.169.254"
        );
        assert_eq!(reach("http://0x7f.1/"), Some(Reach::Loopback));
        assert_eq!(reach("http://[::ffff:a9fe:a9fe]/"), Some(Reach::LinkLocal));
        assert_eq!(reach("https://www.eu-japan.eu/feed"), None);
    }

    #[test]
    fn a_feed_reaches_public_addresses_and_the_kind_its_config_names() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        let public = Allowed::for_feed(&url("https://news.example/feed"));
        assert_eq!(public.refuses(&url("http://127.0.0.1/")), Some(Reach::Loopback));
        assert_eq!(
            public.refuses(&url("http://169.254.169.254/")),
            Some(Reach::LinkLocal)
        );
        assert_eq!(public.refuses(&url("https://other.example/")), None);
        let local = Allowed::for_feed(&url("http://127.0.0.1:8000/feed"));
        assert_eq!(local.refuses(&url("http://localhost:8000/new")), None);
        assert_eq!(local.refuses(&url("http://10.0.0.1/")), Some(Reach::Private));
        assert_eq!(local.refuses(&url("https://news.example/")), None);
    }

    #[test]
    fn a_name_resolving_to_an_address_the_feed_may_not_reach_is_refused() {
        let resolve = |allowed: Allowed| {
            let resolver = Guarded {
                allowed,
                found: Arc::default(),
            };
            let uri: ureq::http::Uri = "http://localhost:9/feed".parse().unwrap();
            let config = ureq::config::Config::default();
            resolver.resolve(&uri, &config, NextTimeout::default())
        };
        let refused = resolve(Allowed(None)).unwrap_err().to_string();
        assert!(
            refused.contains("localhost resolves to") && refused.contains("a loopback address"),
            "{refused}"
        );
        assert!(!resolve(Allowed(Some(Reach::Loopback))).unwrap().is_empty());
    }

    #[test]
    fn a_failure_counts_its_tries_once_it_was_retried() {
        let said = |failure, tries| FetchError { failure, tries }.to_string();
        assert_eq!(said(Failure::Status(503), 3), "HTTP status 503 (after 3 tries)");
        assert_eq!(said(Failure::Status(404), 1), "HTTP status 404");
        assert_eq!(
            said(Failure::PastTotal(300), 0),
            "not fetched: the whole fetch passed its 300 s limit"
        );
        let to = url::Url::parse("http://169.254.169.254/latest").unwrap();
        assert_eq!(
            said(
                Failure::Unreachable {
                    to,
                    reach: Reach::LinkLocal
                },
                1
            ),
            "refused a redirect to http://169.254.169.254/latest: a link-local address"
        );
    }

    #[test]
    fn retry_after_in_seconds() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("99999", now), Some(Duration::from_secs(600)));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(
            retry_after("Mon, 02 Mar 2026 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Mon, 02 Mar 2026 07:59:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn back_off_grows_and_varies() {
        let first = back_off(1000).delay(1, "https://a.example/feed");
        let second = back_off(1000).delay(2, "https://a.example/feed");
        assert!(first >= Duration::from_millis(1000) && first <= Duration::from_millis(1500));
        assert!(second >= Duration::from_millis(2000) && second <= Duration::from_millis(3000));
    }

    #[test]
    fn queue_keeps_to_the_per_host_limit() {
        let queue = Queue::new(vec!["a".into(), "a".into(), "b".into()]);
        assert_eq!(queue.take(1), Some(0));
        assert_eq!(queue.take(1), Some(2), "the second 'a' waits; 'b' goes");
        queue.done(0);
        assert_eq!(queue.take(1), Some(1));
        assert_eq!(queue.take(1), None);
    }
}
