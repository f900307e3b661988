//! Charts of real runs, comparisons and sweeps are valid SVG and PNG, say what they show, come
//! out byte-identical for the same seed, and odd data (nothing recorded, gaps, huge series,
//! huge graphs) draws or fails cleanly instead of panicking.

use tailsim_model::Override;
use tailsim_model::load_points;
use tailsim_model::params::Param;
use tailsim_report::chart::{self, CdfChart, ChartError, ChartKind, LoadChart, Marker, TimeChart};
use tailsim_report::compare::Comparison;
use tailsim_report::graph::{CallGraph, GraphNode, NodeKind};
use tailsim_report::sweep::Sweep;
use tailsim_report::{Distribution, Report};
use tailsim_sim::Limits;
use tailsim_sim::sweep::sweep;
use tailsim_tests::{check_png, check_svg, load, run};

const RETRY_STORM: &str = include_str!("../scenarios/retry-storm.ron");

fn storm() -> (Report, CallGraph) {
    let model = load(RETRY_STORM);
    (run(&model, 7, 1), tailsim_model::graph::call_graph(&model))
}

#[test]
fn every_chart_of_a_run_is_valid_svg_and_png_and_says_what_it_shows() {
    let (report, graph) = storm();
    let charts = chart::charts(&report, &graph);
    let stems: Vec<&str> = charts.iter().map(|c| c.file_stem.as_str()).collect();
    assert_eq!(
        stems,
        [
            "callgraph",
            "shoppers-latency-histogram",
            "shoppers-latency-cdf",
            "shoppers-over-time",
            "shoppers-latency-over-time",
            "services-utilisation",
            "services-queue-length"
        ]
    );
    for c in &charts {
        let rendered = chart::render(c).unwrap_or_else(|e| panic!("{e}"));
        let (width, height) = check_png(&rendered.png);
        let texts = check_svg(&rendered.svg, Some((width, height)));
        let all = texts.join("\n");
        assert!(all.contains(&c.title), "{}: no title in {all}", c.file_stem);
        match &c.kind {
            ChartKind::CallGraph(_) => {
                for needle in ["shoppers", "api", "db", "800/s Poisson", "timeout 500ms", "4 x 16 workers, queue 200"] {
                    assert!(all.contains(needle), "call graph without {needle:?}: {all}");
                }
            }
            ChartKind::Histogram(_) | ChartKind::Cdf(_) => {
                let client = &report.runs[0].clients[0];
                let succeeded = tailsim_report::text::thousands(client.succeeded);
                for needle in [
                    "latency (log scale)".to_string(),
                    format!("succeeded ({succeeded})"),
                    "p50 ".to_string(),
                    "p99 ".to_string(),
                    "p99.9 ".to_string(),
                    "percentiles of failures".to_string(),
                ] {
                    assert!(all.contains(&needle), "{}: no {needle:?} in {all}", c.file_stem);
                }
                assert_eq!((width, height), (chart::WIDTH, chart::HEIGHT));
            }
            ChartKind::Timeline(_) => {
                // The storm's slowdown is shaded and named, and so is the warm-up.
                for needle in ["db: slowdown x5", "warm-up", "time (s)"] {
                    assert!(all.contains(needle), "timeline without {needle:?}: {all}");
                }
                let lines: &[&str] = match c.file_stem.as_str() {
                    "shoppers-over-time" => &["goodput (successes)", "errors (failures)", "throughput (all answers)"],
                    "shoppers-latency-over-time" => &["p50", "p99", "latency of successes (ms, log scale)"],
                    _ => &["api", "db"],
                };
                for needle in lines {
                    assert!(texts.iter().any(|t| t == needle), "{}: no {needle:?} in {all}", c.file_stem);
                }
                let doc = roxmltree::Document::parse(&rendered.svg).expect("parsed above");
                let lines = doc.descendants().filter(|n| n.has_tag_name("polyline")).count();
                assert!(lines >= 2, "{}: {lines} lines", c.file_stem);
            }
            other => panic!("{}: a run without classes has no {other:?}", c.file_stem),
        }
    }
}

/// The lines of an SVG chart drawn 2 pixels wide, in drawing order, as their colour and number
/// of points: the data lines (grid lines are 1 pixel wide, solid legend swatches 3), and the
/// segments of dashed lines (of the data or a legend swatch), 2 points each.
fn wide_lines(svg: &str) -> Vec<(String, usize)> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .map(|n| {
            let points = n.attribute("points").unwrap_or_default().split_whitespace().count();
            (n.attribute("stroke").unwrap_or_default().to_string(), points)
        })
        .collect()
}

/// The colours of the solid data lines of an SVG chart (more than two points), in drawing order.
fn data_lines(svg: &str) -> Vec<String> {
    wide_lines(svg).into_iter().filter(|(_, points)| *points > 2).map(|(colour, _)| colour).collect()
}

/// The palette's first colours, as SVG writes them.
const COLOURS: [&str; 5] = ["#0072B2", "#D55E00", "#3C3C3C", "#009E73", "#CC79A7"];

/// Renders a chart, checks both formats (valid PNG of the chart's size, well-formed SVG with
/// the title) and returns the SVG's texts and the rendering.
fn rendered(c: &chart::Chart) -> (Vec<String>, chart::RenderedChart) {
    let rendered = chart::render(c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check_png(&rendered.png), (chart::WIDTH, chart::HEIGHT), "{}", c.file_stem);
    let texts = check_svg(&rendered.svg, Some((chart::WIDTH, chart::HEIGHT)));
    assert!(texts.contains(&c.title), "{}: no title in {texts:?}", c.file_stem);
    (texts, rendered)
}

const CLASSES: &str = r#"Scenario(
    name: "classes",
    duration: "20s",
    warmup: "2s",
    clients: [Client(name: "users", target: "api", rate: 500.0,
        classes: [Class(name: "read", weight: 90), Class(name: "write", weight: 10)])],
    services: [Service(name: "api", workers: 2, handler: [Work(Exponential(mean: "1ms"))],
        handlers: {"write": [Work(Constant("5ms"))]})],
)"#;

/// A client with classes gets one more chart after its CDF: a CDF with a line per class, drawn
/// from the classes' own histograms on the percentile axis.
#[test]
fn a_client_with_classes_gets_a_cdf_by_class() {
    let model = load(CLASSES);
    let report = run(&model, 3, 1);
    let graph = tailsim_model::graph::call_graph(&model);
    let charts = chart::charts(&report, &graph);
    let stems: Vec<&str> = charts.iter().map(|c| c.file_stem.as_str()).collect();
    assert_eq!(stems[1..4], ["users-latency-histogram", "users-latency-cdf", "users-classes-latency-cdf"]);
    let by_class = &charts[3];
    assert_eq!(by_class.title, "users: latency CDF by class");
    let ChartKind::Cdfs(cdfs) = &by_class.kind else { panic!("a CDF of several lines: {:?}", by_class.kind) };
    let classes = &report.runs[0].clients[0].classes;
    let names: Vec<&str> = cdfs.lines.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["read", "write"]);
    for ((_, drawn), class) in cdfs.lines.iter().zip(classes) {
        assert_eq!(drawn.counts, class.latency_histogram.counts);
        assert!(!drawn.counts.is_empty());
    }
    let (texts, first) = rendered(by_class);
    for class in classes {
        let legend = format!("{} ({})", class.name, tailsim_report::text::thousands(class.succeeded));
        assert!(texts.contains(&legend), "no {legend:?} in {texts:?}");
    }
    // The percentile axis: some 9,000 answers resolve four nines, not five.
    for label in ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "latency (log scale)"] {
        assert!(texts.iter().any(|t| t == label), "no {label:?} in {texts:?}");
    }
    assert!(!texts.iter().any(|t| t == "99.999%"), "{texts:?}");
    assert_eq!(data_lines(&first.svg), COLOURS[..2]);
    // The same seed draws the same bytes; another draws another picture.
    let again = chart::charts(&run(&model, 3, 1), &graph);
    let second = chart::render(&again[3]).expect("renders");
    assert!(first.svg == second.svg && first.png == second.png, "the class CDF differs between two runs");
    let other = chart::charts(&run(&model, 4, 1), &graph);
    assert_ne!(chart::render_svg(&other[3]).expect("renders"), first.svg);
    // report.html shows it with the others.
    let all: Vec<chart::RenderedChart> = charts.iter().map(|c| chart::render(c).expect("renders")).collect();
    let html = tailsim_report::html::report_html(&report, None, &all, &[]);
    let at = html.find("<figure id=\"users-classes-latency-cdf\">").expect("a figure for the class CDF");
    assert!(html[at..].contains("<figcaption>users: latency CDF by class</figcaption>\n<svg"), "no SVG in the figure");
    // Without classes (the storm) or with one class, there is no such chart.
    let one_class = CLASSES.replace(", Class(name: \"write\", weight: 10)", "").replace("{\"write\"", "{\"read\"");
    let one = load(&one_class);
    let charts = chart::charts(&run(&one, 3, 1), &tailsim_model::graph::call_graph(&one));
    assert!(charts.iter().all(|c| !c.file_stem.contains("classes")), "one class charted");
}

/// The retry storm's base and four variants over two replications, 45 s each, so the
/// slowdown at 30-40 s is inside the runs.
fn storm_comparison(seed: u64) -> Comparison {
    let set = [Override::parse("duration=45s").expect("path=value")];
    let variants = tailsim_model::load_variants(RETRY_STORM, &set).expect("valid").0;
    let (comparison, broken) = tailsim_sim::compare::compare(&variants, seed, 2, "shoppers", None, Limits::default());
    assert_eq!(broken, None);
    comparison
}

#[test]
fn compare_charts_overlay_the_variants_and_are_byte_identical() {
    let comparison = storm_comparison(7);
    let charts = chart::compare_charts(&comparison);
    let stems: Vec<&str> = charts.iter().map(|c| c.file_stem.as_str()).collect();
    assert_eq!(
        stems,
        ["compare-shoppers-latency-cdf", "compare-shoppers-p99-over-time", "compare-shoppers-goodput-over-time"]
    );
    let variants: Vec<&str> = comparison.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(variants, ["base", "full-jitter", "budget", "breaker", "full-jitter+budget"]);
    let mut first = Vec::new();
    for c in &charts {
        let (texts, drawn) = rendered(c);
        match &c.kind {
            ChartKind::Cdfs(cdfs) => {
                assert_eq!(c.title, "shoppers: latency CDF by variant (2 replications pooled)");
                for (v, (name, distribution)) in comparison.variants.iter().zip(&cdfs.lines) {
                    assert_eq!(name, &v.name);
                    assert_eq!(distribution.counts, v.clients[0].latency_histogram.counts);
                    let legend =
                        format!("{name} ({})", tailsim_report::text::thousands(distribution.counts.iter().sum()));
                    assert!(texts.contains(&legend), "no {legend:?} in {texts:?}");
                }
                for label in ["50%", "99%", "99.9%", "latency (log scale)"] {
                    assert!(texts.iter().any(|t| t == label), "no {label:?} in {texts:?}");
                }
                // One line per variant, each in its colour.
                assert_eq!(data_lines(&drawn.svg), COLOURS);
            }
            ChartKind::Timeline(timeline) => {
                assert!(c.title.ends_with("by variant (replication 1 of 2)"), "{}", c.title);
                let names: Vec<&str> = timeline.series.iter().map(|s| s.name.as_str()).collect();
                assert_eq!(names, variants);
                // Every variant shares the warm-up and the slowdown: both are shaded and named.
                for needle in ["warm-up", "db: slowdown x5", "time (s)", "base", "full-jitter+budget"] {
                    assert!(texts.iter().any(|t| t == needle), "{}: no {needle:?} in {texts:?}", c.file_stem);
                }
                // Every variant draws in its colour (the p99 line breaks where a window had no
                // success, so it may be several pieces).
                let colours: Vec<String> = wide_lines(&drawn.svg).into_iter().map(|(c, _)| c).collect();
                assert!(COLOURS.iter().all(|c| colours.iter().any(|d| d == c)), "{}: {colours:?}", c.file_stem);
                if c.file_stem.contains("goodput") {
                    let base = &comparison.variants[0].clients[0];
                    assert_eq!(timeline.series[0].values, base.goodput_per_s);
                    assert!(!timeline.log_y);
                } else {
                    assert!(timeline.log_y);
                }
            }
            other => panic!("{}: unexpected {other:?}", c.file_stem),
        }
        first.push(drawn);
    }
    // Same seed, same bytes; another seed, another picture.
    for (c, before) in chart::compare_charts(&storm_comparison(7)).iter().zip(&first) {
        let again = chart::render(c).expect("renders");
        assert!(again.svg == before.svg, "{}.svg differs between two runs", c.file_stem);
        assert!(again.png == before.png, "{}.png differs between two runs", c.file_stem);
    }
    let other = chart::compare_charts(&storm_comparison(8));
    assert_ne!(chart::render_svg(&other[0]).expect("renders"), first[0].svg);
}

/// A band that only some variants have (a fault one variant removes) is not shaded on the
/// compare time charts; one they all share is.
#[test]
fn compare_charts_shade_only_what_every_variant_shares() {
    let mut comparison = storm_comparison(7);
    comparison.variants[2].bands.retain(|b| b.warmup);
    for c in chart::compare_charts(&comparison) {
        if let ChartKind::Timeline(timeline) = &c.kind {
            let labels: Vec<&str> = timeline.bands.iter().map(|b| b.label.as_str()).collect();
            assert_eq!(labels, ["warm-up"], "{}", c.file_stem);
        }
    }
}

/// M/M/1 swept from 10% to 100% of its capacity (and one grid over workers): the sweep chart
/// lays Erlang C's p99 over the simulated percentiles against the offered load.
fn mm1_sweep(params: &[&str]) -> Sweep {
    let params: Vec<Param> = params.iter().map(|p| Param::parse(p).expect("valid")).collect();
    let set = [Override::parse("duration=20s").expect("path=value")];
    let points = load_points(include_str!("../scenarios/mm1.ron"), &set, &params).expect("valid");
    let (results, broken) = sweep(&points, 1, 2, "users", Limits::default());
    assert_eq!(broken, None);
    Sweep {
        scenario: "mm1".into(),
        seed: 1,
        replications: 2,
        client: "users".into(),
        params: params.iter().map(|p| p.path.clone()).collect(),
        points: results,
    }
}

#[test]
fn the_sweep_chart_shows_the_hockey_stick_beside_erlang_c() {
    let sweep = mm1_sweep(&["clients.users.rate=100,300,500,700,800,900,950,1000"]);
    let charts = chart::sweep_charts(&sweep);
    assert_eq!(charts.len(), 1);
    let c = &charts[0];
    assert_eq!((c.file_stem.as_str(), c.title.as_str()), ("sweep-latency", "mm1: latency of users against load"));
    let ChartKind::Load(load) = &c.kind else { panic!("a load chart: {:?}", c.kind) };
    assert!(load.x_is_load);
    let names: Vec<&str> = load.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["p50", "p99", "p99.9", "Erlang C p99 of server (M/M/1)"]);
    // x is the offered load, in order; the simulated p99 is each point's.
    let p99 = &load.lines[1];
    let xs: Vec<f64> = p99.points.iter().map(|p| p.0).collect();
    let loads: Vec<f64> = sweep.points.iter().map(|p| p.busiest.offered_load).collect();
    assert_eq!(xs, loads);
    assert!(xs.windows(2).all(|w| w[0] < w[1]) && (xs[0] - 0.1).abs() < 1e-12 && xs[7] == 1.0, "{xs:?}");
    for (point, drawn) in sweep.points.iter().zip(&p99.points) {
        assert_eq!(drawn.1, point.p99_ms.expect("answers").mean);
    }
    // The theory stops short of saturation, where M/M/1 has no steady state, and is
    // ln(100) / (mu - lambda) where it exists.
    let theory = &load.lines[3];
    assert!(theory.style == chart::Stroke::Theory && theory.colour == p99.colour);
    assert_eq!(theory.points.len(), 7);
    for &(x, ms) in &theory.points {
        assert!((ms - 100f64.ln() / (1.0 - x)).abs() < 1e-6 * ms, "{x}: {ms}");
    }
    // The hockey stick: from 10% to 95% the simulated p99 grows more than tenfold, and most
    // of that in the last steps.
    let at = |x: f64| p99.points.iter().find(|p| (p.0 - x).abs() < 1e-9).expect("a point").1;
    assert!(at(0.95) > 10.0 * at(0.1), "{} vs {}", at(0.95), at(0.1));
    assert!(at(0.95) - at(0.8) > at(0.8) - at(0.1));
    let (texts, drawn) = rendered(c);
    for needle in ["p50", "p99", "p99.9", "Erlang C p99 of server (M/M/1)", "saturation", "100%", "50%"] {
        assert!(texts.iter().any(|t| t == needle), "no {needle:?} in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.starts_with("offered load of server")), "{texts:?}");
    // Three simulated lines, then the dashed theory in the colour of p99: many more pieces of
    // that colour than the p99 line and the legend swatch's two dashes.
    let solid = data_lines(&drawn.svg);
    assert_eq!(solid[..3], COLOURS[..3]);
    assert!(solid[3..].iter().all(|c| c == COLOURS[1]), "{solid:?}");
    let orange = wide_lines(&drawn.svg).into_iter().filter(|(c, _)| c == COLOURS[1]).count();
    assert!(orange > 3 + 5, "{orange} pieces");
    // Same seed, same bytes.
    let again =
        chart::render(&chart::sweep_charts(&mm1_sweep(&["clients.users.rate=100,300,500,700,800,900,950,1000"]))[0])
            .expect("renders");
    assert!(again.svg == drawn.svg && again.png == drawn.png, "the sweep chart differs between two runs");
}

#[test]
fn a_grid_sweep_draws_one_p99_line_per_group() {
    let sweep = mm1_sweep(&["clients.users.rate=200..800:3", "services.server.workers=1,2"]);
    let c = &chart::sweep_charts(&sweep)[0];
    let ChartKind::Load(load) = &c.kind else { panic!("a load chart") };
    let names: Vec<&str> = load.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["p99, workers=1", "Erlang C p99, workers=1", "p99, workers=2", "Erlang C p99, workers=2"]);
    // Two workers halve the offered load: x runs 10% to 40% for them.
    let xs: Vec<f64> = load.lines[2].points.iter().map(|p| p.0).collect();
    assert_eq!(xs, [0.1, 0.25, 0.4]);
    let (texts, _) = rendered(c);
    assert!(!texts.iter().any(|t| t == "saturation"), "no point reaches 100%: {texts:?}");
    // A sweep that does not move the load charts against its first parameter.
    let flat = mm1_sweep(&["clients.users.rate=500", "services.server.workers=1"]);
    let c = &chart::sweep_charts(&flat)[0];
    let ChartKind::Load(load) = &c.kind else { panic!("a load chart") };
    assert!(!load.x_is_load && load.x_label == "clients.users.rate");
    rendered(c);
}

#[test]
fn new_charts_of_odd_data_draw_without_panicking() {
    let nothing = [
        ChartKind::Cdfs(CdfChart { lines: Vec::new() }),
        ChartKind::Cdfs(CdfChart { lines: vec![("a".into(), Distribution::default())] }),
        ChartKind::Load(LoadChart { x_label: "x".into(), x_is_load: true, lines: Vec::new(), groups_left_out: 0 }),
    ];
    for kind in nothing {
        let c = chart::Chart { file_stem: "t".into(), title: "t".into(), kind };
        let (texts, _) = rendered(&c);
        assert!(texts.iter().any(|t| t.starts_with("no ")), "{texts:?}");
    }
    // One point, one latency bucket, a line with a missing variant.
    let one = Distribution { buckets_per_decade: 20, edges_ms: vec![1.0, 1.122], counts: vec![1] };
    let kinds = [
        ChartKind::Cdfs(CdfChart { lines: vec![("a".into(), one), ("missing".into(), Distribution::default())] }),
        ChartKind::Load(LoadChart {
            x_label: "x".into(),
            x_is_load: false,
            lines: vec![chart::LoadLine {
                name: "p99".into(),
                points: vec![(3.0, 2.0)],
                colour: 1,
                style: chart::Stroke::Measured,
            }],
            groups_left_out: 0,
        }),
    ];
    for kind in kinds {
        let c = chart::Chart { file_stem: "t".into(), title: "t".into(), kind };
        rendered(&c);
    }
}

#[test]
fn charts_are_byte_identical_for_the_same_seed() {
    let render_all = || {
        let (report, graph) = storm();
        chart::charts(&report, &graph).iter().map(|c| chart::render(c).expect("renders")).collect::<Vec<_>>()
    };
    let (first, second) = (render_all(), render_all());
    for (a, b) in first.iter().zip(&second) {
        assert!(a.svg == b.svg, "{}.svg differs between two runs", a.file_stem);
        assert!(a.png == b.png, "{}.png differs between two runs", a.file_stem);
    }
    // A different seed gives different data and so different pictures.
    let model = load(RETRY_STORM);
    let other = run(&model, 8, 1);
    let charts = chart::charts(&other, &tailsim_model::graph::call_graph(&model));
    assert_ne!(chart::render_svg(&charts[1]).expect("renders"), first[1].svg);
}

#[test]
fn several_replications_chart_the_first_and_say_so() {
    let model = load(RETRY_STORM);
    let report = run(&model, 7, 2);
    let charts = chart::charts(&report, &tailsim_model::graph::call_graph(&model));
    assert!(charts[1].title.ends_with("(replication 1 of 2)"), "{}", charts[1].title);
    let ChartKind::Histogram(latency) = &charts[1].kind else { panic!("histogram second") };
    assert_eq!(latency.success.counts, report.runs[0].clients[0].latency_histogram.counts);
}

#[test]
fn odd_data_draws_without_panicking() {
    let (mut report, graph) = storm();
    {
        let client = &mut report.runs[0].clients[0];
        client.latency_histogram = Distribution::default();
        client.failure_latency_histogram = Distribution::default();
        client.per_window.succeeded.clear();
        client.per_window.failed.clear();
        client.per_window.window_s = 0.0;
    }
    report.runs[0].faults[0].end_s = f64::NAN;
    for c in chart::charts(&report, &graph) {
        let rendered = chart::render(&c).unwrap_or_else(|e| panic!("{e}"));
        let texts = check_svg(&rendered.svg, None).join("\n");
        check_png(&rendered.png);
        if matches!(c.kind, ChartKind::Histogram(_) | ChartKind::Cdf(_)) {
            assert!(texts.contains("no request was answered"), "{texts}");
        }
    }
    // Gaps, zeros on a log axis, infinities, and a series far longer than a chart shows.
    let mut long: Vec<f64> = (0..250_000).map(|i| f64::from(i % 1000) + 1.0).collect();
    long[7] = f64::NAN;
    long[8] = 0.0;
    long[9] = f64::INFINITY;
    for timeline in [
        TimeChart::new("p99 (ms)", 0.001).log_y().line("long", long.clone()).line("empty", Vec::new()),
        TimeChart::new("queue length", 1.0).line("zeros", vec![0.0; 10]),
        TimeChart::new("nothing", 1.0),
        // Instants outside the run, or nowhere, are left out; an axis topped below the data
        // still draws.
        TimeChart::new("hit ratio (%)", 1.0).y_max(1.0).line("a", vec![50.0, 100.0]).markers(&[
            Marker { label: "nowhere".into(), at_s: f64::NAN },
            Marker { label: "later".into(), at_s: 1e12 },
            Marker { label: "before".into(), at_s: -1.0 },
        ]),
    ] {
        let c = chart::Chart { file_stem: "t".into(), title: "t".into(), kind: ChartKind::Timeline(timeline) };
        let svg = chart::render_svg(&c).unwrap_or_else(|e| panic!("{e}"));
        check_svg(&svg, Some((chart::WIDTH, chart::HEIGHT)));
        check_png(&chart::render_png(&c).expect("renders"));
        // Long series are thinned: the SVG stays small.
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
    }
}

#[test]
fn call_graphs_of_any_shape_draw_or_are_refused_cleanly() {
    let node = |i: usize, kind| GraphNode { name: format!("node-{i}"), kind, detail: "1 x 1 worker".into() };
    let graph = |nodes: Vec<GraphNode>, edges| CallGraph { name: "g".into(), nodes, edges };
    let picture = |g: CallGraph| {
        chart::render(&chart::Chart { file_stem: "g".into(), title: "g".into(), kind: ChartKind::CallGraph(g) })
    };
    // Nothing at all.
    let empty = picture(graph(Vec::new(), Vec::new())).expect("an empty graph draws");
    check_png(&empty.png);
    // A cycle and an edge to nowhere (which compiled scenarios never have).
    let edges = vec![
        tailsim_report::graph::GraphEdge { from: 0, to: 1, label: "a, b, c".into() },
        tailsim_report::graph::GraphEdge { from: 1, to: 2, label: String::new() },
        tailsim_report::graph::GraphEdge { from: 2, to: 1, label: "back".into() },
        tailsim_report::graph::GraphEdge { from: 2, to: 9, label: "nowhere".into() },
    ];
    let odd = graph(vec![node(0, NodeKind::Client), node(1, NodeKind::Service), node(2, NodeKind::Service)], edges);
    let drawn = picture(odd).expect("draws");
    assert!(check_svg(&drawn.svg, None).iter().any(|t| t == "back"));
    // Too wide to draw: refused with an error that names the chart.
    let wide = graph((0..400).map(|i| node(i, NodeKind::Client)).collect(), Vec::new());
    match picture(wide) {
        Err(ChartError::TooLarge { chart, size }) => assert!(chart == "g" && size.0 > chart::MAX_SIDE),
        other => panic!("expected TooLarge, got {:?}", other.map(|r| r.file_stem)),
    }
}

/// Fault bands end with the run, and periodic faults (pauses strike now and then inside a
/// window as long as the run) are not shaded: time charts keep the run's own time axis.
#[test]
fn fault_bands_stay_inside_the_run() {
    let model = load(include_str!("../scenarios/gc-pauses.ron"));
    let report = run(&model, 1, 1);
    let bands = chart::fault_bands(&report.runs[0], report.warmup_s);
    assert_eq!(bands.len(), 1, "only the warm-up: {bands:?}");
    let text = r#"Scenario(
        name: "outage",
        duration: "20s",
        clients: [Client(name: "users", target: "api", rate: 10.0)],
        services: [Service(name: "api", instances: 2, handler: [Work(Constant("1ms"))])],
        faults: [Outage(service: "api", instance: 1, at: "15s", duration: "1h")],
    )"#;
    let report = run(&load(text), 1, 1);
    let bands = chart::fault_bands(&report.runs[0], report.warmup_s);
    assert_eq!(bands.len(), 1);
    assert_eq!((bands[0].start_s, bands[0].end_s), (15.0, 20.0));
    assert!(bands[0].label.contains("api #1: outage"), "{}", bands[0].label);
}

/// The cache scenario of the time-series tests with a warm-up, and a node added after the
/// flush, so that both kinds of instant are marked.
fn cached() -> String {
    crate::timeseries::CACHED.replace(r#"duration: "10s","#, r#"duration: "10s", warmup: "1s","#).replace(
        r#"faults: [CacheFlush(cache: "c", at: "5s")]"#,
        r#"faults: [CacheFlush(cache: "c", at: "5s"), CacheNodes(cache: "c", at: "7s", nodes: 2)]"#,
    )
}

/// A cache gets two time charts: its hit ratio per window on a 0-100% axis, and the fetches
/// per second reaching its backend; both shade the warm-up and mark the cache's flush and
/// resize, which the clients' and services' time charts mark too.
#[test]
fn each_cache_gets_its_hit_ratio_and_fetches_over_time_with_its_faults_marked() {
    let model = load(&cached());
    let graph = tailsim_model::graph::call_graph(&model);
    let report = run(&model, 5, 1);
    let cache = &report.runs[0].caches[0];
    let kinds: Vec<(f64, &str)> = cache.events.iter().map(|e| (e.at_s, e.kind.as_str())).collect();
    assert_eq!(kinds, [(5.0, "flush"), (7.0, "nodes 1 -> 2")]);
    let charts = chart::charts(&report, &graph);
    let stems: Vec<&str> = charts.iter().map(|c| c.file_stem.as_str()).collect();
    assert_eq!(stems[stems.len() - 2..], ["cache-c-hit-ratio", "cache-c-fetches"]);
    let mut first = Vec::new();
    for c in &charts {
        let ChartKind::Timeline(timeline) = &c.kind else { continue };
        let (texts, drawn) = rendered(c);
        // Every time chart shades the warm-up and marks both instants, named.
        let labels: Vec<(&str, f64)> = timeline.markers.iter().map(|m| (m.label.as_str(), m.at_s)).collect();
        assert_eq!(labels, [("c: flush", 5.0), ("c: nodes 1 -> 2", 7.0)], "{}", c.file_stem);
        for needle in ["warm-up", "c: flush", "c: nodes 1 -> 2", "time (s)"] {
            assert!(texts.iter().any(|t| t == needle), "{}: no {needle:?} in {texts:?}", c.file_stem);
        }
        // The marks are dashed lines in the faults' orange: many short pieces.
        let orange = wide_lines(&drawn.svg).into_iter().filter(|(colour, points)| colour == "#E69F00" && *points == 2);
        assert!(orange.count() > 20, "{}: the instants are not drawn", c.file_stem);
        first.push(drawn);
    }
    let hit_ratio = &charts[charts.len() - 2];
    assert_eq!(hit_ratio.title, "c: cache hit ratio per window");
    let ChartKind::Timeline(timeline) = &hit_ratio.kind else { panic!("a time chart") };
    assert_eq!(timeline.y_max, Some(102.0));
    let percent: Vec<f64> =
        cache.series.hit_ratio().iter().map(|r| r.expect("lookups in every window") * 100.0).collect();
    assert_eq!(timeline.series[0].values, percent);
    let (texts, _) = rendered(hit_ratio);
    for needle in ["hit ratio", "lookups answered from the cache (%)", "100", "0"] {
        assert!(texts.iter().any(|t| t == needle), "no {needle:?} in {texts:?}");
    }
    // The flush halves the hits for a moment: the window after it (10 of 500 ms) is well
    // below the one before.
    assert!(percent[10] < percent[9] - 15.0, "{percent:?}");
    let fetches = &charts[charts.len() - 1];
    assert_eq!(fetches.title, "c: fetches reaching the backend");
    let ChartKind::Timeline(timeline) = &fetches.kind else { panic!("a time chart") };
    assert_eq!(timeline.series[0].values, cache.series.fetches_per_s(10.0));
    assert_eq!(timeline.series[0].values[3], cache.series.fetches[3] as f64 * 2.0);
    let (texts, _) = rendered(fetches);
    for needle in ["fetches to the backend", "fetches per second"] {
        assert!(texts.iter().any(|t| t == needle), "no {needle:?} in {texts:?}");
    }
    // Same seed, same bytes; another seed, another picture.
    let again = chart::charts(&run(&model, 5, 1), &graph);
    let timelines = again.iter().filter(|c| matches!(c.kind, ChartKind::Timeline(_)));
    for (c, before) in timelines.zip(&first) {
        let drawn = chart::render(c).expect("renders");
        assert!(drawn.svg == before.svg, "{}.svg differs between two runs", c.file_stem);
        assert!(drawn.png == before.png, "{}.png differs between two runs", c.file_stem);
    }
    let other = chart::charts(&run(&model, 6, 1), &graph);
    assert_ne!(chart::render_svg(&other[other.len() - 2]).expect("renders"), first[first.len() - 2].svg);
    // report.html has the caches table, the cache's events and both charts inline.
    let all: Vec<chart::RenderedChart> = charts.iter().map(|c| chart::render(c).expect("renders")).collect();
    let html = tailsim_report::html::report_html(&report, None, &all, &[]);
    let header = "<tr><th>cache</th><th>lookups</th><th>hit ratio</th><th>stale</th><th>misses</th>\
        <th>coalesced</th><th>fetches/s</th><th>max fetches/key</th><th>evictions</th><th>resizes (keys moved)</th></tr>";
    assert!(html.contains(header), "no caches table in report.html");
    let row = format!(
        "<tr><td>c</td><td>{}</td><td>{:.2}%</td>",
        tailsim_report::text::thousands(cache.lookups),
        cache.hit_ratio().expect("lookups") * 100.0
    );
    assert!(html.contains(&row), "no row {row:?} for the cache");
    let moved = format!("<td>1 -&gt; 2: {:.1}%</td></tr>", cache.resizes[0].moved_fraction * 100.0);
    assert!(html.contains(&moved), "no {moved:?} in report.html");
    assert!(html.contains("cache c: flush at 5s; nodes 1 -&gt; 2 at 7s"), "the events are not listed");
    for stem in ["cache-c-hit-ratio", "cache-c-fetches"] {
        let at = html.find(&format!("<figure id=\"{stem}\">")).unwrap_or_else(|| panic!("no figure {stem}"));
        assert!(html[at..].contains("</figcaption>\n<svg"), "no SVG in the figure {stem}");
    }
}

/// A comparison's time charts mark the cache events its variants share, as a run's do: two
/// variants of the cached scenario (the second without single flight) both flush at 5 s and add a
/// node at 7 s; a third that adds the node at 8 s instead shares only the flush.
#[test]
fn compare_time_charts_mark_the_cache_events_all_variants_share() {
    let text = cached().replace(
        "\n)",
        r#"
    variants: [
        Variant(name: "no-single-flight", set: {"caches.c.coalesce": false}),
        Variant(name: "later-node", set: {"faults.1.at": "8s"}),
    ],
)"#,
    );
    let variants = tailsim_model::load_variants(&text, &[]).expect("valid").0;
    let marked = |set: &[(String, tailsim_model::Model)]| {
        let (comparison, broken) = tailsim_sim::compare::compare(set, 5, 2, "users", None, Limits::default());
        assert_eq!(broken, None);
        let charts = chart::compare_charts(&comparison);
        let timelines: Vec<Vec<(String, f64)>> = charts
            .iter()
            .filter_map(|c| match &c.kind {
                ChartKind::Timeline(t) => Some(t.markers.iter().map(|m| (m.label.clone(), m.at_s)).collect()),
                _ => None,
            })
            .collect();
        assert_eq!(timelines.len(), 2, "p99 and goodput over time");
        assert_eq!(timelines[0], timelines[1]);
        timelines[0].clone()
    };
    let flush = ("c: flush".to_string(), 5.0);
    assert_eq!(marked(&variants[..2]), [flush.clone(), ("c: nodes 1 -> 2".to_string(), 7.0)]);
    assert_eq!(marked(&variants), [flush]);
}
