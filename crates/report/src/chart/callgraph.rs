//! The call graph as a picture: clients and services as boxes in rows by call depth
//! ([`CallGraph::layers`]), calls as arrows downwards labelled with their policies.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawResult, TICK_SIZE, TITLE_SIZE, bold, colour, font};
use crate::graph::{CallGraph, NodeKind};

const MARGIN: i32 = 32;
const TITLE_SPACE: i32 = 48;
const FOOTER_SPACE: i32 = 36;
const BOX_HEIGHT: i32 = 54;
const MIN_BOX_WIDTH: i32 = 110;
const COLUMN_GAP: i32 = 56;
const ROW_GAP: i32 = 140;
const MIN_WIDTH: i32 = 640;
const NAME_SIZE: u32 = 16;
const DETAIL_SIZE: u32 = 12;
/// Edge labels wrap at commas beyond this many characters per line.
const LABEL_LINE_CHARS: usize = 24;
const LABEL_LINE_HEIGHT: i32 = 15;

/// A point in pixels.
type Point = (i32, i32);
/// A rectangle in pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

/// An arrow: its points (two for neighbouring rows, more for one routed around the boxes of the
/// rows it passes) and its label's lines.
struct Arrow {
    path: Vec<Point>,
    lines: Vec<String>,
}

/// A label placed on its arrow: its centre and lines.
struct Label {
    center: Point,
    lines: Vec<String>,
}

/// Where everything goes, in pixels.
struct Placement {
    /// Each node's box.
    boxes: Vec<Rect>,
    /// One arrow per pair of nodes that calls.
    arrows: Vec<Arrow>,
    /// The labels of the arrows that have one, placed apart from each other.
    labels: Vec<Label>,
    /// The picture's size.
    size: (i32, i32),
}

/// The width of a text in pixels, as the chart font lays it out.
fn text_width(font: &FontDesc<'_>, text: &str) -> i32 {
    font.box_size(text).map(|(w, _)| w as i32).unwrap_or(text.chars().count() as i32 * 9)
}

/// A label split at ", " into lines of about [`LABEL_LINE_CHARS`].
fn wrap(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in label.split(", ") {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + part.chars().count() <= LABEL_LINE_CHARS => {
                line.push_str(", ");
                line.push_str(part);
            }
            _ => lines.push(part.to_string()),
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn place(graph: &CallGraph) -> Placement {
    let layers = graph.layers();
    let widths: Vec<i32> = graph
        .nodes
        .iter()
        .map(|n| {
            (text_width(&bold(NAME_SIZE), &n.name).max(text_width(&font(DETAIL_SIZE), &n.detail)) + 24)
                .max(MIN_BOX_WIDTH)
        })
        .collect();
    // Calls between the same two nodes share one arrow with all their labels.
    let mut pairs: BTreeMap<(usize, usize), Vec<&str>> = BTreeMap::new();
    for edge in &graph.edges {
        if edge.from < graph.nodes.len() && edge.to < graph.nodes.len() {
            pairs.entry((edge.from, edge.to)).or_default().push(&edge.label);
        }
    }
    let pairs: BTreeMap<(usize, usize), Vec<String>> = pairs
        .into_iter()
        .map(|(pair, labels)| {
            let lines = if labels.len() == 1 {
                wrap(labels[0])
            } else {
                let mut lines = vec![format!("{} calls:", labels.len())];
                for label in labels {
                    lines.extend(if label.is_empty() { vec!["(no policy)".to_string()] } else { wrap(label) });
                }
                lines
            };
            (pair, lines)
        })
        .collect();
    let widest_label = pairs.values().flatten().map(|l| text_width(&font(TICK_SIZE), l)).max().unwrap_or(0);
    let row_width =
        |row: &[usize]| row.iter().map(|&n| widths[n]).sum::<i32>() + COLUMN_GAP * (row.len() as i32 - 1).max(0);
    let content = layers.rows.iter().map(|r| row_width(r)).max().unwrap_or(0).max(widest_label).max(MIN_WIDTH);
    let width = content + 2 * MARGIN;
    let rows = layers.rows.len() as i32;
    let height = MARGIN + TITLE_SPACE + rows * BOX_HEIGHT + (rows - 1).max(0) * ROW_GAP + FOOTER_SPACE + MARGIN;
    let mut boxes: Vec<Rect> = vec![(0, 0, 0, 0); graph.nodes.len()];
    for (r, row) in layers.rows.iter().enumerate() {
        let mut x = (width - row_width(row)) / 2;
        let y = MARGIN + TITLE_SPACE + r as i32 * (BOX_HEIGHT + ROW_GAP);
        for &node in row {
            boxes[node] = (x, y, x + widths[node], y + BOX_HEIGHT);
            x += widths[node] + COLUMN_GAP;
        }
    }
    // Spread each node's outgoing arrows along its bottom and incoming along its top, ordered
    // by the other end's position so that arrows of one node do not cross each other.
    let center = |n: usize| (boxes[n].0 + boxes[n].2) / 2;
    let mut outgoing: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut incoming: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(from, to) in pairs.keys() {
        outgoing.entry(from).or_default().push(to);
        incoming.entry(to).or_default().push(from);
    }
    for list in outgoing.values_mut().chain(incoming.values_mut()) {
        list.sort_by_key(|&n| (center(n), n));
    }
    let attach = |node: usize, others: &[usize], other: usize| {
        let (left, _, right, _) = boxes[node];
        let k = others.iter().position(|&o| o == other).unwrap_or(0) as i32;
        left + (right - left) * (k + 1) / (others.len() as i32 + 1)
    };
    let mut arrows: Vec<Arrow> = Vec::with_capacity(pairs.len());
    for ((from, to), lines) in pairs {
        let start = (attach(from, &outgoing[&from], to), boxes[from].3);
        let end = (attach(to, &incoming[&to], from), boxes[to].1);
        let mut path = vec![start];
        // Through each row between the two, beside the boxes rather than across them.
        let (from_row, to_row) = (layers.row_of[from], layers.row_of[to]);
        for row in from_row + 1..to_row {
            let top = MARGIN + TITLE_SPACE + row as i32 * (BOX_HEIGHT + ROW_GAP);
            let bottom = top + BOX_HEIGHT;
            let t = f64::from(top + BOX_HEIGHT / 2 - start.1) / f64::from((end.1 - start.1).max(1));
            let mut x = start.0 + (f64::from(end.0 - start.0) * t).round() as i32;
            if let Some(&(left, _, right, _)) =
                layers.rows[row].iter().map(|&n| &boxes[n]).find(|b| b.0 - 8 <= x && x <= b.2 + 8)
            {
                x = if x - left < right - x { left - COLUMN_GAP / 2 } else { right + COLUMN_GAP / 2 };
            }
            path.push((x, top - 12));
            path.push((x, bottom + 12));
        }
        path.push(end);
        arrows.push(Arrow { path, lines });
    }
    let labels = place_labels(&arrows);
    Placement { boxes, arrows, labels, size: (width, height) }
}

/// Puts each label on the first leg of its arrow, in the gap below the caller, at the first
/// height where it overlaps no label placed before it (the middle of the gap if none is free).
fn place_labels(arrows: &[Arrow]) -> Vec<Label> {
    let mut placed: Vec<(Rect, Label)> = Vec::new();
    for Arrow { path, lines } in arrows {
        let (Some(&start), Some(&next)) = (path.first(), path.get(1)) else { continue };
        if lines.is_empty() {
            continue;
        }
        let label_width = lines.iter().map(|l| text_width(&font(TICK_SIZE), l)).max().unwrap_or(0) + 8;
        let label_height = LABEL_LINE_HEIGHT * lines.len() as i32 + 4;
        let at = |y: i32| {
            let t = if next.1 > start.1 { f64::from(y - start.1) / f64::from(next.1 - start.1) } else { 0.5 };
            let x = start.0 + (f64::from(next.0 - start.0) * t.clamp(0.0, 1.0)).round() as i32;
            let rect = (x - label_width / 2, y - label_height / 2, x + label_width / 2, y + label_height / 2);
            (rect, (x, y))
        };
        // Heights from the middle of the gap outwards, keeping clear of the boxes.
        let middle = start.1 + ROW_GAP * 9 / 20;
        let reach = (ROW_GAP - label_height) / 2 - 14;
        let mut heights = vec![middle];
        for step in (8..=reach.max(0)).step_by(8) {
            heights.push(middle + step);
            heights.push(middle - step);
        }
        let overlaps = |r: Rect| placed.iter().any(|(p, _)| r.0 < p.2 && p.0 < r.2 && r.1 < p.3 && p.1 < r.3);
        let (rect, center) = heights.iter().map(|&y| at(y)).find(|&(r, _)| !overlaps(r)).unwrap_or_else(|| at(middle));
        placed.push((rect, Label { center, lines: lines.clone() }));
    }
    placed.into_iter().map(|(_, label)| label).collect()
}

/// The picture's size in pixels.
pub(super) fn size(graph: &CallGraph) -> (u32, u32) {
    let (w, h) = place(graph).size;
    (w.max(1) as u32, h.max(1) as u32)
}

/// Draws the graph with a title and a line of explanation.
pub(super) fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, graph: &CallGraph) -> DrawResult {
    let placement = place(graph);
    let (width, height) = placement.size;
    let centred = |f: FontDesc<'static>| TextStyle::from(f).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(title.to_string(), (width / 2, MARGIN + 8), centred(font(TITLE_SIZE))))?;
    let ink = RGBColor(50, 50, 50);
    for Arrow { path, .. } in &placement.arrows {
        root.draw(&PathElement::new(path.clone(), ink.stroke_width(1)))?;
        // The head: a small triangle pointing along the last leg.
        let (Some(&end), Some(&before)) = (path.last(), path.len().checked_sub(2).and_then(|i| path.get(i))) else {
            continue;
        };
        let (dx, dy) = (f64::from(end.0 - before.0), f64::from(end.1 - before.1));
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
        let point = |along: f64, across: f64| {
            (
                (f64::from(end.0) - ux * along - uy * across).round() as i32,
                (f64::from(end.1) - uy * along + ux * across).round() as i32,
            )
        };
        root.draw(&Polygon::new(vec![end, point(11.0, 5.0), point(11.0, -5.0)], ink.filled()))?;
    }
    // Labels after every line, so that no line crosses a label.
    for Label { center: (x, y), lines } in &placement.labels {
        let label_width = lines.iter().map(|l| text_width(&font(TICK_SIZE), l)).max().unwrap_or(0);
        let label_height = LABEL_LINE_HEIGHT * lines.len() as i32;
        let top = y - label_height / 2;
        root.draw(&Rectangle::new(
            [(x - label_width / 2 - 4, top - 2), (x + label_width / 2 + 4, top + label_height + 2)],
            WHITE.mix(0.9).filled(),
        ))?;
        for (i, line) in lines.iter().enumerate() {
            let line_y = top + LABEL_LINE_HEIGHT * i as i32 + LABEL_LINE_HEIGHT / 2;
            root.draw(&Text::new(line.clone(), (*x, line_y), centred(font(TICK_SIZE)).color(&ink)))?;
        }
    }
    for (node, &(left, top, right, bottom)) in graph.nodes.iter().zip(&placement.boxes) {
        let fill = match node.kind {
            NodeKind::Client => colour::CLIENT_FILL,
            NodeKind::Service => colour::SERVICE_FILL,
        };
        root.draw(&Rectangle::new([(left, top), (right, bottom)], fill.filled()))?;
        root.draw(&Rectangle::new([(left, top), (right, bottom)], ink.stroke_width(1)))?;
        let x = (left + right) / 2;
        let name_y = if node.detail.is_empty() { (top + bottom) / 2 } else { top + 18 };
        root.draw(&Text::new(node.name.clone(), (x, name_y), centred(bold(NAME_SIZE)).color(&ink)))?;
        if !node.detail.is_empty() {
            root.draw(&Text::new(node.detail.clone(), (x, top + 38), centred(font(DETAIL_SIZE)).color(&ink)))?;
        }
    }
    root.draw(&Text::new(
        "green: clients; blue: services (instances x workers each); arrows: calls, labelled with their policies"
            .to_string(),
        (width / 2, height - MARGIN - FOOTER_SPACE / 2 + 8),
        centred(font(TICK_SIZE)).color(&RGBColor(90, 90, 90)),
    ))?;
    Ok(())
}
