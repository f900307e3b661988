//! Every diagnostic the foundation promises, table-driven: scenario text in, exact message,
//! location and hint out, so messages stay good as the schema grows.

use tailsim_model::{Diagnostic, Location};

/// A valid scenario with `%CLIENT%`, `%API%` and `%DB%` to splice faults into.
const TEMPLATE: &str = r#"Scenario(
    name: "diag",
    duration: "10s",
    clients: [Client(name: "users", target: "api", rate: %RATE%)],
    services: [
        Service(name: "api", workers: %WORKERS%, handler: [Work(Exponential(mean: "1ms")), Call("%CALL%")]),
        Service(name: "db", handler: [Work(%DIST%)%DB_CALL%]),
    ],
)"#;

fn scenario(rate: &str, workers: &str, call: &str, dist: &str, db_call: &str) -> String {
    TEMPLATE
        .replace("%RATE%", rate)
        .replace("%WORKERS%", workers)
        .replace("%CALL%", call)
        .replace("%DIST%", dist)
        .replace("%DB_CALL%", db_call)
}

fn valid() -> String {
    scenario("100.0", "4", "db", r#"Constant("2ms")"#, "")
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match tailsim_model::load(text, &[]) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(errors) => errors,
    }
}

fn only_error(text: &str) -> Diagnostic {
    let mut errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

/// (scenario text, item path, message, location, hint)
type SemanticCase = (String, &'static str, &'static str, Option<Location>, Option<&'static str>);

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

#[test]
fn the_template_is_valid() {
    assert!(tailsim_model::load(&valid(), &[]).is_ok());
}

#[test]
#[expect(clippy::too_many_lines, reason = "a table of cases")]
fn semantic_errors_name_the_item() {
    let mut cases: Vec<SemanticCase> = vec![
        (
            scenario("100.0", "4", "dbb", r#"Constant("2ms")"#, ""),
            r#"services[0] "api" .handler[1]"#,
            r#"`Call` names an unknown service "dbb""#,
            at(6, 84),
            Some("did you mean `db`?"),
        ),
        (
            scenario("-5.0", "4", "db", r#"Constant("2ms")"#, ""),
            r#"clients[0] "users""#,
            "`rate` must be a positive number of requests per second, got -5",
            at(4, 28),
            Some("rates above 1e9 per second are refused"),
        ),
        (
            scenario("100.0", "0", "db", r#"Constant("2ms")"#, ""),
            r#"services[0] "api""#,
            "`workers` must be between 1 and 1000000, got 0",
            at(6, 23),
            Some("a service with no workers never serves anything"),
        ),
        (
            scenario("100.0", "4", "db", r#"Constant("2ms")"#, r#", Call("api")"#),
            r#"services[0] "api""#,
            "the call graph has a cycle: api -> db -> api",
            at(6, 23),
            Some("a request would call itself forever; remove one of these calls"),
        ),
        (
            scenario("100.0", "4", "db", r#"LogNormal(median: "5ms", p99: "2ms")"#, ""),
            r#"services[1] "db" .handler[0]"#,
            "`p99` must be greater than `median`",
            at(7, 69),
            None,
        ),
        (
            scenario("100.0", "4", "db", r#"Uniform(min: "5ms", max: "2ms")"#, ""),
            r#"services[1] "db" .handler[0]"#,
            "`min` must not exceed `max`",
            at(7, 52),
            None,
        ),
    ];
    let with_policy = |policy: &str| valid().replace(r#"Call("db")"#, &format!(r#"Call("db", {policy})"#));
    let with_fault = |fault: &str| valid().replace("\n)", &format!("\n    faults: [{fault}],\n)"));
    cases.extend([
        (
            with_policy(r#"(timeout: "2s", deadline: "1s")"#),
            r#"services[0] "api" .handler[1]"#,
            "`timeout` (2s) is longer than `deadline` (1s)",
            at(6, 96),
            Some("an attempt can never outlive the whole call; shorten the timeout"),
        ),
        (
            with_policy("(retry: (attempts: 0))"),
            r#"services[0] "api" .handler[1]"#,
            "`attempts` must be between 1 and 100, got 0",
            at(6, 104),
            Some("attempts count the first call too: 3 means up to 2 retries"),
        ),
        (
            with_policy("(breaker: (failure_rate: 50))"),
            r#"services[0] "api" .handler[1]"#,
            "a breaker's `failure_rate` must be above 0 and at most 1, got 50",
            at(6, 106),
            Some("rates are fractions: 0.5 means half of the calls"),
        ),
        (
            valid().replace(r#"Call("db")"#, r#"FanOut("db", 3, (wait: Quorum(4)))"#),
            r#"services[0] "api" .handler[1]"#,
            "a quorum must be between 1 and the 3 calls, got 4",
            at(6, 84),
            None,
        ),
        (
            with_policy(r#"(timeout: "0ms")"#),
            r#"services[0] "api" .handler[1]"#,
            "`timeout` must be longer than zero",
            at(6, 96),
            None,
        ),
        (
            scenario("100.0", "4", "db", r#"Constant("2ms")"#, ", Fail(1.5)"),
            r#"services[1] "db" .handler[1]"#,
            "`Fail` takes a probability between 0 and 1, got 1.5",
            at(7, 62),
            None,
        ),
        (
            valid().replace(r#"Call("db")"#, r#"Parallel([Call("db"), Work(Constant("1ms"))])"#),
            r#"services[0] "api" .handler[1][1]"#,
            "`Parallel` holds only `Call` steps",
            at(6, 84),
            Some(r#"e.g. Parallel([Call("a"), Call("b")])"#),
        ),
        (
            valid().replace(r#"Call("db")"#, r#"Parallel([Call("dbx")])"#),
            r#"services[0] "api" .handler[1][0]"#,
            r#"`Call` names an unknown service "dbx""#,
            at(6, 94),
            Some("did you mean `db`?"),
        ),
        (
            valid()
                .replace("rate: 100.0)", r#"rate: 100.0, classes: [Class(name: "read", weight: 1)])"#)
                .replace("Service(name: \"db\",", r#"Service(name: "db", handlers: {"raed": [Fail(1.0)]},"#),
            r#"services[1] "db" .handlers["raed"]"#,
            r#"`handlers` names an unknown request class "raed""#,
            at(7, 40),
            Some("did you mean `read`?"),
        ),
        (
            valid().replace(
                "rate: 100.0)",
                r#"rate: 100.0, classes: [Class(name: "a", weight: 1, priority: 2), Class(name: "b", weight: 0)])"#,
            ),
            r#"clients[0] "users" .classes[1]"#,
            "a class's `weight` must be above zero, got 0",
            at(4, 134),
            Some("weights are relative: 90 and 10 send 90% and 10%"),
        ),
        (
            valid().replace(
                "rate: 100.0)",
                r#"rate: 100.0, classes: [Class(name: "a", weight: 1, priority: 2), Class(name: "a", weight: 1)])"#,
            ),
            r#"clients[0] "users" .classes[1]"#,
            r#"class "a" has priority 0 here and 2 elsewhere"#,
            at(4, 117),
            Some("a class has one priority; give the two a different name"),
        ),
        (
            with_fault(r#"Crash(service: "db", at: "1s", restart_after: "0s")"#),
            "faults[0]",
            "a crash's `restart_after` must be longer than zero",
            at(9, 45),
            Some(r#"a restart takes time: e.g. restart_after: "30s"; leave it out for an instance that stays down"#),
        ),
        (
            valid()
                .replace(r#"Service(name: "db","#, r#"Service(name: "db", contention: (sigma: 0.05, kappa: -0.001),"#),
            r#"services[1] "db""#,
            "`contention` takes a `sigma` and a `kappa` between 0 and 1, got sigma 0.05 and kappa -0.001",
            at(7, 23),
            Some(
                "the Universal Scalability Law's coefficients, e.g. contention: (sigma: 0.05, kappa: 0.001) \
                 peaks at sqrt((1 - sigma) / kappa) = 31 busy workers",
            ),
        ),
        (
            with_fault(r#"CpuQuota(service: "db", cpus: 2.0, period: "2s")"#),
            "faults[0]",
            "a CPU quota needs a `period` from 1ms to 1s and `cpus x period` of at least 1ms, got cpus: 2, period: 2s",
            at(9, 49),
            Some(r#"e.g. CpuQuota(service: "api", cpus: 2.0, period: "100ms")"#),
        ),
        (
            with_fault(
                r#"CpuQuota(service: "db", cpus: 2.0, duration: "10010ms"), CpuQuota(service: "db", at: "10050ms", cpus: 1.0)"#,
            ),
            r#"services[1] "db""#,
            r#"two CPU quotas of "db" overlap on an instance"#,
            at(7, 9),
            Some(
                "an instance has one CPU limit at a time: give them separate times or instances \
                 (a quota lasts to the end of its last period)",
            ),
        ),
        (
            valid().replace(r#"Service(name: "db","#, r#"Service(name: "db", autoscale: (target: 0.5, metric: InFlight(4.0), max: 3),"#),
            r#"services[1] "db""#,
            "`autoscale` needs either a `target` utilisation in (0, 1] or a `metric` with a target above zero",
            at(7, 23),
            Some(r#"e.g. autoscale: (target: 0.7, ...), or (metric: QueueDepth(10.0), ...), InFlight(20.0), P95("200ms") or, for a consumer group, Lag(1000.0)"#),
        ),
        (
            with_fault(r#"Crash(service: "db", instance: 1, at: "1s")"#),
            "faults[0]",
            r#"the fault names instance 1 of "db", which has 1 (counted from 0)"#,
            at(9, 14),
            None,
        ),
    ]);
    for (text, path, message, location, hint) in cases {
        let d = only_error(&text);
        assert_eq!(d.path.as_deref(), Some(path), "{d:?}");
        assert_eq!(d.message, message);
        assert_eq!(d.location, location, "{message}");
        assert_eq!(d.hint.as_deref(), hint, "{message}");
    }
}

#[test]
fn syntax_and_schema_errors_point_at_line_and_column() {
    let cases: Vec<(String, &str, Option<Location>, Option<&str>)> = vec![
        (
            valid().replace("duration:", "duraton:"),
            "unknown field `duraton` in `Scenario`",
            at(3, 5),
            Some("did you mean `duration`?"),
        ),
        (
            valid().replace("Exponential(", "Exponentail("),
            "unknown variant `Exponentail` in `DistSpec`",
            at(6, 57),
            Some("did you mean `Exponential`?"),
        ),
        (
            valid().replace(r#""10s""#, r#""10 sec""#),
            r#"invalid duration "10 sec": unknown unit `sec`; write a number and a unit: ns, us, ms, s, m or h, as in "250us", "15ms", "2s""#,
            at(3, 16),
            None,
        ),
        (
            valid().replace(r#"rate: 100.0)"#, r#"rate: 100.0"#),
            "expected a comma",
            at(4, 63),
            Some("separate items with `,`"),
        ),
        (
            valid().replace(r#"Service(name: "db","#, r#"Service(name: "db", contention: (alpha: 0.05),"#),
            "unknown field `alpha` in `Contention`",
            at(7, 42),
            Some("alpha is now called `sigma` (contention)"),
        ),
        (
            valid().replace(r#"Service(name: "db","#, r#"Service(name: "db", contention: (sigma: 0.05, kapa: 0.01),"#),
            "unknown field `kapa` in `Contention`",
            at(7, 55),
            Some("did you mean `kappa`?"),
        ),
        (
            valid().replace(r#"duration: "10s","#, ""),
            "missing field `duration` in `Scenario`",
            at(9, 1),
            Some("add `duration: ...`"),
        ),
    ];
    for (text, message, location, hint) in cases {
        let d = only_error(&text);
        assert_eq!(d.message, message);
        assert_eq!(d.location, location, "{message}");
        assert_eq!(d.hint.as_deref(), hint, "{message}");
    }
}

#[test]
fn a_step_written_with_too_few_or_too_many_elements_says_how_it_is_written() {
    // Each tuple-written step names its form, and the count found: the required elements
    // missing, or one more than it takes.
    let call = r#"a service name and an optional policy: Call("db") or Call("db", (timeout: "200ms"))"#;
    let fan_out = r#"a service, a count and optional options: FanOut("leaf", 100, (wait: Any))"#;
    let parallel = r#"a list of calls and optional options: Parallel([Call("a"), Call("b")], (wait: Any))"#;
    let cached = r#"a cache and the steps of a miss: Cached("products", [Call("db")])"#;
    let cases = [
        (r#"Call()"#, call, "zero elements"),
        (r#"Call("api", (), 3)"#, call, "3 elements"),
        (r#"FanOut("api")"#, fan_out, "one element"),
        (r#"FanOut("api", 2, (), 1)"#, fan_out, "4 elements"),
        (r#"Parallel()"#, parallel, "zero elements"),
        (r#"Parallel([Call("api")], (), 2)"#, parallel, "3 elements"),
        (r#"Cached("c")"#, cached, "one element"),
        (r#"Cached("c", [], 1)"#, cached, "3 elements"),
    ];
    for (step, expected, found) in cases {
        let text = scenario("100.0", "4", "db", r#"Constant("2ms")"#, &format!(", {step}"));
        let d = only_error(&text);
        assert_eq!(d.message, format!("expected {expected} but found {found} instead"), "{step}");
    }
}

#[test]
fn all_semantic_errors_are_reported_at_once() {
    let text = scenario("0.0", "0", "nope", r#"Constant("2ms")"#, "");
    let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
}

#[test]
fn rendering_shows_the_line_and_a_caret() {
    let text = valid().replace("duration:", "duraton:");
    let rendered = only_error(&text).render("diag.ron", &text);
    let expected = "\
error: unknown field `duraton` in `Scenario`
  --> diag.ron:3:5
  |
3 |     duraton: \"10s\",
  |     ^
  = hint: did you mean `duration`?
";
    assert_eq!(rendered, expected);
}

#[test]
fn overrides_set_scalars_and_refuse_bad_paths() {
    use tailsim_model::Override;
    let set = |s: &str| Override::parse(s).expect("path=value");
    let overrides = [set("clients.users.rate=1200"), set("services.db.workers=8"), set("duration=2m")];
    let (model, _) = tailsim_model::load(&valid(), &overrides).expect("valid overrides");
    assert_eq!(model.clients[0].rate_per_s, 1200.0);
    assert_eq!(model.services[1].workers, 8);
    assert_eq!(model.duration.as_secs_f64(), 120.0);

    let err = |o: &str| match tailsim_model::load(&valid(), &[set(o)]) {
        Ok(_) => panic!("{o} accepted"),
        Err(mut errors) => errors.remove(0),
    };
    let d = err("clients.user.rate=5");
    assert_eq!(d.message, "--set clients.user.rate: nothing named `user` in this list");
    assert_eq!(d.hint.as_deref(), Some("did you mean `users`?"));
    let d = err("clients.users.rat=5");
    assert_eq!(d.hint.as_deref(), Some("did you mean `rate`?"));
    assert_eq!(err("clients.users.rate=fast").message, "--set clients.users.rate: `fast` is not a number");
    assert!(err("services.db.workers=-3").message.starts_with("--set services.db.workers=-3: "));
    assert_eq!(err("duration=5 sec").message.split(':').next(), Some("--set duration=5 sec"));
    // A whole structure is written in RON and checked against the schema.
    assert!(
        err(r#"services.db.handler.0=Constant("1ms")"#)
            .message
            .starts_with(r#"--set services.db.handler.0=Constant("1ms"): unknown variant `Constant`"#),
        "{}",
        err(r#"services.db.handler.0=Constant("1ms")"#).message
    );
    let d = err(r#"services.db.handler.0=Work(Constant("1ms"]"#);
    assert!(
        d.message.starts_with(r#"--set services.db.handler.0: `Work(Constant("1ms"]` is not a value in RON"#),
        "{}",
        d.message
    );
    assert!(d.hint.as_deref().unwrap_or("").contains("Exponential(base:"), "{d:?}");
    let (model, _) =
        tailsim_model::load(&valid(), &[set(r#"services.db.handler.0=Work(Constant("7ms"))"#)]).expect("valid");
    let tailsim_model::compile::Step::Work(dist) = &model.services[1].steps[0] else { panic!("not work") };
    assert_eq!(dist.mean(), 7e6);
    let retry = set(
        r#"services.api.handler.1.policy.retry=(attempts: 3, backoff: Exponential(base: "10ms", cap: "1s", jitter: Full), budget: (ratio: 0.1))"#,
    );
    let (model, _) = tailsim_model::load(&valid(), &[retry]).expect("valid");
    let edge = model.edges.iter().find(|e| e.from == "api").expect("the api -> db edge");
    let retry = edge.policy.retry.as_ref().expect("a retry policy");
    assert_eq!(retry.attempts, 3);
    assert!(retry.budget.is_some());
    // A call's policy is reached by name.
    let (model, _) =
        tailsim_model::load(&valid(), &[set("services.api.handler.1.policy.timeout=50ms")]).expect("valid");
    let edge = model.edges.iter().find(|e| e.from == "api").expect("the api -> db edge");
    assert_eq!(edge.policy.timeout, Some(tailsim_engine::SimDuration::from_millis(50)));
    // A variant's payload is entered without naming the variant.
    let (model, _) = tailsim_model::load(&valid(), &[set("services.api.handler.0.mean=3ms")]).expect("valid");
    let tailsim_model::compile::Step::Work(dist) = &model.services[0].steps[0] else { panic!("not work") };
    assert_eq!(dist.mean(), 3e6);
    assert!(Override::parse("no-equals-sign").is_err());
}

#[test]
fn retries_without_backoff_after_timeouts_are_warned_about() {
    let text = valid().replace(r#"Call("db")"#, r#"Call("db", (timeout: "50ms", retry: (attempts: 3)))"#);
    let (_, warnings) = tailsim_model::load(&text, &[]).expect("valid");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(
        warnings[0].message,
        r#"the call from "api" to "db" retries at once after a timeout: retries arrive just when "db" is slowest"#
    );
    let with_backoff = text.replace("attempts: 3", r#"attempts: 3, backoff: Constant("20ms")"#);
    assert!(tailsim_model::load(&with_backoff, &[]).expect("valid").1.is_empty());
}

/// A connection limit warns about the calls it cannot count (no pool) and about pools that want
/// more than it allows, at the start or at the autoscaler's most instances; 0 is an error.
#[test]
fn connection_limits_are_checked_against_the_pools() {
    let limited = |db: &str, api: &str, call: &str| {
        valid()
            .replace(r#"Service(name: "db","#, &format!(r#"Service(name: "db", {db}"#))
            .replace(r#"Service(name: "api","#, &format!(r#"Service(name: "api", {api}"#))
            .replace(r#"Call("db")"#, call)
    };
    let messages = |text: &str| -> Vec<String> {
        tailsim_model::load(text, &[]).expect("valid").1.into_iter().map(|w| w.message).collect()
    };
    let pool = r#"Call("db", (bulkhead: (max_concurrent: 10, scope: PerInstance)))"#;
    assert_eq!(
        messages(&limited("max_connections: 100,", "", r#"Call("db")"#)),
        [r#"the calls from "api" to "db" hold no pooled connection, so its `max_connections` does not count them"#]
    );
    assert!(messages(&limited("max_connections: 100,", "instances: 10,", pool)).is_empty());
    assert_eq!(
        messages(&limited("max_connections: 100,", "instances: 11,", pool)),
        [
            "its callers' pools want 110 connections when they start, and it accepts 100: the last pools to open get what is left, or none, and fail their calls"
        ]
    );
    assert_eq!(
        messages(&limited("max_connections: 100,", "instances: 10, autoscale: (target: 0.5, max: 12),", pool)),
        [
            "scaled to their most instances, its callers' pools would want 120 connections, and it accepts 100: instances started beyond that fail their calls"
        ]
    );
    let d = only_error(&limited("max_connections: 0,", "", pool));
    assert_eq!(
        (d.message.as_str(), d.path.as_deref()),
        ("`max_connections` must be between 1 and 10000000, got 0", Some(r#"services[1] "db""#))
    );
}

/// A variant's bad path or value is an error of the scenario, found by `load` (so by `run`
/// and `check` too), pointing at the variant's key with a hint.
#[test]
fn bad_variants_point_at_their_entry() {
    let text = valid().replace(
        "\n)",
        "\n    variants: [\n        Variant(name: \"fast\", set: {\"services.db.wrokers\": 8}),\n        Variant(name: \"slow\", set: {\"clients.users.rate\": \"fast\"}),\n    ],\n)",
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].path.as_deref(), Some(r#"variants[0] "fast""#));
    assert_eq!(errors[0].message, "services.db.wrokers: no field `wrokers` here");
    assert_eq!(errors[0].location, at(10, 37));
    assert_eq!(errors[0].hint.as_deref(), Some("did you mean `workers`?"));
    assert_eq!(errors[1].message, "clients.users.rate: `fast` is not a number");
    assert_eq!(errors[1].location, at(11, 37));
    assert!(errors[1].hint.as_deref().unwrap_or("").contains("--set"), "{:?}", errors[1].hint);
    let rendered = errors[0].render("diag.ron", &text);
    assert!(rendered.contains("--> diag.ron:10:37"), "{rendered}");

    let base = valid().replace("\n)", "\n    variants: [Variant(name: \"base\", set: {})],\n)");
    assert_eq!(only_error(&base).message, "`base` is the name of the scenario itself");
}

/// A scenario with a cache: `%CACHES%` and `%KEYS%` spliced in.
const CACHED: &str = r#"Scenario(
    name: "diag",
    duration: "10s",
    clients: [Client(name: "users", target: "api", rate: 10.0%KEYS%)],
    caches: [%CACHES%],
    services: [
        Service(name: "api", handler: [Cached("%CACHE%", [Call("db")])]),
        Service(name: "db", handler: [Cached("%CACHE%", [Work(Constant("1ms"))])]),
    ],
)"#;

fn cached(keys: &str, caches: &str, cache: &str) -> String {
    CACHED.replace("%KEYS%", keys).replace("%CACHES%", caches).replace("%CACHE%", cache)
}

/// Cache mistakes name the item and say what to write instead.
#[test]
fn cache_errors_name_the_item_and_hint_the_fix() {
    let keys = ", keys: Uniform(n: 10)";
    let cache = r#"Cache(name: "items", capacity: 100)"#;
    assert!(tailsim_model::load(&cached(keys, cache, "items"), &[]).is_ok());

    let unknown = errors(&cached(keys, cache, "itmes"));
    assert_eq!(unknown[0].message, r#"the step names an unknown cache "itmes""#);
    assert_eq!(unknown[0].path.as_deref(), Some(r#"services[0] "api" .handler[0]"#));
    assert_eq!(unknown[0].hint.as_deref(), Some("did you mean `items`?"));

    let no_keys = only_error(&cached("", cache, "items"));
    assert_eq!(no_keys.message, r#"the requests of client "users" reach cache "items" (at "api") without keys"#);
    assert!(no_keys.hint.as_deref().is_some_and(|h| h.contains("keys: Zipf(")));

    let shared = only_error(&cached(keys, r#"Cache(name: "items", capacity: 100, scope: PerInstance)"#, "items"));
    assert_eq!(shared.message, "a per-instance cache belongs to one service, but api, db use it");
    assert_eq!(shared.location, Some(Location { line: 5, column: 26 }));

    let ring = only_error(&cached(keys, r#"Cache(name: "items", capacity: 100, nodes: 3, routing: Ring(0))"#, "items"));
    assert!(ring.message.starts_with("a ring needs between 1 and 10000 virtual nodes"), "{}", ring.message);

    let zipf = only_error(&cached(", keys: Zipf(n: 0, s: 1.0)", cache, "items"));
    assert!(zipf.message.starts_with("a key distribution needs between 1 and"), "{}", zipf.message);
    assert_eq!(zipf.path.as_deref(), Some(r#"clients[0] "users""#));
}

#[test]
fn objectives_name_what_exists_and_can_be_met() {
    let with = |slos: &str| valid().replace("\n)", &format!("\n    slos: [{slos}],\n)"));
    // Line 9 is the `slos` line; the unknown name is pointed at where it is written.
    let cases: [(&str, &str, &str); 7] = [
        (r#"Latency(client: "user", p99: "1s")"#, r#"no client is named "user""#, "did you mean `users`?"),
        (r#"Latency(client: "users")"#, "a latency objective needs a bound", "p99"),
        (r#"Errors(client: "users", below: 5.0)"#, "`below` is a share from 0 to 1, got 5", "0.001"),
        (r#"Utilisation(service: "dbb", below: 0.8)"#, r#"no service is named "dbb""#, "did you mean `db`?"),
        (r#"Recovery(service: "db", within: "10s")"#, "which has no faults", "faults"),
        (r#"HitRatio(cache: "c", at_least: 0.9)"#, r#"no cache is named "c""#, "there are no caches"),
        (r#"Latency(client: "users", class: "gold", p99: "1s")"#, r#"sends no class "gold""#, "no classes"),
    ];
    for (slo, message, hint) in cases {
        let d = only_error(&with(slo));
        assert!(d.message.contains(message), "{slo}: {}", d.message);
        assert!(d.hint.as_deref().is_some_and(|h| h.contains(hint)), "{slo}: {:?}", d.hint);
        assert_eq!(d.path.as_deref(), Some("slos[0]"), "{slo}");
        assert_eq!(d.location.map(|l| l.line), Some(9), "{slo}: {:?}", d.location);
    }
    // A bound the schema does not know is a parse error at its line and column.
    let d = only_error(&with(r#"Latency(client: "users", p98: "1s")"#));
    assert!(d.message.contains("p98"), "{}", d.message);
    assert_eq!(d.location.map(|l| l.line), Some(9));
}

#[test]
fn a_step_that_is_no_step_lists_the_steps() {
    // The names, the hint and each tuple's form come from the one declaration of the steps.
    let d = only_error(&scenario("100.0", "4", "db", r#"Constant("2ms")"#, r#", Wrok("1ms")"#));
    assert_eq!(d.message, "unknown variant `Wrok` in `Step`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `Work`?"));
    // Through `--set`, the value is read by serde_json, which lists the steps and the forms.
    let set = |value: &str| {
        let edit = tailsim_model::Override::parse(&format!("services.db.handler=[{value}]")).expect("an override");
        let base = tailsim_scenario::parse::parse(&valid()).expect("the file reads");
        tailsim_scenario::overrides::apply(base, &[edit]).expect_err("a bad step").message
    };
    let names = "expected one of `Work`, `Call`, `Fail`, `FanOut`, `Parallel`, `Cached`, `Invalidate`, `Put`, `Publish`, `Batch`";
    assert!(set(r#"Sleep("1s")"#).ends_with(&format!("unknown variant `Sleep`, {names}")), "{}", set(r#"Sleep("1s")"#));
    let call = r#"expected a service name and an optional policy: Call("db") or Call("db", (timeout: "200ms"))"#;
    assert!(set("Call()").ends_with(call), "{}", set("Call()"));
}

#[test]
fn every_step_writes_back_as_it_reads() {
    // `--set` edits a scenario through its serialised form, so each step must read back the
    // same: newtype steps as one value, tuple steps as their elements in order.
    let steps = r#", Call("api", (timeout: "50ms")), Fail(0.5), FanOut("api", 3, (wait: Any)),
        Parallel([Call("api")], (wait: Any)), Cached("c", [Call("api")]), Invalidate("c"), Put("c")"#;
    let text = scenario("100.0", "4", "db", r#"Constant("2ms")"#, steps);
    let parsed = tailsim_scenario::parse::parse(&text).expect("the steps read");
    let written = ron::to_string(&parsed).expect("a scenario writes");
    let again = tailsim_scenario::parse::parse(&written).expect("the written steps read");
    assert_eq!(format!("{parsed:?}"), format!("{again:?}"));
}

#[test]
fn nesting_too_deep_is_refused_where_it_happens_with_a_hint_about_steps_and_mixtures() {
    let mut step = r#"Work(Constant("1ms"))"#.to_string();
    for _ in 0..200 {
        step = format!(r#"Cached("c", [{step}])"#);
    }
    let d = only_error(&scenario("100.0", "4", "db", r#"Constant("2ms")"#, &format!(", {step}")));
    assert!(d.message.starts_with("the scenario nests deeper than"), "{}", d.message);
    // The `db` service, on line 7 of the template, holds the nesting.
    assert!(d.location.is_some_and(|at| at.line == 7), "{d:?}");
    let hint = d.hint.unwrap_or_default();
    assert!(hint.contains("mixture") && hint.contains("services that call each other"), "{hint}");
}

#[test]
fn did_you_mean_stops_looking_once_its_comparisons_are_spent() {
    // 3,000 services, each calling a misspelt one of them: every hint would compare its word
    // with 3,000 names, 9 million comparisons in all. The budget (2 million) lets the first
    // 666 errors look, so the ones shown keep their "did you mean", and the rest list.
    let services: Vec<String> =
        (0..3_000).map(|i| format!(r#"Service(name: "svc{i}", handler: [Call("svc{i}q")])"#)).collect();
    let text = format!(
        "Scenario(name: \"n\", duration: \"3s\", clients: [Client(name: \"c\", target: \"svc0\", rate: 1.0)], \
         services: [{}])",
        services.join(",\n")
    );
    let all = errors(&text);
    assert_eq!(all.len(), 3_000);
    let hint = |d: &Diagnostic| d.hint.clone().unwrap_or_default();
    assert!(all[..666].iter().all(|d| hint(d).starts_with("did you mean `svc")), "{}", hint(&all[665]));
    assert!(all[666..].iter().all(|d| hint(d).starts_with("valid services: `svc0`")), "{}", hint(&all[666]));
}
