//! Admission by tenant at a service's door, compiled: one token bucket per request class or per
//! request key, checked as a visit arrives (the buckets and counters are the simulator's).

use crate::kinds::{LimitMode, RateLimit, Tenant};

/// The most tenants a limit by key may have: one bucket each, 16 bytes apiece.
pub const MAX_TENANTS: u32 = 1_000_000;

/// A service's admission limit, compiled.
#[derive(Clone, Debug)]
pub struct AdmissionPolicy {
    /// What a tenant is.
    pub per: Tenant,
    /// Each tenant's bucket: its rate and burst (an empty bucket rejects).
    pub limit: RateLimit,
    /// How many tenants there are: the scenario's classes, or its key space.
    pub tenants: u32,
}

impl AdmissionPolicy {
    /// The policy for `per` with `rate` tokens per second and `burst`, over `tenants` tenants.
    pub fn new(per: Tenant, rate: f64, burst: f64, tenants: u32) -> AdmissionPolicy {
        AdmissionPolicy { per, limit: RateLimit { rate, burst, mode: LimitMode::Reject }, tenants }
    }
}
