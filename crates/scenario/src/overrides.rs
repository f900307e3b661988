//! `--set path=value`: overriding one value of a scenario from the command line (and, through
//! the same code, a variant's `set` entries).
//!
//! The parsed scenario is turned into a JSON value tree (enum variants stay as one-key objects,
//! so nothing is lost), the path is followed, the value replaced, and the tree read back into
//! the schema, which checks the new value's type. Path segments are field names; list elements
//! are named by their `name` field (`clients.users.rate`) or by index (`services.0.workers`);
//! an enum variant's payload is entered without naming the variant
//! (`services.db.handler.0.mean` reaches `Work(Exponential(mean: ...))`); a `Call` step's parts
//! are `service` and `policy` (`services.api.handler.1.policy.timeout`), a `FanOut`'s `service`,
//! `n` and `options` (`services.root.handler.0.n=100`), a `Parallel`'s `calls` and `options`
//! (`services.root.handler.0.calls.1.policy.timeout`), a `Batch`'s `options` and `steps`
//! (`services.writer.handler.0.options.size=100`).
//!
//! A scalar is typed like the value it replaces. A whole structure is written in RON, as in the
//! scenario file: `clients.users.policy.retry.backoff=Exponential(base: "50ms", cap: "2s",
//! jitter: Full)` or `clients.users.policy.retry.budget=(ratio: 0.1)`; [`ron_value`] reads it.

use serde_json::Value;

use crate::diag::{Diagnostic, suggest};
use crate::schema::Scenario;

/// The longest value text accepted, in characters.
const MAX_VALUE_CHARS: usize = 10_000;
/// The deepest nesting of brackets accepted in a structured value.
const MAX_DEPTH: usize = 32;

/// The handler steps written as tuples, `Call("db", policy)`, whose later parts may be left
/// out: what a `Call`, `FanOut`, `Parallel`, `Cached`, `Publish` or `Batch` holds is always an array of
/// parts.
const TUPLE_STEPS: &[&str] = &["Call", "FanOut", "Parallel", "Cached", "Publish", "Batch"];

const STRUCTURE_HINT: &str = r#"write a structure as in the scenario file, e.g. Exponential(base: "50ms", cap: "2s", jitter: Full) or (ratio: 0.1)"#;

/// One `path=value` override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Dot-separated path.
    pub path: String,
    /// The new value as typed.
    pub value: String,
}

impl Override {
    /// Parses `path=value`.
    pub fn parse(text: &str) -> Result<Override, Diagnostic> {
        match text.split_once('=') {
            Some((path, value)) if !path.trim().is_empty() => {
                Ok(Override { path: path.trim().to_string(), value: value.trim().to_string() })
            }
            _ => Err(Diagnostic::error(format!("`--set {text}` is not of the form path=value"))
                .with_hint("for example --set clients.users.rate=1200")),
        }
    }
}

/// Why one override could not be applied.
#[derive(Clone, Debug, PartialEq)]
pub struct OverrideError {
    /// Which override, by index in the list given.
    pub index: u32,
    /// True when the schema refused the value (the message, from the schema, does not quote
    /// it, so it is named as `path=value`); false when the path was wrong or the text could
    /// not be read (the message says so itself).
    pub bad_value: bool,
    /// What went wrong, without naming the override (the caller says where it came from).
    pub diagnostic: Diagnostic,
}

/// The scenario `source` holds, with `overrides` applied: what every loader starts from.
pub fn parse_with(source: &str, overrides: &[Override]) -> Result<Scenario, Diagnostic> {
    apply(crate::parse::parse(source)?, overrides)
}

/// Applies overrides in order, naming a failing one as `--set path` (a bad path) or
/// `--set path=value` (a bad value).
pub fn apply(scenario: Scenario, overrides: &[Override]) -> Result<Scenario, Diagnostic> {
    apply_each(scenario, overrides).map_err(|e| {
        let o = &overrides[e.index as usize];
        let what = if e.bad_value { format!("--set {}={}", o.path, o.value) } else { format!("--set {}", o.path) };
        Diagnostic { message: format!("{what}: {}", e.diagnostic.message), ..e.diagnostic }
    })
}

/// Applies overrides in order; on failure, says which one and why, unprefixed.
pub fn apply_each(scenario: Scenario, overrides: &[Override]) -> Result<Scenario, OverrideError> {
    if overrides.is_empty() {
        return Ok(scenario);
    }
    let mut tree = serde_json::to_value(&scenario).expect("the schema always serialises");
    for (index, o) in overrides.iter().enumerate() {
        set(&mut tree, o).map_err(|(bad_value, diagnostic)| OverrideError {
            index: index as u32,
            bad_value,
            diagnostic,
        })?;
    }
    Ok(serde_json::from_value(tree).expect("checked after the last override"))
}

/// The current value at `path` in the scenario's tree: what an override there replaces (used by
/// sweeps to see whether a field holds whole numbers).
pub fn current(scenario: &Scenario, path: &str) -> Result<Value, Diagnostic> {
    let mut tree = serde_json::to_value(scenario).expect("the schema always serialises");
    let mut node = &mut tree;
    for segment in path.split('.') {
        node = child(node, segment)?;
    }
    Ok(node.clone())
}

/// Follows the path and replaces the value there with the first reading of the text that
/// the schema accepts. The flag of the error is [`OverrideError::bad_value`].
fn set(tree: &mut Value, o: &Override) -> Result<(), (bool, Diagnostic)> {
    let old = node_at(tree, &o.path).map_err(|d| (false, d))?.clone();
    let candidates = candidates(&old, &o.value).map_err(|d| (false, d))?;
    let mut first_error = None;
    for candidate in candidates {
        let mut attempt = tree.clone();
        *node_at(&mut attempt, &o.path).map_err(|d| (false, d))? = candidate;
        // Read back after each override, so a type error is blamed on the override that made it.
        match serde_json::from_value::<Scenario>(attempt.clone()) {
            Ok(_) => {
                *tree = attempt;
                return Ok(());
            }
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    // A text meant as a structure that is not even RON is best told so.
    if o.value.contains(['(', '[', '{'])
        && let Err(why) = ron_value(&o.value)
    {
        return Err((
            false,
            Diagnostic::error(format!("`{}` is not a value in RON: {why}", o.value)).with_hint(STRUCTURE_HINT),
        ));
    }
    Err((true, Diagnostic::error(first_error.unwrap_or_else(|| "the value does not fit here".into()))))
}

fn node_at<'a>(tree: &'a mut Value, path: &str) -> Result<&'a mut Value, Diagnostic> {
    let mut node = tree;
    for segment in path.split('.') {
        node = child(node, segment)?;
    }
    Ok(node)
}

fn child<'a>(node: &'a mut Value, segment: &str) -> Result<&'a mut Value, Diagnostic> {
    // An enum variant with a payload is a one-key object named in CamelCase: step inside it
    // unless the segment names the variant itself.
    let is_variant = matches!(&*node, Value::Object(map)
        if map.len() == 1
            && !map.contains_key(segment)
            && map.keys().all(|k| k.starts_with(|c: char| c.is_ascii_uppercase())));
    if is_variant && let Value::Object(map) = node {
        // A `Publish` step is [topic, options], shaped as a `Call` is: only its name tells.
        let part = match segment {
            "topic" => Some(0),
            "options" => Some(1),
            _ => None,
        };
        let publish = matches!(map.get("Publish"), Some(Value::Array(items)) if items.len() == 2);
        if publish && let Some(part) = part {
            let items = map.get_mut("Publish").and_then(Value::as_array_mut).expect("a Publish of two parts");
            return Ok(&mut items[part]);
        }
        let inner = map.values_mut().next().expect("one key");
        return child(inner, segment);
    }
    match node {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            map.get_mut(segment).ok_or_else(|| {
                let names: Vec<&str> = keys.iter().map(String::as_str).collect();
                Diagnostic::error(format!("no field `{segment}` here")).with_hint(suggest(segment, &names, "fields"))
            })
        }
        Value::Array(items) => {
            // A `Call` step is [service, policy], a `FanOut` [service, n, options], a
            // `Parallel` [calls, options] and a `Batch` [options, steps]: name their parts.
            let is_call = items.len() == 2 && items[0].is_string() && items[1].is_object();
            let is_fan_out = items.len() == 3 && items[0].is_string() && items[1].is_u64() && items[2].is_object();
            let is_parallel = items.len() == 2 && items[0].is_array() && items[1].is_object();
            let is_batch = items.len() == 2 && items[0].is_object() && items[1].is_array();
            match segment {
                "service" if is_call || is_fan_out => return Ok(&mut items[0]),
                "policy" if is_call => return Ok(&mut items[1]),
                "n" if is_fan_out => return Ok(&mut items[1]),
                "options" if is_fan_out => return Ok(&mut items[2]),
                "calls" if is_parallel => return Ok(&mut items[0]),
                "options" if is_parallel => return Ok(&mut items[1]),
                "options" if is_batch => return Ok(&mut items[0]),
                "steps" if is_batch => return Ok(&mut items[1]),
                _ => {}
            }
            if let Ok(index) = segment.parse::<usize>() {
                let len = items.len();
                return items
                    .get_mut(index)
                    .ok_or_else(|| Diagnostic::error(format!("index {index} is out of range (the list has {len})")));
            }
            let names: Vec<String> =
                items.iter().filter_map(|item| item.get("name").and_then(Value::as_str).map(str::to_string)).collect();
            let position = names.iter().position(|n| n == segment);
            match position {
                Some(p) => Ok(&mut items[p]),
                None => {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    Err(Diagnostic::error(format!("nothing named `{segment}` in this list"))
                        .with_hint(suggest(segment, &names, "names")))
                }
            }
        }
        Value::Null => Err(Diagnostic::error(format!("`{segment}` goes past a value that is not set"))
            .with_hint("set the whole structure in RON instead, e.g. clients.users.policy.retry=(attempts: 3)")),
        _ => Err(Diagnostic::error(format!("`{segment}` goes past a value that has no fields"))),
    }
}

/// The readings of `text` to try, in order, where `old` stands: a scalar typed like the value it
/// replaces, and, for structures (or a text that looks like one), the text read as RON.
fn candidates(old: &Value, text: &str) -> Result<Vec<Value>, Diagnostic> {
    if text.chars().count() > MAX_VALUE_CHARS {
        return Err(Diagnostic::error(format!("the value is longer than {MAX_VALUE_CHARS} characters")));
    }
    let unquoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    let number = || -> Option<Value> {
        if let Ok(n) = text.parse::<u64>() {
            return Some(Value::from(n));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Some(Value::from(n));
        }
        text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
    };
    let structured = || -> Result<Vec<Value>, Diagnostic> {
        ron_value(text).map_err(|why| {
            Diagnostic::error(format!("`{text}` is not a value in RON: {why}")).with_hint(STRUCTURE_HINT)
        })
    };
    let looks_structured = text.contains(['(', '[', '{']);
    match old {
        // `None` unsets an optional number (a topic's `capacity`).
        Value::Number(_) if text == "None" => Ok(vec![Value::Null]),
        Value::Number(_) => Ok(vec![number().ok_or_else(|| Diagnostic::error(format!("`{text}` is not a number")))?]),
        Value::Bool(_) => match text {
            "true" => Ok(vec![Value::Bool(true)]),
            "false" => Ok(vec![Value::Bool(false)]),
            _ => Err(Diagnostic::error(format!("`{text}` is not true or false"))),
        },
        // A string is a duration, a name or a unit variant (`jitter=Full`); a unit variant may
        // also give way to one with fields (`backoff=Constant("100ms")` where it was `None`).
        Value::String(_) if looks_structured => {
            // A string may hold brackets too: if it is not RON, it is only a string.
            let mut all = structured().unwrap_or_default();
            all.push(Value::String(unquoted.to_string()));
            Ok(all)
        }
        // `None` unsets an optional string (a client's `trace`), or is the unit variant.
        Value::String(_) if text == "None" => Ok(vec![Value::Null, Value::String(unquoted.to_string())]),
        Value::String(_) => Ok(vec![Value::String(unquoted.to_string())]),
        // Not set: a scalar, a structure, or `None` to leave it unset.
        Value::Null if looks_structured => structured(),
        Value::Null => {
            let mut all = vec![number().unwrap_or_else(|| Value::String(unquoted.to_string()))];
            if text == "None" {
                all.insert(0, Value::Null);
            }
            Ok(all)
        }
        Value::Object(_) | Value::Array(_) => structured(),
    }
}

/// Reads a value written in RON into the JSON shape the schema serialises to, in the orders
/// worth trying: an enum variant `Name(...)` becomes `{"Name": ...}` (and, at the top, also
/// the bare fields, in case `Name` is a struct's name); `Some(x)` is `x`; a bare `None` is the
/// unit variant `"None"` or, at the top, also an unset value (`null`).
pub fn ron_value(text: &str) -> Result<Vec<Value>, String> {
    let mut parser = RonParser { chars: text.chars().collect(), pos: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.pos < parser.chars.len() {
        return Err(format!("unexpected `{}` after the value", parser.chars[parser.pos]));
    }
    let mut all = vec![value.clone()];
    match &value {
        Value::Object(map) if map.len() == 1 => {
            if let Some(Value::Object(fields)) = map.values().next() {
                all.push(Value::Object(fields.clone()));
            }
        }
        Value::String(s) if s == "None" => all.push(Value::Null),
        _ => {}
    }
    Ok(all)
}

/// A small recursive-descent reader of RON values, bounded in depth.
struct RonParser {
    chars: Vec<char>,
    pos: usize,
}

impl RonParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '/' && self.chars.get(self.pos + 1) == Some(&'/') {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        self.skip_space();
        match self.peek() {
            Some(c) if c == want => {
                self.pos += 1;
                Ok(())
            }
            Some(c) => Err(format!("expected `{want}`, found `{c}`")),
            None => Err(format!("expected `{want}`, found the end")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_space();
        match self.peek() {
            None => Err("the value is empty".into()),
            Some('"') => self.string().map(Value::String),
            Some('r') if matches!(self.chars.get(self.pos + 1), Some('#' | '"')) => {
                self.raw_string().map(Value::String)
            }
            Some('[') => {
                self.pos += 1;
                let items = self.items(']', depth)?;
                Ok(Value::Array(items.into_iter().map(|(_, v)| v).collect()))
            }
            Some('(') => {
                self.pos += 1;
                self.group(depth)
            }
            Some('{') => {
                self.pos += 1;
                let mut map = serde_json::Map::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(Value::Object(map));
                    }
                    let key = match self.value(depth + 1)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.expect(':')?;
                    let value = self.value(depth + 1)?;
                    map.insert(key, value);
                    self.skip_space();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some('}') => {}
                        _ => return Err("expected `,` or `}` in a map".into()),
                    }
                }
            }
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name = self.identifier();
                self.skip_space();
                match name.as_str() {
                    "true" => return Ok(Value::Bool(true)),
                    "false" => return Ok(Value::Bool(false)),
                    _ => {}
                }
                if self.peek() != Some('(') {
                    return Ok(Value::String(name));
                }
                self.pos += 1;
                if TUPLE_STEPS.contains(&name.as_str()) {
                    return self.tuple_step(name, depth);
                }
                let inner = self.group(depth)?;
                if name == "Some" {
                    return Ok(inner);
                }
                let mut map = serde_json::Map::new();
                map.insert(name, inner);
                Ok(Value::Object(map))
            }
            Some(c) => Err(format!("unexpected `{c}`")),
        }
    }

    /// After a tuple step's `(`: its parts are an array however many there are, as the step
    /// serialises, so that `Call("db")` reads as the file reads it, with the policy defaulted.
    fn tuple_step(&mut self, name: String, depth: usize) -> Result<Value, String> {
        let items = self.items(')', depth)?;
        if items.iter().any(|(field, _)| field.is_some()) {
            return Err(format!("`{name}` takes its parts in order, not named"));
        }
        let mut map = serde_json::Map::new();
        map.insert(name, Value::Array(items.into_iter().map(|(_, v)| v).collect()));
        Ok(Value::Object(map))
    }

    /// After `(`: named fields make an object, one positional value is itself (a newtype),
    /// several make an array; `()` is an empty object (every field defaulted).
    fn group(&mut self, depth: usize) -> Result<Value, String> {
        let items = self.items(')', depth)?;
        let named = items.iter().filter(|(name, _)| name.is_some()).count();
        if named > 0 && named < items.len() {
            return Err("mixes named fields and bare values".into());
        }
        if named > 0 || items.is_empty() {
            let mut map = serde_json::Map::new();
            for (name, value) in items {
                let name = name.unwrap_or_default();
                if map.contains_key(&name) {
                    return Err(format!("field `{name}` is given twice"));
                }
                map.insert(name, value);
            }
            return Ok(Value::Object(map));
        }
        let mut values: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
        Ok(if values.len() == 1 { values.remove(0) } else { Value::Array(values) })
    }

    /// Comma-separated items up to `close`, each optionally `name: value`.
    fn items(&mut self, close: char, depth: usize) -> Result<Vec<(Option<String>, Value)>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            // `name:` makes a named field.
            let start = self.pos;
            let mut name = None;
            if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
                let word = self.identifier();
                self.skip_space();
                if self.peek() == Some(':') && close == ')' {
                    self.pos += 1;
                    name = Some(word);
                } else {
                    self.pos = start;
                }
            }
            let value = self.value(depth + 1)?;
            items.push((name, value));
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                Some(c) => return Err(format!("expected `,` or `{close}`, found `{c}`")),
                None => return Err(format!("expected `{close}`, found the end")),
            }
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("a string is not closed".into()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some(c @ ('"' | '\\' | '/')) => c,
                        _ => return Err("unknown escape in a string".into()),
                    };
                    out.push(escaped);
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `r"..."` or `r#"..."#` (any number of `#`).
    fn raw_string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut hashes = 0;
        while self.peek() == Some('#') {
            hashes += 1;
            self.pos += 1;
        }
        if self.peek() != Some('"') {
            return Err("expected `\"` in a raw string".into());
        }
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.chars.len() {
            if self.chars[self.pos] == '"' && (1..=hashes).all(|k| self.chars.get(self.pos + k) == Some(&'#')) {
                let text: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1 + hashes;
                return Ok(text);
            }
            self.pos += 1;
        }
        Err("a raw string is not closed".into())
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_')) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().filter(|&&c| c != '_').collect();
        if let Ok(n) = text.parse::<u64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::from(n));
        }
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number (a duration needs quotes: \"{text}\")"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_step_set_from_the_command_line_reads_as_in_the_file() {
        let file = |step: &str| {
            format!(
                r#"Scenario(name: "n", duration: "1s", clients: [Client(name: "c", target: "api", rate: 1.0)],
                services: [Service(name: "api", handler: [{step}]), Service(name: "db", handler: [Work(Constant("1ms"))]),
                           Service(name: "b", handler: [Work(Constant("1ms"))])],
                caches: [Cache(name: "k", capacity: 10)])"#
            )
        };
        let steps = [
            r#"Call("db")"#,
            r#"Call("db", ())"#,
            r#"Call("db", (timeout: "1s"))"#,
            r#"FanOut("db", 3)"#,
            r#"FanOut("db", 3, (wait: Quorum(2), policy: (timeout: "1s")))"#,
            r#"Parallel([Call("db"), Call("b")])"#,
            r#"Parallel([Call("db"), Call("b", (timeout: "1s"))], (wait: Any))"#,
            r#"Cached("k", [Call("db")])"#,
        ];
        for step in steps {
            let in_file = crate::parse::parse(&file(step)).expect("the file reads");
            let base = crate::parse::parse(&file(r#"Work(Constant("2ms"))"#)).expect("the file reads");
            let set = Override { path: "services.api.handler".into(), value: format!("[{step}]") };
            let from_set = apply(base, &[set]).unwrap_or_else(|d| panic!("{step}: {}", d.message));
            let json = |s: &Scenario| serde_json::to_value(s).expect("serialises");
            assert_eq!(json(&from_set), json(&in_file), "{step}");
        }
    }

    #[test]
    fn reads_ron_into_the_serialised_shape() {
        let read = |text: &str| ron_value(text).unwrap().remove(0);
        assert_eq!(
            read(r#"Exponential(base: "50ms", cap: "2s", jitter: Full)"#),
            json!({"Exponential": {"base": "50ms", "cap": "2s", "jitter": "Full"}})
        );
        assert_eq!(read(r#"Constant("100ms")"#), json!({"Constant": "100ms"}));
        assert_eq!(read("(ratio: 0.1, min_per_s: 10)"), json!({"ratio": 0.1, "min_per_s": 10}));
        assert_eq!(
            read(r#"Work(Mixture([(0.9, Constant("1ms")), (0.1, Constant("9ms"))]))"#),
            json!({"Work": {"Mixture": [[0.9, {"Constant": "1ms"}], [0.1, {"Constant": "9ms"}]]}})
        );
        assert_eq!(read(r##"r#"a"b"#"##), json!("a\"b"));
        assert_eq!(read("Some(3)"), json!(3));
        assert_eq!(read("()"), json!({}));
        assert_eq!(ron_value("None").unwrap(), vec![json!("None"), Value::Null]);
    }

    #[test]
    fn refuses_broken_and_deep_ron() {
        assert!(ron_value("Exponential(base: ").is_err());
        assert!(ron_value("(a: 1, 2)").is_err());
        assert!(ron_value("(1) x").is_err());
        assert!(ron_value(&"[".repeat(10_000)).unwrap_err().contains("deeper"));
        assert!(ron_value("50ms").is_err());
    }
}
