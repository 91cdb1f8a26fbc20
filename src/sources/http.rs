//! Fetching feeds over HTTP, politely and within bounds: a time limit per
//! feed and for the whole fetch, a size cap enforced while reading, gzip, a
//! few redirects (a permanent one remembered), retries with back-off and
//! jitter on timeouts, 429 and 5xx (honouring Retry-After), a bounded number
//! of requests at once overall and per host, and conditional GETs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::Fetch;

/// What the last fetch of a feed left for the next one: validators for a
/// conditional GET, and where the feed moved to for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Set by a permanent redirect (301, 308): fetched instead of the configured URL.
    pub moved_to: Option<String>,
}

/// What a GET brought.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per feed, moved once: boxing buys nothing
pub enum Response {
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

/// A response, or a one-line reason there is none.
pub type Fetched = Result<Response, String>;

/// The User-Agent sent when the config names none.
pub fn default_user_agent() -> String {
    format!("bulletin/{} (newsletter generator)", env!("CARGO_PKG_VERSION"))
}

/// Fetches every URL, conditionally when validators are known; results
/// come back in the order asked.
pub fn fetch_all(requests: &[(url::Url, Validators)], fetch: &Fetch) -> Vec<Fetched> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(fetch.timeout_secs)))
        .user_agent(fetch.user_agent.clone().unwrap_or_else(default_user_agent))
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let agent = ureq::Agent::with_parts(config, DefaultConnector::default(), OncePerHost::default());
    let deadline = Instant::now() + Duration::from_secs(fetch.total_secs);
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
                        Err(format!(
                            "not fetched: the whole fetch passed its {} s limit",
                            fetch.total_secs
                        ))
                    } else {
                        get_with_retries(&agent, url, validators, fetch, deadline)
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
/// are fetched: ureq looks a host up for every request, each lookup on a
/// thread of its own (so that it can time out).
#[derive(Debug, Default)]
struct OncePerHost {
    found: Mutex<HashMap<String, ResolvedSocketAddrs>>,
}

impl Resolver for OncePerHost {
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
        if let Some(found) = self.found.lock().expect("poisoned").get(&host) {
            return Ok(found.clone());
        }
        let found = DefaultResolver::default().resolve(uri, config, timeout)?;
        self.found.lock().expect("poisoned").insert(host, found.clone());
        Ok(found)
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
    Done(Fetched),
    /// Worth another try after this long (at least), with the reason.
    Again(Option<Duration>, String),
}

fn get_with_retries(
    agent: &ureq::Agent,
    url: &url::Url,
    validators: &Validators,
    fetch: &Fetch,
    deadline: Instant,
) -> Fetched {
    let mut attempt = 0;
    loop {
        match get(agent, url, validators, fetch) {
            Try::Done(result) => return result,
            Try::Again(wait, reason) => {
                attempt += 1;
                let wait = wait.unwrap_or_else(|| back_off(fetch.retry_delay_ms, attempt, url.as_str()));
                if attempt > fetch.retries || Instant::now() + wait >= deadline {
                    let tries = if attempt == 1 {
                        String::new()
                    } else {
                        format!(" (after {attempt} tries)")
                    };
                    return Err(format!("{reason}{tries}"));
                }
                std::thread::sleep(wait);
            }
        }
    }
}

/// `retry_delay_ms × 2^(attempt-1)` plus up to half of it, varied per URL
/// and attempt so that retries do not arrive in step.
fn back_off(delay_ms: u64, attempt: u32, url: &str) -> Duration {
    let base = delay_ms.saturating_mul(1 << (attempt - 1).min(10));
    let spread = url.bytes().fold(u64::from(attempt), |h, b| {
        h.wrapping_mul(131).wrapping_add(b.into())
    });
    Duration::from_millis(base + spread % (base / 2 + 1))
}

/// One GET, following at most `fetch.max_redirects` redirects by hand so a
/// permanent one can be remembered.
fn get(agent: &ureq::Agent, start: &url::Url, validators: &Validators, fetch: &Fetch) -> Try {
    let first = validators
        .moved_to
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .unwrap_or_else(|| start.clone());
    let mut url = first;
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
                    return Try::Done(Err(format!("HTTP status {status} without a usable Location")));
                };
                if !matches!(next.scheme(), "http" | "https") {
                    return Try::Done(Err(format!(
                        "redirected to a {} URL, which is not fetched",
                        next.scheme()
                    )));
                }
                hops += 1;
                all_permanent &= matches!(status, 301 | 308);
                url = next;
                continue;
            }
            429 | 500..=599 => {
                let wait = header("retry-after").and_then(|v| retry_after(&v));
                return Try::Again(wait, format!("HTTP status {status}"));
            }
            200..=299 => {}
            _ => return Try::Done(Err(format!("HTTP status {status}"))),
        }
        let content_type = header("content-type");
        let next_validators = Validators {
            etag: header("etag"),
            last_modified: header("last-modified"),
            moved_to: if hops > 0 && all_permanent && url != *start {
                Some(url.to_string())
            } else {
                validators.moved_to.clone()
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
    Try::Done(Err(format!("more than {} redirects", fetch.max_redirects)))
}

/// Retry-After in seconds or as an HTTP date; waits are capped at 10 minutes.
fn retry_after(value: &str) -> Option<Duration> {
    let seconds = value.trim().parse::<u64>().ok().or_else(|| {
        let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
        let now = httpdate_now()?;
        u64::try_from((date.timestamp() - now).max(0)).ok()
    })?;
    Some(Duration::from_secs(seconds.min(600)))
}

/// An HTTP-date Retry-After names a wall-clock time: only reading the clock
/// turns it into a wait.
#[allow(clippy::disallowed_methods)]
fn httpdate_now() -> Option<i64> {
    Some(chrono::Utc::now().timestamp())
}

/// A reason a person can act on, rather than the transport's wording.
fn describe(error: ureq::Error, fetch: &Fetch) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        ureq::Error::Timeout(_) => format!("timed out after {} s", fetch.timeout_secs),
        ureq::Error::BodyExceedsLimit(limit) => format!("larger than the {limit}-byte limit"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection refused or unreachable".into(),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        ureq::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("99999"), Some(Duration::from_secs(600)));
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn back_off_grows_and_varies() {
        let first = back_off(1000, 1, "https://a.example/feed");
        let second = back_off(1000, 2, "https://a.example/feed");
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
