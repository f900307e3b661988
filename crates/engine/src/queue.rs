//! The future-event list: a binary heap ordered by `(time, sequence)` with lazy cancellation
//! through generational keys, and a timer wheel beside it once many events are pending.
//!
//! Heap entries carry the event itself plus a `(slot, epoch)` pair; a small table holds each
//! slot's current epoch. Popping or cancelling an event bumps its slot's epoch, so an entry whose
//! epoch no longer matches is stale and skipped when it surfaces. Ties in time pop in scheduling
//! order, which makes runs deterministic. In steady state nothing allocates: slots are reused
//! through a free list and the heap keeps its capacity.
//!
//! While few events are pending the heap holds them all. Once it holds more than
//! [`WHEEL_FROM`], the queue starts a timer wheel of one-millisecond buckets: from then on the heap
//! holds only the events of the current bucket, and the others wait in theirs (see `wheel`),
//! so a million pending timeouts cost no more per event than a thousand. The order of events
//! is the heap's either way, ties included; the wheel only decides when an entry enters it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::num::NonZeroU32;

use crate::time::SimTime;
use crate::wheel::Wheel;

/// Events pending in the heap beyond which the queue starts its timer wheel: where a heap of
/// 40-byte entries outgrows the fastest caches.
pub const WHEEL_FROM: usize = 1 << 13;

/// A wheel bucket spans 2^20 ns (about a millisecond): the events of one bucket are sorted by the
/// heap, and most timeouts and backoffs in a scenario are many buckets away.
const WHEEL_SHIFT: u32 = 20;

/// Buckets in the wheel: with 2^20 ns each, 2^16 of them reach 68 s ahead, beyond the timeouts
/// of almost any scenario; later events wait in the wheel's overflow heap.
const WHEEL_BUCKETS: usize = 1 << 16;

/// A handle to a scheduled event, used to cancel it. Keys of events that already fired or were
/// cancelled are harmless: cancelling them does nothing. `Option<EventKey>` is 8 bytes, as a
/// key is: a call record keeps four of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey {
    /// The slot plus one, so that the key has a niche for `None`.
    slot: NonZeroU32,
    epoch: u32,
}

const _: () = assert!(size_of::<Option<EventKey>>() == 8);

/// An event in the heap or the wheel, with what orders it and what tells whether it is stale.
pub(crate) struct Entry<E> {
    pub(crate) time: SimTime,
    seq: u64,
    slot: u32,
    epoch: u32,
    event: E,
}

impl<E> Entry<E> {
    /// `(time, seq)` as one number, so that comparing two entries is one 128-bit comparison.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time.0) << 64) | u128::from(self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl<E> Eq for Entry<E> {}

impl<E> Ord for Entry<E> {
    /// Reversed, so that std's max-heap pops the earliest `(time, seq)` first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl<E> PartialOrd for Entry<E> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A deterministic priority queue of future events of type `E`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// The events after the current bucket of time, once the heap has grown large.
    wheel: Option<Box<Wheel<E>>>,
    /// The last instant whose events are all in the heap: the wheel's current bucket's end, or
    /// the end of time while there is no wheel.
    near_until: u64,
    /// The time of the last event popped: no event is ever scheduled before it.
    last: SimTime,
    /// Heap entries beyond which to start the wheel.
    wheel_from: usize,
    wheel_shift: u32,
    wheel_buckets: usize,
    /// The current epoch of every slot; an entry is live while its epoch matches.
    epochs: Vec<u32>,
    free: Vec<u32>,
    next_seq: u64,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::tuned(WHEEL_FROM, WHEEL_SHIFT, WHEEL_BUCKETS)
    }

    /// An empty queue that starts a wheel of `buckets` buckets of `2^shift` ns once its heap
    /// holds more than `from` entries: small ones let tests exercise the wheel with a few events.
    fn tuned(from: usize, shift: u32, buckets: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            wheel: None,
            near_until: u64::MAX,
            last: SimTime::ZERO,
            wheel_from: from,
            wheel_shift: shift,
            wheel_buckets: buckets,
            epochs: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            len: 0,
        }
    }

    /// The number of live (scheduled, not cancelled, not yet popped) events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no live event is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `event` at `time`. Events at the same time pop in the order they were scheduled.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) -> EventKey {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.epochs.len())
                    .ok()
                    .filter(|&slot| slot < u32::MAX)
                    .expect("more than 4 billion pending events");
                self.epochs.push(0);
                slot
            }
        };
        let epoch = self.epochs[slot as usize];
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        // The entry is built where it goes: built once before the branch, it would be written
        // to the stack piecewise and read back whole, a store-forwarding stall per event.
        if time.0 <= self.near_until {
            self.heap.push(Entry { time, seq, slot, epoch, event });
            if self.heap.len() > self.wheel_from {
                self.grown();
            }
        } else {
            self.push_far(Entry { time, seq, slot, epoch, event });
        }
        EventKey { slot: NonZeroU32::MIN.saturating_add(slot), epoch }
    }

    /// The heap has outgrown the caches: starts the wheel unless it runs already.
    #[cold]
    fn grown(&mut self) {
        if self.wheel.is_none() {
            self.start_wheel();
        }
    }

    /// Keeps an event after the wheel's current bucket in the wheel.
    #[inline(never)]
    fn push_far(&mut self, entry: Entry<E>) {
        match self.wheel.as_deref_mut() {
            Some(wheel) => wheel.push(entry),
            None => self.heap.push(entry), // not reached: without a wheel every event is near
        }
    }

    /// Starts the wheel at the current bucket and moves every later event into it.
    #[cold]
    fn start_wheel(&mut self) {
        let mut wheel = Box::new(Wheel::new(self.wheel_shift, self.wheel_buckets, self.last.0));
        let near_until = wheel.near_until();
        let (near, far): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.heap).into_vec().into_iter().partition(|e| e.time.0 <= near_until);
        self.heap = BinaryHeap::from(near);
        far.into_iter().for_each(|entry| wheel.push(entry));
        self.near_until = near_until;
        self.wheel = Some(wheel);
    }

    /// Cancels a scheduled event; returns whether it was still pending. Its heap entry stays
    /// until it surfaces and is skipped.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        let slot = key.slot.get() - 1;
        match self.epochs.get_mut(slot as usize) {
            Some(epoch) if *epoch == key.epoch => {
                *epoch = epoch.wrapping_add(1);
                self.free.push(slot);
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Removes and returns the earliest live event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            if self.heap.peek().is_none_or(|top| top.time.0 > self.near_until) {
                if !self.refill() {
                    return None;
                }
                continue;
            }
            let entry = self.heap.pop()?;
            let epoch = &mut self.epochs[entry.slot as usize];
            if *epoch != entry.epoch {
                continue; // cancelled; the slot may already hold a newer event
            }
            *epoch = epoch.wrapping_add(1);
            self.free.push(entry.slot);
            self.len -= 1;
            self.last = entry.time;
            return Some((entry.time, entry.event));
        }
    }

    /// The time of the earliest live event, discarding stale entries on the way.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.peek_key().map(|(time, _)| time)
    }

    /// The `(time, sequence)` of the earliest live event, discarding stale entries on the way.
    #[inline]
    pub fn peek_key(&mut self) -> Option<(SimTime, u64)> {
        loop {
            match self.heap.peek() {
                Some(top) if top.time.0 <= self.near_until => {
                    if self.epochs[top.slot as usize] == top.epoch {
                        return Some((top.time, top.seq));
                    }
                    self.heap.pop();
                }
                _ => {
                    if !self.refill() {
                        return None;
                    }
                }
            }
        }
    }

    /// The heap has nothing due before the wheel's current bucket ends: moves the wheel on to
    /// its next occupied bucket and that bucket's live events into the heap. Returns false when
    /// there is nothing left anywhere (or no wheel, and so nothing beyond the heap).
    #[inline(never)]
    fn refill(&mut self) -> bool {
        let Some(wheel) = self.wheel.as_deref_mut() else {
            return false;
        };
        let epochs = &self.epochs;
        let moved = wheel.advance(&mut self.heap, |e| epochs[e.slot as usize] == e.epoch);
        self.near_until = wheel.near_until();
        moved
    }

    /// Takes the next sequence number without scheduling anything. A model that keeps some
    /// events beside the queue (a client's next arrival, say) stamps them with it and compares
    /// `(time, sequence)` with [`EventQueue::peek_key`]: the order is then exactly the one the
    /// queue would have given, ties included.
    #[inline]
    pub fn reserve_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use std::collections::BTreeMap;

    #[test]
    fn ties_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        for i in 0..10 {
            q.schedule(SimTime(5), i);
        }
        q.schedule(SimTime(1), 100);
        assert_eq!(q.pop(), Some((SimTime(1), 100)));
        for i in 0..10 {
            assert_eq!(q.pop(), Some((SimTime(5), i)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn reserved_sequence_numbers_interleave_with_scheduled_ones() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), 'a');
        let reserved = q.reserve_seq();
        q.schedule(SimTime(5), 'b');
        assert_eq!(q.peek_key(), Some((SimTime(5), 0)));
        assert!((SimTime(5), reserved) < (SimTime(5), 2));
        q.pop();
        assert_eq!(q.peek_key(), Some((SimTime(5), 2)));
    }

    #[test]
    fn stale_keys_do_not_cancel_reused_slots() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), 'a');
        assert_eq!(q.pop(), Some((SimTime(1), 'a')));
        let b = q.schedule(SimTime(2), 'b'); // reuses a's slot
        assert!(!q.cancel(a));
        assert_eq!(q.len(), 1);
        assert!(q.cancel(b));
        assert!(!q.cancel(b));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    /// Compares the queue with a `BTreeMap` keyed by `(time, seq)` over a million random
    /// schedule / cancel / pop operations, events up to 50 ns ahead.
    #[test]
    fn matches_a_btreemap_reference() {
        against_reference(EventQueue::new(), 7, 1_000_000, |rng, now| now + rng.random_range(0..50));
    }

    /// The same with the wheel started after 4 pending events, buckets of 8 ns and 64 of them
    /// (512 ns ahead): events land in the heap, in buckets, past the last bucket (into the
    /// overflow) and at the end of time, so every path of the wheel is compared.
    #[test]
    fn with_a_wheel_matches_a_btreemap_reference() {
        for seed in 0..4 {
            against_reference(EventQueue::tuned(4, 3, 64), seed, 300_000, |rng, now| match rng.random_range(0..100) {
                0 => u64::MAX - rng.random_range(0..3),
                1..=9 => now.saturating_add(rng.random_range(0..20_000)),
                10..=49 => now.saturating_add(rng.random_range(0..8)),
                _ => now.saturating_add(rng.random_range(0..600)),
            });
        }
    }

    /// A sparse wheel: a few events far apart (whole turns of the wheel between them) after a
    /// crowd that started it.
    #[test]
    fn a_sparse_wheel_matches_a_btreemap_reference() {
        against_reference(EventQueue::tuned(2, 2, 128), 11, 100_000, |rng, now| {
            now + rng.random_range(0..4) * rng.random_range(0..2_000)
        });
    }

    fn against_reference(
        mut q: EventQueue<u64>,
        seed: u64,
        steps: usize,
        ahead: impl Fn(&mut Xoshiro256PlusPlus, u64) -> u64,
    ) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut reference: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut keys: Vec<(EventKey, (u64, u64))> = Vec::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..steps {
            match rng.random_range(0..10) {
                0..=4 => {
                    let time = ahead(&mut rng, now);
                    let key = q.schedule(SimTime(time), seq);
                    reference.insert((time, seq), seq);
                    keys.push((key, (time, seq)));
                    seq += 1;
                }
                5 if !keys.is_empty() => {
                    let idx = rng.random_range(0..keys.len());
                    let (key, at) = keys.swap_remove(idx);
                    assert_eq!(q.cancel(key), reference.remove(&at).is_some());
                }
                6 => assert_eq!(q.peek_key().map(|(t, s)| (t.0, s)), reference.first_key_value().map(|(k, _)| *k)),
                _ => {
                    let expected = reference.pop_first();
                    let got = q.pop();
                    assert_eq!(got.map(|(t, e)| ((t.0, e), e)), expected);
                    if let Some(((t, _), _)) = expected {
                        now = t;
                    }
                }
            }
            assert_eq!(q.len(), reference.len());
            if keys.len() > 10_000 {
                keys.drain(..5_000);
            }
        }
        while let Some(expected) = reference.pop_first() {
            assert_eq!(q.pop().map(|(t, e)| ((t.0, e), e)), Some(expected));
        }
        assert_eq!(q.pop(), None);
    }
}
