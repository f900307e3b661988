//! What the binary's tests share: where the repository and its scenarios are, running the
//! binary, reading what it printed, and checking it against a golden file.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A bundled scenario's path.
pub fn scenario(name: &str) -> PathBuf {
    repo().join("scenarios").join(name)
}

/// Runs the binary with `args` and waits for it.
pub fn tailsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tailsim")).args(args).output().expect("the binary runs")
}

/// Bytes as text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The binary did not panic: no message, no backtrace.
pub fn assert_no_panic(out: &Output) {
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

/// Checks `actual` against `tests/golden/NAME` of this crate; with `UPDATE_GOLDEN=1` in the
/// environment it writes the file instead (review its diff before committing it).
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{name} changed; run with UPDATE_GOLDEN=1 to accept\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}
