//! Memory stays bounded by the scenario, not by the run's length: collectors stream and no
//! per-request record is kept. A counting global allocator measures the peak heap of the same
//! scenario run for 100 s and for 1,000 s.

// The only unsafe code in the project: a global allocator must implement an unsafe trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tailsim_model::{Limits, Override};

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
    let summary = tailsim_model::world::run(&model, 42, 0, Limits::default());
    assert!(summary.conservation.holds);
    PEAK.load(Ordering::Relaxed) - base
}

/// One test, so that nothing else allocates while it measures: the counting allocator is
/// shared by every thread of this binary.
#[test]
fn memory_follows_the_scenario_not_the_run() {
    ten_times_longer_runs_use_the_same_memory();
    a_service_costs_the_memory_it_uses();
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
    let summary = tailsim_model::world::run(&model, 1, 0, Limits::default());
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
