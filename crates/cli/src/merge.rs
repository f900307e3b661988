//! `tailsim merge`: puts the shard files of a sharded `run`, `compare` or `sweep` back
//! together and writes exactly what the unsharded command would have: the same files, byte
//! for byte, the same table and the same exit code.

use std::path::{Path, PathBuf};

use clap::Args;
use tailsim_sim::shard::{EXTENSION, ShardFile, Work};

use crate::{Failure, folder_name, shared};

/// The largest shard file `merge` reads.
const MAX_SHARD_BYTES: u64 = 4 << 30;

/// The arguments of `tailsim merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Shard files, or folders holding them (every `*.tsshard` inside, not below).
    #[arg(required = true, value_name = "SHARD")]
    paths: Vec<PathBuf>,
    /// Output folder (default: out/ and the scenario's name).
    #[arg(long, help = "Output folder [default: out/<scenario name>]")]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print summary.json (of a run) or compare.json (of a comparison) instead of the table.
    #[arg(long)]
    json: bool,
    /// Write no charts (SVG, PNG) and no HTML page; the data files still are.
    #[arg(long)]
    no_charts: bool,
    /// Stop drawing the charts after this much wall-clock time, e.g. `5m`.
    #[arg(long)]
    max_wall_time: Option<String>,
}

/// Merges the shards; the exit code, or a failure. Nothing is written unless every shard is
/// there, intact, and of the same batch.
pub fn merge(args: MergeArgs) -> Result<u8, Failure> {
    let max_wall = shared::max_wall_time(args.max_wall_time.as_deref())?;
    let files = shard_files(&args.paths)?;
    let mut shards = Vec::with_capacity(files.len());
    for path in files {
        shards.push((path.display().to_string(), read_shard(&path)?));
    }
    let work = tailsim_sim::shard::merge(shards).map_err(|e| Failure::input(format!("error: {e}")))?;
    let scenario = match &work {
        Work::Run(b) => &b.setup.scenario,
        Work::Compare(b) => &b.setup.scenario,
        Work::Sweep(b) => &b.setup.scenario,
    };
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(scenario)));
    shared::prepare_output(&out)?;
    let finish = shared::Finish { quiet: args.quiet, json: args.json, no_charts: args.no_charts, max_wall };
    match work {
        Work::Run(b) => {
            let report = b.setup.finish(b.runs);
            crate::finish_run(&out, &report, &b.setup, finish, None)
        }
        Work::Compare(b) => crate::compare::finish_compare(&out, &b.setup, b.runs, finish),
        Work::Sweep(b) => crate::sweep::finish_sweep(&out, &b.setup, b.runs, finish),
    }
}

/// The shard files named by `paths`: each file itself, each folder's `*.tsshard` files in
/// name order.
fn shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| Failure::input(format!("error: cannot read {}: {e}", path.display())))?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path)
            .map_err(|e| Failure::input(format!("error: cannot list {}: {e}", path.display())))?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION) && p.is_file())
            .collect();
        if inside.is_empty() {
            return Err(Failure::input(format!("error: {} holds no shard files (*.{EXTENSION})", path.display())));
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// Reads and checks one shard file.
fn read_shard(path: &Path) -> Result<ShardFile, Failure> {
    let fail = |why: String| Failure::input(format!("error: {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > MAX_SHARD_BYTES {
        return Err(fail(format!("{} bytes is larger than any shard file", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    ShardFile::decode(&bytes).map_err(|e| fail(format!("{e}; run its shard again")))
}
