//! The time series agree with the run's totals to the last request and the last nanosecond,
//! and show what happens inside a window.

use tailsim_tests::{load, run};

/// Windows aligned with the warm-up: the windows after it add up to the summary's figures
/// exactly (counts) or to rounding (time averages), and every window's counts add up to the
/// conservation identity.
#[test]
fn windows_add_up_to_the_totals() {
    let text = r#"Scenario(
        name: "windows",
        duration: "60s",
        warmup: "10s",
        window: "2s",
        clients: [Client(name: "users", target: "api", rate: 1500.0, policy: (timeout: "30ms"))],
        services: [
            Service(name: "api", instances: 2, workers: 4, queue: (capacity: 50),
                handler: [Work(Exponential(mean: "2ms")), Call("db")]),
            Service(name: "db", workers: 4, handler: [Work(Exponential(mean: "2ms"))]),
        ],
        faults: [Outage(service: "db", at: "30s", duration: "4s")],
    )"#;
    let report = run(&load(text), 3, 1);
    let r = &report.runs[0];
    let c = &r.clients[0];
    let w = &c.per_window;
    assert_eq!(w.succeeded.len(), 30);
    for series in [&w.arrivals, &w.failed, &w.timeout, &w.rejected, &w.error, &w.refused_locally] {
        assert_eq!(series.len(), 30);
    }
    assert_eq!((w.p50_ms.len(), w.p99_ms.len()), (30, 30));
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    assert_eq!(sum(&w.arrivals), r.conservation.arrived);
    assert_eq!(sum(&w.succeeded) + sum(&w.failed), r.conservation.succeeded + r.conservation.failed);
    assert_eq!(sum(&w.failed), sum(&w.timeout) + sum(&w.rejected) + sum(&w.error) + sum(&w.refused_locally));
    // The outage answers the api's calls with errors, in windows 15 and 16 and nowhere else.
    for (i, &errors) in w.error.iter().enumerate() {
        assert_eq!(errors > 0, (15..17).contains(&i), "window {i}: {errors} errors");
    }
    for (s, summary) in r.services.iter().enumerate() {
        let series = &summary.per_window;
        assert_eq!(sum(&series.arrivals[5..]), summary.arrivals, "service {s}");
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let busy = mean(&series.utilisation[5..]);
        assert!((busy - summary.utilisation).abs() < 1e-9, "service {s}: {busy} vs {}", summary.utilisation);
        let queue = mean(&series.mean_queue_length[5..]);
        assert!(
            (queue - summary.mean_queue_length).abs() < 1e-9,
            "service {s}: {queue} vs {}",
            summary.mean_queue_length
        );
        assert!(series.instances.iter().all(|&n| n == summary.instances));
    }
    // Percentiles per window: none during the warm-up (nothing counted yet) or the outage
    // (nothing succeeded), present elsewhere.
    for (i, p99) in w.p99_ms.iter().enumerate() {
        assert_eq!(p99.is_some(), i >= 5 && !(15..17).contains(&i), "window {i}");
    }
}

/// Constant arrivals and constant work: every window's p50 and p99 are the work time, the
/// utilisation is rate x work, and the queue is empty; a last window cut short by the end of
/// the run is averaged over its own width.
#[test]
fn windows_of_a_deterministic_system_are_exact() {
    let text = r#"Scenario(
        name: "clockwork",
        duration: "10500ms",
        window: "1s",
        clients: [Client(name: "users", target: "server", rate: 100.0, arrivals: Constant)],
        services: [Service(name: "server", handler: [Work(Constant("3ms"))])],
    )"#;
    let report = run(&load(text), 1, 1);
    let r = &report.runs[0];
    let w = &r.clients[0].per_window;
    assert_eq!(w.succeeded.len(), 11);
    for i in 0..11 {
        // Window percentiles keep 2 significant digits: within 1%.
        let p50 = w.p50_ms[i].expect("answers in every window");
        assert!((p50 - 3.0).abs() < 0.03 && (w.p99_ms[i].unwrap() - 3.0).abs() < 0.03, "window {i}: {p50}");
        // 99 arrivals in the first second, 100 a second after (see below): 3ms each.
        let u = r.services[0].per_window.utilisation[i];
        let expected = if i == 0 { 0.297 } else { 0.3 };
        assert!((u - expected).abs() < 1e-9, "window {i}: {u}");
        assert_eq!(r.services[0].per_window.mean_queue_length[i], 0.0);
    }
    // Arrivals at k / 100 s: 99 in the first second (k = 1..99), 100 in each after, 50 in the
    // half window [10 s, 10.5 s) (k = 1000..1049).
    assert_eq!(w.arrivals[0], 99);
    assert!(w.arrivals[1..10].iter().all(|&n| n == 100));
    assert_eq!(w.arrivals[10], 50);
}

/// Pauses freeze the clock of work in progress: 10 requests a second at k / 10 s, each 100 ms
/// of work, and a 300 ms pause every second from 0.5 s. Per second, the requests sent at .5,
/// .6 and .7 wait for the thaw at .8 and take 400, 300 and 200 ms; the one sent at .4 ends just
/// as the pause begins; the other six are untouched: p50 = 100 ms, max = 400 ms, and per second
/// 7 x 100 + 900 ms. A CPU quota of half a CPU (50 ms of each 100 ms period, periods from
/// 40 ms) holds back a request of 120 ms sent on a whole second, 60 ms into a period: it runs
/// 40 ms to the period's end, 50 ms of the next, waits out that period's last 50 ms, and runs
/// its last 30 ms: 170 ms each.
#[test]
fn pauses_and_cpu_quotas_freeze_work_in_progress() {
    let text = |fault: &str, rate: &str, work: &str| {
        format!(
            r#"Scenario(
                name: "pauses",
                duration: "100s",
                clients: [Client(name: "users", target: "server", rate: {rate}, arrivals: Constant)],
                services: [Service(name: "server", workers: 100, handler: [Work(Constant("{work}"))])],
                faults: [{fault}],
            )"#
        )
    };
    let gc = run(
        &load(&text(r#"Pauses(service: "server", at: "500ms", every: "1s", pause: "300ms")"#, "10.0", "100ms")),
        1,
        1,
    );
    let l = &gc.runs[0].clients[0].latency;
    assert!((l.p50_ms.unwrap() - 100.0).abs() < 0.1 && (l.max_ms.unwrap() - 400.0).abs() < 1e-6, "{l:?}");
    // Sent at k / 10 s for k = 1..999; answered within the run: all but k = 999 (done at
    // 100.0 s). Missing from 100 whole seconds: k = 0 and k = 999, 100 ms each.
    assert_eq!(l.count, 998);
    let mean = l.mean_ms.unwrap();
    assert!((mean - (100.0 * 1600.0 - 200.0) / 998.0).abs() < 1e-6, "{mean}");
    let quota = run(&load(&text(r#"CpuQuota(service: "server", at: "40ms", cpus: 0.5)"#, "1.0", "120ms")), 1, 1);
    let l = &quota.runs[0].clients[0].latency;
    assert!((l.p50_ms.unwrap() - 170.0).abs() < 0.1 && (l.max_ms.unwrap() - 170.0).abs() < 1e-6, "{l:?}");
}

/// A fault on one instance (a noisy neighbour): round robin over two instances, a constant
/// 10 ms, and instance 1 three times slower: half the requests take 10 ms, half 30 ms.
#[test]
fn a_fault_can_hit_one_instance() {
    let text = r#"Scenario(
        name: "neighbour",
        duration: "10s",
        clients: [Client(name: "users", target: "server", rate: 10.0, arrivals: Constant)],
        services: [Service(name: "server", instances: 2, workers: 10, handler: [Work(Constant("10ms"))])],
        faults: [Slowdown(service: "server", instance: 1, at: "0s", duration: "1h", factor: 3.0)],
    )"#;
    let report = run(&load(text), 1, 1);
    let l = &report.runs[0].clients[0].latency;
    assert!((l.mean_ms.unwrap() - 20.0).abs() < 0.2 && (l.max_ms.unwrap() - 30.0).abs() < 1e-6, "{l:?}");
}

/// A cache in front of the database, flushed at 5 s, with stale-while-revalidate and single
/// flight so that every kind of lookup happens. No warm-up: the cache's windows cover exactly
/// what its counters count, so `timeseries.csv`'s cache rows add up to them to the lookup.
pub const CACHED: &str = r#"Scenario(
    name: "cached",
    duration: "10s",
    window: "500ms",
    clients: [Client(name: "users", target: "api", rate: 1000.0, keys: Zipf(n: 10000, s: 1.0))],
    caches: [Cache(name: "c", capacity: 1000, ttl: "2s", stale_for: "1s", coalesce: true)],
    services: [
        Service(name: "api", workers: 64, handler: [Cached("c", [Call("db")])]),
        Service(name: "db", workers: 16, handler: [Work(Exponential(mean: "5ms"))]),
    ],
    faults: [CacheFlush(cache: "c", at: "5s")],
)"#;

#[test]
fn cache_rows_of_the_csv_add_up_to_the_cache_counters() {
    let report = run(&load(CACHED), 5, 1);
    let c = &report.runs[0].caches[0];
    // Every kind of lookup happened, so the sums below tell them apart.
    assert!(c.hits > 0 && c.stale > 0 && c.misses > 0 && c.coalesced > 0 && c.background_refreshes > 0, "{c:?}");
    let csv = tailsim_report::write::timeseries_csv(&report);
    let mut rows: Vec<(usize, f64, f64, &str, &str)> = Vec::new(); // window, start, end, metric, value
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 8, "{line}");
        if cells[4] == "cache" {
            assert_eq!((cells[0], cells[5]), ("0", "c"), "{line}");
            rows.push((
                cells[1].parse().unwrap(),
                cells[2].parse().unwrap(),
                cells[3].parse().unwrap(),
                cells[6],
                cells[7],
            ));
        }
    }
    let column = |metric: &str| -> Vec<&str> { rows.iter().filter(|r| r.3 == metric).map(|r| r.4).collect() };
    let counts = |metric: &str| -> Vec<u64> { column(metric).iter().map(|v| v.parse().expect("a count")).collect() };
    let (lookups, hits, fetches) = (counts("lookups"), counts("hits"), counts("fetches"));
    assert_eq!(lookups.len(), 20);
    assert_eq!(lookups.iter().sum::<u64>(), c.lookups);
    assert_eq!(hits.iter().sum::<u64>(), c.hits + c.stale);
    assert_eq!(counts("stale").iter().sum::<u64>(), c.stale);
    assert_eq!(counts("stale"), c.series.stale);
    assert_eq!(fetches.iter().sum::<u64>(), c.misses + c.early_refreshes + c.background_refreshes);
    assert_eq!(fetches.iter().sum::<u64>(), c.fetches());
    // The same numbers as summary.json's series, and the ratios and rates follow from them.
    assert_eq!((&lookups, &hits, &fetches), (&c.series.lookups, &c.series.hits, &c.series.fetches));
    let ratios = column("hit_ratio");
    let rates = column("fetches_per_s");
    for i in 0..20 {
        let ratio: f64 = ratios[i].parse().expect("lookups in every window");
        assert_eq!(ratio, hits[i] as f64 / lookups[i] as f64, "window {i}");
        let rate: f64 = rates[i].parse().expect("a rate");
        assert_eq!(rate, fetches[i] as f64 * 2.0, "window {i}");
    }
    // Each metric's row carries its window's span.
    assert!(rows.iter().all(|r| r.1 == r.0 as f64 * 0.5 && r.2 == r.1 + 0.5), "{rows:?}");
    // The flush shows: the window after it hits far less (about 45% against 67%), and fetches
    // more, than the one before it.
    let before: f64 = ratios[9].parse().unwrap();
    let after: f64 = ratios[10].parse().unwrap();
    assert!(after < before - 0.15 && fetches[10] * 10 > fetches[9] * 12, "{before} -> {after}, {fetches:?}");
}
