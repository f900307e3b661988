//! Proof of the message broker against queueing theory and exact probabilities: a topic with
//! one partition and one consumer is M/M/1, P partitions under random partitioning are P
//! independent M/M/1 queues, a shared queue with c consumers is M/M/c (Erlang C), consumers
//! beyond the partition count change nothing, and redeliveries and dead letters follow the
//! visibility timeout's and the retries' arithmetic. Every run also checks that each group's
//! messages are conserved (see `tailsim_tests::run`).

use tailsim_model::analysis::erlang_c;
use tailsim_report::{GroupSummary, Report};
use tailsim_tests::{assert_theory, load, run, slope};

/// A client at `rate`/s whose request publishes to topic "jobs" (`topic` is its settings) and
/// answers at once; the group "worker" (`consumer` is its settings) reads it.
fn pipeline(rate: f64, topic: &str, consumer: &str, consumes: &str, duration_s: u64) -> String {
    format!(
        r#"Scenario(
            name: "pipeline",
            duration: "{duration_s}s",
            warmup: "10s",
            clients: [Client(name: "users", target: "api", rate: {rate:?})],
            services: [
                Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
                Service(name: "worker", {consumer}, consumes: Some((topic: "jobs", {consumes}))),
            ],
            topics: [Topic(name: "jobs", {topic})],
        )"#
    )
}

fn group_values(report: &Report, f: impl Fn(&GroupSummary) -> f64) -> Vec<f64> {
    report.runs.iter().map(|r| f(&r.topics[0].groups[0])).collect()
}

const EXP_1MS: &str = r#"handler: [Work(Exponential(mean: "1ms"))]"#;

/// M/M/1 at rho 0.8 through a one-partition log and one consumer: publish-to-done time is
/// exponential with mean W = 1/(mu - lambda) = 5 ms (p99 = ln(100) W), the backlog is the
/// queue (mean Lq = rho^2/(1 - rho) = 3.2), and a message waits Wq = rho W = 4 ms on average.
/// 2,000,000 messages per replication, 20 replications: the 99.9% intervals are near 1%.
#[test]
fn one_partition_and_one_consumer_is_mm1() {
    let text = pipeline(800.0, "", &format!("workers: 1, {EXP_1MS}"), "", 2500);
    let report = run(&load(&text), 11, 20);
    assert_theory("mean publish-to-done (ms)", &group_values(&report, |g| g.latency.mean_ms.unwrap()), 5.0, 0.02);
    let p99 = 100f64.ln() * 5.0;
    assert_theory("p99 publish-to-done (ms)", &group_values(&report, |g| g.latency.p99_ms.unwrap()), p99, 0.03);
    assert_theory("mean wait in the backlog (ms)", &group_values(&report, |g| g.wait.mean_ms.unwrap()), 4.0, 0.03);
    assert_theory("mean backlog", &group_values(&report, |g| g.mean_backlog), 3.2, 0.03);
    for run in &report.runs {
        let group = &run.topics[0].groups[0];
        assert_eq!((group.redeliveries, group.duplicates, group.dead_lettered), (0, 0, 0));
        assert_eq!(run.topics[0].published, group.received + group.messages.waiting, "published after the warm-up");
    }
}

/// Random partitioning splits a Poisson stream into P independent Poisson streams of rate
/// lambda/P, and each partition has its own consumer: P = 4 partitions at 3,200/s in all are
/// four M/M/1 queues at rho 0.8, so the time in system is the M/M/1 one, W = 5 ms (a shared
/// queue would give Erlang C's 1.75 ms, see below).
#[test]
fn p_partitions_with_p_consumers_are_p_mm1_queues() {
    let text = pipeline(3200.0, "partitions: 4", &format!("instances: 4, workers: 1, {EXP_1MS}"), "", 700);
    let report = run(&load(&text), 12, 20);
    assert_theory("mean publish-to-done (ms)", &group_values(&report, |g| g.latency.mean_ms.unwrap()), 5.0, 0.02);
    // Each partition's backlog is an M/M/1 queue: 4 x 3.2 messages on average.
    assert_theory("mean backlog", &group_values(&report, |g| g.mean_backlog), 12.8, 0.03);
}

/// A shared queue (SQS style) with c = 4 consumers of one worker at 3,200/s, mu = 1,000/s
/// each: an M/M/c queue with a = 3.2, so W = C(c, a) / (c mu - lambda) + 1/mu by Erlang C
/// (1.75 ms). The visibility timeout (30 s) is far beyond any handling, so nothing is
/// delivered twice.
#[test]
fn a_shared_queue_with_c_consumers_is_mmc() {
    let text =
        pipeline(3200.0, "partitions: 4", &format!("instances: 4, workers: 1, {EXP_1MS}"), "delivery: Queue", 700);
    let report = run(&load(&text), 13, 20);
    let w_ms = erlang_c(4, 3.2) / (4000.0 - 3200.0) * 1000.0 + 1.0;
    assert_theory(
        "M/M/4 mean publish-to-done (ms)",
        &group_values(&report, |g| g.latency.mean_ms.unwrap()),
        w_ms,
        0.02,
    );
    for run in &report.runs {
        assert_eq!(run.topics[0].groups[0].redeliveries, 0);
    }
}

/// A partition is read by one consumer of a group at a time: with 2 partitions, consumers 3
/// to 5 own none. The run with 5 consumers is the run with 2, message for message (the same
/// deliveries in the same order draw the same work), and the extra consumers do nothing.
#[test]
fn consumers_beyond_the_partition_count_add_nothing() {
    let run_with = |instances: u32| {
        let consumer = format!("instances: {instances}, workers: 1, {EXP_1MS}");
        run(&load(&pipeline(1500.0, "partitions: 2", &consumer, "", 200)), 14, 2)
    };
    let (two, five) = (run_with(2), run_with(5));
    for (a, b) in two.runs.iter().zip(&five.runs) {
        let (ga, gb) = (&a.topics[0].groups[0], &b.topics[0].groups[0]);
        assert_eq!(ga.consumed, gb.consumed);
        assert_eq!(ga.latency.mean_ms, gb.latency.mean_ms);
        assert_eq!(ga.latency.p999_ms, gb.latency.p999_ms);
        assert_eq!((ga.idle_consumers, gb.idle_consumers), (0, 3));
        let idle = &b.services[1].instance_utilisation[2..];
        assert!(idle.iter().all(|&u| u == 0.0), "consumers without a partition worked: {idle:?}");
        assert!(b.services[1].instance_utilisation[..2].iter().all(|&u| u > 0.6));
    }
}

/// With handling time S ~ Exponential(mean m) and visibility timeout V, the (k+1)-th delivery
/// happens at k V exactly when none of the first k ended before then: with probability
/// prod_{i=1..k} exp(-i V / m) = exp(-(V/m) k (k+1) / 2). At V/m = 1.5 the expected
/// redeliveries per message are the sum over k of that, 0.2344; every delivery ends in
/// success here, so each redelivery's or the first's later success is a duplicate. Consumers
/// have workers to spare (100 messages/s x 0.1 s = 10 busy of 500 on average), so a visible
/// message is received at once. 100,000 messages per replication: a binomial share's
/// standard error is about 0.6% of it per replication.
#[test]
fn visibility_timeouts_redeliver_the_share_the_handling_time_exceeds() {
    let expected: f64 = (1..20).map(|k| (-1.5 * f64::from(k * (k + 1)) / 2.0).exp()).sum();
    let consumer = r#"workers: 500, handler: [Work(Exponential(mean: "100ms"))]"#;
    let text = pipeline(100.0, "", consumer, r#"delivery: Queue, visibility_timeout: "150ms""#, 1010);
    let report = run(&load(&text), 15, 8);
    let per_message = |g: &GroupSummary| g.redeliveries as f64 / g.consumed as f64;
    assert_theory("redeliveries per message", &group_values(&report, per_message), expected, 0.03);
    let duplicates = |g: &GroupSummary| g.duplicates as f64 / g.consumed as f64;
    assert_theory("duplicates per message", &group_values(&report, duplicates), expected, 0.03);
}

/// `max_receives: 1` on a queue: a message whose only delivery outlives the visibility
/// timeout is dead-lettered at the timeout, with probability P(S > V) = exp(-1.5) = 0.2231;
/// its delivery's late success is a duplicate. The dead-letter topic's own group gets exactly
/// the messages dead-lettered.
#[test]
fn a_single_receive_dead_letters_what_outlives_the_timeout() {
    let text = r#"Scenario(
        name: "dlq",
        duration: "1010s",
        warmup: "10s",
        clients: [Client(name: "users", target: "api", rate: 100.0)],
        services: [
            Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
            Service(name: "worker", workers: 500, handler: [Work(Exponential(mean: "100ms"))],
                consumes: Some((topic: "jobs", delivery: Queue, visibility_timeout: "150ms", max_receives: 1,
                    dead_letter: "jobs-dlq"))),
            Service(name: "dlq-reader", workers: 10, handler: [Work(Constant("1ms"))],
                consumes: Some((topic: "jobs-dlq"))),
        ],
        topics: [Topic(name: "jobs"), Topic(name: "jobs-dlq")],
    )"#;
    let report = run(&load(text), 16, 8);
    let share = |g: &GroupSummary| g.dead_lettered as f64 / g.received as f64;
    assert_theory("dead-lettered share", &group_values(&report, share), (-1.5f64).exp(), 0.03);
    for run in &report.runs {
        let (jobs, dlq) = (&run.topics[0].groups[0], &run.topics[1]);
        assert_eq!(jobs.redeliveries, 0, "one receive only");
        assert_eq!(jobs.messages.dead_lettered, dlq.groups[0].messages.accepted);
    }
}

/// A log group retries a failed message at once, ahead of its partition: with each delivery
/// failing with probability p = 0.5 and `max_receives: 3`, a message is dead-lettered when all
/// three fail, p^3 = 1/8 of them, and delivered 1 + p + p^2 = 1.75 times on average.
#[test]
fn a_log_retries_in_place_and_dead_letters_what_failed_every_time() {
    let consumer = r#"workers: 1, handler: [Fail(0.5), Work(Exponential(mean: "1ms"))]"#;
    let text = pipeline(200.0, "", consumer, "max_receives: 3", 1010);
    let report = run(&load(&text), 17, 8);
    let settled = |g: &GroupSummary| (g.consumed + g.dead_lettered) as f64;
    let share = |g: &GroupSummary| g.dead_lettered as f64 / settled(g);
    assert_theory("dead-lettered share", &group_values(&report, share), 0.125, 0.04);
    let deliveries = |g: &GroupSummary| g.received as f64 / settled(g);
    assert_theory("deliveries per message", &group_values(&report, deliveries), 1.75, 0.01);
    for run in &report.runs {
        assert_eq!(run.topics[0].groups[0].duplicates, 0, "one delivery at a time on a partition");
    }
}

/// A bounded backlog: a publish to a full backlog is refused under `Refuse` (the producer's
/// request fails as rejected) and makes room by dropping the oldest under `DropOldest`. A
/// consumer at 1,000/s against 2,000/s published keeps the backlog full, so about half of the
/// messages are turned away either way; the backlog never exceeds the capacity.
#[test]
fn a_full_backlog_refuses_or_drops_the_oldest() {
    for (when_full, refused) in [("Refuse", true), ("DropOldest", false)] {
        let topic = format!("capacity: 50, when_full: {when_full}");
        let consumer = r#"workers: 1, handler: [Work(Constant("1ms"))]"#;
        let report = run(&load(&pipeline(2000.0, &topic, consumer, "", 60)), 18, 2);
        for run in &report.runs {
            let (topic, group) = (&run.topics[0], &run.topics[0].groups[0]);
            assert!(group.max_backlog <= 50, "{when_full}: backlog {}", group.max_backlog);
            let turned_away = if refused { topic.refused } else { group.dropped };
            let offered = (topic.published + topic.refused) as f64;
            let share = turned_away as f64 / offered;
            assert!((0.45..0.55).contains(&share), "{when_full}: turned away {share}");
            assert_eq!(run.clients[0].failures.rejected > 0, refused, "{when_full}: the producer sees a refusal");
        }
    }
}

/// `check` carries the publishers' rate to each group of the topic (every group gets every
/// message) and counts a log group's capacity as at most one message per partition at once:
/// 900/s of 1 ms work is 90% of one partition's worth however many consumers read it, and 30%
/// of a shared queue's three consumers. A log group with consumers beyond its partitions is
/// warned about; one that cannot keep up too.
#[test]
fn check_counts_a_groups_load_against_its_partitions() {
    use tailsim_model::analysis::{offered_load, warnings};
    let consumer = format!("instances: 3, workers: 1, {EXP_1MS}");
    for (delivery, partitions, expected, idle) in
        [("", 1, 0.9, true), ("delivery: Queue", 1, 0.3, false), ("", 3, 0.3, false)]
    {
        let text = pipeline(900.0, &format!("partitions: {partitions}"), &consumer, delivery, 20);
        let model = load(&text);
        let group = &offered_load(&model)[1];
        assert!((group.arrival_rate_per_s - 900.0).abs() < 1e-9, "{group:?}");
        assert!((group.offered_load - expected).abs() < 1e-9, "{delivery} over {partitions}: {group:?}");
        let said: Vec<String> = warnings(&model, &text).iter().map(|d| d.message.clone()).collect();
        assert_eq!(said.iter().any(|w| w.contains("sit idle")), idle, "{said:?}");
    }
    let text = pipeline(1100.0, "", &format!("workers: 1, {EXP_1MS}"), "", 20);
    let said: Vec<String> = warnings(&load(&text), &text).iter().map(|d| d.message.clone()).collect();
    assert!(said.iter().any(|w| w.contains("cannot keep up")), "{said:?}");
}

/// Spike arithmetic: published at lambda = 1,500/s against a consumer that handles mu =
/// 1,000/s (1 ms each), a backlog grows at lambda - mu = 500/s; back at 500/s it drains at
/// mu - lambda = 500/s. The slopes are least-squares fits of the backlog at each window's end,
/// 20 s each way (the backlog's Poisson noise is about 1% of its 10,000 messages); the backlog
/// is empty again by 62 s, and its oldest message had waited the 10 s a backlog of 10,000 at
/// 1,000/s takes to clear.
#[test]
fn a_spike_backlog_grows_at_lambda_minus_mu_and_drains_at_mu_minus_lambda() {
    let text = r#"Scenario(
        name: "spike",
        duration: "80s",
        clients: [Client(name: "users", target: "api", rate: 500.0,
            traffic: [Step(at: "20s", rate: 1500), Step(at: "40s", rate: 500)])],
        services: [
            Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
            Service(name: "worker", workers: 1, handler: [Work(Constant("1ms"))], consumes: Some((topic: "jobs"))),
        ],
        topics: [Topic(name: "jobs")],
    )"#;
    let report = run(&load(text), 19, 10);
    let backlog = |g: &GroupSummary| g.series.backlog.iter().map(|&b| b as f64).collect::<Vec<f64>>();
    let slope = |g: &GroupSummary, from: usize, to: usize| slope(&backlog(g), from, to);
    assert_theory("growth (messages/s)", &group_values(&report, |g| slope(g, 20, 39)), 500.0, 0.03);
    assert_theory("drain (messages/s)", &group_values(&report, |g| -slope(g, 40, 58)), 500.0, 0.03);
    for run in &report.runs {
        let series = &run.topics[0].groups[0].series;
        assert!(series.backlog[62..].iter().all(|&b| b < 50), "drained by 62 s: {:?}", &series.backlog[55..]);
        let worst = series.oldest_s.iter().copied().fold(0.0, f64::max);
        assert!((9.0..11.0).contains(&worst), "the oldest waited {worst} s");
    }
}

/// Messages that go round a loop are bounded by the run's limits, never by the machine: two
/// groups dead-lettering to each other's topic in no time stop at the steps one event may set
/// off; a consumer publishing two messages for each one it handles, or republishing to its own
/// queue, stops when the broker holds more messages than `--max-in-flight`.
#[test]
fn message_loops_stop_at_the_runs_limits() {
    let limits = tailsim_sim::Limits { max_in_flight: 20_000, ..tailsim_sim::Limits::default() };
    for (file, why) in [
        (include_str!("../fuzz/seeds/topic-dead-letter-loop.ron"), "steps"),
        (include_str!("../fuzz/seeds/topic-publish-amplifies.ron"), "messages were held by the broker"),
        (include_str!("../fuzz/seeds/topic-zero-time-loop.ron"), "steps"),
    ] {
        let model = load(file);
        let summary = tailsim_sim::world::run(&model, 1, 0, limits);
        let truncated = summary.truncated.unwrap_or_default();
        assert!(truncated.contains(why), "{truncated}");
        assert!(summary.conservation.holds, "{:?}", summary.conservation);
    }
    // Stopped inside an event, a run drops the ends of the visits that event refused; they are
    // still accounted for. A limit of 1,003 messages stops this loop just after a refusal.
    let model = load(include_str!("../fuzz/seeds/topic-republish-refused.ron"));
    for max_in_flight in [1_003, 20_000] {
        let limits = tailsim_sim::Limits { max_in_flight, ..tailsim_sim::Limits::default() };
        let summary = tailsim_sim::world::run(&model, 1, 0, limits);
        assert!(summary.truncated.unwrap_or_default().contains("messages were held by the broker"));
        assert!(summary.conservation.holds, "{max_in_flight}: {:?}", summary.conservation);
    }
}

/// A log group rebalances when a consumer's crash is noticed: with 6 partitions on 3
/// consumers at 1,200/s, the crashed consumer's two partitions (a third of the traffic) stall
/// for the 2 s until the crash is noticed, about 800 messages (Poisson: +-28), then the other
/// two consumers take them over and drain them within a couple of seconds, long before the
/// restart at 50 s. The message lost in the crash is delivered again, not lost.
#[test]
fn a_log_group_rebalances_once_a_crash_is_noticed() {
    let text = r#"Scenario(
        name: "rebalance",
        duration: "40s",
        clients: [Client(name: "users", target: "api", rate: 1200.0)],
        services: [
            Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
            Service(name: "worker", instances: 3, workers: 1, handler: [Work(Exponential(mean: "1ms"))],
                consumes: Some((topic: "jobs"))),
        ],
        topics: [Topic(name: "jobs", partitions: 6)],
        faults: [Crash(service: "worker", instance: 1, at: "20s", restart_after: "30s", detected_after: "2s")],
    )"#;
    let report = run(&load(text), 20, 4);
    for run in &report.runs {
        let group = &run.topics[0].groups[0];
        let at_22s = group.series.backlog[21] as f64;
        assert!((650.0..950.0).contains(&at_22s), "backlog when the crash is noticed: {at_22s}");
        assert!(group.series.backlog[25..].iter().all(|&b| b < 50), "{:?}", &group.series.backlog[18..30]);
        assert!(group.redeliveries <= 1, "only the message in hand is delivered again");
        assert!(run.services[1].lost <= 1);
    }
}

/// With heartbeats a consumer keeps its message invisible for as long as it works on it: the
/// run that redelivers 0.2344 per message without them (above) redelivers none, and handles
/// each message once.
#[test]
fn heartbeats_keep_a_slow_message_from_being_delivered_again() {
    let consumer = r#"workers: 500, handler: [Work(Exponential(mean: "100ms"))]"#;
    let consumes = r#"delivery: Queue, visibility_timeout: "150ms", heartbeat: true"#;
    let report = run(&load(&pipeline(100.0, "", consumer, consumes, 210)), 15, 2);
    for run in &report.runs {
        let group = &run.topics[0].groups[0];
        assert!(group.consumed > 19_000, "{}", group.consumed);
        assert_eq!((group.redeliveries, group.duplicates), (0, 0));
        let slow = group.latency.p99_ms.unwrap();
        assert!(slow > 150.0, "some messages outlived the timeout: p99 {slow} ms");
    }
}

/// The call graph draws messages too: the publisher points at the group of the topic it
/// publishes to, and a group at the group of its dead-letter topic.
#[test]
fn the_call_graph_shows_who_publishes_to_whom() {
    let text = pipeline(10.0, "", &format!("workers: 1, {EXP_1MS}"), r#"dead_letter: "dead""#, 20)
        .replace(r#"topics: [Topic(name: "jobs", )]"#, r#"topics: [Topic(name: "jobs"), Topic(name: "dead")]"#)
        .replace(
            "services: [",
            r#"services: [Service(name: "morgue", handler: [Work(Constant("1ms"))], consumes: Some((topic: "dead"))),"#,
        );
    let graph = tailsim_model::graph::call_graph(&load(&text));
    let edge = |from: &str, to: &str| {
        let index = |name: &str| graph.nodes.iter().position(|n| n.name == name).expect("a node");
        graph.edges.iter().find(|e| e.from == index(from) && e.to == index(to)).map(|e| e.label.clone())
    };
    assert_eq!(edge("api", "worker").as_deref(), Some(r#"publishes to "jobs""#));
    assert_eq!(edge("worker", "morgue").as_deref(), Some(r#"dead letters to "dead""#));
}

/// Back-pressure: a producer that blocks on a full backlog is held to the consumer's pace. At
/// 1,500 publishes/s against a consumer of 1,000/s (1 ms each) behind a backlog of 50, the
/// producer's 20 workers block on the full backlog: the broker takes exactly what the consumer
/// drains (consumed = published less what waits at the end), refuses and drops nothing, never
/// holds more than its capacity, and the excess waits in the producer's own queue, so the
/// clients see its queue grow (their answers slower by seconds).
#[test]
fn a_blocking_publish_holds_the_producer_to_the_consumers_pace() {
    let text =
        pipeline(1500.0, "capacity: 50, when_full: Block", r#"workers: 1, handler: [Work(Constant("1ms"))]"#, "", 30)
            .replace("Service(name: \"api\", workers: 1000", "Service(name: \"api\", workers: 20");
    let report = run(&load(&text), 21, 2);
    for run in &report.runs {
        let (topic, group) = (&run.topics[0], &run.topics[0].groups[0]);
        assert_eq!((topic.refused, group.dropped), (0, 0));
        assert!(group.max_backlog <= 50, "{}", group.max_backlog);
        let per_s = group.consumed as f64 / run.measured_s;
        assert!((per_s - 1000.0).abs() < 5.0, "the consumer's pace: {per_s}/s");
        assert!(topic.published >= group.consumed && topic.published <= group.consumed + 51, "{topic:?}");
        assert!(run.services[0].queue_wait.mean_ms.unwrap() > 1000.0, "{:?}", run.services[0].queue_wait);
        assert!(run.clients[0].latency.p50_ms.unwrap() > 1000.0);
    }
}

/// A topic's `ttl` discards what waited too long, unread: one consumer at exponential rate mu
/// and messages that expire after d in the backlog is the M/M/1+D queue, whose share of
/// expired messages is (1 - rho) rho x / (1 - rho^2 x) with x = e^-(mu - lambda) d
/// (Baccelli, Boyer and Hébuterne 1984; an expired message costs no service, so it matters
/// not whether it leaves on arrival or at the head). With mu = 1,000/s and d = 5 ms: 0.10731
/// at lambda = 900/s, and 0.22385 at 1,200/s (above the 1 - 1/rho = 0.1667 an overload must
/// lose). 20 replications of 200 s.
#[test]
fn a_ttl_expires_the_share_of_the_mm1_plus_d_queue() {
    let share = |rate: f64| {
        let consumer = format!("workers: 1, {EXP_1MS}");
        let report = run(&load(&pipeline(rate, r#"ttl: "5ms""#, &consumer, "delivery: Queue", 210)), 13, 20);
        let shares: Vec<f64> = report
            .runs
            .iter()
            .map(|r| r.topics[0].groups[0].expired.unwrap() as f64 / r.topics[0].published as f64)
            .collect();
        (report, shares)
    };
    for (rate, theory) in [(900.0, 0.10731), (1200.0, 0.22385)] {
        let (rho, x) = (rate / 1000.0, (-(1000.0 - rate) * 0.005f64).exp());
        assert!(((1.0 - rho) * rho * x / (1.0 - rho * rho * x) - theory).abs() < 1e-5);
        let (report, shares) = share(rate);
        assert_theory(&format!("expired share at {rate}/s"), &shares, theory, 0.02);
        for r in &report.runs {
            // Nothing waits past the ttl: the oldest waiting message is younger, window by window.
            assert!(r.topics[0].groups[0].series.oldest_s.iter().all(|&age| age < 0.005), "{:?}", r.replication);
        }
    }
}

/// An autoscaler on `Lag` follows KEDA's Kafka scaler through the HPA: at each look it wants
/// ceil(lag / target) consumers, unless lag / (ready x target) is within the HPA's 10%
/// tolerance of 1, and a log group never more than its partitions. 100 messages/s arrive at
/// a constant pace, and every consumer (one worker) holds its first message for good, so at
/// the look at t = 15 k s the lag is exactly 1,500 k minus the consumers. With a target of
/// 1,000: 1, 2, 3, 5, 6, 8, 9, 11, 11 (ratio 1.09, tolerated), then 14 wanted, which a log of
/// 12 partitions holds at 12 and a shared queue grants.
#[test]
fn a_lag_autoscaler_wants_ceil_lag_over_target_and_no_more_than_the_partitions() {
    let scenario = |delivery: &str| {
        format!(
            r#"Scenario(
            name: "keda",
            duration: "210s",
            warmup: "0s",
            clients: [Client(name: "producer", target: "api", rate: 100.0, arrivals: Constant)],
            services: [
                Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
                Service(name: "worker", workers: 1, handler: [Work(Constant("10000s"))],
                    consumes: Some((topic: "jobs", delivery: {delivery})),
                    autoscale: (metric: Lag(1000.0), min: 1, max: 50)),
            ],
            topics: [Topic(name: "jobs", partitions: 12)],
        )"#
        )
    };
    // The HPA's arithmetic on KEDA's metric, look by look.
    let expected = |cap: u32| {
        let mut consumers = vec![1u32];
        for k in 1..=13u32 {
            let now = *consumers.last().expect("one");
            let lag = f64::from(1500 * k - now);
            let ratio = lag / f64::from(now) / 1000.0;
            let wanted = if (ratio - 1.0).abs() <= 0.1 { now } else { (lag / 1000.0).ceil() as u32 };
            consumers.push(wanted.min(cap));
        }
        consumers
    };
    assert_eq!(expected(12)[..10], [1, 2, 3, 5, 6, 8, 9, 11, 11, 12]);
    for (delivery, cap) in [("Log", 12), ("Queue", 50)] {
        let report = run(&load(&scenario(delivery)), 1, 1);
        let instances = &report.runs[0].services[1].per_window.instances;
        // Windows 15 k to 15 k + 14 lie between look k and look k + 1.
        let seen: Vec<u32> = (0..=13).map(|k| instances[15 * k + 14]).collect();
        assert_eq!(seen, expected(cap), "{delivery}");
    }
}

/// A rebalance pause stops a log group's deliveries whenever its consumers change: with 6
/// partitions on 3 consumers at 1,200/s and a 3 s pause, a consumer's crash at 10 s, noticed
/// at 12 s, stalls its two partitions for those 2 s (~800 messages) and then every partition
/// for 3 s (3,600 more, Poisson: +-3.3 x 66 in all): nothing is handed out from 12 s to 15 s.
/// Its restart at 30 s pauses the group again: 2 rebalances, 6 s paused. A shared queue has no
/// partitions to deal and refuses the setting.
#[test]
fn a_rebalance_pause_stops_the_group_while_its_consumers_change() {
    let text = r#"Scenario(
        name: "rebalance-pause",
        duration: "40s",
        warmup: "0s",
        clients: [Client(name: "users", target: "api", rate: 1200.0)],
        services: [
            Service(name: "api", workers: 1000, handler: [Publish("jobs")]),
            Service(name: "worker", instances: 3, workers: 1, handler: [Work(Exponential(mean: "1ms"))],
                consumes: Some((topic: "jobs", rebalance_pause: "3s"))),
        ],
        topics: [Topic(name: "jobs", partitions: 6)],
        faults: [Crash(service: "worker", instance: Some(0), at: "10s", restart_after: "20s", detected_after: "2s")],
    )"#;
    let report = run(&load(text), 3, 1);
    let group = &report.runs[0].topics[0].groups[0];
    assert_eq!((group.rebalances, group.paused_s), (Some(2), Some(6.0)));
    // Window i covers [i, i + 1) s: the pauses fill windows 12 to 14 and 30 to 32, in whose
    // first the deliveries under way (one per consumer at most) still end.
    let consumed = &group.series.consumed;
    assert!(consumed[12] <= 3 && consumed[30] <= 3, "{consumed:?}");
    assert!(consumed[13..15].iter().chain(&consumed[31..33]).all(|&n| n == 0), "{consumed:?}");
    assert!(group.series.consumed[11] > 0 && group.series.consumed[15] > 0);
    let stalled = group.series.backlog[14] as f64;
    assert!((stalled - 4400.0).abs() < 3.3 * 66.0, "{stalled}");
    let queue = text.replace(r#"topic: "jobs","#, r#"topic: "jobs", delivery: Queue,"#);
    let Err(errors) = tailsim_model::load(&queue, &[]) else { panic!("a queue took a rebalance pause") };
    assert!(errors.iter().any(|e| e.message.contains("`rebalance_pause` is a log's")), "{errors:?}");
}
