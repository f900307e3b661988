//! Fuzz target for `tailsim_model::load`: any bytes that are valid UTF-8 are loaded as a
//! scenario. Loading must never panic, hang or allocate without bound; every diagnostic it
//! returns must render; and a scenario that loads is also simulated for one replication on
//! small budgets, so the world and the engine are fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailsim_model::Limits;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match tailsim_model::load(text, &[]) {
        Ok((model, warnings)) => {
            for w in &warnings {
                let _ = w.render("fuzz.ron", text);
            }
            let limits = Limits {
                max_in_flight: 10_000,
                max_events: 200_000,
                ..Limits::default()
            };
            let _ = tailsim_model::world::run(&model, 1, 0, limits);
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                let _ = d.render("fuzz.ron", text);
            }
        }
    }
});
