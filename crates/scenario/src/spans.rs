//! Where an item of a scenario stands in its text, by the path its diagnostics name
//! (`services[0] "api" .handler[1]`) and the field they are about (`timeout`): the outline of
//! the RON text (structures, lists and their items, with where each begins), read once, for
//! the semantic errors that the parser gave no span.

use crate::diag::{Diagnostic, Location};

/// The deepest nesting the outline follows; deeper items point at their nearest outer one.
const MAX_DEPTH: usize = 64;

/// One value of the text: a structure or tuple with its items (named or positional), a list
/// with its elements, or anything else.
#[derive(Debug)]
struct Node {
    /// Where the value begins.
    at: Location,
    /// Its items: `(field name, value)`; a positional item or a list element has no name.
    items: Vec<(Option<String>, Node)>,
}

/// The outline of a scenario's text.
#[derive(Debug)]
pub struct Spans {
    root: Node,
}

/// A cursor over the text that knows its line and column.
struct Reader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    at: Location,
}

impl Reader<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.at = Location { line: self.at.line + 1, column: 1 };
        } else {
            self.at.column += 1;
        }
        Some(c)
    }

    /// Skips white space and `//` comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '/' {
                let mut ahead = self.chars.clone();
                ahead.next();
                if ahead.next() != Some('/') {
                    return;
                }
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else {
                return;
            }
        }
    }

    /// A value: its start, and its items when it is a structure, a tuple, a list or a map;
    /// with the word it is when it is a bare word (a field's name, before its `:`).
    fn value(&mut self, depth: usize) -> (Node, Option<String>) {
        self.skip_space();
        let at = self.at;
        let mut node = Node { at, items: Vec::new() };
        let mut word = None;
        match self.peek() {
            Some('"') => self.string(),
            Some(c) if c.is_alphanumeric() || c == '_' || c == '-' || c == '+' || c == '.' => {
                let mut text = String::new();
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.')) {
                    text.push(c);
                    self.bump();
                }
                self.skip_space();
                if self.peek() == Some('(') {
                    node.items = self.items(')', depth);
                } else {
                    word = Some(text);
                }
            }
            Some('(') => node.items = self.items(')', depth),
            Some('[') => node.items = self.items(']', depth),
            Some('{') => node.items = self.items('}', depth),
            _ => {
                self.bump();
            }
        }
        (node, word)
    }

    /// A string literal (a raw string reads as words and a string).
    fn string(&mut self) {
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => return,
                _ => {}
            }
        }
    }

    /// After an opening bracket: items up to `close`, each `name: value` or a value.
    fn items(&mut self, close: char, depth: usize) -> Vec<(Option<String>, Node)> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return items,
                Some(c) if c == close => {
                    self.bump();
                    return items;
                }
                Some(',') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            if depth >= MAX_DEPTH {
                self.bump();
                continue;
            }
            let (value, word) = self.value(depth + 1);
            self.skip_space();
            // `name: value`: the item begins at its name; a map's `"key": value` has none.
            if self.peek() == Some(':') {
                self.bump();
                let (inner, _) = self.value(depth + 1);
                items.push((word.filter(|_| close == ')'), Node { at: value.at, items: inner.items }));
            } else {
                items.push((None, value));
            }
        }
    }
}

impl Spans {
    /// Reads the outline of `source`.
    pub fn new(source: &str) -> Spans {
        let mut reader = Reader { chars: source.chars().peekable(), at: Location { line: 1, column: 1 } };
        Spans { root: reader.value(0).0 }
    }

    /// Where the item at `path` stands, or, when given, its field `field` (searched in the
    /// item and the values inside it, nearest first): `services[0] "api" .handler[1]`. A path
    /// that goes deeper than the text (a list element the outline cannot tell apart) stops at
    /// the nearest item it reached.
    pub fn locate(&self, path: &str, field: Option<&str>) -> Option<Location> {
        let mut node = &self.root;
        'path: for segment in path.split_whitespace().filter(|s| !s.starts_with('"')) {
            let segment = segment.trim_start_matches('.');
            let (name, indices) = segment.split_once('[').unwrap_or((segment, ""));
            if !name.is_empty() {
                match node.items.iter().find(|(n, _)| n.as_deref() == Some(name)) {
                    Some((_, child)) => node = child,
                    None => break,
                }
            }
            // `[1][0]`: elements of elements; a map's `["key"]` stays at the map.
            for index in indices.split('[').map(|i| i.trim_end_matches(']')) {
                match index.parse::<usize>().ok().and_then(|i| node.items.get(i)) {
                    Some((_, child)) => node = child,
                    None => break 'path,
                }
            }
        }
        if std::ptr::eq(node, &self.root) {
            return None;
        }
        Some(field.and_then(|f| find_field(node, f)).unwrap_or(node.at))
    }
}

/// Points every diagnostic that names an item but no place at the item in `source`, at the
/// field its message is about when it names one first (`` `timeout` must be ... ``).
pub fn point_at_items(diagnostics: &mut [Diagnostic], source: &str) {
    let unplaced = |d: &Diagnostic| d.location.is_none() && d.in_file.is_none() && d.path.is_some();
    if source.is_empty() || !diagnostics.iter().any(unplaced) {
        return;
    }
    let spans = Spans::new(source);
    for d in diagnostics.iter_mut().filter(|d| unplaced(d)) {
        let field = d
            .message
            .split('`')
            .nth(1)
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        d.location = d.path.as_deref().and_then(|path| spans.locate(path, field));
    }
}

/// The field `field` in `node` or the values inside it, breadth first.
fn find_field(node: &Node, field: &str) -> Option<Location> {
    let mut level: Vec<&Node> = vec![node];
    while !level.is_empty() {
        for n in &level {
            if let Some((_, child)) = n.items.iter().find(|(name, _)| name.as_deref() == Some(field)) {
                return Some(child.at);
            }
        }
        level = level.iter().flat_map(|n| n.items.iter().map(|(_, c)| c)).collect();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_items_and_their_fields_by_path() {
        let source = "Scenario(\n  name: \"n\",\n  services: [\n    Service(name: \"a\", handler: [Work(Constant(\"1ms\"))]),\n    Service(name: \"b\",\n      handler: [Call(\"a\", (timeout: \"0s\"))]),\n  ],\n  faults: [Slowdown(service: \"a\", factor: -2.0)], // a comment: (\n)";
        let spans = Spans::new(source);
        assert_eq!(spans.locate("services[1] \"b\"", None), Some(Location { line: 5, column: 5 }));
        assert_eq!(
            spans.locate("services[1] \"b\" .handler[0]", Some("timeout")),
            Some(Location { line: 6, column: 28 })
        );
        assert_eq!(spans.locate("faults[0]", Some("factor")), Some(Location { line: 8, column: 35 }));
        assert_eq!(spans.locate("services[2]", None), Some(Location { line: 3, column: 3 }));
        assert_eq!(spans.locate("nowhere[0]", None), None);
        assert_eq!(spans.locate("services[1] \"b\" .handler[0][1]", None), Some(Location { line: 6, column: 27 }));
        assert_eq!(spans.locate("faults[0]", Some("nothing")), Some(Location { line: 8, column: 12 }));
    }
}
