//! Writing result files atomically: to a temporary file in the same folder, then a rename, so a
//! crash or Ctrl-C never leaves a half-written `summary.json`, `timeseries.csv`, chart or report.
//! The charts of a run, a comparison and a sweep are drawn and written by one path.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tailsim_stats::format::csv_field;

use crate::chart::{self, Chart, ChartError, RenderedChart};
use crate::compare::Comparison;
use crate::graph::CallGraph;
use crate::html;
use crate::summary::{Metric, Report, Values};
use crate::sweep::Sweep;

/// What every temporary file tailsim writes starts with: [`prepare_output`] knows its own.
const TMP_PREFIX: &str = ".tailsim-";

/// What every temporary file tailsim writes ends with.
const TMP_SUFFIX: &str = ".tmp";

/// How old a temporary file must be before [`prepare_output`] takes it for a killed run's
/// leftover: older than any write of a live run takes, so a second run writing into the same
/// folder keeps its own.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Writes `contents` to `path` through a temporary sibling and a rename. The temporary file has
/// a unique name and is created exclusively (never through a link that someone planted), so two
/// runs writing into one folder cannot mix their bytes; the rename replaces `path` itself, never
/// the target of a link at `path`.
pub fn atomic_write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!("{TMP_PREFIX}{name}-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TMP_SUFFIX);
    // Like any file a program makes: readable as the umask allows, not private to the owner.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Makes the output folder ready before a simulation starts, so that a folder that cannot be
/// written fails at once rather than after the run: creates it, proves a file can be created in
/// it, and removes the temporary files that killed runs left there (those older than ten
/// minutes, so a second run still writing into the folder keeps its own).
pub fn prepare_output(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    drop(tempfile::Builder::new().prefix(TMP_PREFIX).suffix(TMP_SUFFIX).tempfile_in(dir)?);
    for entry in fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(TMP_PREFIX) || !name.ends_with(TMP_SUFFIX) {
            continue;
        }
        // The entry's own metadata: a link is judged (and removed) as a link, never followed.
        let stale =
            entry.metadata().and_then(|m| m.modified()).is_ok_and(|at| at.elapsed().is_ok_and(|age| age >= STALE_TMP));
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// The report as pretty-printed JSON with a trailing newline. Field order is the struct order
/// and floats print by shortest round-trip, so equal reports give equal bytes.
pub fn summary_json(report: &Report) -> String {
    let mut json = serde_json::to_string_pretty(report).expect("a report always serialises");
    json.push('\n');
    json
}

/// The header of `timeseries.csv`.
pub const TIMESERIES_HEADER: &str = "replication,window,start_s,end_s,kind,name,metric,value";

/// Every time series of every replication in tidy form: one row per replication, window,
/// client, service or cache, and metric; `value` is empty where the metric has none (a
/// percentile of a window without successful answers, a hit ratio without lookups).
pub fn timeseries_csv(report: &Report) -> String {
    let mut out = String::from(TIMESERIES_HEADER);
    out.push('\n');
    let mut row =
        |run: u32, window: usize, width: f64, end: f64, kind: &str, name: &str, metric: &str, value: String| {
            let start = window as f64 * width;
            let end = (start + width).min(end);
            let _ = writeln!(out, "{run},{window},{start},{end},{kind},{},{metric},{value}", csv_field(name));
        };
    for run in &report.runs {
        let end = report.duration_s.min(report.warmup_s + run.measured_s);
        let mut component = |kind: &str, name: &str, window_s: f64, windows: usize, metrics: &[Metric<'_>]| {
            for i in 0..windows {
                for metric in metrics {
                    if let Some(value) = metric.row(i) {
                        row(run.replication, i, window_s, end, kind, name, metric.name, value);
                    }
                }
            }
        };
        for client in &run.clients {
            let w = &client.per_window;
            component("client", &client.name, w.window_s, w.succeeded.len(), &w.metrics());
        }
        for service in &run.services {
            let w = &service.per_window;
            component("service", &service.name, w.window_s, w.utilisation.len(), &w.metrics());
        }
        let window_s = run.clients.first().map_or(1.0, |c| c.per_window.window_s);
        for edge in &run.edges {
            let open = Metric::new("breaker_open", Values::Gauges(Cow::Borrowed(&edge.breaker_open_per_window)));
            let name = format!("{} -> {}", edge.from, edge.to);
            component("edge", &name, window_s, edge.breaker_open_per_window.len(), &[open]);
        }
        for cache in &run.caches {
            let w = &cache.series;
            component("cache", &cache.name, w.window_s, w.lookups.len(), &w.metrics(end));
        }
        for topic in &run.topics {
            for group in &topic.groups {
                let (w, name) = (&group.series, format!("{}/{}", topic.name, group.name));
                component("group", &name, w.window_s, w.published.len(), &w.metrics());
            }
        }
    }
    out
}

/// Writes `summary.json` and `timeseries.csv` into `dir`, creating the folder if needed.
pub fn write_summary(dir: &Path, report: &Report) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    atomic_write(&dir.join("summary.json"), summary_json(report).as_bytes())?;
    atomic_write(&dir.join("timeseries.csv"), timeseries_csv(report).as_bytes())
}

/// A result file that could not be made.
#[derive(Debug)]
pub enum OutputError {
    /// Writing a file failed.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// Drawing a chart failed.
    Chart(ChartError),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Write { path, error } => write!(f, "cannot write {}: {error}", path.display()),
            OutputError::Chart(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OutputError {}

/// Writes `callgraph.dot` (Graphviz) into `dir`; returns its path.
pub fn write_callgraph_dot(dir: &Path, graph: &CallGraph) -> Result<PathBuf, OutputError> {
    let path = dir.join("callgraph.dot");
    fs::create_dir_all(dir)
        .and_then(|()| atomic_write(&path, graph.to_dot().as_bytes()))
        .map_err(|error| OutputError::Write { path: path.clone(), error })?;
    Ok(path)
}

/// What [`write_charts_and_report`] wrote, and the charts it left out.
#[derive(Debug, Default)]
pub struct ChartsWritten {
    /// The files written, `report.html` last.
    pub files: Vec<PathBuf>,
    /// Charts too large to draw ([`ChartError::TooLarge`]), left out of the files and the page.
    pub skipped: Vec<ChartError>,
    /// What else the charts leave out: faults past the most a chart shades, and the charts
    /// not drawn once `stop` said so. The page says these too.
    pub notes: Vec<String>,
    /// Whether drawing stopped early because `stop` said so.
    pub stopped: bool,
}

/// Asked before each chart is drawn: whether to stop drawing (Ctrl-C, or a wall-clock limit).
pub type Stop<'a> = &'a dyn Fn() -> bool;

/// Draws every chart of the report ([`chart::charts`]), writes each as SVG and PNG, and writes
/// `report.html` with the description, the tables and the charts inline. A chart too large to
/// draw (a call graph of hundreds of clients side by side) is left out and reported in
/// [`ChartsWritten::skipped`]; the page says so. Any other failure stops with an error.
pub fn write_charts_and_report(
    dir: &Path,
    report: &Report,
    graph: &CallGraph,
    description: Option<&str>,
    stop: Stop<'_>,
) -> Result<ChartsWritten, OutputError> {
    let left_out = report.runs.first().and_then(|run| tailsim_stats::timeline::left_out(run, report.warmup_s));
    write_with_page(dir, chart::charts(report, graph), "report.html", left_out, stop, |charts, notes| {
        html::report_html(report, description, charts, notes)
    })
}

/// Draws the charts of a comparison ([`chart::compare_charts`]), writes each as SVG and PNG, and
/// writes `compare.html` with the description, the compare tables and the charts inline.
pub fn write_compare_charts(
    dir: &Path,
    comparison: &Comparison,
    description: Option<&str>,
    stop: Stop<'_>,
) -> Result<ChartsWritten, OutputError> {
    write_with_page(dir, chart::compare_charts(comparison), "compare.html", None, stop, |charts, notes| {
        html::compare_html(comparison, description, charts, notes)
    })
}

/// Draws the chart of a sweep ([`chart::sweep_charts`]) and writes it as SVG and PNG.
pub fn write_sweep_charts(dir: &Path, sweep: &Sweep, stop: Stop<'_>) -> Result<ChartsWritten, OutputError> {
    write_chart_files(dir, chart::sweep_charts(sweep), stop)
}

/// Draws `charts` and writes each as SVG and PNG into `dir`, asking `stop` before each.
pub fn write_chart_files(dir: &Path, charts: Vec<Chart>, stop: Stop<'_>) -> Result<ChartsWritten, OutputError> {
    let drawn = render_all(charts, stop)?;
    let files =
        write_charts(dir, &drawn.rendered).map_err(|error| OutputError::Write { path: dir.to_path_buf(), error })?;
    Ok(ChartsWritten { files, skipped: drawn.skipped, notes: drawn.notes, stopped: drawn.stopped })
}

/// Draws the charts and writes them, then the page `page_name` that `page` makes of them and
/// of notes about what they leave out (`left_out`, and the charts too large or not drawn).
fn write_with_page(
    dir: &Path,
    charts: Vec<Chart>,
    page_name: &str,
    left_out: Option<String>,
    stop: Stop<'_>,
    page: impl FnOnce(&[RenderedChart], &[String]) -> String,
) -> Result<ChartsWritten, OutputError> {
    let mut drawn = render_all(charts, stop)?;
    drawn.notes.extend(left_out);
    let mut files =
        write_charts(dir, &drawn.rendered).map_err(|error| OutputError::Write { path: dir.to_path_buf(), error })?;
    let notes: Vec<String> =
        drawn.skipped.iter().map(|e| format!("left out: {e}")).chain(drawn.notes.iter().cloned()).collect();
    let path = dir.join(page_name);
    atomic_write(&path, page(&drawn.rendered, &notes).as_bytes())
        .map_err(|error| OutputError::Write { path: path.clone(), error })?;
    files.push(path);
    Ok(ChartsWritten { files, skipped: drawn.skipped, notes: drawn.notes, stopped: drawn.stopped })
}

/// The charts drawn, those left out, and why.
struct Drawn {
    rendered: Vec<RenderedChart>,
    skipped: Vec<ChartError>,
    notes: Vec<String>,
    stopped: bool,
}

/// Draws every chart in both formats, asking `stop` before each; a chart too large to draw is
/// left out and returned beside the others, any other failure stops with an error.
fn render_all(charts: Vec<Chart>, stop: Stop<'_>) -> Result<Drawn, OutputError> {
    let mut drawn = Drawn { rendered: Vec::new(), skipped: Vec::new(), notes: Vec::new(), stopped: false };
    let total = charts.len();
    for (i, c) in charts.into_iter().enumerate() {
        if stop() {
            drawn.stopped = true;
            drawn.notes.push(format!("drawing stopped early: {} of {total} charts not drawn", total - i));
            break;
        }
        match chart::render(&c) {
            Ok(done) => drawn.rendered.push(done),
            Err(e @ ChartError::TooLarge { .. }) => drawn.skipped.push(e),
            Err(e) => return Err(OutputError::Chart(e)),
        }
    }
    Ok(drawn)
}

/// Writes each chart as `<stem>.svg` and `<stem>.png` into `dir`; returns the files written.
pub fn write_charts(dir: &Path, charts: &[RenderedChart]) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::with_capacity(charts.len() * 2);
    for chart in charts {
        for (extension, bytes) in [("svg", chart.svg.as_bytes()), ("png", chart.png.as_slice())] {
            let path = dir.join(format!("{}.{extension}", chart.file_stem));
            atomic_write(&path, bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("users"), "users");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
