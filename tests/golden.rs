//! Golden tests of the text outputs: the `run` summary tables (one replication and several),
//! the `compare` tables and the `sweep` table, each against a file in `tests/golden/`. A changed
//! table is then a reviewed diff. To accept new output, run the tests with `UPDATE_GOLDEN=1`
//! and read the diff of `tests/golden/` before committing it.

use std::path::Path;

use tailsim_model::Override;
use tailsim_model::load_points;
use tailsim_model::params::Param;
use tailsim_report::sweep::Sweep;
use tailsim_sim::Limits;
use tailsim_sim::sweep::sweep;
use tailsim_tests::{load, run};

const MM1: &str = include_str!("../scenarios/mm1.ron");
const CHECKOUT: &str = include_str!("../scenarios/checkout.ron");
const RETRY_STORM: &str = include_str!("../scenarios/retry-storm.ron");

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    if expected != actual {
        panic!(
            "{name} changed; run with UPDATE_GOLDEN=1 to accept and review the diff\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }
}

fn set(text: &str) -> Override {
    Override::parse(text).expect("path=value")
}

#[test]
fn run_table_of_one_replication() {
    let model = tailsim_model::load(CHECKOUT, &[set("duration=20s")]).expect("valid").0;
    check("run-checkout.txt", &tailsim_report::text::render(&run(&model, 42, 1)));
}

#[test]
fn run_table_of_replications() {
    let model = tailsim_model::load(MM1, &[set("duration=20s")]).expect("valid").0;
    check("run-mm1-replications.txt", &tailsim_report::text::render(&run(&model, 1, 4)));
}

#[test]
fn run_table_with_retries_and_a_fault() {
    check("run-retry-storm.txt", &tailsim_report::text::render(&run(&load(RETRY_STORM), 7, 1)));
}

#[test]
fn compare_tables() {
    let variants = tailsim_model::load_variants(RETRY_STORM, &[]).expect("valid").0;
    let (comparison, _) = tailsim_sim::compare::compare(&variants, 7, 4, "shoppers", None, Limits::default());
    check("compare-retry-storm.txt", &tailsim_report::compare::render(&comparison));
}

#[test]
fn sweep_table_and_csv() {
    let params = [Param::parse("clients.users.rate=200..900:3").expect("valid")];
    let points = load_points(MM1, &[set("duration=30s")], &params).expect("valid");
    let (results, _) = sweep(&points, 1, 2, "users", Limits::default());
    let sweep = Sweep {
        scenario: "mm1".into(),
        seed: 1,
        replications: 2,
        client: "users".into(),
        params: vec!["clients.users.rate".into()],
        points: results,
    };
    check("sweep-mm1.txt", &tailsim_report::sweep::render(&sweep));
    check("sweep-mm1.csv", &sweep.csv());
}

/// M/M/1 with objectives met, missed and inconclusive: the verdict table under the run's.
const MM1_SLOS: &str = r#"Scenario(
    name: "mm1-slos",
    duration: "30s",
    warmup: "5s",
    clients: [Client(name: "users", target: "server", rate: 900.0)],
    services: [Service(name: "server", workers: 1, handler: [Work(Exponential(mean: "1ms"))])],
    slos: [
        Latency(client: "users", p50: "5ms", p99: "80ms"),
        Latency(client: "users", mean: "10ms"),
        Errors(client: "users", below: 0.001),
        Utilisation(service: "server", below: 0.95),
        Availability(client: "users", p99: "100ms", at_least: 0.9),
    ],
)"#;

#[test]
fn run_tables_with_objectives() {
    let model = tailsim_model::load(MM1_SLOS, &[]).expect("valid").0;
    check("run-mm1-slos-replications.txt", &tailsim_report::text::render(&run(&model, 1, 4)));
    check("run-mm1-slos.txt", &tailsim_report::text::render(&run(&model, 1, 1)));
}

#[test]
fn compare_tables_with_objectives() {
    let text = MM1_SLOS.replace(
        "    slos:",
        "    variants: [Variant(name: \"two\", set: {\"services.server.workers\": 2})],\n    slos:",
    );
    let variants = tailsim_model::load_variants(&text, &[]).expect("valid").0;
    let (comparison, _) = tailsim_sim::compare::compare(&variants, 1, 4, "users", None, Limits::default());
    check("compare-mm1-slos.txt", &tailsim_report::compare::render(&comparison));
}
