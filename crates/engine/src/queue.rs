//! The future-event list: a binary heap ordered by `(time, sequence)` with lazy cancellation
//! through generational keys.
//!
//! Heap entries carry the event itself plus a `(slot, epoch)` pair; a small table holds each
//! slot's current epoch. Popping or cancelling an event bumps its slot's epoch, so an entry whose
//! epoch no longer matches is stale and skipped when it surfaces. Ties in time pop in scheduling
//! order, which makes runs deterministic. In steady state nothing allocates: slots are reused
//! through a free list and the heap keeps its capacity.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// A handle to a scheduled event, used to cancel it. Keys of events that already fired or were
/// cancelled are harmless: cancelling them does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey {
    slot: u32,
    epoch: u32,
}

struct Entry<E> {
    time: SimTime,
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
        EventQueue { heap: BinaryHeap::new(), epochs: Vec::new(), free: Vec::new(), next_seq: 0, len: 0 }
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
                let slot = u32::try_from(self.epochs.len()).expect("more than 4 billion pending events");
                self.epochs.push(0);
                slot
            }
        };
        let epoch = self.epochs[slot as usize];
        self.heap.push(Entry { time, seq: self.next_seq, slot, epoch, event });
        self.next_seq += 1;
        self.len += 1;
        EventKey { slot, epoch }
    }

    /// Cancels a scheduled event; returns whether it was still pending. Its heap entry stays
    /// until it surfaces and is skipped.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        match self.epochs.get_mut(key.slot as usize) {
            Some(epoch) if *epoch == key.epoch => {
                *epoch = epoch.wrapping_add(1);
                self.free.push(key.slot);
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Removes and returns the earliest live event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        while let Some(entry) = self.heap.pop() {
            let epoch = &mut self.epochs[entry.slot as usize];
            if *epoch != entry.epoch {
                continue; // cancelled; the slot may already hold a newer event
            }
            *epoch = epoch.wrapping_add(1);
            self.free.push(entry.slot);
            self.len -= 1;
            return Some((entry.time, entry.event));
        }
        None
    }

    /// The time of the earliest live event, discarding stale entries on the way.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.peek_key().map(|(time, _)| time)
    }

    /// The `(time, sequence)` of the earliest live event, discarding stale entries on the way.
    #[inline]
    pub fn peek_key(&mut self) -> Option<(SimTime, u64)> {
        while let Some(entry) = self.heap.peek() {
            if self.epochs[entry.slot as usize] == entry.epoch {
                return Some((entry.time, entry.seq));
            }
            self.heap.pop();
        }
        None
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
    /// schedule / cancel / pop operations.
    #[test]
    fn matches_a_btreemap_reference() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut q = EventQueue::new();
        let mut reference: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut keys: Vec<(EventKey, (u64, u64))> = Vec::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..1_000_000 {
            match rng.random_range(0..10) {
                0..=4 => {
                    let time = now + rng.random_range(0..50);
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
    }
}
