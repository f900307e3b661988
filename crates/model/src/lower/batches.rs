//! `Batch` steps: their options checked, their own steps lowered, and each handed to the
//! service's list of batchers, which the step then names by index.

use super::Cx;
use crate::compile::{BatchModel, MAX_BATCH, Step, compile_dist};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema;

/// The most `Batch` steps one service may have (each runs its steps as a handler of its own).
pub(super) const MAX_BATCHERS: usize = 128;

/// The most batches an instance may run at once.
const MAX_FLUSHES: u32 = 10_000;

/// Lowers a `Batch` step of service `from` at `path`: its batcher joins the service's list, and
/// its index comes back (none if the step is in error).
pub(super) fn compile(
    cx: &mut Cx<'_>,
    from: &str,
    path: &str,
    options: &schema::BatchOptions,
    inner: &[schema::Step],
) -> Option<u32> {
    if cx.in_batch {
        cx.error(
            Diagnostic::error("a `Batch` step's steps may not hold another `Batch`")
                .at_path(path)
                .with_hint("batch once, with the larger size; or put the second batcher in the service called"),
        );
        return None;
    }
    let mut valid = check_sizes(cx, path, options);
    let name = options.name.clone().unwrap_or_else(|| match cx.batches.len() {
        0 => "batch".to_owned(),
        n => format!("batch{}", n + 1),
    });
    if cx.batches.iter().any(|b| b.name == name) {
        cx.error(
            Diagnostic::error(format!("the service has two batchers named \"{name}\""))
                .at_path(path)
                .with_hint("give each `Batch` step its own `name`"),
        );
        valid = false;
    }
    if cx.batches.len() >= MAX_BATCHERS {
        cx.error(Diagnostic::error(format!("a service may have at most {MAX_BATCHERS} `Batch` steps")).at_path(path));
        valid = false;
    }
    let mut steps = Vec::with_capacity(inner.len() + 1);
    if let Some(spec) = &options.per_item {
        match compile_dist(spec) {
            Ok(dist) => steps.push(Step::PerItem(dist)),
            Err(why) => {
                cx.error(Diagnostic::error(why.to_string()).at_path(format!("{path}.per_item")));
                valid = false;
            }
        }
    }
    cx.in_batch = true;
    steps.extend(super::steps::compile(cx, from, &format!("{path}.steps"), inner));
    cx.in_batch = false;
    let linger = options.linger.map(|d| d.0);
    cx.batches.push(BatchModel { name, size: options.size, linger, flushes: options.flushes, steps });
    valid.then(|| cx.batches.len() as u32 - 1)
}

/// Checks the size, the linger and the flushes; whether all are within bounds.
fn check_sizes(cx: &mut Cx<'_>, path: &str, options: &schema::BatchOptions) -> bool {
    let mut valid = true;
    if options.size == 0 || options.size > MAX_BATCH {
        cx.error(
            Diagnostic::error(format!("a batch's `size` must be between 1 and {MAX_BATCH}, got {}", options.size))
                .at_path(path),
        );
        valid = false;
    }
    if options.linger.is_some_and(|d| d.0.as_nanos() == 0) {
        cx.error(
            Diagnostic::error("a batch's `linger` must be longer than zero")
                .at_path(path)
                .with_hint("leave it out to wait for a full batch, or use `size: 1` to run each request alone"),
        );
        valid = false;
    }
    if options.flushes == 0 || options.flushes > MAX_FLUSHES {
        cx.error(
            Diagnostic::error(format!(
                "a batcher's `flushes` must be between 1 and {MAX_FLUSHES}, got {}",
                options.flushes
            ))
            .at_path(path)
            .with_hint("how many closed batches an instance runs at once"),
        );
        valid = false;
    }
    valid
}
