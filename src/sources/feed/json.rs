//! JSON Feed, readied for feed-rs 3.0.

use serde_json::Value;

/// The feed readied for feed-rs, and a warning about what was not as the
/// spec says but read all the same: author names defused (feed-rs reads
/// them as `"name <e-mail>"` and panics on some, see `markup::pad_email`),
/// and a version given as a number made the spec's URL.
pub(crate) fn ready(text: String) -> (String, Option<String>) {
    let Ok(mut feed) = serde_json::from_str::<Value>(&text) else {
        return (text, None);
    };
    let warning = fix_version(&mut feed);
    let mut changed = pad_authors(&mut feed) || warning.is_some();
    if let Some(items) = feed.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            changed |= pad_authors(item);
        }
    }
    let text = if changed { feed.to_string() } else { text };
    (text, warning)
}

/// The spec's version URLs (feed-rs reads only these).
const VERSION_1: &str = "https://jsonfeed.org/version/1";
const VERSION_1_1: &str = "https://jsonfeed.org/version/1.1";

/// A version written as a number ("1.0", "1.1", 1.1) or as an http URL
/// made the spec's URL, as other readers take it; returns the warning
/// that says so. Any other version is left for feed-rs to refuse.
fn fix_version(feed: &mut Value) -> Option<String> {
    let version = feed.get_mut("version")?;
    let url = match &*version {
        Value::String(s) => match s.trim() {
            s if s.starts_with(VERSION_1) => return None,
            "1" | "1.0" | "http://jsonfeed.org/version/1" => VERSION_1,
            "1.1" | "http://jsonfeed.org/version/1.1" => VERSION_1_1,
            _ => return None,
        },
        Value::Number(n) if n.as_f64() == Some(1.0) => VERSION_1,
        Value::Number(n) if n.as_f64() == Some(1.1) => VERSION_1_1,
        _ => return None,
    };
    let warning = format!("version {version} is not a JSON Feed version URL; read as {url}");
    *version = Value::String(url.to_string());
    Some(warning)
}

fn pad_authors(object: &mut Value) -> bool {
    let mut changed = false;
    if let Some(author) = object.get_mut("author") {
        changed |= pad_name(author);
    }
    if let Some(authors) = object.get_mut("authors").and_then(Value::as_array_mut) {
        for author in authors {
            changed |= pad_name(author);
        }
    }
    changed
}

fn pad_name(author: &mut Value) -> bool {
    let Some(name) = author.get_mut("name") else {
        return false;
    };
    match name.as_str().and_then(super::markup::pad_email) {
        Some(padded) => {
            *name = Value::String(padded);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(json: &str) -> (String, Option<String>) {
        let (text, warning) = ready(json.to_string());
        let feed: Value = serde_json::from_str(&text).unwrap();
        (feed["version"].as_str().unwrap_or_default().to_string(), warning)
    }

    #[test]
    fn a_version_number_is_read_as_the_spec_url_with_a_warning() {
        assert_eq!(
            version(r#"{"version": "1.0"}"#),
            (
                VERSION_1.to_string(),
                Some(format!(
                    r#"version "1.0" is not a JSON Feed version URL; read as {VERSION_1}"#
                ))
            )
        );
        assert_eq!(version(r#"{"version": 1.1}"#).0, VERSION_1_1);
        assert_eq!(version(r#"{"version": " 1.1 "}"#).0, VERSION_1_1);
        assert_eq!(
            version(r#"{"version": "http://jsonfeed.org/version/1.1"}"#).0,
            VERSION_1_1
        );
    }

    #[test]
    fn the_spec_urls_and_unknown_versions_are_left_alone() {
        for json in [
            r#"{"version": "https://jsonfeed.org/version/1"}"#,
            r#"{"version": "https://jsonfeed.org/version/1.1"}"#,
            r#"{"version": "2.0"}"#,
            r#"{"version": 2}"#,
        ] {
            assert_eq!(ready(json.to_string()), (json.to_string(), None), "{json}");
        }
    }
}
