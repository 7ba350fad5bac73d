//! Synthetic OpenAPI 3.0 documents of any size, for timing the generator
//! and the build of its output.
//!
//! Operations come in groups of four on one resource: `get`, `update`
//! (PATCH), `create` (POST) and `delete`, on `/resources{g}` and
//! `/resources{g}/{id}`. Each group adds two component schemas, a resource
//! and its patch, which share a status enum, a rule object and the error
//! body. A document of `n` operations holds the first `n` of that
//! sequence, so every size uses the same kinds of parameters, bodies,
//! responses and security as the hookstream spec.
//!
//! This file depends only on `std` and `serde_json`, so that the codegen
//! benchmark can include it with `#[path]` without depending on this
//! crate.

use serde_json::{Map, Value, json};

/// Returns the text of a valid document with exactly `operations`
/// operations (at least one).
///
/// # Panics
///
/// Panics when `operations` is zero, because the generator rejects a
/// document without paths.
pub fn spec(operations: usize) -> String {
    assert!(
        operations > 0,
        "a synthetic spec needs at least one operation"
    );
    let mut paths = Map::new();
    let mut schemas = shared_schemas();
    for index in 0..operations {
        let group = index / 4;
        let item_path = format!("/resources{group}/{{id}}");
        let collection_path = format!("/resources{group}");
        let (path, method, operation) = match index % 4 {
            0 => (item_path, "get", get_operation(group)),
            1 => (item_path, "patch", update_operation(group)),
            2 => (collection_path, "post", create_operation(group)),
            _ => (item_path, "delete", delete_operation(group)),
        };
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[method] = operation;
        if index % 4 == 0 {
            schemas.insert(format!("Resource{group}"), resource_schema(group));
            schemas.insert(format!("Resource{group}Patch"), patch_schema());
        }
    }
    let document = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "synthetic",
            "version": "1.0.0",
            "description": format!("A generated document with {operations} operations."),
        },
        "servers": [{ "url": "https://synthetic.invalid/v1" }],
        "security": [{ "apiKeyHeader": [] }, { "bearerAuth": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKeyHeader": { "type": "apiKey", "in": "header", "name": "X-API-Key" },
                "bearerAuth": { "type": "http", "scheme": "bearer" },
            },
            "parameters": {
                "ResourceId": {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "description": "Resource ID (32-char hex)",
                    "schema": { "type": "string", "pattern": "^[0-9a-f]{32}$" },
                },
            },
            "schemas": schemas,
        },
    });
    serde_json::to_string_pretty(&document).expect("a JSON value always serializes")
}

fn get_operation(group: usize) -> Value {
    json!({
        "operationId": format!("get_resource{group}"),
        "summary": format!("Read one resource of group {group}."),
        "parameters": [
            { "$ref": "#/components/parameters/ResourceId" },
            {
                "name": "fields",
                "in": "query",
                "description": "Comma-separated properties to return.",
                "schema": { "type": "string", "maxLength": 200 },
            },
            {
                "name": "limit",
                "in": "query",
                "schema": { "type": "integer", "format": "int32", "minimum": 1, "maximum": 100 },
            },
        ],
        "responses": {
            "200": json_response("The resource.", &format!("Resource{group}")),
            "401": error_response("Unauthorized"),
            "404": error_response("Not found"),
        },
    })
}

fn update_operation(group: usize) -> Value {
    json!({
        "operationId": format!("update_resource{group}"),
        "summary": format!("Partially update one resource of group {group}."),
        "parameters": [{ "$ref": "#/components/parameters/ResourceId" }],
        "requestBody": json_body(&format!("Resource{group}Patch")),
        "responses": {
            "200": json_response("The updated resource.", &format!("Resource{group}")),
            "400": error_response("Validation error"),
            "401": error_response("Unauthorized"),
            "404": error_response("Not found"),
        },
    })
}

fn create_operation(group: usize) -> Value {
    json!({
        "operationId": format!("create_resource{group}"),
        "summary": format!("Create a resource in group {group}."),
        "parameters": [{
            "name": "Idempotency-Key",
            "in": "header",
            "schema": { "type": "string", "maxLength": 64 },
        }],
        "requestBody": json_body(&format!("Resource{group}Patch")),
        "responses": {
            "201": json_response("The created resource.", &format!("Resource{group}")),
            "400": error_response("Validation error"),
            "401": error_response("Unauthorized"),
        },
    })
}

fn delete_operation(group: usize) -> Value {
    json!({
        "operationId": format!("delete_resource{group}"),
        "summary": format!("Delete one resource of group {group}."),
        "parameters": [{ "$ref": "#/components/parameters/ResourceId" }],
        "responses": {
            "204": { "description": "Deleted." },
            "401": error_response("Unauthorized"),
            "404": error_response("Not found"),
        },
    })
}

fn json_body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": {
            "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } },
        },
    })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {
            "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } },
        },
    })
}

fn error_response(description: &str) -> Value {
    json_response(description, "Error")
}

fn resource_schema(group: usize) -> Value {
    json!({
        "type": "object",
        "description": format!("A resource of group {group}."),
        "additionalProperties": false,
        "required": ["id", "name", "description", "status", "count", "tags", "rules", "created_at"],
        "properties": {
            "id": { "type": "string" },
            "name": { "type": "string" },
            "description": { "type": "string", "nullable": true },
            "status": { "$ref": "#/components/schemas/Status" },
            "count": { "type": "integer", "format": "int64" },
            "enabled": { "type": "boolean" },
            "tags": { "type": "array", "items": { "type": "string" } },
            "rules": { "type": "array", "items": { "$ref": "#/components/schemas/Rule" } },
            "created_at": { "type": "string", "format": "date-time" },
        },
    })
}

fn patch_schema() -> Value {
    json!({
        "type": "object",
        "description": "The properties to change. Absent properties keep their value.",
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 155 },
            "description": { "type": "string", "maxLength": 500, "nullable": true },
            "status": { "$ref": "#/components/schemas/Status" },
            "enabled": { "type": "boolean" },
            "tags": { "type": "array", "maxItems": 20, "items": { "type": "string", "maxLength": 40 } },
            "rules": {
                "type": "array",
                "maxItems": 50,
                "nullable": true,
                "items": { "$ref": "#/components/schemas/Rule" },
            },
        },
    })
}

/// The schemas every group refers to.
fn shared_schemas() -> Map<String, Value> {
    let schemas = json!({
        "Status": { "type": "string", "enum": ["active", "paused", "disabled"] },
        "Rule": {
            "type": "object",
            "additionalProperties": false,
            "required": ["field", "op", "value"],
            "properties": {
                "field": { "type": "string", "minLength": 1, "pattern": "^payload(\\.[^.]+)*$" },
                "op": { "type": "string", "enum": ["eq", "neq", "contains"] },
                "value": { "oneOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }] },
            },
        },
        "Error": {
            "type": "object",
            "required": ["error", "status", "request_id"],
            "properties": {
                "error": { "type": "string" },
                "status": { "type": "integer" },
                "request_id": { "type": "string" },
            },
        },
    });
    match schemas {
        Value::Object(map) => map,
        _ => unreachable!("the literal above is an object"),
    }
}
