//! An edition waiting for the editor: the bundled project's EU-Japan NEWS
//! drafted, what its draft lists, and the preview an editor reviews it in.

use super::Project;
use super::server::{PREVIEW_DATE, Server};

/// The date of the draft, and the date `preview` shows.
pub(crate) const DATE: &str = PREVIEW_DATE;
/// The newsletter drafted.
pub(crate) const NEWS: &str = "eu-japan-news";

/// Two readers: Jane of every newsletter, Taro of EU-Japan NEWS only.
pub(crate) const READERS: &str = "\
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@example.de,Jane Doe,Acme GmbH,company,DE,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news,2025-02-01
";

/// Imports `readers` (a CSV) into `project`, fetches, and builds a draft
/// of eu-japan-news No. 1.
pub(crate) fn build_a_draft(project: &Project, readers: &str) {
    project.import_from_before(readers);
    project.run(&["fetch"]).assert_code(0);
    project
        .run(&["build", "--newsletter", NEWS, "--date", DATE])
        .assert_code(0);
}

/// `bulletin preview --by "Keiko Editor"` on a free port, showing [`DATE`].
pub(crate) fn reviewing(project: &Project) -> Server {
    Server::preview(project, &["--by", "Keiko Editor"])
}

/// (id, title) of the items of `newsletter`'s latest edition, as
/// `editions show` lists them, in reading order.
pub(crate) fn shown_items(project: &Project, newsletter: &str) -> Vec<(String, String)> {
    editions_show(project, newsletter)
        .lines()
        .filter_map(|line| {
            let (number, rest) = line.trim_start().split_once(". ")?;
            number.parse::<u32>().ok()?;
            let (id, title) = rest.split_once("  ")?;
            Some((id.to_string(), title.trim_end_matches(" (more)").to_string()))
        })
        .collect()
}

/// What `editions show --newsletter NEWSLETTER` prints: the latest
/// edition's state, items and corrections.
pub(crate) fn editions_show(project: &Project, newsletter: &str) -> String {
    let show = project.run(&["editions", "show", "--newsletter", newsletter]);
    show.assert_code(0);
    show.stdout
}

/// The value of the first `name="NAME" value="…"` on the page.
pub(crate) fn form_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field on the page:\n{page}"))
        + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}
