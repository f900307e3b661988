//! Proof against queueing theory: M/M/1, M/M/c (Erlang C), M/M/c/c (Erlang B), M/D/1 and M/G/1
//! (Pollaczek-Khinchine), and a tandem of M/M/1 stations (Jackson). Every test uses fixed seeds
//! and independent replications; `assert_theory` explains the statistics.

use tailsim_report::Report;
use tailsim_tests::{assert_theory, load, run};

/// One station: Poisson arrivals at `rate`/s, `workers` workers, the given service distribution.
fn station(rate: f64, service: &str, workers: u32, capacity: Option<u32>, duration_s: u64) -> String {
    let queue = capacity.map(|c| format!("queue: (capacity: {c}),")).unwrap_or_default();
    format!(
        r#"Scenario(
            name: "station",
            duration: "{duration_s}s",
            warmup: "10s",
            clients: [Client(name: "users", target: "server", rate: {rate:?})],
            services: [Service(name: "server", workers: {workers}, {queue} handler: [Work({service})])],
        )"#
    )
}

fn client_values(report: &Report, f: impl Fn(&tailsim_report::ClientSummary) -> f64) -> Vec<f64> {
    report.runs.iter().map(|r| f(&r.clients[0])).collect()
}

fn service_values(report: &Report, s: usize, f: impl Fn(&tailsim_report::ServiceSummary) -> f64) -> Vec<f64> {
    report.runs.iter().map(|r| f(&r.services[s])).collect()
}

fn assert_littles_law(report: &Report) {
    // On a window of T seconds, L and lambda W differ only by the requests in flight at the
    // window's two ends, O(L / (lambda T)): far below 0.5% for these runs.
    for run in &report.runs {
        let law = &run.clients[0].littles_law;
        assert!(law.relative_error < 0.005, "Little's law: {law:?}");
    }
}

/// M/M/1 with mean service 1 ms: time in system is exponential with mean W = 1/(mu - lambda),
/// so the q-quantile is ln(1/(1-q)) W. (rho=0.8, mu=1: W=5, p99=23.03.)
#[test]
fn mm1_mean_and_quantiles_match_theory() {
    for (rho, duration_s, seed) in [(0.5, 200, 1), (0.8, 2500, 2), (0.9, 4000, 3)] {
        let lambda = rho * 1000.0;
        let model = load(&station(lambda, r#"Exponential(mean: "1ms")"#, 1, None, duration_s));
        let report = run(&model, seed, 20);
        let w_ms = 1000.0 / (1000.0 - lambda);
        let mean = client_values(&report, |c| c.latency.mean_ms.unwrap());
        assert_theory(&format!("M/M/1 rho={rho} mean sojourn (ms)"), &mean, w_ms, 0.02);
        for (q, pick) in [
            (0.50, (|c: &tailsim_report::ClientSummary| c.latency.p50_ms.unwrap()) as fn(&_) -> f64),
            (0.90, |c| c.latency.p90_ms.unwrap()),
            (0.99, |c| c.latency.p99_ms.unwrap()),
        ] {
            let theory = (1.0f64 / (1.0 - q)).ln() * w_ms;
            assert_theory(&format!("M/M/1 rho={rho} p{} (ms)", q * 100.0), &client_values(&report, pick), theory, 0.03);
        }
        let util = service_values(&report, 0, |s| s.utilisation);
        assert_theory(&format!("M/M/1 rho={rho} utilisation"), &util, rho, 0.01);
        assert_littles_law(&report);
    }
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load A.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // A^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// M/M/c: P(wait) = C(c, A) and mean wait Wq = C(c, A) / (c mu - lambda).
#[test]
fn mmc_matches_erlang_c() {
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    assert!((erlang_c(10, 8.0) - 0.4092).abs() < 5e-5);
    for (c, a, duration_s, seed) in [(2u32, 1.0, 400, 11), (10, 8.0, 400, 12)] {
        let lambda = a * 1000.0;
        let model = load(&station(lambda, r#"Exponential(mean: "1ms")"#, c, None, duration_s));
        let report = run(&model, seed, 20);
        let p_wait = erlang_c(c, a);
        let wq_ms = p_wait / (f64::from(c) * 1000.0 - lambda) * 1000.0;
        assert_theory(
            &format!("M/M/{c} A={a} P(wait)"),
            &service_values(&report, 0, |s| s.wait_probability),
            p_wait,
            0.02,
        );
        assert_theory(
            &format!("M/M/{c} A={a} mean wait (ms)"),
            &service_values(&report, 0, |s| s.queue_wait.mean_ms.unwrap()),
            wq_ms,
            0.02,
        );
        assert_littles_law(&report);
    }
}

/// M/M/c/c (no waiting room): the fraction of arrivals rejected is Erlang B, whatever the
/// service distribution (insensitivity), here checked with log-normal service too.
#[test]
fn loss_system_matches_erlang_b() {
    let (c, a) = (5u32, 3.0);
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    assert!((b - 0.110_05).abs() < 1e-5, "B(5, 3) = {b}");
    for (service, seed) in [(r#"Exponential(mean: "1ms")"#, 21), (r#"LogNormal(mean: "1ms", std_dev: "2ms")"#, 22)] {
        let model = load(&station(a * 1000.0, service, c, Some(0), 200));
        let report = run(&model, seed, 20);
        let rejected = client_values(&report, |c| c.failures.rejected as f64 / c.arrivals as f64);
        assert_theory(&format!("M/G/5/5 A=3 {service} P(reject)"), &rejected, b, 0.02);
    }
}

/// Pollaczek-Khinchine: Wq = (1 + C^2) / 2 * rho / (1 - rho) * E[S]. At rho = 0.8 with
/// E[S] = 1 ms: deterministic service (C^2 = 0) gives 2 ms; a balanced-means
/// hyperexponential with C^2 = 4 gives 10 ms.
#[test]
fn md1_and_mg1_match_pollaczek_khinchine() {
    // Balanced means H2 with squared coefficient of variation 4: p1 = (1 + sqrt(3/5)) / 2,
    // branch means 1 / (2 p1) and 1 / (2 p2) ms.
    let p1 = (1.0 + (3.0f64 / 5.0).sqrt()) / 2.0;
    let p2 = 1.0 - p1;
    let h2 = format!(
        r#"Mixture([({p1}, Exponential(mean: "{}ns")), ({p2}, Exponential(mean: "{}ns"))])"#,
        (1e6 / (2.0 * p1)).round(),
        (1e6 / (2.0 * p2)).round()
    );
    for (name, service, scv, duration_s, seed) in
        [("M/D/1", r#"Constant("1ms")"#.to_string(), 0.0, 400, 31), ("M/H2/1", h2, 4.0, 4000, 32)]
    {
        let model = load(&station(800.0, &service, 1, None, duration_s));
        let report = run(&model, seed, 20);
        let wq_ms = (1.0 + scv) / 2.0 * 0.8 / 0.2 * 1.0;
        assert_theory(
            &format!("{name} rho=0.8 mean wait (ms)"),
            &service_values(&report, 0, |s| s.queue_wait.mean_ms.unwrap()),
            wq_ms,
            0.03,
        );
        assert_littles_law(&report);
    }
}

/// Two M/M/1 stations in tandem (a Jackson network): by Burke's theorem the second sees
/// Poisson arrivals, so the mean end-to-end time is the sum 1/(mu1 - lambda) + 1/(mu2 - lambda),
/// and the two sojourns are independent (Reich), so the end-to-end p99 is the hypoexponential's.
/// A front service with ample workers and no work of its own routes each request through both.
#[test]
fn tandem_mm1_matches_jackson() {
    let text = r#"Scenario(
        name: "tandem",
        duration: "600s",
        warmup: "10s",
        clients: [Client(name: "users", target: "route", rate: 800.0)],
        services: [
            Service(name: "route", workers: 100000, handler: [Call("first"), Call("second")]),
            Service(name: "first", handler: [Work(Exponential(mean: "1ms"))]),
            Service(name: "second", handler: [Work(Exponential(mean: "800us"))]),
        ],
    )"#;
    let report = run(&load(text), 41, 20);
    let (a, b) = (1000.0 - 800.0, 1250.0 - 800.0); // rates of the two exponential sojourns, per s
    let mean_ms = (1.0 / a + 1.0 / b) * 1000.0;
    assert_theory(
        "tandem mean end-to-end (ms)",
        &client_values(&report, |c| c.latency.mean_ms.unwrap()),
        mean_ms,
        0.02,
    );
    // P(T > t) = (b e^{-a t} - a e^{-b t}) / (b - a); solve P(T > t) = 0.01 by bisection.
    let survival = |t: f64| (b * (-a * t).exp() - a * (-b * t).exp()) / (b - a);
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if survival(mid) > 0.01 { lo = mid } else { hi = mid }
    }
    assert_theory(
        "tandem p99 end-to-end (ms)",
        &client_values(&report, |c| c.latency.p99_ms.unwrap()),
        lo * 1000.0,
        0.03,
    );
    for (s, w) in [(1, 1.0 / a), (2, 1.0 / b)] {
        assert_theory(
            &format!("tandem station {s} mean (ms)"),
            &service_values(&report, s, |x| x.latency.mean_ms.unwrap()),
            w * 1000.0,
            0.02,
        );
    }
    assert_littles_law(&report);
}
