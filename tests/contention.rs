//! Work slowed by concurrency against Gunther's Universal Scalability Law: N users with no think
//! time on one instance with N workers keep exactly N workers busy (the USL's own setting), so
//! throughput must be X(N) = N / (S (1 + sigma (N - 1) + kappa N (N - 1))), rising to the peak at
//! N* = sqrt((1 - sigma) / kappa) and falling beyond it.

use tailsim_tests::{assert_theory, load, run};

const SIGMA: f64 = 0.05;
const KAPPA: f64 = 0.001;

/// The USL's slowdown with `n` busy workers.
fn slowdown(n: u32) -> f64 {
    let n = f64::from(n);
    1.0 + SIGMA * (n - 1.0) + KAPPA * n * (n - 1.0)
}

/// `users` closed-loop users, back to back, on one instance with as many workers, each visit one
/// `Work(work)` under the USL with `SIGMA` and `KAPPA`.
fn closed_loop(users: u32, work: &str, duration_s: u64) -> String {
    format!(
        r#"Scenario(
            name: "usl",
            duration: "{duration_s}s",
            warmup: "1s",
            clients: [Client(name: "users", target: "db", users: {users})],
            services: [Service(name: "db", workers: {users}, contention: (sigma: {SIGMA:?}, kappa: {KAPPA:?}),
                               handler: [Work({work})])],
        )"#
    )
}

/// Constant work S = 1 ms, so nothing is random: every visit after the first takes exactly
/// R = S slowdown(N), and throughput is X(N) = N / R. The users start together and the k-th to
/// arrive finds k workers busy, so their first visits end at distinct times S slowdown(k) < R;
/// from then on each user's visits end on its own phase and every visit starts with exactly N
/// busy. The tolerance: the run counts the visits that arrive after the warm-up and end before
/// the end, T seconds apart. A user's first counted visit starts less than R after the warm-up
/// and its visits follow back to back, so it has floor((T - phase) / R) of them, between T / R - 2
/// and T / R: the throughput lies at most 2N / T below X(N) and never above, a relative error
/// within [-2R / T, 0] (1.7e-4 at N = 64 over 99 s), widened by 0.5 ns / R for R rounded to
/// the nanosecond. That is tight enough to tell the peak's neighbours apart: X(30), X(31) and
/// X(32) differ by 0.02% and 0.04%.
#[test]
fn throughput_follows_the_usl_and_falls_past_its_peak() {
    let work_s = 0.001;
    let duration_s = 100;
    let measured_s = (duration_s - 1) as f64;
    let peak = ((1.0 - SIGMA) / KAPPA).sqrt();
    assert!((peak - 30.82).abs() < 0.01, "N* = {peak}");
    let mut measured = Vec::new();
    for users in [1u32, 8, 16, 30, 31, 32, 48, 64] {
        let report = run(&load(&closed_loop(users, r#"Constant("1ms")"#, duration_s)), 1, 1);
        let client = &report.runs[0].clients[0];
        let response_s = work_s * slowdown(users);
        let theory = f64::from(users) / response_s;
        let rounding = 0.5e-9 / response_s;
        let below = 2.0 * response_s / measured_s + rounding;
        let error = client.throughput_per_s / theory - 1.0;
        println!(
            "N = {users}: {:.2}/s, the USL {theory:.2}/s ({:+.5}%, allowed -{:.5}% to +{:.7}%)",
            client.throughput_per_s,
            error * 100.0,
            below * 100.0,
            rounding * 100.0
        );
        assert!(-below <= error && error <= rounding, "N = {users}: {} vs {theory}", client.throughput_per_s);
        // Every visit measured took exactly R: the slowdown of N busy workers, to the nanosecond.
        let latency = &client.latency;
        for value in [latency.mean_ms.unwrap(), latency.max_ms.unwrap()] {
            assert!((value - response_s * 1e3).abs() < 1e-6, "N = {users}: {latency:?} vs {} ms", response_s * 1e3);
        }
        measured.push((users, client.throughput_per_s));
    }
    // Up to N* every user adds throughput; past it every user takes some away (retrograde).
    let at = |n: u32| measured.iter().find(|&&(users, _)| users == n).map(|&(_, x)| x).unwrap();
    for pair in [[1, 8], [8, 16], [16, 30], [30, 31]] {
        assert!(at(pair[0]) < at(pair[1]), "{measured:?}");
    }
    for pair in [[31, 32], [32, 48], [48, 64]] {
        assert!(at(pair[0]) > at(pair[1]), "{measured:?}");
    }
    // Far enough past it, 64 users get less done than 16 (7,822 against 8,040/s).
    assert!(at(64) < at(16), "{measured:?}");
}

/// Exponential work: the slowdown scales each random draw, and the users still keep exactly N
/// busy (two visits ending at the same nanosecond, the only way one could start with fewer, is
/// vanishingly rare), so by Little's law X(N) = N / (S slowdown(N)) on average. Twenty
/// replications of 20 s each measure it within 0.25% (the 99.9% interval); the test asks 1%.
#[test]
fn random_work_follows_the_usl_on_average() {
    let users = 48;
    let report = run(&load(&closed_loop(users, r#"Exponential(mean: "1ms")"#, 20)), 5, 20);
    let throughput: Vec<f64> = report.runs.iter().map(|r| r.clients[0].throughput_per_s).collect();
    let theory = f64::from(users) / (0.001 * slowdown(users));
    assert_theory("USL, exponential work, N = 48: throughput (/s)", &throughput, theory, 0.01);
    let response: Vec<f64> = report.runs.iter().map(|r| r.clients[0].latency.mean_ms.unwrap()).collect();
    assert_theory("USL, exponential work, N = 48: response time (ms)", &response, slowdown(users), 0.01);
}
