//! Domain records shared across stages: what one stage produces, the
//! store keeps, and another stage reads. They sit below `sources`,
//! `editions`, `store` and `deliver`, so that none of those imports another
//! only for its types (see ARCHITECTURE.md, the layers).

mod edition;
mod editor;
mod fetch;
mod rule;
mod schedule;
mod subscriber;

pub(crate) use edition::{Correction, EditionRef, Placed};
pub(crate) use editor::Role;
pub(crate) use fetch::{Outcome, SourceReport, Validators};
pub(crate) use rule::{Rule, Ruling, Stance, Target};
pub(crate) use schedule::{NotBefore, Read, parse_zone, read_when};
pub(crate) use subscriber::{ConsentMethod, Details, OrganisationType, Subscriber};
