//! What the preview shows, built by its [`super::Desk`]: the next edition
//! of every newsletter, the subscribers to show it as, the key of their
//! links. The preview's pages and its review page read it; neither builds it.

use crate::audience::Key;
use crate::config::Audience;
use crate::domain::Placed;
use crate::mail::MailTemplate;
use crate::render::Rendered;
use crate::store::{EditionRecord, EditionState, SubscriberRecord};

/// The next edition of one newsletter, rendered.
pub(crate) struct Page {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) number: u32,
    pub(crate) items: usize,
    pub(crate) audience: Audience,
    pub(crate) web: Rendered,
    pub(crate) mail: Option<MailTemplate>,
    /// The edition as recorded, when it is one (a draft, or approved and
    /// not sent yet); `None` for the next edition as it would be assembled.
    pub(crate) record: Option<EditionRecord>,
    /// Its items as placed, in reading order.
    pub(crate) placed: Vec<Placed>,
    /// The newsletter's sections: (id, title), in the config's order.
    pub(crate) sections: Vec<(String, String)>,
    /// The corrections made to the recorded edition, oldest first: when,
    /// by whom, what.
    pub(crate) corrections: Vec<String>,
    /// What left or joined the draft on a rebuild since an editor last
    /// looked (or acted on this page), with why; its heading first.
    pub(crate) changes: Option<(String, Vec<String>)>,
}

impl Page {
    /// A draft waiting for approval: the review page's buttons apply to it.
    pub(super) fn is_draft(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| r.state == EditionState::Draft)
    }
}

/// Everything the server shows, rebuilt on every change.
pub(crate) struct Built {
    pub(crate) pages: Vec<Page>,
    pub(crate) subscribers: Vec<SubscriberRecord>,
    pub(crate) key: Key,
    /// Said on the index when unsubscribe links are signed with a stand-in key.
    pub(crate) key_note: Option<String>,
}
