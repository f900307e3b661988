//! Topics and consumer groups: each topic's settings checked, each service's `consumes`
//! resolved to its topic and dead-letter topic, and every topic told which groups read it.

use tailsim_engine::SimDuration;

use super::Cx;
use crate::compile::{ServiceId, ServiceModel, Subscription, TopicModel, compile_dist};
use crate::kinds::Delivery;
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema;

/// The most partitions a topic may have: each is a backlog in memory and a row of the summary.
pub const MAX_PARTITIONS: u32 = 10_000;

/// How long a `Queue` group's received message stays invisible when the file does not say
/// (SQS's default visibility timeout).
const DEFAULT_VISIBILITY: SimDuration = SimDuration::from_secs(30);

/// The id of the topic named `name`, or an error on `path` (said of `what`) with a hint.
pub(super) fn topic_id(cx: &mut Cx<'_>, name: &str, path: &str, what: &str) -> Option<u32> {
    let declare = format!(r#"declare it: topics: [Topic(name: "{name}")]"#);
    let topics = cx.topics.clone();
    cx.named(&topics, name, path, what, "topics", &declare)
}

/// Lowers every topic, and every service's `consumes` into `services`.
pub(super) fn compile(cx: &mut Cx<'_>, services: &mut [ServiceModel]) -> Vec<TopicModel> {
    let scenario = cx.scenario;
    let mut topics: Vec<TopicModel> = scenario.topics.iter().enumerate().map(|(i, t)| topic(cx, i, t)).collect();
    for (i, s) in scenario.services.iter().enumerate() {
        let Some(consumes) = &s.consumes else { continue };
        let path = format!("services[{i}] \"{}\".consumes", s.name);
        if let Some(subscription) = subscription(cx, consumes, &path) {
            if let Some(topic) = topics.get_mut(subscription.topic as usize) {
                topic.groups.push(ServiceId(i as u32));
            }
            if let Some(service) = services.get_mut(i) {
                service.consumes = Some(subscription);
            }
        }
    }
    topics
}

/// Lowers topic `i`.
fn topic(cx: &mut Cx<'_>, i: usize, t: &schema::Topic) -> TopicModel {
    let path = format!("topics[{i}] \"{}\"", t.name);
    let at = cx.index.name(&t.name);
    let twice = cx.scenario.topics[..i].iter().any(|other| other.name == t.name);
    let mut fail = |message: String, hint: &str| {
        let d = Diagnostic::error(message).at_path(&path).at(at);
        cx.error(if hint.is_empty() { d } else { d.with_hint(hint) });
    };
    if let Some(why) = schema::refuse_name(&t.name) {
        fail(why, "");
    }
    if twice {
        fail(format!("two topics are named \"{}\"", t.name), "topic names must be unique");
    }
    if t.partitions == 0 || t.partitions > MAX_PARTITIONS {
        fail(format!("`partitions` must be between 1 and {MAX_PARTITIONS}, got {}", t.partitions), "");
    }
    if t.capacity == Some(0) {
        fail("a topic's `capacity` must be at least 1 message".into(), "leave it out for no bound");
    }
    if t.ttl.is_some_and(|ttl| ttl.0 == SimDuration::ZERO) {
        fail("a topic's `ttl` must be longer than zero".into(), "leave it out to keep messages for ever");
    }
    let append = t.append.as_ref().and_then(|spec| match compile_dist(spec) {
        Ok(dist) => Some(dist),
        Err(why) => {
            fail(format!("`append`: {why}"), "");
            None
        }
    });
    TopicModel {
        name: t.name.clone(),
        partitions: t.partitions.clamp(1, MAX_PARTITIONS),
        partition_by: t.partition_by.into(),
        capacity: t.capacity.filter(|&c| c > 0),
        when_full: t.when_full.into(),
        append,
        ttl: t.ttl.map(|d| d.0).filter(|d| *d > SimDuration::ZERO),
        faults: Vec::new(),
        groups: Vec::new(),
    }
}

/// Lowers one service's `consumes`, found at `path`.
fn subscription(cx: &mut Cx<'_>, c: &schema::Consumes, path: &str) -> Option<Subscription> {
    let topic = topic_id(cx, &c.topic, path, "`consumes`");
    let dead_letter = c.dead_letter.as_ref().and_then(|name| topic_id(cx, name, path, "`dead_letter`"));
    let delivery: Delivery = c.delivery.into();
    let at = cx.index.quoted(&c.topic);
    let mut fail = |message: &str, hint: &str| {
        cx.error(Diagnostic::error(message.to_string()).at_path(path).at(at).with_hint(hint.to_string()));
    };
    if delivery == Delivery::Log && c.visibility_timeout.is_some() {
        fail(
            "`visibility_timeout` is a queue's: a `Log` group commits offsets and never hides a message",
            "write `delivery: Queue` for SQS-style delivery, or leave the timeout out",
        );
    }
    if delivery == Delivery::Log && c.heartbeat {
        fail(
            "`heartbeat` extends a queue's visibility timeout: a `Log` group has none",
            "write `delivery: Queue`, or leave `heartbeat` out",
        );
    }
    if delivery == Delivery::Queue && c.rebalance_pause.is_some() {
        fail(
            "`rebalance_pause` is a log's: a `Queue` group's consumers share one queue and never rebalance",
            "write `delivery: Log`, or leave the pause out",
        );
    }
    if c.visibility_timeout.is_some_and(|v| v.0 == SimDuration::ZERO) {
        fail("`visibility_timeout` must be longer than zero", "SQS's default is \"30s\"");
    }
    if c.max_receives == Some(0) {
        fail("`max_receives` must be at least 1", "a message is received at least once");
    }
    if dead_letter.is_some() && dead_letter == topic {
        fail("a group's `dead_letter` must be another topic than the one it reads", "name a topic of its own");
    }
    let max_receives = match (c.max_receives, delivery) {
        (Some(n), _) => n.max(1),
        (None, Delivery::Log) => 1,
        (None, Delivery::Queue) => u32::MAX,
    };
    Some(Subscription {
        topic: topic?,
        delivery,
        visibility_timeout: c.visibility_timeout.map_or(DEFAULT_VISIBILITY, |v| v.0),
        heartbeat: c.heartbeat,
        max_receives,
        dead_letter,
        rebalance_pause: c.rebalance_pause.map_or(SimDuration::ZERO, |d| d.0),
    })
}
