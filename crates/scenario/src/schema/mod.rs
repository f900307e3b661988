//! The scenario file's schema: a serde mirror of the RON text, as the user writes it. Names are
//! still strings and durations are checked but not yet resolved; `tailsim-model` lowers this
//! into the compiled `Model` a run reads.
//!
//! Every struct denies unknown fields, so a typo is an error with its line and column, never a
//! silently ignored setting. The types also serialise, which is how `--set path=value`
//! overrides are applied (see [`crate::overrides`]).
//!
//! This file holds the scenario's root, durations, variants, the limits of a name and of a
//! duration, and the defaults the attributes name; each area has its own file: `clients`,
//! `services`, `steps`, `policy`, `data`, `topics`, `faults` and `goals` (objectives and prices).

mod clients;
mod data;
mod faults;
mod goals;
mod policy;
mod services;
mod steps;
mod topics;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tailsim_engine::SimDuration;

pub use clients::{Arrivals, Class, Client, Keys, Shape};
pub use data::{Cache, CacheScope, Replication, Routing};
pub use faults::Fault;
pub use goals::{Price, Slo};
pub use policy::{
    Backoff, Breaker, BreakerWindow, Budget, Bulkhead, FailureKind, Hedge, Jitter, LimitMode, Policy, PoolScope,
    RateLimit, Retry, Throttle,
};
pub use services::{
    Admission, Autoscale, Balancer, Concurrency, Contention, Discipline, Queue, ScaleMetric, ScheduledMin, Service,
    Tenant,
};
pub use steps::{BatchOptions, DistSpec, FanOutOptions, Losers, ParallelOptions, PublishOptions, Step, Wait};
pub use topics::{Consumes, Delivery, PartitionBy, Topic, WhenFull};

/// A duration as written in a scenario file: a string such as `"250us"`, `"15ms"`, `"2s"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration(pub SimDuration);
impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string such as "250us", "15ms", "2s" or "5m""#)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                SimDuration::parse(text).map(Duration).map_err(|why| {
                    E::custom(format!(
                        r#"invalid duration "{text}": {why}; write a number and a unit: ns, us, ms, s, m or h, as in "250us", "15ms", "2s""#
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit: write "{n}ms" or "{n}s", in quotes"#)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit and quotes, as in "{n}ms""#)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit: write "{n}s" or "{n}ms", in quotes"#)))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// A whole scenario: what runs, for how long, and what is measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name; names the output folder.
    pub name: String,
    /// A sentence or two on what the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Simulated time of one replication, warm-up included.
    pub duration: Duration,
    /// Initial period excluded from all statistics.
    #[serde(default)]
    pub warmup: Duration,
    /// Master seed; `--seed` overrides it. Default 1.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Traffic sources.
    pub clients: Vec<Client>,
    /// Services, each with instances, workers, a queue and a handler.
    pub services: Vec<Service>,
    /// Caches, looked up by `Cached` steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<Cache>,
    /// Topics of a message broker, published to by `Publish` steps and read by services with
    /// `consumes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<Topic>,
    /// Faults on a timeline.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The width of the windows of the time series. Default 1s.
    #[serde(default = "one_second")]
    pub window: Duration,
    /// Named alternatives to compare with the scenario itself (`tailsim compare`): each a set of
    /// overrides applied on top of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// What the design must meet: objectives judged over the replications, each met, missed
    /// or inconclusive (`run` and `compare` exit with 4 when one is missed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<Slo>,
    /// What the design's parts cost, for the summaries' cost per hour and per million
    /// successful requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<Price>,
}

/// A named alternative design: the scenario with some values changed, written
/// `Variant(name: "budget", set: {"clients.users.policy.retry.budget": "(ratio: 0.1)"})`.
/// Each key is a path as `--set` takes it; the overrides apply in the order of their paths, so
/// a structure is set before a field inside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name, unique among the variants and not `base`.
    pub name: String,
    /// Path to new value, as `--set path=value` would give them.
    pub set: BTreeMap<String, SetValue>,
}

/// A value in a variant's `set`: a number, `true`/`false`, or a string holding a scalar or a
/// structure in RON (`"Exponential(base: \"50ms\", cap: \"2s\")"`, or with a raw string
/// `r#"Exponential(base: "50ms", cap: "2s")"#`). Kept as the text `--set` would have seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetValue(pub String);
impl Serialize for SetValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SetValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SetValue, D::Error> {
        struct SetValueVisitor;
        impl Visitor<'_> for SetValueVisitor {
            type Value = SetValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a number, true or false, or a string such as "15ms" or "Exponential(base: \"50ms\", cap: \"2s\")""#)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SetValue, E> {
                Ok(SetValue(text.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<SetValue, E> {
                Ok(SetValue(b.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
        }
        deserializer.deserialize_any(SetValueVisitor)
    }
}

/// The longest run: 100 years, far below the 584 years of the u64 nanosecond clock, so that any
/// time inside a run can still be added to.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(100 * 365 * 24 * 3600);
/// The longest name a scenario, client, service, cache, class or variant may have, in
/// characters: every time-series row repeats it.
pub const MAX_NAME: usize = 100;
/// Why `name` cannot be a name, if it cannot: empty, too long, or holding a character that
/// would act on a terminal (a control character) or reorder the text shown around it (a
/// bidirectional override).
pub fn refuse_name(name: &str) -> Option<String> {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
    if name.trim().is_empty() {
        Some("a name must not be empty".into())
    } else if name.chars().count() > MAX_NAME {
        Some(format!("a name may have at most {MAX_NAME} characters, this one has {}", name.chars().count()))
    } else {
        let c = name.chars().find(|&c| c.is_control() || bidi(c))?;
        Some(format!("a name must hold printable characters only, and this one holds {c:?}"))
    }
}

// The defaults the schema's `#[serde(default = ...)]` attributes name.

fn one_second() -> Duration {
    Duration(SimDuration::from_secs(1))
}

/// How long a periodic fault lasts when no `duration` is given: the whole run.
fn forever() -> Duration {
    Duration(SimDuration::from_secs(100 * 365 * 24 * 3600))
}

fn fifteen_seconds() -> Duration {
    Duration(SimDuration::from_secs(15))
}

fn five_minutes() -> Duration {
    Duration(SimDuration::from_secs(300))
}

fn twenty_five() -> u32 {
    25
}

fn cancel() -> Losers {
    Losers::Cancel
}

fn two() -> f64 {
    2.0
}

fn count_100() -> BreakerWindow {
    BreakerWindow::Count(100)
}

fn one_f64() -> f64 {
    1.0
}

fn hundred() -> u32 {
    100
}

fn all_failures() -> Vec<FailureKind> {
    vec![FailureKind::Timeout, FailureKind::Error, FailureKind::Rejected]
}

fn ten() -> f64 {
    10.0
}

fn hundred_ms() -> Duration {
    Duration(SimDuration::from_millis(100))
}

fn two_minutes() -> Duration {
    Duration(SimDuration::from_secs(120))
}

fn half() -> f64 {
    0.5
}

fn sixty_seconds() -> Duration {
    Duration(SimDuration::from_secs(60))
}

fn ten_u32() -> u32 {
    10
}

fn ten_seconds() -> Duration {
    Duration(SimDuration::from_secs(10))
}

fn a_tenth() -> f64 {
    0.1
}

fn one() -> u32 {
    1
}
