//! Fuzz target for `tailsim_model::load`: any bytes that are valid UTF-8 are loaded as a
//! scenario. Loading must never panic, hang or allocate without bound; every diagnostic it
//! returns must render; and a scenario that loads is also simulated for one replication on
//! small budgets, so the world and the engine are fuzzed too. The checks are
//! `tailsim_tests::exercise`, which the regression test also runs over the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tailsim_tests::exercise(text);
    }
});
