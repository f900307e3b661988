//! A service's fleet: the slots of the world's instance table its instances live in, which of
//! them take traffic (always the first `active`), how many the autoscaler asked for (active ones
//! and those still starting), and the instance-time they add up to, for utilisation, the
//! autoscaler's metric and instance-seconds.

use std::ops::Range;

use tailsim_engine::SimTime;
use tailsim_stats::Occupancy;

/// A service's instances.
pub(super) struct Fleet {
    /// The service's first slot in the world's instance table.
    first: u32,
    /// Instances taking traffic: the first `active` of the service's slots.
    active: u32,
    /// Instances asked for: active ones and those starting.
    wanted: u32,
    /// Active instances over time.
    count: Occupancy,
    /// When each active slot was switched on, for `count`.
    since: Vec<SimTime>,
}

impl Fleet {
    /// `instances` instances from slot `first`, active from the start; `counted` when the run
    /// has no warm-up.
    pub(super) fn new(first: u32, instances: u32, counted: bool) -> Fleet {
        let mut count = Occupancy::default();
        for _ in 0..instances {
            count.enter(SimTime::ZERO, counted);
        }
        Fleet { first, active: instances, wanted: instances, count, since: vec![SimTime::ZERO; instances as usize] }
    }

    /// The service's first slot in the world's instance table.
    #[inline]
    pub(super) fn first(&self) -> u32 {
        self.first
    }

    /// How many instances take traffic.
    #[inline]
    pub(super) fn active(&self) -> u32 {
        self.active
    }

    /// How many instances are asked for, starting ones included.
    pub(super) fn wanted(&self) -> u32 {
        self.wanted
    }

    /// The world's instance index of the service's slot `slot`.
    #[inline]
    pub(super) fn global(&self, slot: u32) -> u32 {
        self.first + slot
    }

    /// The service's slot of the world's instance `instance`.
    #[inline]
    pub(super) fn local(&self, instance: u32) -> u32 {
        instance - self.first
    }

    /// The active instances, as indices of the world's instance table.
    #[inline]
    pub(super) fn live(&self) -> Range<usize> {
        self.first as usize..(self.first + self.active) as usize
    }

    /// Asks for `wanted` instances; the count asked for before.
    pub(super) fn ask(&mut self, wanted: u32) -> u32 {
        std::mem::replace(&mut self.wanted, wanted)
    }

    /// Stops the newest active instance at `now` (its time counted from `from`).
    pub(super) fn stop_newest(&mut self, now: SimTime, from: SimTime) {
        self.active -= 1;
        let since = self.since.pop().unwrap_or(now);
        self.count.leave(since, now, from);
    }

    /// Switches the next slot on at `now`, if more are wanted and `slots` allow: that slot.
    pub(super) fn start_next(&mut self, now: SimTime, slots: u32, counted: bool) -> Option<u32> {
        if self.active >= self.wanted || self.active >= slots {
            return None;
        }
        self.active += 1;
        self.since.push(now);
        self.count.enter(now, counted);
        Some(self.active - 1)
    }

    /// Instance-nanoseconds of active instances up to `now` (counted ones only).
    pub(super) fn instance_ns(&self, now: SimTime) -> i128 {
        self.count.integral_ns(now)
    }

    /// The mean number of active instances from `from` to `now`.
    pub(super) fn mean(&self, from: SimTime, now: SimTime) -> f64 {
        let open: u128 = self.since.iter().map(|&since| Occupancy::stay(since, now, from)).sum();
        self.count.mean(open, from, now)
    }
}
