//! The bundled scenarios keep the promises their header comments make, and `check`'s offered
//! load agrees with the simulated utilisation (the utilisation law U = lambda x S / c).

use tailsim_model::Override;
use tailsim_tests::{assert_theory, header_says, load, run};

const CHECKOUT: &str = include_str!("../scenarios/checkout.ron");
const MM1: &str = include_str!("../scenarios/mm1.ron");

fn load_with(text: &str, set: &[&str]) -> tailsim_model::Model {
    let overrides: Vec<Override> = set.iter().map(|s| Override::parse(s).expect("path=value")).collect();
    tailsim_model::load(text, &overrides).expect("valid").0
}

/// For a leaf service (no calls) the offered load of `check` is exactly its expected
/// utilisation; for callers it is a lower bound, since downstream queueing adds hold time.
#[test]
fn offered_load_is_the_utilisation_of_leaves_and_a_bound_for_callers() {
    let model = load(CHECKOUT);
    let loads = tailsim_model::analysis::offered_load(&model);
    let report = run(&model, 5, 10);
    for (s, load) in loads.iter().enumerate() {
        let util: Vec<f64> = report.runs.iter().map(|r| r.services[s].utilisation).collect();
        if load.service == "db" {
            assert_theory("checkout db utilisation", &util, load.offered_load, 0.02);
        } else {
            let (mean, half) = tailsim_tests::t_interval(&util, 0.999);
            assert!(mean + half >= load.offered_load, "{}: {mean} below the bound {}", load.service, load.offered_load);
        }
    }
}

/// Under `concurrency: Async` a worker is held for `Work` only: 1,000 visits/s of 2 ms on 10
/// workers offer 20%, not the 1,020% that holding them through the 100 ms call would be, and
/// that is what the run measures. A thread-per-request service holds them through the call.
#[test]
fn offered_load_holds_an_async_worker_for_its_work_only() {
    let text = |concurrency: &str| {
        format!(
            r#"Scenario(name: "async", duration: "30s",
            clients: [Client(name: "c", target: "api", rate: 1000.0)],
            services: [
                Service(name: "api", workers: {w}, concurrency: {concurrency},
                    handler: [Work(Exponential(mean: "2ms")), Call("db")]),
                Service(name: "db", workers: 1000, handler: [Work(Constant("100ms"))]),
            ])"#,
            w = if concurrency == "Async" { 10 } else { 200 }
        )
    };
    let model = load(&text("Async"));
    let offered = tailsim_model::analysis::offered_load(&model)[0].offered_load;
    assert!((offered - 0.2).abs() < 1e-12, "{offered}");
    let util: Vec<f64> = run(&model, 3, 10).runs.iter().map(|r| r.services[0].utilisation).collect();
    assert_theory("async api utilisation", &util, 0.2, 0.02);
    // Thread per request: 1,000/s x 102 ms on 200 workers.
    let blocking = tailsim_model::analysis::offered_load(&load(&text("ThreadPerRequest")))[0].offered_load;
    assert!((blocking - 0.51).abs() < 1e-12, "{blocking}");
}

#[test]
fn checkout_tips_over_near_its_api_capacity() {
    let calm = run(&load(CHECKOUT), 42, 1);
    let tipped = run(&load_with(CHECKOUT, &["clients.shoppers.rate=2550"]), 42, 1);
    let (calm, tipped) = (&calm.runs[0], &tipped.runs[0]);
    let p99 = |r: &tailsim_report::RunSummary| r.clients[0].latency.p99_ms.expect("requests finished");
    // The header: ~35ms at 1,800/s with the api about 67% busy; ~490ms at 2,550/s with the gateway rejecting.
    assert!((25.0..50.0).contains(&p99(calm)), "calm p99 {}", p99(calm));
    assert!((0.6..0.75).contains(&calm.services[1].utilisation), "api {}", calm.services[1].utilisation);
    assert_eq!(calm.clients[0].failed, 0);
    assert!(p99(tipped) > 10.0 * p99(calm), "tipped p99 {}", p99(tipped));
    assert!(tipped.services[0].rejected > 0, "the gateway should reject");
    assert!(tipped.services[1].utilisation > 0.99, "api {}", tipped.services[1].utilisation);
}

#[test]
fn mm1_file_is_the_textbook_queue() {
    let model = load(MM1);
    let loads = tailsim_model::analysis::offered_load(&model);
    assert!((loads[0].offered_load - 0.9).abs() < 1e-12);
    let run = &run(&model, 1, 1).runs[0];
    // One 1000 s run, ~890,000 customers: at rho 0.9 successive sojourns are strongly correlated
    // and the standard error of the mean is about 2% (asymptotic variance ~3.6e4 / N in units of
    // the service time); 5% is 2.5 standard errors. The analytic tests make the precise check.
    let mean = run.clients[0].latency.mean_ms.expect("customers");
    assert!((mean - 10.0).abs() < 0.5, "{mean}");
}

const RETRY_STORM: &str = include_str!("../scenarios/retry-storm.ron");

/// The header's claim, on three seeds: immediate retries turn a 10 s slowdown into a collapse
/// that outlives it; a 10% retry budget recovers within seconds.
#[test]
fn retry_storm_outlives_its_trigger_unless_retries_are_budgeted() {
    for seed in [7, 8, 9] {
        let storm = &run(&load(RETRY_STORM), seed, 1).runs[0];
        let fault = &storm.faults[0];
        let before = fault.goodput_before_per_s.expect("measured before the fault");
        assert!((before - 800.0).abs() < 40.0, "seed {seed}: goodput before {before}");
        assert_eq!(fault.recovered_after_s, None, "seed {seed}: the storm should not recover");
        assert!(fault.goodput_at_end_per_s < 0.1 * before, "seed {seed}: {}", fault.goodput_at_end_per_s);
        assert!(storm.clients[0].attempts_per_request > 3.0);
        assert!(storm.services[0].wasted_work_s > 0.0);

        let budgeted = &run(&load_with(RETRY_STORM, &["clients.shoppers.policy.retry.budget.ratio=0.1"]), seed, 1);
        let fault = &budgeted.runs[0].faults[0];
        let recovered = fault.recovered_after_s.expect("the budget lets it recover");
        assert!(recovered < 20.0, "seed {seed}: recovered after {recovered}s");
        assert!(budgeted.runs[0].clients[0].attempts_per_request < 1.2);
    }
}

const FANOUT_TAIL: &str = include_str!("../scenarios/fanout-tail.ron");

/// The header's numbers: waiting for all of 100 shards puts the median in the hiccups
/// (50-100 ms), a quorum of 95 brings p99 back under the shards' own 10 ms.
#[test]
fn fanout_tail_waiting_for_all_makes_the_median_a_hiccup() {
    let (one_p50, _) = p_with(FANOUT_TAIL, &["services.frontend.handler.0.n=1"]);
    assert!(one_p50 < 3.0, "{one_p50}");
    let (all_p50, _) = p_with(FANOUT_TAIL, &["services.frontend.handler.0.n=100"]);
    assert!((50.0..100.0).contains(&all_p50), "{all_p50}");
    let quorum = FANOUT_TAIL.replace("(wait: All)", "(wait: Quorum(95))");
    let (_, quorum_p99) = p_with(&quorum, &["services.frontend.handler.0.n=100"]);
    assert!(quorum_p99 < 10.0, "{quorum_p99}");
}

/// p50 and p99 of the first client, one replication, seed 3.
fn p_with(text: &str, set: &[&str]) -> (f64, f64) {
    let report = run(&load_with(text, set), 3, 1);
    let l = &report.runs[0].clients[0].latency;
    (l.p50_ms.expect("answered"), l.p99_ms.expect("answered"))
}

const HEDGING: &str = include_str!("../scenarios/hedging.ron");

/// The header's claim: hedging at p95 cuts p99 at low load and, with the losers left to run,
/// makes it far worse at high load; cancelling the losers makes it help at high load too. The high-load storm needs a burst of slow answers to start it, so it is a likelihood:
/// seeds 1 to 6 were measured, five of them blow up within the two minutes (seed 4 does not);
/// the test asks for at least four.
#[test]
fn hedging_helps_at_low_load_and_hurts_at_high_load() {
    let off = "services.frontend.handler.0.policy.hedge.percentile=99.99";
    let p99 = |set: &[&str], seed: u64| {
        let report = run(&load_with(HEDGING, set), seed, 1);
        report.runs[0].clients[0].latency.p99_ms.expect("answered")
    };
    let (low_hedged, low_plain) = (p99(&[], 1), p99(&[off], 1));
    assert!(low_hedged < 0.5 * low_plain, "low load: {low_hedged} vs {low_plain}");
    let high = "clients.users.rate=1800";
    let storms = (1..=6).filter(|&seed| p99(&[high], seed) > 5.0 * p99(&[high, off], seed)).count();
    assert!(storms >= 4, "only {storms} of 6 seeds stormed");
    let cancel = "services.frontend.handler.0.policy.hedge.losers=Cancel";
    for seed in 1..=3 {
        let (cancelled, plain) = (p99(&[high, cancel], seed), p99(&[high, off], seed));
        assert!(cancelled < 0.8 * plain, "seed {seed}: cancelling losers: {cancelled} vs {plain}");
    }
}

const RETRY_CASCADE: &str = include_str!("../scenarios/retry-cascade.ron");

/// The header's claim: 2 retries 500 ms apart keep b's queue short and its pool to c all but
/// sufficient through d's outage (a handful of refusals at most); 5 retries 100 ms apart make b
/// queue and exhaust the pool (thousands of refusals).
#[test]
fn retry_cascade_tips_the_middle_when_retries_come_faster() {
    let calm = &run(&load(RETRY_CASCADE), 5, 1).runs[0];
    assert!(calm.edges[2].bulkhead_full < 10, "{:?}", calm.edges[2]);
    assert!(calm.services[1].max_queue_length < 25, "{}", calm.services[1].max_queue_length);
    let fast =
        ["services.a.handler.1.policy.retry.attempts=6", "services.a.handler.1.policy.retry.backoff.Constant=100ms"];
    let tipped = &run(&load_with(RETRY_CASCADE, &fast), 5, 1).runs[0];
    assert!(tipped.edges[2].bulkhead_full > 1000, "{:?}", tipped.edges[2]);
    assert!(tipped.services[1].max_queue_length > 500, "{}", tipped.services[1].max_queue_length);
}

const BULKHEAD: &str = include_str!("../scenarios/bulkhead.ron");

/// The header's claim: with the bulkhead, searches keep a p99 in the tens of milliseconds while
/// recommendations fail fast; without it, the slow dependency drains the shared pool and
/// searches wait seconds.
#[test]
fn bulkhead_keeps_the_other_path_healthy() {
    let search_p99 = |run: &tailsim_report::RunSummary| run.clients[0].classes[0].latency.p99_ms.expect("answered");
    let guarded = &run(&load(BULKHEAD), 1, 1).runs[0];
    assert!(search_p99(guarded) < 30.0, "{}", search_p99(guarded));
    assert!(guarded.edges[2].bulkhead_full > 5_000, "{:?}", guarded.edges[2]);
    assert_eq!(guarded.clients[0].classes[0].failed, 0);
    let off = "services.api.handlers.recommend.1.policy.bulkhead.max_concurrent=100000";
    let open = &run(&load_with(BULKHEAD, &[off]), 1, 1).runs[0];
    assert!(search_p99(open) > 1_000.0, "{}", search_p99(open));
    assert!(open.services[0].max_queue_length > 10_000, "{}", open.services[0].max_queue_length);
}

/// What the header says `tailsim compare` shows: on the same random numbers, full jitter alone
/// leaves goodput collapsed (within 2% of the storm's), a 10% budget, with or without jitter,
/// lifts it by hundreds per second, significantly.
#[test]
fn retry_storm_compare_shows_the_budget_not_jitter_is_the_fix() {
    let variants = tailsim_model::load_variants(RETRY_STORM, &[]).expect("valid").0;
    let (c, broken) =
        tailsim_model::compare::compare(&variants, 7, 3, "shoppers", None, tailsim_model::Limits::default());
    assert_eq!(broken, None);
    let names: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["base", "full-jitter", "budget", "breaker", "full-jitter+budget"]);
    let base = c.variants[0].estimates.goodput_per_s.expect("three runs").mean;
    assert!(base < 200.0, "the storm's goodput {base}");
    let goodput = |i: usize| c.variants[i].vs_first.as_ref().expect("a difference").goodput_per_s.expect("pairs");
    assert!(goodput(1).mean.abs() < 0.02 * base, "jitter alone: {:?}", goodput(1));
    for i in [2, 3, 4] {
        assert!(goodput(i).significant && goodput(i).mean > 400.0, "{}: {:?}", names[i], goodput(i));
    }
}

/// The header's breaker: it opens in the storm, stays open for about the slowdown and a little
/// after, and closes again for good (the share of each window it was open says when).
#[test]
fn retry_storm_breaker_opens_in_the_storm_and_closes_after() {
    let set = tailsim_model::load_variants(RETRY_STORM, &[]).expect("valid").0;
    let (_, model) = set.iter().find(|(name, _)| name == "breaker").expect("a breaker variant");
    let r = &run(model, 7, 1).runs[0];
    let open = &r.edges[0].breaker_open_per_window;
    assert!(open[..30].iter().all(|&share| share == 0.0), "closed before the slowdown: {open:?}");
    assert!(open[30..45].iter().any(|&share| share > 0.5), "open in the storm: {open:?}");
    assert!(open[60..].iter().all(|&share| share == 0.0), "closed for good: {open:?}");
    assert!(r.faults[0].recovered_after_s.is_some(), "{:?}", r.faults[0]);
}

/// The checkout header: at 2,400/s a fifth api instance and an Async api each cut p99 by about
/// a third, significantly; the instance costs 11% more instance-seconds, Async nothing.
#[test]
fn checkout_compare_shows_two_fixes_for_the_api_pool() {
    let variants = tailsim_model::load_variants(CHECKOUT, &[Override::parse("clients.shoppers.rate=2400").unwrap()])
        .expect("valid")
        .0;
    let (c, _) = tailsim_model::compare::compare(&variants, 42, 10, "shoppers", None, tailsim_model::Limits::default());
    for (i, extra_cost) in [(1, 0.11), (2, 0.0)] {
        let d = c.variants[i].vs_first.as_ref().expect("a difference");
        let p99 = d.p99_ms.expect("pairs");
        let relative = p99.relative.expect("nonzero p99");
        assert!(p99.significant && (-0.45..-0.2).contains(&relative), "{}: {p99:?}", c.variants[i].name);
        let cost = d.instance_s.expect("pairs").relative.expect("nonzero cost");
        assert!((cost - extra_cost).abs() < 0.01, "{}: cost {cost}", c.variants[i].name);
    }
}

const GC_PAUSES: &str = include_str!("../scenarios/gc-pauses.ron");

/// The header's claim: the pauses leave p50 within 10% and multiply p99 and p99.9 more than
/// tenfold.
#[test]
fn gc_pauses_leave_the_median_and_wreck_the_tail() {
    let latency = |set: &[&str]| run(&load_with(GC_PAUSES, set), 1, 1).runs[0].clients[0].latency.clone();
    let paused = latency(&[]);
    let calm = latency(&["faults.0.pause=1us", "faults.1.pause=1us", "faults.2.pause=1us", "faults.3.pause=1us"]);
    let (p50, p50_calm) = (paused.p50_ms.unwrap(), calm.p50_ms.unwrap());
    assert!((p50 / p50_calm - 1.0).abs() < 0.1, "{p50} vs {p50_calm}");
    assert!(paused.p99_ms.unwrap() > 10.0 * calm.p99_ms.unwrap(), "{paused:?} vs {calm:?}");
    assert!(paused.p999_ms.unwrap() > 10.0 * calm.p999_ms.unwrap(), "{paused:?} vs {calm:?}");
}

const CPU_THROTTLING: &str = include_str!("../scenarios/cpu-throttling.ron");

/// The header's claims: under the 2-CPU limit p50 stays within 10% of the unlimited service's
/// while p99 and p99.9 grow more than threefold, with the quota spent in some periods but far
/// from all; a limit of 4 CPUs is never spent (the same latencies as no limit, to the
/// nanosecond); 2 threads or 10 ms periods at least triple p50.
#[test]
fn cpu_throttling_leaves_the_median_and_wrecks_the_tail() {
    let run_with = |set: &[&str]| run(&load_with(CPU_THROTTLING, set), 1, 1).runs.remove(0);
    let limited = run_with(&[]);
    let free = run_with(&["faults.0.cpus=16"]);
    let (l, f) = (&limited.clients[0].latency, &free.clients[0].latency);
    assert!((l.p50_ms.unwrap() / f.p50_ms.unwrap() - 1.0).abs() < 0.1, "{l:?} vs {f:?}");
    assert!(l.p99_ms.unwrap() > 3.0 * f.p99_ms.unwrap(), "{l:?} vs {f:?}");
    assert!(l.p999_ms.unwrap() > 3.0 * f.p999_ms.unwrap(), "{l:?} vs {f:?}");
    let throttling = limited.faults[0].throttling.clone().expect("reported");
    let share = throttling.throttled_periods as f64 / throttling.periods as f64;
    assert!((0.05..0.25).contains(&share), "{throttling:?}");
    let roomy = run_with(&["faults.0.cpus=4"]);
    assert_eq!(roomy.faults[0].throttling.as_ref().map(|t| t.throttled_periods), Some(0));
    assert_eq!(roomy.clients[0].latency.p99_ms, f.p99_ms);
    for set in ["services.api.workers=2", "faults.0.period=10ms"] {
        let other = run_with(&[set]);
        let p50 = other.clients[0].latency.p50_ms.unwrap();
        assert!(p50 > 3.0 * l.p50_ms.unwrap(), "{set}: p50 {p50} ms");
    }
}

const FLASH_SALE: &str = include_str!("../scenarios/flash-sale.ron");

/// The header's claims: queueing gives a backlog near 80,000 and a p99 over 30 s; shedding
/// fails most of the sale but answers the rest within ~1 s; scaling keeps p99 near 200 ms.
#[test]
fn flash_sale_queue_shed_or_scale() {
    let run_with = |set: &[&str]| run(&load_with(FLASH_SALE, set), 1, 1).runs.remove(0);
    let queue = run_with(&[]);
    assert!(queue.services[0].max_queue_length > 70_000, "{}", queue.services[0].max_queue_length);
    assert!(queue.clients[0].latency.p99_ms.unwrap() > 30_000.0);
    let shed = run_with(&[r#"services.shop.queue=(capacity: 200, shed_after: "2s")"#]);
    let c = &shed.clients[0];
    assert!(c.failed as f64 > 0.6 * 100_000.0 && c.latency.p99_ms.unwrap() < 1_500.0, "{c:?}");
    let scale = run_with(&["services.shop.instances=40"]);
    assert!(scale.clients[0].latency.p99_ms.unwrap() < 300.0 && scale.clients[0].failed == 0);
}

const AUTOSCALE_LAG: &str = include_str!("../scenarios/autoscale-lag.ron");

/// The header's claims: the reactive scaler leaves p99 above 10 s; scheduled pre-scaling keeps
/// it under 100 ms, for a little more capacity.
#[test]
fn autoscale_lag_reactive_against_scheduled() {
    let run_with = |set: &[&str]| run(&load_with(AUTOSCALE_LAG, set), 1, 1).runs.remove(0);
    let reactive = run_with(&[]);
    assert!(reactive.clients[0].latency.p99_ms.unwrap() > 10_000.0, "{:?}", reactive.clients[0].latency);
    assert!(reactive.services[0].max_queue_length > 20_000);
    let scheduled = run_with(&[r#"services.api.autoscale.schedule=[(at: "30s", min: 13)]"#]);
    assert!(scheduled.clients[0].latency.p99_ms.unwrap() < 100.0, "{:?}", scheduled.clients[0].latency);
    let cost = |r: &tailsim_report::RunSummary| r.services[0].instance_seconds;
    assert!(cost(&scheduled) > cost(&reactive) && cost(&scheduled) < 1.2 * cost(&reactive));
}

/// The latency histograms in the summary hold every recorded latency, and the percentiles of
/// the summary fall in buckets that hold the matching share of the counts.
#[test]
fn latency_histograms_add_up_and_agree_with_the_percentiles() {
    let report = run(&load(include_str!("../scenarios/retry-storm.ron")), 7, 1);
    let client = &report.runs[0].clients[0];
    assert!(client.failure_latency.count > 0, "the storm should fail requests");
    for (summary, histogram) in
        [(&client.latency, &client.latency_histogram), (&client.failure_latency, &client.failure_latency_histogram)]
    {
        assert_eq!(histogram.counts.iter().sum::<u64>(), summary.count);
        assert_eq!(histogram.edges_ms.len(), histogram.counts.len() + 1);
        assert!(histogram.counts.len() <= 20 * 10, "{} buckets", histogram.counts.len());
        assert!(histogram.counts.first().is_some_and(|&c| c > 0) && histogram.counts.last().is_some_and(|&c| c > 0));
        // The fraction at or below the bucket holding p99 is at least 99%, and below it less.
        let p99 = summary.p99_ms.expect("recorded");
        let bucket = histogram.edges_ms.partition_point(|&edge| edge <= p99) - 1;
        let upto = |b: usize| histogram.counts[..b].iter().sum::<u64>() as f64 / summary.count as f64;
        assert!(upto(bucket + 1) >= 0.99 && upto(bucket) < 0.99, "p99 {p99} in bucket {bucket}");
        let max = summary.max_ms.expect("recorded");
        assert!(*histogram.edges_ms.last().expect("edges") > max * 0.999, "max {max}");
    }
}

const CACHE_STAMPEDE: &str = include_str!("../scenarios/cache-stampede.ron");

/// The visits per second service `name` can serve at most: its workers over the time a visit
/// holds one (no calls below it).
fn capacity_per_s(model: &tailsim_model::Model, name: &str) -> f64 {
    let s = model.services.iter().position(|s| s.name == name).expect("the service");
    let hold = tailsim_model::analysis::offered_load(model)[s].min_hold_s;
    f64::from(model.services[s].workers * model.services[s].instances) / hold
}

/// Seconds from `from` for which the service's utilisation stays at 99% or more, window by
/// window: how long it is saturated.
fn saturated_s(service: &tailsim_report::ServiceSummary, from: usize) -> usize {
    service.per_window.utilisation[from..].iter().take_while(|&&u| u >= 0.99).count()
}

/// The header's claims, each number on the file's seed (1), and the saturations on seeds 1 to 4:
/// without protection the flush stampedes (dozens of fetches of one key, p99 of seconds); single
/// flight fetches each key once; stale-while-revalidate leaves only the flush's misses. A `~`
/// number is read as its own rounding, or 10% where the header rounds to two figures.
#[test]
fn cache_stampede_single_flight_and_stale_while_revalidate() {
    let run_with = |seed: u64, set: &[&str]| run(&load_with(CACHE_STAMPEDE, set), seed, 1).runs.remove(0);
    let says = |text: &str| header_says(CACHE_STAMPEDE, text);
    let near = |value: f64, claim: f64, tol: f64| (value - claim).abs() <= tol * claim;
    says("the database behind it serves ~200 queries/s (10 connections, 50 ms a query)");
    assert!(near(capacity_per_s(&load(CACHE_STAMPEDE), "db"), 200.0, 1e-9));
    let base = run_with(1, &[]);
    let (db, cache, users) = (&base.services[1], &base.caches[0], &base.clients[0]);
    says("a cache that answers ~99% of them");
    says("hit ratio goes from ~98.6%");
    assert!((0.9855..0.9865).contains(&cache.hit_ratio().unwrap()), "{:?}", cache.hit_ratio());
    says("the database gets ~1,000 queries in the first second and stays saturated for ~16s");
    assert!(near(db.per_window.arrivals[60] as f64, 1000.0, 0.1), "{}", db.per_window.arrivals[60]);
    says("p99 ~4.9s over the run");
    assert!(near(users.latency.p99_ms.unwrap(), 4900.0, 0.05), "{:?}", users.latency);
    says("(\"max fetches/key\" ~47)");
    assert_eq!(cache.max_fetches_per_key, 47);
    let single = run_with(1, &["caches.products.coalesce=true"]);
    says("~640 queries in the first second");
    assert!(
        near(single.services[1].per_window.arrivals[60] as f64, 640.0, 0.1),
        "{:?}",
        &single.services[1].per_window.arrivals[58..66]
    );
    says("p99 ~400ms; one fetch per key at most");
    assert!(near(single.clients[0].latency.p99_ms.unwrap(), 400.0, 0.1), "{:?}", single.clients[0].latency);
    assert_eq!(single.caches[0].max_fetches_per_key, 1);
    says("saturation for ~5s (640 queries at 200/s need 3.2s at least)");
    for seed in 1..=4 {
        let base = run_with(seed, &[]);
        assert!(
            (15..=17).contains(&saturated_s(&base.services[1], 60)),
            "seed {seed}: {}",
            saturated_s(&base.services[1], 60)
        );
        let single = run_with(seed, &["caches.products.coalesce=true"]);
        assert!(
            (4..=5).contains(&saturated_s(&single.services[1], 60)),
            "seed {seed}: {}",
            saturated_s(&single.services[1], 60)
        );
    }
    let swr = run_with(1, &["caches.products.coalesce=true", "caches.products.stale_for=60s"]);
    assert_eq!(swr.caches[0].misses, 1_000, "one miss per product after the flush, none at expiries");
    says("to ~99.5%");
    assert!((0.9945..0.9955).contains(&swr.caches[0].hit_ratio().unwrap()), "{:?}", swr.caches[0].hit_ratio());
}

const HOT_KEY_EXPIRY: &str = include_str!("../scenarios/hot-key-expiry.ron");

/// The header's claims: hundreds of identical queries per expiry without protection, one with
/// single flight, and with XFetch no request misses at all.
#[test]
fn hot_key_expiry_herd_single_flight_and_xfetch() {
    let run_with = |set: &[&str]| run(&load_with(HOT_KEY_EXPIRY, set), 1, 1).runs.remove(0);
    let base = run_with(&[]);
    assert!(base.caches[0].max_fetches_per_key > 300, "{:?}", base.caches[0]);
    assert!(base.clients[0].latency.p999_ms.unwrap() > 1_000.0);
    let single = run_with(&["caches.homepage.coalesce=true"]);
    assert_eq!(single.caches[0].max_fetches_per_key, 1);
    assert!(single.clients[0].latency.p999_ms.unwrap() < 150.0);
    let xfetch = run_with(&["caches.homepage.early=1.0"]);
    assert_eq!(xfetch.caches[0].misses, 0);
    assert!(xfetch.caches[0].early_refreshes > 0);
    assert!(xfetch.clients[0].latency.p999_ms.unwrap() < 20.0, "{:?}", xfetch.clients[0].latency);
}

const COLD_CACHE_DEPLOY: &str = include_str!("../scenarios/cold-cache-deploy.ron");

/// The window after `from_s` from which the cache's hit ratio stays at or above `level` for
/// five windows in a row, if any.
fn hit_ratio_back(cache: &tailsim_report::CacheSummary, from_s: usize, level: f64) -> Option<usize> {
    let s = &cache.series;
    let ratio: Vec<f64> = s.hits.iter().zip(&s.lookups).map(|(&h, &l)| h as f64 / l.max(1) as f64).collect();
    (from_s..ratio.len().saturating_sub(5)).find(|&i| ratio[i..i + 5].iter().all(|&r| r >= level))
}

/// The header's claims: with a database for 10% of the traffic the hit ratio is back above 90%
/// within about two minutes of the key change; with 1% it is not by the end of the run.
#[test]
fn cold_cache_deploy_recovers_with_the_backend_it_has() {
    let run_with = |set: &[&str]| run(&load_with(COLD_CACHE_DEPLOY, set), 1, 1).runs.remove(0);
    let ten = run_with(&[]);
    let back = hit_ratio_back(&ten.caches[0], 61, 0.9).expect("recovers");
    assert!((120..=240).contains(&back), "back above 90% at {back}s");
    let one = run_with(&["services.db.workers=1"]);
    assert_eq!(hit_ratio_back(&one.caches[0], 61, 0.9), None);
    assert!(one.clients[0].latency.p99_ms.unwrap() > 60_000.0);
}

const CONSISTENT_HASHING: &str = include_str!("../scenarios/consistent-hashing.ron");

/// The header's claims on the file's seed: mod-N moves ~90.9% of the keys (10/11) and saturates
/// the database for minutes; the ring moves about one key in eleven and p99 stays in
/// milliseconds.
#[test]
fn consistent_hashing_moves_few_keys_where_mod_n_moves_most() {
    let run_with = |set: &[&str]| run(&load_with(CONSISTENT_HASHING, set), 1, 1).runs.remove(0);
    let says = |text: &str| header_says(CONSISTENT_HASHING, text);
    let near = |value: f64, claim: f64, tol: f64| (value - claim).abs() <= tol * claim;
    says("a database that serves ~500 queries/s (10% of the traffic)");
    assert!(near(capacity_per_s(&load(CONSISTENT_HASHING), "db"), 500.0, 1e-9));
    let mod_n = run_with(&[]);
    says("~90.9% of the keys now live on another node");
    assert!((mod_n.caches[0].resizes[0].moved_fraction - 10.0 / 11.0).abs() < 0.0005);
    says("the database is saturated for ~160s, and p99 is ~50s");
    let db_index = mod_n.services.iter().position(|s| s.name == "db").expect("db");
    let saturated = saturated_s(&mod_n.services[db_index], 120);
    assert!((150..=170).contains(&saturated), "{saturated}");
    assert!(near(mod_n.clients[0].latency.p99_ms.unwrap(), 50_000.0, 0.05), "{:?}", mod_n.clients[0].latency);
    let ring = run_with(&["caches.catalog.routing=Ring(100)"]);
    says("~8.4% of the keys move (the new node's share)");
    assert!((ring.caches[0].resizes[0].moved_fraction - 0.084).abs() < 0.0005, "{:?}", ring.caches[0].resizes);
    says("the misses are absorbed and p99 stays ~8ms");
    assert!(near(ring.clients[0].latency.p99_ms.unwrap(), 8.0, 0.05), "{:?}", ring.clients[0].latency);
    assert_eq!(saturated_s(&ring.services[db_index], 120), 0);
}

const POISON: &str = include_str!("../scenarios/poison-request.ron");

/// The header's claims, on the file's seed: retries at two layers make 3% of poison orders
/// eat the api (~96% busy against 36% without retries) and take the healthy orders' p99 from
/// ~31 ms to several hundred; retrying at one layer, or not retrying errors, keeps it at ~31 ms;
/// a 10% budget at both layers lands in between. The poison fails in every variant alike.
#[test]
fn poison_requests_eat_the_api_when_two_layers_retry() {
    let (variants, _) = tailsim_model::load_variants(POISON, &[]).expect("valid");
    let runs: Vec<(String, tailsim_report::RunSummary)> =
        variants.iter().map(|(name, model)| (name.clone(), run(model, 11, 1).runs.remove(0))).collect();
    let get = |name: &str| &runs.iter().find(|(n, _)| n == name).expect("variant").1;
    let p99 = |name: &str| get(name).clients[0].latency.p99_ms.expect("orders succeed");
    let busy = |name: &str| get(name).services[1].utilisation;
    assert!(busy("base") > 0.93 && p99("base") > 200.0, "base: {} busy, p99 {}", busy("base"), p99("base"));
    assert!((0.33..0.39).contains(&busy("no-retries")), "{}", busy("no-retries"));
    assert!((0.48..0.54).contains(&busy("client-retries-only")), "{}", busy("client-retries-only"));
    for fixed in ["no-retries", "client-retries-only", "no-retry-on-error"] {
        assert!((28.0..35.0).contains(&p99(fixed)), "{fixed}: p99 {}", p99(fixed));
    }
    assert!((40.0..120.0).contains(&p99("budget")) && busy("budget") < 0.85, "budget: p99 {}", p99("budget"));
    for (name, run) in &runs {
        // Every poison order fails, and nothing else does: ~3% of ~50,000 orders.
        let c = &run.clients[0];
        assert_eq!(c.failed, c.failures.error, "{name}");
        assert_eq!(c.classes[1].succeeded, 0, "{name}");
        assert!((1300..1650).contains(&c.failed), "{name}: {}", c.failed);
    }
}

/// Retry amplification, exactly: at a load where nothing times out or is refused, every
/// poison order makes 3 attempts at the gateway and each of those 3 at the api, 9 api visits,
/// while a healthy order makes one of each. The run has no warm-up and ends empty, so the
/// counts are whole: gateway visits = orders + 3 x poison, api visits = orders + 9 x poison.
/// Not retrying errors makes it 1 and 1.
#[test]
fn poison_retries_multiply_layer_by_layer() {
    let quiet = ["clients.shoppers.rate=100", "warmup=0s", r#"clients.shoppers.traffic=[Step(at: "40s", rate: 0.0)]"#];
    for (variant, per_poison) in [("base", (3, 9)), ("no-retry-on-error", (1, 1))] {
        let overrides: Vec<Override> = quiet.iter().map(|s| Override::parse(s).expect("path=value")).collect();
        let (variants, _) = tailsim_model::load_variants(POISON, &overrides).expect("valid");
        let model = &variants.iter().find(|(n, _)| n == variant).expect("variant").1;
        let run = &run(model, 3, 1).runs[0];
        let c = &run.clients[0];
        assert_eq!(c.in_flight_at_end, 0);
        let (orders, poison) = (c.classes[0].arrivals, c.classes[1].arrivals);
        assert!(poison > 80, "{poison} poison orders");
        assert_eq!((c.succeeded, c.failures.error, c.failed), (orders, poison, poison), "{variant}");
        let (gateway, api) = (&run.services[0], &run.services[1]);
        assert_eq!(gateway.arrivals, orders + per_poison.0 * poison, "{variant}");
        assert_eq!(api.arrivals, orders + per_poison.1 * poison, "{variant}");
        assert_eq!(run.edges[0].retries, (per_poison.0 - 1) * poison, "{variant}");
    }
}

/// Every bundled scenario opens with a comment, loads with its variants, and runs a few
/// seconds of each (conservation and no truncation checked by `run`).
#[test]
fn every_bundled_scenario_loads_and_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the scenarios folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let name = file.file_name().expect("a name").to_string_lossy();
        assert!(text.starts_with("// "), "{name} does not open with a comment");
        let files = tailsim_model::Files::in_dir(&dir);
        let (variants, _) =
            tailsim_model::load_variants_in(&text, &[], &files).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        for (variant, mut model) in variants {
            // A few seconds after the warm-up: enough to exercise every path once.
            model.duration = model.duration.min(model.warmup + tailsim_engine::SimDuration::from_secs(3));
            let report = run(&model, 1, 1);
            assert!(report.runs[0].clients.iter().any(|c| c.arrivals > 0), "{name}/{variant}: no traffic");
        }
    }
}

const POOL_EXHAUSTION: &str = include_str!("../scenarios/pool-exhaustion.ron");

/// The header's claims: with retries the slow reports fill the pool and a few percent of all
/// requests fail; without retries, or with a statement timeout, only the reports do.
#[test]
fn pool_exhaustion_from_retried_slow_queries_and_its_fixes() {
    let run_with = |set: &[&str]| run(&load_with(POOL_EXHAUSTION, set), 1, 1).runs.remove(0);
    let base = run_with(&[]);
    let reports = base.clients[0].classes[1].arrivals;
    assert!(base.edges[1].bulkhead_full > 10_000, "{:?}", base.edges[1]);
    assert!(base.clients[0].failed > 20 * reports, "{} failed, {reports} reports", base.clients[0].failed);
    for fix in [&["clients.users.policy.retry=(attempts: 1)"][..], &["services.db.statement_timeout=2s"]] {
        let fixed = run_with(fix);
        assert_eq!(fixed.edges[1].bulkhead_full, 0, "{fix:?}");
        assert_eq!(fixed.clients[0].failed, fixed.clients[0].classes[1].failed, "{fix:?}: only reports fail");
        assert!(fixed.clients[0].latency.p99_ms.unwrap() < 50.0, "{fix:?}");
    }
}

const AUTOSCALE_FEEDBACK: &str = include_str!("../scenarios/autoscale-feedback.ron");

/// The header's claims, on one replication of each variant: autoscaled, the api reaches 15 pods,
/// the database tips past its best concurrency and stays there, serving what the Universal
/// Scalability Law says 145 busy workers serve, below the traffic, so the api's queue grows and
/// p99 runs to seconds; held at 10 pods, or autoscaled behind a pool of 100 connections, the
/// database keeps up near its best and p99 stays near 100 ms.
#[test]
fn autoscale_feedback_tips_the_database_past_its_best_concurrency() {
    let (variants, _) = tailsim_model::load_variants(AUTOSCALE_FEEDBACK, &[]).expect("valid");
    let names: Vec<&str> = variants.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["base", "held-at-10", "pool-100"]);
    let usl = variants[0].1.services[1].contention.expect("the database has contention");
    let work_s = 0.005;
    let mut instance_s = Vec::new();
    for (name, model) in &variants {
        let run = &run(model, 1, 1).runs[0];
        let (api, db) = (&run.services[0], &run.services[1]);
        // The last minute, in steady state: the database's busy workers and queries a second.
        let last = 420..480;
        let busy = db.per_window.utilisation[last.clone()].iter().sum::<f64>() / 60.0 * 500.0;
        let served = db.per_window.arrivals[last].iter().sum::<u64>() as f64 / 60.0;
        let pods = api.per_window.instances.iter().max().copied();
        let p99 = run.clients[0].latency.p99_ms.expect("answered");
        println!("{name}: {pods:?} pods, db {busy:.1} busy serving {served:.0}/s, p99 {p99:.0} ms");
        instance_s.push(run.services.iter().map(|s| s.instance_seconds).sum::<f64>());
        assert_eq!(run.clients[0].failed, 0, "{name}");
        if name == "base" {
            assert_eq!(pods, Some(15), "{name}");
            assert!(busy > 140.0 && served < 4_900.0, "{name}: {busy} busy, {served}/s");
            // Pinned at 145 busy by the pods' threads, the database serves the USL's X(145) =
            // 4,859/s (exponential work: each query is slowed by the 145 it finds), within
            // the noise of ~290,000 queries.
            let theory = usl.throughput_per_s(busy.round() as u32, work_s);
            assert!((served / theory - 1.0).abs() < 0.01, "{served}/s at {busy} busy, the USL {theory}/s");
            assert!(
                api.per_window.mean_queue_length[479] > 10_000.0,
                "{name}: {:?}",
                &api.per_window.mean_queue_length[470..]
            );
            assert!(p99 > 3_000.0, "{name}: p99 {p99} ms");
        } else {
            assert_eq!(pods, Some(if name == "held-at-10" { 10 } else { 15 }), "{name}");
            assert!(busy < 100.0 && served > 4_900.0, "{name}: {busy} busy, {served}/s");
            assert!(p99 < 150.0, "{name}: p99 {p99} ms");
        }
    }
    // Autoscaling pays for the 5 extra pods: 28% more instance-seconds (the database's
    // included, as compare counts them) than 10 pods held.
    let extra = instance_s[0] / instance_s[1] - 1.0;
    assert!((0.26..0.30).contains(&extra), "{instance_s:?}");
}

/// The header's claims: replayed, the recorded bursts (750 arrivals in each of the windows 8,
/// 9, 20 and 21, give or take) pile up hundreds of requests and a p99 of seconds; Poisson
/// arrivals at the same mean rate, the variant, keep p99 under 100 ms.
#[test]
fn a_replayed_trace_shows_the_bursts_a_mean_rate_hides() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let text = std::fs::read_to_string(dir.join("trace-replay.ron")).expect("the scenario");
    let (variants, _) =
        tailsim_model::load_variants_in(&text, &[], &tailsim_model::Files::in_dir(&dir)).expect("valid");
    let replay = &run(&variants[0].1, 5, 1).runs[0];
    let poisson = &run(&variants[1].1, 5, 1).runs[0];
    let c = &replay.clients[0];
    assert_eq!((c.arrivals, c.classes[1].arrivals), (6998, 694));
    for w in [8, 9, 20, 21] {
        assert!((700..800).contains(&c.per_window.arrivals[w]), "window {w}: {:?}", c.per_window.arrivals);
    }
    let queue = &replay.services[0].per_window.mean_queue_length;
    assert!(queue[10] > 500.0 && queue[16] < 1.0, "{queue:?}");
    let p99 = |r: &tailsim_report::RunSummary| r.clients[0].latency.p99_ms.expect("answered");
    assert!(p99(replay) > 1500.0 && p99(poisson) < 100.0, "{} against {}", p99(replay), p99(poisson));
}
