//! The scenario's own settings: a duration that a run can have, a warm-up shorter than it,
//! some clients, and a time-series window of at least a millisecond.

use tailsim_engine::SimDuration;

use super::Cx;
use crate::compile::MAX_DURATION;
use crate::diag::{Diagnostic, locate_unique};

/// Checks the duration, the warm-up and that there are clients.
pub(super) fn check(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    if scenario.duration.0 == SimDuration::ZERO || scenario.duration.0 > MAX_DURATION {
        cx.error(
            Diagnostic::error(format!(
                "`duration` must be longer than zero and at most 100 years, got {}",
                scenario.duration.0
            ))
            .at(locate_unique(cx.source, "duration:")),
        );
    }
    if scenario.warmup.0 >= scenario.duration.0 && scenario.duration.0 > SimDuration::ZERO {
        cx.error(
            Diagnostic::error(format!(
                "`warmup` ({}) must be shorter than `duration` ({})",
                scenario.warmup.0, scenario.duration.0
            ))
            .at(locate_unique(cx.source, "warmup:"))
            .with_hint("nothing would be measured"),
        );
    }
    if scenario.clients.is_empty() {
        cx.error(Diagnostic::error("the scenario has no clients").with_hint("add `clients: [Client(...)]`"));
    }
}

/// Checks the time-series window.
pub(super) fn check_window(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    if scenario.window.0 < SimDuration::from_millis(1) {
        cx.error(Diagnostic::error("`window` must be at least 1ms").at(locate_unique(cx.source, "window:")));
    }
}
