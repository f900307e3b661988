//! Admission by tenant at a service's door: one token bucket per request class or per request
//! key, checked as a visit arrives, before it takes a worker or a place in the queue. The
//! run-time buckets and counters, and their part of the summary (the compiled policy is the
//! model's).

use tailsim_engine::SimTime;
use tailsim_stats::{AdmissionSummary, TenantCounts};

use tailsim_model::admission::AdmissionPolicy;
use tailsim_model::compile::ClassModel;
use tailsim_model::kinds::{RateLimit, Tenant};

use crate::bucket::Bucket;

/// A service's admission limit at run time.
pub(crate) struct Admission {
    per: Tenant,
    limit: RateLimit,
    buckets: Vec<Bucket>,
    /// Counted admissions and rejections: per class for a limit by class, else one total.
    admitted: Vec<u64>,
    rejected: Vec<u64>,
}

impl Admission {
    /// Full buckets for every tenant of `policy`.
    pub(crate) fn new(policy: &AdmissionPolicy) -> Admission {
        let counters = if policy.per == Tenant::Class { policy.tenants as usize } else { 1 };
        Admission {
            per: policy.per,
            limit: policy.limit,
            buckets: (0..policy.tenants).map(|_| Bucket::full(&policy.limit)).collect(),
            admitted: vec![0; counters],
            rejected: vec![0; counters],
        }
    }

    /// Whether a request of `class` and `key` arriving at `now` gets in; `counted` after the
    /// warm-up.
    #[inline]
    pub(crate) fn admit(&mut self, now: SimTime, class: u8, key: u32, counted: bool) -> bool {
        let tenant = match self.per {
            Tenant::Class => usize::from(class),
            Tenant::Key => key as usize,
        };
        // Lowering sizes the buckets to every class and key a request can carry.
        let admitted = self.buckets.get_mut(tenant).is_none_or(|b| b.take(now, &self.limit).is_some());
        let counter = if self.per == Tenant::Class { tenant } else { 0 };
        let counts = if admitted { &mut self.admitted } else { &mut self.rejected };
        if let Some(n) = counts.get_mut(counter) {
            *n += u64::from(counted);
        }
        admitted
    }

    /// Its part of the service's summary; `classes` name the tenants of a limit by class.
    pub(crate) fn summarize(&self, classes: &[ClassModel]) -> AdmissionSummary {
        let tenants = match self.per {
            Tenant::Key => Vec::new(),
            Tenant::Class => classes
                .iter()
                .zip(self.admitted.iter().zip(&self.rejected))
                .map(|(class, (&admitted, &rejected))| TenantCounts { name: class.name.clone(), admitted, rejected })
                .collect(),
        };
        AdmissionSummary {
            per: self.per.name().to_string(),
            admitted: self.admitted.iter().sum(),
            rejected: self.rejected.iter().sum(),
            tenants,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailsim_engine::SimDuration;

    /// A token bucket of rate r and burst b admits at most floor(b + r t) over a span t from
    /// full, and exactly that when it is offered more than r and never overflows (the token
    /// bucket's arrival curve, b + r t). At 200/s against r = 100, b = 5, tokens move in exact
    /// halves, so the count is exact.
    #[test]
    fn a_tenant_is_admitted_at_its_rate_plus_its_burst_and_others_are_untouched() {
        let policy = AdmissionPolicy::new(Tenant::Class, 100.0, 5.0, 2);
        let mut door = Admission::new(&policy);
        let mut admitted = 0;
        // Class 0 offers 200/s for 10 s: every 5 ms.
        for i in 0..2_000u64 {
            admitted += u64::from(door.admit(SimTime::ZERO + SimDuration::from_millis(5 * i), 0, 0, true));
        }
        // The last request is at 9.995 s: floor(5 + 100 x 9.995) = 1004.
        assert_eq!(admitted, 5 + 999);
        assert!(door.admit(SimTime::ZERO + SimDuration::from_secs(10), 1, 0, true), "class 1's bucket is its own");
        let summary = door.summarize(&[
            ClassModel { name: "a".into(), priority: 0, level: 0 },
            ClassModel { name: "b".into(), priority: 0, level: 0 },
        ]);
        assert_eq!((summary.admitted, summary.rejected), (admitted + 1, 2_000 - admitted));
        assert_eq!(summary.tenants[1].admitted, 1);
    }
}
