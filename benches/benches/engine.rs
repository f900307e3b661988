//! Throughput benchmarks: customers per second through a whole M/M/1 run (arrivals, queue,
//! service, HdrHistogram recording, summary), messages through a topic to a consumer group, the
//! bundled checkout scenario, events per second
//! under CPU quotas (the cpu-throttling scenario), and the bare event queue, the M/M/1 run also with progress reporting on; checking files of 100,000 services, and merging a sharded sweep. Run with `cargo bench -p tailsim-benches`; CI smoke-runs them with `-- --test`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tailsim_engine::{EventQueue, SimTime};
use tailsim_sim::{Limits, Progress};

fn mm1_whole_run(c: &mut Criterion) {
    const CUSTOMERS: u64 = 10_000_000;
    let model = tailsim_benches::mm1(CUSTOMERS);
    let mut group = c.benchmark_group("mm1_rho_0.9");
    group.sample_size(10).measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.bench_function("10M_customers", |b| {
        b.iter(|| {
            let summary = tailsim_sim::world::run(black_box(&model), 1, 0, Limits::default());
            black_box(summary.clients[0].latency.p99_ms)
        })
    });
    // The same run reporting to progress counters, as the CLI's runs do: must cost nothing.
    static PROGRESS: Progress = Progress::new();
    let watched = Limits { progress: Some(&PROGRESS), ..Limits::default() };
    group.bench_function("10M_customers_with_progress", |b| {
        b.iter(|| {
            let summary = tailsim_sim::world::run(black_box(&model), 1, 0, watched);
            black_box(summary.clients[0].latency.p99_ms)
        })
    });
    group.finish();
}

/// Messages through a topic: one partition, one consumer, M/M/1 at rho 0.9 behind a producer.
fn topic_whole_run(c: &mut Criterion) {
    const MESSAGES: u64 = 2_000_000;
    let model = tailsim_benches::topic_mm1(MESSAGES);
    let mut group = c.benchmark_group("topic_one_partition");
    group.sample_size(10).measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::Elements(MESSAGES));
    group.bench_function("2M_messages", |b| {
        b.iter(|| {
            let summary = tailsim_sim::world::run(black_box(&model), 1, 0, Limits::default());
            black_box(summary.topics[0].groups[0].latency.p99_ms)
        })
    });
    group.finish();
}

fn checkout_whole_run(c: &mut Criterion) {
    let model = tailsim_benches::checkout();
    let requests = (model.duration.as_secs_f64() * model.clients[0].rate_per_s) as u64;
    let mut group = c.benchmark_group("checkout");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests));
    group.bench_function("60s", |b| {
        b.iter(|| black_box(tailsim_sim::world::run(black_box(&model), 42, 0, Limits::default()).events))
    });
    group.finish();
}

fn cpu_throttling_whole_run(c: &mut Criterion) {
    let model = tailsim_benches::cpu_throttling();
    let events = tailsim_sim::world::run(&model, 1, 0, Limits::default()).events;
    let mut group = c.benchmark_group("cpu_throttling");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("120s_events", |b| {
        b.iter(|| black_box(tailsim_sim::world::run(black_box(&model), 1, 0, Limits::default()).events))
    });
    group.finish();
}

fn event_queue_hold(c: &mut Criterion) {
    // The classic "hold" model: a queue of n pending events; pop one, schedule one later. Held
    // for up to 10 us, every event stays in the heap; held for up to 10 s (timeouts), a large
    // queue keeps most of them in its wheel.
    let mut group = c.benchmark_group("event_queue_hold");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    let cases = [
        (16u64, 10_000u64, ""),
        (10_000, 10_000, ""),
        (10_000, 10_000_000_000, "_over_10s"),
        (1_000_000, 10_000_000_000, "_over_10s"),
    ];
    for (n, spread, name) in cases {
        group.throughput(Throughput::Elements(1_000_000));
        group.bench_function(format!("{n}_pending{name}"), |b| b.iter(|| black_box(hold(n, spread))));
    }
    group.finish();
}

/// A million holds of a queue of `n` pending events, each scheduled up to `spread` ns ahead.
fn hold(n: u64, spread: u64) -> usize {
    let mut q = EventQueue::new();
    let mut x: u64 = 0x9e37_79b9;
    for i in 0..n {
        q.schedule(SimTime(i * 7919 % 10_007 * (spread / 10_000)), i);
    }
    for _ in 0..1_000_000u64 {
        let (t, e) = q.pop().expect("never empty");
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        q.schedule(SimTime(t.0 + x % spread), e);
    }
    q.len()
}

/// Checking large files: every rule linear or n log n, so 100,000 services (about 6 MB) check in
/// well under 2 s, as do 200,000 mentions of classes and 20,000 unknown names among 20,000
/// services (the did-you-mean hints' comparisons are budgeted).
fn check_large_files(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    let services = tailsim_benches::many_services(100_000);
    group.bench_function("100k_services", |b| {
        b.iter(|| black_box(tailsim_model::load(&services, &[]).map(|(m, w)| (m.services.len(), w.len()))))
    });
    let unknown = tailsim_benches::many_unknown_names(20_000);
    group.bench_function("20k_unknown_names", |b| {
        b.iter(|| black_box(tailsim_model::load(&unknown, &[]).err().map(|e| e.len())))
    });
    let classes = tailsim_benches::many_class_mentions(200_000);
    group.bench_function("200k_class_mentions", |b| {
        b.iter(|| black_box(tailsim_model::load(&classes, &[]).map(|(m, w)| (m.classes.len(), w.len()))))
    });
    group.finish();
}

/// Events per second against events pending, 2e2 to 1e6: the same scenario at rates from 100
/// to 500,000 requests per second, each request with a pending timeout (see
/// `tailsim_benches::pending_timeouts`). The target: no point below half the rate of the
/// point with ten thousand pending.
fn pending_timeouts(c: &mut Criterion) {
    let mut group = c.benchmark_group("pending_timeouts");
    group.sample_size(10);
    for rate in [100u64, 5_000, 50_000, 500_000] {
        let model = tailsim_benches::pending_timeouts(rate);
        let events = tailsim_sim::world::run(&model, 1, 0, Limits::default()).events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(format!("{}_pending", 2 * rate), |b| {
            b.iter(|| black_box(tailsim_sim::world::run(black_box(&model), 1, 0, Limits::default()).events))
        });
    }
    group.finish();
}

/// A minute of 1,000 requests a second under 100 and under 100,000 faults on the one service.
/// Each visit reads only the faults open at its instant, so 100,000 faults cost their own
/// bookkeeping (sorting, opening and closing each: about 3x the 100-fault run), not a scan of
/// every fault at every visit (12 s for the 100,000 before).
fn many_faults(c: &mut Criterion) {
    let mut group = c.benchmark_group("many_faults");
    group.sample_size(10);
    for n in [100usize, 100_000] {
        let model = tailsim_benches::many_faults(n);
        group.bench_function(format!("{n}_faults"), |b| {
            b.iter(|| black_box(tailsim_sim::world::run(black_box(&model), 1, 0, Limits::default()).events))
        });
    }
    group.finish();
}

/// Merging a sharded sweep: 1,000 shard files of 10 runs each (100 loads x 100 replications of
/// M/M/1) decoded, checked, dealt back into order and summarised into `sweep.csv`, as `tailsim
/// merge` does before drawing. The target: well under a second per thousand runs.
fn merge_shards(c: &mut Criterion) {
    let files = tailsim_benches::sweep_shards(100, 100, 1_000);
    let mut group = c.benchmark_group("merge_shards");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("1000_files_10000_runs", |b| {
        b.iter(|| {
            let shards: Vec<(String, tailsim_sim::shard::ShardFile)> = files
                .iter()
                .enumerate()
                .map(|(i, bytes)| (i.to_string(), tailsim_sim::shard::ShardFile::decode(bytes).expect("a shard")))
                .collect();
            match tailsim_sim::shard::merge(shards).expect("the shards merge") {
                tailsim_sim::shard::Work::Sweep(b) => black_box(b.setup.finish(b.runs).0.csv().len()),
                _ => unreachable!("a sweep's shards"),
            }
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    merge_shards,
    mm1_whole_run,
    topic_whole_run,
    checkout_whole_run,
    cpu_throttling_whole_run,
    event_queue_hold,
    pending_timeouts,
    check_large_files,
    many_faults
);
criterion_main!(benches);
