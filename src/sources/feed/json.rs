//! JSON Feed, readied for feed-rs 3.0.

use serde_json::Value;

/// The feed with its author names defused: feed-rs reads them as
/// `"name <e-mail>"` and panics on some (see `markup::pad_email`).
pub fn defuse(text: String) -> String {
    let Ok(mut feed) = serde_json::from_str::<Value>(&text) else {
        return text;
    };
    let mut changed = pad_authors(&mut feed);
    if let Some(items) = feed.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            changed |= pad_authors(item);
        }
    }
    if changed { feed.to_string() } else { text }
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
