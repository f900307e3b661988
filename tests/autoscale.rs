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
