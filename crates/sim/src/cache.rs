//! A cache at run time: its stores (one exact LRU per node, or per instance), its entries' time
//! to live, the fetches in flight per key (for single flight and the stampede size), and its
//! counters. The visits that look it up, wait on it and fill it live in [`crate::world`]; this
//! module only keeps the cache's own state.

use crate::ids::{FetchId, VisitId};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use lru::LruCache;
use rand::RngExt;
use tailsim_engine::{RngStream, SimDuration, SimTime};
use tailsim_stats::{CacheEventSummary, CacheResize, CacheSeries, CacheSummary};

use tailsim_model::compile::{CacheEvent, CacheModel, ServiceModel};
use tailsim_model::keys::Placement;

/// A slot's store is above this bit: below are the key's generation and the key.
const STORE_SHIFT: u32 = 40;

/// A cached value: when it stops being fresh, and how long its last fetch took (XFetch's
/// `delta`).
#[derive(Clone, Copy, Debug)]
struct Entry {
    expires: SimTime,
    delta: SimDuration,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A fresh entry.
    Fresh,
    /// A fresh entry that XFetch decided to recompute now.
    Early {
        /// How long before its expiry the recompute starts.
        lead: SimDuration,
        /// Its last recompute time.
        delta: SimDuration,
    },
    /// An expired entry still served under stale-while-revalidate.
    Stale,
    /// Nothing usable.
    Missing,
}

/// The fetches of one key in flight, and the visits waiting for them (single flight).
#[derive(Default)]
pub struct InFlight {
    /// Fetches running.
    pub fetches: u32,
    /// `(visit, token)` of each waiter.
    pub waiters: Vec<(VisitId, u32)>,
}

/// A fetch a visit runs: what it will fill.
#[derive(Clone, Copy, Debug)]
pub struct Fetch {
    /// The cache.
    pub cache: u32,
    /// Where the key lives, and the key (with the key-format generation in its high half).
    pub slot: u64,
    /// When the fetch began, for the entry's `delta`.
    pub started: SimTime,
    /// The fetch below it in the visit's stack, if any.
    pub below: Option<FetchId>,
}

/// Counters of a cache, after the warm-up.
#[derive(Default)]
struct Counts {
    lookups: u64,
    hits: u64,
    stale: u64,
    misses: u64,
    coalesced: u64,
    early: u64,
    early_ahead: u64,
    refreshes: u64,
    fills: u64,
    failed_fetches: u64,
    evictions: u64,
    invalidations: u64,
    puts: u64,
    max_fetches: u32,
}

/// One cache of a run.
pub struct CacheState {
    stores: Vec<LruCache<u64, Entry>>,
    placement: Placement,
    /// The key format's generation: a deploy that changes it makes every key new.
    generation: u32,
    inflight: BTreeMap<u64, InFlight>,
    /// Emptied waiter lists, reused.
    spare: Vec<Vec<(VisitId, u32)>>,
    rng: RngStream,
    counts: Counts,
    resizes: Vec<CacheResize>,
    series: CacheSeries,
    /// The next of the model's events to happen.
    next_event: usize,
    /// Whether the warm-up is over: the counters count from then on (the time series count
    /// throughout).
    pub counting: bool,
}

impl CacheState {
    /// An empty cache, warmed if the model says so.
    pub fn new(model: &CacheModel, services: &[ServiceModel], rng: RngStream, window_s: f64) -> CacheState {
        let stores = model.stores(services).max(1);
        let capacity = NonZeroUsize::new(model.capacity as usize).unwrap_or(NonZeroUsize::MIN);
        let mut cache = CacheState {
            stores: (0..stores).map(|_| LruCache::with_hasher(capacity, lru::DefaultHasher::default())).collect(),
            placement: Placement::new(
                model.routing,
                model.nodes,
                tailsim_model::keys::salt(&model.name),
                model.key_space,
            ),
            generation: 0,
            inflight: BTreeMap::new(),
            spare: Vec::new(),
            rng,
            counts: Counts::default(),
            resizes: Vec::new(),
            series: CacheSeries { window_s, lookups: vec![0], hits: vec![0], stale: vec![0], fetches: vec![0] },
            next_event: 0,
            counting: false,
        };
        let instances = model.per_instance.map_or(1, |s| services[s.0 as usize].instances);
        for key in 0..model.warm {
            for instance in 0..instances {
                let slot = cache.slot(model, key, instance);
                cache.fill(model, slot, SimTime::ZERO, SimDuration::ZERO);
            }
        }
        cache
    }

    /// Where `key` lives, looked up from instance `instance` (its place among its service's
    /// instances): the store above bit `STORE_SHIFT`, the key's generation (its low 8 bits;
    /// a key from 256 key changes ago is the same key again) and the key below it.
    #[inline]
    pub fn slot(&self, model: &CacheModel, key: u32, instance: u32) -> u64 {
        let store = match model.per_instance {
            Some(_) => instance,
            None => self.placement.node(key),
        };
        (u64::from(store) << STORE_SHIFT) | (u64::from(self.generation & 0xff) << 32) | u64::from(key)
    }

    /// The store of `slot`, and the key it is stored under there (with its generation).
    fn store(&mut self, slot: u64) -> (&mut LruCache<u64, Entry>, u64) {
        let index = ((slot >> STORE_SHIFT) as usize).min(self.stores.len() - 1);
        (&mut self.stores[index], slot & ((1 << STORE_SHIFT) - 1))
    }

    /// Looks `slot` up at `now`.
    #[inline]
    pub fn lookup(&mut self, model: &CacheModel, slot: u64, now: SimTime) -> Found {
        let (store, key) = self.store(slot);
        let Some(entry) = store.get(&key).copied() else { return Found::Missing };
        if now < entry.expires {
            if let Some(beta) = model.early
                && entry.delta > SimDuration::ZERO
            {
                // XFetch: recompute when now - delta x beta x ln(u) >= expiry.
                let u = 1.0 - self.rng.random::<f64>(); // in (0, 1]
                let ahead = entry.delta.as_nanos() as f64 * beta * -u.ln();
                let lead = entry.expires - now;
                if ahead >= lead.as_nanos() as f64 {
                    return Found::Early { lead, delta: entry.delta };
                }
            }
            return Found::Fresh;
        }
        match model.stale_for {
            Some(stale) if now < entry.expires.saturating_add(stale) => Found::Stale,
            _ => Found::Missing,
        }
    }

    /// Writes `slot` fresh at `now`, its fetch having taken `delta`.
    pub fn fill(&mut self, model: &CacheModel, slot: u64, now: SimTime, delta: SimDuration) {
        let expires = match model.ttl {
            None => SimTime(u64::MAX),
            Some(ttl) => {
                let spread = if model.ttl_spread > SimDuration::ZERO {
                    SimDuration::from_nanos_f64(self.rng.random::<f64>() * model.ttl_spread.as_nanos() as f64)
                } else {
                    SimDuration::ZERO
                };
                now.saturating_add(ttl).saturating_add(spread)
            }
        };
        let (store, key) = self.store(slot);
        if let Some((evicted, _)) = store.push(key, Entry { expires, delta })
            && evicted != key
        {
            self.counts.evictions += u64::from(self.counting);
        }
    }

    /// Removes `slot`.
    pub fn invalidate(&mut self, slot: u64) {
        let (store, key) = self.store(slot);
        store.pop(&key);
    }

    /// The last recompute time known for `slot`, for a write-through `Put`.
    pub fn delta(&mut self, slot: u64) -> SimDuration {
        let (store, key) = self.store(slot);
        store.peek(&key).map_or(SimDuration::ZERO, |e| e.delta)
    }

    /// The fetches of `slot` in flight.
    pub fn inflight(&self, slot: u64) -> u32 {
        self.inflight.get(&slot).map_or(0, |i| i.fetches)
    }

    /// A fetch of `slot` begins.
    pub fn fetch_started(&mut self, slot: u64) {
        let spare = &mut self.spare;
        let entry = self
            .inflight
            .entry(slot)
            .or_insert_with(|| InFlight { fetches: 0, waiters: spare.pop().unwrap_or_default() });
        entry.fetches += 1;
        if self.counting {
            self.counts.max_fetches = self.counts.max_fetches.max(entry.fetches);
        }
    }

    /// Visit `visit`, in the wait `token`, waits for the fetch of `slot` in flight.
    pub fn wait(&mut self, slot: u64, visit: VisitId, token: u32) {
        if let Some(entry) = self.inflight.get_mut(&slot) {
            entry.waiters.push((visit, token));
        }
    }

    /// A fetch of `slot` ended; the waiters to wake are moved into `wake` once no fetch of the
    /// key is left running.
    pub fn fetch_ended(&mut self, slot: u64, wake: &mut Vec<(VisitId, u32)>) {
        let Some(entry) = self.inflight.get_mut(&slot) else { return };
        entry.fetches = entry.fetches.saturating_sub(1);
        wake.append(&mut entry.waiters);
        if entry.fetches == 0
            && let Some(done) = self.inflight.remove(&slot)
        {
            self.spare.push(done.waiters);
        }
    }

    /// The model's events due at `now` or before, applied in order.
    pub fn apply_events(&mut self, model: &CacheModel, now: SimTime) {
        while let Some(&(at, event)) = model.events.get(self.next_event) {
            if at > now {
                break;
            }
            self.next_event += 1;
            match event {
                CacheEvent::Flush(fraction) => {
                    for store in 0..self.stores.len() {
                        if fraction >= 1.0 {
                            self.stores[store].clear();
                            continue;
                        }
                        let doomed: Vec<u64> = self.stores[store]
                            .iter()
                            .map(|(k, _)| *k)
                            .filter(|_| self.rng.random::<f64>() < fraction)
                            .collect();
                        for key in doomed {
                            self.stores[store].pop(&key);
                        }
                    }
                }
                CacheEvent::KeyChange => self.generation = self.generation.wrapping_add(1),
                CacheEvent::Nodes(nodes) => {
                    let before = self.placement.clone();
                    self.placement.resize(nodes);
                    // A lost node's entries are gone; a new node starts empty.
                    let (low, high) = (before.nodes().min(nodes), before.nodes().max(nodes));
                    for store in low..high {
                        if let Some(store) = self.stores.get_mut(store as usize) {
                            store.clear();
                        }
                    }
                    self.resizes.push(CacheResize {
                        at_s: at.as_secs_f64(),
                        from: before.nodes(),
                        to: nodes,
                        moved_fraction: before.moved_fraction(&self.placement, model.key_space),
                    });
                }
            }
        }
    }

    /// The duration of one lookup.
    pub fn latency(&mut self, model: &CacheModel) -> SimDuration {
        model.latency.as_ref().map_or(SimDuration::ZERO, |d| d.sample(&mut self.rng))
    }

    /// Counts a lookup in window `window`: what it found, whether it starts a fetch (or a
    /// background refresh), and whether it waits for another's.
    #[inline]
    pub fn count_lookup(&mut self, found: Found, fetch: bool, waits: bool, window: usize) {
        let found_one = !matches!(found, Found::Missing);
        self.series.lookups[window] += 1;
        self.series.hits[window] += u64::from(found_one);
        self.series.stale[window] += u64::from(matches!(found, Found::Stale));
        self.series.fetches[window] += u64::from(fetch);
        if !self.counting {
            return;
        }
        let counts = &mut self.counts;
        counts.lookups += 1;
        match found {
            Found::Fresh | Found::Early { .. } => counts.hits += 1,
            Found::Stale => counts.stale += 1,
            Found::Missing => {}
        }
        if !found_one {
            if waits {
                counts.coalesced += 1;
            } else {
                counts.misses += 1;
            }
        }
        if fetch {
            match found {
                Found::Early { lead, delta } => {
                    counts.early += 1;
                    counts.early_ahead += u64::from(lead >= delta);
                }
                Found::Stale => counts.refreshes += 1,
                Found::Fresh | Found::Missing => {}
            }
        }
    }

    /// Counts a fill, or a fetch that failed.
    pub fn count_fetch_end(&mut self, filled: bool) {
        if !self.counting {
            return;
        }
        if filled {
            self.counts.fills += 1;
        } else {
            self.counts.failed_fetches += 1;
        }
    }

    /// Counts an invalidation or a put.
    pub fn count_write(&mut self, put: bool) {
        if !self.counting {
            return;
        }
        if put {
            self.counts.puts += 1;
        } else {
            self.counts.invalidations += 1;
        }
    }

    /// Opens the next window of the time series.
    pub fn open_window(&mut self) {
        self.series.lookups.push(0);
        self.series.hits.push(0);
        self.series.stale.push(0);
        self.series.fetches.push(0);
    }

    /// Drops the open window, which never began (the run ended on its boundary).
    pub fn drop_open_window(&mut self) {
        self.series.lookups.pop();
        self.series.hits.pop();
        self.series.stale.pop();
        self.series.fetches.pop();
    }

    /// Empties store `index` (an instance starting with a cold in-process cache).
    pub fn clear_store(&mut self, index: u32) {
        if let Some(store) = self.stores.get_mut(index as usize) {
            store.clear();
        }
    }

    /// The cache's results.
    pub fn summary(&self, model: &CacheModel) -> CacheSummary {
        let c = &self.counts;
        CacheSummary {
            name: model.name.clone(),
            lookups: c.lookups,
            hits: c.hits,
            stale: c.stale,
            misses: c.misses,
            coalesced: c.coalesced,
            early_refreshes: c.early,
            early_ahead: c.early_ahead,
            background_refreshes: c.refreshes,
            fills: c.fills,
            failed_fetches: c.failed_fetches,
            evictions: c.evictions,
            invalidations: c.invalidations,
            puts: c.puts,
            max_fetches_per_key: c.max_fetches,
            entries: self.stores.iter().map(|s| s.len() as u64).sum(),
            resizes: self.resizes.clone(),
            events: self.event_summaries(model),
            series: self.series.clone(),
        }
    }

    /// The model's events that happened, with what each did in words.
    fn event_summaries(&self, model: &CacheModel) -> Vec<CacheEventSummary> {
        let mut nodes = model.nodes;
        let happened = &model.events[..self.next_event.min(model.events.len())];
        happened
            .iter()
            .map(|&(at, event)| CacheEventSummary {
                at_s: at.as_secs_f64(),
                kind: match event {
                    CacheEvent::Flush(fraction) if fraction >= 1.0 => "flush".to_string(),
                    // Rounded to a hundredth of a percent, so 0.3 reads 30%, not 30.000000000000004%.
                    CacheEvent::Flush(fraction) => format!("flush {}%", (fraction * 10_000.0).round() / 100.0),
                    CacheEvent::Nodes(to) => format!("nodes {} -> {to}", std::mem::replace(&mut nodes, to)),
                    CacheEvent::KeyChange => "key change".to_string(),
                },
            })
            .collect()
    }
}
