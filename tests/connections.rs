//! A database's connection limit shared by its callers' connection pools: each pool takes its
//! connections when its instance starts, as many as are left, and gives them back when the
//! instance stops or crashes. Checked to the request on round robin's exact rotation.

use tailsim_model::Override;
use tailsim_tests::{load, run};

/// `instances` api instances behind round robin, each with its own pool of 10 connections to a
/// database that accepts 100; a request every 10 ms (the k-th at 10k ms, to 9 s) works 5 ms at
/// the api and then queries the database.
fn pooled(instances: u32) -> String {
    format!(
        r#"Scenario(
            name: "connections",
            duration: "10s",
            clients: [Client(name: "users", target: "api", rate: 100.0, arrivals: Constant,
                traffic: [Step(at: "9s", rate: 0.0)])],
            services: [
                Service(name: "api", instances: {instances}, workers: 4, handler: [Work(Constant("5ms")),
                    Call("db", (bulkhead: (max_concurrent: 10, scope: PerInstance)))]),
                Service(name: "db", workers: 100, max_connections: 100, handler: [Work(Constant("1ms"))]),
            ],
        )"#
    )
}

/// Ten instances with ten connections each fill the database's 100 and all work. An eleventh
/// finds none left: request k goes to instance (k - 1) mod 11, so the 81 requests with k a
/// multiple of 11 (of the 900) reach it, and each fails at its query, at once, for want of a
/// connection; every other request succeeds.
#[test]
fn the_eleventh_instance_of_a_100_connection_database_gets_none() {
    let ten = run(&load(&pooled(10)), 1, 1);
    let run10 = &ten.runs[0];
    assert_eq!((run10.clients[0].arrivals, run10.clients[0].succeeded, run10.clients[0].failed), (900, 900, 0));
    let db = &run10.services[1];
    assert_eq!((db.max_connections, db.connections_peak, db.connections_refused), (Some(100), 100, 0));

    let eleven = run(&load(&pooled(11)), 1, 1);
    let run11 = &eleven.runs[0];
    let (client, api, db, call) = (&run11.clients[0], &run11.services[0], &run11.services[1], &run11.edges[1]);
    assert_eq!(api.instance_arrivals[10], 81);
    assert_eq!((client.succeeded, client.failures.error, client.failed), (819, 81, 81));
    assert_eq!((call.no_connection, call.attempts, call.failed), (81, 819, 81));
    assert_eq!((db.arrivals, db.connections_peak, db.connections_refused), (819, 100, 10));

    // `--set` reaches the limit: 110 connections serve all eleven.
    let raised = Override::parse("services.db.max_connections=110").expect("path=value");
    let (model, _) = tailsim_model::load(&pooled(11), &[raised]).expect("valid");
    let run11 = &run(&model, 1, 1).runs[0];
    assert_eq!((run11.clients[0].failed, run11.services[1].connections_peak), (0, 110));
}

/// The autoscaler and the limit: 20 single-worker api instances, each with a pool of 5 of the
/// database's 100 connections, busy 91% (180 requests/s of 100 ms work and a 1 ms query); at
/// its first look (15 s) the HPA asks for ceil(20 x 91 / 80) = 23. The three new instances
/// find no connection left: from then on every request round robin sends them fails at its
/// query, and every other request succeeds.
#[test]
fn instances_the_autoscaler_adds_beyond_the_limit_fail_their_queries() {
    let text = r#"Scenario(
        name: "connections-hpa",
        duration: "60s",
        clients: [Client(name: "users", target: "api", rate: 180.0, arrivals: Constant,
            traffic: [Step(at: "59s", rate: 0.0)])],
        services: [
            Service(name: "api", instances: 20, handler: [Work(Constant("100ms")),
                Call("db", (bulkhead: (max_concurrent: 5, scope: PerInstance)))],
                autoscale: (target: 0.8, max: 40)),
            Service(name: "db", workers: 100, max_connections: 100, handler: [Work(Constant("1ms"))]),
        ],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (client, api, db, call) = (&run.clients[0], &run.services[0], &run.services[1], &run.edges[1]);
    // Window i reports the instances at its end: the window ending at 15 s closes just before.
    assert_eq!((api.per_window.instances[14], &api.per_window.instances[15..]), (20, &[23; 45][..]));
    let starved: u64 = api.instance_arrivals[20..23].iter().sum();
    assert!(starved > 1000, "{:?}", api.instance_arrivals);
    assert_eq!(api.instance_arrivals[..20].iter().sum::<u64>(), client.succeeded);
    assert_eq!((client.failures.error, call.no_connection), (starved, starved));
    assert_eq!((client.in_flight_at_end, client.arrivals), (0, client.succeeded + starved));
    assert_eq!((db.connections_peak, db.connections_refused), (100, 15));
}

/// Connections move with crashes. With eleven instances the eleventh (instance 10) starts
/// without any. When instance 0 crashes (3000.5 ms; idle then) its pool closes and its ten
/// connections go to instance 10, so while it is down (balancers skip it) nothing fails. When
/// it restarts (5000.5 ms) none are left for it, and now its requests fail: the 27 requests to
/// instance 10 before the crash (k a multiple of 11, k <= 300), and all those sent to
/// instance 0 after the restart, that is all its requests but the 28 before the crash.
#[test]
fn a_crashed_instance_gives_its_connections_to_one_that_had_none() {
    let text = pooled(11).replace(
        "\n        )",
        r#"
            faults: [Crash(service: "api", instance: 0, at: "3000.5ms", restart_after: "2s")],
        )"#,
    );
    let report = run(&load(&text), 1, 1);
    let run = &report.runs[0];
    let (client, api, db) = (&run.clients[0], &run.services[0], &run.services[1]);
    assert_eq!(run.faults[0].lost, 0);
    let errors = &client.per_window.error;
    assert_eq!((errors[3], errors[4]), (0, 0), "{errors:?}");
    assert_eq!(client.failures.error, 27 + api.instance_arrivals[0] - 28);
    assert_eq!(client.succeeded + client.failed, 900);
    assert_eq!((db.connections_peak, db.connections_refused), (100, 20));
}

/// Connections come back when the autoscaler stops instances. Ten api instances take all 100
/// of the database's connections (10 each) before a batch service, declared after them, opens
/// its pool of 10: it gets none, and each batch request fails. At 15 s the HPA sees 1% busy
/// (10 requests/s of 11 ms on 10 workers) against a 50% target and, with no scale-down window,
/// stops nine api instances; their pools close and the batch pool takes 10 of the 90. Batch requests every 100 ms (k x 100 ms, to
/// 29 s): the 149 before 15 s fail, the 141 from 15 s on succeed.
#[test]
fn instances_the_autoscaler_stops_give_their_connections_back() {
    let text = r#"Scenario(
        name: "connections-down",
        duration: "30s",
        clients: [
            Client(name: "users", target: "api", rate: 10.0, arrivals: Constant, traffic: [Step(at: "29s", rate: 0.0)]),
            Client(name: "jobs", target: "batch", rate: 10.0, arrivals: Constant, traffic: [Step(at: "29s", rate: 0.0)]),
        ],
        services: [
            Service(name: "api", instances: 10, handler: [Work(Constant("10ms")),
                Call("db", (bulkhead: (max_concurrent: 10, scope: PerInstance)))],
                autoscale: (target: 0.5, min: 1, max: 10, down_window: "0s")),
            Service(name: "batch", handler: [Call("db", (bulkhead: (max_concurrent: 10, scope: PerInstance)))]),
            Service(name: "db", workers: 100, max_connections: 100, handler: [Work(Constant("1ms"))]),
        ],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (users, jobs, api, db) = (&run.clients[0], &run.clients[1], &run.services[0], &run.services[2]);
    assert_eq!((api.per_window.instances[13], api.per_window.instances[14]), (10, 1));
    assert_eq!((users.failed, jobs.failures.error, jobs.succeeded), (0, 149, 141));
    assert_eq!((db.connections_peak, db.connections_refused), (100, 10));
}
