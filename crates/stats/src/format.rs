//! Numbers and names as people read them: latencies with three significant figures and a
//! fitting unit, shared by the labels the model writes and the tables the report prints, and
//! names as CSV cells.

/// Formats a latency in milliseconds with three significant figures and a fitting unit.
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".into();
    }
    if ms >= 1000.0 {
        format!("{}s", sig3(ms / 1000.0))
    } else if ms >= 1.0 {
        format!("{}ms", sig3(ms))
    } else if ms >= 0.001 {
        format!("{}us", sig3(ms * 1000.0))
    } else {
        format!("{}ns", sig3(ms * 1e6))
    }
}

fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. A name that
/// begins as a spreadsheet formula would (`=`, `+`, `-`, `@`) gets a leading `'` and quotes, so
/// that opening the file runs nothing.
pub fn csv_field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("\"'{}\"", text.replace('"', "\"\""))
    } else if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
