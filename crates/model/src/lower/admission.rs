//! A service's per-tenant admission limit: a positive rate, a burst of at least one token, and
//! a bucket for every class or every key a request can carry.

use super::Cx;
use crate::admission::{AdmissionPolicy, MAX_TENANTS};
use crate::compile::MAX_RATE_PER_S;
use tailsim_scenario::diag::{Diagnostic, Location, locate_unique};
use tailsim_scenario::schema::{Admission, Tenant};

/// Lowers service `path`'s admission limit, its tenants counted over `key_space` keys.
pub(super) fn compile(
    cx: &mut Cx<'_>,
    a: &Admission,
    path: &str,
    at: Option<Location>,
    key_space: u32,
) -> AdmissionPolicy {
    // The limit's own line when it is the only one, else the service's name; looked for only
    // when there is something to report.
    let source = cx.source;
    let at = || locate_unique(source, "admission:").or(at);
    if !(a.rate.is_finite() && a.rate > 0.0 && a.rate <= MAX_RATE_PER_S && a.burst.is_finite() && a.burst >= 1.0) {
        cx.error(
            Diagnostic::error(format!(
                "`admission` needs a positive `rate` up to {MAX_RATE_PER_S:e} per second and a `burst` of at least 1, got {} and {}",
                a.rate, a.burst
            ))
            .at_path(path)
            .at(at())
            .with_hint("e.g. admission: (per: Class, rate: 100.0, burst: 20.0)"),
        );
    }
    let tenants = match a.per {
        Tenant::Class => cx.classes.len() as u32,
        Tenant::Key => key_space,
    };
    if tenants > MAX_TENANTS {
        cx.error(
            Diagnostic::error(format!(
                "an admission limit per key keeps a bucket per key: at most {MAX_TENANTS} keys, and the clients' keys span {tenants}"
            ))
            .at_path(path)
            .at(at())
            .with_hint("a smaller key space, or a limit per class"),
        );
    }
    AdmissionPolicy::new(a.per.into(), a.rate, a.burst, tenants.min(MAX_TENANTS))
}
