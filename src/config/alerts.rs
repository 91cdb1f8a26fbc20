//! `[alerts]`: who is told, by mail, when a run fails or partly fails and
//! when a draft has waited too long for approval.

use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;

use super::located::Invalid;
use super::mail::mailbox;

/// The days a draft may wait for approval after its date before it is a
/// problem the editors are told of, unless `draft_waiting_days` says.
pub const DRAFT_WAITING_DAYS: u32 = 2;

/// `[alerts]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    to: Spanned<Vec<Spanned<String>>>,
    #[serde(default = "default_draft_days")]
    draft_waiting_days: Spanned<u32>,
}

/// Who gets the alerts, and when a draft is late.
#[derive(Debug)]
pub struct Alerts {
    /// The editors: each gets one mail per new problem.
    pub(crate) to: Vec<Mailbox>,
    /// A draft still waiting for approval this many days after its date is
    /// a problem; default [`DRAFT_WAITING_DAYS`].
    pub draft_waiting_days: u32,
}

impl RawAlerts {
    /// Alerts go through `[mail]`'s transport, so they need one.
    pub(super) fn validate(self, has_mail: bool) -> Result<Alerts, Invalid> {
        if !has_mail {
            return Err(Invalid::new(
                self.to.span(),
                "alerts.to",
                "alerts are mailed through [mail]'s transport: add a [mail] section".to_string(),
            ));
        }
        if self.to.get_ref().is_empty() {
            return Err(Invalid::new(
                self.to.span(),
                "alerts.to",
                "name at least one address, e.g. [\"editors@example.eu\"]".to_string(),
            ));
        }
        let to = self
            .to
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, address)| mailbox(address, &format!("alerts.to[{i}]")))
            .collect::<Result<_, _>>()?;
        if *self.draft_waiting_days.get_ref() == 0 {
            return Err(Invalid::new(
                self.draft_waiting_days.span(),
                "alerts.draft_waiting_days",
                "must be at least 1".to_string(),
            ));
        }
        Ok(Alerts {
            to,
            draft_waiting_days: *self.draft_waiting_days.get_ref(),
        })
    }
}

fn default_draft_days() -> Spanned<u32> {
    Spanned::new(0..0, DRAFT_WAITING_DAYS)
}
