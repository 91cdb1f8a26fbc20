//! Canonical links: the same story reached by two URLs is one item.

/// Query parameters that only tell the sender who clicked.
fn is_tracking_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "ref_src"
                | "spm"
        )
}

/// Absolute http(s) URL with lowercase scheme and host, default port,
/// fragment and tracking parameters removed. `None` when `link` is not an
/// absolute http(s) URL.
pub fn canonical_link(link: &str) -> Option<String> {
    canonical_url(url::Url::parse(link.trim()).ok()?)
}

/// [`canonical_link`] of a URL parsed already.
pub(crate) fn canonical_url(mut url: url::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| !is_tracking_parameter(name))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::canonical_link;

    #[test]
    fn drops_tracking_parameters_and_fragment() {
        assert_eq!(
            canonical_link("HTTPS://Example.EU:443/a?utm_source=rss&id=7&fbclid=x#top").as_deref(),
            Some("https://example.eu/a?id=7")
        );
        assert_eq!(
            canonical_link("https://example.eu/a?utm_medium=feed").as_deref(),
            Some("https://example.eu/a")
        );
    }

    #[test]
    fn is_idempotent() {
        for link in ["https://example.eu/a?b=1&c=%20d", "http://x.example/日本?q=語"] {
            let once = canonical_link(link).unwrap();
            assert_eq!(canonical_link(&once).as_deref(), Some(once.as_str()));
        }
    }

    proptest::proptest! {
        /// Canonicalising twice changes nothing.
        #[test]
        fn canonical_links_are_idempotent(
            host in "[a-z]{1,10}\\.(eu|jp|example)",
            path in "(/[a-zA-Z0-9%._~-]{0,8}){0,4}",
            query in proptest::collection::vec(("(utm_[a-z]{1,6}|id|q|fbclid|page)", "[a-zA-Z0-9 &=]{0,6}"), 0..4),
            fragment in proptest::option::of("[a-z]{0,6}"),
        ) {
            let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut link = format!("https://{host}{path}");
            if !query.is_empty() {
                link = format!("{link}?{}", query.join("&"));
            }
            if let Some(fragment) = fragment {
                link = format!("{link}#{fragment}");
            }
            let once = canonical_link(&link).unwrap();
            proptest::prop_assert_eq!(canonical_link(&once), Some(once.clone()));
            proptest::prop_assert!(!once.contains("utm_") && !once.contains('#'));
        }
    }

    #[test]
    fn refuses_other_schemes_and_relative_links() {
        assert_eq!(canonical_link("javascript:alert(1)"), None);
        assert_eq!(canonical_link("/relative"), None);
    }
}
