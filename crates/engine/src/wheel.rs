//! The far side of the future-event list: a timer wheel that holds events beyond the current
//! bucket of time until their bucket comes round, so that the heap only ever sorts the events
//! of the next millisecond or so.
//!
//! A run with a million requests in flight has a million pending timeouts, most of which are
//! cancelled before they fire. In a binary heap every one of them costs a sift through twenty
//! levels of a 40-megabyte array, a cache miss at each; here it costs a push onto the end of a
//! bucket and, when the bucket comes round, one move into a heap of that bucket's events (or,
//! cancelled meanwhile, nothing). The wheel never decides an order itself: it hands whole
//! buckets to the heap before any event of theirs is due, and the heap orders them by
//! `(time, sequence)` exactly as it would have alone.
//!
//! A bucket is a chain of fixed-size chunks from one shared pool, so the wheel holds about as
//! many entries' worth of memory as it holds entries, and reuses it without allocating.
//!
//! Buckets are numbered by `time >> shift`. The wheel covers the buckets after the current one,
//! as many as it has; an event further out waits in an overflow heap until its bucket is the
//! current one. A bitmap of occupied buckets, with a summary word over it, finds the next
//! occupied bucket in a few word reads however sparse the wheel is.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::queue::Entry;

/// Bits per word of the occupancy bitmaps.
const WORD: usize = u64::BITS as usize;

/// Entries per chunk of a bucket's chain.
const CHUNK: usize = 32;

/// No chunk: the end of a chain, or an empty bucket.
const NONE: u32 = u32::MAX;

/// Up to [`CHUNK`] entries of one bucket, and the chunk that follows them in it.
struct Chunk<E> {
    entries: Vec<Entry<E>>,
    next: u32,
}

/// A bucket: the first and last chunks of its chain, or [`NONE`] when empty.
#[derive(Clone, Copy)]
struct Bucket {
    first: u32,
    last: u32,
}

impl Bucket {
    const EMPTY: Bucket = Bucket { first: NONE, last: NONE };
}

/// An entry in the overflow heap. A type of its own, so that the heap of near events keeps its
/// `pop` to the two call sites of the event queue's hot path, where the compiler inlines it.
struct Far<E>(Entry<E>);

impl<E> PartialEq for Far<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<E> Eq for Far<E> {}

impl<E> Ord for Far<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl<E> PartialOrd for Far<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Buckets of future events, by time.
pub(crate) struct Wheel<E> {
    /// A bucket spans `2^shift` nanoseconds.
    shift: u32,
    /// The buckets, indexed by bucket number modulo their count (a power of two).
    buckets: Vec<Bucket>,
    /// Every chunk there is, in buckets or free.
    chunks: Vec<Chunk<E>>,
    /// Chunks in no bucket.
    free: Vec<u32>,
    /// One bit per bucket: whether it holds any entry.
    occupied: Vec<u64>,
    /// One bit per word of `occupied`: whether that word has any bit set.
    summary: Vec<u64>,
    /// The number of the current bucket, whose events are all in the heap.
    current: u64,
    /// Events beyond the last bucket, earliest first.
    overflow: BinaryHeap<Far<E>>,
}

impl<E> Wheel<E> {
    /// An empty wheel of `buckets` buckets (a power of two, a multiple of 64) of `2^shift` ns,
    /// whose current bucket holds `now`.
    pub(crate) fn new(shift: u32, buckets: usize, now: u64) -> Wheel<E> {
        assert!(buckets.is_power_of_two() && buckets >= WORD, "wheel buckets: a power of two, at least 64");
        assert!((1..64).contains(&shift), "wheel bucket width: 2^1 to 2^63 ns");
        let words = buckets / WORD;
        Wheel {
            shift,
            buckets: vec![Bucket::EMPTY; buckets],
            chunks: Vec::new(),
            free: Vec::new(),
            occupied: vec![0; words],
            summary: vec![0; words.div_ceil(WORD)],
            current: now >> shift,
            overflow: BinaryHeap::new(),
        }
    }

    /// The last instant of the current bucket: every event up to it belongs in the heap.
    #[inline]
    pub(crate) fn near_until(&self) -> u64 {
        (self.current << self.shift) | ((1u64 << self.shift) - 1)
    }

    /// Keeps an event that falls after the current bucket.
    pub(crate) fn push(&mut self, entry: Entry<E>) {
        let bucket = entry.time.0 >> self.shift;
        debug_assert!(bucket > self.current, "an event of the current bucket belongs in the heap");
        if bucket - self.current < self.buckets.len() as u64 {
            let slot = self.slot(bucket);
            let mut last = self.buckets[slot].last;
            if last == NONE || self.chunks[last as usize].entries.len() == CHUNK {
                let chunk = self.new_chunk();
                match last {
                    NONE => {
                        self.buckets[slot].first = chunk;
                        self.occupied[slot / WORD] |= 1 << (slot % WORD);
                        self.summary[slot / WORD / WORD] |= 1 << (slot / WORD % WORD);
                    }
                    _ => self.chunks[last as usize].next = chunk,
                }
                self.buckets[slot].last = chunk;
                last = chunk;
            }
            self.chunks[last as usize].entries.push(entry);
        } else {
            self.overflow.push(Far(entry));
        }
    }

    /// Makes the earliest bucket that holds anything the current one and moves its live entries
    /// (those `live` accepts) into `heap`; returns whether any bucket held anything. `heap`'s
    /// own earliest entry counts as a bucket too, so that no event is ever passed over.
    pub(crate) fn advance(&mut self, heap: &mut BinaryHeap<Entry<E>>, live: impl Fn(&Entry<E>) -> bool) -> bool {
        let in_heap = heap.peek().map(|e| e.time.0 >> self.shift);
        let in_overflow = self.overflow.peek().map(|e| e.0.time.0 >> self.shift);
        let in_wheel = self.next_occupied();
        let Some(next) = [in_heap, in_overflow, in_wheel].into_iter().flatten().min() else {
            return false;
        };
        self.current = next;
        let slot = self.slot(next);
        let mut chunk = std::mem::replace(&mut self.buckets[slot], Bucket::EMPTY).first;
        if chunk != NONE {
            self.clear(slot);
        }
        while chunk != NONE {
            let Chunk { entries, next } = &mut self.chunks[chunk as usize];
            heap.extend(entries.drain(..).filter(|e| live(e)));
            self.free.push(chunk);
            chunk = std::mem::replace(next, NONE);
        }
        while self.overflow.peek().is_some_and(|e| e.0.time.0 >> self.shift <= next) {
            if let Some(Far(entry)) = self.overflow.pop().filter(|e| live(&e.0)) {
                heap.push(entry);
            }
        }
        true
    }

    /// A chunk from the free ones, or a new one.
    fn new_chunk(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            let index = u32::try_from(self.chunks.len()).expect("more than 4 billion chunks of pending events");
            self.chunks.push(Chunk { entries: Vec::with_capacity(CHUNK), next: NONE });
            index
        })
    }

    #[inline]
    fn slot(&self, bucket: u64) -> usize {
        (bucket & (self.buckets.len() as u64 - 1)) as usize
    }

    fn clear(&mut self, slot: usize) {
        let word = &mut self.occupied[slot / WORD];
        *word &= !(1 << (slot % WORD));
        if *word == 0 {
            self.summary[slot / WORD / WORD] &= !(1 << (slot / WORD % WORD));
        }
    }

    /// The number of the earliest occupied bucket. All of them lie after the current bucket
    /// and less than a turn of the wheel ahead, so it is the first occupied slot found going
    /// round from the current one.
    fn next_occupied(&self) -> Option<u64> {
        let here = self.slot(self.current);
        let slot = self.first_set(here + 1, self.buckets.len()).or_else(|| self.first_set(0, here))?;
        let ahead = (slot + self.buckets.len() - here) % self.buckets.len();
        Some(self.current + ahead as u64)
    }

    /// The first occupied slot in `from..to`.
    fn first_set(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let first_word = from / WORD;
        let bits = self.occupied[first_word] & (u64::MAX << (from % WORD));
        let slot = if bits != 0 {
            first_word * WORD + bits.trailing_zeros() as usize
        } else {
            let word = self.first_word_set(first_word + 1)?;
            word * WORD + self.occupied[word].trailing_zeros() as usize
        };
        (slot < to).then_some(slot)
    }

    /// The first word of `occupied`, at `from` or after, with any bit set.
    fn first_word_set(&self, from: usize) -> Option<usize> {
        let mut index = from / WORD;
        let mut bits = self.summary.get(index)? & (u64::MAX << (from % WORD));
        loop {
            if bits != 0 {
                return Some(index * WORD + bits.trailing_zeros() as usize);
            }
            index += 1;
            bits = *self.summary.get(index)?;
        }
    }
}
