//! `[site]`: the publisher's name, the archive's base URL, how dates show.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::located::Invalid;
use super::signup::Signup;
use crate::proxies::{Cidr, ClientHeader, TrustedProxies};

/// `[site]` as written, with the spans errors point at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    name: String,
    publisher: Option<String>,
    base_url: Spanned<String>,
    #[serde(default = "default_date_format")]
    date_format: Spanned<String>,
    #[serde(default = "default_out_dir")]
    out_dir: PathBuf,
    #[serde(default = "default_teaser_width")]
    teaser_width: usize,
    subscribe_url: Option<Spanned<String>>,
    #[serde(default)]
    signup: Signup,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    trusted_proxy_header: Option<Spanned<String>>,
    #[serde(default = "default_desk_path")]
    desk_path: Spanned<String>,
    #[serde(default = "default_time_zone")]
    time_zone: Spanned<String>,
}

/// Site-wide settings, validated.
#[derive(Debug)]
pub struct Site {
    /// Name of the publisher, at the top of every edition and archive page.
    pub(crate) name: String,
    /// The publisher as the footers' "… is published by …" line says it,
    /// article and all ("the EU-Japan Centre for Industrial Cooperation");
    /// default `name`.
    pub publisher: Option<String>,
    /// Absolute http(s) URL the archive is served from; links in mails are built on it.
    pub(crate) base_url: Url,
    /// chrono format for dates shown to readers, known to show a date; default `%d/%m/%Y`.
    pub date_format: String,
    /// Folder editions are written to, relative to the config's folder; default `out`.
    pub out_dir: PathBuf,
    /// Width of a "More" teaser in display columns (CJK counts 2); default 100.
    pub teaser_width: usize,
    /// The sign-up form, linked from every mail's footer, the edition pages
    /// and the archive index, and served by `bulletin serve` at its path;
    /// default none (no link, no form).
    pub subscribe_url: Option<Url>,
    /// `[site.signup]`: the form's consent text and limits.
    pub signup: Signup,
    /// The reverse proxies in front of `bulletin serve` whose
    /// `trusted_proxy_header` names the client (`trusted_proxies`); by
    /// default none: the client is the address that connected.
    pub trusted_proxies: TrustedProxies,
    /// Where `bulletin serve` hosts the editor's desk, on the host of
    /// `mail.unsubscribe_url`: a path of letters, digits, `-`, `_` and `/`,
    /// without a trailing `/`; default `/desk`.
    pub desk_path: String,
    /// The operators' and editors' time zone (an IANA name): a scheduled
    /// send's local time is read in it unless another is named, and shown
    /// in it; default `UTC`.
    pub time_zone: chrono_tz::Tz,
}

impl Site {
    /// Who the footers say publishes the newsletters: `publisher`, else `name`.
    pub(crate) fn publisher(&self) -> &str {
        self.publisher.as_deref().unwrap_or(&self.name)
    }

    /// The base URL without its trailing `/`, for joining paths onto.
    pub(crate) fn base(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }
}

impl RawSite {
    /// Where `subscribe_url` is written, for a check against `[mail]`'s pages.
    pub(super) fn subscribe_url_span(&self) -> Option<std::ops::Range<usize>> {
        self.subscribe_url.as_ref().map(Spanned::span)
    }
}

impl TryFrom<RawSite> for Site {
    type Error = Invalid;

    fn try_from(raw: RawSite) -> Result<Site, Invalid> {
        let base_url = http_url(&raw.base_url, "site.base_url")?;
        let subscribe_url = raw
            .subscribe_url
            .as_ref()
            .map(|url| http_url(url, "site.subscribe_url"))
            .transpose()?;
        let format = raw.date_format;
        if !shows_a_date(format.get_ref()) {
            return Err(Invalid::new(
                format.span(),
                "site.date_format",
                format!(
                    "{:?} cannot show a date; use date specifiers such as %d, %m, %Y, %B (no times, no time zones)",
                    format.get_ref()
                ),
            ));
        }
        let trusted_proxies = trusted_proxies(&raw.trusted_proxies, raw.trusted_proxy_header.as_ref())?;
        let desk_path = desk_path(raw.desk_path)?;
        let time_zone = time_zone(&raw.time_zone)?;
        Ok(Site {
            name: raw.name,
            publisher: raw.publisher.filter(|p| !p.trim().is_empty()),
            base_url,
            date_format: format.into_inner(),
            out_dir: raw.out_dir,
            teaser_width: raw.teaser_width,
            subscribe_url,
            signup: raw.signup,
            trusted_proxies,
            desk_path,
            time_zone,
        })
    }
}

/// `trusted_proxies` and `trusted_proxy_header`, or the error at the entry.
fn trusted_proxies(
    networks: &[Spanned<String>],
    header: Option<&Spanned<String>>,
) -> Result<TrustedProxies, Invalid> {
    let networks = networks
        .iter()
        .enumerate()
        .map(|(i, network)| {
            network.get_ref().parse::<Cidr>().map_err(|message| {
                Invalid::new(network.span(), format!("site.trusted_proxies[{i}]"), message)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = header
        .map(|header| {
            header
                .get_ref()
                .parse::<ClientHeader>()
                .map_err(|message| Invalid::new(header.span(), "site.trusted_proxy_header", message))
        })
        .transpose()?
        .unwrap_or_default();
    Ok(TrustedProxies::new(networks, header))
}

/// `desk_path`, checked: a path of its own, or the error at its place.
fn desk_path(path: Spanned<String>) -> Result<String, Invalid> {
    let text = path.get_ref();
    let fine = text.len() > 1
        && text.starts_with('/')
        && !text.ends_with('/')
        && !text.contains("//")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_".contains(&b));
    if fine {
        Ok(path.into_inner())
    } else {
        Err(Invalid::new(
            path.span(),
            "site.desk_path",
            format!(
                "{text:?} is not a desk path; write one such as \"/desk\" (letters, digits, -, _ and /, no trailing /)"
            ),
        ))
    }
}

/// `time_zone`, a zone of the tz database, or the error at its place.
fn time_zone(name: &Spanned<String>) -> Result<chrono_tz::Tz, Invalid> {
    name.get_ref().parse().map_err(|_| {
        Invalid::new(
            name.span(),
            "site.time_zone",
            format!(
                "{:?} is not a time zone of the tz database; write an IANA name such as \"Europe/Brussels\", \"Asia/Tokyo\" or \"UTC\"",
                name.get_ref()
            ),
        )
    })
}

/// An absolute http(s) URL, or the error at its place.
fn http_url(value: &Spanned<String>, field: &str) -> Result<Url, Invalid> {
    match Url::parse(value.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(Invalid::new(
            value.span(),
            field,
            format!("{:?} is not an absolute http(s) URL", value.get_ref()),
        )),
    }
}

/// Whether a chrono `format` can show a date. chrono finds out that a
/// specifier is unknown (`%=`) or wants what a date has not (`%H`, `%z`)
/// only when a date is written, where `to_string` panics: `bulletin check`
/// passed such a config, and `bulletin run` panicked with an edition
/// recorded and its files unwritten (found by fuzzing).
fn shows_a_date(format: &str) -> bool {
    use std::fmt::Write;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date");
    write!(String::new(), "{}", date.format(format)).is_ok()
}

fn default_date_format() -> Spanned<String> {
    Spanned::new(0..0, "%d/%m/%Y".into())
}

fn default_desk_path() -> Spanned<String> {
    Spanned::new(0..0, "/desk".into())
}

fn default_time_zone() -> Spanned<String> {
    Spanned::new(0..0, "UTC".into())
}

fn default_out_dir() -> PathBuf {
    "out".into()
}

fn default_teaser_width() -> usize {
    100
}
