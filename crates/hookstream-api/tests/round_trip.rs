//! Round trip: the OpenAPI document that utoipa derives from the generated
//! server (3.1) must say what the source spec (3.0) says.
//!
//! Both documents are brought to one canonical form first, which removes
//! what differs only in form between the versions and the two writers:
//! - `nullable: true` (3.0) and a `null` type or a `null` branch of
//!   `oneOf`/`anyOf` (3.1) both become `"nullable": true`;
//! - a single-element `allOf` is replaced by its element;
//! - descriptions, titles, examples, tags and `info` are dropped;
//! - `format` is dropped for `int32`, `int64`, `float` and `double`,
//!   which utoipa writes from the Rust type;
//! - parameter schemas keep only their type or `$ref`, because utoipa
//!   cannot attach validation keywords to tuple-style parameters (the
//!   generated router validates them against the source schema);
//! - security is resolved per operation (the operation's own list, or the
//!   document's).

use hookstream_api::ApiDoc;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

/// Schema keywords kept by the canonical form.
const KEPT: &[&str] = &[
    "type",
    "$ref",
    "enum",
    "properties",
    "required",
    "items",
    "oneOf",
    "anyOf",
    "additionalProperties",
    "format",
    "maxLength",
    "minLength",
    "pattern",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
    "uniqueItems",
    "nullable",
];

fn source() -> Value {
    serde_json::from_str(hookstream_api::OPENAPI_JSON).expect("the embedded spec is JSON")
}

fn derived() -> Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the utoipa document serializes")
}

/// Returns the canonical form of a schema.
fn schema(value: &Value) -> Value {
    let Some(source) = value.as_object() else {
        return value.clone();
    };
    if let Some(Value::Array(all)) = source.get("allOf")
        && let [single] = all.as_slice()
    {
        let mut merged = source.clone();
        merged.remove("allOf");
        if let Some(inner) = single.as_object() {
            for (key, item) in inner {
                merged.entry(key.clone()).or_insert_with(|| item.clone());
            }
        }
        return schema(&Value::Object(merged));
    }
    let mut out = Map::new();
    let mut nullable = source.get("nullable") == Some(&Value::Bool(true));
    for (key, item) in source {
        if !KEPT.contains(&key.as_str()) || key == "nullable" {
            continue;
        }
        let converted = match key.as_str() {
            "type" => match item {
                Value::Array(kinds) => {
                    let mut kept: Vec<Value> = Vec::new();
                    for kind in kinds {
                        if kind == "null" {
                            nullable = true;
                        } else {
                            kept.push(kind.clone());
                        }
                    }
                    match kept.as_slice() {
                        [single] => single.clone(),
                        _ => Value::Array(kept),
                    }
                }
                other => other.clone(),
            },
            "enum" => Value::Array(
                item.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| !v.is_null())
                    .cloned()
                    .collect(),
            ),
            "format" if matches!(item.as_str(), Some("int32" | "int64" | "float" | "double")) => {
                continue;
            }
            "required" => {
                let mut names: Vec<Value> = item.as_array().cloned().unwrap_or_default();
                names.sort_by_key(|name| name.to_string());
                Value::Array(names)
            }
            "properties" => Value::Object(
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), schema(property)))
                    .collect(),
            ),
            "items" => schema(item),
            "additionalProperties" if item.is_object() => schema(item),
            "oneOf" | "anyOf" => {
                let mut branches = Vec::new();
                for branch in item.as_array().into_iter().flatten() {
                    if branch == &json!({"type": "null"}) {
                        nullable = true;
                    } else {
                        branches.push(schema(branch));
                    }
                }
                if let [single] = branches.as_slice() {
                    // `oneOf: [X, null]` is the 3.1 form of a nullable X.
                    if let Value::Object(inner) = single {
                        for (inner_key, inner_item) in inner {
                            out.insert(inner_key.clone(), inner_item.clone());
                        }
                    }
                    continue;
                }
                Value::Array(branches)
            }
            "maximum" | "minimum" => json!(item.as_f64()),
            _ => item.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if out.get("nullable") == Some(&Value::Bool(true)) {
        nullable = true;
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Returns the canonical form of a parameter: where it is, whether it is
/// required, and the type or `$ref` of its schema.
fn parameter(value: &Value) -> (String, Value) {
    let name = value["name"].as_str().unwrap_or_default();
    let location = value["in"].as_str().unwrap_or_default();
    let canonical = schema(&value["schema"]);
    let kind = canonical
        .get("$ref")
        .or_else(|| canonical.get("type"))
        .cloned()
        .unwrap_or(Value::Null);
    (
        format!("{location} {name}"),
        json!({"required": value["required"].as_bool().unwrap_or(false), "schema": kind}),
    )
}

fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => document
            .pointer(target.trim_start_matches('#'))
            .unwrap_or(value),
        None => value,
    }
}

/// Returns the canonical form of a whole document.
fn canonical(document: &Value) -> Value {
    let global_security = document.get("security").cloned().unwrap_or(json!([]));
    let mut operations = Map::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if method == "parameters" {
                continue;
            }
            let mut parameters = Map::new();
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let own = operation
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for raw in shared.iter().chain(own.iter()) {
                let (key, value) = parameter(resolve(document, raw));
                parameters.insert(key, value);
            }
            let body = operation.get("requestBody").map(|body| {
                let body = resolve(document, body);
                json!({
                    "required": body["required"].as_bool().unwrap_or(false),
                    "content": content(&body["content"]),
                })
            });
            let mut responses = Map::new();
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                let response = resolve(document, response);
                responses.insert(
                    status.clone(),
                    json!({
                        "description": response["description"],
                        "content": content(&response["content"]),
                    }),
                );
            }
            let security = operation
                .get("security")
                .cloned()
                .unwrap_or(global_security.clone());
            operations.insert(
                format!("{} {path}", method.to_uppercase()),
                json!({
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                    "requestBody": body,
                    "responses": responses,
                    "security": security,
                }),
            );
        }
    }
    let schemas: Map<String, Value> = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), schema(value)))
        .collect();
    let schemes: Map<String, Value> = document
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let kept: Map<String, Value> = value
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| matches!(key.as_str(), "type" | "in" | "name" | "scheme"))
                .map(|(key, item)| {
                    (
                        key.clone(),
                        json!(item.as_str().map(str::to_ascii_lowercase)),
                    )
                })
                .collect();
            (name.clone(), Value::Object(kept))
        })
        .collect();
    json!({
        "servers": document["servers"],
        "operations": operations,
        "schemas": schemas,
        "securitySchemes": schemes,
    })
}

fn content(value: &Value) -> Value {
    Value::Object(
        value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, item)| (media.clone(), schema(&item["schema"])))
            .collect(),
    )
}

/// Lists every place where two canonical documents differ, as
/// `path: expected ..., found ...`.
fn differences(expected: &Value, found: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, found) {
        (Value::Object(left), Value::Object(right)) => {
            for (key, item) in left {
                let child = format!("{path}/{key}");
                match right.get(key) {
                    Some(other) => differences(item, other, &child, out),
                    None => out.push(format!(
                        "{child}: in the spec, missing from the server's document"
                    )),
                }
            }
            for key in right.keys().filter(|key| !left.contains_key(*key)) {
                out.push(format!(
                    "{path}/{key}: in the server's document, missing from the spec"
                ));
            }
        }
        _ if expected == found => {}
        _ => out.push(format!(
            "{path}: the spec has {expected}, the server's document has {found}"
        )),
    }
}

fn compare(source: &Value, derived: &Value) -> Vec<String> {
    let mut out = Vec::new();
    differences(&canonical(source), &canonical(derived), "", &mut out);
    out
}

#[test]
fn derived_document_matches_spec() {
    let found = compare(&source(), &derived());
    assert!(
        found.is_empty(),
        "the documents differ:\n{}",
        found.join("\n")
    );
}

#[test]
fn derived_document_is_openapi_3_1() {
    assert_eq!(derived()["openapi"], "3.1.0");
}

/// A copy of the generated `ConnectionPatch` without `name`, as if the
/// generator had dropped the field. It is written by hand, so a property
/// added to `ConnectionPatch` in the spec must be added here too.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(serde::Deserialize)]
struct ConnectionPatch {
    #[schema(value_type = Option<String>, max_length = 500)]
    description: Option<String>,
    #[schema(nullable = false)]
    enabled: Option<bool>,
    #[schema(value_type = Option<Vec<hookstream_api::types::FilterRule>>, max_items = 50)]
    filter_rules: Option<Vec<hookstream_api::types::FilterRule>>,
    #[schema(nullable = false)]
    status: Option<hookstream_api::types::ConnectionStatus>,
    #[schema(nullable = false)]
    transform_enabled: Option<bool>,
    #[schema(value_type = Option<String>, max_length = 65536)]
    transform_expression: Option<String>,
}

#[test]
fn dropped_field_is_reported() {
    let mut tampered = derived();
    let copy = serde_json::to_value(<ConnectionPatch as utoipa::PartialSchema>::schema())
        .expect("the copy's schema serializes");
    tampered["components"]["schemas"]["ConnectionPatch"] = copy;
    tampered["components"]["schemas"]["ConnectionPatch"]["minProperties"] = json!(1);
    let found = compare(&source(), &tampered);
    assert_eq!(
        found,
        [
            "/schemas/ConnectionPatch/properties/name: in the spec, missing from the server's document"
        ],
        "this test's ConnectionPatch is a hand-written copy without `name`; when the spec's \
         ConnectionPatch gains a property, add it to the copy in crates/hookstream-api/tests/round_trip.rs"
    );
}

#[test]
fn changed_status_type_is_reported() {
    let mut tampered = derived();
    tampered["paths"]["/connections/{id}"]["patch"]["responses"]["404"]["content"]["application/json"]
        ["schema"] = json!({"$ref": "#/components/schemas/ConnectionResponse"});
    let found = compare(&source(), &tampered);
    assert_eq!(
        found,
        [
            r##"/operations/PATCH /connections/{id}/responses/404/content/application/json/$ref: the spec has "#/components/schemas/Error", the server's document has "#/components/schemas/ConnectionResponse""##
        ]
    );
}
