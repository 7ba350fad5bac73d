//! The connection rules that the reference server enforces on top of the
//! spec's schema: how `status` and `enabled` agree, which filter values
//! fit which operator, what a filter field may name, and when a transform
//! is valid.

use hookstream_api::runtime::{Location, Violation, property_path, sort_violations};
use hookstream_api::types::{
    Connection, ConnectionPatch, ConnectionStatus, FilterOp, FilterRule, FilterValue, Nullable,
};
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Filter field roots that take no sub-path.
const LEAF_ROOTS: &[&str] = &["method", "content_type", "source_ip"];

/// A column to write and its new value.
pub type ColumnChange = (&'static str, SqlValue);

/// Checks a patch against the stored row and returns the columns to write,
/// or every rule it breaks.
pub fn plan(
    patch: &ConnectionPatch,
    current: &Connection,
) -> Result<Vec<ColumnChange>, Vec<Violation>> {
    let mut changes = Vec::new();
    let mut violations = Vec::new();
    // Every property is named here, so a property added to the spec stops
    // the build until this plan handles it, instead of being accepted and
    // silently dropped.
    let ConnectionPatch {
        name: _,
        description: _,
        enabled: _,
        filter_rules: _,
        status: _,
        transform_enabled: _,
        transform_expression: _,
    } = patch;
    if let Some(name) = &patch.name {
        changes.push(("name", SqlValue::Text(name.clone())));
    }
    if let Some(description) = nullable_text(&patch.description) {
        changes.push(("description", description));
    }
    plan_status(patch, current, &mut changes, &mut violations);
    match &patch.filter_rules {
        Nullable::Absent => {}
        Nullable::Null => changes.push(("filter_rules", SqlValue::Null)),
        Nullable::Value(rules) if rules.is_empty() => {
            changes.push(("filter_rules", SqlValue::Null))
        }
        Nullable::Value(rules) => {
            if let Some(text) = normalize_rules(rules, &mut violations) {
                changes.push(("filter_rules", SqlValue::Text(text)));
            }
        }
    }
    plan_transform(patch, current, &mut changes, &mut violations);
    if violations.is_empty() {
        Ok(changes)
    } else {
        sort_violations(&mut violations);
        Err(violations)
    }
}

fn nullable_text(value: &Nullable<String>) -> Option<SqlValue> {
    match value {
        Nullable::Absent => None,
        Nullable::Null => Some(SqlValue::Null),
        Nullable::Value(text) => Some(SqlValue::Text(text.clone())),
    }
}

/// `status` is authoritative and `enabled` is 0 exactly when it is
/// `disabled`. `enabled: false` disables; `enabled: true` turns `disabled`
/// into `active` and leaves `paused` alone.
fn plan_status(
    patch: &ConnectionPatch,
    current: &Connection,
    changes: &mut Vec<ColumnChange>,
    violations: &mut Vec<Violation>,
) {
    if let Some(conflict) = status_conflict(patch) {
        violations.push(conflict);
        return;
    }
    let status = match (patch.enabled, patch.status) {
        (None, None) => return,
        (None, Some(status)) => status,
        (Some(false), None | Some(ConnectionStatus::Disabled)) => ConnectionStatus::Disabled,
        (Some(true), Some(status)) if status != ConnectionStatus::Disabled => status,
        (Some(true), None) if current.status == ConnectionStatus::Disabled.as_str() => {
            ConnectionStatus::Active
        }
        (Some(true), None) => match current.status.parse() {
            Ok(status) => status,
            Err(_) => ConnectionStatus::Active,
        },
        (Some(_), Some(status)) => status,
    };
    let enabled = i64::from(status != ConnectionStatus::Disabled);
    changes.push(("status", SqlValue::Text(status.as_str().to_string())));
    changes.push(("enabled", SqlValue::Integer(enabled)));
}

/// Returns the violation of a patch whose `enabled` contradicts its
/// `status`.
fn status_conflict(patch: &ConnectionPatch) -> Option<Violation> {
    match (patch.enabled, patch.status) {
        (Some(enabled), Some(status)) if enabled != (status != ConnectionStatus::Disabled) => {
            Some(Violation::new(
                Location::Body,
                "enabled",
                "conflict",
                format!(
                    "is {enabled} but status is '{status}'; a connection is disabled exactly when its status is 'disabled'"
                ),
            ))
        }
        _ => None,
    }
}

/// Checks every rule and returns them as normalized JSON text: header
/// names lower-case, one rule per object with `field`, `op` and `value`.
fn normalize_rules(rules: &[FilterRule], violations: &mut Vec<Violation>) -> Option<String> {
    let before = violations.len();
    let mut normalized = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        let field = normalize_field(&rule.field, index, violations);
        check_value(rule.op, &rule.value, index, violations);
        normalized.push(FilterRule {
            field,
            op: rule.op,
            value: rule.value.clone(),
        });
    }
    if violations.len() > before {
        return None;
    }
    Some(serde_json::to_string(&normalized).expect("filter rules always serialize"))
}

fn normalize_field(field: &str, index: usize, violations: &mut Vec<Violation>) -> String {
    let path = format!("filter_rules[{index}].field");
    let segments: Vec<&str> = field.split('.').collect();
    let root = segments[0];
    if segments.iter().any(|segment| segment.is_empty()) {
        violations.push(Violation::new(
            Location::Body,
            path,
            "field",
            "must not have empty segments",
        ));
        return field.to_string();
    }
    if root == "headers" {
        if segments.len() != 2 {
            violations.push(Violation::new(
                Location::Body,
                path,
                "field",
                "must name exactly one header after `headers.`, for example `headers.x-event`",
            ));
            return field.to_string();
        }
        return format!("headers.{}", segments[1].to_ascii_lowercase());
    }
    if LEAF_ROOTS.contains(&root) && segments.len() > 1 {
        violations.push(Violation::new(
            Location::Body,
            path,
            "field",
            format!("must be `{root}` alone, without a sub-path"),
        ));
    }
    field.to_string()
}

fn check_value(op: FilterOp, value: &FilterValue, index: usize, violations: &mut Vec<Violation>) {
    let fits = match op {
        FilterOp::Eq | FilterOp::Neq => !matches!(value, FilterValue::Array(_)),
        FilterOp::Contains => matches!(value, FilterValue::String(_)),
        FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
            matches!(value, FilterValue::Number(_))
        }
        FilterOp::Exists => matches!(value, FilterValue::Boolean(_)),
        FilterOp::In => matches!(value, FilterValue::Array(_)),
    };
    if !fits {
        let expected = match op {
            FilterOp::Eq | FilterOp::Neq => "a string, number or boolean",
            FilterOp::Contains => "a string",
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => "a number",
            FilterOp::Exists => "a boolean",
            FilterOp::In => "a non-empty array of strings, numbers or booleans",
        };
        violations.push(Violation::new(
            Location::Body,
            format!("filter_rules[{index}].value"),
            "op_mismatch",
            format!("must be {expected} for op '{op}'"),
        ));
    }
}

/// Parses a sent expression (an expression already stored is not checked
/// again) and requires a non-empty expression when the merged row has
/// `transform_enabled = 1`.
fn plan_transform(
    patch: &ConnectionPatch,
    current: &Connection,
    changes: &mut Vec<ColumnChange>,
    violations: &mut Vec<Violation>,
) {
    violations.extend(expression_violation(patch));
    if let Some(expression) = nullable_text(&patch.transform_expression) {
        changes.push(("transform_expression", expression));
    }
    if let Some(enabled) = patch.transform_enabled {
        changes.push(("transform_enabled", SqlValue::Integer(i64::from(enabled))));
    }
    violations.extend(missing_expression(patch, current));
}

/// Returns the violation of a sent expression that does not parse.
fn expression_violation(patch: &ConnectionPatch) -> Option<Violation> {
    let Nullable::Value(expression) = &patch.transform_expression else {
        return None;
    };
    if expression.trim().is_empty() {
        return None;
    }
    let error = crate::transform::parse(expression).err()?;
    let message = if error.code == crate::transform::UNSUPPORTED
        || error.code == crate::transform::UNAVAILABLE
    {
        format!("cannot be accepted: {}", error.message)
    } else {
        format!(
            "is not a valid JSONata expression: {} at character {}: {}",
            error.code, error.position, error.message
        )
    };
    Some(Violation::new(
        Location::Body,
        "transform_expression",
        "invalid_jsonata",
        message,
    ))
}

/// Returns the violation of a merged row that enables the transform
/// without a non-empty expression.
fn missing_expression(patch: &ConnectionPatch, current: &Connection) -> Option<Violation> {
    let enabled = patch
        .transform_enabled
        .unwrap_or(current.transform_enabled == 1);
    let expression = match &patch.transform_expression {
        Nullable::Absent => current.transform_expression.as_deref(),
        Nullable::Null => None,
        Nullable::Value(expression) => Some(expression.as_str()),
    };
    let has_expression = expression.is_some_and(|text| !text.trim().is_empty());
    (enabled && !has_expression).then(|| {
        Violation::new(
            Location::Body,
            "transform_enabled",
            "missing_expression",
            "requires a non-empty transform_expression; send one, or set transform_enabled to false",
        )
    })
}

/// Tells whether checking a body needs the stored row: only a body that
/// sends `transform_enabled` or `transform_expression` does.
pub fn needs_stored_row(body: &Value) -> bool {
    body.get("transform_enabled").is_some() || body.get("transform_expression").is_some()
}

/// Finds the connection rules that a body breaks in the parts its schema
/// accepts, for a body that breaks the schema elsewhere: a property, or a
/// filter rule's `field`, `op` or `value`, with a schema violation is not
/// checked again. Rules that need the stored row are checked only when
/// `current` contains it.
pub fn violations_beside_schema(
    body: &Value,
    schema_violations: &[Violation],
    current: Option<&Connection>,
) -> Vec<Violation> {
    let Some(object) = body.as_object() else {
        return Vec::new();
    };
    let broken_paths = broken_paths(schema_violations);
    let broken = |path: &str| broken_paths.contains(path);
    let mut found = Vec::new();
    let mut accepted = Map::new();
    for (name, value) in object {
        if name == "filter_rules" {
            // Each rule is checked even when the list as a whole is too long.
            if let Some(rules) = value.as_array() {
                check_rules_beside_schema(rules, &broken, &mut found);
            }
        } else if !broken(&property_path("", name)) {
            accepted.insert(name.clone(), value.clone());
        }
    }
    let Ok(patch) = serde_json::from_value::<ConnectionPatch>(Value::Object(accepted)) else {
        return found;
    };
    found.extend(status_conflict(&patch));
    found.extend(expression_violation(&patch));
    if let Some(current) = current
        && !broken("transform_enabled")
        && !broken("transform_expression")
    {
        found.extend(missing_expression(&patch, current));
    }
    found
}

/// Checks each part of each filter rule that the schema accepts.
fn check_rules_beside_schema(
    rules: &[Value],
    broken: &dyn Fn(&str) -> bool,
    found: &mut Vec<Violation>,
) {
    for (index, rule) in rules.iter().enumerate() {
        let at = format!("filter_rules[{index}]");
        let Some(rule) = rule.as_object() else {
            continue;
        };
        if let Some(field) = rule.get("field").and_then(Value::as_str)
            && !broken(&format!("{at}.field"))
        {
            normalize_field(field, index, found);
        }
        if broken(&format!("{at}.op")) || broken(&format!("{at}.value")) {
            continue;
        }
        let op = rule
            .get("op")
            .cloned()
            .map(serde_json::from_value::<FilterOp>);
        let value = rule
            .get("value")
            .cloned()
            .map(serde_json::from_value::<FilterValue>);
        if let (Some(Ok(op)), Some(Ok(value))) = (op, value) {
            check_value(op, &value, index, found);
        }
    }
}

/// Returns the body paths that have a schema violation, with every path
/// above each: `filter_rules[0].op` also marks `filter_rules[0]` and
/// `filter_rules`. Property names that contain `.` or `[` are quoted in
/// paths, so a prefix cut at one of them never names another property.
fn broken_paths(violations: &[Violation]) -> HashSet<&str> {
    let mut paths = HashSet::new();
    for violation in violations {
        if violation.location != Location::Body {
            continue;
        }
        let path = violation.path.as_str();
        for (at, character) in path.char_indices() {
            if at > 0 && (character == '.' || character == '[') {
                paths.insert(&path[..at]);
            }
        }
        paths.insert(path);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoted_unknown_name_hides_nothing() {
        let body = json!({"enabled": false, "status": "active", "enabled.x": 1});
        let schema = [Violation::new(
            Location::Body,
            r#"["enabled.x"]"#,
            "unknown_property",
            "is not a known property",
        )];
        let found = violations_beside_schema(&body, &schema, None);
        let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["enabled"]);
    }
}
