//! Batchers: the `Batch` steps of services. Each instance keeps one per step: a visit reaching
//! the step joins the instance's open batch and waits (a wait of one answer, as for a call:
//! its worker kept, or given back in an `Async` service). A batch closes when it is full or
//! its linger has passed since its first request, then waits for one of the instance's
//! `flushes` and runs the step's steps once, as a visit of kind [`VisitKind::Batch`] without a
//! worker (the batcher's own). Its end answers every request in it, with its outcome.
//!
//! Batches live in a slab and their lists of requests are reused, so the steady state
//! allocates nothing. A crash takes the instance's batchers with it (their requests are lost
//! with the instance's other visits); an instance stopped by the autoscaler closes its open
//! batches at once, so that it can finish what it holds.

use super::*;
use tailsim_model::compile::{BatchModel, ServiceModel};
use tailsim_stats::BatchSummary;

/// A request waiting in a batch: its visit and the token of its wait.
type Item = (VisitId, u32);

/// One batch: open (collecting), closed (waiting for a flush), or running.
struct Batch {
    /// The batcher, an index into [`Batchers::stats`].
    batcher: u32,
    service: u32,
    /// The instance, global.
    instance: u32,
    items: Vec<Item>,
    /// Opened after the warm-up: counted.
    counted: bool,
    /// Its linger, while it is open.
    timer: Option<EventKey>,
}

/// One instance's state of one batcher.
#[derive(Default)]
struct Station {
    /// The batch collecting requests, if any.
    open: Option<u32>,
    /// Closed batches waiting for a flush, oldest first.
    ready: VecDeque<u32>,
    /// Batches running now.
    flushing: u32,
}

/// One batcher's counts, over its instances.
struct BatchStats {
    batches: u64,
    full: u64,
    items: u64,
    ran: u64,
    failed: u64,
    wait: LatencyRecorder,
    latency: LatencyRecorder,
}

/// Every batcher of a run with `Batch` steps.
pub(super) struct Batchers {
    /// Each service's first batcher in `stations` and `stats`.
    first: Vec<u32>,
    /// `stations[batcher][slot]`: by the service's instance slots.
    stations: Vec<Vec<Station>>,
    stats: Vec<BatchStats>,
    batches: Slab<Batch>,
    /// Lists of requests of batches that have ended, to reuse.
    spare: Vec<Vec<Item>>,
}

impl Batchers {
    /// The batchers of `model`, if any service has a `Batch` step.
    pub(super) fn new(model: &Model) -> Option<Batchers> {
        if model.services.iter().all(|s| s.batches.is_empty()) {
            return None;
        }
        let mut first = Vec::with_capacity(model.services.len());
        let (mut stations, mut stats) = (Vec::new(), Vec::new());
        for service in &model.services {
            first.push(stations.len() as u32);
            for _ in &service.batches {
                stations.push((0..service.max_instances()).map(|_| Station::default()).collect());
                stats.push(BatchStats {
                    batches: 0,
                    full: 0,
                    items: 0,
                    ran: 0,
                    failed: 0,
                    wait: LatencyRecorder::new(),
                    latency: LatencyRecorder::new(),
                });
            }
        }
        Some(Batchers { first, stations, stats, batches: Slab::new(), spare: Vec::new() })
    }
}

/// The batchers, in a world that has them.
macro_rules! batchers {
    ($world:expr) => {
        $world.batchers.as_mut().expect("a run with `Batch` steps has batchers")
    };
}

impl<'m> World<'m> {
    /// Visit `f` reaches its `Batch` step of batcher `b` (of its service): it joins its
    /// instance's open batch, or opens one, and waits for the batch's end.
    pub(super) fn join_batch(&mut self, f: VisitId, b: u32) {
        let (s, instance) = {
            let visit = &self.visits[f.index()];
            (visit.service, visit.instance)
        };
        let model: &'m BatchModel = &self.model.services[s as usize].batches[b as usize];
        if self.model.services[s as usize].concurrency == Concurrency::Async {
            self.release_for_calls(f);
        }
        let token = self.wait_for(f, 1, 0, 1);
        let (now, counted) = (self.now, self.now >= self.warmup_end);
        let slot = self.services[s as usize].fleet.local(instance);
        let batchers = batchers!(self);
        let batcher = batchers.first[s as usize] + b;
        let station = &mut batchers.stations[batcher as usize][slot as usize];
        let id = match station.open {
            Some(id) => id,
            None => {
                let items = batchers.spare.pop().unwrap_or_default();
                let batch = Batch { batcher, service: s, instance, items, counted, timer: None };
                let id = batchers.batches.insert(batch) as u32;
                batchers.stations[batcher as usize][slot as usize].open = Some(id);
                if let Some(linger) = model.linger {
                    let key = self.events.schedule(now + linger, Event::Linger(id));
                    batchers!(self).batches[id as usize].timer = Some(key);
                }
                id
            }
        };
        let batch = &mut batchers!(self).batches[id as usize];
        batch.items.push((f, token));
        if batch.items.len() as u32 >= model.size {
            self.close_batch(id);
        }
    }

    /// Batch `id`'s linger has passed: it closes, however few it holds.
    pub(super) fn on_linger(&mut self, id: u32) {
        batchers!(self).batches[id as usize].timer = None;
        self.close_batch(id);
    }

    /// Open batch `id` closes (full, lingered, or its instance stopping): it waits for a flush.
    fn close_batch(&mut self, id: u32) {
        let now = self.now;
        let batchers = batchers!(self);
        let batch = &mut batchers.batches[id as usize];
        let (batcher, service, instance) = (batch.batcher, batch.service, batch.instance);
        if let Some(key) = batch.timer.take() {
            self.events.cancel(key);
        }
        let b = (batcher - batchers.first[service as usize]) as usize;
        let size = self.model.services[service as usize].batches[b].size;
        let batch = &batchers.batches[id as usize];
        if batch.counted {
            let stats = &mut batchers.stats[batcher as usize];
            stats.batches += 1;
            stats.full += u64::from(batch.items.len() as u32 >= size);
            stats.items += batch.items.len() as u64;
            for &(f, _) in &batch.items {
                stats.wait.record(now - self.visits[f.index()].queued_since);
            }
        }
        let slot = self.services[service as usize].fleet.local(instance);
        let station = &mut batchers.stations[batcher as usize][slot as usize];
        station.open = None;
        station.ready.push_back(id);
        self.start_flushes(service, batcher, slot);
    }

    /// Instance slot `slot` of service `s` runs its closed batches of `batcher` while it has
    /// flushes free.
    fn start_flushes(&mut self, s: u32, batcher: u32, slot: u32) {
        let now = self.now;
        let service: &'m ServiceModel = &self.model.services[s as usize];
        let batchers = batchers!(self);
        let b = batcher - batchers.first[s as usize];
        let station = &mut batchers.stations[batcher as usize][slot as usize];
        while station.flushing < service.batches[b as usize].flushes {
            let Some(id) = station.ready.pop_front() else { return };
            station.flushing += 1;
            let batch = &batchers.batches[id as usize];
            let (first, _) = batch.items[0];
            let tag = Tag { class: self.visits[first.index()].class, key: self.visits[first.index()].key };
            let (instance, counted) = (batch.instance, batch.counted);
            let parent = Parent::Batch { batch: id };
            let visit = Visit::new(s, instance, parent, now, counted, tag, service.batch_handler(b));
            let g = VisitId::new(self.visits.insert(Visit { kind: VisitKind::Batch, ..visit }));
            self.agenda.push(Action::Advance(g));
        }
    }

    /// The number of requests in batch `id`, for its `PerItem` step.
    pub(super) fn batch_items(&self, id: u32) -> usize {
        self.batchers.as_ref().map_or(0, |b| b.batches[id as usize].items.len())
    }

    /// Batch `id` has run, with `outcome`: every request in it goes on (or fails), and its
    /// flush takes the next closed batch.
    pub(super) fn flushed(&mut self, id: u32, outcome: Outcome) {
        let now = self.now;
        let batchers = batchers!(self);
        let mut batch = batchers.batches.remove(id as usize);
        let slot = self.services[batch.service as usize].fleet.local(batch.instance);
        batchers.stations[batch.batcher as usize][slot as usize].flushing -= 1;
        if batch.counted {
            let stats = &mut batchers.stats[batch.batcher as usize];
            stats.ran += 1;
            stats.failed += u64::from(outcome != Outcome::Success);
            for &(f, _) in &batch.items {
                stats.latency.record(now - self.visits[f.index()].queued_since);
            }
        }
        for &(visit, token) in &batch.items {
            self.call_returned(Caller::Visit { visit, token }, outcome);
        }
        batch.items.clear();
        let batchers = batchers!(self);
        batchers.spare.push(batch.items);
        self.start_flushes(batch.service, batch.batcher, slot);
    }

    /// Instances `slots` (global) of service `s` crashed: their batches are gone (their requests
    /// were lost with the instances' other visits, and their running batches with them).
    pub(super) fn batches_crashed(&mut self, s: u32, slots: &std::ops::Range<u32>) {
        let Some(batchers) = self.batchers.as_mut() else { return };
        let first = self.services[s as usize].fleet.first();
        let gone: Vec<usize> = batchers
            .batches
            .iter()
            .filter(|(_, b)| b.service == s && slots.contains(&b.instance))
            .map(|(id, _)| id)
            .collect();
        for id in gone {
            let mut batch = batchers.batches.remove(id);
            if let Some(key) = batch.timer.take() {
                self.events.cancel(key);
            }
            batch.items.clear();
            batchers.spare.push(batch.items);
        }
        let mine = batchers.first[s as usize] as usize
            ..batchers.first[s as usize] as usize + self.model.services[s as usize].batches.len();
        for stations in &mut batchers.stations[mine] {
            for slot in slots.clone() {
                stations[(slot - first) as usize] = Station::default();
            }
        }
    }

    /// Instance slots `slots` of service `s` stop taking traffic: their open batches close now.
    pub(super) fn close_open_batches(&mut self, s: u32, slots: std::ops::Range<u32>) {
        let Some(batchers) = self.batchers.as_ref() else { return };
        let first = batchers.first[s as usize] as usize;
        let open: Vec<u32> = (first..first + self.model.services[s as usize].batches.len())
            .flat_map(|b| slots.clone().filter_map(move |slot| batchers.stations[b][slot as usize].open))
            .collect();
        for id in open {
            self.close_batch(id);
        }
    }

    /// Panics, naming the instant, when a batcher's state disagrees with its batches: each
    /// station's open batch is open and below its size, its flushes running are the batches
    /// running, and every request in a batch waits for it (unless lost with its instance).
    pub(super) fn check_batches(&self) {
        let Some(batchers) = &self.batchers else { return };
        let at = self.now;
        let mut runs = vec![false; batchers.batches.capacity()];
        for (_, visit) in self.visits.iter().filter(|(_, v)| !v.lost()) {
            if let Parent::Batch { batch } = visit.parent {
                runs[batch as usize] = true;
            }
        }
        let running = |id: usize| runs[id];
        for (s, service) in self.model.services.iter().enumerate() {
            for (b, model) in service.batches.iter().enumerate() {
                let batcher = batchers.first[s] as usize + b;
                for (slot, station) in batchers.stations[batcher].iter().enumerate() {
                    let mine = |batch: &&Batch| {
                        batch.batcher as usize == batcher
                            && self.services[s].fleet.local(batch.instance) as usize == slot
                    };
                    let flushing = batchers.batches.iter().filter(|(id, batch)| mine(batch) && running(*id)).count();
                    assert_eq!(flushing, station.flushing as usize, "batcher {batcher} slot {slot} at {at}: flushes");
                    assert!(station.flushing <= model.flushes, "batcher {batcher} at {at}: too many flushes");
                    if let Some(open) = station.open {
                        let items = batchers.batches[open as usize].items.len() as u32;
                        assert!(items > 0 && items < model.size, "batcher {batcher} at {at}: open batch of {items}");
                    }
                }
            }
        }
        for (id, batch) in &batchers.batches {
            for &(f, token) in &batch.items {
                let waits = self.visits.get(f.index()).is_some_and(|v| v.wait.awaits(token));
                assert!(waits, "batch {id} at {at}: visit {f:?} in it does not wait for it");
            }
        }
    }

    /// Each batcher's summary, by service and then step order.
    pub(super) fn batch_summaries(&self) -> Vec<BatchSummary> {
        let Some(batchers) = &self.batchers else { return Vec::new() };
        let mut out = Vec::with_capacity(batchers.stats.len());
        for (service, first) in self.model.services.iter().zip(&batchers.first) {
            for (b, model) in service.batches.iter().enumerate() {
                let stats = &batchers.stats[*first as usize + b];
                out.push(BatchSummary {
                    service: service.name.clone(),
                    name: model.name.clone(),
                    batches: stats.batches,
                    full: stats.full,
                    lingered: stats.batches - stats.full,
                    items: stats.items,
                    mean_size: if stats.batches > 0 { stats.items as f64 / stats.batches as f64 } else { 0.0 },
                    ran: stats.ran,
                    failed: stats.failed,
                    wait: stats.wait.summary(),
                    latency: stats.latency.summary(),
                });
            }
        }
        out
    }
}
