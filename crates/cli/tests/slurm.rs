//! A real batch engine: a single-node Slurm cluster (`deploy/slurm/cluster.sh`, from Debian's
//! packages, its daemons started here and stopped by their process ids) runs the bundled
//! `sweep.sbatch` as an array of four tasks and `merge.sbatch` after it (`submit.sh --wait`);
//! the merged sweep is the one-machine sweep, byte for byte.
//!
//! Skipped, saying so, where Slurm is not installed or the test is not root (the daemons need
//! it); `TAILSIM_REQUIRE_SLURM=1`, which CI sets once it has installed Slurm, makes a skip a
//! failure.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{repo, scenario, text};

/// The cluster's state folder; dropping it stops the daemons `start` recorded.
struct Cluster {
    state: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("deploy/slurm/cluster.sh")).arg("stop").arg(&self.state).status();
    }
}

/// Why Slurm cannot be tested here, if it cannot.
fn unavailable() -> Option<String> {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| text(&o.stdout).trim() == "0");
    if !root {
        return Some("the Slurm test needs root to start munged, slurmctld and slurmd".into());
    }
    // `sbatch --version` needs a configuration: ask the shell whether the commands are there.
    let installed = Command::new("sh")
        .args(["-c", "command -v sbatch && { command -v slurmctld || test -x /usr/sbin/slurmctld; }"])
        .output()
        .is_ok_and(|o| o.status.success());
    (!installed).then(|| "Slurm is not installed (`deploy/slurm/cluster.sh install` installs it)".into())
}

/// Every file under `dir` (not below), by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    all.sort();
    all
}

#[test]
fn a_slurm_job_array_and_its_merge_give_the_local_sweep() {
    if let Some(why) = unavailable() {
        assert!(std::env::var_os("TAILSIM_REQUIRE_SLURM").is_none(), "TAILSIM_REQUIRE_SLURM is set, but {why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster { state: dir.path().join("state") };
    let started =
        Command::new(repo().join("deploy/slurm/cluster.sh")).arg("start").arg(&cluster.state).output().unwrap();
    assert!(started.status.success(), "the cluster did not start:\n{}", text(&started.stderr));

    let mm1 = scenario("mm1.ron");
    let sweep_args = "--param clients.users.rate=300..900:4 -r 3 --duration 30s";
    let (shards, result) = (dir.path().join("shards"), dir.path().join("result"));
    let submitted = Command::new(repo().join("deploy/slurm/submit.sh"))
        .arg("--wait")
        .current_dir(dir.path())
        .env("SLURM_CONF", cluster.state.join("slurm.conf"))
        .env("TAILSIM", env!("CARGO_BIN_EXE_tailsim"))
        .env("SCENARIO", &mm1)
        .env("SWEEP_ARGS", sweep_args)
        .env("TASKS", "4")
        .env("SHARDS", &shards)
        .env("RESULT", &result)
        .output()
        .unwrap();
    let logs: Vec<String> = std::fs::read_dir(&shards)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "out")).collect())
        .unwrap_or_else(|_| Vec::new())
        .iter()
        .map(|p: &PathBuf| format!("{}:\n{}", p.display(), std::fs::read_to_string(p).unwrap_or_default()))
        .collect();
    assert!(
        submitted.status.success(),
        "submit.sh failed:\n{}{}\n{}",
        text(&submitted.stdout),
        text(&submitted.stderr),
        logs.join("\n")
    );
    let shard_files =
        std::fs::read_dir(&shards).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "tsshard"));
    assert_eq!(shard_files.count(), 4, "one shard file per array task");

    let local = dir.path().join("local");
    let mut args = vec!["sweep", mm1.to_str().unwrap()];
    args.extend(sweep_args.split(' '));
    args.extend(["--out", local.to_str().unwrap(), "-q"]);
    let out = common::tailsim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(files(&result), files(&local), "the sweep merged from Slurm's tasks differs from the local one");
    drop(cluster);
}
