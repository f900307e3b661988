//! A handler's steps (work, calls, fan-outs, cache look-ups, publishes, batches), their options, and the
//! distributions a step's durations are drawn from.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Duration, Policy};

/// One step of a handler.
#[derive(Clone, Debug)]
pub enum Step {
    /// Hold the worker for a duration drawn from the distribution.
    Work(DistSpec),
    /// Call another service and wait for its answer; a failed call fails this request.
    /// Written `Call("db")` or, with a policy, `Call("db", (timeout: "200ms", retry: ...))`.
    Call {
        /// The service called.
        service: String,
        /// Timeouts and retries on this edge.
        policy: Policy,
    },
    /// Fail the request here with the given probability (an application error).
    Fail(f64),
    /// Call a service `n` times at once and wait for all, any, or a quorum of the answers:
    /// `FanOut("leaf", 100)` or `FanOut("leaf", 100, (wait: Quorum(2), policy: (...)))`.
    /// Losing calls run on; their answers are dropped (and their work counted as wasted).
    FanOut {
        /// The service called.
        service: String,
        /// How many calls.
        n: u32,
        /// What to wait for, and the policy of each call.
        options: FanOutOptions,
    },
    /// Make several different calls at once and wait for all, any, or a quorum of them:
    /// `Parallel([Call("a"), Call("b", (timeout: "50ms"))])` or
    /// `Parallel([Call("a"), Call("b")], (wait: Any, losers: Cancel))`. Only `Call` steps.
    Parallel {
        /// The calls, each a `Call` step.
        calls: Vec<Step>,
        /// What to wait for, and what happens to the losers.
        options: ParallelOptions,
    },
    /// Look the request's key up in a cache: a hit goes on after the step; a miss runs the
    /// `miss` steps (typically a `Call` to the database) and fills the cache:
    /// `Cached("products", [Call("db")])`. Caches nest: `Cached("l1", [Cached("l2", [...])])`.
    Cached {
        /// The cache.
        cache: String,
        /// What a miss does before the fill.
        miss: Vec<Step>,
    },
    /// Remove the request's key from a cache (cache-aside writes: update the database, then
    /// invalidate).
    Invalidate(String),
    /// Write the request's key into a cache, fresh (write-through).
    Put(String),
    /// Hand a message (carrying the request's class and key) to a topic, without waiting for
    /// anyone to read it: `Publish("orders")` goes on at once (fire and forget, Kafka's
    /// `acks=0`); `Publish("orders", (ack: true, policy: (timeout: "100ms")))` waits for the
    /// broker's append, with timeouts and retries as on a call.
    Publish {
        /// The topic.
        topic: String,
        /// Whether to wait for the broker's acknowledgement, and the policy of that wait.
        options: PublishOptions,
    },
    /// Collect requests into batches and run `steps` once per batch:
    /// `Batch((size: 100, linger: "5ms", per_item: Constant("50us")), [Call("db")])`. A request
    /// waits at the step (keeping its worker, or, in an `Async` service, not) until its batch
    /// has been run, then goes on; if the batch fails, every request in it fails.
    Batch {
        /// Size, linger, the cost per item and how many batches run at once.
        options: BatchOptions,
        /// What a batch does, once: any steps but another `Batch`.
        steps: Vec<Step>,
    },
}

/// Whether a `Publish` step waits for the broker, and how.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishOptions {
    /// Wait until the broker has appended the message (Kafka's `acks=1`/`all`, an SQS
    /// `SendMessage` answered): the step takes the topic's append latency, and a refused or
    /// failed append fails it. Default `false`: the step goes on at once and never learns.
    #[serde(default)]
    pub ack: bool,
    /// The acknowledged publish's timeouts, deadline, retries (a retried append the broker had
    /// already taken is a duplicate, as with a producer that is not idempotent), breaker,
    /// throttle and rate limit. Only with `ack: true`; no hedging or bulkhead.
    #[serde(default)]
    pub policy: Policy,
}

/// How a `Batch` step collects and runs its batches. Each instance of the service keeps its
/// own batcher.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOptions {
    /// The name of the batcher in the outputs (`service/name`). Default `batch` for the first
    /// `Batch` step of a service, then `batch2`, `batch3`, ...
    #[serde(default)]
    pub name: Option<String>,
    /// A batch closes when it holds this many requests.
    pub size: u32,
    /// A batch also closes this long after its first request came, however few it holds.
    /// Default: no limit (it waits for `size`).
    #[serde(default)]
    pub linger: Option<Duration>,
    /// Time a batch spends per request it holds, drawn once for each, before its steps: the
    /// cost that grows with the batch (rows of a bulk insert). Default none.
    #[serde(default)]
    pub per_item: Option<DistSpec>,
    /// How many closed batches an instance runs at once; the others wait their turn, oldest
    /// first (a Kafka producer's requests in flight, a bulk writer's connections). Default 1.
    #[serde(default = "super::one")]
    pub flushes: u32,
}

/// What a `Parallel` step waits for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelOptions {
    /// Default `All`.
    #[serde(default)]
    pub wait: Wait,
    /// What happens to the calls still out once the wait is decided. Default `Finish`.
    #[serde(default)]
    pub losers: Losers,
}

/// What happens to the calls still out once a wait is decided (the first answer of a hedge,
/// the quorum of a fan-out reached, or the wait failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Losers {
    /// They run on; their answers are dropped and their work counted as wasted (what most code
    /// does: a `CompletableFuture.anyOf` or an unwatched goroutine).
    #[default]
    Finish,
    /// The caller cancels them: a queued visit is dropped at once, and a running one stops
    /// before its next step (gRPC and Go context cancellation).
    Cancel,
}

/// What a fan-out waits for, and the policy of each of its calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOutOptions {
    /// Default `All`.
    #[serde(default)]
    pub wait: Wait,
    /// Timeouts, retries, breaker and throttling of each call.
    #[serde(default)]
    pub policy: Policy,
    /// What happens to the calls still out once the wait is decided. Default `Finish`.
    #[serde(default)]
    pub losers: Losers,
}

/// How many answers a fan-out waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// Every call must succeed; one failure fails the step.
    #[default]
    All,
    /// The first success wins; the step fails only if every call fails.
    Any,
    /// `k` successes are enough; the step fails once too many calls failed for `k`.
    Quorum(u32),
}

/// Step's serde, generated from one declaration per step: its name, the fields it binds, the
/// text a list of steps shows it as and, for a step written as a tuple, its elements' types
/// (those marked `= default` optional at the end) and what it expects when the input is not
/// that. From the list come the tag and its names, the dispatch, each tuple's reader and
/// `Serialize`. A missing element is refused by its position, one too many by the position
/// after the last.
macro_rules! step_forms {
    ($($name:ident $bind:tt, shown $shown:literal $(, read as $types:tt, expecting $expecting:literal)?;)*) => {
        /// A step's name, as its tag.
        #[derive(Clone, Copy)]
        enum StepTag {
            $($name,)*
        }

        const STEP_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Writes "a step: " and `items`, the last after "or".
        fn one_of(f: &mut fmt::Formatter<'_>, items: &[&str]) -> fmt::Result {
            f.write_str("a step: ")?;
            for (i, item) in items.iter().enumerate() {
                let gap = if i == 0 { "" } else if i + 1 == items.len() { " or " } else { ", " };
                write!(f, "{gap}{item}")?;
            }
            Ok(())
        }

        impl Serialize for Step {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Step::$name $bind => step_forms!(@write serializer, $name, $bind),)*
                }
            }
        }

        impl<'de> Deserialize<'de> for StepTag {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StepTag, D::Error> {
                struct TagVisitor;
                impl Visitor<'_> for TagVisitor {
                    type Value = StepTag;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        one_of(f, STEP_NAMES)
                    }
                    fn visit_str<E: de::Error>(self, name: &str) -> Result<StepTag, E> {
                        match name {
                            $(stringify!($name) => Ok(StepTag::$name),)*
                            other => Err(E::unknown_variant(other, STEP_NAMES)),
                        }
                    }
                }
                deserializer.deserialize_identifier(TagVisitor)
            }
        }

        impl<'de> Deserialize<'de> for Step {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Step, D::Error> {
                struct StepVisitor;
                impl<'de> Visitor<'de> for StepVisitor {
                    type Value = Step;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        one_of(f, &[$($shown),*])
                    }
                    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Step, A::Error> {
                        use serde::de::VariantAccess;
                        let (tag, variant) = data.variant::<StepTag>()?;
                        match tag {
                            $(StepTag::$name => step_forms!(@read variant, $name, $bind $(, $types, $expecting)?),)*
                        }
                    }
                }
                deserializer.deserialize_enum("Step", STEP_NAMES, StepVisitor)
            }
        }
    };
    (@write $s:ident, $name:ident, ($value:ident)) => {
        $s.serialize_newtype_variant("Step", StepTag::$name as u32, stringify!($name), $value)
    };
    (@write $s:ident, $name:ident, { $($field:ident),* }) => {{
        use serde::ser::SerializeTupleVariant;
        let len = [$(stringify!($field)),*].len();
        let mut tuple = $s.serialize_tuple_variant("Step", StepTag::$name as u32, stringify!($name), len)?;
        $(tuple.serialize_field($field)?;)*
        tuple.end()
    }};
    (@read $variant:ident, $name:ident, ($value:ident)) => {
        $variant.newtype_variant().map(Step::$name)
    };
    (@read $variant:ident, $name:ident, { $($field:ident),* },
     ($($ty:ty $(= $default:ident)?),*), $expecting:literal) => {{
        struct Elements;
        impl<'de> Visitor<'de> for Elements {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($expecting)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Step, A::Error> {
                let mut read = 0;
                $(
                    let $field: $ty = step_forms!(@element seq, self, read $(, $default)?);
                    read += 1;
                )*
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(read + 1, &self));
                }
                Ok(Step::$name { $($field),* })
            }
        }
        $variant.tuple_variant([$(stringify!($field)),*].len(), Elements)
    }};
    (@element $seq:ident, $me:ident, $at:ident) => {
        $seq.next_element()?.ok_or_else(|| de::Error::invalid_length($at, &$me))?
    };
    (@element $seq:ident, $me:ident, $at:ident, default) => {
        $seq.next_element()?.unwrap_or_default()
    };
}

step_forms! {
    Work(dist), shown "Work(...)";
    Call { service, policy }, shown "Call(...)",
        read as (String, Policy = default),
        expecting r#"a service name and an optional policy: Call("db") or Call("db", (timeout: "200ms"))"#;
    Fail(probability), shown "Fail(...)";
    FanOut { service, n, options }, shown "FanOut(...)",
        read as (String, u32, FanOutOptions = default),
        expecting r#"a service, a count and optional options: FanOut("leaf", 100, (wait: Any))"#;
    Parallel { calls, options }, shown "Parallel([...])",
        read as (Vec<Step>, ParallelOptions = default),
        expecting r#"a list of calls and optional options: Parallel([Call("a"), Call("b")], (wait: Any))"#;
    Cached { cache, miss }, shown "Cached(...)",
        read as (String, Vec<Step>),
        expecting r#"a cache and the steps of a miss: Cached("products", [Call("db")])"#;
    Invalidate(cache), shown "Invalidate(...)";
    Put(cache), shown "Put(...)";
    Publish { topic, options }, shown "Publish(...)",
        read as (String, PublishOptions = default),
        expecting r#"a topic and optional options: Publish("orders") or Publish("orders", (ack: true))"#;
    Batch { options, steps }, shown "Batch(...)",
        read as (BatchOptions, Vec<Step>),
        expecting r#"the batch's options and its steps: Batch((size: 100, linger: "5ms"), [Call("db")])"#;
}

/// A distribution of durations as written in the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DistSpec {
    /// Always this duration.
    Constant(Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest value.
        min: Duration,
        /// Largest value.
        max: Duration,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean.
        mean: Duration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// The mean.
        mean: Duration,
        /// The standard deviation.
        std_dev: Duration,
    },
    /// Log-normal, given either `median` and `p99`, or `mean` and `std_dev`.
    LogNormal {
        /// The median (with `p99`).
        #[serde(default)]
        median: Option<Duration>,
        /// The 99th percentile (with `median`).
        #[serde(default)]
        p99: Option<Duration>,
        /// The mean (with `std_dev`).
        #[serde(default)]
        mean: Option<Duration>,
        /// The standard deviation (with `mean`).
        #[serde(default)]
        std_dev: Option<Duration>,
    },
    /// Pareto: at least `scale`, with tail index `shape`.
    Pareto {
        /// The minimum.
        scale: Duration,
        /// The tail index; at most 1 has an infinite mean.
        shape: f64,
    },
    /// Weibull with `scale` and `shape`.
    Weibull {
        /// The scale.
        scale: Duration,
        /// The shape; 1 is exponential.
        shape: f64,
    },
    /// Quantile points `(probability, duration)` from probability 0 to 1, interpolated.
    Empirical(Vec<(f64, Duration)>),
    /// A weighted mixture `(weight, distribution)`: `[(99, Constant("1ms")), (1, ...)]`.
    Mixture(Vec<(f64, DistSpec)>),
}
