//! Charts of finished runs, drawn with plotters into SVG and PNG after the simulation (never
//! inside it). [`charts`] lists what a report shows: the call graph, and for each client its
//! latency histogram, its latency CDF (and one by class), its answers and latency over time; the
//! services' utilisation and queue length over time (and CPU throttling under a quota); the
//! circuit breakers' time open; each cache's hit ratio and fetches over time. [`compare_charts`] lists a comparison's
//! (each client's latency CDF, p99 and goodput over time, a line per variant) and
//! [`sweep_charts`] a sweep's (latency against load with the M/M/c theory). [`render_svg`] and
//! [`render_png`] draw one chart. Every kind of chart shares one header (title and legend), one
//! style of axes and one palette, so a variant or a class has the same colour everywhere.
//!
//! Text is laid out (and, in PNG, drawn) with the DejaVu Sans font compiled into the binary,
//! so charts need no system font and the same report gives the same bytes on every machine.

mod callgraph;
mod latency;
mod load;
mod timeline;

use std::fmt;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::compare::{Comparison, VariantClient, VariantResult};
use crate::graph::CallGraph;
use crate::summary::{GroupSeries, Report, RunSummary, ServiceSeries};
use crate::sweep::Sweep;

pub use latency::{CdfChart, LatencyChart};
pub use load::{LoadChart, LoadLine, MAX_GROUPS, Stroke};
pub use timeline::{Band, Marker, NamedSeries, TimeChart, fault_bands, instant_markers};

/// Width of every chart but the call graph, in pixels.
pub const WIDTH: u32 = 960;
/// Height of every chart but the call graph, in pixels.
pub const HEIGHT: u32 = 540;
/// The largest picture drawn, in pixels per side (a 6000 x 6000 bitmap is about 100 MB): a
/// bigger call graph is refused, not drawn.
pub const MAX_SIDE: u32 = 6000;

/// The font family every chart uses; registered once with the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

/// A chart that could not be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartError {
    /// The embedded font did not load (a broken build).
    Font,
    /// plotters failed while drawing; the message says where.
    Draw {
        /// The chart's file name without extension.
        chart: String,
        /// plotters' message.
        message: String,
    },
    /// The picture would be larger than [`MAX_SIDE`] on a side.
    TooLarge {
        /// The chart's file name without extension.
        chart: String,
        /// The size it would have, in pixels.
        size: (u32, u32),
    },
    /// The PNG encoder failed.
    Encode {
        /// The chart's file name without extension.
        chart: String,
        /// The encoder's message.
        message: String,
    },
}

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartError::Font => write!(f, "the embedded chart font could not be loaded"),
            ChartError::Draw { chart, message } => write!(f, "chart `{chart}`: drawing failed: {message}"),
            ChartError::TooLarge { chart, size } => {
                write!(f, "chart `{chart}`: {} x {} pixels is larger than {MAX_SIDE} on a side", size.0, size.1)
            }
            ChartError::Encode { chart, message } => write!(f, "chart `{chart}`: PNG encoding failed: {message}"),
        }
    }
}

impl std::error::Error for ChartError {}

/// What went wrong inside a drawing function, before it is tagged with the chart's name.
struct DrawError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> DrawError {
        DrawError(e.to_string())
    }
}

type DrawResult = Result<(), DrawError>;

/// One chart of a report: its file name and what it draws.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The file name without extension, safe on every file system: `callgraph`,
    /// `shoppers-latency-histogram`.
    pub file_stem: String,
    /// The chart's title, also used as its heading in `report.html`.
    pub title: String,
    /// What it draws.
    pub kind: ChartKind,
}

/// The kinds of chart.
#[derive(Clone, Debug)]
pub enum ChartKind {
    /// The call graph, drawn in rows by call depth.
    CallGraph(CallGraph),
    /// A latency histogram on a log axis, successes and failures apart.
    Histogram(LatencyChart),
    /// A latency CDF on a log axis with the percentiles marked.
    Cdf(LatencyChart),
    /// Several latency distributions overlaid on a percentile axis, one line each.
    Cdfs(CdfChart),
    /// Latency against load (a sweep), with the theory dashed.
    Load(LoadChart),
    /// Lines over time with fault windows shaded.
    Timeline(TimeChart),
}

/// A chart drawn in both formats.
#[derive(Clone, Debug)]
pub struct RenderedChart {
    /// The file name without extension.
    pub file_stem: String,
    /// The chart's title.
    pub title: String,
    /// The SVG document.
    pub svg: String,
    /// The PNG file.
    pub png: Vec<u8>,
}

/// Two charts per availability objective, over the first replication with the faults shaded:
/// its error budget spent so far, the whole budget dashed; and its trailing burn rate, the
/// sustainable rate of 1 dashed.
fn error_budget_charts(report: &Report, bands: &[Band], markers: &[Marker], which: &str) -> Vec<Chart> {
    let mut out = Vec::new();
    let objectives = report.slos.iter().filter_map(|v| v.error_budget.as_ref().map(|b| (v, b)));
    let budget_stems =
        file_stems(report.slos.iter().filter(|v| v.error_budget.is_some()).map(|v| v.objective.as_str()), "objective");
    for ((verdict, budget), stem) in objectives.zip(budget_stems) {
        // A measured line over time, and a level dashed beside it wherever the line has values.
        let chart = |stem_suffix: &str, title: &str, y_label: &str, line: (String, Vec<f64>), level: (&str, f64)| {
            let dashed = line.1.iter().map(|x| if x.is_nan() { f64::NAN } else { level.1 }).collect();
            let chart = TimeChart::new(y_label, budget.window_s)
                .line(line.0, line.1)
                .dashed_line(level.0, dashed)
                .bands(bands)
                .markers(markers);
            Chart {
                file_stem: format!("{stem}-{stem_suffix}"),
                title: format!("{}: {title}{which}", verdict.objective),
                kind: ChartKind::Timeline(chart),
            }
        };
        let spent: Vec<f64> = budget.spent_over_time.iter().map(|x| x.map_or(f64::NAN, |x| x * 100.0)).collect();
        let spent = ("spent so far".to_string(), spent);
        out.push(chart(
            "error-budget",
            "error budget burn",
            "error budget spent (%)",
            spent,
            ("the whole budget", 100.0),
        ));
        let rate: Vec<f64> = budget.burn_rate_over_time.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        if rate.iter().all(|x| x.is_nan()) {
            continue;
        }
        let rate = (format!("over the last {} windows", budget.burn_span_windows), rate);
        let pace = ("1: spent exactly by the end", 1.0);
        out.push(chart("burn-rate", "burn rate", "burn rate (1: the budget lasts the run)", rate, pace));
    }
    out
}

/// The consumer groups' backlog and lag over time, every group of every topic on one chart
/// each (none without topics).
fn topic_charts(report: &Report, run: &RunSummary, bands: &[Band], markers: &[Marker], which: &str) -> Vec<Chart> {
    let groups: Vec<(String, &GroupSeries)> = run
        .topics
        .iter()
        .flat_map(|t| t.groups.iter().map(move |g| (format!("{}/{}", t.name, g.name), &g.series)))
        .collect();
    let Some(window_s) = groups.first().map(|(_, w)| w.window_s) else { return Vec::new() };
    let lines = |value: &dyn Fn(&GroupSeries) -> Vec<f64>| {
        groups.iter().map(|(name, w)| (name.clone(), value(w))).collect::<Vec<_>>()
    };
    let backlog = lines(&|w| w.mean_backlog.clone());
    let lag = lines(&|w| w.oldest_s.clone());
    vec![
        Chart {
            file_stem: "topics-backlog".into(),
            title: format!("{}: backlog per consumer group{which}", report.scenario),
            kind: ChartKind::Timeline(
                TimeChart::lines("messages waiting (time-averaged)", window_s, backlog).bands(bands).markers(markers),
            ),
        },
        Chart {
            file_stem: "topics-lag".into(),
            title: format!("{}: lag per consumer group{which}", report.scenario),
            kind: ChartKind::Timeline(
                TimeChart::lines("age of the oldest waiting message (s)", window_s, lag).bands(bands).markers(markers),
            ),
        },
    ]
}

/// Every chart of a report: the call graph; for each client a latency histogram, a latency
/// CDF, its answers over time and its p50 and p99 over time; then every service's utilisation
/// and queue length over time; then each cache's hit ratio and fetches to its backend over
/// time. Every time chart shades the warm-up and the faults and marks the caches' events
/// (a cache's own charts, its own). Distributions and time series come from the first
/// replication (titles say so when there are more).
pub fn charts(report: &Report, graph: &CallGraph) -> Vec<Chart> {
    let mut out = vec![Chart {
        file_stem: "callgraph".into(),
        title: format!("{}: call graph", report.scenario),
        kind: ChartKind::CallGraph(graph.clone()),
    }];
    let Some(run) = report.runs.first() else { return out };
    let which =
        if report.replications > 1 { format!(" (replication 1 of {})", report.replications) } else { String::new() };
    let stems = file_stems(run.clients.iter().map(|c| c.name.as_str()), "client");
    let bands = timeline::fault_bands(run, report.warmup_s);
    let markers = timeline::instant_markers(run);
    for (client, stem) in run.clients.iter().zip(stems) {
        let latency = LatencyChart::of_client(client);
        out.push(Chart {
            file_stem: format!("{stem}-latency-histogram"),
            title: format!("{}: latency histogram{which}", client.name),
            kind: ChartKind::Histogram(latency.clone()),
        });
        out.push(Chart {
            file_stem: format!("{stem}-latency-cdf"),
            title: format!("{}: latency CDF{which}", client.name),
            kind: ChartKind::Cdf(latency),
        });
        if client.classes.len() > 1 {
            let lines = client.classes.iter().map(|k| (k.name.clone(), k.latency_histogram.clone())).collect();
            out.push(Chart {
                file_stem: format!("{stem}-classes-latency-cdf"),
                title: format!("{}: latency CDF by class{which}", client.name),
                kind: ChartKind::Cdfs(CdfChart { lines }),
            });
        }
        out.push(Chart {
            file_stem: format!("{stem}-over-time"),
            title: format!("{}: throughput, goodput and errors{which}", client.name),
            kind: ChartKind::Timeline(TimeChart::answers(client, &bands).markers(&markers)),
        });
        out.push(Chart {
            file_stem: format!("{stem}-latency-over-time"),
            title: format!("{}: latency per window{which}", client.name),
            kind: ChartKind::Timeline(TimeChart::latency(client, &bands).markers(&markers)),
        });
    }
    out.extend(error_budget_charts(report, &bands, &markers, &which));
    if !run.services.is_empty() {
        let window_s = run.services[0].per_window.window_s;
        let per_service = |value: &dyn Fn(&ServiceSeries) -> Vec<f64>| {
            run.services.iter().map(|s| (s.name.clone(), value(&s.per_window))).collect::<Vec<_>>()
        };
        let utilisation = per_service(&|w| w.utilisation.iter().map(|u| u * 100.0).collect());
        let queue = per_service(&|w| w.mean_queue_length.clone());
        out.push(Chart {
            file_stem: "services-utilisation".into(),
            title: format!("{}: utilisation per service{which}", report.scenario),
            kind: ChartKind::Timeline(
                TimeChart::lines("busy workers (% of all)", window_s, utilisation).bands(&bands).markers(&markers),
            ),
        });
        out.push(Chart {
            file_stem: "services-queue-length".into(),
            title: format!("{}: queue length per service{which}", report.scenario),
            kind: ChartKind::Timeline(
                TimeChart::lines("visits waiting (time-averaged)", window_s, queue).bands(&bands).markers(&markers),
            ),
        });
        let throttled: Vec<(String, Vec<f64>)> = run
            .services
            .iter()
            .filter(|s| !s.per_window.throttled.is_empty())
            .map(|s| (s.name.clone(), s.per_window.throttled.iter().map(|t| t * 100.0).collect()))
            .collect();
        let breakers: Vec<(String, Vec<f64>)> = run
            .edges
            .iter()
            .filter(|e| !e.breaker_open_per_window.is_empty())
            .map(|e| (format!("{} -> {}", e.from, e.to), e.breaker_open_per_window.iter().map(|t| t * 100.0).collect()))
            .collect();
        if !breakers.is_empty() {
            out.push(Chart {
                file_stem: "breakers-open".into(),
                title: format!("{}: circuit breakers open{which}", report.scenario),
                kind: ChartKind::Timeline(
                    TimeChart::lines("time open (% of the window)", window_s, breakers).bands(&bands).markers(&markers),
                ),
            });
        }
        if !throttled.is_empty() {
            out.push(Chart {
                file_stem: "services-cpu-throttled".into(),
                title: format!("{}: CPU throttling per service{which}", report.scenario),
                kind: ChartKind::Timeline(
                    TimeChart::lines("instance-time throttled (%)", window_s, throttled)
                        .bands(&bands)
                        .markers(&markers),
                ),
            });
        }
    }
    out.extend(topic_charts(report, run, &bands, &markers, &which));
    let end_s = report.duration_s.min(report.warmup_s + run.measured_s);
    let stems = file_stems(run.caches.iter().map(|c| c.name.as_str()), "cache");
    for (cache, stem) in run.caches.iter().zip(stems) {
        out.push(Chart {
            file_stem: format!("cache-{stem}-hit-ratio"),
            title: format!("{}: cache hit ratio per window{which}", cache.name),
            kind: ChartKind::Timeline(TimeChart::cache_hit_ratio(cache, &bands)),
        });
        out.push(Chart {
            file_stem: format!("cache-{stem}-fetches"),
            title: format!("{}: fetches reaching the backend{which}", cache.name),
            kind: ChartKind::Timeline(TimeChart::cache_fetches(cache, end_s, &bands)),
        });
    }
    out
}

/// The items of the first variant's list (`of`) that every variant's list has too.
fn shared_by_all<T: Clone + PartialEq>(comparison: &Comparison, of: impl Fn(&VariantResult) -> &Vec<T>) -> Vec<T> {
    let Some(first) = comparison.variants.first() else { return Vec::new() };
    of(first).iter().filter(|item| comparison.variants.iter().all(|v| of(v).contains(item))).cloned().collect()
}

/// The charts of a comparison, for each client (in order of first appearance among the
/// variants): its latency CDF with a line per variant, every replication pooled; and its p99
/// and its goodput per window, a line per variant, from the first replication. Spans that every
/// variant shares (the warm-up, a common fault) are shaded, and instants they share (a cache
/// flush) marked. File names start with `compare-`,
/// so they never replace a run's charts in the same folder.
pub fn compare_charts(comparison: &Comparison) -> Vec<Chart> {
    let mut names: Vec<&str> = Vec::new();
    for client in comparison.variants.iter().flat_map(|v| &v.clients) {
        if !names.contains(&client.name.as_str()) {
            names.push(&client.name);
        }
    }
    let stems = file_stems(names.iter().copied(), "client");
    let bands: Vec<Band> = shared_by_all(comparison, |v| &v.bands);
    let markers: Vec<Marker> = shared_by_all(comparison, |v| &v.markers);
    let replications = comparison.replications;
    let mut out = Vec::new();
    for (name, stem) in names.into_iter().zip(stems) {
        // Each variant's record of this client, if it has the client.
        let mine: Vec<(&str, Option<&VariantClient>)> =
            comparison.variants.iter().map(|v| (v.name.as_str(), v.clients.iter().find(|k| k.name == name))).collect();
        let lines = mine
            .iter()
            .map(|(variant, k)| (variant.to_string(), k.map(|k| k.latency_histogram.clone()).unwrap_or_default()))
            .collect();
        out.push(Chart {
            file_stem: format!("compare-{stem}-latency-cdf"),
            title: format!("{name}: latency CDF by variant ({replications} replications pooled)"),
            kind: ChartKind::Cdfs(CdfChart { lines }),
        });
        let window_s = mine.iter().find_map(|(_, k)| k.map(|k| k.window_s)).unwrap_or(1.0);
        // A line per variant, an empty one where it lacks the client, so colours stay in step.
        let time_chart = |y_label: &str, values: &dyn Fn(&VariantClient) -> Vec<f64>| {
            let chart = TimeChart::new(y_label, window_s).bands(&bands).markers(&markers);
            mine.iter().fold(chart, |chart, &(variant, k)| match k {
                Some(k) => chart.line_with_window(variant, k.window_s, values(k)),
                None => chart.line(variant, Vec::new()),
            })
        };
        let which = format!("replication 1 of {replications}");
        out.push(Chart {
            file_stem: format!("compare-{stem}-p99-over-time"),
            title: format!("{name}: p99 per window by variant ({which})"),
            kind: ChartKind::Timeline(
                time_chart("p99 of successes (ms, log scale)", &|k| {
                    k.p99_ms.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
                })
                .log_y(),
            ),
        });
        out.push(Chart {
            file_stem: format!("compare-{stem}-goodput-over-time"),
            title: format!("{name}: goodput per window by variant ({which})"),
            kind: ChartKind::Timeline(time_chart("successes per second", &|k| k.goodput_per_s.clone())),
        });
    }
    out
}

/// The chart of a sweep: the client's p50, p99 and p99.9 against the busiest service's offered
/// load, with Erlang C's p99 where the points are M/M/c-like ([`LoadChart::of_sweep`]). Its
/// file name starts with `sweep-`, so it never replaces a run's chart in the same folder.
pub fn sweep_charts(sweep: &Sweep) -> Vec<Chart> {
    let chart = LoadChart::of_sweep(sweep);
    let more = match chart.groups_left_out {
        0 => String::new(),
        n => format!(" (the first {MAX_GROUPS} groups; {n} more in sweep.csv)"),
    };
    vec![Chart {
        file_stem: "sweep-latency".into(),
        title: format!("{}: latency of {} against load{more}", sweep.scenario, sweep.client),
        kind: ChartKind::Load(chart),
    }]
}

/// Draws a chart as an SVG document.
pub fn render_svg(chart: &Chart) -> Result<String, ChartError> {
    register_fonts()?;
    let size = size_of(chart)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(|e| draw_error(chart, e.into()))?;
    }
    Ok(svg)
}

/// Draws a chart as a PNG file (8-bit RGB).
pub fn render_png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    register_fonts()?;
    let (width, height) = size_of(chart)?;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(|e| draw_error(chart, e.into()))?;
    }
    let encode_error =
        |e: png::EncodingError| ChartError::Encode { chart: chart.file_stem.clone(), message: e.to_string() };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer.write_image_data(&pixels).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(out)
}

/// Draws a chart in both formats.
pub fn render(chart: &Chart) -> Result<RenderedChart, ChartError> {
    Ok(RenderedChart {
        file_stem: chart.file_stem.clone(),
        title: chart.title.clone(),
        svg: render_svg(chart)?,
        png: render_png(chart)?,
    })
}

fn draw_error(chart: &Chart, e: DrawError) -> ChartError {
    ChartError::Draw { chart: chart.file_stem.clone(), message: e.0 }
}

fn size_of(chart: &Chart) -> Result<(u32, u32), ChartError> {
    let size = match &chart.kind {
        ChartKind::CallGraph(graph) => callgraph::size(graph),
        _ => (WIDTH, HEIGHT),
    };
    if size.0 > MAX_SIDE || size.1 > MAX_SIDE {
        return Err(ChartError::TooLarge { chart: chart.file_stem.clone(), size });
    }
    Ok(size)
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
    let result = root.fill(&WHITE).map_err(DrawError::from).and_then(|()| match &chart.kind {
        ChartKind::CallGraph(graph) => callgraph::draw(root, &chart.title, graph),
        ChartKind::Histogram(latency) => latency.draw_histogram(root, &chart.title),
        ChartKind::Cdf(latency) => latency.draw_cdf(root, &chart.title),
        ChartKind::Cdfs(cdfs) => cdfs.draw(root, &chart.title),
        ChartKind::Load(load) => load.draw(root, &chart.title),
        ChartKind::Timeline(timeline) => timeline.draw(root, &chart.title),
    });
    result.map_err(|e| draw_error(chart, e))
}

/// Registers the embedded DejaVu Sans (regular and bold) as [`FONT`], once per process.
fn register_fonts() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// The chart font at a size in pixels.
fn font(size: u32) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), f64::from(size), FontStyle::Normal)
}

/// The bold chart font at a size in pixels.
fn bold(size: u32) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), f64::from(size), FontStyle::Bold)
}

/// Size of a chart's title, in pixels.
const TITLE_SIZE: u32 = 22;
/// Size of axis descriptions and legends.
const LABEL_SIZE: u32 = 16;
/// Size of tick labels and annotations.
const TICK_SIZE: u32 = 13;

/// Colours shared by the charts, chosen to stay apart for colour-blind readers (Okabe-Ito).
mod colour {
    use plotters::style::RGBColor;
    /// Successes, goodput.
    pub const SUCCESS: RGBColor = RGBColor(0, 114, 178);
    /// Failures, errors.
    pub const FAILURE: RGBColor = RGBColor(213, 94, 0);
    /// Fault windows.
    pub const FAULT: RGBColor = RGBColor(230, 159, 0);
    /// The warm-up.
    pub const WARMUP: RGBColor = RGBColor(150, 150, 150);
    /// Line series, in order: the success and failure colours first (goodput and errors),
    /// then dark grey (throughput), then more.
    pub const CYCLE: [RGBColor; 6] = [
        SUCCESS,
        FAILURE,
        RGBColor(60, 60, 60),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
    ];
    /// Client boxes in the call graph.
    pub const CLIENT_FILL: RGBColor = RGBColor(214, 239, 226);
    /// Service boxes in the call graph.
    pub const SERVICE_FILL: RGBColor = RGBColor(214, 230, 245);
}

/// File-name stems for names from the scenario: letters, digits, `-`, `_` kept, anything else
/// as `-`; an empty or repeated stem gets the item's position after `fallback`, what the items
/// are (`client-2`).
fn file_stems<'a>(names: impl Iterator<Item = &'a str>, fallback: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .enumerate()
        .map(|(i, name)| {
            let safe: String = name
                .chars()
                .take(64)
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
                .collect();
            let safe = safe.trim_matches('-').to_string();
            let mut stem = safe;
            let mut k = 1;
            while stem.is_empty() || seen.contains(&stem) || stem == "callgraph" {
                stem = if k == 1 { format!("{fallback}-{i}") } else { format!("{fallback}-{i}-{k}") };
                k += 1;
            }
            seen.insert(stem.clone());
            stem
        })
        .collect()
}

/// Labels an axis value in milliseconds with a fitting unit and no trailing zeros: `10ms`,
/// `1.5s`, `250us`.
fn ms_label(ms: &f64) -> String {
    let text = crate::text::format_ms(*ms);
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { number };
    format!("{number}{unit}")
}

/// Labels a plain axis value with at most three decimals and no trailing zeros: `1400`, `0.25`.
fn number_label(value: &f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

/// Ticks for a log latency axis: 1, 2 and 5 times each power of ten in range, or only the
/// powers of ten when the range spans more than three decades.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    let multiples: &[f64] = if last - first > 3 { &[1.0] } else { &[1.0, 2.0, 5.0] };
    (first..=last)
        .flat_map(|exponent| multiples.iter().map(move |m| m * 10f64.powi(exponent)))
        .filter(|&tick| tick >= low && tick <= high)
        .collect()
}

/// A log axis over `low..high` with its ticks at [`log_ticks`]: latency axes.
fn log_axis(low: f64, high: f64) -> WithKeyPoints<LogCoord<f64>> {
    (low..high).log_scale().with_key_points(log_ticks(low, high))
}

/// A linear axis with its ticks given. plotters' `with_key_points` over a linear axis gives a
/// type that [`draw_axes`] cannot label; this one delegates to the linear axis and leaves the
/// labels to the caller's formatter.
struct TickedAxis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> TickedAxis {
        TickedAxis { linear: range.into(), ticks }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Grid lines at the ticks only: no light lines between them.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// The plot area below a chart's header, with room for the axes' labels.
fn plot_area<'a, 'b, DB: DrawingBackend>(body: &'a DrawingArea<DB, Shift>) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(body);
    builder.margin(16).margin_top(4).x_label_area_size(48).y_label_area_size(80);
    builder
}

/// One axis of a chart: its description (with the unit) and how a tick is labelled.
struct Axis<'f, V> {
    desc: &'f str,
    label: &'f dyn Fn(&V) -> String,
}

/// Draws the axes of every chart in one style: descriptions, tick labels in the chart font,
/// and grid lines of `grid` colour.
fn draw_axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x: Axis<'_, X::ValueType>,
    y: Axis<'_, Y::ValueType>,
    grid: RGBColor,
) -> DrawResult
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    chart
        .configure_mesh()
        .x_desc(x.desc)
        .y_desc(y.desc)
        .x_label_formatter(x.label)
        .y_label_formatter(y.label)
        .axis_desc_style(font(LABEL_SIZE))
        .label_style(font(TICK_SIZE))
        .light_line_style(grid)
        .draw()?;
    Ok(())
}

/// The colour of line `i` of a chart: the same item (a variant, a class) gets the same colour
/// on every chart that shows it in the same place.
fn line_colour(i: usize) -> RGBColor {
    colour::CYCLE[i % colour::CYCLE.len()]
}

/// A chart with its title and a line saying why there is nothing to show.
fn nothing_to_show<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, why: &str) -> DrawResult {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (width, height) = root.dim_in_pixel();
    let center = (width as i32 / 2, height as i32 / 2);
    root.draw(&Text::new(
        title.to_string(),
        (center.0, 30),
        TextStyle::from(font(TITLE_SIZE)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    root.draw(&Text::new(
        why.to_string(),
        center,
        TextStyle::from(font(LABEL_SIZE)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
enum Swatch {
    /// A filled box (bars, shaded spans), with its opacity.
    Fill(RGBColor, f64),
    /// A solid line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A dot (scattered points).
    Dot(RGBColor),
}

/// Height of one line of the legend, in pixels.
const LEGEND_LINE: u32 = 22;
/// Height of the title line, in pixels.
const TITLE_LINE: u32 = 40;

/// Draws the title and, below it, the legend (centred, wrapped into lines as needed) in a strip
/// at the top of `root`, outside the plot so that it never hides data; returns the area below.
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(String, Swatch)],
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (width, _) = root.dim_in_pixel();
    let width = width as i32;
    let label_font = font(LABEL_SIZE);
    let entry_width =
        |label: &str| 22 + label_font.box_size(label).map_or(label.len() as i32 * 9, |(w, _)| w as i32) + 24;
    let mut lines: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, (label, _)) in legend.iter().enumerate() {
        let w = entry_width(label);
        match lines.last_mut() {
            Some(line) if used + w <= width - 40 => {
                line.push(i);
                used += w;
            }
            _ => {
                lines.push(vec![i]);
                used = w;
            }
        }
    }
    let height = TITLE_LINE + LEGEND_LINE * lines.len() as u32 + 6;
    let (top, body) = root.split_vertically(height);
    top.draw(&Text::new(
        title.to_string(),
        (width / 2, 22),
        TextStyle::from(font(TITLE_SIZE)).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    for (row, line) in lines.iter().enumerate() {
        let total: i32 = line.iter().map(|&i| entry_width(&legend[i].0)).sum();
        let mut x = (width - total) / 2;
        let y = TITLE_LINE as i32 + LEGEND_LINE as i32 * row as i32 + LEGEND_LINE as i32 / 2;
        for &i in line {
            let (label, swatch) = &legend[i];
            match *swatch {
                Swatch::Fill(color, alpha) => {
                    top.draw(&Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(alpha).filled()))?
                }
                Swatch::Line(color) => top.draw(&PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(3)))?,
                Swatch::Dashed(color) => {
                    top.draw(&PathElement::new(vec![(x, y), (x + 6, y)], color.stroke_width(2)))?;
                    top.draw(&PathElement::new(vec![(x + 10, y), (x + 16, y)], color.stroke_width(2)))?;
                }
                Swatch::Dot(color) => top.draw(&Circle::new((x + 8, y), 4, color.filled()))?,
            }
            top.draw(&Text::new(
                label.clone(),
                (x + 22, y),
                TextStyle::from(font(LABEL_SIZE)).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += entry_width(label);
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(ms_label(&10.0), "10ms");
        assert_eq!(ms_label(&1000.0), "1s");
        assert_eq!(ms_label(&1500.0), "1.5s");
        assert_eq!(ms_label(&0.25), "250us");
        assert_eq!(ms_label(&1e-5), "10ns");
        assert_eq!(number_label(&1400.0), "1400");
        assert_eq!(number_label(&0.25), "0.25");
        assert_eq!(number_label(&-0.0001), "0");
    }

    #[test]
    fn log_ticks_fit_the_range() {
        assert_eq!(log_ticks(1.5, 300.0), vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(log_ticks(1e-6, 2000.0), vec![1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn file_stems_are_safe_and_unique() {
        let names = ["shoppers", "a b/c", "a-b-c", "", "ä", "callgraph", "shoppers", "client-8", "x"];
        assert_eq!(
            file_stems(names.into_iter(), "client"),
            vec!["shoppers", "a-b-c", "client-2", "client-3", "client-4", "client-5", "client-6", "client-8", "x"]
        );
        let names = ["client-1", "?"];
        assert_eq!(file_stems(names.into_iter(), "client"), vec!["client-1", "client-1-2"]);
        assert_eq!(file_stems(["", "db"].into_iter(), "cache"), vec!["cache-0", "db"]);
    }
}
