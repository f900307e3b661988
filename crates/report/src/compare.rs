//! The terminal tables of a comparison (`tailsim compare`): each variant's statistics with
//! their 95% intervals and its paired difference to the first. The comparison itself (the
//! estimates, the paired t-intervals, `compare.json`) is computed in [`tailsim_stats::compare`]
//! and re-exported here; the compare charts are drawn by [`crate::chart::compare_charts`].

use std::fmt::Write;

pub use tailsim_stats::compare::*;

use crate::aggregate::Estimate;
use crate::text::{Document, Table, format_ms};

fn value(metric: Metric, x: f64) -> String {
    if metric.is_latency() {
        format_ms(x)
    } else if metric == Metric::CacheHitRatio {
        format!("{:.2}%", x * 100.0)
    } else if metric == Metric::InstanceSeconds {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn estimate(metric: Metric, e: &Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{}±{}", value(metric, e.mean), value(metric, e.ci95_half_width)),
        None => "-".into(),
    }
}

fn difference(metric: Metric, d: &Option<Difference>) -> String {
    match d {
        // Common random numbers make equal designs exactly equal.
        Some(d) if d.mean == 0.0 && d.ci95_half_width == 0.0 => "0".into(),
        Some(d) => {
            let sign = if d.mean < 0.0 { "-" } else { "+" };
            let relative = match d.relative {
                Some(r) if (r * 100.0).abs() >= 9.95 => format!(" ({sign}{:.0}%)", (r * 100.0).abs()),
                Some(r) => format!(" ({sign}{:.1}%)", (r * 100.0).abs()),
                None => String::new(),
            };
            format!(
                "{sign}{}±{}{relative}{}",
                value(metric, d.mean.abs()),
                value(metric, d.ci95_half_width),
                if d.significant { " *" } else { "" }
            )
        }
        None => "-".into(),
    }
}

/// The terminal tables: each variant's statistics, then each one's difference to the first.
pub fn render(c: &Comparison) -> String {
    document(c).to_text()
}

/// The tables of [`render`] as text and tables, for the terminal and `compare.html`.
pub fn document(c: &Comparison) -> Document {
    let mut out = Document::default();
    let _ = writeln!(
        out,
        "{}: {} variants x {} replications, seed {}, common random numbers",
        c.scenario,
        c.variants.len(),
        c.replications,
        c.seed
    );
    let _ = writeln!(out, "latency of client \"{}\"; goodput and errors of all clients", c.client);
    if let Some(cache) = &c.cache {
        let _ = writeln!(out, "hit ratio and the most fetches of one key at once of cache \"{cache}\"");
    }
    if let Some(why) = &c.truncated {
        let _ = writeln!(out, "TRUNCATED: {why}");
    }
    out.push('\n');
    // The cache's columns only when there is a cache to compare.
    // The cost's columns only when a variant has prices.
    let priced = c.variants.iter().any(|v| v.estimates.cost_per_hour.is_some());
    let metrics: Vec<Metric> =
        Metric::ALL.into_iter().filter(|m| (c.cache.is_some() || !m.is_cache()) && (priced || !m.is_cost())).collect();
    let mut header = vec!["variant"];
    header.extend(metrics.iter().map(|m| m.label()));
    let mut table = Table::new(&header);
    for v in &c.variants {
        let mut row = vec![v.name.clone()];
        row.extend(metrics.iter().map(|&m| estimate(m, v.estimates.get(m))));
        table.row(row);
    }
    out.table(table);
    if let Some(first) = c.variants.first()
        && c.variants.len() > 1
    {
        let _ = writeln!(out, "\ndifference to {}, paired by replication (* = significant at 95%)", first.name);
        let mut table = Table::new(&header);
        for v in &c.variants[1..] {
            let mut row = vec![v.name.clone()];
            match &v.vs_first {
                Some(d) => row.extend(metrics.iter().map(|&m| difference(m, d.get(m)))),
                None => row.extend(metrics.iter().map(|_| "-".to_string())),
            }
            table.row(row);
        }
        out.table(table);
    }
    let _ = writeln!(
        out,
        "\n± is the half-width of a 95% confidence interval; a difference is significant when its\npaired interval excludes zero."
    );
    if c.variants.iter().any(|v| !v.slos.is_empty()) {
        out.push('\n');
        let mut table = Table::new(&["variant", "objective", "target", "measured", "verdict"]);
        for v in &c.variants {
            for row in crate::text::objective_rows(&v.slos) {
                table.row([vec![v.name.clone()], row].concat());
            }
        }
        out.table(table);
        crate::text::objectives_note(c.replications, &mut out);
    }
    out
}
