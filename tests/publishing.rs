//! Proof of the producers' side of the broker: an acknowledged publish waits exactly the
//! topic's append latency; a timed-out append is retried and, still reaching the broker, is
//! published twice, in the shares the exponential tail gives; a broker slowdown stretches the
//! appends started inside it; an outage holds every append that comes due in it until its end,
//! and the consumers receive nothing meanwhile.

use tailsim_report::RunSummary;
use tailsim_tests::{assert_theory, load, run};

/// A client at `rate`/s whose request runs `publish` at "api"; the group "worker" reads topic
/// "jobs" (`topic` is its settings), handling a message in 1 ms with a worker to spare.
fn producer(rate: f64, publish: &str, topic: &str, faults: &str, duration_s: u64) -> String {
    format!(
        r#"Scenario(
            name: "producer",
            duration: "{duration_s}s",
            warmup: "0s",
            clients: [Client(name: "users", target: "api", rate: {rate:?})],
            services: [
                Service(name: "api", workers: 100000, handler: [{publish}]),
                Service(name: "worker", workers: 100000, handler: [Work(Constant("1ms"))],
                    consumes: Some((topic: "jobs", delivery: Queue))),
            ],
            topics: [Topic(name: "jobs", {topic})],
            faults: [{faults}],
        )"#
    )
}

/// With a constant append latency of 2 ms, an acknowledged publish answers in exactly 2 ms and
/// a fire-and-forget one at once; either way the message reaches its consumer 2 ms after the
/// publish and is done 1 ms later: publish-to-done is exactly 3 ms.
#[test]
fn an_acknowledged_publish_waits_for_the_append_and_a_fire_and_forget_one_does_not() {
    for (publish, answered_ms) in [(r#"Publish("jobs", (ack: true))"#, 2.0), (r#"Publish("jobs")"#, 0.0)] {
        let report = run(&load(&producer(500.0, publish, r#"append: Constant("2ms")"#, "", 20)), 3, 1);
        let run = &report.runs[0];
        let latency = &run.clients[0].latency;
        for (what, ms) in [("p50", latency.p50_ms), ("max", latency.max_ms), ("mean", latency.mean_ms)] {
            assert!((ms.unwrap_or(0.0) - answered_ms).abs() < 0.01, "{publish}: {what} {ms:?}");
        }
        let group = &run.topics[0].groups[0];
        assert!((group.latency.mean_ms.unwrap() - 3.0).abs() < 1e-6, "{publish}: {:?}", group.latency);
        assert!((group.latency.max_ms.unwrap() - 3.0).abs() < 0.01, "{publish}: {:?}", group.latency);
        assert!((group.wait.mean_ms.unwrap() - 2.0).abs() < 1e-6, "{publish}: {:?}", group.wait);
        // The last 2 ms's publishes may still be on their way: Poisson(1) of them, more than 5
        // with probability below 0.0006.
        let (arrivals, published) = (run.clients[0].arrivals, run.topics[0].published);
        assert!(published <= arrivals && arrivals - published <= 5, "{published} of {arrivals}");
        assert_eq!(run.topics[0].unacknowledged, (answered_ms > 0.0).then_some(0));
    }
}

/// Appends of exponential latency, mean 1 ms, under a 2 ms timeout with 3 attempts: an attempt
/// times out with p = P(A > 2 ms) = e^-2 = 0.13534, independently, so a publish makes
/// 1 + p + p^2 = 1.15365 attempts and fails with p^3 = 0.00248. Every attempt's append still
/// reaches the broker: the topic takes 1.15365 messages per publish, and those taken after
/// their producer gave up are the timed-out ones, p + p^2 + p^3 = 0.15614 per publish.
/// 20 replications of 80,000 publishes: the standard error of each share's mean is about 0.2%
/// of it, and the 99.9% intervals below 1%.
#[test]
fn a_timed_out_append_is_retried_and_still_published() {
    let publish = r#"Publish("jobs", (ack: true, policy: (timeout: "2ms",
        retry: (attempts: 3, backoff: Constant("1ms")))))"#;
    let text = producer(2000.0, publish, r#"append: Exponential(mean: "1ms")"#, "", 40);
    let report = run(&load(&text), 5, 20);
    let p = (-2.0f64).exp();
    let share = |f: &dyn Fn(&RunSummary) -> f64| -> Vec<f64> { report.runs.iter().map(f).collect() };
    // The client's edge is the first, the publish's the second.
    let calls = |r: &RunSummary| r.edges[1].calls as f64;
    assert_theory("attempts per publish", &share(&|r| r.edges[1].attempts as f64 / calls(r)), 1.0 + p + p * p, 0.01);
    assert_theory(
        "timeouts per attempt",
        &share(&|r| r.edges[1].timeouts as f64 / r.edges[1].attempts as f64),
        p,
        0.02,
    );
    assert_theory("messages per publish", &share(&|r| r.topics[0].published as f64 / calls(r)), 1.0 + p + p * p, 0.01);
    let late = p + p * p + p * p * p;
    assert_theory(
        "late appends per publish",
        &share(&|r| r.topics[0].unacknowledged.unwrap() as f64 / calls(r)),
        late,
        0.02,
    );
    let failed: u64 = report.runs.iter().map(|r| r.clients[0].failed).sum();
    let publishes: f64 = report.runs.iter().map(calls).sum();
    // Binomial: 1,600,000 publishes at p^3 give 3,965 failures, +-3.3 x 63 at 99.9%.
    let expected = publishes * p.powi(3);
    assert!((failed as f64 - expected).abs() < 3.3 * expected.sqrt(), "{failed} failed, {expected:.0} expected");
    assert!(report.runs.iter().all(|r| r.edges[1].to == "jobs" && r.edges[1].to_topic && !r.edges[0].to_topic));
}

/// A slowdown of 5x from 10 s for 5 s stretches the 1 ms appends started inside it to 5 ms;
/// an outage from 30 s for 2 s holds every append that comes due in it until 32 s. A publish
/// acknowledged under a 500 ms timeout fails when it was sent in [30 s, 31.5 s): it would be
/// answered at 32 s, more than 500 ms later. The consumers receive nothing from 30 s to 32 s
/// and then take the held messages at once. At 400/s Poisson, the 600 publishes of the
/// failing span vary by +-3.3 x 24.5 at 99.9%, and the 800 held ones by +-3.3 x 28.3.
#[test]
fn a_broker_slowdown_stretches_appends_and_an_outage_holds_them() {
    let faults = r#"BrokerSlowdown(topic: "jobs", at: "10s", duration: "5s", factor: 5.0),
        BrokerOutage(topic: "jobs", at: "30s", duration: "2s")"#;
    let publish = r#"Publish("jobs", (ack: true, policy: (timeout: "500ms")))"#;
    let report = run(&load(&producer(400.0, publish, r#"append: Constant("1ms")"#, faults, 40)), 7, 1);
    let run = &report.runs[0];
    let client = &run.clients[0];
    // Within the histograms' resolution (3 significant digits: 0.1% and a bucket's width).
    let near = |ms: Option<f64>, want: f64| ms.is_some_and(|ms| (ms - want).abs() < 0.005 * want);
    let window = &client.per_window;
    let slowed = window.p99_ms[10..15].iter().chain(&window.p50_ms[10..15]);
    assert!(slowed.into_iter().all(|&ms| near(ms, 5.0)), "{:?}", window.p99_ms);
    assert!(near(window.p99_ms[9], 1.0) && near(window.p99_ms[15], 1.0), "{:?}", window.p99_ms);
    let failed = client.failed as f64;
    assert!((failed - 600.0).abs() < 3.3 * 24.5, "{failed} failed");
    // The publish's call timed out; its visit, and so the request, failed with an error.
    assert_eq!(run.edges[1].timeouts, client.failed);
    let topic = &run.topics[0];
    let held = topic.outage_held.unwrap() as f64;
    assert!((held - 800.0).abs() < 3.3 * 28.3, "{held} held");
    // Every publish is appended in the end, the failed ones too, after their producers left;
    // the last 1 ms's may still be on their way (Poisson(0.4): more than 5 below 1e-6).
    assert!(topic.published <= client.arrivals && client.arrivals - topic.published <= 5);
    assert_eq!(topic.unacknowledged, Some(client.failed));
    let series = &topic.groups[0].series;
    assert_eq!(&series.consumed[30..32], &[0, 0], "{:?}", &series.consumed[28..34]);
    assert!(series.consumed[32] as f64 > held, "{:?}", &series.consumed[28..34]);
}

/// The file's mistakes are refused with a hint: a policy on a publish that waits for nothing,
/// hedging an append, and a broker fault on an unknown topic.
#[test]
fn publishing_mistakes_are_refused() {
    for (publish, faults, says) in [
        (r#"Publish("jobs", (policy: (timeout: "1s")))"#, "", "waits for nothing"),
        (r#"Publish("jobs", (ack: true, policy: (hedge: (after: Some("5ms")))))"#, "", "takes no hedging"),
        (r#"Publish("jobs")"#, r#"BrokerOutage(topic: "job", at: "1s", duration: "1s")"#, "unknown topic"),
    ] {
        let text = producer(10.0, publish, "", faults, 5);
        let Err(errors) = tailsim_model::load(&text, &[]) else { panic!("{publish} {faults} loaded") };
        let rendered: Vec<String> = errors.iter().map(|d| d.render("test.ron", &text)).collect();
        assert!(rendered.iter().any(|r| r.contains(says) && r.contains("hint")), "{rendered:#?}");
    }
}

/// A request's asynchronous end-to-end latency runs from its arrival to the end of the last
/// consumer's handling, through every topic on the way: "api" works 2 ms and publishes to
/// "raw"; "enrich" reads it (1 ms append, 1 ms of work) and publishes to "clean"; "store"
/// reads that (1 ms of work). With a worker to spare everywhere nothing waits, so "enrich" is
/// done 4 ms after the request arrived and "store" 5 ms after, while each group's
/// publish-to-done time is its own stage's: 2 ms and 1 ms. Then "store"'s M/M/1 variant:
/// one worker with exponential work at rho 0.5 waits W = 1/(mu - lambda) = 2 ms in all, so
/// its end-to-end mean is 4 + 2 = 6 ms (200,000 messages in each of 10 replications).
#[test]
fn end_to_end_latency_runs_from_the_request_through_every_topic() {
    let scenario = |store: &str, rate: f64, duration_s: u64| {
        format!(
            r#"Scenario(
            name: "chain",
            duration: "{duration_s}s",
            warmup: "1s",
            clients: [Client(name: "users", target: "api", rate: {rate:?})],
            services: [
                Service(name: "api", workers: 100000, handler: [Work(Constant("2ms")), Publish("raw")]),
                Service(name: "enrich", workers: 100000, handler: [Work(Constant("1ms")), Publish("clean")],
                    consumes: Some((topic: "raw", delivery: Queue))),
                Service(name: "store", {store}, consumes: Some((topic: "clean", delivery: Queue))),
            ],
            topics: [Topic(name: "raw", append: Constant("1ms")), Topic(name: "clean")],
        )"#
        )
    };
    let report = run(&load(&scenario(r#"workers: 100000, handler: [Work(Constant("1ms"))]"#, 500.0, 20)), 3, 1);
    let first = &report.runs[0];
    let (enrich, store) = (&first.topics[0].groups[0], &first.topics[1].groups[0]);
    for (group, own, end_to_end) in [(enrich, 2.0, 4.0), (store, 1.0, 5.0)] {
        assert!((group.latency.mean_ms.unwrap() - own).abs() < 1e-6, "{}: {:?}", group.name, group.latency);
        assert!(
            (group.end_to_end.mean_ms.unwrap() - end_to_end).abs() < 1e-6,
            "{}: {:?}",
            group.name,
            group.end_to_end
        );
    }
    let text = scenario(r#"workers: 1, handler: [Work(Exponential(mean: "1ms"))]"#, 500.0, 401);
    let report = run(&load(&text), 9, 10);
    let means: Vec<f64> = report.runs.iter().map(|r| r.topics[1].groups[0].end_to_end.mean_ms.unwrap()).collect();
    assert_theory("store's end-to-end mean (ms)", &means, 6.0, 0.01);
}
