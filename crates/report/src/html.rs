//! `report.html` and `compare.html`: one self-contained page with the scenario's description,
//! the tables and every chart inline as SVG. No scripts, no external style sheets, fonts or
//! images, so it reads the same offline, from a mail attachment or a CI artefact.

use std::fmt::Write;

use crate::chart::RenderedChart;
use crate::compare::Comparison;
use crate::summary::Report;
use crate::text::{Block, Document, document};

/// The page's style sheet, inline.
const STYLE: &str = "\
body { font-family: sans-serif; margin: 2em auto; max-width: 1000px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.description, .note { white-space: pre-line; }
.description { color: #444; border-left: 3px solid #ccc; padding-left: 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.tables { overflow-x: auto; }
figure { margin: 1.5em 0; }
figcaption { font-weight: bold; margin-bottom: 0.3em; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
";

/// The report page: the title, the scenario's description (its header comment, or its
/// `description`), the summary tables, the charts in the order given, and notes about charts
/// that could not be shown.
pub fn report_html(report: &Report, description: Option<&str>, charts: &[RenderedChart], notes: &[String]) -> String {
    page(&report.scenario, description, &document(report), charts, notes)
}

/// The comparison page: the title, the first scenario's description, the compare tables, the
/// charts in the order given, and notes about charts that could not be shown.
pub fn compare_html(
    comparison: &Comparison,
    description: Option<&str>,
    charts: &[RenderedChart],
    notes: &[String],
) -> String {
    let title = format!("{}: compare", comparison.scenario);
    page(&title, description, &crate::compare::document(comparison), charts, notes)
}

/// A page: the title, a description, a document's text and tables, then the charts.
fn page(
    title: &str,
    description: Option<&str>,
    tables: &Document,
    charts: &[RenderedChart],
    notes: &[String],
) -> String {
    let mut out = String::new();
    let title = escape(title);
    let _ = writeln!(out, "<!DOCTYPE html>");
    let _ = writeln!(out, "<html lang=\"en\">");
    let _ = writeln!(out, "<head>");
    let _ = writeln!(out, "<meta charset=\"utf-8\">");
    let _ = writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(out, "<title>tailsim: {title}</title>");
    let _ = writeln!(out, "<style>\n{STYLE}</style>");
    let _ = writeln!(out, "</head>");
    let _ = writeln!(out, "<body>");
    let _ = writeln!(out, "<h1>{title}</h1>");
    if let Some(description) = description.map(str::trim).filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", escape(description));
    }
    let _ = writeln!(out, "<h2>Summary</h2>");
    let _ = writeln!(out, "<div class=\"tables\">");
    for block in &tables.blocks {
        match block {
            Block::Text(text) => {
                for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(paragraph));
                }
            }
            Block::Table(table) => {
                let _ = writeln!(out, "<table>");
                for (i, row) in table.rows.iter().enumerate() {
                    let cell = if i == 0 { "th" } else { "td" };
                    out.push_str("<tr>");
                    for value in row {
                        let _ = write!(out, "<{cell}>{}</{cell}>", escape(value));
                    }
                    out.push_str("</tr>\n");
                }
                let _ = writeln!(out, "</table>");
            }
        }
    }
    let _ = writeln!(out, "</div>");
    if !charts.is_empty() || !notes.is_empty() {
        let _ = writeln!(out, "<h2>Charts</h2>");
    }
    for note in notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    for chart in charts {
        let _ = writeln!(out, "<figure id=\"{}\">", escape(&chart.file_stem));
        let _ = writeln!(out, "<figcaption>{}</figcaption>", escape(&chart.title));
        out.push_str(&inline_svg(&chart.svg));
        let _ = writeln!(out, "\n</figure>");
    }
    let _ = writeln!(out, "</body>");
    let _ = writeln!(out, "</html>");
    out
}

/// An SVG document made fit for inlining: any XML declaration dropped, and a `viewBox` from
/// its width and height so that it scales with the page.
fn inline_svg(svg: &str) -> String {
    let svg = match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    };
    let head_end = svg.find('>').unwrap_or(0);
    let head = &svg[..head_end];
    if head.contains("viewBox") {
        return svg.to_string();
    }
    let attribute = |name: &str| {
        let key = format!(" {name}=\"");
        let start = head.find(&key)? + key.len();
        let len = head[start..].find('"')?;
        head[start..start + len].parse::<u32>().ok()
    };
    match (attribute("width"), attribute("height")) {
        (Some(width), Some(height)) if svg.starts_with("<svg") => {
            format!("<svg viewBox=\"0 0 {width} {height}\"{}", &svg[4..])
        }
        _ => svg.to_string(),
    }
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn inline_svg_gets_a_view_box_and_loses_its_declaration() {
        let svg =
            "<?xml version=\"1.0\"?>\n<svg width=\"960\" height=\"540\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>";
        assert_eq!(
            inline_svg(svg),
            "<svg viewBox=\"0 0 960 540\" width=\"960\" height=\"540\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>"
        );
        let has = "<svg viewBox=\"0 0 1 1\" width=\"1\"></svg>";
        assert_eq!(inline_svg(has), has);
    }
}
