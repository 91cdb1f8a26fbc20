//! `[site.signup]`: the sign-up form `bulletin serve` shows at
//! `site.subscribe_url`: its consent text, how long a confirmation link
//! lasts, and the limits that keep the form from being used to mail-bomb
//! someone.

use serde::Deserialize;

/// The sign-up form's settings; all have defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Signup {
    /// What the person agrees to, shown above the button; recorded by its version.
    #[serde(deserialize_with = "not_blank")]
    pub consent_text: String,
    /// Names `consent_text` in every consent record; change it whenever the text changes. Default `"1"`.
    #[serde(deserialize_with = "not_blank")]
    pub consent_version: String,
    /// Days a confirmation link stays valid; default 7.
    #[serde(deserialize_with = "days")]
    pub expiry_days: u32,
    /// At most one confirmation mail per address in this many minutes; default 10.
    #[serde(deserialize_with = "at_least_one")]
    pub address_interval_minutes: u32,
    /// At most this many confirmation mails per address in 24 hours; default 3.
    /// An address is counted as the mailbox it reaches: `+tag` left out,
    /// the local part in Unicode lowercase, the domain in IDNA ASCII.
    #[serde(deserialize_with = "at_least_one")]
    pub per_address_per_day: u32,
    /// At most this many sign-ups per client (an IPv4 address, an IPv6 /64)
    /// in an hour, mailed or not; default 10.
    #[serde(deserialize_with = "at_least_one")]
    pub per_client_per_hour: u32,
    /// At most this many sign-ups per network (an IPv4 /24, an IPv6 /48) in
    /// an hour, mailed or not; default 30. One network's flood spends its
    /// own budget, not everyone's.
    #[serde(deserialize_with = "at_least_one")]
    pub per_network_per_hour: u32,
    /// At most this many sign-ups in all in an hour, except each network's
    /// first: a flood from other networks never locks a visitor out; default 200.
    #[serde(deserialize_with = "at_least_one")]
    pub per_hour: u32,
    /// Consent records keep a keyed hash of the client's address instead
    /// of the address; default false. (The limits always count keyed hashes.)
    pub hash_client_addresses: bool,
}

impl Default for Signup {
    fn default() -> Self {
        Signup {
            consent_text: "I agree to receive the newsletters I chose by email. I can unsubscribe at any \
                           time with the link in every issue."
                .into(),
            consent_version: "1".into(),
            expiry_days: 7,
            address_interval_minutes: 10,
            per_address_per_day: 3,
            per_client_per_hour: 10,
            per_network_per_hour: 30,
            per_hour: 200,
            hash_client_addresses: false,
        }
    }
}

fn not_blank<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().is_empty() {
        return Err(serde::de::Error::custom("must not be empty"));
    }
    Ok(text.trim().to_string())
}

fn at_least_one<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let count = u32::deserialize(deserializer)?;
    if count == 0 {
        return Err(serde::de::Error::custom(
            "0 would refuse every sign-up; the least is 1",
        ));
    }
    Ok(count)
}

fn days<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let days = u32::deserialize(deserializer)?;
    if !(1..=365).contains(&days) {
        return Err(serde::de::Error::custom(format!(
            "{days} days: a confirmation link lasts 1 to 365 days"
        )));
    }
    Ok(days)
}
