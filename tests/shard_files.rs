//! Shard files as `tailsim merge` meets them: a real shard survives the round trip bit for bit,
//! and made-up ones (every kind of batch, bytes changed and the checksum resealed, or runs
//! that do not match each other) are refused or merged, never a panic, through the merge, the
//! summaries and every text and data output the merge writes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use sha2::{Digest, Sha256};
use tailsim_model::Model;
use tailsim_sim::shard::{Batch, Shard, ShardFile, Work};
use tailsim_sim::{Limits, RunSetup};

fn load(name: &str, set: &[(&str, &str)]) -> Vec<(String, Model)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(name);
    let source = std::fs::read_to_string(path).expect("a bundled scenario");
    let set: Vec<tailsim_model::Override> =
        set.iter().map(|(p, v)| tailsim_model::Override { path: (*p).into(), value: (*v).into() }).collect();
    tailsim_model::load_variants(&source, &set).expect("it loads").0
}

/// One shard file of each kind of batch, whole (one shard of one).
fn real_shards() -> Vec<ShardFile> {
    let limits = Limits::default();
    let checkout = load("checkout.ron", &[("duration", "8s")]);
    let run = RunSetup::new(&checkout[0].1, 1, 2);
    let runs = (0..2).map(|r| run.run(&checkout[0].1, r, limits)).collect();
    let storm = load("retry-storm.ron", &[("duration", "4s"), ("warmup", "1s")]);
    let compare = tailsim_sim::compare::Setup::new(&storm, 1, 2, "shoppers", None);
    let outcomes = (0..compare.runs()).map(|j| compare.run(&storm, j, limits)).collect();
    let mm1 = load("mm1.ron", &[("duration", "20s")]);
    let points = vec![(vec![900.0], mm1[0].1.clone())];
    let sweep = tailsim_sim::sweep::Setup::new("mm1", vec!["rate".into()], &points, 1, 2, "users");
    let swept = (0..2).map(|j| sweep.run(&points, j, limits)).collect();
    vec![
        ShardFile::new("f".into(), Shard::WHOLE, 2, Work::Run(Batch { setup: run, runs })),
        ShardFile::new(
            "f".into(),
            Shard::WHOLE,
            compare.runs(),
            Work::Compare(Batch { setup: compare, runs: outcomes }),
        ),
        ShardFile::new("f".into(), Shard::WHOLE, 2, Work::Sweep(Batch { setup: sweep, runs: swept })),
    ]
}

/// Merges `file` and makes every text and data output of the merged batch.
fn outputs(file: ShardFile) -> Result<Vec<String>, String> {
    drawn(file, false)
}

/// [`outputs`], and with `charts` every chart as SVG (an error drawing one is an output too).
fn drawn(file: ShardFile, charts: bool) -> Result<Vec<String>, String> {
    use tailsim_report::chart;
    let svgs = |all: Vec<chart::Chart>| -> Vec<String> {
        all.iter().filter(|_| charts).map(|c| chart::render_svg(c).unwrap_or_else(|e| e.to_string())).collect()
    };
    Ok(match tailsim_sim::shard::merge(vec![("file".into(), file)])? {
        Work::Run(b) => {
            let report = b.setup.finish(b.runs);
            let csv = tailsim_report::write::timeseries_csv(&report);
            let mut out =
                vec![tailsim_report::write::summary_json(&report), csv, tailsim_report::text::render(&report)];
            out.extend(svgs(if charts { chart::charts(&report, &b.setup.graph) } else { Vec::new() }));
            out
        }
        Work::Compare(b) => {
            let (comparison, _) = b.setup.finish(b.runs);
            let mut out = vec![comparison.to_json(), tailsim_report::compare::render(&comparison)];
            out.extend(svgs(if charts { chart::compare_charts(&comparison) } else { Vec::new() }));
            out
        }
        Work::Sweep(b) => {
            let (sweep, _) = b.setup.finish(b.runs);
            let mut out = vec![sweep.csv(), tailsim_report::sweep::render(&sweep)];
            out.extend(svgs(if charts { chart::sweep_charts(&sweep) } else { Vec::new() }));
            out
        }
    })
}

fn sealed(body: &[u8]) -> Vec<u8> {
    let magic = b"tailsim shard\n";
    [&magic[..], body, Sha256::digest(body).as_slice()].concat()
}

#[test]
fn a_shard_file_keeps_every_bit() {
    for file in real_shards() {
        let again = ShardFile::decode(&file.encode()).expect("it reads back");
        assert_eq!(again.encode(), file.encode());
        assert_eq!(outputs(again), outputs(file));
    }
}

#[test]
fn made_up_shard_files_never_panic_the_merge() {
    let mut panics = Vec::new();
    let mut merged = 0;
    for file in real_shards() {
        let bytes = file.encode();
        let body = &bytes[14..bytes.len() - 32];
        // About 700 positions per file, spread over it, each changed three ways and resealed.
        let stride = (body.len() / 700).max(1);
        for i in (0..body.len()).step_by(stride) {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut changed = body.to_vec();
                changed[i] ^= flip;
                // Every 25th change is drawn too: charts of made-up numbers (NaN, huge) included.
                let charts = (i / stride) % 25 == 0;
                let result = catch_unwind(AssertUnwindSafe(|| {
                    ShardFile::decode(&sealed(&changed)).map(|f| drawn(f, charts).is_ok())
                }));
                match result {
                    Err(_) => panics.push(format!("{} byte {i} ^ {flip:#x}", file.work.command())),
                    Ok(Ok(true)) => merged += 1,
                    Ok(_) => {}
                }
            }
        }
    }
    assert!(panics.is_empty(), "{} made-up files panicked: {:?}", panics.len(), &panics[..panics.len().min(10)]);
    // Most changes hit numbers and still merge: the outputs were made from made-up values.
    assert!(merged > 100, "only {merged} changed files merged");
}

/// The replications of a `run` and their setup.
type RunBatch = Batch<RunSetup, tailsim_report::RunSummary>;

#[test]
fn runs_that_do_not_match_each_other_are_refused() {
    let [run, compare, _] = <[ShardFile; 3]>::try_from(real_shards()).expect("three");
    let Work::Run(batch) = run.work.clone() else { unreachable!() };
    let lies: [fn(&mut RunBatch); 5] = [
        |b| drop(b.runs[1].clients.pop()),
        |b| drop(b.runs[1].services.pop()),
        |b| drop(b.runs[0].edges.pop()),
        |b| b.runs[1].replication = 0,
        |b| b.setup.graph.edges[0].to = 99,
    ];
    for (k, lie) in lies.iter().enumerate() {
        let mut b = batch.clone();
        lie(&mut b);
        let file = ShardFile { work: Work::Run(b), ..run.clone() };
        let result = catch_unwind(AssertUnwindSafe(|| ShardFile::decode(&file.encode()).and_then(outputs)));
        assert!(matches!(result, Ok(Err(_))), "lie {k} was not refused");
    }
    let Work::Compare(batch) = compare.work.clone() else { unreachable!() };
    let mut b = batch.clone();
    b.setup.variants.push("extra".into());
    let file = ShardFile { work: Work::Compare(b), ..compare.clone() };
    assert!(ShardFile::decode(&file.encode()).is_err(), "a variant without runs");
}
