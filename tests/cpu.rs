//! CPU limits against the kernel's own account of CFS bandwidth control (`sched-bwc`): within
//! each period a group may run up to its quota of CPU time, all its threads together, and
//! once it has, its threads are throttled until the next period. The document's examples are
//! used as they stand: 2 CPUs' worth as 1000 ms every 500 ms, and 20% of one CPU as 10 ms
//! every 50 ms.

use tailsim_tests::{assert_theory, load, run};

/// One service of `workers` workers running `Work(work)`, `users` closed-loop users thinking
/// `think` (`None`: back to back), and `limit` (a `CpuQuota(...)`, or nothing).
fn scenario(workers: u32, work: &str, users: u32, think: Option<&str>, limit: &str, duration: &str) -> String {
    let think = think.map_or(String::new(), |t| format!(", think: {t}"));
    format!(
        r#"Scenario(
            name: "cpu",
            duration: "{duration}",
            clients: [Client(name: "users", target: "app", users: {users}{think})],
            services: [Service(name: "app", workers: {workers}, handler: [Work({work})])],
            faults: [{limit}],
        )"#
    )
}

/// 2 CPUs' worth as 1000 ms every 500 ms, over 4 workers kept busy with 10 ms requests: each
/// period the four run 250 ms each (100 requests) and then wait 250 ms, so 200 requests a
/// second, half of the 400 unthrottled, and every period throttled for 250 ms. Nothing is
/// random: the run's edges (a period cut by the end, requests in flight) move the count by at
/// most a period's 100 of about 20,000, under 0.6%.
#[test]
fn two_cpus_of_four_busy_workers_halve_throughput() {
    let limit = r#"CpuQuota(service: "app", cpus: 2.0, period: "500ms")"#;
    let text = scenario(4, r#"Constant("10ms")"#, 16, None, limit, "100s");
    // `check` sees it coming: 16 users back to back offer 1,600 visits/s of 10 ms, 16 CPUs'
    // worth against a limit of 2.
    let (model, warnings) = tailsim_model::load(&text, &[]).expect("valid");
    let cpu_load = tailsim_model::analysis::offered_load(&model)[0].cpu_load.expect("limited");
    assert!((cpu_load - 8.0).abs() < 1e-9, "{cpu_load}");
    assert!(warnings.iter().any(|w| w.message.contains("CPU limit")), "{warnings:?}");
    let report = run(&model, 1, 1);
    let r = &report.runs[0];
    let throughput = r.clients[0].throughput_per_s;
    assert!((throughput / 200.0 - 1.0).abs() < 0.006, "{throughput}/s");
    let throttling = r.faults[0].throttling.as_ref().expect("a CPU quota reports its throttling");
    // Periods end at 0.5 s, 1 s, ...: 199 or 200 of them within the run, each throttled 250 ms.
    assert!((199..=200).contains(&throttling.periods), "{throttling:?}");
    assert_eq!(throttling.throttled_periods, throttling.periods);
    assert!((throttling.throttled_s - 0.25 * throttling.periods as f64).abs() < 1e-6, "{throttling:?}");
    // Half of every 1 s window is throttled time.
    let shares = &r.services[0].per_window.throttled;
    assert_eq!(shares.len(), 100);
    assert!(shares.iter().all(|&share| (share - 0.5).abs() < 1e-9), "{shares:?}");
}

/// 20% of one CPU as 10 ms every 50 ms, for one worker that always has a request waiting (four
/// users, back to back), exponential work of mean 5 ms: the worker gets exactly 0.2 s of CPU a
/// second, so it finishes 0.2 / 5 ms = 40 requests a second, an eighth of its unthrottled 200,
/// whatever the draws. The tolerance: a replication of 200 s counts ~8,000 requests, a renewal
/// count with the work's squared coefficient of variation 1, so a standard deviation of
/// sqrt(8,000), 1.1%; twenty replications make the 99.9% interval of the mean about 1% wide,
/// inside the 2% asked.
#[test]
fn a_fifth_of_a_cpu_limits_a_busy_worker_to_a_fifth() {
    let limit = r#"CpuQuota(service: "app", cpus: 0.2, period: "50ms")"#;
    let report = run(&load(&scenario(1, r#"Exponential(mean: "5ms")"#, 4, None, limit, "200s")), 7, 20);
    let throughputs: Vec<f64> = report.runs.iter().map(|r| r.clients[0].throughput_per_s).collect();
    assert_theory("throughput under 20% of a CPU", &throughputs, 40.0, 0.02);
}

/// Ten requests of 20 ms arrive together (ten users thinking 1 s) at ten workers limited to one
/// CPU: they burn its 100 ms quota in 10 ms of wall time, wait out the period's other 90 ms,
/// and finish 10 ms into the next: 110 ms each where 20 ms would do, though the limit is five
/// times the mean use (the parallel burst that hurts latency-sensitive services under CPU
/// limits). A limit of 2 CPUs holds the whole burst's 200 ms and costs nothing.
#[test]
fn a_parallel_burst_spends_the_quota_and_waits_out_the_period() {
    for (cpus, latency_ms) in [("1.0", 110.0), ("2.0", 20.0)] {
        let limit = format!(r#"CpuQuota(service: "app", cpus: {cpus})"#);
        let text = scenario(10, r#"Constant("20ms")"#, 10, Some(r#"Constant("1s")"#), &limit, "1500ms");
        let report = run(&load(&text), 1, 1);
        let l = &report.runs[0].clients[0].latency;
        assert_eq!(l.count, 10, "cpus {cpus}");
        for (what, value) in [("mean", l.mean_ms), ("max", l.max_ms)] {
            let value = value.expect("answered");
            assert!((value - latency_ms).abs() < 1e-6, "cpus {cpus}: {what} {value} ms, expected {latency_ms}");
        }
    }
}

/// A limit of as many CPUs as there are workers can never be spent (each worker burns at most
/// one CPU), so it changes nothing: an M/M/8 at 80% load runs to the same latencies, to the
/// nanosecond, with and without it, and no period is throttled.
#[test]
fn a_limit_of_one_cpu_per_worker_never_throttles() {
    let text = |limit: &str| {
        format!(
            r#"Scenario(
                name: "mmc",
                duration: "60s",
                clients: [Client(name: "users", target: "app", rate: 1600.0)],
                services: [Service(name: "app", workers: 8, handler: [Work(Exponential(mean: "4ms"))])],
                faults: [{limit}],
            )"#
        )
    };
    let free = run(&load(&text("")), 3, 1);
    let limited = run(&load(&text(r#"CpuQuota(service: "app", cpus: 8.0, period: "10ms")"#)), 3, 1);
    let (a, b) = (&free.runs[0].clients[0].latency, &limited.runs[0].clients[0].latency);
    assert_eq!((a.count, a.mean_ms, a.p99_ms, a.max_ms), (b.count, b.mean_ms, b.p99_ms, b.max_ms));
    let throttling = limited.runs[0].faults[0].throttling.as_ref().expect("reported");
    assert_eq!(throttling.throttled_periods, 0);
    assert!(throttling.periods >= 5_999, "{throttling:?}");
}

/// An instance that crashes under a quota, with steps burning it, comes back to the whole
/// quota: the steps lost leave the account (a dead process burns no CPU), and nothing of the
/// crash stays throttled. The setting of the first test (the users now thinking 1 ms, still
/// always 12 waiting) with the instance crashing mid-period at 30.005 s for 1 s: from 32 s on
/// it is back to 200 requests a second, within a period's worth (100) over the 68 s.
#[test]
fn an_instance_restarted_under_a_quota_gets_all_of_it() {
    let limit = r#"CpuQuota(service: "app", cpus: 2.0, period: "500ms"),
                   Crash(service: "app", at: "30005ms", restart_after: "1s")"#;
    // A think time keeps the users refused during the crash from asking again at one instant.
    let text = scenario(4, r#"Constant("10ms")"#, 16, Some(r#"Constant("1ms")"#), limit, "100s");
    let report = run(&load(&text), 1, 1);
    let succeeded = &report.runs[0].clients[0].per_window.succeeded;
    let after: u64 = succeeded[32..100].iter().sum();
    assert!(after.abs_diff(68 * 200) <= 100, "{after} in 68 s");
}
