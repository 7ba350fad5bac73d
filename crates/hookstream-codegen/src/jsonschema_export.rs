//! Converts OpenAPI 3.0 schemas into standalone JSON Schema (2020-12)
//! documents, which the generated server validates requests against.
//!
//! OpenAPI 3.0 differs from JSON Schema in a few keywords: `nullable: true`
//! becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum`
//! become numbers, and `#/components/schemas/X` becomes `#/$defs/X`.

use crate::error::SpecError;
use crate::model::Contract;
use serde_json::{Map, Value, json};

/// Keywords that OpenAPI 3.0 adds and that do not affect validation.
const ANNOTATIONS: &[&str] = &[
    "example",
    "xml",
    "externalDocs",
    "discriminator",
    "deprecated",
];

/// Returns a JSON Schema document whose root is `schema`, with every
/// component it reaches under `$defs`. Fails when the result does not
/// compile, so that the generated server never contains a broken schema.
pub(crate) fn document(contract: &Contract, schema: &Value, at: &str) -> Result<String, SpecError> {
    let mut defs = Map::new();
    collect_defs(contract, schema, &mut defs);
    let mut root = match convert(schema) {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("allOf".into(), json!([other]));
            map
        }
    };
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    if !defs.is_empty() {
        root.insert("$defs".into(), Value::Object(defs));
    }
    let document = Value::Object(root);
    if let Err(error) = jsonschema::validator_for(&document) {
        return Err(SpecError::new(
            at,
            format!("the schema is not valid JSON Schema: {error}"),
        ));
    }
    Ok(serde_json::to_string(&document).expect("a JSON value always serializes"))
}

/// Adds every component that `schema` refers to, directly or not.
fn collect_defs(contract: &Contract, schema: &Value, defs: &mut Map<String, Value>) {
    let mut pending = Vec::new();
    references(schema, &mut pending);
    while let Some(name) = pending.pop() {
        if defs.contains_key(&name) {
            continue;
        }
        if let Some(component) = contract.schema(&name) {
            defs.insert(name.clone(), convert(component));
            references(component, &mut pending);
        }
    }
    defs.sort_keys();
}

fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|target| target.strip_prefix("#/components/schemas/"))
            {
                found.push(name.to_string());
            }
            map.values().for_each(|child| references(child, found));
        }
        Value::Array(items) => items.iter().for_each(|child| references(child, found)),
        _ => {}
    }
}

/// Converts one OpenAPI schema object, recursively.
pub(crate) fn convert(schema: &Value) -> Value {
    let Value::Object(source) = schema else {
        return schema.clone();
    };
    let mut map = Map::new();
    for (key, value) in source {
        if ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let converted = match key.as_str() {
            "$ref" => match value
                .as_str()
                .and_then(|t| t.strip_prefix("#/components/schemas/"))
            {
                Some(name) => json!(format!("#/$defs/{name}")),
                None => value.clone(),
            },
            "properties" => convert_values(value),
            "items" | "not" => convert(value),
            "additionalProperties" if value.is_object() => convert(value),
            "allOf" | "oneOf" | "anyOf" => match value {
                Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        map.insert(key.clone(), converted);
    }
    exclusive_bound(&mut map, "exclusiveMinimum", "minimum");
    exclusive_bound(&mut map, "exclusiveMaximum", "maximum");
    if map.remove("nullable") == Some(Value::Bool(true)) {
        return nullable(map);
    }
    Value::Object(map)
}

fn convert_values(value: &Value) -> Value {
    match value {
        Value::Object(properties) => Value::Object(
            properties
                .iter()
                .map(|(name, schema)| (name.clone(), convert(schema)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Rewrites OpenAPI 3.0's boolean `exclusiveMinimum: true` next to
/// `minimum: m` as JSON Schema's `exclusiveMinimum: m`.
fn exclusive_bound(map: &mut Map<String, Value>, exclusive: &str, bound: &str) {
    match map.get(exclusive) {
        Some(Value::Bool(true)) => {
            if let Some(limit) = map.remove(bound) {
                map.insert(exclusive.into(), limit);
            } else {
                map.remove(exclusive);
            }
        }
        Some(Value::Bool(false)) => {
            map.remove(exclusive);
        }
        _ => {}
    }
}

/// Lets `null` through a schema that OpenAPI marked `nullable`.
fn nullable(mut map: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.push(Value::Null);
    }
    match map.get("type").cloned() {
        Some(Value::String(kind)) => {
            map.insert("type".into(), json!([kind, "null"]));
            Value::Object(map)
        }
        _ => json!({ "anyOf": [Value::Object(map), { "type": "null" }] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_string_gets_null_type() {
        let converted = convert(&json!({"type": "string", "nullable": true, "maxLength": 3}));
        assert_eq!(
            converted,
            json!({"type": ["string", "null"], "maxLength": 3})
        );
    }

    #[test]
    fn nullable_ref_becomes_any_of() {
        let converted =
            convert(&json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/A"}]}));
        assert_eq!(
            converted,
            json!({"anyOf": [{"allOf": [{"$ref": "#/$defs/A"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn nullable_enum_accepts_null() {
        let converted = convert(&json!({"type": "string", "enum": ["a"], "nullable": true}));
        assert_eq!(
            converted,
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn boolean_exclusive_minimum_becomes_number() {
        let converted =
            convert(&json!({"type": "integer", "minimum": 3, "exclusiveMinimum": true}));
        assert_eq!(converted, json!({"type": "integer", "exclusiveMinimum": 3}));
    }
}
