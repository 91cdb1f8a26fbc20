//! The namespaces feeds use, old names included.

/// The namespaces that matter here.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Ns {
    /// No namespace declared: the root's format decides.
    Undeclared,
    Atom,
    /// Atom 0.3 and its drafts: Atom, with older names.
    OldAtom,
    Rss,
    Content,
    Dc,
    Dcterms,
    Media,
    Itunes,
    Xhtml,
    Other,
}

/// The namespace a URI names, and the URI feed-rs knows it by when it
/// knows it by another (feedparser matches URIs case-insensitively and
/// knows the old ones).
pub(super) fn namespace(uri: &str) -> (Ns, Option<&'static str>) {
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    const RSS: &str = "http://purl.org/rss/1.0/";
    match uri.trim().to_ascii_lowercase().as_str() {
        "http://www.w3.org/2005/atom" => (Ns::Atom, Some(ATOM)),
        "http://purl.org/atom/ns#"
        | "http://purl.org/echo/"
        | "http://purl.org/pie/"
        | "http://example.com/newformat#"
        | "http://example.com/necho"
        | "uri/of/echo/namespace#" => (Ns::OldAtom, Some(ATOM)),
        "http://purl.org/rss/1.0/"
        | "http://backend.userland.com/rss"
        | "http://backend.userland.com/rss2"
        | "http://blogs.law.harvard.edu/tech/rss"
        | "http://my.netscape.com/rdf/simple/0.9/"
        | "http://purl.org/rss/1.0/modules/rss091#" => (Ns::Rss, Some(RSS)),
        "http://purl.org/rss/1.0/modules/content/" => {
            (Ns::Content, Some("http://purl.org/rss/1.0/modules/content/"))
        }
        "http://purl.org/dc/elements/1.1/" => (Ns::Dc, Some("http://purl.org/dc/elements/1.1/")),
        "http://purl.org/dc/terms/" => (Ns::Dcterms, None),
        "http://search.yahoo.com/mrss" | "http://search.yahoo.com/mrss/" => {
            (Ns::Media, Some("http://search.yahoo.com/mrss/"))
        }
        "http://www.itunes.com/dtds/podcast-1.0.dtd" | "http://example.com/dtds/podcast-1.0.dtd" => {
            (Ns::Itunes, Some("http://www.itunes.com/dtds/podcast-1.0.dtd"))
        }
        "http://www.w3.org/1999/xhtml" => (Ns::Xhtml, None),
        _ => (Ns::Other, None),
    }
}
