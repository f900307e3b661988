//! Writing result files atomically: to a temporary file in the same folder, then a rename, so a
//! crash or Ctrl-C never leaves a half-written `summary.json`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::summary::Report;

/// Writes `contents` to `path` through a temporary sibling and a rename.
pub fn atomic_write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// The report as pretty-printed JSON with a trailing newline. Field order is the struct order
/// and floats print by shortest round-trip, so equal reports give equal bytes.
pub fn summary_json(report: &Report) -> String {
    let mut json = serde_json::to_string_pretty(report).expect("a report always serialises");
    json.push('\n');
    json
}

/// Writes `summary.json` into `dir`, creating the folder if needed.
pub fn write_summary(dir: &Path, report: &Report) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    atomic_write(&dir.join("summary.json"), summary_json(report).as_bytes())
}
