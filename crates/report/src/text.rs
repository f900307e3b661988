//! The terminal summary: one table of clients and one of services, with 95% intervals when
//! there are replications. Returns strings; the CLI prints them.

use std::fmt::Write;

use tailsim_stats::slo::{SloVerdict, Verdict};

use crate::aggregate::{Estimate, LatencyEstimates};
use crate::summary::{Report, RunSummary};

pub use tailsim_stats::format::format_ms;

fn opt_ms(value: Option<f64>) -> String {
    value.map(format_ms).unwrap_or_else(|| "-".into())
}

/// A latency's mean over replications with its 95% interval, `12.3ms±0.4ms`; `-` without one.
pub fn with_ci(value: Option<Estimate>) -> String {
    match value {
        Some(e) => format!("{}±{}", format_ms(e.mean), format_ms(e.ci95_half_width)),
        None => "-".into(),
    }
}

/// Groups digits in threes: 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A table: a header row, then one row per item; in text the first column is left-aligned and
/// the others right-aligned.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The header first, then the rows; a row may be shorter than the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with `header` and no rows yet.
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|h| h.to_string()).collect()] }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn render(&self, out: &mut String) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c == 0 {
                    let _ = write!(line, "{cell:<w$}", w = widths[c]);
                } else {
                    let _ = write!(line, "  {cell:>w$}", w = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// The summary as a sequence of running text and tables, which the terminal prints as text
/// ([`Document::to_text`]) and `report.html` shows as HTML.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

/// A piece of a [`Document`].
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// Lines of text, with their line breaks (blank lines separate paragraphs).
    Text(String),
    /// A table.
    Table(Table),
}

impl Write for Document {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        match self.blocks.last_mut() {
            Some(Block::Text(text)) => text.push_str(s),
            _ => self.blocks.push(Block::Text(s.to_string())),
        }
        Ok(())
    }
}

impl Document {
    pub(crate) fn push(&mut self, c: char) {
        let _ = self.write_char(c);
    }

    /// Adds a table.
    pub fn table(&mut self, table: Table) {
        self.blocks.push(Block::Table(table));
    }

    /// The document as the terminal shows it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Text(text) => out.push_str(text),
                Block::Table(table) => table.render(&mut out),
            }
        }
        out
    }
}

/// The whole terminal summary of a report.
pub fn render(report: &Report) -> String {
    document(report).to_text()
}

/// The summary of a report as text and tables.
pub fn document(report: &Report) -> Document {
    let mut out = Document::default();
    let _ = writeln!(
        out,
        "{}: {}s simulated ({}s warm-up), seed {}, {} replication{}",
        report.scenario,
        report.duration_s,
        report.warmup_s,
        report.seed,
        report.replications,
        if report.replications == 1 { "" } else { "s" }
    );
    if let Some(why) = &report.truncated {
        let _ = writeln!(out, "TRUNCATED: {why}");
    }
    out.push('\n');
    match (&report.aggregate, report.runs.first()) {
        (Some(aggregate), _) => {
            let mut clients = Table::new(&["client", "thru/s", "good/s", "mean", "p50", "p90", "p99", "p99.9"]);
            for c in &aggregate.clients {
                let rate = |e: Option<Estimate>| {
                    e.map(|e| format!("{:.1}±{:.1}", e.mean, e.ci95_half_width)).unwrap_or_else(|| "-".into())
                };
                let LatencyEstimates { mean_ms, p50_ms, p90_ms, p99_ms, p999_ms } = c.latency;
                clients.row(vec![
                    c.name.clone(),
                    rate(c.throughput_per_s),
                    rate(c.goodput_per_s),
                    with_ci(mean_ms),
                    with_ci(p50_ms),
                    with_ci(p90_ms),
                    with_ci(p99_ms),
                    with_ci(p999_ms),
                ]);
            }
            out.table(clients);
            out.push('\n');
            let mut services = Table::new(&["service", "util", "queue", "wait mean", "wait p99", "p99"]);
            for s in &aggregate.services {
                services.row(vec![
                    s.name.clone(),
                    s.utilisation
                        .map(|e| format!("{:.1}%±{:.1}", e.mean * 100.0, e.ci95_half_width * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    s.mean_queue_length
                        .map(|e| format!("{:.2}±{:.2}", e.mean, e.ci95_half_width))
                        .unwrap_or_else(|| "-".into()),
                    with_ci(s.queue_wait.mean_ms),
                    with_ci(s.queue_wait.p99_ms),
                    with_ci(s.latency.p99_ms),
                ]);
            }
            out.table(services);
            if !aggregate.caches.is_empty() {
                out.push('\n');
                let mut caches = Table::new(&["cache", "hit ratio", "fetches/s", "max fetches/key"]);
                for c in &aggregate.caches {
                    caches.row(vec![
                        c.name.clone(),
                        c.hit_ratio
                            .map(|e| format!("{:.2}%±{:.2}", e.mean * 100.0, e.ci95_half_width * 100.0))
                            .unwrap_or_else(|| "-".into()),
                        plain(c.fetches_per_s),
                        plain(c.max_fetches_per_key),
                    ]);
                }
                out.table(caches);
            }
            if !aggregate.groups.is_empty() {
                out.push('\n');
                let mut groups = Table::new(&["topic", "group", "consumed/s", "backlog mean", "p50", "p99"]);
                for g in &aggregate.groups {
                    groups.row(vec![
                        g.topic.clone(),
                        g.name.clone(),
                        plain(g.consumed_per_s),
                        plain(g.mean_backlog),
                        with_ci(g.latency.p50_ms),
                        with_ci(g.latency.p99_ms),
                    ]);
                }
                out.table(groups);
            }
            if let Some(cost) = &aggregate.cost {
                let money = |e: Option<Estimate>| {
                    e.map(|e| format!("{}±{}", money(e.mean), money(e.ci95_half_width))).unwrap_or_else(|| "-".into())
                };
                let _ = writeln!(
                    out,
                    "\ncost: {} per hour, {} per million successful requests",
                    money(cost.per_hour),
                    money(cost.per_million_successes)
                );
            }
            let _ = writeln!(out, "\n± is the half-width of a 95% confidence interval across replications.");
        }
        (None, Some(run)) => render_run(run, report.duration_s, &mut out),
        (None, None) => {}
    }
    objectives(&report.slos, &mut out);
    out
}

/// The objectives' table: each one's target, what the runs measured (with its 95% interval
/// over two or more replications) and the verdict; nothing when there are none.
pub fn objectives(verdicts: &[SloVerdict], out: &mut Document) {
    if verdicts.is_empty() {
        return;
    }
    out.push('\n');
    let mut table = Table::new(&["objective", "target", "measured", "verdict"]);
    for row in objective_rows(verdicts) {
        table.row(row);
    }
    out.table(table);
    for v in verdicts {
        if let Some(b) = &v.error_budget {
            let _ = writeln!(
                out,
                "{}: error budget {:.1} bad windows of {}, {:.1} spent ({:.0}% of the budget; burn rate {:.2})",
                v.objective,
                b.allowed_bad_windows,
                thousands(u64::from(b.windows)),
                b.bad_windows,
                b.spent * 100.0,
                b.burn_rate
            );
        }
    }
    objectives_note(verdicts.iter().map(|v| v.n).max().unwrap_or(0), out);
}

/// How the objectives' verdicts were reached, under their table.
pub fn objectives_note(replications: u32, out: &mut Document) {
    let how = if replications > 1 {
        "met or missed when the whole 95% interval is on one side of the target"
    } else {
        "one replication has no interval: its value decides; run -r 5 or more for confidence"
    };
    let _ = writeln!(out, "\nobjectives: {how}.");
}

/// One row per verdict: the objective, its target, what was measured, the verdict.
pub fn objective_rows(verdicts: &[SloVerdict]) -> Vec<Vec<String>> {
    verdicts
        .iter()
        .map(|v| {
            let measured = match (v.mean, v.ci95_half_width) {
                (Some(mean), Some(h)) => format!("{}±{}", slo_value(v.unit, mean), slo_value(v.unit, h)),
                (Some(mean), None) => slo_value(v.unit, mean),
                (None, _) if v.verdict == Verdict::Missed => "never".into(),
                (None, _) => "-".into(),
            };
            let side = if v.bound == "below" { "<" } else { ">=" };
            let verdict = match v.verdict {
                Verdict::Met => "met".to_string(),
                Verdict::Missed => "MISSED".to_string(),
                Verdict::NoData => "no data".to_string(),
                Verdict::Inconclusive => match v.replications_to_decide {
                    Some(n) => format!("inconclusive: about {} replications would decide", thousands(u64::from(n))),
                    None if v.mean == Some(v.threshold) => "inconclusive: at the threshold".into(),
                    None => "inconclusive: more replications would tell".into(),
                },
            };
            vec![v.objective.clone(), format!("{side} {}", slo_value(v.unit, v.threshold)), measured, verdict]
        })
        .collect()
}

/// A value of an objective in its unit.
fn slo_value(unit: &str, x: f64) -> String {
    match unit {
        "ms" => format_ms(x),
        "s" => format!("{x:.1}s"),
        "share" => format!("{}%", significant(x * 100.0)),
        "per_s" => format!("{x:.1}/s"),
        _ => format!("{x:.0}"),
    }
}

/// An estimate with one decimal and its 95% half-width, or `-` without one.
fn plain(e: Option<Estimate>) -> String {
    e.map(|e| format!("{:.1}±{:.1}", e.mean, e.ci95_half_width)).unwrap_or_else(|| "-".into())
}

/// A number with about three significant digits, as a percentage reads: 99.9, 0.100, 12.3.
fn significant(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

fn render_run(run: &RunSummary, duration_s: f64, out: &mut Document) {
    client_table(run, out);
    service_table(run, out);
    edge_table(run, out);
    limit_lines(run, out);
    cache_table(run, out);
    topic_table(run, out);
    batch_table(run, out);
    fault_lines(run, duration_s, out);
    cost_line(run, out);
    let _ = writeln!(
        out,
        "\n{} events; Little is |L - lambda W| / L, the steady-state self-check (small is good).",
        thousands(run.events)
    );
}

/// The run's cost, when the scenario has prices: per hour, per million successes, and each
/// part's share.
fn cost_line(run: &RunSummary, out: &mut Document) {
    let Some(cost) = &run.cost else { return };
    let parts: Vec<String> = cost.parts.iter().map(|p| format!("{} {}", p.name, money(p.total))).collect();
    let per_million = cost.per_million_successes.map_or("-".into(), money);
    let _ = writeln!(
        out,
        "\ncost: {} per hour, {per_million} per million successful requests ({} over the measured span: {})",
        money(cost.per_hour),
        money(cost.total),
        parts.join(", ")
    );
}

/// A sum of money: two decimals, more below 0.01 so that small sums do not read as zero.
pub fn money(x: f64) -> String {
    let a = x.abs();
    if a < 1e-9 {
        "0.00".into()
    } else if a < 0.01 {
        // Three significant digits: 0.00107.
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2}")
    }
}

/// The clients' table: requests, rates and latency percentiles.
fn client_table(run: &RunSummary, out: &mut Document) {
    let mut clients = Table::new(&[
        "client",
        "requests",
        "thru/s",
        "good/s",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "failed",
        "in flight",
    ]);
    for c in &run.clients {
        clients.row(vec![
            c.name.clone(),
            thousands(c.arrivals),
            format!("{:.1}", c.throughput_per_s),
            format!("{:.1}", c.goodput_per_s),
            opt_ms(c.latency.p50_ms),
            opt_ms(c.latency.p90_ms),
            opt_ms(c.latency.p99_ms),
            opt_ms(c.latency.p999_ms),
            opt_ms(c.latency.max_ms),
            thousands(c.failed),
            thousands(c.in_flight_at_end),
        ]);
    }
    out.table(clients);
    out.push('\n');
}

/// The services' table, and the instances that took unequal shares.
fn service_table(run: &RunSummary, out: &mut Document) {
    let mut services = Table::new(&[
        "service",
        "inst x workers",
        "arrivals",
        "rejected",
        "util",
        "queue",
        "wait mean",
        "wait p99",
        "p99",
        "Little",
    ]);
    for s in &run.services {
        services.row(vec![
            s.name.clone(),
            format!("{} x {}", s.instances, s.workers),
            thousands(s.arrivals),
            thousands(s.rejected),
            format!("{:.1}%", s.utilisation * 100.0),
            format!("{:.2}", s.mean_queue_length),
            opt_ms(s.queue_wait.mean_ms),
            opt_ms(s.queue_wait.p99_ms),
            opt_ms(s.latency.p99_ms),
            format!("{:.1}%", s.littles_law.relative_error * 100.0),
        ]);
    }
    if run.services.iter().any(|s| s.wasted_work_s > 0.0) {
        // Worker time whose answer nobody read, as a share of all worker time.
        services.rows[0].push("wasted".into());
        for (row, s) in services.rows[1..].iter_mut().zip(&run.services) {
            let capacity = run.measured_s * f64::from(s.instances) * f64::from(s.workers);
            row.push(format!("{:.1}%", if capacity > 0.0 { s.wasted_work_s / capacity * 100.0 } else { 0.0 }));
        }
    }
    out.table(services);
    // Instances that took unequal shares (a balancer herding, a slow or hot instance), when
    // there are few enough to list.
    for s in &run.services {
        let util = &s.instance_utilisation;
        let (low, high) = util.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &u| (lo.min(u), hi.max(u)));
        if (2..=8).contains(&util.len()) && high - low >= 0.1 {
            let utils: Vec<String> = util.iter().map(|u| format!("{:.0}%", u * 100.0)).collect();
            let means: Vec<String> = s.instance_mean_latency_ms.iter().map(|&m| opt_ms(m)).collect();
            let _ = writeln!(
                out,
                "{} per instance: utilisation {}; mean time inside {}",
                s.name,
                utils.join(" "),
                means.join(" ")
            );
        }
    }
}

/// The calls' table, when a policy did anything: retries, timeouts, breakers, pools.
fn edge_table(run: &RunSummary, out: &mut Document) {
    if run.edges.iter().any(|e| {
        e.attempts != e.calls
            || e.no_connection > 0
            || e.timeouts > 0
            || e.deadlines_exceeded > 0
            || e.breaker_rejections > 0
            || e.throttled > 0
    }) {
        out.push('\n');
        let mut edges = Table::new(&[
            "call",
            "calls",
            "attempts/call",
            "retries",
            "denied",
            "timeouts",
            "deadline",
            "rejected",
            "errors",
            "failed",
        ]);
        for e in &run.edges {
            edges.row(vec![
                format!("{} -> {}", e.from, e.to),
                thousands(e.calls),
                format!("{:.3}", e.attempts_per_call),
                thousands(e.retries),
                thousands(e.retries_denied_by_budget),
                thousands(e.timeouts),
                thousands(e.deadlines_exceeded),
                thousands(e.rejections),
                thousands(e.errors),
                thousands(e.failed),
            ]);
        }
        if run.edges.iter().any(|e| e.breaker_opens > 0 || e.breaker_rejections > 0) {
            edges.rows[0].extend(["breaker opens".to_string(), "open s".to_string(), "refused".to_string()]);
            for (row, e) in edges.rows[1..].iter_mut().zip(&run.edges) {
                row.push(thousands(e.breaker_opens));
                row.push(format!("{:.1}", e.breaker_open_s));
                row.push(thousands(e.breaker_rejections));
            }
        }
        if run.edges.iter().any(|e| e.bulkhead_full > 0 || e.rate_limited > 0) {
            edges.rows[0].extend(["pool full".to_string(), "rate limited".to_string()]);
            for (row, e) in edges.rows[1..].iter_mut().zip(&run.edges) {
                row.push(thousands(e.bulkhead_full));
                row.push(thousands(e.rate_limited));
            }
        }
        if run.edges.iter().any(|e| e.throttled > 0) {
            edges.rows[0].push("throttled".to_string());
            for (row, e) in edges.rows[1..].iter_mut().zip(&run.edges) {
                row.push(thousands(e.throttled));
            }
        }
        if run.edges.iter().any(|e| e.no_connection > 0) {
            edges.rows[0].push("no connection".to_string());
            for (row, e) in edges.rows[1..].iter_mut().zip(&run.edges) {
                row.push(thousands(e.no_connection));
            }
        }
        out.table(edges);
    }
}

/// Each connection-limited service's peak, and each admission limit's counts.
fn limit_lines(run: &RunSummary, out: &mut Document) {
    for s in &run.services {
        if let Some(limit) = s.max_connections {
            let refused = match s.connections_refused {
                0 => "every pool got all it asked for".to_string(),
                n => format!("pools asked for {} more they did not get", thousands(n)),
            };
            let _ = writeln!(
                out,
                "\n{}: connections {} of {limit} held at most; {refused}",
                s.name,
                thousands(u64::from(s.connections_peak))
            );
        }
    }
    for s in &run.services {
        if let Some(door) = &s.admission {
            let tenants: Vec<String> = door
                .tenants
                .iter()
                .filter(|t| t.admitted + t.rejected > 0)
                .map(|t| format!("{} {} of {}", t.name, thousands(t.rejected), thousands(t.admitted + t.rejected)))
                .collect();
            let by = if tenants.is_empty() { String::new() } else { format!(" ({})", tenants.join(", ")) };
            let _ = writeln!(
                out,
                "\n{}: admission per {}: {} admitted, {} rejected at the door{by}",
                s.name,
                door.per,
                thousands(door.admitted),
                thousands(door.rejected)
            );
        }
    }
}

/// The topics' table: a row per consumer group, its messages, their publish-to-done times and
/// the end-to-end p99 (from the request that set them off).
fn topic_table(run: &RunSummary, out: &mut Document) {
    if run.topics.is_empty() {
        return;
    }
    out.push('\n');
    let mut table = Table::new(&[
        "topic",
        "group",
        "published",
        "refused",
        "consumed",
        "backlog mean",
        "backlog max",
        "p50",
        "p99",
        "end-to-end p99",
        "redelivered",
        "dead-lettered",
    ]);
    for topic in &run.topics {
        for g in &topic.groups {
            table.row(vec![
                topic.name.clone(),
                format!("{} ({})", g.name, g.delivery),
                thousands(topic.published),
                thousands(topic.refused),
                thousands(g.consumed),
                significant(g.mean_backlog),
                thousands(g.max_backlog),
                opt_ms(g.latency.p50_ms),
                opt_ms(g.latency.p99_ms),
                opt_ms(g.end_to_end.p99_ms),
                thousands(g.redeliveries),
                thousands(g.dead_lettered),
            ]);
        }
        if topic.groups.is_empty() {
            let mut row = vec![topic.name.clone(), "-".into(), thousands(topic.published), thousands(topic.refused)];
            row.extend(std::iter::repeat_n("-".to_string(), 8));
            table.row(row);
        }
    }
    out.table(table);
}

/// The batchers' table: batches, their mean size and how they closed, and what the step adds
/// to a request's latency.
fn batch_table(run: &RunSummary, out: &mut Document) {
    if run.batches.is_empty() {
        return;
    }
    out.push('\n');
    let mut table =
        Table::new(&["batcher", "batches", "mean size", "full", "failed", "wait mean", "p50 in step", "p99 in step"]);
    for b in &run.batches {
        table.row(vec![
            format!("{}/{}", b.service, b.name),
            thousands(b.batches),
            significant(b.mean_size),
            thousands(b.full),
            thousands(b.failed),
            opt_ms(b.wait.mean_ms),
            opt_ms(b.latency.p50_ms),
            opt_ms(b.latency.p99_ms),
        ]);
    }
    out.table(table);
}

/// The caches' table, their resizes and their events.
fn cache_table(run: &RunSummary, out: &mut Document) {
    if !run.caches.is_empty() {
        out.push('\n');
        let mut caches = Table::new(&[
            "cache",
            "lookups",
            "hit ratio",
            "stale",
            "misses",
            "coalesced",
            "fetches/s",
            "max fetches/key",
            "evictions",
        ]);
        for c in &run.caches {
            caches.row(vec![
                c.name.clone(),
                thousands(c.lookups),
                c.hit_ratio().map_or("-".to_string(), |r| format!("{:.2}%", r * 100.0)),
                thousands(c.stale),
                thousands(c.misses),
                thousands(c.coalesced),
                format!("{:.1}", if run.measured_s > 0.0 { c.fetches() as f64 / run.measured_s } else { 0.0 }),
                thousands(u64::from(c.max_fetches_per_key)),
                thousands(c.evictions),
            ]);
        }
        if run.caches.iter().any(|c| !c.resizes.is_empty()) {
            caches.rows[0].push("resizes (keys moved)".into());
            for (row, c) in caches.rows[1..].iter_mut().zip(&run.caches) {
                let resizes: Vec<String> = c
                    .resizes
                    .iter()
                    .map(|r| format!("{} -> {}: {:.1}%", r.from, r.to, r.moved_fraction * 100.0))
                    .collect();
                row.push(if resizes.is_empty() { "-".into() } else { resizes.join(", ") });
            }
        }
        out.table(caches);
        for c in run.caches.iter().filter(|c| !c.events.is_empty()) {
            let events: Vec<String> = c.events.iter().map(|e| format!("{} at {}s", e.kind, e.at_s)).collect();
            let _ = writeln!(out, "\ncache {}: {}", c.name, events.join("; "));
        }
    }
}

/// One line per fault: goodput and p99 before it and at the end, and its recovery.
fn fault_lines(run: &RunSummary, duration_s: f64, out: &mut Document) {
    for f in &run.faults {
        let before = f.goodput_before_per_s.map_or("-".to_string(), |g| format!("{g:.1}/s"));
        // A fault that outlasts the run has nothing to recover from within it.
        let (end, recovery) = match f.recovered_after_s {
            _ if f.end_s >= duration_s => ("the end".to_string(), String::new()),
            Some(s) => (format!("{}s", f.end_s), format!("; recovered {s}s after it ended")),
            None => (format!("{}s", f.end_s), "; never recovered".to_string()),
        };
        let lost = if f.lost > 0 { format!("; {} visits lost", thousands(f.lost)) } else { String::new() };
        let throttled = match &f.throttling {
            Some(t) if t.periods > 0 => format!(
                "; throttled in {} of {} periods ({:.1}%), {:.1}s in all",
                thousands(t.throttled_periods),
                thousands(t.periods),
                100.0 * t.throttled_periods as f64 / t.periods as f64,
                t.throttled_s
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\nfault: {} {} from {}s to {end}: goodput {before} before, {:.1}/s at the end; p99 {} before, {} at the end{recovery}{lost}{throttled}",
            f.service,
            f.kind,
            f.start_s,
            f.goodput_at_end_per_s,
            opt_ms(f.p99_before_ms),
            opt_ms(f.p99_at_end_ms)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_latencies_in_fitting_units() {
        assert_eq!(format_ms(0.85), "850us");
        assert_eq!(format_ms(12.34), "12.3ms");
        assert_eq!(format_ms(1234.0), "1.23s");
        assert_eq!(format_ms(0.0), "0.00ns");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
