//! Same scenario and seed give byte-identical `summary.json`, for any number of threads.

use tailsim_model::Limits;
use tailsim_report::write::summary_json;
use tailsim_tests::load;

const CHECKOUT: &str = include_str!("../scenarios/checkout.ron");

fn json_with_threads(threads: usize, seed: u64) -> String {
    let model = load(CHECKOUT);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let report = pool.install(|| tailsim_model::run_replications(&model, seed, 4, Limits::default()));
    summary_json(&report)
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let one = json_with_threads(1, 7);
    assert_eq!(one, json_with_threads(1, 7), "two runs on one thread differ");
    assert_eq!(one, json_with_threads(2, 7), "one thread and two threads differ");
    assert_ne!(one, json_with_threads(1, 8), "the seed has no effect");
}

/// Adding a component leaves every other component's random numbers alone: a new client on a
/// new service does not change the old client's latencies in a system where the two don't meet.
#[test]
fn a_new_component_does_not_disturb_the_others() {
    let base = r#"Scenario(name: "x", duration: "20s",
        clients: [Client(name: "a", target: "s", rate: 100.0)%EXTRA_CLIENT%],
        services: [Service(name: "s", handler: [Work(Exponential(mean: "5ms"))])%EXTRA_SERVICE%])"#;
    let alone = base.replace("%EXTRA_CLIENT%", "").replace("%EXTRA_SERVICE%", "");
    let with_other = base
        .replace("%EXTRA_CLIENT%", r#", Client(name: "b", target: "t", rate: 50.0)"#)
        .replace("%EXTRA_SERVICE%", r#", Service(name: "t", handler: [Work(Constant("1ms"))])"#);
    let a = tailsim_model::run_replications(&load(&alone), 3, 1, Limits::default());
    let b = tailsim_model::run_replications(&load(&with_other), 3, 1, Limits::default());
    let (ca, cb) = (&a.runs[0].clients[0], &b.runs[0].clients[0]);
    assert_eq!(ca.arrivals, cb.arrivals);
    assert_eq!(ca.latency.mean_ms, cb.latency.mean_ms);
    assert_eq!(ca.latency.p99_ms, cb.latency.p99_ms);
}
