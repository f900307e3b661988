//! The shape of the code, checked like any behaviour: crates depend only down the pipeline
//! (engine, stats, model, report, cli), the simulator builds no plotting library, nothing below
//! the CLI prints, every source file is on ARCHITECTURE.md's code map, every field of
//! `summary.json` is in its documentation, and the documents link only to files that exist.
//! Each check names what broke it and where.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tailsim_engine::SimDuration;
use tailsim_sim::Limits;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` (recursively) whose name ends in `ext`, sorted.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The crates of the pipeline, each with the workspace crates it may depend on.
const LAYERS: [(&str, &[&str]); 7] = [
    ("engine", &[]),
    ("stats", &["tailsim-engine"]),
    ("scenario", &["tailsim-engine"]),
    ("model", &["tailsim-engine", "tailsim-stats", "tailsim-scenario"]),
    ("sim", &["tailsim-engine", "tailsim-stats", "tailsim-model"]),
    ("report", &["tailsim-engine", "tailsim-stats"]),
    ("cli", &["tailsim-engine", "tailsim-stats", "tailsim-scenario", "tailsim-model", "tailsim-sim", "tailsim-report"]),
];

#[test]
fn crates_depend_only_down_the_pipeline() {
    for (name, allowed) in LAYERS {
        let path = root().join("crates").join(name).join("Cargo.toml");
        let manifest: toml::Table = read(&path).parse().expect("a valid Cargo.toml");
        let deps = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
        for dep in deps.keys().filter(|d| d.starts_with("tailsim-")) {
            assert!(allowed.contains(&dep.as_str()), "crates/{name} depends on {dep}; it may use only {allowed:?}");
        }
    }
}

/// The simulator reads the compiled model only: no file of it names the file format's crate,
/// and the model hands it no schema type (the model's own serde-free twins stand in).
#[test]
fn the_simulator_never_sees_the_file_format() {
    let mut found = Vec::new();
    for file in files_under(&root().join("crates/sim/src"), ".rs") {
        for (n, line) in read(&file).lines().enumerate() {
            if line.contains("tailsim_scenario") || line.contains("schema::") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "the simulator names the file format:\n{}", found.join("\n"));
    let model = read(&root().join("crates/model/src/lib.rs"));
    let reexported: Vec<&str> = model.lines().filter(|l| l.starts_with("pub use tailsim_scenario")).collect();
    assert_eq!(
        reexported,
        ["pub use tailsim_scenario::{Diagnostic, Files, Location, Override, Severity};"],
        "the model re-exports the loader's interface from tailsim-scenario, and no schema type"
    );
    let manifest = read(&root().join("crates/model/Cargo.toml"));
    assert!(!manifest.contains("serde.workspace"), "the compiled model derives no serde");
}

/// The packages `package` needs to build, from `Cargo.lock` (every platform's, so an upper bound).
fn closure(lock: &toml::Table, package: &str) -> BTreeSet<String> {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in lock.get("package").and_then(|p| p.as_array()).expect("packages in Cargo.lock") {
        let name = p.get("name").and_then(|n| n.as_str()).expect("a package name").to_string();
        let deps = p.get("dependencies").and_then(|d| d.as_array()).cloned().unwrap_or_default();
        // A dependency is written `name` or `name version` when two versions are locked.
        let deps = deps.iter().filter_map(|d| d.as_str()).map(|d| d.split(' ').next().unwrap_or(d).to_string());
        graph.entry(name).or_default().extend(deps);
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![package.to_string()];
    while let Some(p) = stack.pop() {
        if seen.insert(p.clone()) {
            stack.extend(graph.get(&p).into_iter().flatten().cloned());
        }
    }
    seen
}

#[test]
fn the_simulator_builds_no_plotting_library() {
    let lock: toml::Table = read(&root().join("Cargo.lock")).parse().expect("a valid Cargo.lock");
    for package in ["tailsim-stats", "tailsim-scenario", "tailsim-model", "tailsim-sim"] {
        let needs = closure(&lock, package);
        assert!(needs.contains("tailsim-engine"), "{package}: the closure misses tailsim-engine: {needs:?}");
        for drawing in ["tailsim-report", "plotters", "png", "dejavu", "ab_glyph"] {
            assert!(!needs.contains(drawing), "{package} needs {drawing} to build");
        }
    }
}

/// The lines of a source file before its `#[cfg(test)]` module, numbered from 1.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).take_while(|(_, l)| l.trim() != "#[cfg(test)]")
}

#[test]
fn nothing_below_the_cli_prints() {
    let printing = ["println!", "print!", "eprintln!", "eprint!", "dbg!", "stdout()", "stderr()"];
    let mut found = Vec::new();
    for name in ["engine", "stats", "scenario", "model", "sim", "report"] {
        for file in files_under(&root().join("crates").join(name).join("src"), ".rs") {
            let text = read(&file);
            for (n, line) in code_lines(&text) {
                let code = line.split("//").next().unwrap_or("");
                if printing.iter().any(|p| code.contains(p)) {
                    found.push(format!("{}:{n}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "only the CLI prints; return strings instead:\n{}", found.join("\n"));
}

#[test]
fn every_source_file_is_on_the_code_map() {
    let map = read(&root().join("ARCHITECTURE.md"));
    let mut missing = Vec::new();
    for dir in ["crates", "tests", "benches"] {
        for file in files_under(&root().join(dir), ".rs") {
            let stem = file.file_stem().expect("a file name").to_string_lossy().into_owned();
            let module = match stem.as_str() {
                // A crate's root is its crate's entry; a folder's `mod.rs` is the folder's module.
                "lib" | "main" => continue,
                "mod" => file.parent().and_then(|p| p.file_name()).expect("a folder").to_string_lossy().into_owned(),
                _ => stem,
            };
            // A file inside a module's folder may also be named with its folder: `lower/steps`.
            let folder = file.parent().and_then(|p| p.file_name()).map(|f| f.to_string_lossy().into_owned());
            let nested = folder.is_some_and(|f| map.contains(&format!("`{f}/{module}`")));
            if !nested && !map.contains(&format!("`{module}`")) && !map.contains(&format!("`{module}.rs`")) {
                missing.push(file.strip_prefix(root()).unwrap_or(&file).display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map names no `module` for:\n{}", missing.join("\n"));
}

/// Every key of every object in `value`, nested ones included.
fn keys(value: &serde_json::Value, into: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                into.insert(k.clone());
                keys(v, into);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, into)),
        _ => {}
    }
}

#[test]
fn every_summary_field_is_documented() {
    let dir = root().join("scenarios");
    let mut fields = BTreeSet::new();
    for file in files_under(&dir, ".ron") {
        let text = read(&file);
        let (variants, _) = tailsim_model::load_variants_in(&text, &[], &tailsim_model::Files::in_dir(&dir))
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        // Every variant: some fields (a breaker's, an autoscaler's) appear only in some designs.
        for (_, mut model) in variants {
            model.duration = model.duration.min(model.warmup + SimDuration::from_secs(2));
            let report = tailsim_sim::run_replications(&model, 1, 2, Limits::default());
            let json = tailsim_report::write::summary_json(&report);
            keys(&serde_json::from_str(&json).expect("summary.json parses"), &mut fields);
        }
    }
    let doc = read(&root().join("docs/summary-json.md"));
    let documented =
        |f: &str| ["`", "."].iter().any(|l| ["`", "."].iter().any(|r| doc.contains(&format!("{l}{f}{r}"))));
    let missing: Vec<&String> = fields.iter().filter(|f| !documented(f)).collect();
    assert!(fields.len() > 100, "only {} fields seen", fields.len());
    assert!(missing.is_empty(), "docs/summary-json.md does not document {missing:?}");
}

/// The targets of a Markdown document's relative links, and the `NAME.md` files it names.
fn referenced_files(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = rest.split([')', '#', ' ']).next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            found.push(target.to_string());
        }
    }
    for word in text.split(|c: char| !(c.is_alphanumeric() || "-_./".contains(c))) {
        if word.ends_with(".md") && word.len() > 3 && !found.iter().any(|f| f.ends_with(word)) {
            found.push(word.to_string());
        }
    }
    found
}

#[test]
fn documents_name_only_files_that_exist() {
    let root = root();
    let mut docs = vec![root.join("README.md"), root.join("ARCHITECTURE.md"), root.join("fuzz/README.md")];
    docs.extend(files_under(&root.join("docs"), ".md"));
    let mut broken = Vec::new();
    for doc in &docs {
        let here = doc.parent().expect("a folder");
        for target in referenced_files(&read(doc)) {
            if !here.join(&target).exists() && !root.join(&target).exists() {
                broken.push(format!("{}: {target}", doc.strip_prefix(&root).unwrap_or(doc).display()));
            }
        }
    }
    assert!(broken.is_empty(), "documents name files that are not in the repository:\n{}", broken.join("\n"));
}

/// The numbers a header promises: each `~` followed by a number (`~16s`, `~1,000`, `~98.5%`).
fn promised(header: &str) -> Vec<String> {
    let chars: Vec<char> = header.chars().collect();
    let mut out = Vec::new();
    for (i, _) in
        chars.iter().enumerate().filter(|&(i, &c)| c == '~' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
    {
        let mut end = i + 1;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || matches!(chars[end], '.' | ',' | '%')) {
            end += 1;
        }
        let token: String = chars[i..end].iter().collect();
        out.push(token.trim_end_matches(['.', ',']).to_string());
    }
    out
}

/// Every `header_says(CONST, "text")` in the tests, as (scenario file stem, text), with each
/// `const CONST: &str = include_str!("../scenarios/NAME.ron")` resolved to `NAME`.
fn claims_in_tests() -> Vec<(String, String)> {
    let mut claims = Vec::new();
    for file in files_under(&root().join("tests"), ".rs") {
        let text = read(&file);
        // One space for any run of white space: rustfmt may break a call over lines.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut names = BTreeMap::new();
        for (at, _) in flat.match_indices("include_str!(\"../scenarios/") {
            let before = &flat[..at];
            let Some(start) = before.rfind("const ") else { continue };
            // Only `const NAME: &str = include_str!(..)`: an inline `include_str!` names no constant.
            if before[start..].contains(';') {
                continue;
            }
            let constant = before[start + 6..].split(':').next().unwrap_or("").trim().to_string();
            let rest = &flat[at + "include_str!(\"../scenarios/".len()..];
            names.insert(constant, rest.split(".ron").next().unwrap_or("").to_string());
        }
        // `header_says(CONST, "text")`, and `says("text")` after `let says = |text: &str|
        // header_says(CONST, text);`, up to the next such `let`.
        let mut says_names = None;
        let mut at = 0;
        while at < flat.len() {
            let rest = &flat[at..];
            let (call, alias) = if rest.starts_with("header_says(") {
                ("header_says(".len(), false)
            } else if (rest.starts_with("says(\"") || rest.starts_with("says( \""))
                && !flat[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                ("says(".len(), true)
            } else {
                at += rest.chars().next().map_or(1, char::len_utf8);
                continue;
            };
            let args = rest[call..].trim_start();
            let constant =
                if alias { says_names.clone() } else { Some(args.split(',').next().unwrap_or("").trim().to_string()) };
            let literal = args.strip_prefix(constant.as_deref().filter(|_| !alias).unwrap_or("")).unwrap_or(args);
            let literal = literal.trim_start_matches([',', ' ']);
            if !alias && literal.starts_with("text)") {
                says_names = constant.clone();
            } else if let Some(body) = literal.strip_prefix('"') {
                let end = body.find("\")").or_else(|| body.find("\",")).unwrap_or(body.len());
                if let Some(name) = constant.and_then(|c| names.get(&c)) {
                    claims.push((name.clone(), body[..end].replace("\\\"", "\"")));
                }
            }
            at += call;
        }
    }
    claims
}

/// Every number a bundled scenario's header promises (written `~N`) is measured by a test that
/// names it through `header_says`: a header cannot promise what no run was checked to give.
#[test]
fn every_header_number_is_measured() {
    let claims = claims_in_tests();
    let mut untied = Vec::new();
    for file in files_under(&root().join("scenarios"), ".ron") {
        let stem = file.file_stem().expect("a name").to_string_lossy().into_owned();
        let header = tailsim_tests::header(&read(&file));
        let open: Vec<String> = promised(&header)
            .into_iter()
            .filter(|n| !claims.iter().any(|(s, text)| *s == stem && text.contains(n.as_str())))
            .collect();
        if !open.is_empty() {
            untied.push(format!("{stem}: {}", open.join(", ")));
        }
    }
    assert!(untied.is_empty(), "header numbers no test measures (header_says):\n{}", untied.join("\n"));
    assert_eq!(
        promised("saturated for ~16s, p99 ~4.9s. ~1,000 queries, ~98.5%."),
        ["~16s", "~4.9s", "~1,000", "~98.5%"]
    );
}
