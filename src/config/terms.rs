//! Built-in term lists an editor references from `config.toml` as
//! `"@name"` instead of typing them: the EU-27, the EU's institutions,
//! Japan's public bodies, its prefectures, and words of items that are for
//! no business newsletter. Each is a text file beside this one, one term a
//! line (`#` starts a comment), compiled into the binary.

/// Every list: its name (without the `@`) and its terms as written.
const LISTS: &[(&str, &str)] = &[
    ("eu-member-states", include_str!("terms/eu-member-states.txt")),
    ("eu-institutions", include_str!("terms/eu-institutions.txt")),
    ("japan-government", include_str!("terms/japan-government.txt")),
    ("japan-prefectures", include_str!("terms/japan-prefectures.txt")),
    ("not-business", include_str!("terms/not-business.txt")),
];

/// The terms of the list `name` (without the `@`), or `None` when there is
/// no such list.
pub(super) fn list(name: &str) -> Option<impl Iterator<Item = &'static str>> {
    let (_, text) = LISTS.iter().find(|(n, _)| *n == name)?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#')),
    )
}

/// The names of the lists, as written in a config (`@eu-member-states, …`).
pub(super) fn names() -> String {
    let names: Vec<String> = LISTS.iter().map(|(n, _)| format!("@{n}")).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::{LISTS, list};

    #[test]
    fn every_list_has_terms_and_no_term_twice() {
        for (name, _) in LISTS {
            let terms: Vec<&str> = list(name).unwrap().collect();
            assert!(terms.len() > 10, "@{name}");
            let mut sorted = terms.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), terms.len(), "@{name} lists a term twice");
        }
    }

    #[test]
    fn the_eu_list_has_the_27_in_both_languages() {
        let terms: Vec<&str> = list("eu-member-states").unwrap().collect();
        for term in ["Germany", "Italian", "Ljubljana", "ドイツ", "ワルシャワ", "日独"] {
            assert!(terms.contains(&term), "{term}");
        }
        assert!(list("eu-member-sates").is_none());
    }
}
