//! The autoscaler against the Kubernetes HPA's rule, to the instance and the second.

use tailsim_tests::{load, run};

/// 50 single-worker instances at exactly 90% (constant arrivals, 450/s of 100 ms, round robin)
/// with a 75% target: at the first look (15 s) the HPA asks for ceil(50 x 90 / 75) = 60, and
/// at 75% the 60 stay (inside the tolerance). When traffic halves at 60 s the proposal falls
/// to ceil(60 x 38 / 75) = 31, but the scale-down window keeps the highest recommendation of
/// the last 300 s: 60 until the look at 375 s, the first whose window has none of them.
#[test]
fn hpa_scales_by_the_ratio_and_waits_to_scale_down() {
    let text = r#"Scenario(
        name: "hpa",
        duration: "400s",
        clients: [Client(name: "users", target: "api", rate: 450.0, arrivals: Constant,
            traffic: [Step(at: "60s", rate: 225.0)])],
        services: [Service(name: "api", instances: 50, handler: [Work(Constant("100ms"))],
            autoscale: (target: 0.75, max: 100))],
    )"#;
    let report = run(&load(text), 1, 1);
    let instances = &report.runs[0].services[0].per_window.instances;
    // Window i reports the instances taking traffic at its end, (i + 1) s: the scale-down at
    // 375 s shows in window 374; the 10 new instances start (at once) just after window 14 closes.
    assert!(instances[..15].iter().all(|&n| n == 50), "{:?}", &instances[..16]);
    assert!(instances[15..374].iter().all(|&n| n == 60), "{:?}", &instances[14..380]);
    assert!((30..=31).contains(&instances[374]), "{}", instances[374]);
    assert!(instances[374..].iter().all(|&n| n == instances[374]));
}

/// Inside the tolerance nothing moves: 80% against a 75% target is a ratio of 1.067, within
/// 0.1. A startup delay holds new instances back: at 90% with a 60 s start, the 10 new ones
/// take traffic at 75 s, not 15 s (the window ending at 75 s counts them). Meanwhile the looks
/// at 30, 45 and 60 s still see 90% on the 50 ready instances, but, as Kubernetes does, count
/// the 10 starting ones at 0%: 90 x 50 / 60 = 75%, on target, so no more are asked for.
#[test]
fn hpa_tolerance_and_startup_delay() {
    let text = |rate: &str, startup: &str| {
        format!(
            r#"Scenario(
                name: "hpa",
                duration: "100s",
                clients: [Client(name: "users", target: "api", rate: {rate}, arrivals: Constant)],
                services: [Service(name: "api", instances: 50, handler: [Work(Constant("100ms"))],
                    autoscale: (target: 0.75, max: 100, startup: "{startup}"))],
            )"#
        )
    };
    let calm = run(&load(&text("400.0", "0s")), 1, 1);
    assert!(calm.runs[0].services[0].per_window.instances.iter().all(|&n| n == 50));
    let slow = run(&load(&text("450.0", "60s")), 1, 1);
    let instances = &slow.runs[0].services[0].per_window.instances;
    assert!(instances[..74].iter().all(|&n| n == 50) && instances[74..].iter().all(|&n| n == 60), "{instances:?}");
    // Instance-seconds count what took traffic: 50 x 75 + 60 x 25.
    let cost = slow.runs[0].services[0].instance_seconds;
    assert!((cost - (50.0 * 75.0 + 60.0 * 25.0)).abs() < 1e-6, "{cost}");
}

/// Per-instance metrics other than utilisation, on exact numbers: 40 users with no think time
/// on 4 single-worker instances (round robin, 100 ms each) keep exactly 10 visits in each, 1
/// served and 9 queued. Tracking 9 queued against a target of 3 asks for ceil(4 x 9 / 3) = 12
/// instances at the first look (15 s); tracking 10 inside against a target of 5, for
/// ceil(4 x 10 / 5) = 8. (The look averages over [0, 15 s), whose first instant holds the
/// users' arrival: the averages are exact.)
#[test]
fn hpa_tracks_queue_depth_and_in_flight_per_instance() {
    for (metric, expected) in [("QueueDepth(3.0)", 12), ("InFlight(5.0)", 8)] {
        let text = format!(
            r#"Scenario(
                name: "hpa",
                duration: "20s",
                clients: [Client(name: "users", target: "api", users: 40)],
                services: [Service(name: "api", instances: 4, handler: [Work(Constant("100ms"))],
                    autoscale: (metric: {metric}, max: 100))],
            )"#
        );
        let report = run(&load(&text), 1, 1);
        let instances = &report.runs[0].services[0].per_window.instances;
        assert!(instances[..15].iter().all(|&n| n == 4), "{metric}: {instances:?}");
        assert_eq!(instances[15], expected, "{metric}: {instances:?}");
    }
}

/// Latency as the metric, where more instances do not help: every visit takes 90 ms whatever
/// the load, so against a p95 target of 50 ms each look multiplies the ready instances by 1.8:
/// ceil(2 x 1.8) = 4 at 15 s, ceil(7.2) = 8 at 30 s, ceil(14.4) = 15 at 45 s, and `max` (20)
/// at 60 s. (The p95 is read to 2 significant digits, within 1%: no product is within 1% of a
/// whole number.) Scaling on a latency that load does not drive runs to the ceiling.
#[test]
fn hpa_on_p95_latency_scales_by_its_ratio() {
    let text = r#"Scenario(
        name: "hpa",
        duration: "70s",
        clients: [Client(name: "users", target: "api", rate: 10.0, arrivals: Constant)],
        services: [Service(name: "api", instances: 2, handler: [Work(Constant("90ms"))],
            autoscale: (metric: P95("50ms"), min: 2, max: 20))],
    )"#;
    let report = run(&load(text), 1, 1);
    let instances = &report.runs[0].services[0].per_window.instances;
    for (from, to, n) in [(0, 15, 2), (15, 30, 4), (30, 45, 8), (45, 60, 15), (60, 70, 20)] {
        assert!(instances[from..to].iter().all(|&k| k == n), "{from}..{to}: {instances:?}");
    }
}

/// A per-instance bulkhead on instances the autoscaler adds keeps its places: 200 calls/s of
/// 10 ms on 2 to 4 instances hold about 2 places at once against 10 per instance, so no call
/// may wait its `max_wait` out, autoscaled or not. (Each call on an added instance used to lose
/// a place for good: a third of the requests then failed "pool full".)
#[test]
fn per_instance_bulkheads_on_added_instances_keep_their_places() {
    let scenario = |api: &str| {
        format!(
            r#"Scenario(
            name: "bulkhead-autoscaled",
            duration: "60s",
            clients: [Client(name: "c", target: "api", rate: 200.0)],
            services: [
                Service(name: "api", workers: 50, {api},
                    handler: [Call("db", (bulkhead: (max_concurrent: 10, max_wait: "1s", scope: PerInstance)))]),
                Service(name: "db", workers: 100, handler: [Work(Exponential(mean: "10ms"))]),
            ],
        )"#
        )
    };
    let autoscaled = scenario(
        r#"instances: 2, autoscale: (target: 0.7, min: 2, max: 4, startup: "5s", schedule: [(at: "20s", min: 4)])"#,
    );
    for text in [scenario("instances: 4"), autoscaled] {
        let report = run(&load(&text), 1, 1);
        let run = &report.runs[0];
        assert_eq!(run.clients[0].failed, 0, "{text}");
        assert!(run.clients[0].arrivals > 11_000);
    }
}
