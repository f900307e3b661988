//! Memory stays bounded by the scenario, not by the run's length: collectors stream and no
//! per-request record is kept. A counting global allocator measures the peak heap of the same
//! scenario run for 100 s and for 1,000 s, of idle services, and of a fan-out of fan-outs that
//! the limit on visits in flight must stop.

// The only unsafe code in the project: a global allocator must implement an unsafe trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tailsim_model::Override;
use tailsim_sim::Limits;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout as given to us.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap bytes above the starting point while running the checkout scenario for `seconds`,
/// in 100 time-series windows.
fn peak_bytes(seconds: u64) -> usize {
    let source = include_str!("../scenarios/checkout.ron");
    // The time series take memory per window (at most 100,000 windows): give both runs 100.
    let set = [
        Override { path: "duration".into(), value: format!("{seconds}s") },
        Override { path: "window".into(), value: format!("{}ms", seconds * 10) },
    ];
    let (model, _) = tailsim_model::load(source, &set).expect("valid");
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let summary = tailsim_sim::world::run(&model, 42, 0, Limits::default());
    assert!(summary.conservation.holds);
    PEAK.load(Ordering::Relaxed) - base
}

/// One test, so that nothing else allocates while it measures: the counting allocator is
/// shared by every thread of this binary.
#[test]
fn memory_follows_the_scenario_not_the_run() {
    ten_times_longer_runs_use_the_same_memory();
    a_service_costs_the_memory_it_uses();
    a_fan_out_of_fan_outs_stops_within_its_limit();
}

fn ten_times_longer_runs_use_the_same_memory() {
    let short = peak_bytes(100);
    let long = peak_bytes(1000);
    println!("peak heap: 100 s run {short} bytes, 1,000 s run {long} bytes");
    // What may grow is only what depends on extremes: the longest queue and the largest latency
    // (histograms cover up to it), both of which grow like the logarithm of the run length.
    // Ten times the requests must not cost more than 10% more memory; a per-request record of
    // even 8 bytes would add over 14 MB here.
    assert!(long <= short + short / 10, "peak heap grew from {short} to {long} bytes");
}

/// Peak heap bytes above the starting point while running `text` for one replication.
fn peak_of(text: &str) -> usize {
    let (model, _) = tailsim_model::load(text, &[]).expect("valid");
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let summary = tailsim_sim::world::run(&model, 1, 0, Limits::default());
    assert!(summary.conservation.holds);
    PEAK.load(Ordering::Relaxed) - base
}

fn a_service_costs_the_memory_it_uses() {
    // The same busy pair with 0 and with 400 more services that nothing calls: what each idle
    // one costs is its state, its two latency histograms at their first bucket (16 kB each at
    // three digits), its time series of 10 windows and its summary: about 55 kB. Histograms
    // that began at one second cost 172 kB each, 344 kB a service; 64 kB would catch a return.
    let scenario = |idle: usize| {
        let services: String =
            (0..idle).map(|i| format!(r#", Service(name: "idle{i}", handler: [Work(Constant("1ms"))])"#)).collect();
        format!(
            r#"Scenario(name: "m", duration: "10s", clients: [Client(name: "c", target: "s", rate: 100.0)],
               services: [Service(name: "s", handler: [Work(Exponential(mean: "5ms"))]){services}])"#
        )
    };
    let alone = peak_of(&scenario(0));
    let crowded = peak_of(&scenario(400));
    let per_service = (crowded.saturating_sub(alone)) / 400;
    println!("peak heap: {alone} bytes alone, {crowded} with 400 idle services: {per_service} bytes each");
    assert!(per_service < 64 * 1024, "{per_service} bytes per idle service");
}

/// Peak heap bytes above the starting point while running `text` with at most `in_flight`
/// requests in flight; the run must have stopped at that limit.
fn peak_stopped_by_the_limit(text: &str, in_flight: u64) -> usize {
    let (model, _) = tailsim_model::load(text, &[]).expect("valid");
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let limits = Limits { max_in_flight: in_flight, ..Limits::default() };
    let summary = tailsim_sim::world::run(&model, 1, 0, limits);
    assert!(summary.truncated.is_some(), "the limit stops it");
    PEAK.load(Ordering::Relaxed) - base
}

fn a_fan_out_of_fan_outs_stops_within_its_limit() {
    // One request fans out to 10,000 visits of `b`, each fanning out 10,000 more: 10^8 visits
    // (10 GB of visits and calls) in the first event, unless the live count stops it.
    let text = r#"Scenario(name: "fan", duration: "2s", clients: [Client(name: "c", target: "a", rate: 10.0)],
        services: [
            Service(name: "a", workers: 100, handler: [FanOut("b", 10000)]),
            Service(name: "b", workers: 100000, handler: [FanOut("c", 10000)]),
            Service(name: "c", workers: 100000, handler: [Work(Constant("1ms"))]),
        ])"#;
    let one = peak_stopped_by_the_limit(text, 1);
    let thousand = peak_stopped_by_the_limit(text, 1000);
    println!("peak heap of the fan-out of fan-outs: {one} bytes at 1 in flight, {thousand} at 1,000");
    // The live count is looked at every 64 agenda steps, so at most 64 fan-outs of 10,000
    // (a visit and a call each) pass the limit of 16 per request in flight: 1.28 million
    // visits and calls beyond 16,000, at most 104 bytes each (the size assertions on `Visit`
    // and `CallState`) and 8 of the slab's own, twice over while the slabs double:
    // 2 x 1.3e6 x 112 B = 290 MB at worst, against 10 GB unbounded.
    let worst = 2 * (16_000 + 64 * 20_000) * 112;
    assert!(one < worst && thousand < worst, "{one} and {thousand} bytes, beyond {worst}");
}
