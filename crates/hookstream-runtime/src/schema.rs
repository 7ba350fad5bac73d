//! Checking JSON values against the JSON Schema documents the generator
//! exported from the spec.

use crate::rejection::{Location, Violation, sort_violations};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

/// A compiled JSON Schema.
#[derive(Debug)]
pub struct Schema {
    validator: jsonschema::Validator,
}

impl Schema {
    /// Compiles a schema exported by the generator.
    ///
    /// # Panics
    ///
    /// Panics when the text is not a valid schema. The generator compiles
    /// every schema it writes, so generated code never passes one.
    pub fn new(json: &str) -> Self {
        let document: Value = serde_json::from_str(json).expect("the generator writes valid JSON");
        let validator =
            jsonschema::validator_for(&document).expect("the generator writes valid schemas");
        Self { validator }
    }

    /// Returns every violation of `instance`, with paths prefixed by
    /// `prefix` (a parameter name, or empty for a body).
    pub fn violations(&self, instance: &Value, location: Location, prefix: &str) -> Vec<Violation> {
        let mut found = Vec::new();
        for error in self.validator.iter_errors(instance) {
            let path = join_path(prefix, error.instance_path().segments());
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        found.push(Violation::new(
                            location,
                            property_path(&path, name),
                            "unknown_property",
                            "is not a known property",
                        ));
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    found.push(Violation::new(
                        location,
                        property_path(&path, name),
                        "required",
                        "is required",
                    ));
                }
                kind => {
                    let value = error.instance();
                    let (code, message) = describe(kind, value);
                    found.push(Violation::new(location, path, code, message));
                }
            }
        }
        // A value of the wrong type also fails keywords such as `enum`;
        // only the type violation is worth reporting for that path.
        let wrong_type: Vec<String> = found
            .iter()
            .filter(|violation| violation.code == "type")
            .map(|violation| violation.path.clone())
            .collect();
        found.retain(|violation| violation.code == "type" || !wrong_type.contains(&violation.path));
        sort_violations(&mut found);
        found
    }
}

/// Returns the code and message of one kind of error.
fn describe(kind: &ValidationErrorKind, value: &Value) -> (&'static str, String) {
    match kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(single) => single.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .filter(|t| t != "null")
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            if value.is_null() {
                (
                    "type",
                    format!("must be {} {expected}, not null", article(&expected)),
                )
            } else {
                ("type", format!("must be {} {expected}", article(&expected)))
            }
        }
        ValidationErrorKind::MaxLength { limit } => {
            ("max_length", format!("must be at most {limit} characters"))
        }
        ValidationErrorKind::MinLength { limit: 1 } => ("min_length", "must not be empty".into()),
        ValidationErrorKind::MinLength { limit } => {
            ("min_length", format!("must be at least {limit} characters"))
        }
        ValidationErrorKind::Pattern { pattern } => {
            ("pattern", format!("must match the pattern `{pattern}`"))
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<String> = options
                .as_array()
                .map(|values| values.iter().filter(|v| !v.is_null()).map(plain).collect())
                .unwrap_or_default();
            ("enum", format!("must be one of: {}", choices.join(", ")))
        }
        ValidationErrorKind::Constant { expected_value } => {
            ("const", format!("must be {}", plain(expected_value)))
        }
        ValidationErrorKind::MinProperties { limit: 1 } => (
            "min_properties",
            "must contain at least one property".into(),
        ),
        ValidationErrorKind::MinProperties { limit } => (
            "min_properties",
            format!("must contain at least {limit} properties"),
        ),
        ValidationErrorKind::MaxProperties { limit } => (
            "max_properties",
            format!("must contain at most {limit} properties"),
        ),
        ValidationErrorKind::MinItems { limit: 1 } => ("min_items", "must not be empty".into()),
        ValidationErrorKind::MinItems { limit } => {
            ("min_items", format!("must have at least {limit} items"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            ("max_items", format!("must have at most {limit} items"))
        }
        ValidationErrorKind::Minimum { limit } => ("minimum", format!("must be at least {limit}")),
        ValidationErrorKind::Maximum { limit } => ("maximum", format!("must be at most {limit}")),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            ("minimum", format!("must be greater than {limit}"))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            ("maximum", format!("must be less than {limit}"))
        }
        ValidationErrorKind::UniqueItems => {
            ("unique_items", "must not contain duplicate items".into())
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            ("one_of", "does not match any allowed form".into())
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            ("one_of", "matches more than one allowed form".into())
        }
        ValidationErrorKind::Format { format } => ("format", format!("must be a valid {format}")),
        _ => ("invalid", "is not valid".into()),
    }
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Joins a prefix and a JSON pointer's segments into `a.b[0].c`.
fn join_path<'a>(prefix: &str, segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut path = prefix.to_string();
    for segment in segments {
        match segment {
            LocationSegment::Index(index) => path.push_str(&format!("[{index}]")),
            LocationSegment::Property(name) => path = property_path(&path, &name),
        }
    }
    path
}

/// Appends a property name to a path as `.name`. An empty name, or one with
/// `.`, `[`, `]`, `"` or a control character, is appended as `["name"]`
/// with JSON escapes instead, so that no two locations share a path.
pub fn property_path(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']' | '"') || c.is_control());
    if !plain {
        let quoted = serde_json::to_string(name).expect("a string always serializes");
        format!("{path}[{quoted}]")
    } else if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(
            &json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "maxLength": 3},
                    "rules": {"type": "array", "items": {
                        "type": "object",
                        "required": ["op"],
                        "properties": {"op": {"type": "string", "enum": ["eq", "gt"]}}
                    }}
                }
            })
            .to_string(),
        )
    }

    #[test]
    fn every_violation_is_listed_by_path() {
        let instance =
            json!({"name": "toolong", "rules": [{"op": "eq"}, {"op": "no"}, {}], "extra": 1});
        let found = schema().violations(&instance, Location::Body, "");
        let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["extra", "name", "rules[1].op", "rules[2].op"]);
        assert_eq!(found[0].code, "unknown_property");
        assert_eq!(found[1].message, "must be at most 3 characters");
        assert_eq!(found[2].message, "must be one of: eq, gt");
        assert_eq!(found[3].code, "required");
    }

    #[test]
    fn unusual_names_are_quoted_in_paths() {
        let instance = json!({"name.x": 1, "rules[0]": 1, "line\nbreak": 1, "": 2});
        let found = schema().violations(&instance, Location::Body, "");
        let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                r#"[""]"#,
                r#"["line\nbreak"]"#,
                r#"["name.x"]"#,
                r#"["rules[0]"]"#
            ]
        );
    }

    #[test]
    fn null_for_string_names_null() {
        let found = schema().violations(&json!({"name": null}), Location::Body, "");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message, "must be a string, not null");
    }

    #[test]
    fn wrong_type_hides_enum_violation() {
        let instance = json!({"rules": [{"op": 3}]});
        let found = schema().violations(&instance, Location::Body, "");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "type");
    }

    #[test]
    fn valid_instance_has_no_violations() {
        let found = schema().violations(&json!({"name": "ok", "rules": []}), Location::Body, "");
        assert!(found.is_empty(), "{found:?}");
    }
}
