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

/// `value` within `tol` (a fraction) of the header's `claim`.
fn near(value: f64, claim: f64, tol: f64) -> bool {
    (value - claim).abs() <= tol * claim
}

/// The header's numbers, on the file's seed (42): the api's hold time from the model, the p99s
/// at 1,800, 2,400 and 2,550 checkouts/s from a run each. A `~` number is read as its own
/// rounding, or 10% where the header rounds to two figures.
#[test]
fn checkout_tips_over_near_its_api_capacity() {
    let says = |text: &str| header_says(CHECKOUT, text);
    says("both database queries included (~12ms)");
    let hold = tailsim_model::analysis::offered_load(&load(CHECKOUT))[1].min_hold_s;
    assert!((0.0115..0.0125).contains(&hold), "api hold {hold}");
    let at = |rate: u32| {
        let set = format!("clients.shoppers.rate={rate}");
        run(&load_with(CHECKOUT, &[&set]), 42, 1).runs.remove(0)
    };
    let (calm, busy, tipped) = (at(1800), at(2400), at(2550));
    let p99 = |r: &tailsim_report::RunSummary| r.clients[0].latency.p99_ms.expect("requests finished");
    says("at 1,800/s p99 is ~35ms with the api 67% busy");
    assert!(near(p99(&calm), 35.0, 0.1), "calm p99 {}", p99(&calm));
    assert!((0.665..0.675).contains(&calm.services[1].utilisation), "api {}", calm.services[1].utilisation);
    assert_eq!(calm.clients[0].failed, 0);
    says("(93% busy) lifts p99 to ~50ms");
    assert!(near(p99(&busy), 50.0, 0.1), "p99 at 2,400/s {}", p99(&busy));
    assert!((0.925..0.935).contains(&busy.services[1].utilisation), "api {}", busy.services[1].utilisation);
    says("2550 (99.7%) sends it to ~490ms: the hockey stick");
    assert!(near(p99(&tipped), 490.0, 0.1), "tipped p99 {}", p99(&tipped));
    assert!(tipped.services[0].rejected > 0, "the gateway should reject");
    assert!((0.9965..0.9975).contains(&tipped.services[1].utilisation), "api {}", tipped.services[1].utilisation);
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

/// The header's claim, on three seeds (7, the file's, and 8 and 9): immediate retries turn a
/// 10 s slowdown into a collapse that outlives it; a 10% retry budget recovers within seconds. A
/// `~` number is read as its own rounding (goodput within 5%, seconds within one window).
#[test]
fn retry_storm_outlives_its_trigger_unless_retries_are_budgeted() {
    let says = |text: &str| header_says(RETRY_STORM, text);
    for seed in [7, 8, 9] {
        let storm = &run(&load(RETRY_STORM), seed, 1).runs[0];
        let fault = &storm.faults[0];
        let before = fault.goodput_before_per_s.expect("measured before the fault");
        says("goodput before ~800/s, at the end ~0, `recovered_after_s: null`");
        assert!(near(before, 800.0, 0.05), "seed {seed}: goodput before {before}");
        assert!(fault.goodput_at_end_per_s < 0.5, "seed {seed}: {}", fault.goodput_at_end_per_s);
        assert_eq!(fault.recovered_after_s, None, "seed {seed}: the storm should not recover");
        says("at attempts per request (~3.4)");
        let attempts = storm.clients[0].attempts_per_request;
        assert!((3.35..3.45).contains(&attempts), "seed {seed}: {attempts} attempts per request");
        assert!(storm.services[0].wasted_work_s > 0.0);

        let budgeted = &run(&load_with(RETRY_STORM, &["clients.shoppers.policy.retry.budget.ratio=0.1"]), seed, 1);
        let fault = &budgeted.runs[0].faults[0];
        let recovered = fault.recovered_after_s.expect("the budget lets it recover");
        assert!(recovered < 20.0, "seed {seed}: recovered after {recovered}s");
        says("goodput is back ~4s after the slowdown ends");
        let back = goodput_back_s(&budgeted.runs[0]).expect("goodput comes back");
        assert!((3.0..=5.0).contains(&back), "seed {seed}: goodput back after {back}s");
        assert!(budgeted.runs[0].clients[0].attempts_per_request < 1.2);
    }
}

/// Seconds from the end of the first fault to the first window whose goodput is 90% or more of
/// the level before the fault: when goodput is back (`recovered_after_s` waits for p99 too).
fn goodput_back_s(run: &tailsim_report::RunSummary) -> Option<f64> {
    let fault = &run.faults[0];
    let level = fault.goodput_before_per_s? * 0.9;
    let series = &run.clients[0].per_window;
    let from = (fault.end_s / series.window_s).round() as usize;
    let back = series.succeeded[from..].iter().position(|&n| n as f64 >= level * series.window_s)?;
    Some(back as f64 * series.window_s)
}

const FANOUT_TAIL: &str = include_str!("../scenarios/fanout-tail.ron");

/// The header's numbers, on the file's seed (1) unless it names another: waiting for all of 100
/// shards puts the median in the hiccups (50-100 ms), a quorum of 95 brings p99 back to the
/// shards' own. A `~` number is read within 10% (the header rounds to two figures), the shards'
/// ~2ms to its own rounding.
#[test]
fn fanout_tail_waiting_for_all_makes_the_median_a_hiccup() {
    let says = |text: &str| header_says(FANOUT_TAIL, text);
    let one = latency_with(FANOUT_TAIL, &["services.frontend.handler.0.n=1"], 1);
    says("Each shard answers in ~2ms");
    assert!((1.5..2.5).contains(&one.p50_ms.unwrap()), "{one:?}");
    says("p99 sits on their edge (~58ms with this file's seed, ~13ms with seed 3");
    assert!(near(one.p99_ms.unwrap(), 58.0, 0.1), "{one:?}");
    let other_seed = latency_with(FANOUT_TAIL, &["services.frontend.handler.0.n=1"], 3);
    assert!(near(other_seed.p99_ms.unwrap(), 13.0, 0.1), "{other_seed:?}");
    let ten = latency_with(FANOUT_TAIL, &[], 1);
    says("p90 ~15ms, p99 ~96ms");
    assert!(near(ten.p90_ms.unwrap(), 15.0, 0.1) && near(ten.p99_ms.unwrap(), 96.0, 0.1), "{ten:?}");
    let all = latency_with(FANOUT_TAIL, &["services.frontend.handler.0.n=100"], 1);
    says("the median itself is a hiccup, ~66ms");
    assert!(near(all.p50_ms.unwrap(), 66.0, 0.1), "{all:?}");
    let quorum = FANOUT_TAIL.replace("(wait: All)", "(wait: Quorum(95))");
    let quorum = latency_with(&quorum, &["services.frontend.handler.0.n=100"], 1);
    says("p99 falls to ~8.5ms, the shards' own p99");
    assert!(near(quorum.p99_ms.unwrap(), 8.5, 0.1), "{quorum:?}");
}

/// The latency of the first client, one replication.
fn latency_with(text: &str, set: &[&str], seed: u64) -> tailsim_report::LatencySummary {
    run(&load_with(text, set), seed, 1).runs.remove(0).clients.remove(0).latency
}

const HEDGING: &str = include_str!("../scenarios/hedging.ron");

/// The header's claim: hedging at p95 cuts p99 at low load and, with the losers left to run,
/// makes it far worse at high load; cancelling the losers makes it help at high load too. The
/// numbers are on the file's seed (1); a `~` number is read within 10% (the header rounds to two
/// figures), a share of busy time or of extra calls to its own rounding. The high-load storm
/// needs a burst of slow answers to start it, so it is a likelihood: seeds 1 to 6 were
/// measured, five of them blow up within the two minutes (seed 5 does not); the test asks for
/// at least four.
#[test]
fn hedging_helps_at_low_load_and_hurts_at_high_load() {
    let says = |text: &str| header_says(HEDGING, text);
    let off = "services.frontend.handler.0.policy.hedge.percentile=99.99";
    let run_with = |set: &[&str], seed: u64| run(&load_with(HEDGING, set), seed, 1).runs.remove(0);
    let p99 = |r: &tailsim_report::RunSummary| r.clients[0].latency.p99_ms.expect("answered");
    let busy = |r: &tailsim_report::RunSummary| r.services[1].utilisation;
    let (low_hedged, low_plain) = (run_with(&[], 1), run_with(&[off], 1));
    says("whose answers take ~4ms");
    assert!((3.5..4.5).contains(&low_plain.clients[0].latency.p50_ms.expect("answered")));
    says("At 300 req/s (backend 12% busy) hedging costs 5% extra calls and cuts p99 from ~67ms to ~16ms");
    assert!((0.115..0.125).contains(&busy(&low_hedged)), "{}", busy(&low_hedged));
    let extra = low_hedged.edges[1].hedges as f64 / low_hedged.clients[0].arrivals as f64;
    assert!((0.045..0.055).contains(&extra), "{extra} extra calls");
    assert!(near(p99(&low_plain), 67.0, 0.1) && near(p99(&low_hedged), 16.0, 0.1), "low load");
    let mid = "clients.users.rate=1200";
    let (mid_hedged, mid_plain) = (run_with(&[mid], 1), run_with(&[mid, off], 1));
    says("At 1,200/s (48%) it still helps: p99 ~22ms against ~68ms");
    assert!((0.475..0.485).contains(&busy(&mid_hedged)), "{}", busy(&mid_hedged));
    assert!(near(p99(&mid_plain), 68.0, 0.1) && near(p99(&mid_hedged), 22.0, 0.1), "1,200/s");
    let high = "clients.users.rate=1800";
    let (stormed, calm) = (run_with(&[high], 1), run_with(&[high, off], 1));
    says("At 1,800/s (69% busy without hedges)");
    assert!((0.685..0.695).contains(&busy(&calm)), "{}", busy(&calm));
    says("p99 goes from ~70ms to ~2.2s");
    assert!(near(p99(&calm), 70.0, 0.1) && near(p99(&stormed), 2_200.0, 0.1), "1,800/s");
    let storms = (1..=6).filter(|&seed| p99(&run_with(&[high], seed)) > 5.0 * p99(&run_with(&[high, off], seed)));
    let storms = storms.count();
    assert!(storms >= 4, "only {storms} of 6 seeds stormed");
    let cancel = "services.frontend.handler.0.policy.hedge.losers=Cancel";
    for seed in 1..=3 {
        let (cancelled, plain) = (p99(&run_with(&[high, cancel], seed)), p99(&run_with(&[high, off], seed)));
        assert!(cancelled < 0.8 * plain, "seed {seed}: cancelling losers: {cancelled} vs {plain}");
        if seed == 1 {
            says("at 1,800/s hedging helps again: p99 ~42ms against ~70ms");
            assert!(near(cancelled, 42.0, 0.1), "cancelled p99 {cancelled}");
        }
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

/// The header's claim, on the file's seed (1): with the bulkhead, searches keep a p99 in the tens
/// of milliseconds while recommendations fail fast; without it, the slow dependency drains the
/// shared pool and searches wait seconds. A `~` number is read within 10% (the header rounds to
/// one or two figures).
#[test]
fn bulkhead_keeps_the_other_path_healthy() {
    let says = |text: &str| header_says(BULKHEAD, text);
    let model = load(BULKHEAD);
    says("recs slows down 100-fold for 30s (answers take ~1s)");
    let recs = model.services.iter().position(|s| s.name == "recs").expect("recs");
    let slow_s = 100.0 * tailsim_model::analysis::offered_load(&model)[recs].min_hold_s;
    assert!(near(slow_s, 1.0, 0.1), "{slow_s}s a slow answer");
    let search_p99 = |run: &tailsim_report::RunSummary| run.clients[0].classes[0].latency.p99_ms.expect("answered");
    let guarded = &run(&model, 1, 1).runs[0];
    says("searches keep their ~16ms p99 throughout");
    assert!(near(search_p99(guarded), 16.0, 0.1), "{}", search_p99(guarded));
    says("(~10,000 bulkhead_full in the calls table)");
    assert!(near(guarded.edges[2].bulkhead_full as f64, 10_000.0, 0.1), "{:?}", guarded.edges[2]);
    assert_eq!(guarded.clients[0].classes[0].failed, 0);
    says("at most 40 threads hold recs calls and ~80 wait for a place");
    let waiting = waiting_for_recs(guarded, 400.0 * slow_s / 100.0);
    assert!(near(waiting, 80.0, 0.1), "{waiting} threads waiting for a place");
    let off = "services.api.handlers.recommend.1.policy.bulkhead.max_concurrent=100000";
    let open = &run(&load_with(BULKHEAD, &[off]), 1, 1).runs[0];
    says("search p99 ~14s, the api queue ~28,000 deep");
    assert!(near(search_p99(open), 14_000.0, 0.1), "{}", search_p99(open));
    assert!(near(open.services[0].max_queue_length as f64, 28_000.0, 0.1), "{}", open.services[0].max_queue_length);
}

/// The api threads waiting for a place to recs in the slowdown (windows 31 to 59), on average:
/// the threads busy then beyond those busy before it (windows 20 to 29), less the 40 places now
/// held in place of the `recs_before` calls in flight before.
fn waiting_for_recs(run: &tailsim_report::RunSummary, recs_before: f64) -> f64 {
    let api = &run.services[0].per_window.utilisation;
    let threads = |w: std::ops::Range<usize>| 200.0 * api[w.clone()].iter().sum::<f64>() / w.len() as f64;
    threads(31..60) - threads(20..30) - (40.0 - recs_before)
}

/// What the header says `tailsim compare` shows, run as it runs (the file's seed, ten
/// replications): on the same random numbers, full jitter alone leaves goodput collapsed (within
/// 2% of the storm's), a 10% budget, with or without jitter, or a breaker, lifts it by hundreds
/// per second, significantly. A `~` goodput is read as its own rounding.
#[test]
fn retry_storm_compare_shows_the_budget_not_jitter_is_the_fix() {
    let says = |text: &str| header_says(RETRY_STORM, text);
    let variants = tailsim_model::load_variants(RETRY_STORM, &[]).expect("valid").0;
    let (c, broken) =
        tailsim_model::compare::compare(&variants, 7, 10, "shoppers", None, tailsim_model::Limits::default());
    assert_eq!(broken, None);
    let names: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["base", "full-jitter", "budget", "breaker", "full-jitter+budget"]);
    let mean = |i: usize| c.variants[i].estimates.goodput_per_s.expect("ten runs").mean;
    let base = mean(0);
    says("full jitter alone does not help (goodput ~145/s either way");
    for i in [0, 1] {
        assert!((144.5..145.5).contains(&mean(i)), "{}: {}", names[i], mean(i));
    }
    says("the 10% budget, with or without jitter, keeps ~702/s");
    for i in [2, 4] {
        assert!((701.5..702.5).contains(&mean(i)), "{}: {}", names[i], mean(i));
    }
    says("So does a circuit breaker on the clients' calls (~716/s)");
    assert!((715.5..716.5).contains(&mean(3)), "breaker: {}", mean(3));
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
/// a third, significantly; the instance costs 11% more instance-seconds, Async nothing. Run as
/// `compare` runs (the file's seed, ten replications); a `~` p99 is read within 10% (the header
/// rounds to two figures).
#[test]
fn checkout_compare_shows_two_fixes_for_the_api_pool() {
    let variants = tailsim_model::load_variants(CHECKOUT, &[Override::parse("clients.shoppers.rate=2400").unwrap()])
        .expect("valid")
        .0;
    let (c, _) = tailsim_model::compare::compare(&variants, 42, 10, "shoppers", None, tailsim_model::Limits::default());
    let p99 = |i: usize| c.variants[i].estimates.p99_ms.expect("ten runs").mean;
    header_says(CHECKOUT, "Both cut p99 by about a third (~55ms -> ~37ms)");
    assert!(near(p99(0), 55.0, 0.1), "base p99 {}", p99(0));
    for i in [1, 2] {
        assert!(near(p99(i), 37.0, 0.1), "{}: p99 {}", c.variants[i].name, p99(i));
    }
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

/// The header's claims, on the file's seed (1): the pauses leave p50 within 10% and multiply
/// p99 and p99.9 more than tenfold. A `~` number is read within 10% (the header rounds to one
/// or two figures), a share to its own rounding.
#[test]
fn gc_pauses_leave_the_median_and_wreck_the_tail() {
    let says = |text: &str| header_says(GC_PAUSES, text);
    let run_with = |set: &[&str]| run(&load_with(GC_PAUSES, set), 1, 1).runs.remove(0);
    let paused_run = run_with(&[]);
    let paused = paused_run.clients[0].latency.clone();
    let calm = run_with(&["faults.0.pause=1us", "faults.1.pause=1us", "faults.2.pause=1us", "faults.3.pause=1us"]);
    let calm = calm.clients[0].latency.clone();
    says("(each ~25% busy, answers ~4ms)");
    let busy = paused_run.services[0].utilisation;
    assert!((0.245..0.255).contains(&busy), "{busy}");
    says("(~225 requests per pause) queues behind them");
    assert!(
        near(paused_run.services[0].max_queue_length as f64, 225.0, 0.1),
        "{}",
        paused_run.services[0].max_queue_length
    );
    says("so ~3% of requests wait up to 300ms plus the backlog");
    // Without the pauses no request takes 55 ms; with them, the ones caught by a pause do.
    assert!(calm.max_ms.unwrap() < 55.0, "{calm:?}");
    let histogram = &paused_run.clients[0].latency_histogram;
    let from = histogram.edges_ms.partition_point(|&edge| edge < 55.0);
    let caught = histogram.counts[from..].iter().sum::<u64>() as f64 / paused.count as f64;
    assert!((0.025..0.035).contains(&caught), "{caught} caught by a pause");
    says("p50 stays ~4ms, but p99 goes from ~15ms to ~225ms and p99.9 from ~23ms to ~300ms");
    let (p50, p50_calm) = (paused.p50_ms.unwrap(), calm.p50_ms.unwrap());
    assert!(near(p50, 4.0, 0.1) && (p50 / p50_calm - 1.0).abs() < 0.1, "{p50} vs {p50_calm}");
    assert!(
        near(calm.p99_ms.unwrap(), 15.0, 0.1) && near(paused.p99_ms.unwrap(), 225.0, 0.1),
        "{paused:?} vs {calm:?}"
    );
    assert!(
        near(calm.p999_ms.unwrap(), 23.0, 0.1) && near(paused.p999_ms.unwrap(), 300.0, 0.1),
        "{paused:?} vs {calm:?}"
    );
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

/// The header's claims, on the file's seed (1): queueing gives a backlog near 80,000 and a p99
/// of tens of seconds; shedding fails most of the sale but answers the rest within ~1 s;
/// scaling keeps answers near 100 ms. A `~` number is read within 10% (the header rounds to one
/// or two figures), a share to its own rounding.
#[test]
fn flash_sale_queue_shed_or_scale() {
    let says = |text: &str| header_says(FLASH_SALE, text);
    says("(8 instances x 25 workers, ~100ms an order)");
    let hold = tailsim_model::analysis::offered_load(&load(FLASH_SALE))[0].min_hold_s;
    assert!(near(hold, 0.1, 0.1), "{hold}s an order");
    let run_with = |set: &[&str]| run(&load_with(FLASH_SALE, set), 1, 1).runs.remove(0);
    let queue = run_with(&[]);
    let shop = &queue.services[0];
    says("The backlog peaks near 80,000 and takes ~40s to drain after the spike");
    assert!(near(shop.max_queue_length as f64, 80_000.0, 0.1), "{}", shop.max_queue_length);
    let drained = shop.per_window.mean_queue_length[40..].iter().position(|&q| q < 1.0).expect("drains");
    assert!(near(drained as f64, 40.0, 0.1), "drained {drained}s after the spike");
    says("the median order waits ~17s and p99 is ~38s");
    let latency = &queue.clients[0].latency;
    assert!(near(latency.p50_ms.unwrap(), 17_000.0, 0.1) && near(latency.p99_ms.unwrap(), 38_000.0, 0.1));
    let shed = run_with(&[r#"services.shop.queue=(capacity: 200, shed_after: "2s")"#]);
    let c = &shed.clients[0];
    says("~77% of the sale's orders fail at once, but those served answer within ~1s");
    let sale: u64 = c.per_window.arrivals[30..40].iter().sum();
    assert_eq!(c.per_window.failed[30..40].iter().sum::<u64>(), c.failed, "only the sale's orders fail");
    assert!((0.765..0.775).contains(&(c.failed as f64 / sale as f64)), "{} of {sale} failed", c.failed);
    assert!(near(c.latency.p99_ms.unwrap(), 1_000.0, 0.1), "{c:?}");
    let scale = run_with(&["services.shop.instances=40"]);
    says("no backlog, ~100ms answers, at five times the instance-seconds");
    let mean = scale.clients[0].latency.mean_ms.unwrap();
    assert!(near(mean, 100.0, 0.1) && scale.clients[0].latency.p99_ms.unwrap() < 300.0, "{mean}");
    assert_eq!(scale.clients[0].failed, 0);
    let cost = scale.services[0].instance_seconds / queue.services[0].instance_seconds;
    assert!((cost - 5.0).abs() < 1e-9, "{cost}");
}

const AUTOSCALE_LAG: &str = include_str!("../scenarios/autoscale-lag.ron");

/// The header's claims, on the file's seed (1): the reactive scaler leaves p99 at tens of
/// seconds; scheduled pre-scaling keeps it in milliseconds, for a little more capacity. A `~`
/// number is read within 10% (the header rounds to two figures), a share to its own rounding.
#[test]
fn autoscale_lag_reactive_against_scheduled() {
    let says = |text: &str| header_says(AUTOSCALE_LAG, text);
    let model = load(AUTOSCALE_LAG);
    says("Each api instance serves up to ~410/s (8 workers, ~19ms a request)");
    let per_instance = capacity_per_s(&model, "api") / f64::from(model.services[0].instances);
    assert!(near(per_instance, 410.0, 0.1), "{per_instance}/s an instance");
    let hold = tailsim_model::analysis::offered_load(&model)[0].min_hold_s;
    assert!(near(hold, 0.019, 0.1), "{hold}s a request");
    let run_with = |set: &[&str]| run(&load_with(AUTOSCALE_LAG, set), 1, 1).runs.remove(0);
    let reactive = run_with(&[]);
    says("the queue peaks near 70,000 and p99 reaches ~34s");
    assert!(near(reactive.clients[0].latency.p99_ms.unwrap(), 34_000.0, 0.1), "{:?}", reactive.clients[0].latency);
    assert!(near(reactive.services[0].max_queue_length as f64, 70_000.0, 0.1));
    let scheduled = run_with(&[r#"services.api.autoscale.schedule=[(at: "30s", min: 13)]"#]);
    says("p99 ~45ms, for 9% more instance-seconds");
    assert!(near(scheduled.clients[0].latency.p99_ms.unwrap(), 45.0, 0.1), "{:?}", scheduled.clients[0].latency);
    let cost = |r: &tailsim_report::RunSummary| r.services[0].instance_seconds;
    let extra = cost(&scheduled) / cost(&reactive) - 1.0;
    assert!((0.085..0.095).contains(&extra), "{extra} more instance-seconds");
}

/// The latency histograms in the summary hold every recorded latency, and the percentiles of
/// the summary fall in buckets that hold the matching share of the counts.
#[test]
fn latency_histograms_add_up_and_agree_with_the_percentiles() {
    let report = run(&load(RETRY_STORM), 7, 1);
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

/// The header's claims, on the file's seed (1): hundreds of identical queries per expiry without
/// protection, one with single flight, and with XFetch no request misses at all. The ~500
/// requests in a rebuild follow from the settings (5,000/s for 100 ms); a `~` latency is read
/// within 10% (the header rounds to one or two figures), the largest stampede exactly.
#[test]
fn hot_key_expiry_herd_single_flight_and_xfetch() {
    let says = |text: &str| header_says(HOT_KEY_EXPIRY, text);
    let model = load(HOT_KEY_EXPIRY);
    says("the ~500 requests in those 100 ms wait for it");
    let rebuild_s = tailsim_model::analysis::offered_load(&model)[1].min_hold_s;
    let in_rebuild = model.clients[0].rate_per_s * rebuild_s;
    assert!(near(in_rebuild, 500.0, 0.1), "{in_rebuild} requests in a rebuild");
    let run_with = |set: &[&str]| run(&load_with(HOT_KEY_EXPIRY, set), 1, 1).runs.remove(0);
    let p999 = |r: &tailsim_report::RunSummary| r.clients[0].latency.p999_ms.expect("answered");
    let base = run_with(&[]);
    says("~500 identical queries at once (\"max fetches/key\" ~545)");
    assert_eq!(base.caches[0].max_fetches_per_key, 545, "{:?}", base.caches[0]);
    says("and p99.9 is ~2s");
    assert!(near(p999(&base), 2_000.0, 0.1), "{:?}", base.clients[0].latency);
    let single = run_with(&["caches.homepage.coalesce=true"]);
    assert_eq!(single.caches[0].max_fetches_per_key, 1);
    says("p99.9 ~90ms");
    assert!(near(p999(&single), 90.0, 0.1), "{:?}", single.clients[0].latency);
    let xfetch = run_with(&["caches.homepage.early=1.0"]);
    assert_eq!(xfetch.caches[0].misses, 0);
    assert!(xfetch.caches[0].early_refreshes > 0);
    says("queries per expiry, p99.9 ~7ms");
    assert!(near(p999(&xfetch), 7.0, 0.1), "{:?}", xfetch.clients[0].latency);
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
