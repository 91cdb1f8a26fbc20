//! Who a subscriber is: what `deliver` imports from CSV and `store` keeps.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What kind of reader a subscriber is; the EU-only newsletters go to the
/// first two only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OrganisationType {
    Company,
    Organisation,
    Individual,
}

impl OrganisationType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrganisationType::Company => "company",
            OrganisationType::Organisation => "organisation",
            OrganisationType::Individual => "individual",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<OrganisationType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "company" => Some(OrganisationType::Company),
            "organisation" | "organization" => Some(OrganisationType::Organisation),
            "individual" => Some(OrganisationType::Individual),
            _ => None,
        }
    }
}

/// One subscriber, as imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    /// Normalised: the domain in lowercase, the local part as given.
    pub email: String,
    /// Free of control and bidi characters, so it can go in a header.
    pub name: String,
    pub organisation: String,
    pub(crate) organisation_type: OrganisationType,
    /// ISO 3166-1 alpha-2, uppercase.
    pub(crate) country: String,
    pub newsletters: Vec<String>,
    pub(crate) consent: NaiveDate,
}

/// What a subscriber may correct of themselves on the preference page:
/// who they are, and the two facts that decide the EU-only newsletters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Details {
    /// Cleaned like an imported name (no control or bidi characters).
    pub(crate) name: String,
    pub(crate) organisation: String,
    pub(crate) organisation_type: OrganisationType,
    /// ISO 3166-1 alpha-2, uppercase.
    pub(crate) country: String,
}

/// How a consent was given: the sign-up form (confirmed by its link), the
/// preference centre (a newsletter added from a mail's link), a CSV import
/// (by the operator, with `subscribers import`), or a program (the API to come).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ConsentMethod {
    Form,
    Preferences,
    Import,
    Api,
}

impl ConsentMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConsentMethod::Form => "form",
            ConsentMethod::Preferences => "preferences",
            ConsentMethod::Import => "import",
            ConsentMethod::Api => "api",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<ConsentMethod> {
        match text {
            "form" => Some(ConsentMethod::Form),
            "preferences" => Some(ConsentMethod::Preferences),
            "import" => Some(ConsentMethod::Import),
            "api" => Some(ConsentMethod::Api),
            _ => None,
        }
    }
}
