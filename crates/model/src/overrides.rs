//! `--set path=value`: overriding one scalar of a scenario from the command line.
//!
//! The parsed scenario is turned into a JSON value tree (enum variants stay as one-key objects,
//! so nothing is lost), the path is followed, the scalar replaced, and the tree read back into
//! the schema, which checks the new value's type. Path segments are field names; list elements
//! are named by their `name` field (`clients.users.rate`) or by index (`services.0.workers`);
//! an enum variant's payload is entered without naming the variant
//! (`services.db.handler.0.mean` reaches `Work(Exponential(mean: ...))`); a `Call` step's parts
//! are `service` and `policy` (`services.api.handler.1.policy.timeout`), a `FanOut`'s `service`,
//! `n` and `options` (`services.root.handler.0.n=100`), a `Parallel`'s `calls` and `options`
//! (`services.root.handler.0.calls.1.policy.timeout`).

use serde_json::Value;

use crate::diag::{Diagnostic, suggest};
use crate::scenario::Scenario;

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

/// Applies overrides in order.
pub fn apply(scenario: Scenario, overrides: &[Override]) -> Result<Scenario, Diagnostic> {
    if overrides.is_empty() {
        return Ok(scenario);
    }
    let mut tree = serde_json::to_value(&scenario).expect("the schema always serialises");
    for o in overrides {
        set(&mut tree, o).map_err(|d| Diagnostic { message: format!("--set {}: {}", o.path, d.message), ..d })?;
        // Read back after each override, so a type error is blamed on the override that made it.
        serde_json::from_value::<Scenario>(tree.clone())
            .map_err(|e| Diagnostic::error(format!("--set {}={}: {e}", o.path, o.value)))?;
    }
    Ok(serde_json::from_value(tree).expect("checked after the last override"))
}

fn set(tree: &mut Value, o: &Override) -> Result<(), Diagnostic> {
    let mut node = tree;
    for segment in o.path.split('.') {
        node = child(node, segment)?;
    }
    *node = scalar(node, &o.value)?;
    Ok(())
}

fn child<'a>(node: &'a mut Value, segment: &str) -> Result<&'a mut Value, Diagnostic> {
    // An enum variant with a payload is a one-key object named in CamelCase: step inside it
    // unless the segment names the variant itself.
    let is_variant = matches!(&*node, Value::Object(map)
        if map.len() == 1
            && !map.contains_key(segment)
            && map.keys().all(|k| k.starts_with(|c: char| c.is_ascii_uppercase())));
    if is_variant && let Value::Object(map) = node {
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
            // A `Call` step is [service, policy], a `FanOut` [service, n, options] and a
            // `Parallel` [calls, options]: name their parts.
            let is_call = items.len() == 2 && items[0].is_string() && items[1].is_object();
            let is_fan_out = items.len() == 3 && items[0].is_string() && items[1].is_u64() && items[2].is_object();
            let is_parallel = items.len() == 2 && items[0].is_array() && items[1].is_object();
            match segment {
                "service" if is_call || is_fan_out => return Ok(&mut items[0]),
                "policy" if is_call => return Ok(&mut items[1]),
                "n" if is_fan_out => return Ok(&mut items[1]),
                "options" if is_fan_out => return Ok(&mut items[2]),
                "calls" if is_parallel => return Ok(&mut items[0]),
                "options" if is_parallel => return Ok(&mut items[1]),
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
        _ => Err(Diagnostic::error(format!("`{segment}` goes past a value that has no fields"))),
    }
}

/// The new value, typed like the one it replaces (a number stays a number, a duration a string).
fn scalar(old: &Value, text: &str) -> Result<Value, Diagnostic> {
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
    match old {
        Value::Number(_) => number().ok_or_else(|| Diagnostic::error(format!("`{text}` is not a number"))),
        Value::Bool(_) => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(Diagnostic::error(format!("`{text}` is not true or false"))),
        },
        Value::String(_) => Ok(Value::String(unquoted.to_string())),
        Value::Null => Ok(number().unwrap_or_else(|| Value::String(unquoted.to_string()))),
        Value::Object(_) | Value::Array(_) => {
            Err(Diagnostic::error("only a single value can be set this way, not a whole structure".to_string())
                .with_hint("name a field inside it, e.g. services.db.queue.capacity"))
        }
    }
}
