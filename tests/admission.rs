//! Admission by tenant at a service's door: each class (or key) has its own token bucket, so
//! a tenant that floods the service is held to its rate and the others are not touched.
//! Checked against the token bucket's arrival curve and Kingman's bound on M/D/1's workload.

use tailsim_tests::{load, run};

/// "free" offers 400/s and "paid" 50/s (Poisson), against a limit of 200/s and a burst of 10
/// per class, for 100 s; the api has workers to spare, so the door is the only limit.
const TENANTS: &str = r#"Scenario(
    name: "tenants",
    duration: "100s",
    clients: [Client(name: "users", target: "api", rate: 450.0,
        classes: [Class(name: "free", weight: 8), Class(name: "paid", weight: 1)])],
    services: [Service(name: "api", workers: 1000, handler: [Work(Constant("1ms"))],
        admission: (per: Class, rate: 200.0, burst: 10.0))],
)"#;

/// Over a span t from a full bucket, a token bucket admits b + r t less the tokens left at the
/// end (under one plus what accrued since the last arrival, 0.5 on average at 400/s) and less
/// those lost to a full bucket. Its tokens are a D/M/1 queue (one arrives every 1/r, Poisson
/// requests at lambda take them), which reaches b with probability about sigma^b, sigma the
/// root in (0, 1) of sigma = exp(-(lambda / r)(1 - sigma)): 0.203 at lambda / r = 2, so
/// 1.2e-7 per token. So the flooding class is admitted between r t + b - 5 and r t + b (five
/// tokens left needs a last gap of 20 ms: e^-8), and every arrival is admitted or rejected. The
/// quiet class is a bucket fed below its rate: its deficit is M/D/1's workload at rho = 0.25,
/// which exceeds b tokens with probability at most e^(-theta b), theta = 2.33 solving
/// 0.25 (e^theta - 1) = theta (Kingman's bound), so below 1e-10 per arrival: none of its 5,000
/// is rejected.
#[test]
fn a_flooding_tenant_is_held_to_its_rate_and_the_quiet_one_is_untouched() {
    let report = run(&load(TENANTS), 1, 1);
    let run = &report.runs[0];
    let api = &run.services[0];
    let door = api.admission.as_ref().expect("the api has an admission limit");
    assert_eq!(door.per, "class");
    let free = door.tenants.iter().find(|t| t.name == "free").expect("free");
    let paid = door.tenants.iter().find(|t| t.name == "paid").expect("paid");
    let (rate, burst, t) = (200.0, 10.0, 100.0);
    assert!(
        (rate * t + burst - 5.0..=rate * t + burst).contains(&(free.admitted as f64)),
        "free admitted {} of a bound of {}",
        free.admitted,
        rate * t + burst
    );
    // Poisson arrivals: 40,000 expected for free, 5,000 for paid, within 4 standard deviations.
    let free_offered = (free.admitted + free.rejected) as f64;
    assert!((free_offered - 40_000.0).abs() < 4.0 * 40_000f64.sqrt(), "free offered {free_offered}");
    assert!(((paid.admitted as f64) - 5_000.0).abs() < 4.0 * 5_000f64.sqrt(), "paid offered {}", paid.admitted);
    assert_eq!(paid.rejected, 0, "the quiet tenant is not touched by the flood");
    // Every rejection at the door is a rejection by the service, and fails a request.
    assert_eq!(door.rejected, free.rejected + paid.rejected);
    assert_eq!(api.rejected, door.rejected);
    assert_eq!(run.clients[0].failed, door.rejected);
    assert_eq!(api.arrivals, door.admitted + door.rejected);
}

/// A limit per key keeps a bucket per key, so every request that reaches it needs a key; with
/// keys, a key offered far above its rate is held to it like a class.
#[test]
fn a_limit_per_key_needs_keys_and_holds_each_key_to_its_rate() {
    let keyless = TENANTS.replace("per: Class", "per: Key");
    let errors = tailsim_model::load(&keyless, &[]).expect_err("no keys");
    assert!(errors.iter().any(|d| d.message.contains("which admits by key")), "{errors:?}");

    // Two keys, uniform, 450/s together: each offers 225/s against 100/s.
    let keyed =
        keyless.replace("rate: 450.0,", "rate: 450.0, keys: Uniform(n: 2),").replace("rate: 200.0", "rate: 100.0");
    let run = &run(&load(&keyed), 1, 1).runs[0];
    let door = run.services[0].admission.as_ref().expect("a limit");
    assert_eq!(door.per, "key");
    assert!(door.tenants.is_empty());
    // Each key is admitted at most r t + b; at lambda / r = 2.25 its bucket loses a token to
    // being full with probability sigma^b = 0.146^10 = 4e-9 (as above), so together the two
    // keys reach 2 (r t + b) less the few tokens each has left at the end.
    let bound = 2.0 * (100.0 * 100.0 + 10.0);
    assert!((bound - 10.0..=bound).contains(&(door.admitted as f64)), "admitted {}", door.admitted);
}

/// A limit without a positive rate, or with a burst below one token, is refused with the
/// service's path and line.
#[test]
fn a_limit_needs_a_rate_and_a_burst_of_one_token() {
    for (bad, what) in [("rate: 0.0", "rate: 200.0"), ("burst: 0.5", "burst: 10.0")] {
        let errors = tailsim_model::load(&TENANTS.replace(what, bad), &[]).expect_err("refused");
        let error = errors.iter().find(|d| d.message.contains("`admission` needs")).expect("the admission error");
        assert_eq!(error.path.as_deref(), Some("services[0] \"api\""), "{error:?}");
        assert!(error.location.is_some_and(|at| at.line == 7), "{error:?}");
    }
}

/// The call graph says a service admits by tenant, in the scenario's words.
#[test]
fn the_call_graph_names_the_limit() {
    let graph = tailsim_model::graph::call_graph(&load(TENANTS));
    let api = graph.nodes.iter().find(|n| n.name == "api").expect("the api's node");
    assert!(api.detail.ends_with(", admits 200/s per class"), "{}", api.detail);
}

/// The run's table says what the door let in and turned away, per class that sent requests.
#[test]
fn the_run_table_counts_the_door() {
    let report = run(&load(TENANTS), 1, 1);
    let door = report.runs[0].services[0].admission.as_ref().expect("a limit");
    let free = door.tenants.iter().find(|t| t.name == "free").expect("free");
    let text = tailsim_report::text::render(&report);
    let thousands = tailsim_report::text::thousands;
    let line = format!(
        "api: admission per class: {} admitted, {} rejected at the door (free {} of {}, paid 0 of",
        thousands(door.admitted),
        thousands(door.rejected),
        thousands(free.rejected),
        thousands(free.admitted + free.rejected)
    );
    assert!(text.contains(&line), "{text}");
}
