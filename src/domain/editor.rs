//! An editor's role on the desk, as the store keeps it and the desk checks it.

/// What an editor may do on the desk: an `editor` reviews, corrects, tests,
/// approves and schedules; an `admin` also manages subscribers and editors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Editor,
    Admin,
}

impl Role {
    /// The word the store and the command line use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The role a word names, if any.
    pub(crate) fn parse(word: &str) -> Option<Role> {
        match word {
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}
