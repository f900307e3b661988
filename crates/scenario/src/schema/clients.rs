//! Clients: who sends the traffic, at what rate or with how many users, in which classes, with
//! which keys, and how the rate changes over time.

use serde::{Deserialize, Serialize};

use super::{DistSpec, Duration, Policy};

/// A traffic source. Open loop (`rate`): requests arrive at `rate` per second whatever the
/// answers do, as many independent users would. Closed loop (`users`): each of N users sends a
/// request, waits for its answer (or its failure, a timeout included), thinks for `think`, and
/// sends the next, as load tests and batch workers do. Give `rate` or `users`, not both.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The client's name, unique among clients.
    pub name: String,
    /// The service every request goes to.
    pub target: String,
    /// Requests per second (open loop).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Users, each with one request at a time (closed loop).
    #[serde(default)]
    pub users: Option<u32>,
    /// A closed-loop user's pause between an answer and its next request; each user also
    /// waits one think time before its first request. Default none: back to back.
    #[serde(default)]
    pub think: Option<DistSpec>,
    /// The arrival process; default `Poisson`.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// How an open-loop rate changes over the run, shape after shape from `rate`:
    /// `[Step(at: "30s", rate: 2000), Spike(at: "60s", duration: "10s", rate: 5000)]`.
    /// Poisson arrivals stay Poisson at the changing rate (by thinning).
    #[serde(default)]
    pub traffic: Vec<Shape>,
    /// Timeouts and retries on the client's calls.
    #[serde(default)]
    pub policy: Policy,
    /// Kinds of request the client sends, e.g. 90% reads and 10% writes. Default: one kind.
    #[serde(default)]
    pub classes: Vec<Class>,
    /// Which item each request is about, for caches and key-routed services:
    /// `Zipf(n: 100000, s: 1.1)`. A class may draw from its own. Default: none.
    #[serde(default)]
    pub keys: Option<Keys>,
    /// Recorded arrivals to replay, in place of `rate` or `users`: a CSV file (its path
    /// relative to the scenario file's folder), one row per request, `time[,class[,key]]`.
    #[serde(default)]
    pub trace: Option<String>,
}

/// How a request's key is drawn. Keys are ranks from 0, the most popular first, so the top `k`
/// keys are `0 .. k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Keys {
    /// Zipf's law over `n` keys: key `k` (from 0) drawn with probability proportional to
    /// `1 / (k + 1)^s`. Web objects and database rows typically have `s` between 0.6 and 1.3.
    Zipf {
        /// How many keys.
        n: u32,
        /// The exponent, 0 or more (0 is uniform).
        s: f64,
    },
    /// Every one of `n` keys equally likely.
    Uniform {
        /// How many keys.
        n: u32,
    },
    /// A hot set: `share` of the requests on the `hot` first keys, the rest on the others, each
    /// part uniform.
    HotSet {
        /// How many keys.
        n: u32,
        /// How many of them are hot.
        hot: u32,
        /// The share of requests on the hot keys, 0 to 1.
        share: f64,
    },
}

/// A kind of request. Its name follows the request down the call graph: every service runs its
/// handler for the class (from `handlers`) if it has one, else its default `handler`, and a
/// `Priority` queue serves it by the class's `priority`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// The class's name; the same name in two clients is the same class.
    pub name: String,
    /// The share of the client's requests, relative to the other classes' weights.
    pub weight: f64,
    /// Larger is served first by `Priority` queues. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// The class's own key distribution, in place of the client's.
    #[serde(default)]
    pub keys: Option<Keys>,
}

/// A change of an open-loop client's rate over time. Shapes apply in order: each starts from
/// the rate the ones before it give.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Shape {
    /// From `at` on, the rate is `rate`.
    Step {
        /// When.
        at: Duration,
        /// The new rate, per second.
        rate: f64,
    },
    /// From `from` to `to` the rate moves in a straight line to `rate`, and stays there.
    Ramp {
        /// When the ramp starts.
        from: Duration,
        /// When it reaches `rate`.
        to: Duration,
        /// The rate at the end, per second.
        rate: f64,
    },
    /// From `at` for `duration` the rate is `rate`, then back to what it was.
    Spike {
        /// When.
        at: Duration,
        /// How long.
        duration: Duration,
        /// The rate during the spike, per second.
        rate: f64,
    },
    /// The rate times `1 + amplitude x sin(2 pi t / period)`: a day's rhythm.
    Diurnal {
        /// The period, e.g. "24h".
        period: Duration,
        /// Between 0 and 1.
        amplitude: f64,
    },
    /// The rate times `(1 + per_hour)^(t / 1h)`: steady growth (or decline, below 0).
    Growth {
        /// The growth per hour, e.g. 0.1 for 10%; above -1.
        per_hour: f64,
    },
    /// Bursts: on for an exponential time of mean `on`, off (no traffic) for one of mean `off`,
    /// starting on (a Markov-modulated Poisson process).
    OnOff {
        /// The mean length of a burst.
        on: Duration,
        /// The mean pause between bursts.
        off: Duration,
    },
}

/// How requests are spaced in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrivals {
    /// Exponential gaps: independent arrivals, the usual model of many users.
    #[default]
    Poisson,
    /// Equal gaps of exactly `1 / rate`.
    Constant,
}
