//! The terminal table of a parameter sweep (`tailsim sweep`): one row per point, the analytic
//! M/M/c columns beside the simulated ones where they apply. The sweep's data and `sweep.csv`
//! are [`tailsim_stats::sweep`]'s, re-exported here.

use std::fmt::Write;

pub use tailsim_stats::sweep::*;

use crate::text::{Table, format_ms};

fn ms(stat: Option<Stat>) -> String {
    match stat {
        Some(Stat { mean, ci95_half_width: Some(h), .. }) => format!("{}±{}", format_ms(mean), format_ms(h)),
        Some(Stat { mean, .. }) => format_ms(mean),
        None => "-".into(),
    }
}

fn rate(stat: Option<Stat>) -> String {
    match stat {
        Some(Stat { mean, ci95_half_width: Some(h), .. }) => format!("{mean:.1}±{h:.1}"),
        Some(Stat { mean, .. }) => format!("{mean:.1}"),
        None => "-".into(),
    }
}

/// A parameter value as the table shows it: whole numbers without a fraction, others to four
/// significant figures.
fn param(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let digits = (3 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
        format!("{value:.digits$}")
    }
}

/// The terminal table: one row per point.
pub fn render(sweep: &Sweep) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} point{} x {} replication{}, seed {}; latency of client \"{}\"",
        sweep.scenario,
        sweep.points.len(),
        if sweep.points.len() == 1 { "" } else { "s" },
        sweep.replications,
        if sweep.replications == 1 { "" } else { "s" },
        sweep.seed,
        sweep.client
    );
    if let Some(why) = sweep.truncated() {
        let _ = writeln!(out, "TRUNCATED: {why}");
    }
    out.push('\n');
    let theory = sweep.points.iter().any(|p| p.mmc.is_some());
    let mut header: Vec<&str> = sweep.params.iter().map(String::as_str).collect();
    header.extend(["busiest", "load", "util", "mean", "p50", "p99", "p99.9", "goodput/s", "errors/s"]);
    if theory {
        header.extend(["M/M/c mean", "M/M/c p99"]);
    }
    let mut table = Table::new(&header);
    for p in &sweep.points {
        let mut row: Vec<String> = p.values.iter().map(|&v| param(v)).collect();
        row.push(p.busiest.service.clone());
        row.push(format!("{:.1}%", p.busiest.offered_load * 100.0));
        row.push(match p.utilisation {
            Some(u) => format!("{:.1}%", u.mean * 100.0),
            None => "-".into(),
        });
        row.extend([
            ms(p.mean_ms),
            ms(p.p50_ms),
            ms(p.p99_ms),
            ms(p.p999_ms),
            rate(p.goodput_per_s),
            rate(p.errors_per_s),
        ]);
        if theory {
            match &p.mmc {
                Some(m) => row.extend([format_ms(m.theory.mean_ms), format_ms(m.theory.p99_ms)]),
                None => row.extend(["-".to_string(), "-".to_string()]),
            }
        }
        if p.truncated.is_some() {
            row.push("truncated".into());
        }
        table.row(row);
    }
    table.render(&mut out);
    let _ = writeln!(
        out,
        "\nload is the busiest service's offered load (a lower bound on its utilisation); util is simulated."
    );
    if theory {
        let _ = writeln!(
            out,
            "M/M/c columns: Erlang C's response time of that service, for Poisson arrivals, exponential work and c workers."
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_well() {
        assert_eq!(param(100.0), "100");
        assert_eq!(param(141.4213562), "141.4");
        assert_eq!(param(0.0125), "0.01250");
    }
}
