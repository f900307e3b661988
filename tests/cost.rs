//! Cost in money: prices applied to what runs measured, checked by arithmetic on counts the run
//! fixes exactly (constant arrivals: 100 a second for an hour is 360,000 visits; four
//! instances for an hour are four instance-hours; a cache's nodes hold capacity x entry size
//! of memory), and a comparison's paired difference of one instance's price.

use tailsim_sim::Limits;
use tailsim_tests::{load, run};

const PRICED: &str = r#"Scenario(
    name: "cost",
    duration: "3610s",
    warmup: "10s",
    clients: [Client(name: "users", target: "api", rate: 100.0, arrivals: Constant, keys: Uniform(n: 5))],
    services: [
        Service(name: "api", instances: 4, workers: 4, handler: [Work(Constant("5ms")), Cached("sessions", [Call("db")])]),
        Service(name: "db", handler: [Work(Constant("1ms"))]),
    ],
    caches: [Cache(name: "sessions", capacity: 10, nodes: 3)],
    prices: [
        Service(service: "api", per_instance_hour: 0.25),
        Service(service: "db", per_million_requests: 2.0),
        Cache(cache: "sessions", per_node_hour: 0.5),
    ],
    variants: [Variant(name: "five", set: {"services.api.instances": 5})],
)"#;

#[test]
fn a_run_costs_its_instance_hours_requests_and_cache_nodes() {
    let report = run(&load(PRICED), 1, 1);
    let r = &report.runs[0];
    let cost = r.cost.as_ref().expect("the scenario has prices");
    assert!((r.measured_s - 3600.0).abs() < 1e-9);
    // Four instances for the measured hour at 0.25; three cache nodes at 0.5.
    assert!((cost.parts[0].total - 1.0).abs() < 1e-9, "{cost:?}");
    assert!((cost.parts[2].total - 1.5).abs() < 1e-9, "{cost:?}");
    // Every db visit at 2 per million: five keys that all fit are fetched once each, in the
    // warm-up, so db sees few visits, if any, after it.
    let db_visits = r.services[1].arrivals;
    assert!(db_visits <= 5, "{db_visits}");
    assert!((cost.parts[1].total - db_visits as f64 * 2e-6).abs() < 1e-12);
    let total = 1.0 + 1.5 + db_visits as f64 * 2e-6;
    assert!((cost.total - total).abs() < 1e-9 && (cost.per_hour - total).abs() < 1e-9, "{cost:?}");
    // 360,000 successes in the hour (100 a second, give or take the one at the edge).
    let ok = r.clients[0].succeeded;
    assert!((359_999..=360_001).contains(&ok), "{ok}");
    assert!((cost.per_million_successes.unwrap() - total / (ok as f64 / 1e6)).abs() < 1e-9);
}

#[test]
fn requests_are_billed_by_the_million() {
    // Without the cache, every request visits db: 360,000 visits at 2 per million is 0.72.
    let text = PRICED.replace(r#"Cached("sessions", [Call("db")])"#, r#"Call("db")"#);
    let report = run(&load(&text), 1, 1);
    let cost = report.runs[0].cost.as_ref().unwrap();
    let visits = report.runs[0].services[1].arrivals;
    assert!((359_999..=360_001).contains(&visits), "{visits}");
    assert!((cost.parts[1].total - visits as f64 * 2e-6).abs() < 1e-12, "{cost:?}");
}

#[test]
fn a_comparison_pairs_the_cost_of_one_more_instance() {
    let variants = tailsim_model::load_variants(PRICED, &[]).expect("valid").0;
    let (comparison, _) = tailsim_sim::compare::compare(&variants, 1, 3, "users", None, Limits::default());
    let base = comparison.variants[0].estimates.cost_per_hour.expect("three replications");
    assert!((base.mean - 2.5).abs() < 1e-6, "{base:?}");
    // The fifth instance costs 0.25 an hour in every replication: the paired difference is
    // exactly that, with no spread.
    let d = comparison.variants[1].vs_first.as_ref().unwrap().cost_per_hour.expect("paired");
    assert!((d.mean - 0.25).abs() < 1e-9 && d.ci95_half_width < 1e-9, "{d:?}");
    let table = tailsim_report::compare::render(&comparison);
    assert!(table.contains("cost/h") && table.contains("cost/1M ok"), "{table}");
}

#[test]
fn prices_name_what_exists() {
    for (price, expected) in [
        (r#"Service(service: "apii", per_instance_hour: 1.0)"#, r#"no service is named "apii""#),
        (r#"Service(service: "api", per_instance_hour: -1.0)"#, "must be a sum of money"),
        (r#"Cache(cache: "sesions", per_node_hour: 1.0)"#, r#"no cache is named "sesions""#),
        (r#"Cache(cache: "sessions", per_gb_hour: 0.1)"#, "the size of its entries"),
        (r#"Cache(cache: "sessions", per_gb_hour: -0.1, entry_bytes: 10)"#, "must be a sum of money"),
    ] {
        let text = PRICED.replace(r#"Cache(cache: "sessions", per_node_hour: 0.5),"#, &format!("{price},"));
        let errors = tailsim_model::load(&text, &[]).expect_err(price);
        assert!(errors.iter().any(|e| e.message.contains(expected)), "{price}: {errors:?}");
    }
}

#[test]
fn cache_memory_is_billed_by_the_gb_hour_of_what_its_nodes_hold() {
    // 1,024 entries of 1 MiB a node are 1 GB (2^30 bytes, as memory is priced); three nodes for
    // the measured hour at 0.125 a GB-hour are 0.375, beside 0.5 a node-hour: 1.875 in all.
    let text = PRICED
        .replace("capacity: 10, nodes: 3", "capacity: 1024, nodes: 3")
        .replace("per_node_hour: 0.5)", "per_node_hour: 0.5, per_gb_hour: 0.125, entry_bytes: 1048576)");
    let model = load(&text);
    let report = run(&model, 1, 1);
    let cost = report.runs[0].cost.as_ref().unwrap();
    assert!((cost.parts[2].total - 1.875).abs() < 1e-9, "{cost:?}");
    // `check`'s static cost says the same per hour.
    let instances: Vec<u32> = model.services.iter().map(|s| s.instances).collect();
    let static_cost = tailsim_report::cost::static_per_hour(&model.prices[2..], &instances, &[]);
    assert!((static_cost - 1.875).abs() < 1e-12, "{static_cost}");
}
