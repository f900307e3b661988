//! Splitting a batch of runs over machines and putting it back together exactly: `run -r`,
//! `compare` and `sweep` with `--shard I/N` run only shard `I`'s share of their runs and
//! write it as a shard file; `merge` checks that the shards belong together and hands the
//! runs, in order, to the same code that finishes the command on one machine.
//!
//! Runs are dealt round-robin (run `j` to shard `j mod N`), so long and short points mix.
//! A shard file holds the batch's setup (what every shard computes alike: names, seeds, the
//! sweep's theory), each of its runs' results in full, a fingerprint of the compiled input
//! and the options, and a SHA-256 of its contents. It is CBOR: floats keep every bit, so the
//! merged outputs are byte for byte those of the unsharded command.

use std::io::Cursor;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tailsim_stats::RunSummary;

use crate::world::Limits;
use crate::{RunSetup, compare, sweep};
use tailsim_model::compile::Model;

/// The most shards a batch may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// How a shard file's name ends.
pub const EXTENSION: &str = "tsshard";

/// What a shard file starts with.
const MAGIC: &[u8] = b"tailsim shard\n";

/// The length of the SHA-256 that ends a shard file.
const DIGEST: usize = 32;

/// One share of a batch: runs `index`, `index + count`, `index + 2 count`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards the batch is split into.
    pub count: u32,
}

/// The environment variables `--shard auto` reads the shard's index from, with the batch
/// engine each belongs to.
const INDEX_VARIABLES: [(&str, &str); 3] = [
    ("SLURM_ARRAY_TASK_ID", "a Slurm job array"),
    ("JOB_COMPLETION_INDEX", "a Kubernetes Indexed Job"),
    ("AWS_BATCH_JOB_ARRAY_INDEX", "an AWS Batch array job"),
];

impl Shard {
    /// The whole batch as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Reads `I/N` (from 0), `auto` (index and count from a Slurm array task's environment)
    /// or `auto/N` (the index from a Slurm, Kubernetes or AWS Batch array task, `N` shards),
    /// looking variables up with `env`.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let (index, count) = text.split_once('/').map_or((text, None), |(i, n)| (i, Some(n)));
        let count = match count {
            Some(n) => Some(whole(n, "the shard count")?),
            None => None,
        };
        let shard = if index.trim() == "auto" {
            from_environment(count, env)?
        } else {
            let count = count.ok_or("write --shard I/N (e.g. 3/100, counting from 0) or --shard auto")?;
            Shard { index: whole(index, "the shard index")?, count }
        };
        if shard.count == 0 || shard.count > MAX_SHARDS {
            return Err(format!("the shard count must be from 1 to {MAX_SHARDS}, got {}", shard.count));
        }
        if shard.index >= shard.count {
            return Err(format!(
                "shard {} of {} does not exist: shards count from 0, so the last is {}",
                shard.index,
                shard.count,
                shard.count - 1
            ));
        }
        Ok(shard)
    }

    /// Whether run `job` is this shard's.
    pub fn owns(self, job: u64) -> bool {
        job % u64::from(self.count) == u64::from(self.index)
    }

    /// This shard's runs of a batch of `total`, in order.
    pub fn jobs(self, total: u64) -> impl Iterator<Item = u64> {
        (u64::from(self.index)..total).step_by(self.count as usize)
    }

    /// How many of a batch of `total` runs are this shard's.
    pub fn len(self, total: u64) -> u64 {
        total.saturating_sub(u64::from(self.index)).div_ceil(u64::from(self.count))
    }

    /// The shard file's name: `shard-03-of-16.tsshard`, zero-padded so names sort by index.
    pub fn file_name(self) -> String {
        let width = (self.count - 1).to_string().len();
        format!("shard-{:0width$}-of-{}.{EXTENSION}", self.index, self.count)
    }
}

/// A whole number from the command line.
fn whole(text: &str, what: &str) -> Result<u32, String> {
    text.trim().parse().map_err(|_| format!("{what} must be a whole number, got `{}`", text.trim()))
}

/// The shard an array task of a batch engine is, from its environment variables.
fn from_environment(count: Option<u32>, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let Some((variable, engine, value)) =
        INDEX_VARIABLES.iter().find_map(|(variable, engine)| env(variable).map(|v| (*variable, *engine, v)))
    else {
        let names: Vec<&str> = INDEX_VARIABLES.iter().map(|(v, _)| *v).collect();
        return Err(format!(
            "--shard auto: none of {} is set, so this is not an array task; give the shard as --shard I/N",
            names.join(", ")
        ));
    };
    let number = |name: &str| -> Result<Option<u32>, String> {
        env(name).map(|v| whole(&v, name)).transpose().map_err(|e| format!("--shard auto: {e}"))
    };
    let mut index = whole(&value, variable).map_err(|e| format!("--shard auto: {e}"))?;
    let mut from_engine = None;
    if variable == "SLURM_ARRAY_TASK_ID" {
        // Slurm numbers tasks as the array was given (`--array=1-8`): count from its first.
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let (max, tasks, step) =
            (number("SLURM_ARRAY_TASK_MAX")?, number("SLURM_ARRAY_TASK_COUNT")?, number("SLURM_ARRAY_TASK_STEP")?);
        if step.is_some_and(|s| s != 1)
            || max.zip(tasks).is_some_and(|(max, n)| max.checked_sub(min) != n.checked_sub(1))
        {
            return Err("--shard auto: the Slurm array must be one range with no gaps, such as --array=0-15".into());
        }
        index = index.checked_sub(min).ok_or("--shard auto: SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
        from_engine = tasks;
    }
    match (count, from_engine) {
        (Some(n), Some(tasks)) if n != tasks => Err(format!(
            "--shard auto/{n}: but the Slurm array has {tasks} tasks; give --shard auto to use the array's size"
        )),
        (Some(count), _) | (None, Some(count)) => Ok(Shard { index, count }),
        (None, None) => Err(format!(
            "--shard auto: {variable} gives this task's index in {engine}, but not how many tasks there are; write --shard auto/N"
        )),
    }
}

/// Runs shard `shard`'s jobs of a batch of `total` with `job`, in parallel on rayon's current
/// pool, and gives their results in job order (so the thread count changes nothing).
pub fn run<T: Send>(shard: Shard, total: u64, job: impl Fn(u64) -> T + Sync + Send) -> Vec<T> {
    let jobs: Vec<u64> = shard.jobs(total).collect();
    jobs.into_par_iter().map(job).collect()
}

/// A setup and its runs' results: a batch, or one shard's share of one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch<S, R> {
    /// What every shard of the batch computes alike.
    pub setup: S,
    /// The results of the runs, in job order.
    pub runs: Vec<R>,
}

/// The results of one of the three batch commands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Work {
    /// `run --replications R`: one summary per replication.
    Run(Batch<RunSetup, RunSummary>),
    /// `compare`: variant `v`'s replication `r` is job `v R + r`.
    Compare(Batch<compare::Setup, compare::Outcome>),
    /// `sweep`: point `p`'s replication `r` is job `p R + r`.
    Sweep(Batch<sweep::Setup, sweep::Outcome>),
}

impl Work {
    /// The command that does this work.
    pub fn command(&self) -> &'static str {
        match self {
            Work::Run(_) => "run",
            Work::Compare(_) => "compare",
            Work::Sweep(_) => "sweep",
        }
    }

    /// How many runs' results it holds.
    pub fn len(&self) -> usize {
        match self {
            Work::Run(b) => b.runs.len(),
            Work::Compare(b) => b.runs.len(),
            Work::Sweep(b) => b.runs.len(),
        }
    }

    /// Whether it holds no run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One shard's share of a batch, as written to its file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    /// The tailsim version that wrote it: only the same version merges it.
    pub version: String,
    /// [`fingerprint`] of the batch: equal for every shard of it.
    pub fingerprint: String,
    /// Which share it is.
    pub shard: Shard,
    /// Runs in the whole batch.
    pub total: u64,
    /// The setup and this shard's runs.
    pub work: Work,
}

/// A hash of what decides a batch's results: the command, its setup, every compiled model
/// (its `Debug` form, which is complete and has no hash-map order) and the limits that can
/// cut a run short, and this tailsim's version. Hex SHA-256.
pub fn fingerprint(command: &str, setup: &impl Serialize, models: &[&Model], limits: &Limits, total: u64) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("tailsim {}\n{command}\n{total}\n", env!("CARGO_PKG_VERSION")));
    hash.update(cbor(setup));
    for model in models {
        hash.update(format!("{model:?}"));
    }
    hash.update(format!("{} {}", limits.max_in_flight, limits.max_events));
    hex(&hash.finalize())
}

impl ShardFile {
    /// A shard file of `work` for this tailsim version.
    pub fn new(fingerprint: String, shard: Shard, total: u64, work: Work) -> ShardFile {
        ShardFile { version: env!("CARGO_PKG_VERSION").to_string(), fingerprint, shard, total, work }
    }

    /// The file's bytes: a magic line, the CBOR of the file, and the SHA-256 of the CBOR.
    pub fn encode(&self) -> Vec<u8> {
        let body = cbor(self);
        let mut bytes = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&Sha256::digest(&body));
        bytes
    }

    /// Reads a shard file's bytes, refusing anything that is not one, or is truncated or
    /// corrupted.
    pub fn decode(bytes: &[u8]) -> Result<ShardFile, String> {
        let body = bytes.strip_prefix(MAGIC).ok_or("not a tailsim shard file")?;
        let Some(split) = body.len().checked_sub(DIGEST) else {
            return Err("truncated: too short to be a shard file".into());
        };
        let (body, digest) = body.split_at(split);
        if Sha256::digest(body).as_slice() != digest {
            return Err("truncated or corrupted: its checksum does not match its contents".into());
        }
        let file: ShardFile = ciborium::from_reader(Cursor::new(body)).map_err(|e| format!("unreadable: {e}"))?;
        file.check()?;
        Ok(file)
    }

    /// Whether the file is whole in itself: its shard exists, it holds that shard's runs, and
    /// its setup makes as many runs as it says. A file can pass its checksum and still be
    /// made up: nothing in it is trusted that a merge could trip over.
    fn check(&self) -> Result<(), String> {
        let Shard { index, count } = self.shard;
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(format!("names shard {index} of {count}, which cannot exist"));
        }
        let (replications, runs) = match &self.work {
            Work::Run(b) => (b.setup.replications, b.setup.runs()),
            Work::Compare(b) => (b.setup.replications, b.setup.runs()),
            Work::Sweep(b) => (b.setup.replications, b.setup.runs()),
        };
        if replications == 0 || runs != self.total {
            return Err(format!("its setup makes {runs} runs, and it says the batch has {}", self.total));
        }
        if self.work.len() as u64 != self.shard.len(self.total) {
            return Err(format!(
                "holds {} runs, but shard {index} of {count} has {}",
                self.work.len(),
                self.shard.len(self.total)
            ));
        }
        Ok(())
    }
}

/// The CBOR of `value`.
fn cbor(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).expect("writing CBOR into memory cannot fail");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Puts the shards of one batch back together: every run's result in job order, as the
/// unsharded command would have it. Each shard comes with the name of its file, for messages.
/// Refuses shards of different batches (scenario, options, version), a missing shard (naming
/// the missing indices), a repeated one, and one that holds the wrong runs.
pub fn merge(shards: Vec<(String, ShardFile)>) -> Result<Work, String> {
    let Some((first_name, first)) = shards.first() else {
        return Err("no shard files to merge".into());
    };
    let (count, total) = (first.shard.count, first.total);
    let mine = env!("CARGO_PKG_VERSION");
    let mut slots: Vec<Option<(String, Work)>> = (0..count).map(|_| None).collect();
    let first_name = first_name.clone();
    let fingerprint = first.fingerprint.clone();
    for (name, file) in shards {
        if file.version != mine {
            return Err(format!("{name}: written by tailsim {}, and this is tailsim {mine}", file.version));
        }
        if file.fingerprint != fingerprint || file.shard.count != count || file.total != total {
            return Err(format!(
                "{name} and {first_name} are shards of different batches (another scenario, seed, option or shard count)"
            ));
        }
        let index = file.shard.index as usize;
        let slot = slots.get_mut(index).ok_or_else(|| format!("{name}: shard {index} of {count} cannot exist"))?;
        if let Some((other, _)) = slot {
            return Err(format!("shard {index} of {count} is there twice: {other} and {name}"));
        }
        *slot = Some((name, file.work));
    }
    let missing: Vec<String> =
        slots.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| i.to_string()).collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        let more = if missing.len() > 20 { format!(" and {} more", missing.len() - 20) } else { String::new() };
        return Err(format!(
            "{} of {count} shards are missing: {}{more}; nothing was written",
            missing.len(),
            shown.join(", ")
        ));
    }
    let works: Vec<Work> = slots.into_iter().flatten().map(|(_, w)| w).collect();
    let work = interleave(works)?;
    if let Work::Run(b) = &work {
        same_shape(&b.setup, &b.runs)?;
    }
    Ok(work)
}

/// Whether the replications fit their setup and each other: replication `r` in place `r`, as
/// many clients, services and edges as the call graph has (and its edges between its nodes),
/// and as many faults, caches and classes as the first. What the summaries and the charts
/// index by.
fn same_shape(setup: &RunSetup, runs: &[RunSummary]) -> Result<(), String> {
    let nodes = &setup.graph.nodes;
    let clients = nodes.iter().filter(|n| n.kind == tailsim_stats::graph::NodeKind::Client).count();
    let graph_fits = setup.graph.edges.iter().all(|e| e.from < nodes.len() && e.to < nodes.len());
    let classes = |r: &RunSummary| r.clients.iter().map(|c| c.classes.len()).collect::<Vec<_>>();
    let first = runs.first();
    let fits = |(i, r): (usize, &RunSummary)| {
        r.replication as usize == i
            && r.clients.len() == clients
            && r.services.len() == nodes.len() - clients
            && r.edges.len() == setup.graph.edges.len()
            && first.is_none_or(|f| {
                (f.faults.len(), f.caches.len(), classes(f)) == (r.faults.len(), r.caches.len(), classes(r))
            })
    };
    match runs.iter().enumerate().position(|run| !fits(run)) {
        _ if !graph_fits => Err("the shards' call graph has edges between nodes it does not have".into()),
        Some(r) => Err(format!("replication {r} in the shards does not fit the scenario the shards say they ran")),
        None => Ok(()),
    }
}

/// The shards' works (in shard order) as one, their runs dealt back into job order.
fn interleave(works: Vec<Work>) -> Result<Work, String> {
    let mismatch = || "the shards hold the work of different commands".to_string();
    let mut works = works.into_iter();
    let first = works.next().ok_or("no shards")?;
    Ok(match first {
        Work::Run(b) => Work::Run(deal(b, works.map(|w| if let Work::Run(b) = w { Ok(b) } else { Err(mismatch()) }))?),
        Work::Compare(b) => {
            Work::Compare(deal(b, works.map(|w| if let Work::Compare(b) = w { Ok(b) } else { Err(mismatch()) }))?)
        }
        Work::Sweep(b) => {
            Work::Sweep(deal(b, works.map(|w| if let Work::Sweep(b) = w { Ok(b) } else { Err(mismatch()) }))?)
        }
    })
}

/// The runs of `first` and `rest` (shards 0, 1, ...) in job order: job `j` is shard `j mod N`'s.
fn deal<S, R>(
    first: Batch<S, R>,
    rest: impl Iterator<Item = Result<Batch<S, R>, String>>,
) -> Result<Batch<S, R>, String> {
    let Batch { setup, runs } = first;
    let mut shards = vec![runs.into_iter()];
    for batch in rest {
        shards.push(batch?.runs.into_iter());
    }
    let mut runs = Vec::new();
    'deal: loop {
        for shard in &mut shards {
            match shard.next() {
                Some(run) => runs.push(run),
                None => break 'deal,
            }
        }
    }
    Ok(Batch { setup, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn shards_deal_every_job_once() {
        for count in [1, 2, 3, 7] {
            for total in [0, 1, 5, 16] {
                let mut seen = vec![0; total as usize];
                for index in 0..count {
                    let shard = Shard { index, count };
                    let jobs: Vec<u64> = shard.jobs(total).collect();
                    assert_eq!(jobs.len() as u64, shard.len(total));
                    for j in jobs {
                        assert!(shard.owns(j));
                        seen[j as usize] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "{count} shards of {total}");
            }
        }
        assert_eq!(Shard { index: 3, count: 100 }.file_name(), "shard-03-of-100.tsshard");
        assert_eq!(Shard::WHOLE.file_name(), "shard-0-of-1.tsshard");
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!(Shard::parse("3/100", &no_env), Ok(Shard { index: 3, count: 100 }));
        assert!(Shard::parse("100/100", &no_env).unwrap_err().contains("the last is 99"));
        assert!(Shard::parse("0/0", &no_env).is_err());
        assert!(Shard::parse("3", &no_env).unwrap_err().contains("I/N"));
        assert!(Shard::parse("a/4", &no_env).unwrap_err().contains("whole number"));
        assert!(Shard::parse("auto", &no_env).unwrap_err().contains("not an array task"));
    }

    #[test]
    fn auto_reads_the_batch_engines_variables() {
        let slurm = |name: &str| {
            match name {
                "SLURM_ARRAY_TASK_ID" => Some("5"),
                "SLURM_ARRAY_TASK_MIN" => Some("1"),
                "SLURM_ARRAY_TASK_MAX" => Some("8"),
                "SLURM_ARRAY_TASK_COUNT" => Some("8"),
                "SLURM_ARRAY_TASK_STEP" => Some("1"),
                _ => None,
            }
            .map(String::from)
        };
        assert_eq!(Shard::parse("auto", &slurm), Ok(Shard { index: 4, count: 8 }));
        assert_eq!(Shard::parse("auto/8", &slurm), Ok(Shard { index: 4, count: 8 }));
        assert!(Shard::parse("auto/4", &slurm).unwrap_err().contains("8 tasks"));
        let gaps = |name: &str| if name == "SLURM_ARRAY_TASK_STEP" { Some("2".to_string()) } else { slurm(name) };
        assert!(Shard::parse("auto", &gaps).unwrap_err().contains("no gaps"));
        let kubernetes = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "2".to_string());
        assert_eq!(Shard::parse("auto/3", &kubernetes), Ok(Shard { index: 2, count: 3 }));
        assert!(Shard::parse("auto", &kubernetes).unwrap_err().contains("auto/N"));
        assert!(Shard::parse("auto/2", &kubernetes).unwrap_err().contains("does not exist"));
    }

    #[test]
    fn damaged_files_are_refused() {
        let setup = crate::sweep::Setup { replications: 1, ..crate::sweep::Setup::default() };
        let work = Work::Sweep(Batch { setup, runs: Vec::new() });
        let bytes = ShardFile::new("f".into(), Shard::WHOLE, 0, work).encode();
        assert!(ShardFile::decode(&bytes).is_ok());
        assert!(ShardFile::decode(&bytes[..bytes.len() - 1]).unwrap_err().contains("truncated"));
        assert!(ShardFile::decode(&bytes[..MAGIC.len() + 3]).unwrap_err().contains("truncated"));
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 2] ^= 1;
        assert!(ShardFile::decode(&flipped).unwrap_err().contains("corrupted"));
        assert!(ShardFile::decode(b"{\"json\": true}").unwrap_err().contains("not a tailsim shard"));
    }

    /// Bytes with a checksum that matches: what a made-up file looks like.
    fn sealed(body: &[u8]) -> Vec<u8> {
        [MAGIC, body, Sha256::digest(body).as_slice()].concat()
    }

    #[test]
    fn made_up_files_with_a_good_checksum_are_refused_without_a_panic() {
        let setup = crate::sweep::Setup { replications: 2, ..crate::sweep::Setup::default() };
        let good = ShardFile::new("f".into(), Shard::WHOLE, 0, Work::Sweep(Batch { setup, runs: Vec::new() }));
        assert!(ShardFile::decode(&good.encode()).is_ok());
        // Every single-byte change of the body, resealed: an error or a file that checks out.
        let body = cbor(&good);
        for i in 0..body.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = body.clone();
                bad[i] ^= flip;
                let _ = ShardFile::decode(&sealed(&bad));
            }
        }
        // Shards that cannot exist, and setups that do not add up.
        let mut lies = Vec::new();
        for shard in [Shard { index: 0, count: 0 }, Shard { index: 5, count: 5 }, Shard { index: 0, count: u32::MAX }] {
            lies.push(ShardFile { shard, ..good.clone() });
        }
        let no_replications = crate::sweep::Setup::default();
        lies.push(ShardFile::new(
            "f".into(),
            Shard::WHOLE,
            0,
            Work::Sweep(Batch { setup: no_replications, runs: Vec::new() }),
        ));
        lies.push(ShardFile { total: 7, ..good.clone() });
        for lie in lies {
            assert!(ShardFile::decode(&lie.encode()).is_err(), "{lie:?}");
        }
    }
}
