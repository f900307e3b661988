//! Lines over time with the warm-up and fault windows shaded, and instants (a cache's flush)
//! marked: one generic chart that any per-window series of the summary can use. A new chart is a [`TimeChart`] with its named
//! series:
//!
//! ```
//! # use tailsim_report::chart::TimeChart;
//! let chart = TimeChart::new("queue length", 1.0).line("db", vec![0.0, 2.0, 40.0, 3.0]);
//! ```

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{
    Axis, DrawResult, Swatch, TICK_SIZE, colour, draw_axes, font, header, line_colour, log_axis, number_label,
    plot_area,
};
pub use tailsim_stats::timeline::{Band, Marker, fault_bands, instant_markers, markers_of};

use crate::summary::{CacheSummary, ClientSummary};

/// The most points drawn per line: longer series are averaged over groups of windows, so a
/// chart stays small and legible whatever the length of the run.
pub const MAX_POINTS: usize = 1000;

/// One line: a value per window.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedSeries {
    /// The legend's name for it.
    pub name: String,
    /// One value per window from the start of the run; non-finite values (and, on a log axis,
    /// values at or below zero) leave a gap.
    pub values: Vec<f64>,
    /// Drawn dashed, for a line that others may hide (a total drawn over its parts).
    pub dashed: bool,
    /// The width of this series' windows in seconds, when it is not the chart's (designs
    /// compared side by side may set different windows).
    pub window_s: Option<f64>,
}

/// Lines over time: the x axis is seconds from the start of the run, window `i` drawn at its
/// middle `(i + 0.5) x window_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeChart {
    /// The y axis' description, with its unit: `requests per second`.
    pub y_label: String,
    /// The width of a window in seconds.
    pub window_s: f64,
    /// A log y axis, for latencies that span orders of magnitude.
    pub log_y: bool,
    /// The top of a linear y axis, for a bounded quantity (a percentage); `None`: a little
    /// above the highest value.
    pub y_max: Option<f64>,
    /// The lines, drawn in order, each in the next colour.
    pub series: Vec<NamedSeries>,
    /// Spans shaded behind the lines.
    pub bands: Vec<Band>,
    /// Instants marked by dashed vertical lines behind the lines, each labelled.
    pub markers: Vec<Marker>,
}

impl TimeChart {
    /// An empty chart with a linear y axis.
    pub fn new(y_label: impl Into<String>, window_s: f64) -> TimeChart {
        TimeChart {
            y_label: y_label.into(),
            window_s,
            log_y: false,
            y_max: None,
            series: Vec::new(),
            bands: Vec::new(),
            markers: Vec::new(),
        }
    }

    /// Adds a line.
    pub fn line(mut self, name: impl Into<String>, values: Vec<f64>) -> TimeChart {
        self.series.push(NamedSeries { name: name.into(), values, dashed: false, window_s: None });
        self
    }

    /// Adds a line whose windows are `window_s` wide, whatever the chart's.
    pub fn line_with_window(mut self, name: impl Into<String>, window_s: f64, values: Vec<f64>) -> TimeChart {
        self.series.push(NamedSeries { name: name.into(), values, dashed: false, window_s: Some(window_s) });
        self
    }

    /// Adds a dashed line.
    pub fn dashed_line(mut self, name: impl Into<String>, values: Vec<f64>) -> TimeChart {
        self.series.push(NamedSeries { name: name.into(), values, dashed: true, window_s: None });
        self
    }

    /// Uses a log y axis.
    pub fn log_y(mut self) -> TimeChart {
        self.log_y = true;
        self
    }

    /// Tops a linear y axis at `y_max` (a log axis ignores it).
    pub fn y_max(mut self, y_max: f64) -> TimeChart {
        self.y_max = Some(y_max);
        self
    }

    /// Shades these spans.
    pub fn bands(mut self, bands: &[Band]) -> TimeChart {
        self.bands.extend_from_slice(bands);
        self
    }

    /// Marks these instants.
    pub fn markers(mut self, markers: &[Marker]) -> TimeChart {
        self.markers.extend_from_slice(markers);
        self
    }

    /// A client's answers per second in each window: all of them (throughput), the successful
    /// ones (goodput) and the failed ones (errors).
    pub fn answers(client: &ClientSummary, bands: &[Band]) -> TimeChart {
        let series = &client.per_window;
        let window_s = series.window_s;
        let rate = |n: u64| if window_s > 0.0 { n as f64 / window_s } else { f64::NAN };
        let count = series.succeeded.len().max(series.failed.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        let all = (0..count).map(|i| rate(at(&series.succeeded, i) + at(&series.failed, i))).collect();
        let good = (0..count).map(|i| rate(at(&series.succeeded, i))).collect();
        let bad = (0..count).map(|i| rate(at(&series.failed, i))).collect();
        // Throughput last and dashed: it equals goodput or errors wherever the other is zero.
        TimeChart::new("answers per second", window_s)
            .line("goodput (successes)", good)
            .line("errors (failures)", bad)
            .dashed_line("throughput (all answers)", all)
            .bands(bands)
    }

    /// A client's median and 99th percentile per window, on a log axis; windows without a
    /// successful answer are gaps.
    pub fn latency(client: &ClientSummary, bands: &[Band]) -> TimeChart {
        let series = &client.per_window;
        let values = |v: &[Option<f64>]| v.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        TimeChart::new("latency of successes (ms, log scale)", series.window_s)
            .log_y()
            .line("p50", values(&series.p50_ms))
            .line("p99", values(&series.p99_ms))
            .bands(bands)
    }

    /// A cache's hit ratio per window, 0 to 100%: the share of its lookups answered from the
    /// cache, fresh or stale; windows without lookups are gaps. Marks the cache's own events.
    pub fn cache_hit_ratio(cache: &CacheSummary, bands: &[Band]) -> TimeChart {
        let ratio = cache.series.hit_ratio().into_iter().map(|r| r.map_or(f64::NAN, |r| r * 100.0)).collect();
        // A little room above 100%, so that a cache that answers everything is not drawn on the
        // frame.
        let chart = TimeChart::new("lookups answered from the cache (%)", cache.series.window_s)
            .y_max(102.0)
            .line("hit ratio", ratio);
        // Under stale-while-revalidate, the fresh answers apart: the gap is what was stale.
        let chart = if cache.series.stale.iter().any(|&n| n > 0) {
            let fresh = cache.series.fresh_ratio().into_iter().map(|r| r.map_or(f64::NAN, |r| r * 100.0)).collect();
            chart.dashed_line("fresh only", fresh)
        } else {
            chart
        };
        chart.bands(bands).markers(&markers_of(cache))
    }

    /// The fetches per second a cache sent to its backend in each window (misses, early and
    /// background refreshes), over the windows of a run that ended at `end_s`. Marks the
    /// cache's own events.
    pub fn cache_fetches(cache: &CacheSummary, end_s: f64, bands: &[Band]) -> TimeChart {
        TimeChart::new("fetches per second", cache.series.window_s)
            .line("fetches to the backend", cache.series.fetches_per_s(end_s))
            .bands(bands)
            .markers(&markers_of(cache))
    }

    /// One line per named series.
    pub fn lines(y_label: impl Into<String>, window_s: f64, series: Vec<(String, Vec<f64>)>) -> TimeChart {
        series.into_iter().fold(TimeChart::new(y_label, window_s), |chart, (name, values)| chart.line(name, values))
    }

    /// Each series averaged over groups of its windows so that none has more than
    /// [`MAX_POINTS`] points, with the width of its groups in seconds (a width that is not a
    /// positive number is taken as 1 s).
    fn thinned(&self) -> Vec<(f64, NamedSeries)> {
        let longest = self.series.iter().map(|s| s.values.len()).max().unwrap_or(0);
        let group = longest.div_ceil(MAX_POINTS).max(1);
        self.series
            .iter()
            .map(|s| {
                let window_s = s.window_s.unwrap_or(self.window_s);
                let window_s = if window_s.is_finite() && window_s > 0.0 { window_s } else { 1.0 };
                let values = s.values.chunks(group).map(|c| c.iter().sum::<f64>() / c.len() as f64).collect();
                (window_s * group as f64, NamedSeries { values, window_s: None, ..s.clone() })
            })
            .collect()
    }

    /// The legend: each band, then each line.
    fn legend(&self) -> Vec<(String, Swatch)> {
        let bands = self.bands.iter().filter(|b| b.is_drawable()).map(|b| (b.label.clone(), band_swatch(b)));
        let lines = self.series.iter().enumerate().map(|(i, s)| {
            let color = line_colour(i);
            (s.name.clone(), if s.dashed { Swatch::Dashed(color) } else { Swatch::Line(color) })
        });
        bands.chain(lines).collect()
    }

    /// Draws the chart with a title.
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult {
        let body = header(root, title, &self.legend())?;
        let series = self.thinned();
        let lines_end = series.iter().map(|(width_s, s)| s.values.len() as f64 * width_s).fold(0.0, f64::max);
        let band_end = self.bands.iter().filter(|b| b.is_drawable()).map(|b| b.end_s).fold(0.0, f64::max);
        let first_width = series.first().map_or(1.0, |(width_s, _)| *width_s);
        let end_s = lines_end.max(band_end).max(first_width);
        let shown = |v: f64| v.is_finite() && (!self.log_y || v > 0.0);
        let values = || series.iter().flat_map(|(_, s)| s.values.iter().copied()).filter(|&v| shown(v));
        let high = values().fold(f64::NEG_INFINITY, f64::max);
        let low = values().fold(f64::INFINITY, f64::min);
        let x = Axis { desc: "time (s)", label: &number_label };
        let y = Axis { desc: self.y_label.as_str(), label: &number_label };
        let grid = RGBColor(240, 240, 240);
        if self.log_y {
            let (low, high) = if high.is_finite() { (low / 2.0, high * 2.0) } else { (0.1, 1.0) };
            let mut chart = plot_area(&body).build_cartesian_2d(0.0..end_s, log_axis(low, high))?;
            draw_axes(&mut chart, x, y, grid)?;
            self.draw_contents(&mut chart, &series, (low, high))
        } else {
            let high = match self.y_max {
                Some(top) if top.is_finite() && top > 0.0 => top,
                _ if high.is_finite() && high > 0.0 => high * 1.1,
                _ => 1.0,
            };
            let mut chart = plot_area(&body).build_cartesian_2d(0.0..end_s, 0.0..high)?;
            draw_axes(&mut chart, x, y, grid)?;
            self.draw_contents(&mut chart, &series, (0.0, high))
        }
    }

    /// Bands and lines on either kind of y axis.
    fn draw_contents<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
        series: &[(f64, NamedSeries)],
        (low, high): (f64, f64),
    ) -> DrawResult {
        for band in self.bands.iter().filter(|b| b.is_drawable()) {
            let (color, alpha) = band_colour(band);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(band.start_s, low), (band.end_s, high)],
                color.mix(alpha).filled(),
            )))?;
            // The band's name at its top left, so the picture reads without the legend too.
            let top = if self.log_y { high / 1.2 } else { high * 0.97 };
            chart.draw_series(std::iter::once(
                EmptyElement::at((band.start_s, top))
                    + Text::new(band.label.clone(), (4, 0), font(TICK_SIZE).color(&color.mix(0.95))),
            ))?;
        }
        let (start_s, end_s) = (chart.x_range().start, chart.x_range().end);
        let inside = |m: &&Marker| m.at_s.is_finite() && m.at_s >= start_s && m.at_s <= end_s;
        for (k, marker) in self.markers.iter().filter(inside).enumerate() {
            let color = colour::FAULT;
            chart.draw_series(DashedLineSeries::new(
                [(marker.at_s, low), (marker.at_s, high)],
                6,
                4,
                color.stroke_width(2),
            ))?;
            // Its name beside its top, in one of three rows below the bands' names, so that
            // instants close together stay legible.
            let top = if self.log_y { high / 1.2 } else { high * 0.97 };
            let row = 16 * (k as i32 % 3 + 1);
            chart.draw_series(std::iter::once(
                EmptyElement::at((marker.at_s, top))
                    + Text::new(marker.label.clone(), (4, row), font(TICK_SIZE).color(&color.mix(0.95))),
            ))?;
        }
        for (i, (width_s, line)) in series.iter().enumerate() {
            let style = line_colour(i).stroke_width(2);
            let shown = |v: f64| v.is_finite() && (!self.log_y || v > 0.0);
            // Each unbroken run of drawable values.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (w, &v) in line.values.iter().enumerate() {
                match runs.last_mut() {
                    Some(run) if shown(v) => run.push(((w as f64 + 0.5) * width_s, v)),
                    Some(run) if !run.is_empty() => runs.push(Vec::new()),
                    _ => {}
                }
            }
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                if line.dashed {
                    chart.draw_series(DashedLineSeries::new(run, 7, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(run, style))?;
                }
            }
        }
        Ok(())
    }
}

/// The colour and opacity a band is shaded with: grey for the warm-up, orange for a fault.
fn band_colour(band: &Band) -> (RGBColor, f64) {
    if band.warmup { (colour::WARMUP, 0.15) } else { (colour::FAULT, 0.25) }
}

/// The legend's swatch of a band.
fn band_swatch(band: &Band) -> Swatch {
    let (color, alpha) = band_colour(band);
    Swatch::Fill(color, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_averaged_over_groups_of_windows() {
        let values: Vec<f64> = (0..2500).map(f64::from).collect();
        let chart = TimeChart::new("x", 0.5).line("a", values).dashed_line("b", vec![1.0, 3.0, 5.0]).line_with_window(
            "c",
            2.0,
            vec![4.0, 6.0, 8.0],
        );
        let series = chart.thinned();
        // 2,500 windows in groups of 3: 834 points, each the mean of its group.
        assert_eq!(series[0].0, 1.5);
        assert_eq!(series[0].1.values.len(), 834);
        assert_eq!(series[0].1.values[0], 1.0);
        assert_eq!(series[0].1.values[833], 2499.0);
        assert_eq!(series[1].1.values, vec![3.0]);
        assert!(series[1].1.dashed && !series[0].1.dashed);
        // A series with its own windows keeps their width, grouped alike.
        assert_eq!((series[2].0, &series[2].1.values), (6.0, &vec![6.0]));
        // Short series are left alone.
        let short = TimeChart::new("x", 1.0).line("a", vec![1.0, 2.0]);
        assert_eq!(short.thinned(), vec![(1.0, short.series[0].clone())]);
    }
}
