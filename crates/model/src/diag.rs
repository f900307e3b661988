//! Diagnostics for scenario files: what is wrong, where (line and column, or the item's path),
//! and a hint. Rendering shows the offending line with a caret under the error.

use std::fmt::Write;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Legal but almost surely unintended; the scenario still runs.
    Warning,
    /// The scenario cannot run.
    Error,
}

/// A 1-based line and column in the scenario text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// One problem found in a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, lowercase, naming the item.
    pub message: String,
    /// Where in the text, when known.
    pub location: Option<Location>,
    /// The item's path in the scenario (`services[1] "db" .handler[0]`), for semantic errors.
    pub path: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// The file `location` points into when it is not the scenario (a trace), with that line.
    pub in_file: Option<Box<InFile>>,
}

/// A line of a file other than the scenario, which a diagnostic points into.
#[derive(Clone, Debug, PartialEq)]
pub struct InFile {
    /// The file as messages show it.
    pub file: String,
    /// The text of the line the location is on.
    pub line: String,
}

impl Diagnostic {
    /// An error with a message only.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            path: None,
            hint: None,
            in_file: None,
        }
    }

    /// A warning with a message only.
    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message) }
    }

    /// Adds the item's path.
    pub fn at_path(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = Some(path.into());
        self
    }

    /// Adds a location.
    pub fn at(mut self, location: Option<Location>) -> Diagnostic {
        self.location = location;
        self
    }

    /// Says that the location is in another file than the scenario: `file.line` is its line.
    pub fn in_file(mut self, file: InFile) -> Diagnostic {
        self.in_file = Some(Box::new(file));
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic for a terminal: severity and message, `--> file:line:column`, the
    /// line with a caret, and the hint. `file` and `source` are the scenario's, unless the
    /// diagnostic points into another file.
    pub fn render(&self, file: &str, source: &str) -> String {
        let (file, source) = match &self.in_file {
            Some(other) => (other.file.as_str(), other.line.as_str()),
            None => (file, source),
        };
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(out, "{label}: ");
        if let Some(path) = &self.path {
            let _ = write!(out, "{path}: ");
        }
        let _ = writeln!(out, "{}", self.message);
        match self.location {
            Some(Location { line, column }) => {
                let _ = writeln!(out, "  --> {file}:{line}:{column}");
                let text = match &self.in_file {
                    Some(other) => Some(other.line.as_str()),
                    None => source.lines().nth(line.saturating_sub(1)),
                };
                if let Some(text) = text {
                    let number = line.to_string();
                    let pad = " ".repeat(number.len());
                    let caret_pad: String = text
                        .chars()
                        .take(column.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{number} | {text}");
                    let _ = writeln!(out, "{pad} | {caret_pad}^");
                }
            }
            None => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out
    }
}

/// The candidate closest to `word` if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" when one candidate is close, else the list of valid names.
pub fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if candidates.is_empty() => format!("there are no {what}"),
        None => format!("valid {what}: {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// Finds where `needle` stands in `source`, outside `//` comments, if it stands there exactly
/// once: how semantic errors, which have no span, still point at the text.
pub fn locate_unique(source: &str, needle: &str) -> Option<Location> {
    let mut found = None;
    for (index, line) in source.lines().enumerate() {
        let code = match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        };
        for (byte, _) in code.match_indices(needle) {
            if found.is_some() {
                return None;
            }
            found = Some(Location { line: index + 1, column: code[..byte].chars().count() + 1 });
        }
    }
    found
}

/// Where the item named `name` is declared: the text `name: "NAME"`, if unique.
pub fn locate_name(source: &str, name: &str) -> Option<Location> {
    let quoted = format!("\"{name}\"");
    let mut found = None;
    for (index, line) in source.lines().enumerate() {
        let code = match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        };
        for (byte, _) in code.match_indices(&quoted) {
            let before = code[..byte].trim_end();
            if before.ends_with(':') && before[..before.len() - 1].trim_end().ends_with("name") {
                if found.is_some() {
                    return None;
                }
                found = Some(Location { line: index + 1, column: code[..byte].chars().count() + 1 });
            }
        }
    }
    found
}

/// Where the `index`-th `Variant(` of the file stands (outside comments), and, when `key` is
/// given, where the string `"key"` first stands inside that variant: how a variant's errors
/// point at the entry that caused them. Falls back to the variant when the key is not found.
pub fn locate_variant(source: &str, index: usize, key: Option<&str>) -> Option<Location> {
    // (line, column) of every `Variant(` that is not the end of a longer word.
    let mut starts = Vec::new();
    let mut keys = Vec::new();
    let quoted = key.map(|k| format!("\"{k}\""));
    for (line_index, line) in source.lines().enumerate() {
        let code = match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        };
        for (byte, _) in code.match_indices("Variant(") {
            let before = code[..byte].chars().next_back();
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                starts.push(Location { line: line_index + 1, column: code[..byte].chars().count() + 1 });
            }
        }
        if let Some(quoted) = &quoted {
            for (byte, _) in code.match_indices(quoted.as_str()) {
                keys.push(Location { line: line_index + 1, column: code[..byte].chars().count() + 1 });
            }
        }
    }
    let start = *starts.get(index)?;
    let end = starts.get(index + 1).copied();
    let order = |l: &Location| (l.line, l.column);
    let inside = keys.into_iter().find(|k| order(k) > order(&start) && end.is_none_or(|e| order(k) < order(&e)));
    Some(inside.unwrap_or(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_and_lists_far_ones() {
        assert_eq!(suggest("timout", &["timeout", "retry"], "fields"), "did you mean `timeout`?");
        assert_eq!(suggest("zzz", &["timeout", "retry"], "fields"), "valid fields: `timeout`, `retry`");
    }

    #[test]
    fn renders_a_caret_under_the_column() {
        let source = "Scenario(\n    nmae: \"x\",\n)";
        let d = Diagnostic::error("unknown field `nmae`")
            .at(Some(Location { line: 2, column: 5 }))
            .with_hint("did you mean `name`?");
        let expected = "error: unknown field `nmae`\n  --> a.ron:2:5\n  |\n2 |     nmae: \"x\",\n  |     ^\n  = hint: did you mean `name`?\n";
        assert_eq!(d.render("a.ron", source), expected);
    }

    #[test]
    fn locates_a_variant_and_its_keys() {
        let source = "// Variant(\nvariants: [\n  Variant(name: \"a\", set: {\"x\": 1}),\n  Variant(name: \"b\",\n    set: {\"x\": 2}),\n]";
        assert_eq!(locate_variant(source, 0, None), Some(Location { line: 3, column: 3 }));
        assert_eq!(locate_variant(source, 1, Some("x")), Some(Location { line: 5, column: 11 }));
        assert_eq!(locate_variant(source, 0, Some("y")), Some(Location { line: 3, column: 3 }));
        assert_eq!(locate_variant(source, 2, None), None);
    }

    #[test]
    fn locates_names_outside_comments() {
        let source = "// name: \"db\"\nServices(name: \"db\", x: \"db\")";
        assert_eq!(locate_name(source, "db"), Some(Location { line: 2, column: 16 }));
        assert_eq!(locate_unique(source, "\"db\""), None);
        assert_eq!(locate_unique(source, "x:"), Some(Location { line: 2, column: 22 }));
    }
}
