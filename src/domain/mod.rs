//! Domain records shared across stages: what one stage produces, the
//! store keeps, and another stage reads. They sit below `sources`,
//! `editions`, `store` and `deliver`, so that none of those imports another
//! only for its types (see ARCHITECTURE.md, the layers).

mod edition;
mod fetch;
mod subscriber;

pub use edition::{EditionRef, Placed};
pub use fetch::{Outcome, SourceReport, Validators};
pub use subscriber::{OrganisationType, Subscriber};
