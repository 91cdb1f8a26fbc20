//! `[fetch]`: how feeds are fetched over HTTP.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
/// HTTP fetching limits.
pub struct Fetch {
    /// Whole-request time limit per feed, in seconds; default 20.
    #[serde(deserialize_with = "within_a_day")]
    pub timeout_secs: u64,
    /// Largest feed body accepted, in bytes; default 5 MB.
    pub max_bytes: u64,
    /// Feeds fetched at once; default 4.
    pub concurrency: usize,
    /// Feeds fetched at once from one host; default 2.
    pub per_host: usize,
    /// Time limit for the whole fetch, in seconds; feeds not started by then are reported; default 300.
    #[serde(deserialize_with = "within_a_day")]
    pub total_secs: u64,
    /// Redirects followed per feed; default 5.
    pub max_redirects: u32,
    /// Retries after a timeout, a broken connection, 429 or 5xx; default 2.
    pub retries: u32,
    /// Wait before the first retry (doubled each time, with jitter) unless Retry-After says otherwise; default 1000 ms.
    pub retry_delay_ms: u64,
    /// A source failing this many fetches in a row is flagged by `bulletin feeds`; default 3.
    pub flag_after_failures: u32,
    /// User-Agent header; default `bulletin/<version>`.
    pub user_agent: Option<String>,
}

impl Default for Fetch {
    fn default() -> Self {
        Fetch {
            timeout_secs: 20,
            max_bytes: 5_000_000,
            concurrency: 4,
            per_host: 2,
            total_secs: 300,
            max_redirects: 5,
            retries: 2,
            retry_delay_ms: 1000,
            flag_after_failures: 3,
            user_agent: None,
        }
    }
}

/// Seconds a clock can count to: the deadlines computed from them cannot
/// overflow (a huge value made `fetch` panic; found by reading the fuzzed code).
pub(super) fn within_a_day<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    const DAY: u64 = 86_400;
    let seconds = u64::deserialize(deserializer)?;
    if seconds > DAY {
        return Err(serde::de::Error::custom(format!(
            "{seconds} s is more than a day ({DAY} s)"
        )));
    }
    Ok(seconds)
}
