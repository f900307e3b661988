//! Load balancers against the supermarket model and arithmetic.

use tailsim_tests::{assert_theory, load, run};

/// 100 M/M/1 servers at load 0.9 (service 10 ms, 9,000 visits/s). Random placement makes each
/// an M/M/1: mean time in system 10 ms / (1 - 0.9) = 100 ms. The power of two choices is the
/// supermarket model (Mitzenmacher; Vvedenskaya, Dobrushin and Karpelevich): as n grows the
/// mean tends to sum_{i>=1} lambda^((2^i - 2)) x 10 ms = 26.14 ms; with n = 100 it sits a few
/// percent above, so the test allows 5%. Least outstanding (join the shortest queue) does better
/// still; it is checked only against the two choices.
#[test]
fn power_of_two_choices_matches_the_supermarket_model() {
    let text = |balancer: &str| {
        format!(
            r#"Scenario(
                name: "p2c",
                duration: "60s",
                warmup: "10s",
                clients: [Client(name: "users", target: "server", rate: 9000.0)],
                services: [Service(name: "server", instances: 100, balancer: {balancer},
                    handler: [Work(Exponential(mean: "10ms"))])],
            )"#
        )
    };
    let mean = |report: &tailsim_report::Report| -> Vec<f64> {
        report.runs.iter().map(|r| r.clients[0].latency.mean_ms.unwrap()).collect()
    };
    let supermarket: f64 = (1..30).map(|i| 0.9f64.powi((1 << i) - 2)).sum::<f64>() * 10.0;
    assert!((supermarket - 26.14).abs() < 0.01, "{supermarket}");
    let p2c = run(&load(&text("PowerOfTwo")), 1, 10);
    assert_theory("power of two choices, n=100, load 0.9: mean (ms)", &mean(&p2c), supermarket, 0.05);
    let random = run(&load(&text("Random")), 2, 10);
    assert_theory("random, n=100, load 0.9: mean (ms)", &mean(&random), 100.0, 0.05);
    let least = run(&load(&text("LeastOutstanding")), 3, 10);
    let least_mean = mean(&least).iter().sum::<f64>() / 10.0;
    assert!(least_mean < 0.9 * supermarket, "least outstanding {least_mean} vs {supermarket}");
}

/// Weighted placement sends each instance its share (binomial over ~50,000 visits), and stale
/// load information makes least-outstanding herd: with a snapshot every second, each second's
/// visits go to whichever instance looked idlest, so one instance takes them all and the
/// others idle, and the mean queue dwarfs the fresh balancer's.
#[test]
fn weights_split_the_load_and_stale_information_herds() {
    let text = r#"Scenario(
        name: "weighted",
        duration: "50s",
        clients: [Client(name: "users", target: "server", rate: 1000.0)],
        services: [Service(name: "server", instances: 3, workers: 4, balancer: Weighted([2, 1, 1]),
            handler: [Work(Exponential(mean: "1ms"))])],
    )"#;
    let report = run(&load(text), 1, 10);
    let share: Vec<f64> =
        report.runs.iter().map(|r| r.services[0].instance_arrivals[0] as f64 / r.services[0].arrivals as f64).collect();
    assert_theory("Weighted([2, 1, 1]): share of instance 0", &share, 0.5, 0.01);
    // Each instance is an M/M/4 at its share of the rate: instance 0 at 500/s of 1 ms is busy
    // 500 x 1 ms / 4 = 12.5% (the utilisation law; 25,000 visits a run put the spread of its
    // busy time near 0.6%), and a visit spends 1 ms + C(4, 0.5) / (4,000 - 500) s in it
    // (Erlang C).
    let utilisation: Vec<f64> = report.runs.iter().map(|r| r.services[0].instance_utilisation[0]).collect();
    assert_theory("Weighted([2, 1, 1]): utilisation of instance 0", &utilisation, 0.125, 0.02);
    let latency: Vec<f64> =
        report.runs.iter().map(|r| r.services[0].instance_mean_latency_ms[0].expect("served")).collect();
    let erlang = 1.0 + tailsim_model::analysis::erlang_c(4, 0.5) / 3_500.0 * 1e3;
    assert_theory("Weighted([2, 1, 1]): mean time in instance 0 (ms)", &latency, erlang, 0.02);
    // Instance 2 at a quarter of the rate: half the visits, so 3% allows for a spread
    // sqrt(2) times as wide.
    let quarter: Vec<f64> = report.runs.iter().map(|r| r.services[0].instance_utilisation[2]).collect();
    assert_theory("Weighted([2, 1, 1]): utilisation of instance 2", &quarter, 0.0625, 0.03);

    let herd = |refresh: &str| {
        let text = format!(
            r#"Scenario(
                name: "herd",
                duration: "60s",
                warmup: "10s",
                clients: [Client(name: "users", target: "server", rate: 3000.0)],
                services: [Service(name: "server", instances: 10, workers: 1, balancer: LeastOutstanding
                    {refresh}, handler: [Work(Exponential(mean: "2ms"))])],
            )"#
        );
        let report = run(&load(&text), 5, 1);
        report.runs[0].services[0].mean_queue_length
    };
    let (fresh, stale) = (herd(""), herd(r#", load_report_every: "1s""#));
    assert!(fresh < 2.0 && stale > 100.0 * fresh, "fresh {fresh}, stale {stale}");
}
