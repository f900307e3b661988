//! Shared helpers for the end-to-end tests: loading scenario text, running replications with
//! the invariants checked, and comparing estimates with theory at a stated confidence.

use statrs::distribution::{ContinuousCDF, StudentsT};
use tailsim_model::Model;
use tailsim_report::Report;
use tailsim_sim::Limits;
use tailsim_sim::world;

/// Loads scenario text, panicking with the rendered diagnostics if it is invalid.
pub fn load(text: &str) -> Model {
    match tailsim_model::load(text, &[]) {
        Ok((model, _warnings)) => model,
        Err(errors) => {
            let rendered: Vec<String> = errors.iter().map(|d| d.render("test.ron", text)).collect();
            panic!("invalid test scenario:\n{}", rendered.join("\n"))
        }
    }
}

/// Runs `replications` replications and checks, for each, that requests and every consumer
/// group's messages were conserved and that the run was not truncated.
pub fn run(model: &Model, seed: u64, replications: u32) -> Report {
    let report = tailsim_sim::run_replications(model, seed, replications, Limits::default());
    for run in &report.runs {
        assert!(run.conservation.holds, "seed {seed} replication {}: {:?}", run.replication, run.conservation);
        assert!(run.truncated.is_none(), "seed {seed}: {:?}", run.truncated);
        for group in run.topics.iter().flat_map(|t| &t.groups) {
            assert!(group.messages.balanced(), "seed {seed}: {}'s messages: {:?}", group.name, group.messages);
        }
    }
    report
}

/// Mean and half-width of the two-sided `confidence` Student-t interval of `values`.
pub fn t_interval(values: &[f64], confidence: f64) -> (f64, f64) {
    let n = values.len() as f64;
    assert!(values.len() >= 2, "need two or more replications");
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0).expect("df > 0").inverse_cdf(0.5 + confidence / 2.0);
    (mean, t * (var / n).sqrt())
}

/// Asserts that replication estimates of a quantity agree with its theoretical value:
///
/// 1. the theory lies inside the 99.9% t-interval of the replication values (a correct
///    simulator fails this one time in a thousand; the seeds are fixed, so a test that passes
///    keeps passing);
/// 2. the mean is within `rel_tol` of the theory (the accuracy the issue asks for);
/// 3. the interval is narrower than `rel_tol` (so the test could have seen an error that large).
pub fn assert_theory(what: &str, values: &[f64], theory: f64, rel_tol: f64) {
    let (mean, half) = t_interval(values, 0.999);
    let rel_err = (mean - theory).abs() / theory;
    let report = format!(
        "{what}: simulated {mean:.5} ± {half:.5} (99.9%, {} replications), theory {theory:.5}, error {:.2}%",
        values.len(),
        rel_err * 100.0
    );
    assert!(half < rel_tol * theory, "{report}: the interval is too wide to test a {}% tolerance", rel_tol * 100.0);
    assert!((mean - theory).abs() <= half, "{report}: theory outside the 99.9% interval");
    assert!(rel_err <= rel_tol, "{report}: beyond the {}% tolerance", rel_tol * 100.0);
    println!("{report}");
}

/// The least-squares slope of `values[i]` against the end of window `i` in seconds (1 s
/// windows), over windows `from..to`: how fast a backlog grows or drains.
pub fn slope(values: &[f64], from: usize, to: usize) -> f64 {
    let points: Vec<(f64, f64)> = (from..to).map(|i| ((i + 1) as f64, values[i])).collect();
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    sxy / points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>()
}

/// The comment lines a scenario file opens with, without their `//`, as one line of text (a
/// claim may wrap).
pub fn header(scenario: &str) -> String {
    let lines: Vec<&str> =
        scenario.lines().map(str::trim).take_while(|l| l.starts_with("//")).map(|l| l[2..].trim()).collect();
    lines.join(" ")
}

/// Asserts that the header of `scenario` says `text`, and so marks the numbers in `text` as
/// measured by the test that calls this: `tidy::every_header_number_is_measured` finds the call
/// and requires one for every `~` number of every header. Call it beside the assertion that
/// measures the claim.
pub fn header_says(scenario: &str, text: &str) {
    assert!(header(scenario).contains(text), "the header does not say {text:?}");
}

/// Everything a hostile input can reach: load it, render every diagnostic, and run a model that
/// loads for one replication on small budgets. Shared by the fuzz target and the regression
/// test over its corpus; it must never panic, hang or exhaust memory.
pub fn exercise(text: &str) {
    match tailsim_model::load(text, &[]) {
        Ok((model, warnings)) => {
            for w in &warnings {
                let _ = w.render("input.ron", text);
            }
            let limits = Limits { max_in_flight: 10_000, max_events: 200_000, ..Limits::default() };
            let summary = world::run(&model, 1, 0, limits);
            assert!(summary.conservation.holds, "{:?}\n{text}", summary.conservation);
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                let _ = d.render("input.ron", text);
            }
        }
    }
}

/// Checks that `svg` is a well-formed SVG document of `size` pixels with some text in it, and
/// returns every text it shows (titles, labels, legends), trimmed.
pub fn check_svg(svg: &str, size: Option<(u32, u32)>) -> Vec<String> {
    let doc = match roxmltree::Document::parse(svg) {
        Ok(doc) => doc,
        Err(e) => panic!("not well-formed XML: {e}\n{}", &svg[..svg.len().min(2000)]),
    };
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    if let Some((width, height)) = size {
        assert_eq!(root.attribute("width"), Some(width.to_string().as_str()));
        assert_eq!(root.attribute("height"), Some(height.to_string().as_str()));
    }
    let texts: Vec<String> = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect();
    assert!(!texts.is_empty(), "an SVG chart without any text");
    texts
}

/// Checks that `bytes` are a PNG file (signature, IHDR first) that decodes completely, every
/// chunk's checksum included, and returns its size in pixels.
pub fn check_png(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "no PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR is not the first chunk");
    let header_width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let header_height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("PNG header decodes");
    let mut pixels = vec![0; reader.output_buffer_size().expect("PNG size fits in memory")];
    let info = reader.next_frame(&mut pixels).expect("PNG image data decodes");
    assert_eq!((info.width, info.height), (header_width, header_height));
    // Not a blank picture: some pixels are dark (text, lines).
    assert!(pixels.iter().any(|&p| p < 100), "a PNG chart without anything drawn");
    (info.width, info.height)
}
