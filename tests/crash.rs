//! Instance crashes with restart, to the visit and the millisecond: deterministic workloads
//! whose state at the crash can be counted by hand (what runs, what queues, what waits for its
//! calls), and a random workload with every mechanism at once whose accounting must stay exact:
//! a run that ends empty satisfies Little's law L = lambda W as an identity, not a statistic.

use tailsim_report::RunSummary;
use tailsim_tests::{load, run};

/// Little's law holds exactly at every client and service of a run that ended empty and had no
/// warm-up: both sides are the same sum of stays divided by the same time.
fn assert_little_exact(run: &RunSummary) {
    for c in &run.clients {
        assert_eq!(c.in_flight_at_end, 0, "client {} still has requests in flight", c.name);
        assert!(c.littles_law.relative_error < 1e-9, "client {}: {:?}", c.name, c.littles_law);
    }
    for s in &run.services {
        assert!(s.littles_law.relative_error < 1e-9, "service {}: {:?}", s.name, s.littles_law);
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// One instance, one worker, 25 ms of work, a request every 10 ms (the k-th at 10k ms): the
/// queue grows by 0.6 a request. The k-th request starts at 10 + 25 (k - 1) ms, so when the
/// instance crashes at 1000.5 ms, 39 are done, the 40th (sent at 400 ms) is running and the
/// 41st to 100th are queued: exactly 61 are lost, their callers answered with an error at
/// once (the oldest after 600.5 ms). The 50 requests sent while it is down (1010 to 1500 ms)
/// are refused; it restarts at 1500.5 ms empty, so the request at 1510 ms takes 25 ms again.
#[test]
fn a_crash_loses_exactly_what_the_instance_holds_and_restarts_empty() {
    let text = r#"Scenario(
        name: "crash",
        duration: "6s",
        clients: [Client(name: "users", target: "server", rate: 100.0, arrivals: Constant,
            traffic: [Step(at: "3s", rate: 0.0)])],
        services: [Service(name: "server", handler: [Work(Constant("25ms"))])],
        faults: [Crash(service: "server", at: "1000.5ms", restart_after: "500ms")],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (client, server) = (&run.clients[0], &run.services[0]);
    // Sent at 10 ms to 3 s: 100 before the crash, 50 while down, 150 after.
    assert_eq!(client.arrivals, 300);
    assert_eq!((client.failures.error, client.failures.rejected, client.succeeded), (61, 50, 189));
    assert_eq!((server.lost, server.rejected, server.completed, server.arrivals), (61, 50, 189, 300));
    assert_eq!(client.failure_latency.max_ms, Some(600.5));
    // Request k of a busy spell waits 15 (k - 1) ms: 39 before the crash, 150 after the restart.
    let spell = |n: f64| 25.0 * n + 15.0 * n * (n - 1.0) / 2.0;
    assert!(close(client.latency.mean_ms.unwrap(), (spell(39.0) + spell(150.0)) / 189.0), "{:?}", client.latency);
    assert_eq!(client.latency.max_ms, Some(25.0 + 15.0 * 149.0));
    // The 40th request had run 15.5 ms when it was lost.
    assert!(close(server.wasted_work_s, 0.0155), "{}", server.wasted_work_s);
    assert_eq!(
        (client.per_window.error[1], client.per_window.rejected[1], client.per_window.succeeded[0]),
        (61, 50, 39)
    );
    let fault = &run.faults[0];
    assert_eq!((fault.kind.as_str(), fault.start_s, fault.end_s, fault.lost), ("crash", 1.0005, 1.5005, 61));
    assert_little_exact(run);
}

/// A crash frees the bulkhead places its visits held. A pool of 3 in front of one worker busy
/// 100 ms, a call every 10 ms: 3 calls are inside at any time (one served, two queued) and 9 in
/// 10 are refused by the full pool. At the crash (1000.5 ms) the three inside are lost and give
/// their places back, so each call while the instance is down gets a place and is refused by
/// the instance (50 of them), not by the pool; after the restart the cycle starts afresh.
/// Were the places kept, every call from the crash on would be refused by the pool.
#[test]
fn a_crash_gives_back_the_bulkhead_places() {
    let text = r#"Scenario(
        name: "crash-pool",
        duration: "6s",
        clients: [Client(name: "users", target: "server", rate: 100.0, arrivals: Constant,
            traffic: [Step(at: "3s", rate: 0.0)], policy: (bulkhead: (max_concurrent: 3)))],
        services: [Service(name: "server", handler: [Work(Constant("100ms"))])],
        faults: [Crash(service: "server", at: "1000.5ms", restart_after: "500ms")],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let client = &run.clients[0];
    // Before: 7 refused (40..100 ms), then 9 in each of 9 cycles; after the restart: 7, then 9
    // in each of 14 cycles. Served: 9 before and all 17 admitted after; lost: 3.
    assert_eq!(client.failures.bulkhead_full, 7 + 9 * 9 + 7 + 9 * 14);
    assert_eq!((client.failures.rejected, client.failures.error, client.succeeded), (50, 3, 26));
    // Lost: the one served since 910 ms and those queued at 810 and 910 ms.
    assert_eq!(client.failure_latency.max_ms, Some(290.5));
    assert_eq!(run.services[0].lost, 3);
    assert_little_exact(run);
}

/// Two instances behind round robin, the second taking the first's traffic. Requests every
/// 10 ms retry once at once; each spends 5 ms at the api, then 30 ms on a call to the db with a
/// timeout. Odd requests go to instance 0, so at the crash of instance 0 (2003.5 ms) it holds
/// exactly the requests sent at 1970 and 1990 ms, both waiting for the db: they are lost, their
/// db calls abandoned (counted as cancelled; the db finishes them for nobody: 60 ms wasted).
/// Their retries go out at once: the balancer has not noticed yet (100 ms), so round robin
/// sends one to the dead instance (refused; it was the last attempt) and one to the other.
/// Until the crash is noticed at 2103.5 ms each new request (2010 to 2100 ms) is refused by
/// instance 0 and retried on instance 1; from then on round robin skips instance 0, until the
/// restart at 3003.5 ms.
#[test]
fn retries_and_balancers_act_on_a_crash_as_on_any_failure() {
    let text = r#"Scenario(
        name: "crash-retry",
        duration: "5s",
        clients: [Client(name: "users", target: "api", rate: 100.0, arrivals: Constant,
            traffic: [Step(at: "4s", rate: 0.0)], policy: (retry: (attempts: 2)))],
        services: [
            Service(name: "api", instances: 2, workers: 10,
                handler: [Work(Constant("5ms")), Call("db", (timeout: "1s"))]),
            Service(name: "db", workers: 100, handler: [Work(Constant("30ms"))]),
        ],
        faults: [Crash(service: "api", instance: 0, at: "2003.5ms", restart_after: "1s", detected_after: "100ms")],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (client, api, db) = (&run.clients[0], &run.services[0], &run.services[1]);
    let (edge, call) = (&run.edges[0], &run.edges[1]);
    assert_eq!((client.arrivals, client.succeeded, client.failures.rejected, client.failed), (400, 399, 1, 1));
    assert_eq!((edge.errors, edge.rejections, edge.retries, edge.attempts), (2, 11, 12, 412));
    assert_eq!((api.arrivals, api.rejected, api.lost, api.completed), (412, 11, 2, 399));
    // Instance 0: the 100 odd requests before the crash, 11 refused, 50 odd ones after.
    assert_eq!(api.instance_arrivals, vec![161, 251]);
    assert_eq!((call.calls, call.cancelled, call.succeeded), (401, 2, 399));
    assert!(close(db.wasted_work_s, 0.060), "{}", db.wasted_work_s);
    // The lost requests' workers had been held 33.5 and 13.5 ms.
    assert!(close(api.wasted_work_s, 0.047), "{}", api.wasted_work_s);
    assert_eq!(run.faults[0].lost, 2);
    assert_little_exact(run);
}

/// An async service loses work in every state: one worker; users' requests (every 10 ms) run
/// 1 ms, call the db for 15 ms without a worker, and run 1 ms more. A hog's request arrives at
/// 3333.333333 ms and holds the worker 300 ms. When the instance crashes at 3345.5 ms it holds:
/// the hog (running), the request of 3320 ms (its call answered at 3336 ms: queued for the
/// worker again), that of 3330 ms (its call still out) and that of 3340 ms (queued on arrival).
#[test]
fn an_async_service_loses_running_queued_and_waiting_visits() {
    let text = r#"Scenario(
        name: "crash-async",
        duration: "9s",
        clients: [
            Client(name: "users", target: "api", rate: 100.0, arrivals: Constant,
                traffic: [Step(at: "8s", rate: 0.0)]),
            Client(name: "hog", target: "api", rate: 0.3, arrivals: Constant,
                classes: [Class(name: "slow", weight: 1.0)]),
        ],
        services: [
            Service(name: "api", concurrency: Async,
                handler: [Work(Constant("1ms")), Call("db"), Work(Constant("1ms"))],
                handlers: {"slow": [Work(Constant("300ms"))]}),
            Service(name: "db", workers: 100, handler: [Work(Constant("15ms"))]),
        ],
        faults: [Crash(service: "api", at: "3345.5ms", restart_after: "100ms")],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (users, hog, api, db) = (&run.clients[0], &run.clients[1], &run.services[0], &run.services[1]);
    assert_eq!((api.lost, users.failures.error, hog.failures.error), (4, 3, 1));
    // Refused while down: the users' requests of 3350 to 3440 ms.
    assert_eq!((users.failures.rejected, api.rejected), (10, 10));
    assert_eq!(users.failure_latency.max_ms, Some(25.5));
    assert!(close(hog.failure_latency.max_ms.unwrap(), 12.166667), "{:?}", hog.failure_latency);
    // Only the hog held a worker; the db's answer to the request of 3330 ms comes for nobody.
    assert!(close(api.wasted_work_s, 0.012166667), "{}", api.wasted_work_s);
    assert!(close(db.wasted_work_s, 0.015), "{}", db.wasted_work_s);
    assert_little_exact(run);
}

/// Every mechanism at once under random traffic, with crashes of one instance and of whole
/// services (noticed at once, later, or never before the restart): async and thread-per-request
/// services, fan-outs and hedges that cancel their losers, timeouts that cancel, retries with
/// backoff, bulkheads with waiting, priority queues, shedding, load-aware balancers. The
/// traffic stops well before the end, so every run ends empty and Little's law must hold
/// exactly at every client and service; requests are conserved (checked by `run`).
#[test]
fn accounting_stays_exact_through_crashes_of_everything() {
    let text = r#"Scenario(
        name: "crash-everything",
        duration: "40s",
        clients: [
            Client(name: "users", target: "front", rate: 1500.0, traffic: [Step(at: "25s", rate: 0.0)],
                classes: [Class(name: "read", weight: 3.0), Class(name: "write", weight: 1.0, priority: 1)],
                policy: (timeout: "300ms", cancel_on_timeout: true,
                    retry: (attempts: 3, backoff: Exponential(base: "5ms", cap: "50ms", jitter: Full)))),
            Client(name: "batch", target: "front", rate: 500.0, traffic: [Step(at: "25s", rate: 0.0)],
                policy: (hedge: (after: "20ms", max: 1))),
        ],
        services: [
            Service(name: "front", instances: 3, workers: 32, balancer: LeastOutstanding,
                queue: (capacity: 50, discipline: Priority, shed_after: "200ms"),
                handler: [Work(Exponential(mean: "4ms")),
                    Call("mid", (timeout: "100ms", retry: (attempts: 2), bulkhead: (max_concurrent: 30, max_wait: "20ms"))),
                    Work(Exponential(mean: "4ms"))],
                handlers: {"write": [Parallel([Call("mid"), Call("leaf", (timeout: "50ms", cancel_on_timeout: true))],
                    (wait: Any, losers: Cancel))]}),
            Service(name: "mid", instances: 2, workers: 8, concurrency: Async, balancer: PowerOfTwo,
                handler: [Work(Exponential(mean: "2ms")), FanOut("leaf", 3, (wait: Quorum(2), losers: Cancel)),
                    Work(Exponential(mean: "2ms"))]),
            Service(name: "leaf", instances: 4, workers: 16,
                handler: [Work(Exponential(mean: "5ms")), Fail(0.05)]),
        ],
        faults: [
            Crash(service: "front", instance: 1, at: "3s", restart_after: "2s", detected_after: "500ms"),
            Crash(service: "mid", at: "6s", restart_after: "300ms"),
            Crash(service: "leaf", instance: 2, at: "8s", restart_after: "1s"),
            Crash(service: "mid", instance: 0, at: "11s", restart_after: "5s", detected_after: "10s"),
            Crash(service: "leaf", at: "14.5s", restart_after: "50ms"),
            Crash(service: "front", at: "18s", restart_after: "1s", detected_after: "200ms"),
            Crash(service: "leaf", instance: 0, at: "19s", restart_after: "1s"),
            Crash(service: "front", instance: 2, at: "22s", restart_after: "100ms"),
        ],
    )"#;
    let report = run(&load(text), 7, 4);
    for run in &report.runs {
        // No warm-up: every lost visit is counted by its service and by its crash.
        let lost: u64 = run.faults.iter().map(|f| f.lost).sum();
        assert_eq!(lost, run.services.iter().map(|s| s.lost).sum::<u64>());
        assert!(lost > 50, "the crashes caught too little: {lost}");
        assert!(run.edges.iter().any(|e| e.cancelled > 0));
        assert_little_exact(run);
    }
}

/// Balancers and a crash: until it is noticed, round robin sends every other request to the
/// dead instance, refused: exactly 50 of the 100 sent while it is down (1010 to 2000 ms). A
/// crashed instance holds nothing, so to a load-aware balancer it looks the idlest and it gets
/// more than its share (the "black hole" of least-connections balancing without health
/// checks): whenever the other instance has anything in progress. Once the crash is noticed,
/// every balancer sends all of them to the other instance.
#[test]
fn balancers_skip_a_noticed_crash_and_flock_to_an_unnoticed_one() {
    let text = |balancer: &str, detected: &str| {
        format!(
            r#"Scenario(
                name: "crash-balancer",
                duration: "3s",
                clients: [Client(name: "users", target: "server", rate: 100.0, arrivals: Constant)],
                services: [Service(name: "server", instances: 2, workers: 10, balancer: {balancer},
                    handler: [Work(Constant("25ms"))])],
                faults: [Crash(service: "server", instance: 0, at: "1000.5ms", restart_after: "1s",
                    detected_after: "{detected}")],
            )"#
        )
    };
    let blind = run(&load(&text("RoundRobin", "1h")), 1, 1);
    assert_eq!(blind.runs[0].services[0].rejected, 50);
    for balancer in ["LeastOutstanding", "PowerOfTwo"] {
        let unnoticed = run(&load(&text(balancer, "1h")), 1, 1);
        let rejected = unnoticed.runs[0].services[0].rejected;
        assert!(rejected > 60 && rejected <= 100, "{balancer}: {rejected}");
    }
    for balancer in ["RoundRobin", "Random", "LeastOutstanding", "PowerOfTwo", "Weighted([1, 3])"] {
        let noticed = run(&load(&text(balancer, "0s")), 1, 1);
        let server = &noticed.runs[0].services[0];
        assert_eq!(server.rejected, 0, "{balancer}");
        assert!(server.instance_arrivals[0] > 0 && server.lost > 0, "{balancer}: {server:?}");
    }
}

/// A crash and an in-process cache with single flight, one key, a 20 ms fetch from the db, a
/// request every 10 ms. The first crash (25 ms) strikes during the first fetch: the fetching
/// request (10 ms) and the one waiting for it (20 ms) are lost, and the fetch ends unfilled, so
/// after the restart (525 ms) the request of 530 ms fetches afresh and that of 540 ms waits for
/// it. The second crash (2000.5 ms) finds nothing in progress (hits take no time) but takes the
/// cache with the process: after its restart the request of 2510 ms misses again.
#[test]
fn a_crash_ends_its_cache_fetches_and_empties_its_in_process_cache() {
    let text = r#"Scenario(
        name: "crash-cache",
        duration: "4s",
        clients: [Client(name: "users", target: "api", rate: 100.0, arrivals: Constant,
            traffic: [Step(at: "3s", rate: 0.0)], keys: Uniform(n: 1))],
        services: [
            Service(name: "api", workers: 10, handler: [Cached("local", [Call("db")])]),
            Service(name: "db", workers: 10, handler: [Work(Constant("20ms"))]),
        ],
        caches: [Cache(name: "local", capacity: 10, scope: PerInstance, coalesce: true)],
        faults: [
            Crash(service: "api", at: "25ms", restart_after: "500ms"),
            Crash(service: "api", at: "2000.5ms", restart_after: "500ms"),
        ],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let cache = &run.caches[0];
    assert_eq!((cache.misses, cache.coalesced, cache.failed_fetches, cache.fills), (3, 3, 1, 2), "{cache:?}");
    assert_eq!((run.faults[0].lost, run.faults[1].lost), (2, 0));
    // Refused while down: 30 to 520 ms and 2010 to 2500 ms.
    let client = &run.clients[0];
    assert_eq!((client.failures.error, client.failures.rejected), (2, 100));
    assert_little_exact(run);
}
