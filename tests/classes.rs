//! Request classes (weights, handlers per class, priority queues) and calls made together
//! (`Parallel`, fan-outs whose losers are cancelled), checked against exact results.

use tailsim_report::Distribution;
use tailsim_tests::{assert_theory, load, run};

/// Classes are drawn by weight: with 90 and 10 over 20 replications of ~97,500 requests, the
/// share of writes is binomial, so its 99.9% interval must hold 0.1. Each class runs its own
/// handler at the service down the graph, so the database is M/G/1 with a mixed service time
/// (90% Exp(1ms), 10% Constant(5ms)): E[S] = 1.4ms, E[S^2] = 4.3ms^2, and at 500/s
/// (rho 0.7) Pollaczek-Khinchine gives Wq = lambda E[S^2] / (2 (1 - rho)) = 3.583ms, so reads
/// take 4.583ms and writes 8.583ms on average.
#[test]
fn classes_pick_their_handlers_down_the_graph() {
    let text = r#"Scenario(
        name: "classes",
        duration: "200s",
        warmup: "5s",
        clients: [Client(name: "users", target: "api", rate: 500.0,
            classes: [Class(name: "read", weight: 90), Class(name: "write", weight: 10)])],
        services: [
            Service(name: "api", workers: 10000, handler: [Call("db")]),
            Service(name: "db", handler: [Work(Exponential(mean: "1ms"))],
                handlers: {"write": [Work(Constant("5ms"))]}),
        ],
    )"#;
    let report = run(&load(text), 7, 20);
    let classes = |i: usize| report.runs.iter().map(move |r| &r.clients[0].classes[i]);
    let share: Vec<f64> =
        report.runs.iter().map(|r| r.clients[0].classes[1].arrivals as f64 / r.clients[0].arrivals as f64).collect();
    assert_theory("share of writes", &share, 0.1, 0.02);
    let read: Vec<f64> = classes(0).map(|c| c.latency.mean_ms.unwrap()).collect();
    let write: Vec<f64> = classes(1).map(|c| c.latency.mean_ms.unwrap()).collect();
    let wq = 0.5 * 4.3 / (2.0 * 0.3);
    assert_theory("M/G/1 with classes: read mean (ms)", &read, wq + 1.0, 0.04);
    assert_theory("M/G/1 with classes: write mean (ms)", &write, wq + 5.0, 0.04);
    for r in &report.runs {
        let c = &r.clients[0];
        assert_eq!(c.classes.iter().map(|k| k.arrivals).sum::<u64>(), c.arrivals);
        assert_eq!(c.classes.iter().map(|k| k.succeeded).sum::<u64>(), c.succeeded);
        assert_eq!((c.classes[0].name.as_str(), c.classes[1].name.as_str()), ("read", "write"));
        // Each class's latency histogram holds exactly its successes, and together they are
        // the client's, bucket by bucket.
        for k in &c.classes {
            assert_eq!(k.latency_histogram.counts.iter().sum::<u64>(), k.succeeded, "{}", k.name);
            assert_eq!(k.failure_latency_histogram.counts.iter().sum::<u64>(), k.failed, "{}", k.name);
        }
        let pooled = Distribution::pooled(c.classes.iter().map(|k| &k.latency_histogram));
        assert_eq!((&pooled.edges_ms, &pooled.counts), (&c.latency_histogram.edges_ms, &c.latency_histogram.counts));
        // A write takes its 5 ms of constant work at least, and some wait for nothing: its
        // first bucket is the one that holds 5 ms, [4.467, 5.012). Reads start far below.
        assert_eq!(c.classes[1].latency_histogram.edges_ms[..2], [4.467, 5.012]);
        assert!(
            c.classes[0].latency_histogram.edges_ms[0] < 0.1,
            "{:?}",
            &c.classes[0].latency_histogram.edges_ms[..2]
        );
    }
}

/// A priority queue is the non-preemptive priority M/M/1 of Cobham (1954): with mean wait of
/// the work in service W0 = sum lambda_i E[S_i^2] / 2 and sigma_k the load of classes 1..k,
/// class k waits W0 / ((1 - sigma_{k-1}) (1 - sigma_k)). Here Exp(1ms) for both, 400/s each:
/// W0 = 0.8ms, the high class waits 0.8 / 0.6 = 1.333ms and the low 0.8 / (0.6 x 0.2) = 6.667ms
/// (their average is M/M/1's 4ms: Kleinrock's conservation law). FIFO gives both 4ms.
#[test]
fn priority_queues_match_cobham() {
    let text = |discipline: &str| {
        format!(
            r#"Scenario(
                name: "priority",
                duration: "200s",
                warmup: "10s",
                clients: [Client(name: "users", target: "server", rate: 800.0,
                    classes: [Class(name: "high", weight: 1, priority: 1), Class(name: "low", weight: 1)])],
                services: [Service(name: "server", queue: (discipline: {discipline}),
                    handler: [Work(Exponential(mean: "1ms"))])],
            )"#
        )
    };
    let report = run(&load(&text("Priority")), 11, 20);
    let mean = |report: &tailsim_report::Report, i: usize| -> Vec<f64> {
        report.runs.iter().map(|r| r.clients[0].classes[i].latency.mean_ms.unwrap()).collect()
    };
    assert_theory("priority M/M/1: high class mean (ms)", &mean(&report, 0), 0.8 / 0.6 + 1.0, 0.03);
    assert_theory("priority M/M/1: low class mean (ms)", &mean(&report, 1), 0.8 / 0.12 + 1.0, 0.05);
    let fifo = run(&load(&text("Fifo")), 11, 20);
    for i in 0..2 {
        assert_theory("FIFO M/M/1 with two classes: mean (ms)", &mean(&fifo, i), 5.0, 0.05);
    }
}

/// `Parallel` waits for all, any or a quorum of different calls: with a 10ms, a 20ms and a
/// 21ms service (constant), the caller takes 21ms, 10ms and 20ms. With the losers cancelled,
/// the 21ms service (three 7ms steps) stops after its step in progress when the 10ms answer
/// comes: 14ms of work per request instead of 21.
#[test]
fn parallel_waits_for_all_any_or_a_quorum() {
    let text = |options: &str| {
        format!(
            r#"Scenario(
                name: "parallel",
                duration: "100s",
                clients: [Client(name: "users", target: "root", rate: 1.0, arrivals: Constant)],
                services: [
                    Service(name: "root", workers: 10,
                        handler: [Parallel([Call("a"), Call("b"), Call("c")]{options})]),
                    Service(name: "a", handler: [Work(Constant("10ms"))]),
                    Service(name: "b", handler: [Work(Constant("20ms"))]),
                    Service(name: "c", handler: [Work(Constant("7ms")), Work(Constant("7ms")), Work(Constant("7ms"))]),
                ],
            )"#
        )
    };
    let outcome = |options: &str| {
        let report = run(&load(&text(options)), 1, 1);
        let run = &report.runs[0];
        assert_eq!(run.clients[0].succeeded, 99);
        (
            run.clients[0].latency.max_ms.unwrap(),
            run.services[3].mean_busy_workers * 100.0 / 99.0,
            run.edges[3].cancelled,
        )
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let (all, c_busy, _) = outcome("");
    assert!(close(all, 21.0) && close(c_busy, 0.021), "{all} {c_busy}");
    let (any, c_busy, cancelled) = outcome(", (wait: Any)");
    assert!(close(any, 10.0) && close(c_busy, 0.021) && cancelled == 0, "{any} {c_busy}");
    let (quorum, _, _) = outcome(", (wait: Quorum(2))");
    assert!(close(quorum, 20.0), "{quorum}");
    let (any, c_busy, cancelled) = outcome(", (wait: Any, losers: Cancel)");
    assert!(close(any, 10.0) && close(c_busy, 0.014) && cancelled == 99, "{any} {c_busy} {cancelled}");
}

/// A fan-out of 3 to one worker taking a constant 10ms, waiting for any: the first call runs,
/// the other two queue. Left to finish, the worker serves all three (30ms per request);
/// cancelled, the two are dropped: the second just as it reached the worker, the third still
/// queued.
#[test]
fn fan_out_losers_cancelled_leave_the_queue() {
    let text = |losers: &str| {
        format!(
            r#"Scenario(
                name: "fan-cancel",
                duration: "100s",
                clients: [Client(name: "users", target: "root", rate: 1.0, arrivals: Constant)],
                services: [
                    Service(name: "root", workers: 10, handler: [FanOut("leaf", 3, (wait: Any, losers: {losers}))]),
                    Service(name: "leaf", handler: [Work(Constant("10ms"))]),
                ],
            )"#
        )
    };
    let finish = &run(&load(&text("Finish")), 1, 1).runs[0];
    let cancel = &run(&load(&text("Cancel")), 1, 1).runs[0];
    let busy_per_request = |r: &tailsim_report::RunSummary| r.services[1].mean_busy_workers * 100.0 / 99.0;
    assert!((busy_per_request(finish) - 0.030).abs() < 1e-9);
    assert!((busy_per_request(cancel) - 0.010).abs() < 1e-9);
    assert_eq!((cancel.edges[1].cancelled, cancel.services[1].dropped), (198, 99));
    assert_eq!(finish.services[1].completed, 297);
    assert!((cancel.clients[0].latency.max_ms.unwrap() - 10.0).abs() < 1e-6);
}
