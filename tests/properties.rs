//! Property tests over generated scenarios: any valid scenario runs without panicking,
//! conserves requests and messages, and gives the same bytes twice; any text, however mangled, gets
//! diagnostics rather than a panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tailsim_engine::SimDuration;
use tailsim_scenario::schema::{
    Admission, Arrivals, Autoscale, Backoff, Balancer, BatchOptions, Breaker, BreakerWindow, Budget, Bulkhead, Cache,
    CacheScope, Class, Client, Concurrency, Consumes, Contention, Delivery, Discipline, DistSpec, Duration as Dur,
    FailureKind, FanOutOptions, Fault, Hedge, Jitter, Keys, LimitMode, Losers, ParallelOptions, PartitionBy, Policy,
    PoolScope, Price, PublishOptions, Queue, RateLimit, Replication, Retry, Routing, ScaleMetric, Scenario,
    ScheduledMin, Service, Shape, Slo, Step, Tenant, Throttle, Topic, Wait, WhenFull,
};
use tailsim_sim::{Limits, world};

fn micros(range: std::ops::Range<u64>) -> impl Strategy<Value = Dur> {
    range.prop_map(|us| Dur(SimDuration(us * 1_000)))
}

fn leaf_dist() -> impl Strategy<Value = DistSpec> {
    prop_oneof![
        micros(0..5_000).prop_map(DistSpec::Constant),
        micros(1..5_000).prop_map(|mean| DistSpec::Exponential { mean }),
        (micros(0..2_000), micros(0..3_000)).prop_map(|(a, b)| DistSpec::Uniform { min: a, max: Dur(a.0 + b.0) }),
        (micros(1..2_000), micros(1..3_000)).prop_map(|(median, extra)| DistSpec::LogNormal {
            median: Some(median),
            p99: Some(Dur(median.0 + extra.0)),
            mean: None,
            std_dev: None,
        }),
        (micros(1..2_000), micros(0..2_000)).prop_map(|(mean, std_dev)| DistSpec::Normal { mean, std_dev }),
        (micros(1..1_000), 1.1f64..4.0).prop_map(|(scale, shape)| DistSpec::Pareto { scale, shape }),
        (micros(1..3_000), 0.5f64..3.0).prop_map(|(scale, shape)| DistSpec::Weibull { scale, shape }),
        (micros(0..1_000), micros(0..1_000), micros(0..5_000)).prop_map(|(a, b, c)| DistSpec::Empirical(vec![
            (0.0, a),
            (0.5, Dur(a.0 + b.0)),
            (1.0, Dur(a.0 + b.0 + c.0))
        ])),
    ]
}

fn dist() -> impl Strategy<Value = DistSpec> {
    prop_oneof![
        4 => leaf_dist(),
        1 => prop::collection::vec((0.01f64..10.0, leaf_dist()), 1..4).prop_map(DistSpec::Mixture),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    let backoff = prop_oneof![
        Just(Backoff::None),
        micros(1..5_000).prop_map(Backoff::Constant),
        (micros(1..2_000), micros(0..20_000), 0usize..4).prop_map(|(base, extra, j)| Backoff::Exponential {
            base,
            cap: Dur(base.0 + extra.0),
            jitter: [Jitter::None, Jitter::Full, Jitter::Equal, Jitter::Decorrelated][j],
        }),
    ];
    let budget =
        prop::option::of((0.0f64..1.0, 0.0f64..20.0, 10u64..5_000).prop_map(|(ratio, min_per_s, ms)| Budget {
            ratio,
            min_per_s,
            window: Dur(SimDuration::from_millis(ms)),
        }));
    let retry = prop::option::of(
        (
            1u32..5,
            backoff,
            prop::sample::subsequence(
                vec![
                    FailureKind::Timeout,
                    FailureKind::Error,
                    FailureKind::Rejected,
                    FailureKind::BreakerOpen,
                    FailureKind::BulkheadFull,
                    FailureKind::NoConnection,
                ],
                0..=6,
            ),
            budget,
        )
            .prop_map(|(attempts, backoff, on, budget)| Retry { attempts, backoff, on, budget }),
    );
    let breaker = prop::option::of(
        (
            prop_oneof![(1u32..50).prop_map(BreakerWindow::Count), (1u32..10).prop_map(BreakerWindow::Time)],
            0.05f64..=1.0,
            0.05f64..=1.0,
            micros(1..20_000),
            1u32..50,
            micros(1..2_000_000),
            1u32..6,
        )
            .prop_map(
                |(window, failure_rate, slow_call_rate, slow_call_duration, minimum_calls, open_for, half)| Breaker {
                    window,
                    failure_rate,
                    slow_call_rate,
                    slow_call_duration,
                    minimum_calls,
                    open_for,
                    half_open_calls: half,
                },
            ),
    );
    let throttle =
        prop::option::of((0.5f64..4.0, micros(10_000..5_000_000)).prop_map(|(k, window)| Throttle { k, window }));
    let rate_limit =
        prop::option::of((1.0f64..5_000.0, 1.0f64..20.0, any::<bool>()).prop_map(|(rate, burst, delay)| RateLimit {
            rate,
            burst,
            mode: if delay { LimitMode::Delay } else { LimitMode::Reject },
        }));
    let bulkhead = prop::option::of((1u32..8, micros(0..20_000)).prop_map(|(max_concurrent, max_wait)| Bulkhead {
        max_concurrent,
        max_wait,
        // Odd sizes live in each instance of the caller.
        scope: if max_concurrent % 2 == 1 { PoolScope::PerInstance } else { PoolScope::Shared },
    }));
    (
        prop::option::of(micros(1..50_000)),
        prop::option::of(micros(0..100_000)),
        any::<bool>(),
        retry,
        breaker,
        (throttle, bulkhead, rate_limit),
    )
        .prop_map(|(timeout, extra, cancel_on_timeout, retry, breaker, (throttle, bulkhead, rate_limit))| Policy {
            timeout,
            deadline: extra.map(|e| Dur(SimDuration(timeout.map_or(1_000, |t| t.0.0) + e.0.0))),
            cancel_on_timeout,
            retry,
            breaker,
            throttle,
            hedge: None,
            bulkhead,
            rate_limit,
        })
}

/// Hedging, which only `Call` steps take.
fn hedge() -> impl Strategy<Value = Option<Hedge>> {
    prop::option::of(prop_oneof![
        (micros(0..5_000), 1u32..3, losers()).prop_map(|(after, max, losers)| Hedge {
            after: Some(after),
            percentile: None,
            max,
            losers
        }),
        (1.0f64..99.0, 1u32..3, losers()).prop_map(|(p, max, losers)| Hedge {
            after: None,
            percentile: Some(p),
            max,
            losers
        }),
    ])
}

fn losers() -> impl Strategy<Value = Losers> {
    prop_oneof![Just(Losers::Finish), Just(Losers::Cancel)]
}

/// The generated scenarios' caches.
const CACHES: [&str; 2] = ["guarded", "plain"];

/// The generated scenarios' topics: a bounded, keyed log whose last service reads it (its dead
/// letters go to the queue), and a bounded queue the service before it reads.
const TOPICS: [&str; 2] = ["log", "queue"];

/// What service `i` of `n` consumes: the last reads the log, the one before it the queue.
fn consumes(i: usize, n: usize) -> Option<Consumes> {
    let (topic, delivery, visibility_timeout, max_receives) = match n.checked_sub(i + 1) {
        Some(0) if n >= 2 => (TOPICS[0], Delivery::Log, None, 2),
        Some(1) if n >= 3 => (TOPICS[1], Delivery::Queue, Some(Dur(SimDuration::from_millis(5))), 3),
        _ => return None,
    };
    let dead_letter = (delivery == Delivery::Log).then(|| TOPICS[1].to_string());
    // Every other scenario's queue consumer sends heartbeats.
    let heartbeat = delivery == Delivery::Queue && n.is_multiple_of(2);
    Some(Consumes {
        topic: topic.into(),
        delivery,
        visibility_timeout,
        heartbeat,
        max_receives: Some(max_receives),
        dead_letter,
        // Every other scenario's log group pauses 20 ms to rebalance.
        rebalance_pause: (delivery == Delivery::Log && n.is_multiple_of(2)).then(|| Dur(SimDuration::from_millis(20))),
    })
}

fn topics(n: usize) -> Vec<Topic> {
    // The queue refuses when full in scenarios with an even number of services, and blocks its
    // publishers in the others.
    let when_full = if n.is_multiple_of(2) { WhenFull::Refuse } else { WhenFull::Block };
    vec![
        Topic {
            name: TOPICS[0].into(),
            partitions: 3,
            partition_by: PartitionBy::Key,
            capacity: Some(20),
            when_full: WhenFull::DropOldest,
            append: Some(DistSpec::Exponential { mean: Dur(SimDuration::from_nanos(200_000)) }),
            ttl: None,
        },
        Topic {
            name: TOPICS[1].into(),
            partitions: 1,
            partition_by: PartitionBy::Random,
            capacity: Some(30),
            when_full,
            append: None,
            ttl: Some(Dur(SimDuration::from_millis(50))),
        },
    ]
}

/// Services may only call services after them, so the call graph is acyclic by construction.
#[expect(clippy::too_many_lines, reason = "one strategy for a whole scenario, a field per line")]
fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..5)
        .prop_flat_map(|n_services| {
            let services = (0..n_services)
                .map(|i| {
                    let step = prop_oneof![
                        3 => dist().prop_map(Step::Work),
                        1 => (0.0f64..=1.0).prop_map(Step::Fail),
                        2 => (((i + 1)..n_services.max(i + 2)), policy(), hedge()).prop_map(move |(j, mut policy, hedge)| {
                            policy.hedge = hedge;
                            if j < n_services {
                                Step::Call { service: format!("s{j}"), policy }
                            } else {
                                Step::Work(DistSpec::Constant(Dur(SimDuration(1_000))))
                            }
                        }),
                        1 => (((i + 1)..n_services.max(i + 2)), 1u32..6, 0usize..3, policy(), losers()).prop_map(
                            move |(j, n, w, policy, losers)| {
                                if j < n_services {
                                    let wait = [Wait::All, Wait::Any, Wait::Quorum(n.div_ceil(2))][w];
                                    let options = FanOutOptions { wait, policy, losers };
                                    Step::FanOut { service: format!("s{j}"), n, options }
                                } else {
                                    Step::Fail(0.5)
                                }
                            },
                        ),
                        1 => (prop::collection::vec((((i + 1)..n_services.max(i + 2)), policy()), 1..4), 0usize..3, losers())
                            .prop_map(move |(calls, w, losers)| {
                                let calls: Vec<Step> = calls
                                    .into_iter()
                                    .filter(|(j, _)| *j < n_services)
                                    .map(|(j, policy)| Step::Call { service: format!("s{j}"), policy })
                                    .collect();
                                if calls.is_empty() {
                                    return Step::Fail(0.1);
                                }
                                let n = calls.len() as u32;
                                let wait = [Wait::All, Wait::Any, Wait::Quorum(n.div_ceil(2))][w];
                                Step::Parallel { calls, options: ParallelOptions { wait, losers } }
                            }),
                        // A cache in front of a later service (or of work), whose miss may fail.
                        2 => (((i + 1)..n_services.max(i + 2)), 0usize..2, policy(), 0.0f64..0.3).prop_map(
                            move |(j, c, policy, fail)| {
                                let fetch = if j < n_services {
                                    Step::Call { service: format!("s{j}"), policy }
                                } else {
                                    Step::Work(DistSpec::Constant(Dur(SimDuration(500_000))))
                                };
                                Step::Cached { cache: CACHES[c].into(), miss: vec![fetch, Step::Fail(fail)] }
                            },
                        ),
                        1 => (0usize..2, any::<bool>()).prop_map(|(c, put)| {
                            if put { Step::Put(CACHES[c].into()) } else { Step::Invalidate(CACHES[c].into()) }
                        }),
                        // A publish, fire and forget or acknowledged under a policy of the
                        // kinds an append takes.
                        1 => (0usize..2, any::<bool>(), policy()).prop_map(|(t, ack, mut policy)| {
                            policy.hedge = None;
                            policy.bulkhead = None;
                            policy.cancel_on_timeout = false;
                            let policy = if ack { policy } else { Policy::default() };
                            Step::Publish { topic: TOPICS[t].into(), options: PublishOptions { ack, policy } }
                        }),
                        // A batch (by size, or with a linger) whose run calls a later service
                        // (or works) and may fail.
                        1 => (
                            (1u32..6, prop::option::of(micros(100..5_000)), any::<bool>(), 1u32..3),
                            ((i + 1)..n_services.max(i + 2)),
                            policy(),
                            0.0f64..0.3,
                        )
                            .prop_map(move |((size, linger, per_item, flushes), j, policy, fail)| {
                                let run = if j < n_services {
                                    Step::Call { service: format!("s{j}"), policy }
                                } else {
                                    Step::Work(DistSpec::Exponential { mean: Dur(SimDuration(300_000)) })
                                };
                                let per_item = per_item.then_some(DistSpec::Constant(Dur(SimDuration(50_000))));
                                let options = BatchOptions { name: None, size, linger, per_item, flushes };
                                Step::Batch { options, steps: vec![run, Step::Fail(fail)] }
                            }),
                    ]
                    .boxed();
                    (
                        1u32..4,
                        1u32..5,
                        (prop::option::of(0u32..20), 0usize..3, prop::option::of(micros(0..20_000))),
                        (0usize..7, prop::option::of(micros(1_000..500_000))),
                        prop::collection::vec(step.clone(), 1..4),
                        prop::option::of(prop::collection::vec(step, 1..3)),
                    )
                        .prop_map(move |(instances, workers, (capacity, order, shed_after), (balancer, load_report_every), handler, for_a)| {
                            let weighted = balancer == 4;
                            // Every other round-robin service with two instances or more has replicas.
                            let replicated = balancer == 0 && instances >= 2 && i % 2 == 0;
                            let balancer = match balancer {
                                0 => Balancer::RoundRobin,
                                1 => Balancer::Random,
                                2 => Balancer::LeastOutstanding,
                                3 => Balancer::PowerOfTwo,
                                // Shards by key: a ring, or ranges with the hottest key pinned to instance 0.
                                5 => Balancer::ByKey { routing: Routing::Ring(4), pins: BTreeMap::new() },
                                6 if instances >= 2 => Balancer::ByKey { routing: Routing::Range, pins: BTreeMap::from([(0, 0)]) },
                                6 => Balancer::ByKey { routing: Routing::ModN, pins: BTreeMap::new() },
                                // Weights 1, 1, 2, 0, 1, 2, ...: zeros allowed, never all.
                                _ => Balancer::Weighted((0..instances).map(|k| f64::from(k % 3).max(f64::from(u8::from(k < 2)))).collect()),
                            };
                            let discipline = [Discipline::Fifo, Discipline::Lifo, Discipline::Priority][order];
                            // Async on every other service by shape, so both models meet in one graph.
                            let concurrency =
                                if (workers + i as u32).is_multiple_of(2) { Concurrency::Async } else { Concurrency::ThreadPerRequest };
                            Service {
                                name: format!("s{i}"),
                                instances,
                                workers,
                                queue: Queue { capacity, discipline, shed_after },
                                balancer,
                                load_report_every,
                                // Every third service (by shape) autoscales fast, from its instances up to 6, on
                                // utilisation or (by its number of instances) another metric.
                                autoscale: (workers == 2 && !weighted).then(|| Autoscale {
                                    target: (instances == 1).then_some(0.5),
                                    metric: match instances {
                                        1 => None,
                                        2 => Some(ScaleMetric::QueueDepth(2.0)),
                                        3 => Some(ScaleMetric::InFlight(3.0)),
                                        _ => Some(ScaleMetric::P95(Dur(SimDuration::from_millis(20)))),
                                    },
                                    min: 1,
                                    max: instances.max(6),
                                    interval: Dur(SimDuration::from_millis(200)),
                                    tolerance: 0.1,
                                    up_window: Dur(SimDuration::ZERO),
                                    down_window: Dur(SimDuration::from_millis(600)),
                                    startup: Dur(SimDuration::from_millis(150)),
                                    schedule: vec![ScheduledMin { at: Dur(SimDuration::from_millis(700)), min: 2 }],
                                }),
                                concurrency,
                                // Work slowed by concurrency (the USL) where there are 3 or more workers.
                                contention: (workers >= 3).then_some(Contention { sigma: 0.1, kappa: 0.05 }),
                                handler,
                                // Class "a" is always sent (by client 0), so it may have a handler.
                                handlers: for_a.map(|steps| BTreeMap::from([("a".to_string(), steps)])).unwrap_or_default(),
                                // Services of one worker stop statements past 20 ms.
                                statement_timeout: (workers == 1).then(|| Dur(SimDuration::from_millis(20))),
                                // Some services take few connections: their callers' pools starve.
                                max_connections: (workers % 3 == 1).then_some(3 + instances),
                                replication: replicated.then(|| Replication {
                                    writes: vec!["a".into()],
                                    lag: Some(DistSpec::Exponential { mean: Dur(SimDuration::from_millis(5)) }),
                                }),
                                // Some services admit each class at a rate of its own.
                                admission: (workers == 3).then_some(Admission { per: Tenant::Class, rate: 50.0, burst: 2.0 }),
                                consumes: consumes(i, n_services),
                            }
                        })
                })
                .collect::<Vec<_>>();
            let clients = prop::collection::vec(
                (
                    0..n_services,
                    1.0f64..3_000.0,
                    prop_oneof![Just(Arrivals::Poisson), Just(Arrivals::Constant)],
                    (policy(), hedge()).prop_map(|(mut policy, hedge)| {
                        policy.hedge = hedge;
                        policy
                    }),
                    (1.0f64..10.0, 1.0f64..10.0, 0usize..3),
                ),
                1..3,
            );
            let fault = (0..n_services, micros(0..3_000_000), micros(1..2_000_000), 0usize..12, 0.0f64..10.0).prop_map(
                |(service, at, duration, kind, x)| {
                    let cache = CACHES[service % 2].to_string();
                    let service = format!("s{service}");
                    match kind {
                        5 => Fault::CacheFlush { cache, at, fraction: x / 10.0 },
                        6 => Fault::CacheNodes { cache, at, nodes: 1 + x as u32 },
                        7 => Fault::KeyChange { cache, at },
                        10 => Fault::BrokerOutage { topic: TOPICS[x as usize % 2].into(), at, duration },
                        11 => Fault::BrokerSlowdown { topic: TOPICS[x as usize % 2].into(), at, duration, factor: x },
                        0 => Fault::Slowdown { service, instance: None, at, duration, factor: x },
                        1 => Fault::Errors { service, instance: Some(0), at, duration, probability: x / 10.0 },
                        2 => Fault::Outage { service, instance: None, at, duration },
                        3 => Fault::Pauses {
                            service,
                            instance: None,
                            at,
                            duration,
                            every: Dur(SimDuration::from_millis(100)),
                            pause: Dur(SimDuration::from_nanos_f64(x * 5e6 + 1e3)),
                        },
                        8 => Fault::Crash {
                            service,
                            instance: None,
                            at,
                            restart_after: duration,
                            detected_after: Dur(SimDuration::ZERO),
                        },
                        9 => Fault::Crash {
                            service,
                            instance: Some(0),
                            at,
                            restart_after: duration,
                            detected_after: Dur(SimDuration::from_nanos_f64(x * 1e8)),
                        },
                        _ => Fault::CpuQuota {
                            service,
                            instance: (x < 5.0).then_some(0),
                            at,
                            duration,
                            cpus: (x / 2.0).clamp(0.1, 4.0),
                            period: Dur(SimDuration::from_millis(10)),
                        },
                    }
                },
            );
            // An instance has one CPU limit at a time: a service keeps its first quota only.
            let faults = prop::collection::vec(fault, 0..3).prop_map(|faults| {
                let mut limited = Vec::new();
                faults
                    .into_iter()
                    .filter(|f| match f {
                        Fault::CpuQuota { service, .. } if limited.contains(service) => false,
                        Fault::CpuQuota { service, .. } => {
                            limited.push(service.clone());
                            true
                        }
                        _ => true,
                    })
                    .collect::<Vec<_>>()
            });
            ((services, clients, faults), (1u64..4, 0u64..1_000, 1u64..1_000, any::<u64>()))
        })
        .prop_map(|((services, clients, faults), (duration_s, warmup_ms, window_ms, seed))| Scenario {
            name: "generated".into(),
            description: None,
            duration: Dur(SimDuration::from_secs(duration_s)),
            warmup: Dur(SimDuration::from_millis(warmup_ms)),
            seed: Some(seed),
            clients: clients
                .into_iter()
                .enumerate()
                .map(|(k, (target, rate, arrivals, policy, (wa, wb, shape)))| Client {
                    name: format!("c{k}"),
                    target: format!("s{target}"),
                    // A rate below 300 makes a closed-loop client of rate / 10 users instead.
                    rate: (rate >= 300.0).then_some(rate),
                    users: (rate < 300.0).then_some(rate as u32 / 10 + 1),
                    think: (rate < 200.0).then(|| DistSpec::Exponential { mean: Dur(SimDuration::from_millis(20)) }),
                    arrivals,
                    // Open clients get shaped traffic by `shape`: none, steps and spikes, or bursts.
                    traffic: match (rate >= 300.0, shape) {
                        (true, 1) => vec![
                            Shape::Step { at: Dur(SimDuration::from_millis(500)), rate: rate * wa },
                            Shape::Ramp { from: Dur(SimDuration::from_secs(1)), to: Dur(SimDuration::from_millis(1500)), rate: 0.0 },
                            Shape::Spike { at: Dur(SimDuration::from_millis(1700)), duration: Dur(SimDuration::from_millis(100)), rate },
                        ],
                        (true, 2) => vec![
                            Shape::OnOff { on: Dur(SimDuration::from_millis(50)), off: Dur(SimDuration::from_millis(20 * wb as u64)) },
                            Shape::Diurnal { period: Dur(SimDuration::from_secs(1)), amplitude: wb / 10.0 },
                            Shape::Growth { per_hour: wa },
                        ],
                        _ => Vec::new(),
                    },
                    policy,
                    // Client 0 always sends classes "a" (priority 1) and "b"; the others vary.
                    classes: match if k == 0 { 2 } else { shape } {
                        0 => Vec::new(),
                        1 => vec![Class { name: "a".into(), weight: wa, priority: 1, keys: None }],
                        _ => vec![
                            Class { name: "a".into(), weight: wa, priority: 1, keys: None },
                            Class { name: "b".into(), weight: wb, priority: 0, keys: Some(Keys::HotSet { n: 40, hot: 2, share: 0.8 }) },
                        ],
                    },
                    keys: Some(Keys::Zipf { n: 50, s: wa / 5.0 }),
                    trace: None,
                })
                .collect(),
            topics: topics(services.len()),
            services,
            caches: vec![
                // Every protection at once, on a ring of nodes, with a short TTL.
                Cache {
                    name: CACHES[0].into(),
                    capacity: 8,
                    ttl: Some(Dur(SimDuration::from_millis(50))),
                    ttl_spread: Dur(SimDuration::from_millis(10)),
                    latency: Some(DistSpec::Constant(Dur(SimDuration::from_nanos(100_000)))),
                    scope: CacheScope::Shared,
                    nodes: 3,
                    routing: Routing::Ring(4),
                    coalesce: true,
                    stale_for: Some(Dur(SimDuration::from_millis(30))),
                    early: Some(1.0),
                    warm: 5,
                },
                // None, on hash-mod-N nodes: every miss fetches.
                Cache {
                    name: CACHES[1].into(),
                    capacity: 5,
                    ttl: Some(Dur(SimDuration::from_millis(20))),
                    ttl_spread: Dur::default(),
                    latency: None,
                    scope: CacheScope::Shared,
                    nodes: 2,
                    routing: Routing::ModN,
                    coalesce: false,
                    stale_for: None,
                    early: None,
                    warm: 0,
                },
            ],
            faults,
            window: Dur(SimDuration::from_millis(window_ms)),
            variants: Vec::new(),
            prices: vec![Price::Service { service: "s0".into(), per_instance_hour: 0.5, per_million_requests: 0.2 }],
            // Objectives on the first client and service, so the verdicts meet every generated run.
            slos: vec![
                Slo::Latency {
                    client: "c0".into(),
                    class: None,
                    mean: None,
                    p50: None,
                    p90: None,
                    p99: Some(Dur(SimDuration::from_millis(50))),
                    p999: None,
                    max: Some(Dur(SimDuration::from_secs(1))),
                },
                Slo::Errors { client: "c0".into(), class: None, below: 0.01 },
                Slo::Availability { client: "c0".into(), p99: Some(Dur(SimDuration::from_millis(20))), errors: Some(0.05), at_least: 0.9 },
                Slo::Utilisation { service: "s0".into(), below: 0.8 },
                Slo::QueueWait { service: "s0".into(), mean: None, p50: None, p90: None, p99: None, p999: None, max: Some(Dur(SimDuration::from_millis(100))) },
            ],
        })
}

const LIMITS: Limits =
    Limits { max_in_flight: 20_000, max_events: 400_000, max_wall: None, stop: None, progress: None };

proptest! {
    // A fixed seed, so CI runs the same 256 cases every time. (A random seed once found the
    // async-cancel bug now pinned by resilience::async_visit_cancelled_while_its_call_is_out_ends_cleanly.)
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7a11_5eed),
        ..ProptestConfig::default()
    })]

    /// Written out as RON, read back, run twice: it loads, conserves requests, and repeats exactly.
    #[test]
    fn generated_scenarios_run_conserve_and_repeat(scenario in scenario()) {
        let text = ron::ser::to_string_pretty(&scenario, ron::ser::PrettyConfig::default()).expect("serialises");
        let (model, _) = match tailsim_model::load(&text, &[]) {
            Ok(loaded) => loaded,
            Err(errors) => panic!("generated scenario refused: {errors:#?}\n{text}"),
        };
        let first = world::run(&model, model.seed, 0, LIMITS);
        prop_assert!(first.conservation.holds, "{:?}\n{text}", first.conservation);
        for group in first.topics.iter().flat_map(|t| &t.groups) {
            prop_assert!(group.messages.balanced(), "{}: {:?}\n{text}", group.name, group.messages);
        }
        for client in &first.clients {
            prop_assert!(client.succeeded + client.failed <= client.arrivals + 20_000);
        }
        let second = world::run(&model, model.seed, 0, LIMITS);
        let json = |s: &tailsim_report::RunSummary| serde_json::to_string(s).expect("json");
        prop_assert_eq!(json(&first), json(&second));
    }

    /// Any edit of a valid file (characters inserted, deleted, replaced) gives diagnostics or a
    /// model, never a panic, and every diagnostic renders.
    #[test]
    fn mangled_text_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8)) {
        let mut text: Vec<char> = include_str!("../scenarios/checkout.ron").chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            match kind {
                0 => text.insert(i, c),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = c,
                _ => text.push(c),
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(errors) = tailsim_model::load(&text, &[]) {
            for d in errors {
                let _ = d.render("mangled.ron", &text);
            }
        }
    }
}

proptest! {
    // Fewer cases: drawing PNGs costs more than a short run.
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xc4a7_75ee),
        ..ProptestConfig::default()
    })]

    /// Every chart of any generated scenario draws as well-formed SVG and a decodable PNG.
    #[test]
    fn generated_scenarios_chart_cleanly(scenario in scenario()) {
        let text = ron::ser::to_string_pretty(&scenario, ron::ser::PrettyConfig::default()).expect("serialises");
        let (model, _) = tailsim_model::load(&text, &[]).unwrap_or_else(|e| panic!("refused: {e:#?}\n{text}"));
        let run = world::run(&model, model.seed, 0, LIMITS);
        let report = tailsim_sim::report(&model, model.seed, vec![run]);
        let graph = tailsim_model::graph::call_graph(&model);
        for chart in tailsim_report::chart::charts(&report, &graph) {
            let rendered = tailsim_report::chart::render(&chart).unwrap_or_else(|e| panic!("{e}\n{text}"));
            tailsim_tests::check_svg(&rendered.svg, None);
            tailsim_tests::check_png(&rendered.png);
        }
    }
}
