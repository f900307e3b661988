//! Proof of the `Batch` step against the arithmetic of Poisson arrivals and of its cost model:
//! a batch closes at the earlier of its size-th request and its linger after the first, so
//! the share of full batches, the mean batch size and the mean wait in the batcher follow from
//! the Poisson distribution; a batch of `b` with a base cost `c0` and `c1` per item gets
//! through `b / (c0 + b c1)` requests per second per flush; a failed batch fails every request
//! in it; and a crash loses exactly the batches the instance held.

use tailsim_model::analysis::{mean_batch, offered_load};
use tailsim_report::{BatchSummary, Report};
use tailsim_tests::{assert_theory, load, run};

/// A client at `rate`/s into "writer", whose first step is a batch with `options` running
/// `steps`; the writer is `Async` with ample workers, so requests reach the batcher as the
/// client's Poisson stream.
fn batching(rate: f64, options: &str, steps: &str, duration_s: u64) -> String {
    format!(
        r#"Scenario(
            name: "batching",
            duration: "{duration_s}s",
            warmup: "2s",
            clients: [Client(name: "users", target: "writer", rate: {rate:?})],
            services: [
                Service(name: "writer", workers: 10000, concurrency: Async,
                    handler: [Batch(({options}), [{steps}])]),
                Service(name: "db", workers: 10000, handler: [Work(Constant("1ms"))]),
            ],
        )"#
    )
}

fn batch_values(report: &Report, f: impl Fn(&BatchSummary) -> f64) -> Vec<f64> {
    report.runs.iter().map(|r| f(&r.batches[0])).collect()
}

/// P(N >= k) for N ~ Poisson(m), k = 0..=n.
fn poisson_tail(m: f64, n: u32) -> Vec<f64> {
    let mut tail = vec![1.0];
    let mut pmf = (-m).exp();
    for k in 1..=n {
        tail.push(tail[k as usize - 1] - pmf);
        pmf *= m / f64::from(k);
    }
    tail
}

/// Size-only batching of a Poisson stream: the request k-th in its batch (k = 1..b) waits
/// for the b - k arrivals after it, (b - k) / lambda on average, so the mean over a batch is
/// (b - 1) / (2 lambda): 4.5 ms for b = 10 at 1,000/s. Every batch is full. 20 replications of
/// 100,000 requests: the interval is near 1%.
#[test]
fn size_only_batches_wait_b_minus_one_over_two_lambda() {
    let text = batching(1000.0, "size: 10", "", 102);
    let report = run(&load(&text), 21, 20);
    assert_theory("mean wait in the batcher (ms)", &batch_values(&report, |b| b.wait.mean_ms.unwrap()), 4.5, 0.02);
    for b in report.runs.iter().map(|r| &r.batches[0]) {
        assert_eq!((b.full, b.lingered, b.ran, b.failed), (b.batches, 0, b.batches, 0), "{b:?}");
        assert_eq!(b.items, 10 * b.batches);
    }
}

/// Size and linger: a batch holds its first request and the N arrivals within the linger L,
/// N ~ Poisson(lambda L), up to b - 1 of them. So it is full with probability
/// P(N >= b - 1), its mean size is 1 + sum_{k=1}^{b-1} P(N >= k), and the requests' total
/// wait is the integral over [0, L] of those present while it is open, whose mean is
/// (1/lambda) sum_{k=0}^{b-2} (k + 1) P(N >= k + 1) (as the integral of a Poisson pmf over
/// [0, L] is P(N >= k + 1) / lambda). At 1,000/s, b = 10 and L = 5 ms: 6.8% full, mean size
/// 5.946, mean wait 2.846 ms. 20 replications of 200,000 requests.
#[test]
fn a_batch_closes_at_its_size_or_its_linger() {
    let (lambda, b, linger) = (1000.0, 10u32, 0.005);
    let text = batching(lambda, r#"size: 10, linger: "5ms""#, "", 202);
    let report = run(&load(&text), 22, 20);
    let tail = poisson_tail(lambda * linger, b);
    let full = tail[b as usize - 1];
    let size = 1.0 + (1..b).map(|k| tail[k as usize]).sum::<f64>();
    let wait_sum = (0..b - 1).map(|k| f64::from(k + 1) * tail[k as usize + 1]).sum::<f64>() / lambda;
    let wait_ms = wait_sum / size * 1000.0;
    println!("full {full:.5}, size {size:.5}, wait {wait_ms:.5} ms");
    assert_theory("share of full batches", &batch_values(&report, |b| b.full as f64 / b.batches as f64), full, 0.05);
    assert_theory("mean batch size", &batch_values(&report, |b| b.mean_size), size, 0.01);
    assert_theory("mean wait in the batcher (ms)", &batch_values(&report, |b| b.wait.mean_ms.unwrap()), wait_ms, 0.01);
    // `check` works its offered loads out with the same mean size.
    let model = load(&text);
    let predicted = mean_batch(&model.services[0].batches[0], lambda);
    assert!((predicted - size).abs() < 1e-9, "check's mean batch {predicted} against {size}");
}

/// The cost model: a batch of b = 100 holds its flush for 0.1 ms per request and then 2 ms,
/// 12 ms in all, so one flush gets through 100 / 0.012 = 8,333 requests/s and two flushes
/// twice that. Offered 20,000/s, the batcher is saturated and every batch full: in 10 s (no
/// warm-up) one flush runs exactly 10 / 0.012 = 833 (and a third) batches, two run 1,666. Row by row (b = 1), a flush gets through 1 / 2.1 ms = 476 requests/s.
#[test]
fn a_saturated_batcher_runs_b_over_c0_plus_b_c1() {
    for (size, flushes, batch_s) in [(100, 1, 0.012), (100, 2, 0.012), (1, 1, 0.0021)] {
        let options = format!(r#"size: {size}, linger: "50ms", per_item: Constant("100us"), flushes: {flushes}"#);
        let text =
            batching(20000.0, &options, r#"Work(Constant("2ms"))"#, 10).replace(r#"warmup: "2s""#, r#"warmup: "0s""#);
        let report = run(&load(&text), 23, 1);
        let b = &report.runs[0].batches[0];
        let expected = f64::from(flushes) * 10.0 / batch_s;
        assert!((b.ran as f64 - expected).abs() <= f64::from(flushes) + 1.0, "{b:?}: expected {expected} batches");
        assert_eq!(b.full, b.batches, "{b:?}");
        let goodput = report.runs[0].clients[0].goodput_per_s;
        println!("size {size}, flushes {flushes}: {} batches, {goodput:.0} requests/s", b.ran);
    }
}

/// A batch that fails fails every request in it: with `Fail(0.3)` in the batch's steps, 30% of
/// batches fail, and (all batches being full) 30% of requests.
#[test]
fn a_failed_batch_fails_every_request_in_it() {
    let text = batching(1000.0, "size: 10", "Fail(0.3)", 102);
    let report = run(&load(&text), 24, 20);
    assert_theory("share of batches failed", &batch_values(&report, |b| b.failed as f64 / b.ran as f64), 0.3, 0.03);
    let failed = |r: &tailsim_report::RunSummary| {
        let c = &r.clients[0];
        c.failures.error as f64 / (c.succeeded + c.failures.error) as f64
    };
    let values: Vec<f64> = report.runs.iter().map(failed).collect();
    assert_theory("share of requests failed", &values, 0.3, 0.03);
}

/// A thread-per-request service keeps each request's worker while it waits in its batch: with
/// 4 workers a batch of 10 never fills, and every batch closes by its linger, holding at most 4.
#[test]
fn waiting_requests_keep_their_workers_in_a_thread_per_request_service() {
    let text = r#"Scenario(
        name: "sync batching",
        duration: "20s",
        clients: [Client(name: "users", target: "writer", rate: 200.0)],
        services: [Service(name: "writer", workers: 4,
            handler: [Batch((size: 10, linger: "20ms"), [Work(Constant("1ms"))])])],
    )"#;
    let report = run(&load(text), 25, 2);
    for b in report.runs.iter().map(|r| &r.batches[0]) {
        assert_eq!((b.full, b.lingered), (0, b.batches), "{b:?}");
        assert!(b.mean_size > 1.0 && b.mean_size <= 4.0, "{b:?}");
    }
}

/// A crash loses the batches its instance holds, to the request. One request every 10 ms into
/// batches of 5 that each run 30 ms: the batch of requests 96-100 closed at 1,000 ms is
/// running when the instance crashes at 1,020.5 ms, and requests 101-102 wait in the open one
/// (with its linger pending): 7 lost. The 50 requests sent while it is down are refused; from
/// request 153 on batches fill again, and the last, of requests 298-300, closes by its linger.
#[test]
fn a_crash_loses_exactly_the_batches_the_instance_holds() {
    let text = r#"Scenario(
        name: "batch crash",
        duration: "6s",
        clients: [Client(name: "users", target: "writer", rate: 100.0, arrivals: Constant,
            traffic: [Step(at: "3s", rate: 0.0)])],
        services: [Service(name: "writer", workers: 100, concurrency: Async,
            handler: [Batch((size: 5, linger: "100ms"), [Work(Constant("30ms"))])])],
        faults: [Crash(service: "writer", at: "1020.5ms", restart_after: "500ms")],
    )"#;
    let report = run(&load(text), 1, 1);
    let run = &report.runs[0];
    let (client, batch) = (&run.clients[0], &run.batches[0]);
    assert_eq!(client.arrivals, 300);
    assert_eq!((client.failures.error, client.failures.rejected, client.succeeded), (7, 50, 243));
    // 19 full batches before the crash, the one lost running, 29 after the restart, and the
    // last of 3.
    assert_eq!((batch.batches, batch.full, batch.lingered, batch.ran, batch.items), (50, 49, 1, 49, 248));
    // The k-th request of a full batch waits (5 - k) x 10 ms for it to fill, then 30 ms for
    // its run (50 ms on average); the last batch's first waits its linger, then the run.
    let mean = (48.0 * 5.0 * 50.0 + 130.0 + 120.0 + 110.0) / 243.0;
    assert!((batch.latency.mean_ms.unwrap() - mean).abs() < 1e-6, "{:?}, expected {mean}", batch.latency);
    assert_eq!(batch.latency.max_ms, Some(130.0));
    assert_eq!(run.faults[0].lost, 7);
}

/// `check`'s offered load reaches the service a batch calls at the batches' rate: 1,000/s in
/// batches of 10 call "db" 100 times a second.
#[test]
fn check_carries_the_batch_rate_downstream() {
    let model = load(&batching(1000.0, "size: 10", r#"Call("db")"#, 12));
    let loads = offered_load(&model);
    assert!((loads[0].arrival_rate_per_s - 1000.0).abs() < 1e-9, "{:?}", loads[0]);
    assert!((loads[1].arrival_rate_per_s - 100.0).abs() < 1e-9, "{:?}", loads[1]);
}
