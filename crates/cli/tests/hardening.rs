//! The binary against a hostile or careless scenario file and a shared output folder: traces
//! that reach outside the scenario's folder, pipes where files should be, names that would act
//! on a terminal or a spreadsheet, thousands of errors, two runs into one folder, a planted
//! link, and limits on threads and replications. Each test is a regression test for a defect
//! an audit found.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

mod common;

use common::{assert_no_panic, scenario, tailsim, text};

/// A scenario replaying the trace at `trace` (as written in the file).
fn replay(trace: &str) -> String {
    format!(
        r#"Scenario(
    name: "replay",
    duration: "3s",
    clients: [Client(name: "recorded", target: "server", trace: "{trace}")],
    services: [Service(name: "server", handler: [Work(Constant("1ms"))])],
)"#
    )
}

/// Runs the bundled M/M/1 scenario for `duration` into `out`, with `extra` options.
fn run_mm1(duration: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mm1 = scenario("mm1.ron");
    let mut args = vec!["run", mm1.to_str().unwrap(), "--duration", duration, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    tailsim(&args)
}

/// Checks the scenario `text`, written to `dir/name.ron`, with `extra` options.
fn check(dir: &Path, text: &str, extra: &[&str]) -> std::process::Output {
    let file = dir.join("s.ron");
    fs::write(&file, text).unwrap();
    let mut args = vec!["check", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    tailsim(&args)
}

#[test]
fn a_trace_outside_the_scenarios_folder_is_refused_unless_allowed() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let elsewhere = root.path().join("elsewhere");
    fs::create_dir_all(home.join("traces")).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("secret.csv"), "0.5\nSECRET=hunter2\n").unwrap();
    fs::write(home.join("traces/good.csv"), "0.5\n1.5\n").unwrap();
    std::os::unix::fs::symlink(elsewhere.join("secret.csv"), home.join("traces/link.csv")).unwrap();
    let absolute = elsewhere.join("secret.csv").display().to_string();
    for path in ["../elsewhere/secret.csv", absolute.as_str(), "traces/link.csv", "traces/../../elsewhere/secret.csv"] {
        let out = check(&home, &replay(path), &[]);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("it is outside the scenario's folder") && stderr.contains("--allow-path"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "the file was read: {stderr}");
    }
    assert_eq!(check(&home, &replay("traces/good.csv"), &[]).status.code(), Some(0));
    // Allowed, the file is read (and its bad second row reported).
    let allowed = elsewhere.display().to_string();
    let out = check(&home, &replay("../elsewhere/secret.csv"), &["--allow-path", &allowed]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("secret.csv:2:1"), "{}", text(&out.stderr));
}

#[test]
fn a_pipe_or_a_folder_is_not_read_as_a_trace_and_list_skips_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo").arg(dir.path().join("pipe.csv")).arg(dir.path().join("pipe.ron")).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo is part of coreutils");
    fs::create_dir(dir.path().join("folder.csv")).unwrap();
    for path in ["pipe.csv", "folder.csv"] {
        let started = Instant::now();
        let out = check(dir.path(), &replay(path), &[]);
        assert!(started.elapsed() < Duration::from_secs(20), "hung on {path}");
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("it is not a regular file"), "{}", text(&out.stderr));
    }
    let out = tailsim(&["list", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("s.ron") && !text(&out.stdout).contains("pipe.ron"), "{}", text(&out.stdout));
}

#[test]
fn names_that_would_act_on_a_terminal_are_refused_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let text_with = |name: &str| {
        format!(
            "Scenario(\n    name: \"n\",\n    duration: \"3s\",\n    clients: [Client(name: \"{name}\", target: \"s\", rate: 1.0)],\n    services: [Service(name: \"s\", handler: [Work(Constant(\"1ms\"))])],\n)"
        )
    };
    let out = check(dir.path(), &text_with("evil\u{1b}]0;owned\u{7}"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{stderr:?}");
    assert!(stderr.contains("printable characters only") && stderr.contains("s.ron:4:"), "{stderr}");
    // Written with an escape, the name is found by what it means: at its opening quote.
    let out = check(dir.path(), &text_with("evil\\u{1b}]0;owned\\u{7}"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("printable characters only") && stderr.contains("s.ron:4:28"), "{stderr}");
    assert_eq!(check(dir.path(), &text_with(""), &[]).status.code(), Some(2));
    assert_eq!(check(dir.path(), &text_with(&"x".repeat(101)), &[]).status.code(), Some(2));
    assert_eq!(check(dir.path(), &text_with("=HYPERLINK(\\\"x\\\")"), &[]).status.code(), Some(0));
}

#[test]
fn thousands_of_errors_print_twenty_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let services: String =
        (0..4000).map(|i| format!("Service(name: \"s{i}\", handler: [Call(\"nowhere\")]), ")).collect();
    let file = format!(
        "Scenario(name: \"n\", duration: \"3s\", clients: [Client(name: \"c\", target: \"s0\", rate: 1.0)], services: [{services}])"
    );
    let out = check(dir.path(), &file, &[]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    // Twenty errors of at most ~10 lines of at most ~200 characters each, and the count.
    assert!(stderr.len() < 20 * 10 * 200, "{} bytes", stderr.len());
    assert!(stderr.contains("... and 3980 more errors"), "{stderr}");
    assert!(stderr.ends_with("4000 errors found\n"), "{stderr}");
}

#[test]
fn two_runs_into_one_folder_both_write_valid_files() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_tailsim"))
            .args(["run", scenario("mm1.ron").to_str().unwrap(), "--duration", "20s", "-q", "--out"])
            .arg(dir.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for _ in 0..5 {
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join("summary.json")).unwrap()).unwrap();
        assert_eq!(json["runs"][0]["conservation"]["holds"], true);
    }
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_planted_link_is_replaced_not_followed_and_stale_temporaries_go() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, out_dir.join("summary.json")).unwrap();
    std::os::unix::fs::symlink(&victim, out_dir.join("summary.json.tmp")).unwrap();
    let stale = out_dir.join(".tailsim-summary.json-killed.tmp");
    let fresh = out_dir.join(".tailsim-summary.json-writing.tmp");
    fs::write(&stale, "half").unwrap();
    fs::write(&fresh, "half").unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    let out = run_mm1("20s", &out_dir, &["-q", "--no-charts"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(fs::symlink_metadata(out_dir.join("summary.json")).unwrap().is_file());
    assert!(!stale.exists(), "a killed run's temporary file stays");
    assert!(fresh.exists(), "a live run's temporary file was removed");
}

#[test]
fn an_output_folder_that_cannot_be_written_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    let out_dir = dir.path().join("file/out");
    let started = Instant::now();
    let out = run_mm1("1000000s", &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(20), "it simulated first");
    assert!(text(&out.stderr).contains("cannot write into"), "{}", text(&out.stderr));
}

#[test]
fn absurd_threads_and_replications_are_refused_at_once() {
    let mm1 = scenario("mm1.ron");
    for args in [["--threads", "100000"], ["-r", "4294967295"]] {
        let started = Instant::now();
        let out = tailsim(&["run", mm1.to_str().unwrap(), args[0], args[1]]);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
    }
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailsim"))
        .args(["list", common::repo().join("scenarios").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0));
}

/// Four services in a chain, each call (and the client's) retried 100 times at once, the last
/// always failing: 100^5 attempts inside the first arrival's event.
const RETRY_CHAIN: &str = r#"Scenario(
    name: "retry-chain",
    duration: "2s",
    clients: [Client(name: "c", target: "s0", rate: 10.0, policy: (retry: (attempts: 100, backoff: None)))],
    services: [
        Service(name: "s0", workers: 1000000, handler: [Call("s1", (retry: (attempts: 100, backoff: None)))]),
        Service(name: "s1", workers: 1000000, handler: [Call("s2", (retry: (attempts: 100, backoff: None)))]),
        Service(name: "s2", workers: 1000000, handler: [Call("s3", (retry: (attempts: 100, backoff: None)))]),
        Service(name: "s3", workers: 1000000, handler: [Fail(1.0)]),
    ],
)"#;

/// A fan-out of 10,000 whose every call fans out 10,000 more: 10^8 visits in one event.
const FAN_OF_FANS: &str = r#"Scenario(
    name: "fan",
    duration: "2s",
    clients: [Client(name: "c", target: "a", rate: 10.0)],
    services: [
        Service(name: "a", workers: 100, handler: [FanOut("b", 10000)]),
        Service(name: "b", workers: 100000, handler: [FanOut("c", 10000)]),
        Service(name: "c", workers: 100000, handler: [Work(Constant("1ms"))]),
    ],
)"#;

/// Runs `text` (written to `dir/s.ron`) with `extra` options, into `dir/out`.
fn run_text(dir: &Path, text: &str, extra: &[&str]) -> std::process::Output {
    let file = dir.join("s.ron");
    fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let mut args = vec!["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    tailsim(&args)
}

#[test]
fn work_inside_one_event_is_bounded_and_check_warns_of_it() {
    let dir = tempfile::tempdir().unwrap();
    // 100 client attempts x (1 + 100 x (1 + 100 x (1 + 100 x 1))) visits = 101,010,100.
    let out = check(dir.path(), RETRY_CHAIN, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("one request can set off up to 1.010e8 visits"), "{}", text(&out.stderr));
    let out = run_text(dir.path(), RETRY_CHAIN, &["--no-charts", "--max-events", "1000"]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("set off more than 10000000 steps"), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    assert!(json["truncated"].as_str().unwrap().contains("steps"), "{}", json["truncated"]);
    assert_eq!(json["runs"][0]["conservation"]["holds"], true);
}

#[test]
fn visits_and_calls_in_flight_count_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    assert!(text(&check(dir.path(), FAN_OF_FANS, &[]).stderr).contains("one request can set off up to 1.000e8 visits"));
    let out = run_text(dir.path(), FAN_OF_FANS, &["--no-charts", "--max-in-flight", "1"]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // 16 per request allowed, counted every 64 agenda steps.
    assert!(
        text(&out.stderr).contains("visits and calls were in flight at t=0.252043025s, more than the 16 allowed"),
        "{}",
        text(&out.stderr)
    );
}

/// A scenario with `n` short slowdowns, 5 ms apart.
fn many_faults(n: usize) -> String {
    let faults: Vec<String> = (0..n)
        .map(|i| format!("Slowdown(service: \"s\", at: \"{}ms\", duration: \"1ms\", factor: 2.0)", i * 5))
        .collect();
    format!(
        "Scenario(name: \"f\", duration: \"60s\", clients: [Client(name: \"c\", target: \"s\", rate: 1.0)], \
         services: [Service(name: \"s\", workers: 4, handler: [Work(Exponential(mean: \"5ms\"))])], faults: [{}])",
        faults.join(", ")
    )
}

#[test]
fn charts_shade_a_few_dozen_faults_and_say_how_many_were_left_out() {
    let labels = |n: usize| {
        let dir = tempfile::tempdir().unwrap();
        let out = run_text(dir.path(), &many_faults(n), &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let svg = fs::read_to_string(dir.path().join("out/c-over-time.svg")).unwrap();
        let page = fs::read_to_string(dir.path().join("out/report.html")).unwrap();
        (svg.matches("s: slowdown").count(), text(&out.stderr), page)
    };
    let (forty, stderr, _) = labels(40);
    assert!(forty > 0 && !stderr.contains("shade the first"), "{stderr}");
    let (many, stderr, page) = labels(5000);
    assert_eq!(many, forty, "the chart of 5,000 faults draws more than 40");
    let note = "the time charts shade the first 40 of 5000 faults";
    assert!(stderr.contains(note) && page.contains(note), "{stderr}");
}

#[test]
fn drawing_stops_at_the_wall_clock_limit() {
    let dir = tempfile::tempdir().unwrap();
    // About 10,000 events: over before the run's first look at the clock, so only drawing stops.
    let out = run_mm1("20s", dir.path(), &["-q", "--max-wall-time", "1ns"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("drawing stopped early"), "{}", text(&out.stderr));
    assert!(dir.path().join("summary.json").exists() && dir.path().join("report.html").exists());
}

#[test]
fn a_client_with_thousands_of_traffic_shapes_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<String> = (0..1001).map(|i| format!("Step(at: \"{i}ms\", rate: 2.0)")).collect();
    let file = format!(
        "Scenario(name: \"n\", duration: \"3s\", clients: [Client(name: \"c\", target: \"s\", rate: 1.0, traffic: [{}])], \
         services: [Service(name: \"s\", handler: [Work(Constant(\"1ms\"))])])",
        steps.join(", ")
    );
    let out = check(dir.path(), &file, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("more than the 1000 a client may have; replay a recorded rate as a `trace`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn many_components_over_a_long_run_get_wider_windows_and_are_told_so() {
    let dir = tempfile::tempdir().unwrap();
    // 150 services over 100,000 s: 150 x 100,000 windows of 1 s would be 15 million; the budget
    // of 2 million in all gives each ceil(100,000 / floor(2,000,000 / 152)) = 8 s windows (152
    // components: the services, the client and its call edge).
    let services: Vec<String> =
        (0..150).map(|i| format!("Service(name: \"s{i}\", handler: [Work(Constant(\"1ms\"))])")).collect();
    let file = format!(
        "Scenario(name: \"long\", duration: \"100000s\", clients: [Client(name: \"c\", target: \"s0\", rate: 0.01)], \
         services: [{}])",
        services.join(", ")
    );
    let path = dir.path().join("s.ron");
    fs::write(&path, &file).unwrap();
    let out_dir = dir.path().join("out");
    let out = tailsim(&["run", path.to_str().unwrap(), "--no-charts", "--json", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("windows widened from 1s to 8s"), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    let service = &json["runs"][0]["services"][0]["per_window"];
    assert_eq!(service["window_s"], 8.0);
    assert_eq!(service["utilisation"].as_array().unwrap().len(), 12_500);
}
