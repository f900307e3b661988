//! A scenario's call graph as plain data: clients and services as nodes, calls as labelled
//! edges. The model crate builds it from a compiled scenario; here it becomes Graphviz DOT text
//! and a layered layout that `tailsim-report`'s call-graph chart draws.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// Clients and services and who calls whom, with each call's policy as a label.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallGraph {
    /// The scenario's name.
    pub name: String,
    /// Clients first, then services, each in scenario order.
    pub nodes: Vec<GraphNode>,
    /// Calls, in the order of the model's edges.
    pub edges: Vec<GraphEdge>,
}

/// A client or a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    /// The name from the scenario.
    pub name: String,
    /// Which it is.
    pub kind: NodeKind,
    /// One short line about it: `1800/s Poisson`, `4 x 8 workers, queue 200`.
    pub detail: String,
}

/// Whether a node sends requests or serves them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A client: requests start here.
    Client,
    /// A service: it serves calls and may make its own.
    Service,
}

/// One place that calls a service: a client's calls or one step of a handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// The caller's index in [`CallGraph::nodes`].
    pub from: usize,
    /// The callee's index in [`CallGraph::nodes`].
    pub to: usize,
    /// What the call does about slow and failed answers: `timeout 200ms, retry x4, breaker`;
    /// empty for a plain call.
    pub label: String,
}

/// Where each node goes in a drawing: rows by call depth, and an order within each row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Node indices per row, from the clients (row 0) down.
    pub rows: Vec<Vec<usize>>,
    /// Each node's row.
    pub row_of: Vec<usize>,
}

impl CallGraph {
    /// The graph as Graphviz DOT text (`dot -Tsvg callgraph.dot`), top to bottom, clients as
    /// ellipses and services as boxes, one line per node and per edge in a fixed order.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "// The call graph of the tailsim scenario {}.", dot_quote(&self.name));
        let _ = writeln!(out, "digraph {} {{", dot_quote(&self.name));
        let _ = writeln!(out, "    rankdir=TB;");
        let _ = writeln!(out, "    node [fontname=\"sans-serif\"];");
        let _ = writeln!(out, "    edge [fontname=\"sans-serif\", fontsize=10];");
        for (i, node) in self.nodes.iter().enumerate() {
            let shape = match node.kind {
                NodeKind::Client => "ellipse",
                NodeKind::Service => "box",
            };
            let label = if node.detail.is_empty() {
                dot_quote(&node.name)
            } else {
                dot_quote(&format!("{}\n{}", node.name, node.detail))
            };
            let _ = writeln!(out, "    n{i} [label={label}, shape={shape}];");
        }
        for edge in &self.edges {
            if edge.label.is_empty() {
                let _ = writeln!(out, "    n{} -> n{};", edge.from, edge.to);
            } else {
                let _ = writeln!(out, "    n{} -> n{} [label={}];", edge.from, edge.to, dot_quote(&edge.label));
            }
        }
        out.push_str("}\n");
        out
    }

    /// Rows by call depth: clients in row 0, each service one row below its deepest caller (so
    /// every edge points down), services nobody calls in row 1. Within a row, nodes are ordered
    /// by the mean position of their callers in the rows above (the barycentre heuristic), ties
    /// in scenario order, which keeps edges from crossing in the common cases.
    pub fn layers(&self) -> Layers {
        let n = self.nodes.len();
        let mut row_of: Vec<usize> =
            self.nodes.iter().map(|node| if node.kind == NodeKind::Client { 0 } else { 1 }).collect();
        // Longest path by relaxation; at most n rounds, so a cycle (which compiled scenarios
        // never have) cannot loop forever: it just stops deepening.
        for _ in 0..n {
            let mut changed = false;
            for edge in &self.edges {
                let (Some(&from_row), Some(&to_row)) = (row_of.get(edge.from), row_of.get(edge.to)) else { continue };
                if edge.from != edge.to && self.nodes[edge.to].kind == NodeKind::Service && to_row < from_row + 1 {
                    row_of[edge.to] = from_row + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let depth = row_of.iter().copied().max().map_or(0, |d| d + 1);
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
        for (node, &row) in row_of.iter().enumerate() {
            rows[row].push(node);
        }
        let mut position = vec![0.0f64; n];
        for (r, row) in rows.iter_mut().enumerate() {
            if r > 0 {
                let key = |node: usize| {
                    let callers: Vec<f64> = self
                        .edges
                        .iter()
                        .filter(|e| e.to == node && e.from < n && row_of[e.from] < r)
                        .map(|e| position[e.from])
                        .collect();
                    if callers.is_empty() { f64::INFINITY } else { callers.iter().sum::<f64>() / callers.len() as f64 }
                };
                let mut keyed: Vec<(f64, usize)> = row.iter().map(|&node| (key(node), node)).collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                *row = keyed.into_iter().map(|(_, node)| node).collect();
            }
            let width = row.len() as f64;
            for (i, &node) in row.iter().enumerate() {
                // Positions as fractions of the row's width, so rows of different lengths compare.
                position[node] = (i as f64 + 0.5) / width;
            }
        }
        Layers { rows, row_of }
    }
}

/// A DOT string literal: quotes and backslashes escaped, line breaks as `\n`.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, kind: NodeKind) -> GraphNode {
        GraphNode { name: name.into(), kind, detail: String::new() }
    }

    fn edge(from: usize, to: usize) -> GraphEdge {
        GraphEdge { from, to, label: String::new() }
    }

    /// users -> api -> db, users -> db, and a service nobody calls.
    fn sample() -> CallGraph {
        CallGraph {
            name: "s".into(),
            nodes: vec![
                node("users", NodeKind::Client),
                node("db", NodeKind::Service),
                node("api", NodeKind::Service),
                node("idle", NodeKind::Service),
            ],
            edges: vec![edge(0, 2), edge(2, 1), edge(0, 1)],
        }
    }

    #[test]
    fn layers_put_every_callee_below_its_deepest_caller() {
        let layers = sample().layers();
        assert_eq!(layers.row_of, vec![0, 2, 1, 1]);
        assert_eq!(layers.rows, vec![vec![0], vec![2, 3], vec![1]]);
    }

    #[test]
    fn layers_order_rows_by_the_callers_positions() {
        // Two clients, each with its own service, listed in the opposite order.
        let graph = CallGraph {
            name: "s".into(),
            nodes: vec![
                node("a", NodeKind::Client),
                node("b", NodeKind::Client),
                node("for-b", NodeKind::Service),
                node("for-a", NodeKind::Service),
            ],
            edges: vec![edge(0, 3), edge(1, 2)],
        };
        assert_eq!(graph.layers().rows, vec![vec![0, 1], vec![3, 2]]);
    }

    #[test]
    fn layers_survive_a_cycle_and_bad_indices() {
        let mut graph = sample();
        graph.edges.push(edge(1, 2));
        graph.edges.push(edge(7, 1));
        let layers = graph.layers();
        assert_eq!(layers.rows.iter().map(Vec::len).sum::<usize>(), 4);
    }

    #[test]
    fn dot_quotes_names_and_labels() {
        let mut graph = sample();
        graph.name = "a \"quoted\" name".into();
        graph.nodes[0].detail = "10/s Poisson".into();
        graph.edges[0].label = "timeout 1s, retry x2".into();
        let dot = graph.to_dot();
        assert!(dot.contains("digraph \"a \\\"quoted\\\" name\" {"), "{dot}");
        assert!(dot.contains("n0 [label=\"users\\n10/s Poisson\", shape=ellipse];"), "{dot}");
        assert!(dot.contains("n1 [label=\"db\", shape=box];"), "{dot}");
        assert!(dot.contains("n0 -> n2 [label=\"timeout 1s, retry x2\"];"), "{dot}");
        assert!(dot.contains("n2 -> n1;"), "{dot}");
        assert!(dot.ends_with("}\n"));
    }
}
