//! Trace replay: recorded arrivals happen at their recorded times, with their classes and keys,
//! counted against the file itself; bad files are refused with the file, line and column.

use std::path::Path;

use tailsim_model::{Files, Location};
use tailsim_tests::run;

/// The test's trace files live in `tests/traces/`.
fn files() -> Files {
    Files::in_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn load(text: &str) -> tailsim_model::Model {
    match tailsim_model::load_in(text, &[], &files()) {
        Ok((model, _)) => model,
        Err(errors) => panic!("{errors:#?}"),
    }
}

fn errors(text: &str) -> Vec<tailsim_model::Diagnostic> {
    tailsim_model::load_in(text, &[], &files()).expect_err("invalid")
}

/// One worker, 100 ms a request, and arrivals at 0.1, 0.25 (twice), 1.5, 2.5, 4 and 9.999 s
/// (the file's rows at 10 and 12 s lie past the run): the second request of 0.25 s waits for
/// the first, so it takes 200 ms and the others 100 ms; the last is still running at 10 s.
#[test]
fn arrivals_happen_at_the_recorded_times() {
    let text = r#"Scenario(
        name: "replay",
        duration: "10s",
        clients: [Client(name: "recorded", target: "server", trace: "traces/times.csv")],
        services: [Service(name: "server", handler: [Work(Constant("100ms"))])],
    )"#;
    let report = run(&load(text), 1, 2);
    for run in &report.runs {
        let c = &run.clients[0];
        assert_eq!((c.arrivals, c.succeeded, c.in_flight_at_end), (7, 6, 1));
        assert_eq!(c.per_window.arrivals, [3, 1, 1, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(c.latency.max_ms, Some(200.0));
        assert!((c.latency.mean_ms.expect("answered") - 700.0 / 6.0).abs() < 1e-9, "{:?}", c.latency);
    }
}

/// Each row's class picks the handler and each row's key the shard: 300 rows every 10 ms,
/// counted here from the file itself. Writes run 2 ms, reads 1 ms; key 7 is pinned to shard 2.
#[test]
fn each_row_brings_its_class_and_its_key() {
    let csv = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/classes-keys.csv"))
        .expect("the fixture");
    let rows: Vec<(&str, &str)> = csv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("key"))
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            (fields[0], fields[2])
        })
        .collect();
    let writes = rows.iter().filter(|(_, class)| *class == "write").count() as u64;
    let on_seven = rows.iter().filter(|(key, _)| *key == "7").count() as u64;
    let text = r#"Scenario(
        name: "replay-keys",
        duration: "5s",
        clients: [Client(name: "recorded", target: "store", trace: "traces/classes-keys.csv",
            classes: [Class(name: "read", weight: 1), Class(name: "write", weight: 1)])],
        services: [Service(name: "store", instances: 3, workers: 4, balancer: ByKey(routing: ModN, pins: {7: 2}),
            handler: [Work(Constant("1ms"))], handlers: {"write": [Work(Constant("2ms"))]})],
    )"#;
    let report = run(&load(text), 1, 1);
    let (c, store) = (&report.runs[0].clients[0], &report.runs[0].services[0]);
    assert_eq!((c.arrivals, c.succeeded), (300, 300));
    assert_eq!((c.classes[0].arrivals, c.classes[1].arrivals), (300 - writes, writes));
    assert_eq!(store.instance_arrivals[2], on_seven);
    // Every request is served at once: 1 ms for a read, 2 ms for a write.
    let mean = (300.0 - writes as f64 + 2.0 * writes as f64) / 300.0;
    assert!((c.latency.mean_ms.expect("answered") - mean).abs() < 1e-9, "{:?}", c.latency);
}

/// A missing file points at its name in the scenario; a bad row at its place in the trace; a
/// class the client does not declare at its first use in the trace.
#[test]
fn bad_traces_are_refused_with_file_line_and_column() {
    let scenario = |client: &str| {
        format!(
            r#"Scenario(
    name: "bad",
    duration: "10s",
    clients: [Client(name: "recorded", target: "server", {client})],
    services: [Service(name: "server", handler: [Work(Constant("1ms"))])],
)"#
        )
    };
    let missing = errors(&scenario(r#"trace: "traces/missing.csv""#));
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert!(missing[0].message.starts_with(r#"cannot read the trace ""#), "{}", missing[0].message);
    assert!(missing[0].message.contains("traces/missing.csv"), "{}", missing[0].message);
    assert_eq!(missing[0].location, Some(Location { line: 4, column: 65 }));
    assert_eq!(missing[0].hint.as_deref(), Some("a trace's path is relative to the scenario file's folder"));

    let classes = r#"classes: [Class(name: "read", weight: 1), Class(name: "write", weight: 1)]"#;
    let unsorted = errors(&scenario(&format!(r#"trace: "traces/unsorted.csv", {classes}"#)));
    let d = &unsorted[0];
    assert_eq!(
        (d.message.as_str(), d.location),
        ("600ms comes before the previous row's 700ms", Some(Location { line: 4, column: 1 }))
    );
    let in_file = d.in_file.as_ref().expect("points into the trace");
    assert!(in_file.file.ends_with("traces/unsorted.csv") && in_file.line == "0.6,write", "{in_file:?}");
    assert!(
        d.render("bad.ron", "").contains("traces/unsorted.csv:4:1\n  |\n4 | 0.6,write\n  | ^\n"),
        "{}",
        d.render("bad.ron", "")
    );

    let unknown = errors(&scenario(
        r#"trace: "traces/classes-keys.csv", classes: [Class(name: "read", weight: 1), Class(name: "writes", weight: 1)]"#,
    ));
    let d = &unknown[0];
    assert_eq!(d.message, r#"the trace names a class "write" the client does not declare"#);
    assert_eq!(
        (d.location, d.hint.as_deref()),
        (Some(Location { line: 3, column: 8 }), Some("did you mean `writes`?"))
    );

    let both = errors(&scenario(r#"trace: "traces/times.csv", rate: 10.0"#));
    assert_eq!(both[0].message, "a `trace` replaces `rate`, `users`, `think` and `traffic`");
}

/// `--set clients.NAME.trace=None` unsets a trace, so a variant can put a rate in its place
/// (and a unit variant named `None`, as a backoff's, is still reached the same way).
#[test]
fn a_trace_can_be_unset_for_a_rate() {
    let text = r#"Scenario(
        name: "unset",
        duration: "10s",
        clients: [Client(name: "recorded", target: "server", trace: "traces/times.csv",
            policy: (retry: (attempts: 2, backoff: Constant("1ms"))))],
        services: [Service(name: "server", handler: [Work(Constant("1ms"))])],
    )"#;
    let set = |s: &[&str]| s.iter().map(|o| tailsim_model::Override::parse(o).expect("path=value")).collect::<Vec<_>>();
    let overrides =
        set(&["clients.recorded.trace=None", "clients.recorded.rate=5", "clients.recorded.policy.retry.backoff=None"]);
    let (model, _) = tailsim_model::load_in(text, &overrides, &files()).expect("valid");
    assert!(model.clients[0].trace.is_none() && model.clients[0].rate_per_s == 5.0);
    let backoff = &model.edges[0].policy.retry.as_ref().expect("a retry").backoff;
    assert_eq!(*backoff, tailsim_model::kinds::Backoff::None);
}
