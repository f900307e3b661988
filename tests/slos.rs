//! Objectives (`slos`) judged against numbers nobody here invented: M/M/1's sojourn time is
//! exponential with rate mu - lambda, so its mean and percentiles are exact; a `Fail` step's
//! error share is its probability; utilisation is rho; goodput is the arrival rate. Objectives
//! far from these are decided (met or missed) with few replications; an objective set at the
//! exact value is inconclusive, as its 95% interval holds the true value.

use tailsim_stats::slo::{SloVerdict, Verdict};
use tailsim_tests::{load, run};

/// M/M/1 at lambda = 900/s, mu = 1000/s (rho 0.9), with the objectives `slos` and, at the
/// server, a `Fail(p)` after its work.
fn mm1(slos: &str, fail: f64) -> String {
    format!(
        r#"Scenario(
    name: "mm1-slos",
    duration: "210s",
    warmup: "10s",
    clients: [Client(name: "users", target: "server", rate: 900.0)],
    services: [Service(name: "server", workers: 1, handler: [Work(Exponential(mean: "1ms")), Fail({fail})])],
    slos: [{slos}],
)"#
    )
}

fn verdicts(slos: &str, fail: f64, replications: u32) -> Vec<SloVerdict> {
    run(&load(&mm1(slos, fail)), 1, replications).slos
}

fn verdict(slos: &str, fail: f64, replications: u32) -> Verdict {
    let all = verdicts(slos, fail, replications);
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].verdict
}

#[test]
fn latency_objectives_against_the_exponential_sojourn_of_mm1() {
    // The sojourn time is Exp(100/s): mean 10 ms, p99 = ln(100) / 100 s = 46.05 ms. Far from
    // either, two replications decide.
    assert_eq!(verdict(r#"Latency(client: "users", p99: "80ms")"#, 0.0, 2), Verdict::Met);
    assert_eq!(verdict(r#"Latency(client: "users", p99: "25ms")"#, 0.0, 2), Verdict::Missed);
    assert_eq!(verdict(r#"Latency(client: "users", mean: "15ms")"#, 0.0, 2), Verdict::Met);
    // At the exact values, 10 replications' 95% intervals hold the truth (as 95% of such
    // intervals do; the seed is fixed, so this is one fixed draw of the 95%): inconclusive.
    let at = verdicts(r#"Latency(client: "users", mean: "10ms", p99: "46.0517ms")"#, 0.0, 10);
    for v in &at {
        assert_eq!(v.verdict, Verdict::Inconclusive, "{v:?}");
        let h = v.ci95_half_width.expect("ten replications have an interval");
        assert!((v.mean.unwrap() - v.threshold).abs() <= h, "{v:?}");
    }
}

#[test]
fn the_error_share_is_the_fail_probability() {
    // 180,000 answers a replication with p = 0.01: the share's standard error is
    // sqrt(0.01 x 0.99 / 180,000) = 0.00023, so 0.005 and 0.02 are 20 and 40 errors away.
    assert_eq!(verdict(r#"Errors(client: "users", below: 0.02)"#, 0.01, 3), Verdict::Met);
    assert_eq!(verdict(r#"Errors(client: "users", below: 0.005)"#, 0.01, 3), Verdict::Missed);
    let v = &verdicts(r#"Errors(client: "users", below: 0.01)"#, 0.01, 10)[0];
    assert_eq!(v.verdict, Verdict::Inconclusive, "{v:?}");
    // Goodput is lambda x (1 - p) = 891/s.
    assert_eq!(verdict(r#"Goodput(client: "users", at_least: 850.0)"#, 0.01, 3), Verdict::Met);
    assert_eq!(verdict(r#"Goodput(client: "users", at_least: 930.0)"#, 0.01, 3), Verdict::Missed);
}

#[test]
fn utilisation_is_rho() {
    assert_eq!(verdict(r#"Utilisation(service: "server", below: 0.95)"#, 0.0, 3), Verdict::Met);
    assert_eq!(verdict(r#"Utilisation(service: "server", below: 0.85)"#, 0.0, 3), Verdict::Missed);
    let v = &verdicts(r#"Utilisation(service: "server", below: 0.9)"#, 0.0, 10)[0];
    assert_eq!(v.verdict, Verdict::Inconclusive, "{v:?}");
    assert!(v.replications_to_decide.is_none_or(|n| n > 10), "{v:?}");
}

#[test]
fn availability_counts_the_good_windows_after_the_warm_up() {
    // 200 one-second windows after the warm-up. A window's p99 under a bound of a second is
    // certain (P(sojourn > 1 s) = e^-100); its error share above zero is certain with p = 0.01
    // and 900 answers (P(no failure) = 0.99^900 = 1e-4).
    let one = |slo: &str, fail: f64| verdicts(slo, fail, 1).remove(0);
    let all = one(r#"Availability(client: "users", p99: "1s", at_least: 0.999)"#, 0.0);
    assert_eq!((all.verdict, all.mean), (Verdict::Met, Some(1.0)));
    let none = one(r#"Availability(client: "users", errors: 0.0, at_least: 0.5)"#, 0.01);
    assert_eq!((none.verdict, none.mean), (Verdict::Missed, Some(0.0)));
    // A p99 bound at the exponential's median (6.93 ms) is never met by a window's p99.
    let tight = one(r#"Availability(client: "users", p99: "6.93ms", at_least: 0.5)"#, 0.0);
    assert_eq!(tight.verdict, Verdict::Missed);
}

#[test]
fn every_bound_of_a_latency_objective_is_judged_on_its_own() {
    let all =
        verdicts(r#"Latency(client: "users", p50: "1ms", p99: "1s"), QueueWait(service: "server", max: "1h")"#, 0.0, 2);
    let names: Vec<(&str, Verdict)> = all.iter().map(|v| (v.objective.as_str(), v.verdict)).collect();
    assert_eq!(
        names,
        [("users p50", Verdict::Missed), ("users p99", Verdict::Met), ("server queue wait max", Verdict::Met)]
    );
}

#[test]
fn recovery_is_judged_on_every_fault_of_the_service() {
    // A 10 s slowdown by 5 at 60 s: the queue grows (rho 4.5) and takes time to drain.
    let text = mm1(r#"Recovery(service: "server", within: "10m")"#, 0.0)
        .replace("slos:", r#"faults: [Slowdown(service: "server", at: "60s", duration: "10s", factor: 5.0)], slos:"#);
    let report = run(&load(&text), 1, 2);
    assert_eq!(report.slos[0].verdict, Verdict::Met, "{:?}", report.slos);
    let never = text.replace(r#"within: "10m""#, r#"within: "1ms""#);
    assert_eq!(run(&load(&never), 1, 2).slos[0].verdict, Verdict::Missed);
}

#[test]
fn an_availability_objective_keeps_its_error_budget() {
    // 200 one-second windows after the warm-up. With p = 0.01 and 900 answers a window, every
    // window has a failure (P(none) = 0.99^900 = 1e-4): at "no errors" all 200 are bad, against
    // a budget of (1 - 0.5) x 200 = 100: twice the budget spent, a burn rate of 2.
    let v = verdicts(r#"Availability(client: "users", errors: 0.0, at_least: 0.5)"#, 0.01, 2).remove(0);
    let b = v.error_budget.expect("an availability objective has a budget");
    assert_eq!((b.windows, b.allowed_bad_windows, b.bad_windows), (200, 100.0, 200.0), "{b:?}");
    assert_eq!((b.spent, b.burn_rate), (2.0, 2.0));
    // Over time: nothing in the warm-up's ten windows, then 1% of the budget a window.
    assert_eq!(b.spent_over_time.len(), 210);
    assert!(b.spent_over_time[..10].iter().all(Option::is_none));
    assert_eq!(b.spent_over_time[10], Some(0.01));
    assert_eq!(b.spent_over_time[209], Some(2.0));
    // A window's p99 under a second is certain: nothing spent.
    let calm = verdicts(r#"Availability(client: "users", p99: "1s", at_least: 0.99)"#, 0.0, 2).remove(0);
    let b = calm.error_budget.unwrap();
    assert_eq!((b.bad_windows, b.spent, b.burn_rate), (0.0, 0.0, 0.0));
    assert!((b.allowed_bad_windows - 2.0).abs() < 1e-9);
    // Other objectives have none.
    assert!(verdicts(r#"Errors(client: "users", below: 0.5)"#, 0.0, 2)[0].error_budget.is_none());
}

#[test]
fn the_trailing_burn_rate_follows_a_fault_window_by_window() {
    // Every visit given a worker from 60 s to 80 s fails at once, and no other does: windows
    // 60 to 79 are bad (each holds hundreds of failures), every other window good. At 90% the
    // target allows a bad share of 0.1, so the burn rate over the last ten windows is the bad
    // count among them over ten, over 0.1: exactly the bad windows among the last ten.
    let text = mm1(r#"Availability(client: "users", errors: 0.0, at_least: 0.9)"#, 0.0).replace(
        "slos:",
        r#"faults: [Errors(service: "server", at: "60s", duration: "20s", probability: 1.0)], slos:"#,
    );
    let report = run(&load(&text), 1, 1);
    let b = report.slos[0].error_budget.clone().expect("a budget");
    assert_eq!((b.bad_windows, b.burn_span_windows), (20.0, 10));
    let rate = &b.burn_rate_over_time;
    assert_eq!(rate.len(), 210);
    assert!(rate[..10].iter().all(Option::is_none), "nothing in the warm-up");
    let expected = |i: usize| (i.saturating_sub(9).max(10)..=i).filter(|w| (60..80).contains(w)).count() as f64;
    for (i, r) in rate.iter().enumerate().skip(10) {
        let span = (i + 1 - 10).min(10) as f64;
        let want = expected(i) / span / 0.1;
        assert!(r.is_some_and(|r| (r - want).abs() < 1e-9), "window {i}: {r:?}, not {want}");
    }
    // The landmarks: none before, one bad window at 60, ten from 69 to 79, then down to none at 89.
    let at = |i: usize| rate[i].expect("measured");
    for (i, want) in [(59, 0.0), (60, 1.0), (69, 10.0), (79, 10.0), (80, 9.0), (89, 0.0)] {
        assert!((at(i) - want).abs() < 1e-9, "window {i}: {}", at(i));
    }
    // The charts: the budget spent and the burn rate.
    let charts = tailsim_report::chart::charts(&report, &tailsim_model::graph::call_graph(&load(&text)));
    let stems: Vec<&str> = charts.iter().map(|c| c.file_stem.as_str()).collect();
    assert!(
        stems.iter().any(|s| s.ends_with("-burn-rate")) && stems.iter().any(|s| s.ends_with("-error-budget")),
        "{stems:?}"
    );
}
