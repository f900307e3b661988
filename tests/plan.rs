//! Capacity search against Erlang C: for M/M/c at lambda = 100/s and a mean service of 0.5 s
//! (50 erlangs), the smallest c with the mean wait, P(wait) or a service level under a target is
//! an exact number, computed here; `plan` must find exactly that c. And the largest M/M/1 rate
//! with p99 under ln(100) / (mu - lambda) = 46.05 ms at mu = 1,000/s is lambda = 900/s: the
//! search's bracket must hold it.

use tailsim_model::plan::{Budget, Goal, Range, search};
use tailsim_model::{Limits, Model, Override};

const LAMBDA: f64 = 100.0;
const MU: f64 = 2.0;

/// Erlang C's probability of waiting with `c` servers at `a` erlangs.
fn erlang_c(c: u32, a: f64) -> f64 {
    // a^k / k! summed in a stable way, term by term.
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (below + top)
}

fn mmc(slos: &str) -> String {
    format!(
        r#"Scenario(
    name: "mmc-plan",
    duration: "1010s",
    warmup: "10s",
    clients: [Client(name: "callers", target: "agents", rate: {LAMBDA})],
    services: [Service(name: "agents", workers: 60, handler: [Work(Exponential(mean: "500ms"))])],
    slos: [{slos}],
)"#
    )
}

fn budget() -> Budget {
    Budget { seed: 1, first: 4, most: 40, max_runs: 2_000, limits: Limits::default() }
}

/// The smallest workers from 51 to 80 that `plan` finds for `slos`.
fn planned(slos: &str) -> Option<f64> {
    let text = mmc(slos);
    let model_at = |c: f64| -> Result<Model, _> {
        let set = Override { path: "services.agents.workers".into(), value: format!("{c}") };
        tailsim_model::load(&text, &[set]).map(|(m, _)| m)
    };
    let range = Range { path: "services.agents.workers".into(), from: 51.0, to: 80.0, whole: true, resolution: 1.0 };
    let plan = search("mmc-plan", &range, Goal::Smallest, budget(), &model_at).expect("it compiles");
    assert!(plan.stopped.is_none(), "{:?}", plan.stopped);
    plan.answer
}

/// The smallest c for which `ok(c)` holds, by Erlang C.
fn exact(ok: impl Fn(u32) -> bool) -> f64 {
    f64::from((51..=80).find(|&c| ok(c)).expect("a c in range"))
}

#[test]
fn plan_finds_erlang_cs_smallest_c_for_a_mean_wait() {
    // Wq = C(c, a) / (c mu - lambda): 38.4 ms at c = 55, 25.8 ms at 56; the target between.
    let a = LAMBDA / MU;
    let wq = |c: u32| erlang_c(c, a) / (f64::from(c) * MU - LAMBDA);
    let expected = exact(|c| wq(c) < 0.0315);
    assert_eq!(expected, 56.0);
    assert_eq!(planned(r#"QueueWait(service: "agents", mean: "31.5ms")"#), Some(expected));
}

#[test]
fn plan_finds_erlang_cs_smallest_c_for_the_probability_of_waiting() {
    // C(57, 50) = 0.2465, C(58, 50) = 0.1944.
    let expected = exact(|c| erlang_c(c, LAMBDA / MU) < 0.22);
    assert_eq!(expected, 58.0);
    assert_eq!(planned(r#"WaitProbability(service: "agents", below: 0.22)"#), Some(expected));
}

#[test]
fn plan_finds_erlang_cs_smallest_c_for_a_service_level() {
    // "90% wait at most t": P(W <= t) = 1 - C e^-(c mu - lambda) t, so the 90th percentile of
    // the wait is ln(10 C) / (c mu - lambda) (0 when C < 0.1): 135 ms at c = 55, 94 ms at 56.
    let a = LAMBDA / MU;
    let p90 = |c: u32| {
        let pw = erlang_c(c, a);
        if pw <= 0.1 { 0.0 } else { (10.0 * pw).ln() / (f64::from(c) * MU - LAMBDA) }
    };
    let expected = exact(|c| p90(c) < 0.112);
    assert_eq!(expected, 56.0);
    assert_eq!(planned(r#"QueueWait(service: "agents", p90: "112ms")"#), Some(expected));
}

#[test]
fn plan_brackets_the_largest_mm1_rate_with_p99_under_its_exact_value() {
    // M/M/1's sojourn is Exp(mu - lambda): p99 < ln(100) / (1000 - lambda) holds for lambda <
    // 900 exactly at the target 46.0517 ms.
    let text = r#"Scenario(
    name: "mm1-plan",
    duration: "110s",
    warmup: "10s",
    clients: [Client(name: "users", target: "server", rate: 500.0)],
    services: [Service(name: "server", workers: 1, handler: [Work(Exponential(mean: "1ms"))])],
    slos: [Latency(client: "users", p99: "46.0517ms")],
)"#;
    let model_at = |rate: f64| {
        let set = Override { path: "clients.users.rate".into(), value: format!("{rate}") };
        tailsim_model::load(text, &[set]).map(|(m, _)| m)
    };
    let range = Range { path: "clients.users.rate".into(), from: 500.0, to: 990.0, whole: false, resolution: 2.0 };
    let plan = search("mm1-plan", &range, Goal::Largest, budget(), &model_at).expect("it compiles");
    let (answer, beyond) = (plan.answer.expect("500/s meets it"), plan.beyond.expect("990/s misses it"));
    assert!(answer < 900.0 && 900.0 < beyond, "[{answer}, {beyond}] misses 900: {:#?}", plan.probes);
    // Far from the boundary probes are decided with few replications (near rho = 1 the p99
    // of a 100 s run varies widely, so the first look may not do); next to it they take more.
    let looks: Vec<(f64, u32)> = plan.probes.iter().map(|p| (p.value, p.replications)).collect();
    assert!(plan.probes.iter().filter(|p| (p.value - 900.0).abs() > 60.0).all(|p| p.replications <= 8), "{looks:?}");
    assert!(plan.probes.iter().any(|p| (p.value - 900.0).abs() < 10.0 && p.replications > 8), "{looks:?}");
    assert!(plan.runs <= 2_000);
}
