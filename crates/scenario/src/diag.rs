//! Diagnostics for scenario files: what is wrong, where (line and column, or the item's path),
//! and a hint. Rendering shows the offending line with a caret under the error.

use std::cell::OnceCell;
use std::collections::BTreeMap;
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
                    let (shown, caret) = excerpt(text, column);
                    let number = line.to_string();
                    let pad = " ".repeat(number.len());
                    let caret_pad: String =
                        shown.chars().take(caret - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{number} | {shown}");
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
        printable(&out)
    }
}

/// The most characters of a line a rendered diagnostic quotes.
pub const MAX_QUOTED: usize = 100;

/// The part of `text` a diagnostic quotes, at most [`MAX_QUOTED`] characters around `column`
/// with `...` where it is cut, and the column of the caret in it (from 1).
fn excerpt(text: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let column = column.clamp(1, chars.len() + 1);
    if chars.len() <= MAX_QUOTED {
        return (text.to_string(), column);
    }
    let start = column.saturating_sub(MAX_QUOTED / 2).min(chars.len() - MAX_QUOTED);
    let end = start + MAX_QUOTED;
    let mut shown = String::new();
    if start > 0 {
        shown.push_str("...");
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    (shown, column - start + if start > 0 { 3 } else { 0 })
}

/// `text` with every control character but line breaks and tabs shown as `\u{fffd}`: what a
/// file holds must not retitle or recolour the terminal it is reported on.
pub fn printable(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c }).collect()
}

/// `text` cut to at most `max` characters (with `...` when cut): how a message quotes a field
/// whose length the file decides.
pub fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push_str("...");
    cut
}

/// The candidate closest to `word` if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Lowercased once for the word, and only where there is upper case for a candidate: with
    // thousands of names and of errors this is most of checking's time.
    let word = word.to_lowercase();
    let score = |c: &str| {
        if c.chars().any(char::is_uppercase) {
            strsim::jaro_winkler(&word, &c.to_lowercase())
        } else {
            strsim::jaro_winkler(&word, c)
        }
    };
    candidates
        .into_iter()
        .map(|c| (score(c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The most valid names a hint lists.
const MAX_LISTED: usize = 12;

/// "did you mean `x`?" when one candidate is close, else the list of valid names (the first
/// twelve, and how many more).
pub fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => listed(candidates, what),
    }
}

/// The valid names (the first twelve, and how many more), without looking for a close one.
pub fn listed(candidates: &[&str], what: &str) -> String {
    if candidates.is_empty() {
        return format!("there are no {what}");
    }
    let shown: Vec<String> = candidates.iter().take(MAX_LISTED).map(|c| format!("`{c}`")).collect();
    let more = candidates.len().saturating_sub(MAX_LISTED);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("valid {what}: {}{more}", shown.join(", "))
}

/// Finds where `needle` stands in `source`, outside `//` comments, if it stands there exactly
/// once: how semantic errors, which have no span, still point at the text. It reads the whole
/// text: for what is looked up per item, [`Index`] reads it once.
pub fn locate_unique(source: &str, needle: &str) -> Option<Location> {
    let mut found = None;
    for (index, line) in source.lines().enumerate() {
        for (byte, _) in code_of(line).match_indices(needle) {
            if found.is_some() {
                return None;
            }
            found = Some(Location { line: index + 1, column: line[..byte].chars().count() + 1 });
        }
    }
    found
}

/// A line without its `//` comment.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(comment) => &line[..comment],
        None => line,
    }
}

/// Where things stand in a scenario's text, read once (outside `//` comments) and only when
/// first asked: every string literal, the `name: "NAME"` declarations, and every `Variant(`.
/// Semantic errors have no span; this is how they point at the text without reading it again
/// for every item, and a scenario without errors or warnings never reads it at all.
#[derive(Debug)]
pub struct Index<'a> {
    source: &'a str,
    places: OnceCell<Places>,
}

/// What an [`Index`] read.
#[derive(Debug, Default)]
struct Places {
    /// Where each string literal's text stands, at its opening quote, every time it does.
    quoted: BTreeMap<String, Vec<Location>>,
    /// Where each name is declared (`name: "NAME"`), every time it is.
    names: BTreeMap<String, Vec<Location>>,
    /// Where each `Word("text"` stands, at the word, by word and text.
    calls: BTreeMap<(String, String), Vec<Location>>,
    /// Where each `Variant(` that is not the end of a longer word stands.
    variants: Vec<Location>,
}

impl Places {
    /// Reads `source` once.
    fn read(source: &str) -> Places {
        let mut index = Places::default();
        for (number, line) in source.lines().enumerate() {
            let code = code_of(line);
            let mut at = Columns { code, line: number + 1, byte: 0, column: 1 };
            for (byte, _) in code.match_indices("Variant(") {
                if code[..byte].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    index.variants.push(at.of(byte));
                }
            }
            let mut at = Columns { code, line: number + 1, byte: 0, column: 1 };
            for (byte, written) in string_literals(code) {
                // Items are looked up by their value: `"a\u{1b}"` is found as the text it means.
                let decoded = unescaped(written);
                let text = decoded.as_deref().unwrap_or(written);
                // `Call("db"`: the step's name directly before its first argument.
                if let Some(open) = code[..byte].strip_suffix('(') {
                    let start = open.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_').len();
                    if start < open.len() {
                        let key = (open[start..].to_string(), text.to_string());
                        index.calls.entry(key).or_default().push(at.of(start));
                    }
                }
                let before = code[..byte].trim_end();
                if before.ends_with(':') && before[..before.len() - 1].trim_end().ends_with("name") {
                    index.names.entry(text.to_string()).or_default().push(at.of(byte));
                }
                index.quoted.entry(text.to_string()).or_default().push(at.of(byte));
            }
        }
        index
    }
}

impl<'a> Index<'a> {
    /// An index of `source`, read when first asked.
    pub fn new(source: &'a str) -> Index<'a> {
        Index { source, places: OnceCell::new() }
    }

    /// What the index read, reading it now if it has not yet.
    fn places(&self) -> &Places {
        self.places.get_or_init(|| Places::read(self.source))
    }

    /// Where the item named `name` is declared, if it is declared once.
    pub fn name(&self, name: &str) -> Option<Location> {
        unique(self.places().names.get(name))
    }

    /// Where the string `"text"` stands, if it stands there once.
    pub fn quoted(&self, text: &str) -> Option<Location> {
        unique(self.places().quoted.get(text))
    }

    /// Where `word("text"` stands (a step and its first argument: `Call("db"`), if it stands
    /// there once.
    pub fn call(&self, word: &str, text: &str) -> Option<Location> {
        unique(self.places().calls.get(&(word.to_string(), text.to_string())))
    }

    /// Where the `index`-th `Variant(` stands, and, when `key` is given, where the string
    /// `"key"` first stands inside that variant: how a variant's errors point at the entry
    /// that caused them. Falls back to the variant when the key is not found.
    pub fn variant(&self, index: usize, key: Option<&str>) -> Option<Location> {
        let places = self.places();
        let start = *places.variants.get(index)?;
        let end = places.variants.get(index + 1).copied();
        let order = |l: &Location| (l.line, l.column);
        let inside = key
            .and_then(|k| places.quoted.get(k))
            .and_then(|all| all.iter().find(|k| order(k) > order(&start) && end.is_none_or(|e| order(k) < order(&e))));
        Some(inside.copied().unwrap_or(start))
    }
}

/// Character columns of byte offsets into one line, asked for in increasing order: each call
/// counts only the characters since the last, so a file on one long line is read once.
struct Columns<'a> {
    code: &'a str,
    line: usize,
    byte: usize,
    column: usize,
}

impl Columns<'_> {
    /// The location of byte `byte` (not before the last one asked for).
    fn of(&mut self, byte: usize) -> Location {
        self.column += self.code[self.byte..byte].chars().count();
        self.byte = byte;
        Location { line: self.line, column: self.column }
    }
}

/// The one location in `all`, if there is exactly one.
fn unique(all: Option<&Vec<Location>>) -> Option<Location> {
    match all.map(Vec::as_slice) {
        Some([one]) => Some(*one),
        _ => None,
    }
}

/// The text a string literal's inside `written` stands for, when it holds escapes (`\n`,
/// `\"`, `\\`, `\x41`, `\u{1b}`, ...) that all read; `None` when it holds none or one that does
/// not read (then it is known by what is written).
fn unescaped(written: &str) -> Option<String> {
    if !written.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(written.len());
    let mut chars = written.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            c @ ('\\' | '"' | '\'') => c,
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                char::from(u8::from_str_radix(&hex, 16).ok().filter(|b| b.is_ascii())?)
            }
            'u' => {
                let rest = chars.as_str().strip_prefix('{')?;
                let (hex, after) = rest.split_once('}')?;
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                chars = after.chars();
                c
            }
            _ => return None,
        });
    }
    Some(out)
}

/// The string literals of a line of code: the byte of each opening quote and the text inside
/// (escapes kept as written).
fn string_literals(code: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < bytes.len() && bytes[j] != b'"' {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        if j >= bytes.len() {
            break;
        }
        out.push((i, &code[i + 1..j]));
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_and_lists_far_ones() {
        assert_eq!(suggest("timout", &["timeout", "retry"], "fields"), "did you mean `timeout`?");
        assert_eq!(suggest("zzz", &["timeout", "retry"], "fields"), "valid fields: `timeout`, `retry`");
        let many: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(suggest("zzz", &many, "services").ends_with("`s11` and 8 more"));
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
    fn quotes_a_long_line_around_its_column_and_no_control_character() {
        let line = format!("{}bad{}", "x".repeat(500), "y".repeat(500));
        let d = Diagnostic::error("bad \u{1b}]0;title\u{7}").at(Some(Location { line: 1, column: 501 }));
        let text = d.render("a.ron", &line);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text}");
        let quoted = text.lines().find(|l| l.starts_with("1 | ")).expect("the line is quoted");
        assert!(quoted.starts_with("1 | ...") && quoted.ends_with("..."), "{quoted}");
        assert_eq!(quoted.chars().count(), "1 | ".len() + 3 + MAX_QUOTED + 3, "{quoted}");
        let caret = text.lines().find(|l| l.trim_end().ends_with('^')).expect("a caret");
        // The caret stands under the `b` of `bad`, whatever was cut before it.
        assert_eq!(quoted.chars().nth(caret.chars().count() - 1), Some('b'), "{text}");
        assert!(text.len() < 400, "{} bytes", text.len());
    }

    #[test]
    fn locates_a_variant_and_its_keys() {
        let source = "// Variant(\nvariants: [\n  Variant(name: \"a\", set: {\"x\": 1}),\n  Variant(name: \"b\",\n    set: {\"x\": 2}),\n]";
        let index = Index::new(source);
        assert_eq!(index.variant(0, None), Some(Location { line: 3, column: 3 }));
        assert_eq!(index.variant(1, Some("x")), Some(Location { line: 5, column: 11 }));
        assert_eq!(index.variant(0, Some("y")), Some(Location { line: 3, column: 3 }));
        assert_eq!(index.variant(2, None), None);
    }

    #[test]
    fn escapes_are_read_as_what_they_mean() {
        assert_eq!(unescaped("plain"), None);
        assert_eq!(unescaped(r"a\u{1b}]0;x\u{7}").as_deref(), Some("a\u{1b}]0;x\u{7}"));
        assert_eq!(unescaped(r#"q\"\\\n\x41"#).as_deref(), Some("q\"\\\nA"));
        for bad in [r"\u{110000}", r"\u{1b", r"\xff", r"\q", "end\\"] {
            assert_eq!(unescaped(bad), None, "{bad}");
        }
        let index = Index::new("Service(\n    name: \"ev\\u{1b}il\",\n)");
        assert_eq!(index.name("ev\u{1b}il"), Some(Location { line: 2, column: 11 }));
    }

    #[test]
    fn locates_names_outside_comments() {
        let source = "// name: \"db\"\nServices(name: \"db\", x: \"db\")";
        assert_eq!(Index::new(source).name("db"), Some(Location { line: 2, column: 16 }));
        assert_eq!(Index::new(source).quoted("db"), None);
        assert_eq!(locate_unique(source, "\"db\""), None);
        assert_eq!(locate_unique(source, "x:"), Some(Location { line: 2, column: 22 }));
    }
}
