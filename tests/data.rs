//! The data layer against exact arithmetic and probability: key-routed shards (range, hash,
//! pinned hot keys), and a primary with read replicas (where reads go, stale reads under
//! replication lag, and a failover).

use tailsim_model::keys::{KeyDist, Placement, salt};
use tailsim_model::kinds::Routing;
use tailsim_report::RunSummary;
use tailsim_scenario::schema::Keys;
use tailsim_tests::{load, run};

/// One client with `keys` (and `classes`) calling `db`, a service written in `db`.
fn scenario(keys: &str, classes: &str, db: &str, extra: &str) -> String {
    format!(
        r#"Scenario(
            name: "data",
            duration: "100s",
            clients: [Client(name: "users", target: "db", rate: 1000.0, keys: {keys}, classes: [{classes}])],
            services: [{db}],
            {extra}
        )"#
    )
}

fn run_once(text: &str) -> RunSummary {
    run(&load(text), 1, 1).runs.remove(0)
}

/// Asserts a binomial count: `k` of `n` trials against probability `p`, within 4 sd.
fn assert_binomial(what: &str, k: u64, n: u64, p: f64) {
    let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
    println!("{what}: {k} of {n}, expected {mean:.1} ± {sd:.1} (1 sd)");
    assert!((k as f64 - mean).abs() <= 4.0 * sd.max(0.5), "{what}: {k} vs {mean:.1} ± 4 x {sd:.1}");
}

/// Range partitioning splits the key space into equal ranges; keys are popularity ranks, so the
/// first shard holds the hottest keys and takes their whole Zipf mass.
#[test]
fn range_shards_take_the_popularity_mass_of_their_range() {
    let spec = Keys::Zipf { n: 1000, s: 1.0 };
    let text = scenario(
        "Zipf(n: 1000, s: 1.0)",
        "",
        r#"Service(name: "db", instances: 4, workers: 100, balancer: ByKey(routing: Range), handler: [Work(Constant("1ms"))])"#,
        "",
    );
    let summary = run_once(&text);
    let db = &summary.services[0];
    let dist = KeyDist::new(&spec).unwrap();
    for shard in 0..4u32 {
        let mass: f64 = (shard * 250..(shard + 1) * 250).map(|k| dist.probability(k)).sum();
        assert_binomial(&format!("shard {shard}"), db.instance_arrivals[shard as usize], db.arrivals, mass);
    }
}

/// A hot tenant pinned to a dedicated shard: that shard gets exactly its requests, and the
/// other keys spread over the other shards by hash, each shard taking the share of keys it owns.
#[test]
fn a_pinned_hot_key_has_its_shard_and_the_rest_hash_over_the_others() {
    let text = scenario(
        "HotSet(n: 1000, hot: 1, share: 0.5)",
        "",
        r#"Service(name: "db", instances: 4, workers: 100, balancer: ByKey(routing: Ring(50), pins: {0: 3}), handler: [Work(Constant("1ms"))])"#,
        "",
    );
    let summary = run_once(&text);
    let db = &summary.services[0];
    assert_binomial("pinned shard", db.instance_arrivals[3], db.arrivals, 0.5);
    // The other 999 keys, equally likely, on a ring of the three shared shards.
    let placement = Placement::new(Routing::Ring(50), 3, salt("db"), 1000);
    let others = db.arrivals - db.instance_arrivals[3];
    for shard in 0..3u32 {
        let owned = (1..1000).filter(|&k| placement.node(k) == shard).count() as f64;
        assert_binomial(&format!("shard {shard}"), db.instance_arrivals[shard as usize], others, owned / 999.0);
    }
}

/// Reads go around a replica that crashed once its crash is noticed: three replicas, reads
/// (1,000/s exactly; a write a second goes to the primary) in turn, replica 1 crashing at 10 s
/// for good, noticed 1 s later.
/// In that second a third of the reads reach it and are refused (333 or 334); before and after,
/// none fail, and from 11 s the other two share every read.
#[test]
fn reads_go_around_a_crashed_replica_once_noticed() {
    let text = r#"Scenario(
        name: "replica-crash",
        duration: "20s",
        clients: [
            Client(name: "users", target: "db", rate: 1000.0, arrivals: Constant,
                classes: [Class(name: "read", weight: 1.0)]),
            Client(name: "writers", target: "db", rate: 1.0, arrivals: Constant,
                classes: [Class(name: "write", weight: 1.0)]),
        ],
        services: [Service(name: "db", instances: 4, workers: 100, handler: [Work(Constant("1ms"))],
            replication: (writes: ["write"], lag: Constant("50ms")))],
        faults: [Crash(service: "db", instance: 1, at: "10s", detected_after: "1s")],
    )"#;
    let r = run_once(text);
    let client = &r.clients[0];
    assert!((333..=334).contains(&client.failures.rejected), "{:?}", client.failures);
    let failed = &client.per_window.failed;
    assert!(failed.iter().enumerate().all(|(w, &n)| (n > 0) == (w == 10)), "{failed:?}");
    // Replica 1 took a third of the 11,000 reads sent until 11 s, and none after.
    let arrivals = &r.services[0].instance_arrivals;
    assert!((3_666..=3_667).contains(&arrivals[1]), "{arrivals:?}");
    assert_eq!(arrivals[0], 19, "the writes");
    assert_eq!(r.clients[1].failures.rejected, 0);
}

const READ_WRITE: &str = r#"Class(name: "read", weight: 99.0), Class(name: "write", weight: 1.0)"#;

/// Writes go to the primary only; reads go to the replicas in turn. A read is stale when a write
/// of its key committed less than the lag before it: with writes of one key a Poisson stream at
/// rate w and a constant lag L, that is 1 - e^{-w L} of the reads (0.3935 for w = 10/s,
/// L = 50 ms).
#[test]
fn writes_go_to_the_primary_and_reads_within_the_lag_are_stale() {
    let text = scenario(
        "Uniform(n: 1)",
        READ_WRITE,
        r#"Service(name: "db", instances: 4, workers: 100, handler: [Work(Constant("0s"))],
            replication: (writes: ["write"], lag: Constant("50ms")))"#,
        "",
    );
    let summary = run_once(&text);
    let db = &summary.services[0];
    let classes = &summary.clients[0].classes;
    let (reads, writes) = (classes[0].arrivals, classes[1].arrivals);
    assert_eq!(db.instance_arrivals[0], writes, "every write, and only writes, at the primary");
    let replicas = &db.instance_arrivals[1..];
    assert_eq!(replicas.iter().sum::<u64>(), reads);
    assert!(replicas.iter().max().unwrap() - replicas.iter().min().unwrap() <= 1, "in turn: {replicas:?}");
    let replication = db.replication.as_ref().unwrap();
    assert_eq!(replication.replica_reads, reads);
    let w = writes as f64 / 100.0;
    assert_binomial("stale reads", replication.stale_reads, reads, 1.0 - (-w * 0.05).exp());
    // Per window they add up to the total (no warm-up).
    let per_window = &db.per_window.stale_reads;
    assert_eq!(per_window.len(), 100);
    assert_eq!(per_window.iter().sum::<u64>(), replication.stale_reads);
}

/// A failover: from the primary's failure until a replica is promoted (10 s + 20 s) writes are
/// refused and reads go on; afterwards there is one replica fewer.
#[test]
fn a_failover_refuses_writes_until_promotion_and_leaves_a_replica_fewer() {
    let text = scenario(
        "Uniform(n: 100)",
        READ_WRITE,
        r#"Service(name: "db", instances: 4, workers: 100, handler: [Work(Constant("1ms"))],
            replication: (writes: ["write"]))"#,
        r#"faults: [Failover(service: "db", at: "10s", detection: "10s", promotion: "20s")],"#,
    );
    let summary = run_once(&text);
    let classes = &summary.clients[0].classes;
    assert_eq!(classes[0].failed, 0, "reads carry on at the replicas");
    // Writes arriving in the 30 s window: Poisson with mean 10/s x 30 s = 300.
    let refused = classes[1].failed as f64;
    assert!((refused - 300.0).abs() < 4.0 * 300f64.sqrt(), "{refused} writes refused");
    assert_eq!(summary.clients[0].failures.rejected, classes[1].failed);
    // The third replica only served reads until the promotion at 40 s: a third of ~39,600.
    let db = &summary.services[0];
    let before = 990.0 * 40.0 / 3.0;
    let sd = (990.0f64 * 40.0).sqrt() / 3.0;
    assert!((db.instance_arrivals[3] as f64 - before).abs() < 4.0 * sd, "{:?}", db.instance_arrivals);
    assert_eq!(summary.faults[0].kind, "failover");
}

/// A key-routed store scaled from 10 to 11 shards during the run: hash mod N moves about 10/11
/// of the keys, a ring of 1,000 virtual nodes per shard about 1/11 (each within a point: the
/// ring's new arc has sd (1/11) / sqrt(1000) = 0.003).
#[test]
fn adding_a_shard_reports_the_keys_it_moved() {
    for (routing, expected) in [("ModN", 10.0 / 11.0), ("Ring(1000)", 1.0 / 11.0)] {
        let text = scenario(
            "Uniform(n: 20000)",
            "",
            &format!(
                r#"Service(name: "db", instances: 10, workers: 100, balancer: ByKey(routing: {routing}),
                    handler: [Work(Constant("1ms"))],
                    autoscale: (target: 0.5, min: 10, max: 11, interval: "1000s", schedule: [(at: "30s", min: 11)]))"#
            ),
            "",
        );
        let summary = run_once(&text);
        let resizes = &summary.services[0].resizes;
        assert_eq!(resizes.len(), 1, "{resizes:?}");
        assert_eq!((resizes[0].from, resizes[0].to), (10, 11));
        assert!((resizes[0].at_s - 30.0).abs() < 0.1, "{resizes:?}");
        assert!((resizes[0].moved_fraction - expected).abs() < 0.01, "{routing}: {resizes:?}");
        // After the change the new shard takes its share of the traffic.
        assert!(summary.services[0].instance_arrivals[10] > 0);
        // The time charts mark the change.
        let markers = tailsim_report::chart::instant_markers(&summary);
        let percent = (resizes[0].moved_fraction * 100.0).round();
        assert_eq!(markers.len(), 1);
        assert_eq!(markers[0].label, format!("db: shards 10 -> 11 ({percent}% of keys moved)"));
        assert_eq!(markers[0].at_s, resizes[0].at_s);
    }
}
