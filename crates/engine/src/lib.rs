//! The discrete-event core of tailsim: integer time, a deterministic event queue with
//! cancellation, seeded random-number streams, and the service-time distributions.
//!
//! The engine knows nothing of services, clients or requests. A model owns its event type (a
//! plain enum), schedules events into an [`EventQueue`], and pops them in `(time, sequence)`
//! order:
//!
//! ```text
//!  model ──schedule(at, event)──▶ EventQueue ──pop()──▶ (time, event) ──▶ model handles it
//!    ▲                                                                        │
//!    └──────────────── draws from its own RngStream via a Dist ◀──────────────┘
//! ```
//!
//! Time is integer nanoseconds ([`SimTime`], [`SimDuration`]), so ordering is exact and runs are
//! reproducible to the bit. Every component draws from its own [`RngStream`], derived from the
//! master seed, the replication index and the component's name, so adding a component never
//! changes the numbers another one sees.

pub mod dist;
pub mod queue;
pub mod rng;
pub mod time;
mod wheel;

pub use dist::{Dist, DistError};
pub use queue::{EventKey, EventQueue};
pub use rng::RngStream;
pub use time::{DurationParseError, SimDuration, SimTime};
