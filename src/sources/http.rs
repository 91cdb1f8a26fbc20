//! Fetching feeds over HTTP: bounded in time and size, a few at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::config::Fetch;

/// HTTP validators kept per feed, sent back for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a GET brought.
#[derive(Debug)]
pub enum Response {
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
    /// 304: unchanged since the validators were given.
    NotModified,
}

/// A response, or a one-line reason there is none.
pub type Fetched = Result<Response, String>;

/// The User-Agent sent when the config names none.
pub fn default_user_agent() -> String {
    format!(
        "bulletin/{} (+https://github.com/bulletin)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Fetches every URL, conditionally when validators are known, at most
/// `fetch.concurrency` at once; results come back in the order asked.
pub fn fetch_all(requests: &[(url::Url, Validators)], fetch: &Fetch) -> Vec<Fetched> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(fetch.timeout_secs)))
        .user_agent(fetch.user_agent.clone().unwrap_or_else(default_user_agent))
        .max_redirects(5)
        .build()
        .into();
    let results: Mutex<Vec<Option<Fetched>>> = Mutex::new(requests.iter().map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let workers = fetch.concurrency.clamp(1, requests.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((url, validators)) = requests.get(index) else {
                        break;
                    };
                    let result = get(&agent, url, validators, fetch);
                    results.lock().expect("a fetch thread panicked")[index] = Some(result);
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

fn get(agent: &ureq::Agent, url: &url::Url, validators: &Validators, fetch: &Fetch) -> Fetched {
    let mut request = agent.get(url.as_str());
    if let Some(etag) = &validators.etag {
        request = request.header("If-None-Match", etag);
    }
    if let Some(date) = &validators.last_modified {
        request = request.header("If-Modified-Since", date);
    }
    let mut response = request.call().map_err(|e| describe(e, fetch))?;
    if response.status() == 304 {
        return Ok(Response::NotModified);
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
    };
    let bytes = response
        .body_mut()
        .with_config()
        .limit(fetch.max_bytes)
        .read_to_vec()
        .map_err(|e| describe(e, fetch))?;
    Ok(Response::Body { bytes, validators })
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
