//! Latency distributions on a log latency axis: a client's histogram and CDF, successes and
//! failures apart, the percentiles of the summary marked ([`LatencyChart`]); and several
//! distributions overlaid on a percentile axis, one line each ([`CdfChart`]: the variants of a
//! comparison, the classes of a client).

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Axis, DrawResult, Swatch, TICK_SIZE, TickedAxis, colour, draw_axes, font, header, line_colour, log_axis, ms_label,
    nothing_to_show, number_label, plot_area,
};
use crate::summary::{ClientSummary, Distribution, LatencySummary};
use crate::text::thousands;

/// What the latency charts of one client show.
#[derive(Clone, Debug)]
pub struct LatencyChart {
    /// Latencies of successful requests.
    pub success: Distribution,
    /// Times until failed requests failed.
    pub failure: Distribution,
    /// Percentiles of the successes to mark: `(p50, 11.1)` in milliseconds.
    pub success_marks: Vec<(String, f64)>,
    /// Percentiles of the failures to mark.
    pub failure_marks: Vec<(String, f64)>,
}

impl LatencyChart {
    /// The distributions and percentiles (p50, p99, p99.9) of a client's summary.
    pub fn of_client(client: &ClientSummary) -> LatencyChart {
        LatencyChart {
            success: client.latency_histogram.clone(),
            failure: client.failure_latency_histogram.clone(),
            success_marks: marks(&client.latency),
            failure_marks: marks(&client.failure_latency),
        }
    }

    /// The latency axis: from the lowest edge to the highest of both distributions, or `None`
    /// when nothing was recorded.
    fn x_range(&self) -> Option<(f64, f64)> {
        latency_range([&self.success, &self.failure])
    }

    /// Legend entries: each distribution with its count, and the percentile marks.
    fn legend(&self, swatch: fn(RGBColor) -> Swatch) -> Vec<(String, Swatch)> {
        let mut legend = Vec::new();
        for (distribution, color, name) in
            [(&self.success, colour::SUCCESS, "succeeded"), (&self.failure, colour::FAILURE, "failed")]
        {
            let total: u64 = distribution.counts.iter().sum();
            if total > 0 {
                legend.push((format!("{name} ({})", thousands(total)), swatch(color)));
            }
        }
        if !self.success.counts.is_empty() && !self.success_marks.is_empty() {
            legend.push(("percentiles of successes".into(), Swatch::Dashed(colour::SUCCESS)));
        }
        if !self.failure.counts.is_empty() && !self.failure_marks.is_empty() {
            legend.push(("percentiles of failures".into(), Swatch::Dashed(colour::FAILURE)));
        }
        legend
    }

    /// Requests per log bucket, successes and failures overlaid.
    pub(super) fn draw_histogram<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult {
        let Some((low, high)) = self.x_range() else { return nothing_to_show(root, title, NOTHING_ANSWERED) };
        let body = header(root, title, &self.legend(|c| Swatch::Fill(c, BAR_ALPHA)))?;
        let most = self.success.counts.iter().chain(&self.failure.counts).copied().max().unwrap_or(0).max(1);
        let top = most as f64 * 1.15;
        let mut chart = plot_area(&body).build_cartesian_2d(log_axis(low, high), 0.0..top)?;
        draw_axes(
            &mut chart,
            Axis { desc: LATENCY_AXIS, label: &ms_label },
            Axis { desc: "requests per bucket (buckets ~12% wide)", label: &number_label },
            WHITE,
        )?;
        for (distribution, color) in [(&self.success, colour::SUCCESS), (&self.failure, colour::FAILURE)] {
            let style = color.mix(BAR_ALPHA).filled();
            let bars = distribution
                .counts
                .iter()
                .zip(distribution.edges_ms.windows(2))
                .filter(|(c, _)| **c > 0)
                .map(move |(&count, edge)| Rectangle::new([(edge[0], 0.0), (edge[1], count as f64)], style));
            chart.draw_series(bars)?;
        }
        self.draw_marks(&mut chart, (low, high), top)
    }

    /// The fraction of requests at or below each latency, successes and failures apart.
    pub(super) fn draw_cdf<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult {
        let Some((low, high)) = self.x_range() else { return nothing_to_show(root, title, NOTHING_ANSWERED) };
        let body = header(root, title, &self.legend(Swatch::Line))?;
        let mut chart = plot_area(&body).build_cartesian_2d(log_axis(low, high), 0.0..1.05)?;
        let percent = |v: &f64| format!("{:.0}%", v * 100.0);
        draw_axes(
            &mut chart,
            Axis { desc: LATENCY_AXIS, label: &ms_label },
            Axis { desc: "requests at or below (cumulative)", label: &percent },
            RGBColor(238, 238, 238),
        )?;
        for (distribution, color) in [(&self.success, colour::SUCCESS), (&self.failure, colour::FAILURE)] {
            let total: u64 = distribution.counts.iter().sum();
            if total == 0 {
                continue;
            }
            let points: Vec<(f64, f64)> =
                cumulative(distribution).map(|(edge, below)| (edge, below as f64 / total as f64)).collect();
            chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
        }
        self.draw_marks(&mut chart, (low, high), 1.05)
    }

    /// Dashed vertical lines at the percentiles, labelled with their values; successes' labels
    /// high, failures' lower, each a step further down so that close percentiles stay legible.
    /// A label sits right of its line, or left of it in the right quarter of the chart.
    fn draw_marks<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<WithKeyPoints<LogCoord<f64>>, RangedCoordf64>>,
        (low, high): (f64, f64),
        top: f64,
    ) -> DrawResult {
        let groups = [
            (&self.success_marks, &self.success, colour::SUCCESS, 0.0),
            (&self.failure_marks, &self.failure, colour::FAILURE, 0.4),
        ];
        for (marks, distribution, color, drop) in groups {
            if distribution.counts.is_empty() {
                continue;
            }
            for (i, (name, ms)) in marks.iter().enumerate() {
                if !(ms.is_finite() && *ms > 0.0) {
                    continue;
                }
                chart.draw_series(DashedLineSeries::new(vec![(*ms, 0.0), (*ms, top)], 6, 4, color.stroke_width(1)))?;
                let y = top * (0.93 - drop - 0.08 * i as f64);
                let fraction = (ms / low).ln() / (high / low).ln();
                let (anchor, dx) = if fraction > 0.75 { (HPos::Right, -5) } else { (HPos::Left, 5) };
                let style = TextStyle::from(font(TICK_SIZE)).color(&color).pos(Pos::new(anchor, VPos::Center));
                let label = format!("{name} {}", ms_label(ms));
                chart.draw_series(std::iter::once(EmptyElement::at((*ms, y)) + Text::new(label, (dx, 0), style)))?;
            }
        }
        Ok(())
    }
}

/// Opacity of histogram bars, so that overlapping successes and failures both show.
const BAR_ALPHA: f64 = 0.6;

/// p50, p99 and p99.9 of a latency summary, those that exist.
fn marks(summary: &LatencySummary) -> Vec<(String, f64)> {
    [("p50", summary.p50_ms), ("p99", summary.p99_ms), ("p99.9", summary.p999_ms)]
        .into_iter()
        .filter_map(|(name, ms)| ms.map(|ms| (name.to_string(), ms)))
        .collect()
}

/// The description of every latency axis.
const LATENCY_AXIS: &str = "latency (log scale)";

/// What a latency chart without any answer says.
const NOTHING_ANSWERED: &str = "no request was answered after the warm-up";

/// The latency axis of some distributions: from the lowest edge to the highest, or `None`
/// when nothing was recorded.
fn latency_range<'a>(distributions: impl IntoIterator<Item = &'a Distribution> + Clone) -> Option<(f64, f64)> {
    let lows = distributions.clone().into_iter().filter_map(|d| d.edges_ms.first().copied());
    let highs = distributions.into_iter().filter_map(|d| d.edges_ms.last().copied());
    let low = lows.fold(f64::INFINITY, f64::min);
    let high = highs.fold(0.0, f64::max);
    (low.is_finite() && low > 0.0 && high > low).then_some((low, high))
}

/// The cumulative counts of a distribution at its edges: `(first edge, 0)`, then after each
/// bucket `(its upper edge, latencies below it)`.
fn cumulative(distribution: &Distribution) -> impl Iterator<Item = (f64, u64)> + '_ {
    let start = distribution.edges_ms.first().map(|&edge| (edge, 0));
    let mut below = 0;
    let steps = distribution.counts.iter().zip(distribution.edges_ms.iter().skip(1)).map(move |(count, &edge)| {
        below += count;
        (edge, below)
    });
    start.into_iter().chain(steps)
}

/// Several latency distributions overlaid, one line each in the order given (its colour is
/// its position's: the same variant or class has the same colour on every chart). The y axis is
/// the percentile on a log scale of the tail, `-log10(1 - F)`: 50%, 90%, 99%, 99.9% ... are
/// evenly spaced, so the tail that a linear CDF squeezes against 100% reads as clearly as
/// the median.
#[derive(Clone, Debug)]
pub struct CdfChart {
    /// The lines: a name for the legend and its distribution (empty ones are named in the
    /// legend, not drawn).
    pub lines: Vec<(String, Distribution)>,
}

/// The highest percentile axis, 99.9999%: six nines.
const MAX_NINES: f64 = 6.0;

impl CdfChart {
    /// The top of the percentile axis: as many nines as the largest distribution can resolve
    /// (at least 99%, at most [`MAX_NINES`]).
    fn top(&self) -> f64 {
        let most = self.lines.iter().map(|(_, d)| d.counts.iter().sum::<u64>()).max().unwrap_or(0);
        (most.max(1) as f64).log10().ceil().clamp(2.0, MAX_NINES)
    }

    /// Draws the chart with a title.
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult {
        let Some((low, high)) = latency_range(self.lines.iter().map(|(_, d)| d)) else {
            return nothing_to_show(root, title, NOTHING_ANSWERED);
        };
        let legend: Vec<(String, Swatch)> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, (name, d))| {
                let total: u64 = d.counts.iter().sum();
                let count = if total > 0 { thousands(total) } else { "none".into() };
                (format!("{name} ({count})"), Swatch::Line(line_colour(i)))
            })
            .collect();
        let body = header(root, title, &legend)?;
        let top = self.top();
        let mut key_points = vec![0.0, 2f64.log10()];
        key_points.extend((1..=top as u32).map(f64::from));
        let mut chart =
            plot_area(&body).build_cartesian_2d(log_axis(low, high), TickedAxis::new(0.0..top, key_points))?;
        draw_axes(
            &mut chart,
            Axis { desc: LATENCY_AXIS, label: &ms_label },
            Axis { desc: "requests at or below (percentile, log scale of the tail)", label: &percentile_label },
            RGBColor(238, 238, 238),
        )?;
        for (i, (_, distribution)) in self.lines.iter().enumerate() {
            let total: u64 = distribution.counts.iter().sum();
            if total == 0 {
                continue;
            }
            // -log10(1 - below / total) = log10(total) - log10(total - below): exact near 100%;
            // all of them at or below is drawn at the top of the axis.
            let tail = |below: u64| {
                if below >= total { top } else { ((total as f64).log10() - ((total - below) as f64).log10()).min(top) }
            };
            let points: Vec<(f64, f64)> = cumulative(distribution).map(|(edge, below)| (edge, tail(below))).collect();
            chart.draw_series(LineSeries::new(points, line_colour(i).stroke_width(2)))?;
        }
        Ok(())
    }
}

/// Labels a point of the percentile axis (`-log10(1 - F)`) as its percentile: 0 as `0%`,
/// log10(2) as `50%`, 1 as `90%`, 3 as `99.9%`.
fn percentile_label(nines: &f64) -> String {
    let percent = 100.0 * (1.0 - 10f64.powf(-nines));
    let decimals = (nines.round() as i32 - 2).max(0) as usize;
    format!("{percent:.decimals$}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_labelled_with_their_nines() {
        let labels: Vec<String> = [0.0, 2f64.log10(), 1.0, 2.0, 3.0, 4.0, 6.0].iter().map(percentile_label).collect();
        assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.9999%"]);
    }

    #[test]
    fn the_percentile_axis_resolves_what_the_data_can() {
        let lines = |totals: &[u64]| CdfChart {
            lines: totals
                .iter()
                .map(|&n| {
                    (
                        "x".to_string(),
                        Distribution { buckets_per_decade: 20, edges_ms: vec![1.0, 1.122], counts: vec![n] },
                    )
                })
                .collect(),
        };
        assert_eq!(lines(&[]).top(), 2.0);
        assert_eq!(lines(&[10, 5000]).top(), 4.0);
        assert_eq!(lines(&[1000]).top(), 3.0);
        assert_eq!(lines(&[u64::MAX]).top(), MAX_NINES);
    }

    #[test]
    fn cumulative_counts_end_at_the_total() {
        let d = Distribution { buckets_per_decade: 20, edges_ms: vec![1.0, 1.122, 1.259], counts: vec![3, 2] };
        assert_eq!(cumulative(&d).collect::<Vec<_>>(), vec![(1.0, 0), (1.122, 3), (1.259, 5)]);
        assert_eq!(cumulative(&Distribution::default()).count(), 0);
    }
}
