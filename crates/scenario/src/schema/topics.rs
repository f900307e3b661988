//! Messaging: topics (a broker's queues and partitioned logs), and what a consumer group reads
//! from one and how its messages are delivered.

use serde::{Deserialize, Serialize};

use super::{DistSpec, Duration, one};

/// A topic of a message broker: handlers hand messages to it with `Publish("name")` steps and go
/// on at once; each consumer group (a service with `consumes`) gets every message and works
/// through its own copy. Written `Topic(name: "orders", partitions: 12)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// The topic's name, unique among topics.
    pub name: String,
    /// Partitions of the log: a partition is read by one consumer of a `Log` group at a time,
    /// in order. Default 1. Groups with `Queue` delivery share one queue whatever this is.
    #[serde(default = "one")]
    pub partitions: u32,
    /// Which partition a message goes to. Default `Random`.
    #[serde(default)]
    pub partition_by: PartitionBy,
    /// The most messages a group's backlog holds (published and not yet received). A publish
    /// finds it full (and `when_full` says what then); a message coming back for another delivery (a retry, a visibility
    /// timeout) was taken already and is never turned away, so it may pass the bound by the
    /// messages in flight. Default: no bound.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// What a publish does when a backlog is full. Default `Refuse`.
    #[serde(default)]
    pub when_full: WhenFull,
    /// How long the broker takes to append a message, from the publish to the message being
    /// in the backlogs (and, for an acknowledged publish, to the producer's answer). Default:
    /// at once.
    #[serde(default)]
    pub append: Option<DistSpec>,
    /// How long a message may wait in a backlog, from its publish, before the broker discards
    /// it unread (RabbitMQ's per-queue message TTL, SQS's retention period): an expired
    /// message goes once it reaches the head of its backlog, counted `expired`. A message
    /// being handled is not touched. Default: for ever.
    #[serde(default)]
    pub ttl: Option<Duration>,
}

/// How a message picks its partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionBy {
    /// Uniformly at random.
    #[default]
    Random,
    /// In turn: 0, 1, 2, ...
    RoundRobin,
    /// The request's key, hashed: one key always lands on one partition (Kafka's default
    /// partitioner for keyed records).
    Key,
}

/// What a publish to a full backlog does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhenFull {
    /// The publish fails (the `Publish` step fails its request, as `Rejected`), and no group
    /// gets the message (RabbitMQ's `reject-publish`).
    #[default]
    Refuse,
    /// The oldest message waiting in the full backlog is dropped to make room (RabbitMQ's
    /// default `drop-head`).
    DropOldest,
    /// The `Publish` step waits until every backlog has room, holding its worker (or, in an
    /// `Async` service, not), as a Kafka producer's `send` blocks on a full buffer:
    /// back-pressure reaches the producer's callers.
    Block,
}

/// What a consumer group reads: the service with this field is the group, each instance a
/// consumer, each worker a message processed at once, its handler run once per message.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumes {
    /// The topic read.
    pub topic: String,
    /// How messages are handed out. Default `Log`.
    #[serde(default)]
    pub delivery: Delivery,
    /// `Queue` only: how long a received message stays invisible to the other consumers; one
    /// not deleted (handled successfully) by then is delivered again. Default 30s (SQS's).
    #[serde(default)]
    pub visibility_timeout: Option<Duration>,
    /// `Queue` only: the consumer extends a message's invisibility while it works on it (an
    /// SQS heartbeat of `ChangeMessageVisibility`), so a message is delivered again only when
    /// its consumer failed or crashed, never for being slow. Default `false`.
    #[serde(default)]
    pub heartbeat: bool,
    /// The most times a message is received: past it, a message that failed every time goes to
    /// `dead_letter` (or is dropped, counted). Default: a `Log` group tries once, a `Queue`
    /// group for ever.
    #[serde(default)]
    pub max_receives: Option<u32>,
    /// The topic a message goes to after `max_receives`. Default: none.
    #[serde(default)]
    pub dead_letter: Option<String>,
    /// `Log` only: how long the group hands out nothing when its consumers change (a crash
    /// noticed, a restart, an instance started or stopped), before its partitions are dealt
    /// again: Kafka's eager rebalance, in which every partition waits. A change during a
    /// pause starts it again. Default: at once.
    #[serde(default)]
    pub rebalance_pause: Option<Duration>,
}

/// How a group's messages are handed to its consumers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// A partitioned log (Kafka): each partition is assigned to one consumer (partition `p` to
    /// the `p mod n`-th of `n`), which handles its messages one at a time and in order; a
    /// failed message is delivered again at once, ahead of the rest of its partition. A consumer
    /// beyond the partition count has nothing to read.
    #[default]
    Log,
    /// A shared queue (SQS): any consumer with a free worker takes the oldest visible message,
    /// which stays invisible to the others for the visibility timeout; one visible again is
    /// the oldest, at the head.
    Queue,
}
