//! What the binary's tests share: where the repository and its scenarios are, running the
//! binary, and reading what it printed.

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
