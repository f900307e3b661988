//! Latency against load, from a sweep: each point's p50, p99 and p99.9 on a log latency axis
//! against the busiest service's offered load, with Erlang C's M/M/c p99 dashed beside them
//! where the sweep has it, so the hockey stick of theory lies over the simulated one.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Axis, DrawResult, Swatch, TICK_SIZE, colour, draw_axes, font, header, line_colour, log_axis, ms_label,
    nothing_to_show, number_label, plot_area,
};
use crate::sweep::{Stat, Sweep, SweepPoint};

/// The most groups of points (combinations of the parameters after the first) drawn on one
/// chart; more would be a tangle of lines and colours.
pub const MAX_GROUPS: usize = 6;

/// One line of a [`LoadChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct LoadLine {
    /// The legend's name for it.
    pub name: String,
    /// `(x, latency in ms)`, in order of x.
    pub points: Vec<(f64, f64)>,
    /// Its colour's position in the palette.
    pub colour: usize,
    /// How it is drawn.
    pub style: Stroke,
}

/// How a line of a [`LoadChart`] is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    /// A measurement: solid, with a dot at each point.
    Measured,
    /// Theory or a target: dashed, without markers.
    Theory,
    /// Points that are not a line (designs scattered by cost): dots only.
    Dots,
}

/// Latencies against a load (or a parameter), on a linear x axis and a log latency axis.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadChart {
    /// The x axis' description.
    pub x_label: String,
    /// Whether x is an offered load (a fraction, labelled in percent, with the saturation at
    /// 100% marked) rather than a parameter's value.
    pub x_is_load: bool,
    /// The lines, drawn in order.
    pub lines: Vec<LoadLine>,
    /// Groups of points left out beyond [`MAX_GROUPS`].
    pub groups_left_out: usize,
}

impl LoadChart {
    /// The chart of a sweep. x is the busiest service's offered load when it differs between
    /// points, else the first parameter. Points are grouped by the values of the other
    /// parameters: one group gets its p50, p99 and p99.9; several get their p99 each (the first
    /// [`MAX_GROUPS`]). Each group's Erlang C p99, where its points have one, is dashed in the
    /// colour of its simulated p99.
    pub fn of_sweep(sweep: &Sweep) -> LoadChart {
        let loads: Vec<f64> = sweep.points.iter().map(|p| p.busiest.offered_load).collect();
        let x_is_load = loads.iter().any(|&l| l != loads[0]);
        let x = |p: &SweepPoint| {
            if x_is_load { p.busiest.offered_load } else { p.values.first().copied().unwrap_or(f64::NAN) }
        };
        let x_label = if x_is_load {
            let mut services: Vec<&str> = sweep.points.iter().map(|p| p.busiest.service.as_str()).collect();
            services.dedup();
            match services.as_slice() {
                [one] => format!("offered load of {one} (% of its capacity)"),
                _ => "offered load of the busiest service (% of its capacity)".to_string(),
            }
        } else {
            sweep.params.first().cloned().unwrap_or_default()
        };
        // Groups by the values of every parameter but the first, in order of appearance.
        let mut groups: Vec<(&[f64], Vec<&SweepPoint>)> = Vec::new();
        for p in &sweep.points {
            let key = p.values.get(1..).unwrap_or(&[]);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(p),
                None => groups.push((key, vec![p])),
            }
        }
        let groups_left_out = groups.len().saturating_sub(MAX_GROUPS);
        groups.truncate(MAX_GROUPS);
        let several = groups.len() > 1;
        let mut lines = Vec::new();
        for (g, (key, mut members)) in groups.into_iter().enumerate() {
            members.sort_by(|a, b| x(a).total_cmp(&x(b)));
            let line = |stat: fn(&SweepPoint) -> Option<Stat>| -> Vec<(f64, f64)> {
                members.iter().filter_map(|p| Some((x(p), stat(p)?.mean))).filter(|&(x, y)| drawable(x, y)).collect()
            };
            let group_name = sweep
                .params
                .iter()
                .skip(1)
                .zip(key)
                .map(|(path, value)| format!("{}={}", path.rsplit('.').next().unwrap_or(path), number_label(value)))
                .collect::<Vec<_>>()
                .join(", ");
            let theory: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|p| p.mmc.as_ref().map(|m| (x(p), m.theory.p99_ms)))
                .filter(|&(x, y)| drawable(x, y))
                .collect();
            let p99_colour = if several { g } else { 1 };
            if several {
                lines.push(LoadLine {
                    name: format!("p99, {group_name}"),
                    points: line(|p| p.p99_ms),
                    colour: g,
                    style: Stroke::Measured,
                });
            } else {
                for (name, stat, colour) in [
                    ("p50", (|p| p.p50_ms) as fn(&SweepPoint) -> Option<Stat>, 0),
                    ("p99", |p| p.p99_ms, 1),
                    ("p99.9", |p| p.p999_ms, 2),
                ] {
                    lines.push(LoadLine {
                        name: name.to_string(),
                        points: line(stat),
                        colour,
                        style: Stroke::Measured,
                    });
                }
            }
            if !theory.is_empty() {
                let mut workers: Vec<u32> =
                    members.iter().filter_map(|p| p.mmc.as_ref().map(|m| m.theory.workers)).collect();
                workers.sort_unstable();
                workers.dedup();
                let model = match workers.as_slice() {
                    [c] => format!("M/M/{c}"),
                    _ => "M/M/c".to_string(),
                };
                let service = members.iter().find_map(|p| p.mmc.as_ref()).map_or("", |m| m.theory.service.as_str());
                let name = if several {
                    format!("Erlang C p99, {group_name}")
                } else {
                    format!("Erlang C p99 of {service} ({model})")
                };
                lines.push(LoadLine { name, points: theory, colour: p99_colour, style: Stroke::Theory });
            }
        }
        LoadChart { x_label, x_is_load, lines, groups_left_out }
    }

    /// Draws the chart with a title.
    pub(super) fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult {
        let points = || self.lines.iter().flat_map(|l| l.points.iter().copied());
        let (x_low, x_high) =
            points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| (lo.min(x), hi.max(x)));
        let (y_low, y_high) =
            points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y)| (lo.min(y), hi.max(y)));
        if !(x_low.is_finite() && y_low.is_finite()) {
            return nothing_to_show(root, title, "no point of the sweep had a successful request");
        }
        let mut legend: Vec<(String, Swatch)> = self
            .lines
            .iter()
            .map(|l| {
                let c = line_colour(l.colour);
                let swatch = match l.style {
                    Stroke::Measured => Swatch::Line(c),
                    Stroke::Theory => Swatch::Dashed(c),
                    Stroke::Dots => Swatch::Dot(c),
                };
                (l.name.clone(), swatch)
            })
            .collect();
        let saturated = self.x_is_load && x_high >= 1.0;
        if saturated {
            legend.push(("saturation (100% load)".to_string(), Swatch::Dashed(colour::WARMUP)));
        }
        let body = header(root, title, &legend)?;
        // Loads start at zero; a parameter's axis spans its values, with a margin.
        let (x_low, x_high) = if self.x_is_load {
            (0.0, x_high * 1.05)
        } else if x_high > x_low {
            let pad = (x_high - x_low) * 0.05;
            (x_low - pad, x_high + pad)
        } else {
            (x_low - 0.5, x_high + 0.5)
        };
        let (y_low, y_high) = (y_low / 1.5, y_high * 1.5);
        let mut chart = plot_area(&body).build_cartesian_2d(x_low..x_high, log_axis(y_low, y_high))?;
        let percent = |v: &f64| format!("{:.0}%", v * 100.0);
        let x_axis: &dyn Fn(&f64) -> String = if self.x_is_load { &percent } else { &number_label };
        draw_axes(
            &mut chart,
            Axis { desc: &self.x_label, label: x_axis },
            Axis { desc: "latency of successes (log scale)", label: &ms_label },
            RGBColor(238, 238, 238),
        )?;
        if saturated {
            let grey = colour::WARMUP;
            chart.draw_series(DashedLineSeries::new(vec![(1.0, y_low), (1.0, y_high)], 6, 4, grey.stroke_width(2)))?;
            let style = TextStyle::from(font(TICK_SIZE)).color(&grey).pos(Pos::new(HPos::Right, VPos::Top));
            chart.draw_series(std::iter::once(
                EmptyElement::at((1.0, y_high)) + Text::new("saturation".to_string(), (-5, 5), style),
            ))?;
        }
        for line in &self.lines {
            let style = line_colour(line.colour).stroke_width(2);
            match line.style {
                Stroke::Theory => {
                    chart.draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?;
                }
                Stroke::Measured => {
                    chart.draw_series(LineSeries::new(line.points.clone(), style))?;
                    chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, style.filled())))?;
                }
                Stroke::Dots => {
                    chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 4, style.filled())))?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a point can be drawn on a log latency axis.
fn drawable(x: f64, latency_ms: f64) -> bool {
    x.is_finite() && latency_ms.is_finite() && latency_ms > 0.0
}
