//! `compare` and `sweep` as libraries: common random numbers make equal designs exactly equal,
//! a real improvement is found significant, what the compare charts draw is exactly what the
//! runs measured, and a sweep of M/M/1 lies on the theory's curve.

use statrs::distribution::{ContinuousCDF, StudentsT};
use tailsim_model::Override;
use tailsim_model::load_points;
use tailsim_model::params::Param;
use tailsim_report::Distribution;
use tailsim_report::compare::Metric;
use tailsim_sim::Limits;
use tailsim_sim::compare::compare;
use tailsim_sim::sweep::sweep;

/// M/M/1 at rho = 0.8 (1 worker, 1 ms mean work, 800/s), with variants.
const MM1: &str = r#"Scenario(
    name: "mm1-variants",
    duration: "60s",
    warmup: "5s",
    clients: [Client(name: "users", target: "server", rate: 800.0)],
    services: [Service(name: "server", workers: 1, handler: [Work(Exponential(mean: "1ms"))])],
    variants: [
        Variant(name: "same", set: {}),
        Variant(name: "same-again", set: {"services.server.workers": 1, "clients.users.rate": 800.0}),
        Variant(name: "two-workers", set: {"services.server.workers": 2}),
    ],
)"#;

fn variants(text: &str, set: &[&str]) -> Vec<(String, tailsim_model::Model)> {
    let overrides: Vec<Override> = set.iter().map(|s| Override::parse(s).expect("path=value")).collect();
    tailsim_model::load_variants(text, &overrides).expect("valid").0
}

#[test]
fn identical_variants_differ_by_exactly_nothing() {
    let variants = variants(MM1, &[]);
    let names: Vec<&str> = variants.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["base", "same", "same-again", "two-workers"]);
    let (c, broken) = compare(&variants, 3, 10, "users", None, Limits::default());
    assert_eq!(broken, None);
    // Replication i of every variant draws the same arrivals and service times, so the same
    // design gives the same numbers to the last bit: every difference is 0 ± 0, none significant.
    for v in &c.variants[1..3] {
        let d = v.vs_first.as_ref().expect("a difference to the first");
        for m in Metric::ALL {
            if m.is_cache() || m.is_cost() {
                // No cache to compare and no prices: no value, no difference.
                assert!(d.get(m).is_none() && c.cache.is_none(), "{} {m:?}", v.name);
                continue;
            }
            let d = d.get(m).expect("ten pairs");
            assert_eq!((d.mean, d.ci95_half_width, d.significant), (0.0, 0.0, false), "{} {m:?}", v.name);
        }
    }
    // ... while the replications themselves do vary: the intervals are not degenerate.
    assert!(c.variants[0].estimates.p99_ms.expect("ten runs").ci95_half_width > 0.0);
}

/// Hot keys expiring every second or so in front of a database, without and with single
/// flight, and the same design again.
const STAMPEDE: &str = r#"Scenario(
    name: "stampede",
    duration: "20s",
    warmup: "2s",
    clients: [Client(name: "users", target: "api", rate: 2000.0, keys: Zipf(n: 100, s: 1.0))],
    caches: [Cache(name: "c", capacity: 100, ttl: "1s", ttl_spread: "500ms")],
    services: [
        Service(name: "api", workers: 1000, handler: [Cached("c", [Call("db")])]),
        Service(name: "db", workers: 50, handler: [Work(Exponential(mean: "20ms"))]),
    ],
    variants: [
        Variant(name: "same", set: {}),
        Variant(name: "single-flight", set: {"caches.c.coalesce": true}),
    ],
)"#;

/// A scenario with two caches compares the one asked for: its hit ratio in each run is that
/// run's own figure for that cache, not the first cache's.
#[test]
fn the_cache_compared_can_be_chosen() {
    let text = STAMPEDE.replace(
        r#"caches: [Cache(name: "c", capacity: 100, ttl: "1s", ttl_spread: "500ms")],"#,
        r#"caches: [Cache(name: "l1", capacity: 5), Cache(name: "c", capacity: 100, ttl: "1s", ttl_spread: "500ms")],"#,
    )
    .replace(r#"[Cached("c", [Call("db")])]"#, r#"[Cached("l1", [Cached("c", [Call("db")])])]"#);
    let set = variants(&text, &[]);
    let (c, broken) = compare(&set, 3, 2, "users", Some("c"), Limits::default());
    assert_eq!(broken, None);
    assert_eq!(c.cache.as_deref(), Some("c"));
    let run = tailsim_sim::world::run(&set[0].1, 3, 0, Limits::default());
    assert_eq!(c.variants[0].runs[0].cache_hit_ratio, run.caches[1].hit_ratio());
    assert_ne!(run.caches[0].hit_ratio(), run.caches[1].hit_ratio());
}

/// The cache's hit ratio and largest stampede are compared like the other metrics: equal for
/// the same design to the last bit, and single flight's one fetch per key significantly below
/// the stampedes of the unprotected cache.
#[test]
fn cache_variants_compare_their_hit_ratio_and_stampede_size() {
    let (c, broken) = compare(&variants(STAMPEDE, &[]), 3, 5, "users", None, Limits::default());
    assert_eq!(broken, None);
    assert_eq!(c.cache.as_deref(), Some("c"));
    let same = c.variants[1].vs_first.as_ref().expect("a difference");
    for m in [Metric::CacheHitRatio, Metric::MaxFetchesPerKey] {
        let d = same.get(m).expect("five pairs");
        assert_eq!((d.mean, d.ci95_half_width, d.significant), (0.0, 0.0, false), "{m:?}");
    }
    let base = c.variants[0].estimates.max_fetches_per_key.expect("five runs");
    let flight = c.variants[2].estimates.max_fetches_per_key.expect("five runs");
    assert!(base.mean > 3.0, "no stampede without protection: {base:?}");
    assert_eq!((flight.mean, flight.ci95_half_width), (1.0, 0.0), "single flight fetches a key once at a time");
    let d = c.variants[2].vs_first.as_ref().expect("a difference").max_fetches_per_key.expect("five pairs");
    assert!(d.significant && d.mean < 0.0, "{d:?}");
    // Each run's value is its summary's: the share of lookups answered from the cache.
    let ratio = c.variants[0].runs[0].cache_hit_ratio.expect("lookups");
    assert!((0.5..1.0).contains(&ratio), "{ratio}");
    // The tables show the cache's columns, and say which cache they are of.
    let table = tailsim_report::compare::render(&c);
    for needle in ["hit ratio", "fetches/key", "of cache \"c\"", " 1.0±0.0"] {
        assert!(table.contains(needle), "no {needle:?} in\n{table}");
    }
    let json: serde_json::Value = serde_json::from_str(&c.to_json()).expect("JSON");
    assert_eq!(json["cache"], "c");
    assert_eq!(json["variants"][2]["estimates"]["max_fetches_per_key"]["mean"], 1.0);
    // Without a cache the columns are left out.
    let (none, _) = compare(&variants(MM1, &["duration=8s"]), 3, 2, "users", None, Limits::default());
    assert!(!tailsim_report::compare::render(&none).contains("hit ratio"));
}

#[test]
fn twice_the_workers_has_a_significantly_lower_p99() {
    let variants = variants(MM1, &[]);
    let (c, _) = compare(&variants, 3, 10, "users", None, Limits::default());
    let two = &c.variants[3];
    assert_eq!(two.name, "two-workers");
    let d = two.vs_first.as_ref().expect("a difference").p99_ms.expect("ten pairs");
    // M/M/1 at rho 0.8: p99 = ln(100) x 5 ms = 23.0 ms; M/M/2 at rho 0.4 5.16 ms (Erlang C), so the
    // difference is about -17.9 ms; replications of 55 s measure it to well under a millisecond.
    assert!(d.significant && d.mean < 0.0, "{d:?}");
    assert!((-20.0..-15.0).contains(&d.mean), "{d:?}");
    // Same arrivals: goodput does not change significantly with the design.
    let goodput = two.vs_first.as_ref().expect("a difference").goodput_per_s.expect("ten pairs");
    assert!(goodput.mean.abs() < 0.01 * 800.0, "{goodput:?}");
}

#[test]
fn compare_is_the_same_whatever_the_thread_count() {
    let variants = variants(MM1, &["duration=10s"]);
    let json = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| compare(&variants, 9, 4, "users", None, Limits::default()).0.to_json())
    };
    assert_eq!(json(1), json(2));
}

/// What the compare charts draw of each variant is what its runs measured: the latency
/// distribution of all replications added up, and the first replication's goodput and p99 per
/// window, the same numbers `run` reports for the same seed and replications.
#[test]
fn compare_keeps_each_variants_pooled_distribution_and_first_time_series() {
    let variants = variants(MM1, &["duration=20s", "window=2s"]);
    let (c, _) = compare(&variants, 5, 3, "users", None, Limits::default());
    for (v, (name, model)) in c.variants.iter().zip(&variants) {
        let report = tailsim_sim::run_replications(model, 5, 3, Limits::default());
        assert_eq!(v.clients.len(), 1, "{name}");
        let client = &v.clients[0];
        assert_eq!(client.name, "users");
        let pooled = Distribution::pooled(report.runs.iter().map(|r| &r.clients[0].latency_histogram));
        assert_eq!(
            (&client.latency_histogram.edges_ms, &client.latency_histogram.counts),
            (&pooled.edges_ms, &pooled.counts)
        );
        let succeeded: u64 = report.runs.iter().map(|r| r.clients[0].succeeded).sum();
        assert_eq!(client.latency_histogram.counts.iter().sum::<u64>(), succeeded, "{name}");
        let first = &report.runs[0].clients[0].per_window;
        assert_eq!(client.window_s, 2.0);
        let goodput: Vec<f64> = first.succeeded.iter().map(|&n| n as f64 / 2.0).collect();
        assert_eq!(client.goodput_per_s, goodput, "{name}");
        assert_eq!(client.p99_ms, first.p99_ms, "{name}");
        // The warm-up is the only span to shade: this scenario has no fault.
        assert_eq!(v.bands.len(), 1);
        assert!(v.bands[0].warmup && v.bands[0].end_s == 5.0, "{:?}", v.bands);
    }
    // Different designs measured different latencies: the two-worker variant's slowest
    // request is faster.
    let highest = |i: usize| c.variants[i].clients[0].latency_histogram.edges_ms.last().copied().unwrap_or(0.0);
    assert!(highest(3) < highest(0), "{} vs {}", highest(3), highest(0));
}

/// A sweep of M/M/1 (1 ms mean work) over the arrival rate: the simulated mean response time
/// at each point agrees with 1 / (mu - lambda).
///
/// The tolerance: each point has 10 independent replications of 200 s, so the mean of their
/// means is Student-t with 9 degrees of freedom around the true mean. The sweep reports the
/// 95% half-width; scaled by t(0.9995, 9) / t(0.975, 9) = 4.781 / 2.262 it is the 99.9%
/// half-width, and the theory must lie inside it (a correct simulator fails one point in a
/// thousand; the seed is fixed, so a pass stays a pass). To show the test could see an error,
/// the 99.9% half-width must also be under 5% of the theory, and the M/M/c columns of the sweep
/// must be exactly the textbook's values.
#[test]
fn a_sweep_of_mm1_lies_on_the_theory() {
    let param = Param::parse("clients.users.rate=300..800:3").expect("valid");
    let points = load_points(MM1, &[Override::parse("duration=200s").expect("path=value")], &[param]).expect("valid");
    assert_eq!(points.len(), 3);
    let (results, broken) = sweep(&points, 11, 10, "users", Limits::default());
    assert_eq!(broken, None);
    let widen = {
        let t = StudentsT::new(0.0, 1.0, 9.0).expect("df 9");
        t.inverse_cdf(0.9995) / t.inverse_cdf(0.975)
    };
    for p in &results {
        let lambda = p.values[0];
        let theory_ms = 1e3 / (1000.0 - lambda);
        let mmc = p.mmc.as_ref().expect("M/M/1 is M/M/c");
        assert!((mmc.theory.mean_ms - theory_ms).abs() < 1e-9 * theory_ms, "{mmc:?}");
        assert!((mmc.theory.p99_ms - 100f64.ln() * theory_ms).abs() < 1e-6 * theory_ms, "{mmc:?}");
        let mean = p.mean_ms.expect("customers");
        let half = mean.ci95_half_width.expect("ten replications") * widen;
        let report =
            format!("lambda {lambda}: simulated {:.4} ± {half:.4} ms (99.9%), theory {theory_ms:.4}", mean.mean);
        assert!(half < 0.05 * theory_ms, "{report}: interval too wide");
        assert!((mean.mean - theory_ms).abs() <= half, "{report}: theory outside the interval");
        assert!((p.busiest.offered_load - lambda / 1000.0).abs() < 1e-12);
        println!("{report}");
    }
}
