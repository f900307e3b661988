//! Replicated services: writes go to the primary and reach the replicas after the lag, reads
//! go to the replicas in turn (fewer by one after each failover), and a read of a key whose
//! last write has not reached them yet is stale. The subsystem owns its state
//! ([`Replicas`], one per replicated service).

use super::*;

/// A replicated service's state: when each recently written key becomes visible at the
/// replicas (and the size at which that map is next pruned), when each failover ends (in
/// time order) and how many have, and its reads.
pub(super) struct Replicas {
    visible_at: BTreeMap<u32, SimTime>,
    prune_at: usize,
    failover_ends: Vec<SimTime>,
    failovers_done: usize,
    /// Reads and stale reads after the warm-up.
    reads: u64,
    stale: u64,
    /// Stale reads, the warm-up's included, and their number when the open window began.
    stale_total: u64,
    stale_start: u64,
}

impl Replicas {
    /// Service `s`'s replicas as a run starts, if it is replicated.
    pub(super) fn new(s: &tailsim_model::compile::ServiceModel) -> Option<Replicas> {
        s.replication.as_ref()?;
        let mut failover_ends: Vec<SimTime> =
            s.faults.iter().filter(|f| f.kind == FaultKind::Failover).map(|f| f.end).collect();
        failover_ends.sort_unstable();
        Some(Replicas {
            visible_at: BTreeMap::new(),
            prune_at: 1024,
            failover_ends,
            failovers_done: 0,
            reads: 0,
            stale: 0,
            stale_total: 0,
            stale_start: 0,
        })
    }

    /// The replicas serving reads at `now` among `active` instances: all but the primary,
    /// less one for each failover that has ended (it took a replica to be the primary).
    fn serving(&mut self, active: u32, now: SimTime) -> u32 {
        while self.failover_ends.get(self.failovers_done).is_some_and(|&end| end <= now) {
            self.failovers_done += 1;
        }
        active.saturating_sub(1 + self.failovers_done as u32)
    }

    /// A read of `key` at a replica at `now`; `counted`: after the warm-up.
    fn read(&mut self, key: u32, now: SimTime, counted: bool) {
        self.reads += u64::from(counted);
        if self.visible_at.get(&key).is_some_and(|&visible| visible > now) {
            self.stale += u64::from(counted);
            self.stale_total += 1;
        }
    }

    /// A write of `key` committed at `now` reaches the replicas at `visible`.
    fn write(&mut self, key: u32, now: SimTime, visible: SimTime) {
        let at = self.visible_at.entry(key).or_insert(visible);
        *at = (*at).max(visible);
        if self.visible_at.len() >= self.prune_at {
            // Writes already applied everywhere can make no read stale.
            self.visible_at.retain(|_, &mut visible| visible > now);
            self.prune_at = (2 * self.visible_at.len()).max(1024);
        }
    }

    /// The stale reads of the window that closes, the warm-up's included.
    pub(super) fn close_window(&mut self) -> u64 {
        let n = self.stale_total - self.stale_start;
        self.stale_start = self.stale_total;
        n
    }

    /// Its reads, for the service's summary.
    pub(super) fn summarize(&self) -> ReplicationSummary {
        ReplicationSummary { replica_reads: self.reads, stale_reads: self.stale }
    }
}

impl<'m> World<'m> {
    /// The instance of a replicated service a visit goes to: the primary (0) for a write, the
    /// replicas in turn for a read, past those balancers route around.
    #[inline(never)]
    pub(super) fn pick_replica(&mut self, s: u32, tag: Tag) -> u32 {
        let now = self.now;
        let model = &self.model.services[s as usize];
        let (Some(replication), Some(state)) = (&model.replication, &mut self.replicated[s as usize]) else { return 0 };
        if replication.writes.get(usize::from(tag.class)).copied().unwrap_or(false) {
            return 0;
        }
        let service = &mut self.services[s as usize];
        let replicas = state.serving(service.fleet.active(), now);
        if replicas == 0 {
            return 0;
        }
        // In turn, past the replicas balancers route around (crashed, and noticed); if all
        // are, the one whose turn it is (it refuses the read).
        let first = service.fleet.first() + 1;
        let instances = &self.instances;
        let skipping = service.balancer.skipping();
        let turn = service.balancer.next_up(replicas, |k| !skipping || instances[(first + k) as usize].skipped == 0);
        state.read(tag.key, now, now >= self.warmup_end);
        1 + turn
    }

    /// A write to replicated service `s` committed at the primary: the replicas apply it after
    /// the lag.
    #[cold]
    #[inline(never)]
    pub(super) fn committed(&mut self, s: u32, key: u32) {
        let now = self.now;
        let Some(replication) = &self.model.services[s as usize].replication else { return };
        let Some(state) = &mut self.replicated[s as usize] else { return };
        let visible = now.saturating_add(replication.lag.sample(&mut self.services[s as usize].rng));
        state.write(key, now, visible);
    }
}
