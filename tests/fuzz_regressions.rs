//! Replays the fuzzer's corpus and every input that once crashed (`fuzz/regressions`) through
//! the same checks as the fuzz target, so a fixed crash stays fixed without running the fuzzer.

use std::fs;
use std::path::Path;

#[test]
fn fuzz_corpus_and_regressions_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for dir in ["regressions", "seeds", "corpus/scenario"] {
        let Ok(entries) = fs::read_dir(root.join(dir)) else { panic!("missing fuzz/{dir}") };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let bytes = fs::read(&path).expect("readable");
            if let Ok(text) = std::str::from_utf8(&bytes) {
                tailsim_tests::exercise(text);
                replayed += 1;
            }
        }
    }
    // The four overflow regressions, the seeds and a corpus of about 200 inputs.
    assert!(replayed > 100, "only {replayed} inputs found");
}
