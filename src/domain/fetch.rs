//! What reading a source came to: what `sources` reports and `store`
//! records for the next fetch.

/// What the last fetch of a feed left for the next one: validators for a
/// conditional GET, and where the feed moved to for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// Set by a permanent redirect (301, 308): fetched instead of the configured URL.
    pub(crate) moved_to: Option<String>,
}

/// What reading one source came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Read; `errors` names the local files that could not be (the others
    /// were), `warnings` what was read although it is not as its format
    /// says (a JSON Feed version).
    Read {
        items: usize,
        errors: Vec<String>,
        warnings: Vec<String>,
        validators: Validators,
    },
    /// HTTP 304: unchanged since the last fetch, so nothing to read.
    NotModified,
    Failed(String),
}

/// What one source gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceReport {
    pub(crate) name: String,
    pub(crate) outcome: Outcome,
}

impl SourceReport {
    /// Each failure with its reason: one for a feed, one per bad local file.
    pub(crate) fn errors(&self) -> &[String] {
        match &self.outcome {
            Outcome::Read { errors, .. } => errors,
            Outcome::Failed(reason) => std::slice::from_ref(reason),
            Outcome::NotModified => &[],
        }
    }

    pub(crate) fn failed(&self) -> bool {
        !self.errors().is_empty()
    }

    /// What was read although it is not as its format says.
    pub(crate) fn warnings(&self) -> &[String] {
        match &self.outcome {
            Outcome::Read { warnings, .. } => warnings,
            Outcome::Failed(_) | Outcome::NotModified => &[],
        }
    }
}
