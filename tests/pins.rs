//! Pins every output of every bundled scenario: for each file, each variant and two seeds, the
//! SHA-256 of `summary.json`, `timeseries.csv` and the terminal table, against
//! `tests/golden/pins.txt`. A refactor that claims to change nothing proves it here: any changed
//! byte of any output of any scenario fails this test. When a change is meant to move results,
//! run with `UPDATE_GOLDEN=1`, and say in the commit which scenarios moved and why.
//!
//! Two crowded scenarios follow the bundled ones: tens of thousands of requests in flight, each
//! with a pending timeout, so that the event queue runs its timer wheel (the bundled scenarios
//! keep fewer events pending than start it). One of them lines its events up on the same
//! instants (constant gaps, constant work equal to the timeout), so that the order of ties is
//! pinned too: their lines were written by the queue before it had a wheel.

use std::fmt::Write;
use std::path::Path;

use sha2::{Digest, Sha256};
use tailsim_engine::SimDuration;
use tailsim_report::write::{summary_json, timeseries_csv};
use tailsim_sim::Limits;

/// Seeds each variant runs with: two, so a change that only shows under some random stream shows.
const SEEDS: [u64; 2] = [1, 2];

/// Short hex digest: 64 bits of SHA-256 tell any two outputs apart here.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn bundled_scenarios(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the scenarios folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    files
}

/// One line per file, variant and seed: the digests of the three outputs of two replications
/// of (at most) ten seconds after the warm-up.
fn pins() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut out = String::new();
    for file in bundled_scenarios(&dir) {
        let text = std::fs::read_to_string(&file).expect("readable");
        let name = file.file_stem().expect("a name").to_string_lossy().into_owned();
        let files = tailsim_model::Files::in_dir(&dir);
        let (variants, _) =
            tailsim_model::load_variants_in(&text, &[], &files).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        for (variant, mut model) in variants {
            model.duration = model.duration.min(model.warmup + SimDuration::from_secs(10));
            pin(&mut out, &format!("{name}/{variant}"), &model);
        }
    }
    for (name, text) in CROWDED {
        let (mut model, _) = tailsim_model::load(text, &[]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        model.duration = model.warmup + SimDuration::from_secs(2);
        pin(&mut out, name, &model);
    }
    out
}

/// The line of one model: for each seed, the digests of its three outputs.
fn pin(out: &mut String, name: &str, model: &tailsim_model::Model) {
    for seed in SEEDS {
        let report = tailsim_sim::run_replications(model, seed, 2, Limits::default());
        let _ = writeln!(
            out,
            "{name} seed {seed}: summary {} series {} table {}",
            digest(&summary_json(&report)),
            digest(&timeseries_csv(&report)),
            digest(&tailsim_report::text::render(&report)),
        );
    }
}

/// Scenarios with more events pending than the event queue keeps in its heap alone.
const CROWDED: [(&str, &str); 2] = [
    (
        "crowded-timeouts",
        r#"Scenario(name: "crowded", duration: "60s", warmup: "6s",
            clients: [Client(name: "c", target: "slow", rate: 20000.0,
                policy: (timeout: "5s", retry: (attempts: 2)))],
            services: [Service(name: "slow", workers: 1000000, handler: [Work(Exponential(mean: "1s"))])])"#,
    ),
    (
        "crowded-ties",
        r#"Scenario(name: "ties", duration: "60s", warmup: "3s",
            clients: [Client(name: "c", target: "api", rate: 10000.0, arrivals: Constant,
                policy: (timeout: "1s", retry: (attempts: 3, backoff: Constant("10ms"))))],
            services: [
                Service(name: "api", workers: 1000000, handler: [Work(Constant("1ms")), Call("db")]),
                Service(name: "db", workers: 1000000, handler: [Work(Constant("999ms"))]),
            ])"#,
    ),
];

#[test]
fn every_output_of_every_bundled_scenario_is_pinned() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/pins.txt");
    let actual = pins();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("pins written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    let changed: Vec<String> = actual
        .lines()
        .zip(expected.lines())
        .filter(|(a, e)| a != e)
        .map(|(a, e)| format!("  expected {e}\n  actual   {a}"))
        .collect();
    assert!(
        changed.is_empty() && actual.lines().count() == expected.lines().count(),
        "outputs changed ({} of {} lines differ, {} lines expected, {} now):\n{}",
        changed.len(),
        expected.lines().count(),
        expected.lines().count(),
        actual.lines().count(),
        changed.join("\n")
    );
}
