//! The future-event list: a binary heap ordered by `(time, sequence)` with lazy cancellation
//! through generational keys.
//!
//! Events live in a slab; the heap holds small `(time, sequence, slot, epoch)` entries. Popping or
//! cancelling an event bumps its slot's epoch, so a heap entry whose epoch no longer matches is
//! stale and skipped. Ties in time pop in scheduling order, which makes runs deterministic. In
//! steady state nothing allocates: slots are reused through a free list.

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    time: SimTime,
    seq: u64,
    slot: u32,
    epoch: u32,
}

impl Ord for Entry {
    /// Reversed, so that std's max-heap pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Slot<E> {
    epoch: u32,
    event: Option<E>,
}

/// A deterministic priority queue of future events of type `E`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    slots: Vec<Slot<E>>,
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
        EventQueue {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
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
            Some(slot) => {
                self.slots[slot as usize].event = Some(event);
                slot
            }
            None => {
                let slot =
                    u32::try_from(self.slots.len()).expect("more than 4 billion pending events");
                self.slots.push(Slot {
                    epoch: 0,
                    event: Some(event),
                });
                slot
            }
        };
        let epoch = self.slots[slot as usize].epoch;
        self.heap.push(Entry {
            time,
            seq: self.next_seq,
            slot,
            epoch,
        });
        self.next_seq += 1;
        self.len += 1;
        EventKey { slot, epoch }
    }

    /// Cancels a scheduled event and returns it; returns `None` if it already fired or was
    /// cancelled.
    pub fn cancel(&mut self, key: EventKey) -> Option<E> {
        let slot = self.slots.get_mut(key.slot as usize)?;
        if slot.epoch != key.epoch {
            return None;
        }
        let event = slot.event.take()?;
        slot.epoch = slot.epoch.wrapping_add(1);
        self.free.push(key.slot);
        self.len -= 1;
        Some(event)
    }

    /// Removes and returns the earliest live event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        while let Some(entry) = self.heap.pop() {
            let slot = &mut self.slots[entry.slot as usize];
            if slot.epoch != entry.epoch {
                continue; // cancelled; the slot may already hold a newer event
            }
            let event = slot.event.take().expect("a live slot holds its event");
            slot.epoch = slot.epoch.wrapping_add(1);
            self.free.push(entry.slot);
            self.len -= 1;
            return Some((entry.time, event));
        }
        None
    }

    /// The time of the earliest live event, discarding stale entries on the way.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(entry) = self.heap.peek() {
            if self.slots[entry.slot as usize].epoch == entry.epoch {
                return Some(entry.time);
            }
            self.heap.pop();
        }
        None
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
    fn stale_keys_do_not_cancel_reused_slots() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), 'a');
        assert_eq!(q.pop(), Some((SimTime(1), 'a')));
        let b = q.schedule(SimTime(2), 'b'); // reuses a's slot
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.cancel(b), Some('b'));
        assert_eq!(q.cancel(b), None);
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
                    assert_eq!(q.cancel(key), reference.remove(&at));
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
