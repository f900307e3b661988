//! Reading a scenario's RON text into the [`Scenario`] schema, with errors that point at the
//! line and column and suggest the nearest valid name.

use ron::error::{Error as RonError, SpannedError};
use ron::extensions::Extensions;

use crate::diag::{Diagnostic, Location, suggest};
use crate::schema::Scenario;

/// Parses scenario text. Optional fields may be written bare (`capacity: 100`, not
/// `Some(100)`).
pub fn parse(source: &str) -> Result<Scenario, Diagnostic> {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME)
        .with_recursion_limit(MAX_NESTING)
        .from_str(source)
        .map_err(|e| from_ron(&e))
}

/// The deepest the brackets of a scenario may nest: far more than any design needs, and shallow
/// enough that reading never runs out of stack.
pub const MAX_NESTING: usize = 128;

fn from_ron(error: &SpannedError) -> Diagnostic {
    let location = Some(Location { line: error.span.start.line, column: error.span.start.col });
    let (message, hint) = match &error.code {
        RonError::NoSuchStructField { expected, found, outer } => {
            // The Universal Scalability Law's coefficients had other names in Gunther's early papers.
            let hint = match (outer.as_deref(), found.as_str()) {
                (Some("Contention"), "alpha") => "alpha is now called `sigma` (contention)".to_string(),
                (Some("Contention"), "beta") => "beta is now called `kappa` (coherency)".to_string(),
                _ => suggest(found, expected, "fields"),
            };
            (format!("unknown field `{found}`{}", within(outer)), Some(hint))
        }
        RonError::NoSuchEnumVariant { expected, found, outer } => {
            (format!("unknown variant `{found}`{}", within(outer)), Some(suggest(found, expected, "variants")))
        }
        RonError::MissingStructField { field, outer } => {
            (format!("missing field `{field}`{}", within(outer)), Some(format!("add `{field}: ...`")))
        }
        RonError::DuplicateStructField { field, outer } => {
            (format!("field `{field}` is given twice{}", within(outer)), None)
        }
        RonError::ExpectedDifferentStructName { expected, found } => {
            (format!("expected `{expected}(...)`, found `{found}(...)`"), Some(format!("write `{expected}(` here")))
        }
        RonError::Message(message) => (message.clone(), None),
        RonError::InvalidValueForType { expected, found } => (format!("expected {expected}, found {found}"), None),
        RonError::Eof => {
            ("the file ends too early".to_string(), Some("a bracket or parenthesis is probably not closed".to_string()))
        }
        RonError::ExpectedComma => ("expected a comma".to_string(), Some("separate items with `,`".to_string())),
        RonError::ExceededRecursionLimit => (
            format!("the scenario nests deeper than {MAX_NESTING} levels of brackets here"),
            Some(
                "no design needs this many levels: a mixture of mixtures is one mixture with the weights \
                 multiplied out, and steps nested this deep are better written as services that call each other"
                    .to_string(),
            ),
        ),
        RonError::TrailingCharacters => (
            "unexpected text after the scenario".to_string(),
            Some("the file holds one `Scenario(...)`; check the closing parenthesis".to_string()),
        ),
        other => (lowercase_first(&other.to_string()), None),
    };
    let mut diagnostic = Diagnostic::error(message).at(location);
    diagnostic.hint = hint;
    diagnostic
}

fn within(outer: &Option<String>) -> String {
    outer.as_ref().map(|o| format!(" in `{o}`")).unwrap_or_default()
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_told_in_the_files_terms() {
        let deep = format!(
            "Scenario(name: \"n\", duration: \"3s\", clients: [], services: [Service(name: \"s\", handler: [Work({}Constant(\"1ms\"){})])])",
            "Mixture([(1.0, ".repeat(200),
            ")])".repeat(200)
        );
        let d = parse(&deep).expect_err("too deep");
        assert_eq!(d.message, format!("the scenario nests deeper than {MAX_NESTING} levels of brackets here"));
        assert!(d.location.is_some() && !d.hint.as_deref().unwrap_or("").contains("ron::"));
    }
}
