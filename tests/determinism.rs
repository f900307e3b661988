//! Same scenario and seed give byte-identical `summary.json`, for any number of threads.

use tailsim_report::write::summary_json;
use tailsim_sim::Limits;
use tailsim_tests::load;

const CHECKOUT: &str = include_str!("../scenarios/checkout.ron");

fn json_with_threads(threads: usize, seed: u64) -> String {
    let model = load(CHECKOUT);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let report = pool.install(|| tailsim_sim::run_replications(&model, seed, 4, Limits::default()));
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
    let a = tailsim_sim::run_replications(&load(&alone), 3, 1, Limits::default());
    let b = tailsim_sim::run_replications(&load(&with_other), 3, 1, Limits::default());
    let (ca, cb) = (&a.runs[0].clients[0], &b.runs[0].clients[0]);
    assert_eq!(ca.arrivals, cb.arrivals);
    assert_eq!(ca.latency.mean_ms, cb.latency.mean_ms);
    assert_eq!(ca.latency.p99_ms, cb.latency.p99_ms);
}

/// Reporting progress never changes a result: the same replications with and without a
/// progress sink give the same bytes, and the sink ends at the runs and time simulated.
#[test]
fn progress_reporting_changes_nothing() {
    static PROGRESS: tailsim_sim::Progress = tailsim_sim::Progress::new();
    let model = load(CHECKOUT);
    let plain = summary_json(&tailsim_sim::run_replications(&model, 5, 3, Limits::default()));
    let watched = Limits { progress: Some(&PROGRESS), ..Limits::default() };
    let reported = summary_json(&tailsim_sim::run_replications(&model, 5, 3, watched));
    assert_eq!(plain, reported);
    assert_eq!(PROGRESS.runs_done.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert_eq!(PROGRESS.simulated_ns.load(std::sync::atomic::Ordering::Relaxed), 3 * model.duration.as_nanos());
}
