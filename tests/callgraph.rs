//! The call graph of a bundled scenario, as Graphviz DOT text, against a reviewed golden file;
//! set `UPDATE_GOLDEN=1` to rewrite the file after a deliberate change, then review the diff.

use std::path::Path;

use tailsim_tests::load;

/// Compares `actual` with the golden file, or rewrites it under `UPDATE_GOLDEN=1`.
fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} differs from the golden file; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff\n--- actual:\n{actual}"
    );
}

#[test]
fn retry_cascade_call_graph_matches_its_golden_dot() {
    let model = load(include_str!("../scenarios/retry-cascade.ron"));
    check_golden("retry-cascade.dot", &tailsim_model::graph::call_graph(&model).to_dot());
}

#[test]
fn hedging_call_graph_names_its_hedge_and_fan_out_policies() {
    let model = load(include_str!("../scenarios/fanout-tail.ron"));
    let graph = tailsim_model::graph::call_graph(&model);
    assert_eq!(graph.edges.len(), model.edges.len());
    assert!(graph.edges.iter().any(|e| e.label.starts_with("fan-out x")), "{graph:?}");
    let model = load(include_str!("../scenarios/hedging.ron"));
    let graph = tailsim_model::graph::call_graph(&model);
    assert!(graph.edges.iter().any(|e| e.label.contains("hedge after p")), "{graph:?}");
}

#[test]
fn bulkhead_call_graph_names_classes_and_their_handlers() {
    let model = load(include_str!("../scenarios/bulkhead.ron"));
    check_golden("bulkhead.dot", &tailsim_model::graph::call_graph(&model).to_dot());
}

#[test]
fn closed_loop_clients_show_their_users_and_think_time() {
    let model = load(
        r#"Scenario(name: "closed", duration: "5s",
            clients: [Client(name: "people", target: "s", users: 20, think: Exponential(mean: "100ms"))],
            services: [Service(name: "s", workers: 2, handler: [Work(Exponential(mean: "5ms"))])])"#,
    );
    let graph = tailsim_model::graph::call_graph(&model);
    assert_eq!(graph.nodes[0].detail, "20 users, think 100ms");
}

/// A service whose work slows with concurrency shows the USL's coefficients, as written.
#[test]
fn contended_services_show_their_coefficients() {
    let model = load(include_str!("../scenarios/autoscale-feedback.ron"));
    let graph = tailsim_model::graph::call_graph(&model);
    let db = graph.nodes.iter().find(|n| n.name == "db").expect("the database");
    assert_eq!(db.detail, "1 x 500 workers, contention sigma 0.02 kappa 0.0001");
    let api = graph.nodes.iter().find(|n| n.name == "api").expect("the api");
    assert_eq!(api.detail, "10 x 10 workers");
}

/// A call made only on a cache miss says so, naming the innermost cache, and a class's handler
/// keeps its class beside it.
#[test]
fn calls_on_a_miss_name_their_cache() {
    let model = load(
        r#"Scenario(
            name: "levels",
            duration: "1s",
            clients: [Client(name: "users", target: "api", rate: 10.0, keys: Uniform(n: 10),
                classes: [Class(name: "read", weight: 1.0), Class(name: "write", weight: 1.0)])],
            caches: [Cache(name: "l1", capacity: 10, scope: PerInstance), Cache(name: "l2", capacity: 10)],
            services: [
                Service(name: "api", handler: [Cached("l1", [Call("auth"), Cached("l2", [Call("db")])]), Call("log")],
                    handlers: {"write": [Call("db"), Invalidate("l2")]}),
                Service(name: "auth", handler: [Work(Constant("1ms"))]),
                Service(name: "db", handler: [Work(Constant("1ms"))]),
                Service(name: "log", handler: [Work(Constant("1ms"))]),
            ],
        )"#,
    );
    let dot = tailsim_model::graph::call_graph(&model).to_dot();
    assert!(dot.contains(r#"n1 -> n2 [label="on miss of l1"];"#), "{dot}");
    assert!(dot.contains(r#"n1 -> n3 [label="on miss of l2"];"#), "{dot}");
    assert!(dot.contains("n1 -> n4;"), "{dot}");
    assert!(dot.contains(r#"n1 -> n3 [label="for write"];"#), "{dot}");
}
