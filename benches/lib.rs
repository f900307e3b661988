//! Scenarios shared by the benchmarks, built from the bundled scenario files.

use tailsim_model::Model;

/// The M/M/1 scenario at rho = 0.9 with its duration set so that about `customers` arrive.
pub fn mm1(customers: u64) -> Model {
    let source = include_str!("../scenarios/mm1.ron");
    let seconds = customers.div_ceil(900);
    let set = tailsim_model::Override { path: "duration".into(), value: format!("{seconds}s") };
    match tailsim_model::load(source, &[set]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("mm1.ron does not load: {errors:?}"),
    }
}

/// The bundled checkout scenario.
pub fn checkout() -> Model {
    bundled("checkout.ron", include_str!("../scenarios/checkout.ron"))
}

/// The bundled CPU-throttling scenario: every `Work` step under a CFS quota, re-scheduled
/// when a throttle holds it back.
pub fn cpu_throttling() -> Model {
    bundled("cpu-throttling.ron", include_str!("../scenarios/cpu-throttling.ron"))
}

fn bundled(name: &str, source: &str) -> Model {
    match tailsim_model::load(source, &[]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("{name} does not load: {errors:?}"),
    }
}
