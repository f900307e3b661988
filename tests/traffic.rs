//! Traffic: closed-loop users against the finite-source queue, and rate schedules against
//! arithmetic.

use tailsim_tests::{assert_theory, load, run};

/// N users with exponential think time Z in front of one exponential server S: the finite-source
/// queue M/M/1//N (the machine-repairman model). With r = S / Z,
/// p0 = 1 / sum_{k=0..N} N! / (N - k)! r^k, throughput X = (1 - p0) / S, and by the interactive
/// response time law the response time R = N / X - Z. Here N = 20, Z = 100 ms, S = 10 ms: the
/// server is the bottleneck (N S / Z = 2), X = 99.8/s and R = 100.4 ms, and an open-loop model
/// at the same mean rate would have no steady state at all.
#[test]
fn closed_loop_users_match_the_machine_repairman_model() {
    let text = r#"Scenario(
        name: "closed",
        duration: "300s",
        warmup: "20s",
        clients: [Client(name: "users", target: "server", users: 20, think: Exponential(mean: "100ms"))],
        services: [Service(name: "server", handler: [Work(Exponential(mean: "10ms"))])],
    )"#;
    let (n, z, s) = (20u32, 0.100, 0.010);
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=n {
        term *= f64::from(n - k + 1) * s / z;
        sum += term;
    }
    let x = (1.0 - 1.0 / sum) / s;
    let r = f64::from(n) / x - z;
    let report = run(&load(text), 1, 20);
    let throughput: Vec<f64> = report.runs.iter().map(|r| r.clients[0].throughput_per_s).collect();
    assert_theory("M/M/1//20: throughput (/s)", &throughput, x, 0.01);
    let response: Vec<f64> = report.runs.iter().map(|r| r.clients[0].latency.mean_ms.unwrap()).collect();
    assert_theory("M/M/1//20: response time (ms)", &response, r * 1e3, 0.02);
    // The interactive response time law, run by run: X = N / (R + Z) within 2%.
    for run in &report.runs {
        let c = &run.clients[0];
        let law = f64::from(n) / (c.latency.mean_ms.unwrap() * 1e-3 + z);
        assert!((c.throughput_per_s / law - 1.0).abs() < 0.02, "{} vs {law}", c.throughput_per_s);
    }
}

/// The issue's arithmetic: 50 workers at a constant 50 ms serve 1,000/s. At 500/s the queue is
/// empty; stepping to 2,000/s at t = 10 s, it grows by 1,000 requests a second. The windows'
/// mean queue lengths from t = 12 s to 20 s lie on a line whose slope, fitted by least squares,
/// is within 2% of 1,000/s (Poisson noise on ~16,000 arrivals moves it by well under 1%).
#[test]
fn a_step_in_traffic_grows_the_queue_as_arithmetic_says() {
    let text = r#"Scenario(
        name: "step",
        duration: "20s",
        clients: [Client(name: "users", target: "server", rate: 500.0, traffic: [Step(at: "10s", rate: 2000.0)])],
        services: [Service(name: "server", workers: 50, handler: [Work(Constant("50ms"))])],
    )"#;
    let report = run(&load(text), 1, 1);
    let queue = &report.runs[0].services[0].per_window.mean_queue_length;
    assert!(queue[..10].iter().all(|&q| q < 1.0), "{queue:?}");
    let points: Vec<(f64, f64)> = (12..20).map(|w| (w as f64 + 0.5, queue[w])).collect();
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    assert!((slope / 1000.0 - 1.0).abs() < 0.02, "queue grows {slope:.0}/s: {queue:?}");
}

/// Thinning keeps Poisson arrivals at the shaped rate: the expected count is the integral of
/// the rate, and the count is Poisson, so over 20 replications the mean count must match the
/// integral within its 99.9% interval (and 1%). A ramp 0 -> 1,000/s over 100 s then a spike to
/// 3,000/s for 10 s: 50,000 + 30,000. A daily rhythm over whole periods integrates to the base
/// rate. Bursts of mean 1 s on and 3 s off send the rate a quarter of the time (5% here, since
/// the on time itself varies).
#[test]
fn shaped_poisson_arrivals_integrate_the_rate() {
    let count = |traffic: &str, duration: &str, seed: u64| -> Vec<f64> {
        let text = format!(
            r#"Scenario(
                name: "shaped",
                duration: "{duration}",
                clients: [Client(name: "users", target: "server", rate: 0.0001, traffic: {traffic})],
                services: [Service(name: "server", workers: 1000, handler: [Work(Constant("1ms"))])],
            )"#
        );
        let report = run(&load(&text), seed, 20);
        report.runs.iter().map(|r| r.clients[0].arrivals as f64).collect()
    };
    let ramp = count(
        r#"[Step(at: "0s", rate: 0), Ramp(from: "0s", to: "100s", rate: 1000), Step(at: "100s", rate: 0), Spike(at: "150s", duration: "10s", rate: 3000)]"#,
        "200s",
        1,
    );
    assert_theory("ramp and spike: arrivals", &ramp, 80_000.0, 0.01);
    let diurnal = count(r#"[Step(at: "0s", rate: 500), Diurnal(period: "50s", amplitude: 0.9)]"#, "200s", 2);
    assert_theory("diurnal over 4 periods: arrivals", &diurnal, 100_000.0, 0.01);
    // The on time over ~500 cycles varies by ~3% a run, far more than the Poisson count.
    let bursts = count(r#"[Step(at: "0s", rate: 200), OnOff(on: "1s", off: "3s")]"#, "2000s", 3);
    assert_theory("on/off bursts: arrivals", &bursts, 100_000.0, 0.05);
}

/// Users that never think, on a handler that takes no time, would ask and be answered at one
/// instant for ever: the run stops there with a message that says why, instead of hanging.
#[test]
fn users_that_never_wait_stop_the_run_with_a_reason_instead_of_hanging() {
    let model = load(
        r#"Scenario(
            name: "zero",
            duration: "1s",
            clients: [Client(name: "users", target: "api", users: 5)],
            services: [Service(name: "api", workers: 10, handler: [Work(Constant("0s"))])],
        )"#,
    );
    let summary = tailsim_sim::world::run(&model, 1, 0, tailsim_sim::Limits::default());
    let why = summary.truncated.expect("stopped early");
    assert!(why.contains("simulated time stopped advancing at t=0s") && why.contains("think"), "{why}");
    assert!(summary.conservation.holds);
}
