//! CPU bandwidth control, as Linux's CFS enforces a container's CPU limit: in each period an
//! instance's workers together may run for `quota = cpus x period`; once they have, all of them
//! stop until the period ends and the quota is refilled (the kernel's `sched-bwc` document).
//!
//! An [`Account`] keeps a clock of its instance's CPU progress: it runs with real time except
//! while the instance is throttled, when it stands still. Every `Work` step in progress runs
//! at the same rate, so a step that needs `w` of CPU from clock reading `c` ends when the clock
//! reads `c + w`. The world schedules a step's end as if nothing will stop it and, when that
//! time comes, reads the clock and schedules the rest if a throttle got in the way: no event is
//! ever moved or cancelled, and a step is looked at once more per throttle it sits through.
//!
//! When the quota will run out is known from the steps running: with `n` of them and `q` left,
//! in `q / n`. That instant is armed as an event and re-armed whenever `n` grows; when `n`
//! shrinks the armed event comes early, finds quota left, and arms the later instant.

use tailsim_engine::{SimDuration, SimTime};

/// One instance's CPU account.
#[derive(Clone, Debug)]
pub struct Account {
    /// CPU time allowed per period and the period, in ns; a period of 0: no quota in force.
    quota: u64,
    period: u64,
    /// `Work` steps in progress, each burning one CPU while not throttled.
    running: u32,
    /// CPU used in the current period up to `last`.
    used: u64,
    last: u64,
    /// When the current period ends.
    period_end: u64,
    /// Since when the instance is throttled, if it is.
    throttled_since: Option<u64>,
    /// Time spent throttled before `throttled_since`: how far the clock is behind real time.
    lag: u64,
    /// When the armed quota-spent event comes (`u64::MAX`: none), and its token.
    armed: u64,
    token: u32,
}

/// What a period's end found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodEnd {
    /// The quota ran out in the period.
    pub throttled: bool,
    /// How long the instance was throttled in it, in ns.
    pub throttled_ns: u64,
}

impl Default for Account {
    fn default() -> Account {
        Account {
            quota: 0,
            period: 0,
            running: 0,
            used: 0,
            last: 0,
            period_end: 0,
            throttled_since: None,
            lag: 0,
            armed: u64::MAX,
            token: 0,
        }
    }
}

impl Account {
    /// Whether a quota is in force.
    #[inline]
    pub fn in_force(&self) -> bool {
        self.period > 0
    }

    /// Whether the instance is throttled now.
    pub fn throttled(&self) -> bool {
        self.throttled_since.is_some()
    }

    /// A quota of `quota` per `period` comes into force at `now`, with a fresh period.
    pub fn begin(&mut self, now: SimTime, quota: SimDuration, period: SimDuration) {
        self.sync(now);
        self.quota = quota.as_nanos();
        self.period = period.as_nanos().max(1);
        self.used = 0;
        self.last = now.as_nanos();
        self.period_end = now.as_nanos().saturating_add(self.period);
        self.disarm();
    }

    /// The quota is lifted at `now` (a period's end): work runs freely from here.
    pub fn end(&mut self, now: SimTime) {
        self.unthrottle(now);
        self.period = 0;
        self.disarm();
    }

    /// The clock: real time less the time spent throttled.
    #[inline]
    fn clock(&self, now: SimTime) -> u64 {
        let now = now.as_nanos();
        now - self.lag - self.throttled_since.map_or(0, |since| now - since)
    }

    /// Brings the CPU used up to `now`.
    #[inline]
    fn sync(&mut self, now: SimTime) {
        let now = now.as_nanos();
        if self.in_force() && self.throttled_since.is_none() {
            let burnt = u64::from(self.running).saturating_mul(now.saturating_sub(self.last));
            self.used = self.used.saturating_add(burnt);
        }
        self.last = now;
    }

    /// When work can make progress from `now`: now, or at the period's end if throttled.
    #[inline]
    fn resume(&self, now: SimTime) -> SimTime {
        if self.throttled() { SimTime(self.period_end) } else { now }
    }

    /// A step needing `work` of CPU starts at `now`: the clock reading at which it is done,
    /// and when it starts making progress.
    pub fn start(&mut self, now: SimTime, work: SimDuration) -> (u64, SimTime) {
        self.sync(now);
        self.running += 1;
        (self.clock(now).saturating_add(work.as_nanos()), self.resume(now))
    }

    /// A step started with [`start`](Self::start) stops at `now` (it is done, or lost).
    pub fn stop(&mut self, now: SimTime) {
        self.sync(now);
        self.running = self.running.saturating_sub(1);
    }

    /// For a step that is done at clock reading `target`: `None` if it is done at `now`, or
    /// when it makes progress again and how much CPU it still needs.
    pub fn left(&self, now: SimTime, target: u64) -> Option<(SimTime, SimDuration)> {
        let clock = self.clock(now);
        (clock < target).then(|| (self.resume(now), SimDuration::from_nanos(target - clock)))
    }

    /// When the quota runs out if nothing changes, if within the period.
    fn spent_at(&self) -> Option<u64> {
        if !self.in_force() || self.throttled() || self.running == 0 {
            return None;
        }
        let need = self.quota.saturating_sub(self.used);
        let at = self.last.saturating_add(need.div_ceil(u64::from(self.running)));
        (at < self.period_end).then_some(at)
    }

    /// The quota-spent event to schedule, with its token, if it must come earlier than the one
    /// armed (or none is).
    pub fn arm(&mut self) -> Option<(SimTime, u32)> {
        let at = self.spent_at()?;
        if at >= self.armed {
            return None;
        }
        self.armed = at;
        self.token = self.token.wrapping_add(1);
        Some((SimTime(at), self.token))
    }

    /// No armed event stands any more.
    fn disarm(&mut self) {
        self.armed = u64::MAX;
        self.token = self.token.wrapping_add(1);
    }

    /// The quota-spent event with `token` comes at `now`: whether it is the one armed, and the
    /// quota is spent, so that the instance is throttled from now. A stale event, or one that
    /// came early (steps stopped since it was armed), throttles nothing; re-[`arm`](Self::arm)
    /// after it.
    pub fn spent(&mut self, now: SimTime, token: u32) -> bool {
        if token != self.token || self.armed == u64::MAX {
            return false;
        }
        self.armed = u64::MAX;
        self.sync(now);
        if !self.in_force() || self.throttled() || self.used < self.quota {
            return false;
        }
        self.throttled_since = Some(now.as_nanos());
        true
    }

    /// The period ends at `now`: the quota is refilled and a throttled instance runs again.
    pub fn roll(&mut self, now: SimTime) -> PeriodEnd {
        self.sync(now);
        let end = self.unthrottle(now);
        self.used = 0;
        self.period_end = now.as_nanos().saturating_add(self.period);
        self.disarm();
        end
    }

    fn unthrottle(&mut self, now: SimTime) -> PeriodEnd {
        match self.throttled_since.take() {
            Some(since) => {
                let throttled_ns = now.as_nanos().saturating_sub(since);
                self.lag += throttled_ns;
                self.last = now.as_nanos();
                PeriodEnd { throttled: true, throttled_ns }
            }
            None => PeriodEnd { throttled: false, throttled_ns: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn at(n: u64) -> SimTime {
        SimTime::ZERO + ms(n)
    }

    /// The kernel document's third example, 20% of one CPU as 10 ms every 50 ms: one step of
    /// 25 ms from time 0 runs 10 ms in each of its first two periods and ends 5 ms into the
    /// third, at 105 ms.
    #[test]
    fn one_step_runs_its_quota_in_each_period() {
        let mut cpu = Account::default();
        cpu.begin(at(0), ms(10), ms(50));
        let (target, resume) = cpu.start(at(0), ms(25));
        assert_eq!(resume, at(0));
        let (when, token) = cpu.arm().expect("the quota runs out within the period");
        assert_eq!(when, at(10));
        assert!(cpu.spent(when, token));
        // Its end as first scheduled, at 25 ms: 15 ms still to run, from the period's end.
        assert_eq!(cpu.left(at(25), target), Some((at(50), ms(15))));
        assert_eq!(cpu.roll(at(50)), PeriodEnd { throttled: true, throttled_ns: 40_000_000 });
        let (when, token) = cpu.arm().expect("again");
        assert_eq!(when, at(60));
        assert!(cpu.spent(when, token));
        assert_eq!(cpu.left(at(65), target), Some((at(100), ms(5))));
        cpu.roll(at(100));
        assert_eq!(cpu.left(at(105), target), None);
        cpu.stop(at(105));
        assert_eq!(cpu.arm(), None, "nothing runs: nothing spends the 5 ms left");
    }

    /// Ten steps at once burn a quota of one CPU ten times as fast: 10 ms of 100 ms.
    #[test]
    fn parallel_steps_share_the_quota() {
        let mut cpu = Account::default();
        cpu.begin(at(0), ms(100), ms(100));
        for _ in 0..10 {
            cpu.start(at(0), ms(20));
        }
        let (when, token) = cpu.arm().expect("spent early");
        assert_eq!(when, at(10));
        assert!(cpu.spent(when, token));
        // A step started while throttled makes no progress until the period ends.
        let (_, resume) = cpu.start(at(30), ms(1));
        assert_eq!(resume, at(100));
    }

    /// A step that stops makes the armed event early: it throttles nothing and the later
    /// instant is armed instead.
    #[test]
    fn an_early_event_rearms() {
        let mut cpu = Account::default();
        cpu.begin(at(0), ms(40), ms(100));
        cpu.start(at(0), ms(100));
        cpu.start(at(0), ms(5));
        let (when, token) = cpu.arm().expect("two steps: 20 ms");
        assert_eq!(when, at(20));
        cpu.stop(at(5)); // 10 ms used, 30 ms left for one step
        assert_eq!(cpu.arm(), None, "later than the one armed");
        assert!(!cpu.spent(when, token));
        let (when, token) = cpu.arm().expect("re-armed");
        assert_eq!(when, at(35));
        assert!(!cpu.spent(when, token.wrapping_sub(1)), "a stale token");
        assert!(cpu.spent(when, token));
    }
}
