//! Caches against results nobody here invented: the expected number of distinct keys in a
//! sample, Che's approximation of LRU under independent requests, XFetch's closed form, exact
//! counts for single flight, stale-while-revalidate, write policies, levels and faults, and the
//! share of keys a change of nodes moves under hash-mod-N and consistent hashing.

use tailsim_report::{CacheSummary, Report};
use tailsim_tests::{load, run};

/// A client at `rate` with `keys`, an `api` that runs `handler`, a `db` that takes `db_work`,
/// and `caches`; the rest of the scenario (faults, classes) in `extra`.
fn scenario(rate: &str, keys: &str, caches: &str, handler: &str, db_work: &str, duration: &str, extra: &str) -> String {
    format!(
        r#"Scenario(
            name: "cache",
            duration: "{duration}",
            clients: [Client(name: "users", target: "api", {rate}, keys: {keys})],
            caches: [{caches}],
            services: [
                Service(name: "api", instances: 1, workers: 100000, handler: {handler}),
                Service(name: "db", workers: 100000, handler: [Work({db_work})]),
            ],
            {extra}
        )"#
    )
}

fn cache(report: &Report, i: usize) -> &CacheSummary {
    &report.runs[0].caches[i]
}

fn db_arrivals(report: &Report) -> u64 {
    report.runs[0].services[1].arrivals
}

/// The probability of each of Zipf's `n` keys with exponent `s`.
fn zipf(n: u32, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|k| f64::from(k).powf(-s)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// An LRU that holds every key misses once per distinct key, so its misses after R requests
/// are the distinct keys of the sample: E = sum_k 1 - (1 - p_k)^R, a sum of Bernoulli
/// indicators (negatively correlated), so the variance is at most sum_k q_k (1 - q_k).
/// That checks the Zipf sampler and the LRU's bookkeeping together.
#[test]
fn an_lru_holding_every_key_misses_once_per_distinct_key() {
    let (n, s) = (20_000u32, 0.9);
    let text = scenario(
        "rate: 2000.0",
        &format!("Zipf(n: {n}, s: {s})"),
        &format!(r#"Cache(name: "c", capacity: {n})"#),
        r#"[Cached("c", [Call("db")])]"#,
        r#"Constant("0s")"#,
        "10s",
        "",
    );
    let report = run(&load(&text), 1, 1);
    let c = cache(&report, 0);
    let requests = c.lookups as f64;
    let q: Vec<f64> = zipf(n, s).iter().map(|p| 1.0 - (1.0 - p).powf(requests)).collect();
    let expected: f64 = q.iter().sum();
    let sd = q.iter().map(|q| q * (1.0 - q)).sum::<f64>().sqrt();
    let misses = c.misses as f64;
    println!("misses {misses}, expected distinct keys {expected:.1} ± {sd:.1} (1 sd), {requests} requests");
    assert!((misses - expected).abs() < 4.0 * sd, "misses {misses} vs {expected:.1} ± 4 x {sd:.1}");
    assert_eq!(c.hits + c.misses, c.lookups);
    assert_eq!(c.evictions, 0);
    assert_eq!(db_arrivals(&report), c.misses, "every miss, and only a miss, reaches the database");
}

/// With capacity C < n, the hit ratio under independent requests follows Che's approximation
/// (Che, Tung and Wang 2002; shown asymptotically exact by Fricker, Robert and Roberts 2012):
/// the characteristic time T solves sum_k (1 - e^{-p_k T}) = C and the hit ratio is
/// sum_k p_k (1 - e^{-p_k T}). It also lies below the top-C popularity mass, which for
/// Zipf(1.3) over 100,000 keys and C = 1,000 is 91.8% (H(1000, 1.3) / H(100000, 1.3); the
/// issue's "about 89%" is a little low).
#[test]
fn lru_hit_ratio_follows_che_and_stays_below_the_top_keys_mass() {
    let (n, s, capacity) = (100_000u32, 1.3, 1_000usize);
    let p = zipf(n, s);
    let top_mass: f64 = p[..capacity].iter().sum();
    assert!((top_mass - 0.918).abs() < 0.001, "top {capacity} of Zipf({s}) carry {top_mass}");
    let filled = |t: f64| p.iter().map(|p| 1.0 - (-p * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0f64, 1e12f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if filled(mid) < capacity as f64 { lo = mid } else { hi = mid }
    }
    let che: f64 = p.iter().map(|p| p * (1.0 - (-p * lo).exp())).sum();

    // 50 s at 20,000/s after a 10 s warm-up that fills the cache: a million lookups.
    let text = scenario(
        "rate: 20000.0",
        &format!("Zipf(n: {n}, s: {s})"),
        &format!(r#"Cache(name: "c", capacity: {capacity})"#),
        r#"[Cached("c", [Call("db")])]"#,
        r#"Constant("0s")"#,
        "60s",
        r#"warmup: "10s","#,
    );
    let report = run(&load(&text), 2, 1);
    let hit = cache(&report, 0).hit_ratio().unwrap();
    // Sampling error: well under 0.001 over a million lookups. Che's approximation itself is
    // within a few tenths of a percent for Zipf laws of this size, so 0.005 absolute.
    println!("hit ratio {hit:.4}, Che {che:.4}, top-{capacity} mass {top_mass:.4}");
    assert!((hit - che).abs() < 0.005, "hit ratio {hit} vs Che's {che}");
    assert!(hit < top_mass);
}

/// XFetch (Vattani, Chierichetti and Lowenstein 2015) with Poisson reads at rate r on one key
/// whose recompute takes delta: a read tau before the expiry refreshes with probability
/// e^{-tau / (delta beta)}, so the refreshes that start at least delta early form a Poisson
/// process of mean r delta beta e^{-1/beta} per TTL window, and the share of windows refreshed
/// in time is 1 - exp(-r delta beta e^{-1/beta}) = 0.668 for r = 1/s, delta = 3 s, beta = 1.
#[test]
fn xfetch_refreshes_in_time_as_often_as_its_closed_form_says() {
    let (r, delta, beta) = (1.0f64, 3.0f64, 1.0f64);
    let text = scenario(
        &format!("rate: {r:?}"),
        "Uniform(n: 1)",
        &format!(r#"Cache(name: "c", capacity: 1, ttl: "30s", coalesce: true, early: {beta:?})"#),
        r#"[Cached("c", [Call("db")])]"#,
        &format!(r#"Constant("{delta}s")"#),
        "300000s",
        "",
    );
    let report = run(&load(&text), 3, 1);
    let c = cache(&report, 0);
    // Every TTL window ends with one refresh: early, or a miss at the expiry; the first miss
    // (the cold start) opens the first window.
    let windows = (c.early_refreshes + c.misses - 1) as f64;
    let share = c.early_ahead as f64 / windows;
    let theory = 1.0 - (-r * delta * beta * (-1.0 / beta).exp()).exp();
    // Binomial: sd = sqrt(p (1 - p) / windows), about 0.005 over ~9,000 windows; 4 sd.
    let sd = (theory * (1.0 - theory) / windows).sqrt();
    println!("{windows} windows, refreshed in time {share:.4}, theory {theory:.4} ± {sd:.4}");
    assert!((theory - 0.668).abs() < 0.001);
    assert!(windows > 5_000.0);
    assert!((share - theory).abs() < 4.0 * sd, "{share} vs {theory} ± 4 x {sd}");
}

/// Fifty users asking for one cold key at the same instant (after one think time): without protection each miss
/// goes to the database (a stampede of fifty), with single flight exactly one does and the
/// others wait for it. If that one fetch fails, all fifty fail with it.
#[test]
fn single_flight_turns_a_stampede_into_one_fetch() {
    let text = |coalesce: bool, db: &str| {
        format!(
            r#"Scenario(
                name: "stampede",
                duration: "1050ms",
                clients: [Client(name: "users", target: "api", users: 50, think: Constant("100ms"), keys: Uniform(n: 1))],
                caches: [Cache(name: "c", capacity: 10, coalesce: {coalesce})],
                services: [
                    Service(name: "api", workers: 100, handler: [Cached("c", [Call("db")])]),
                    Service(name: "db", workers: 100, handler: {db}),
                ],
            )"#
        )
    };
    let ok = r#"[Work(Constant("100ms"))]"#;
    let stampede = run(&load(&text(false, ok)), 1, 1);
    assert_eq!(db_arrivals(&stampede), 50);
    assert_eq!(cache(&stampede, 0).max_fetches_per_key, 50);

    let single = run(&load(&text(true, ok)), 1, 1);
    let c = cache(&single, 0);
    assert_eq!(db_arrivals(&single), 1);
    assert_eq!((c.misses, c.coalesced, c.max_fetches_per_key, c.fills), (1, 49, 1, 1));
    assert_eq!(single.runs[0].clients[0].failed, 0);

    let failing = r#"[Work(Constant("100ms")), Fail(1.0)]"#;
    let shared_failure = run(&load(&text(true, failing)), 1, 1);
    let c = cache(&shared_failure, 0);
    // A round every 200 ms (think 100 ms, fetch 100 ms), from 100 to 900 ms.
    assert_eq!(shared_failure.runs[0].services[1].arrivals, 5, "one fetch per round of fifty");
    assert_eq!((c.failed_fetches, c.coalesced), (5, 5 * 49));
    assert_eq!(shared_failure.runs[0].clients[0].failed, 250, "five rounds of fifty fail together");
}

/// Stale-while-revalidate: once warm, no request ever waits for the database; every expiry is
/// served stale while exactly one background fetch refreshes the entry.
#[test]
fn stale_while_revalidate_never_makes_a_request_wait() {
    let text = scenario(
        "rate: 200.0",
        "Uniform(n: 1)",
        r#"Cache(name: "c", capacity: 1, ttl: "1s", stale_for: "10s", warm: 1)"#,
        r#"[Cached("c", [Call("db")]), Work(Constant("1ms"))]"#,
        r#"Constant("100ms")"#,
        "60s",
        "",
    );
    let report = run(&load(&text), 4, 1);
    let c = cache(&report, 0);
    let client = &report.runs[0].clients[0];
    assert_eq!((c.misses, c.coalesced), (0, 0));
    assert!(c.stale > 0);
    // One refresh per expiry: the entry lives 1 s and takes 0.1 s to refresh after the first
    // stale read, about 1.1 s a cycle, so about 54 in 60 s; each fills once.
    assert!((50..=60).contains(&c.background_refreshes), "{} refreshes", c.background_refreshes);
    assert!(c.fills + 1 >= c.background_refreshes && c.fills <= c.background_refreshes);
    assert_eq!(db_arrivals(&report), c.background_refreshes);
    let max = client.latency.max_ms.unwrap();
    assert!((1.0..1.01).contains(&max), "every answer took only the api's own 1 ms, not {max} ms");
}

/// Writes in the request mix. Write-through (`Put`) keeps the one key fresh: the only miss is
/// the cold one. Cache-aside (`Invalidate`) makes the next read after a run of writes miss:
/// with writes an independent share w of requests, the expected misses are about
/// 1 + N w (1 - w), the write-then-read pairs of the sequence.
#[test]
fn write_through_keeps_keys_fresh_and_invalidation_costs_a_miss_per_write_run() {
    let text = |write: &str| {
        format!(
            r#"Scenario(
                name: "writes",
                duration: "100s",
                clients: [Client(name: "users", target: "api", rate: 1000.0, keys: Uniform(n: 1),
                    classes: [Class(name: "read", weight: 9.0), Class(name: "write", weight: 1.0)])],
                caches: [Cache(name: "c", capacity: 1)],
                services: [
                    Service(name: "api", workers: 1000,
                        handler: [Cached("c", [Call("db")])],
                        handlers: {{"write": [Call("db"), {write}("c")]}}),
                    Service(name: "db", workers: 1000, handler: [Work(Constant("0s"))]),
                ],
            )"#
        )
    };
    let through = run(&load(&text("Put")), 5, 1);
    let c = cache(&through, 0);
    assert_eq!(c.misses, 1);
    assert!(c.puts > 9_000);

    let aside = run(&load(&text("Invalidate")), 5, 1);
    let c = cache(&aside, 0);
    let n = aside.runs[0].clients[0].arrivals as f64;
    let w = c.invalidations as f64 / n;
    let expected = 1.0 + n * w * (1.0 - w);
    // The pairs count has variance below its mean (about 9,000), so sd < 95; 4 sd.
    println!("misses {}, expected {expected:.0}", c.misses);
    assert!((c.misses as f64 - expected).abs() < 4.0 * expected.sqrt(), "{} vs {expected}", c.misses);
}

/// Two levels: an in-process L1 on each of two instances in front of a shared L2. One key,
/// round robin: each instance misses its own L1 once, and only the first reaches the database.
#[test]
fn an_l1_per_instance_sits_in_front_of_a_shared_l2() {
    let text = r#"Scenario(
        name: "levels",
        duration: "10s",
        clients: [Client(name: "users", target: "api", rate: 100.0, keys: Uniform(n: 1))],
        caches: [
            Cache(name: "l1", capacity: 10, scope: PerInstance),
            Cache(name: "l2", capacity: 10),
        ],
        services: [
            Service(name: "api", instances: 2, workers: 10, handler: [Cached("l1", [Cached("l2", [Call("db")])])]),
            Service(name: "db", workers: 10, handler: [Work(Constant("1ms"))]),
        ],
    )"#;
    let report = run(&load(text), 6, 1);
    let (l1, l2) = (cache(&report, 0), cache(&report, 1));
    assert_eq!((l1.misses, l2.lookups, l2.misses), (2, 2, 1));
    assert_eq!(db_arrivals(&report), 1);
    assert_eq!(l1.hits, l1.lookups - 2);
}

/// Faults. A flush of half the entries costs one miss per lost key (every key is asked for
/// again many times); a key-format change costs one miss per key and evicts every old entry.
#[test]
fn flushes_and_key_changes_cost_one_miss_per_lost_key() {
    let keys = 1_000;
    let text = |fault: &str| {
        scenario(
            "rate: 10000.0",
            &format!("Uniform(n: {keys})"),
            &format!(r#"Cache(name: "c", capacity: {keys}, warm: {keys})"#),
            r#"[Cached("c", [Call("db")])]"#,
            r#"Constant("0s")"#,
            "20s",
            &format!("faults: [{fault}],"),
        )
    };
    let flushed = run(&load(&text(r#"CacheFlush(cache: "c", at: "5s", fraction: 0.5)"#)), 7, 1);
    let c = cache(&flushed, 0);
    // Binomial(1000, 0.5) keys lost: sd 15.8; 4 sd. (Each key is asked for ~150 times after.)
    assert!((c.misses as f64 - 500.0).abs() < 64.0, "{} misses", c.misses);
    assert_eq!(c.evictions, 0);

    let changed = run(&load(&text(r#"KeyChange(cache: "c", at: "5s")"#)), 7, 1);
    let c = cache(&changed, 0);
    assert_eq!(c.misses, keys);
    assert_eq!(c.evictions, keys, "the new keys push every old entry out");
}

/// Growing a cache cluster from 10 to 11 nodes: with hash-mod-N about 10/11 of the keys move,
/// on a consistent-hash ring about 1/11. With every key warm and asked for again after the
/// change, the misses are exactly the moved keys.
#[test]
fn adding_a_node_moves_ten_elevenths_with_mod_n_and_one_eleventh_on_a_ring() {
    let keys = 20_000u32;
    for (routing, expected) in [("ModN", 10.0 / 11.0), ("Ring(1000)", 1.0 / 11.0)] {
        let text = scenario(
            "rate: 50000.0",
            &format!("Uniform(n: {keys})"),
            &format!(r#"Cache(name: "c", capacity: {keys}, nodes: 10, routing: {routing}, warm: {keys})"#),
            r#"[Cached("c", [Call("db")])]"#,
            r#"Constant("0s")"#,
            "10s",
            r#"faults: [CacheNodes(cache: "c", at: "2s", nodes: 11)],"#,
        );
        let report = run(&load(&text), 8, 1);
        let c = cache(&report, 0);
        let moved = c.resizes[0].moved_fraction;
        // Mod-N: binomial over the keys, sd 0.002. Ring with 1,000 virtual nodes: the new
        // node's arc has sd about (1/11) / sqrt(1000) = 0.003. Both within 1 point.
        println!("{routing}: moved {moved:.4}, expected {expected:.4}");
        assert!((moved - expected).abs() < 0.01, "{routing}: {moved}");
        assert_eq!(c.misses, (moved * f64::from(keys)).round() as u64, "{routing}: a miss per moved key");
    }
}

/// A lookup's round trip is a call: an async service frees its worker while it waits, as it
/// does for its calls. Two async workers run 1 ms of work after a 20 ms lookup that always
/// hits (one key), at 1,000 visits/s: by the utilisation law they are busy 1,000 x 1 ms / 2 =
/// 50% of the time (holding a worker through the lookup would need 21 workers). 20 runs of
/// 60 s put the 99.9% interval of the mean within about 0.6%; the test allows 1%. A visit
/// takes the lookup's 20 ms, its 1 ms of work and some waiting for a worker at half load (well
/// under 4 ms), so its mean lies between 21 and 25 ms.
#[test]
fn async_services_free_their_workers_during_lookups() {
    let text = r#"Scenario(
        name: "async-lookups",
        duration: "60s",
        warmup: "5s",
        clients: [Client(name: "users", target: "api", rate: 1000.0, keys: Uniform(n: 1))],
        caches: [Cache(name: "c", capacity: 10, latency: Constant("20ms"))],
        services: [
            Service(name: "api", workers: 2, concurrency: Async,
                handler: [Cached("c", [Call("db")]), Work(Exponential(mean: "1ms"))]),
            Service(name: "db", workers: 100, handler: [Work(Constant("1ms"))]),
        ],
    )"#;
    let report = run(&load(text), 3, 20);
    let util: Vec<f64> = report.runs.iter().map(|r| r.services[0].utilisation).collect();
    tailsim_tests::assert_theory("async api: utilisation", &util, 0.5, 0.01);
    for r in &report.runs {
        let latency = r.clients[0].latency.mean_ms.expect("answered");
        assert!(latency > 21.0 && latency < 25.0, "{latency}");
    }
}
