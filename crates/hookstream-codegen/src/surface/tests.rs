//! Checks that each reader sees what the generated code does, so that an
//! edit to the server or client code changes its listing.

use super::*;
use crate::{Generated, Settings, generate};

/// A spec whose three listings agree, with a path, query and header
/// parameter, a body, an operation without credentials, an inline array
/// response and error statuses of different types.
const SAMPLE: &str = r##"
openapi: 3.0.3
info: {title: shop, version: "1"}
servers:
  - url: http://localhost/base
security:
  - apiKey: []
paths:
  /items:
    get:
      operationId: list_items
      security: []
      responses:
        "200":
          description: The items.
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Item"}}
  /items/{itemId}:
    get:
      operationId: get_item
      parameters:
        - {name: itemId, in: path, required: true, schema: {type: string}}
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: X-Trace, in: header, required: true, schema: {type: string}}
      responses:
        "200":
          description: The item.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Item"}
        "404":
          description: No such item.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Problem"}
    put:
      operationId: put_item
      parameters:
        - {name: itemId, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Item"}
      responses:
        "204":
          description: Stored.
        "400":
          description: Invalid item.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Problem"}
        "409":
          description: Taken.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Conflict"}
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-Key}
  schemas:
    Item:
      type: object
      properties: {name: {type: string}}
    Problem:
      type: object
      properties: {message: {type: string}}
    Conflict:
      type: object
      properties: {owner: {type: string}}
"##;

fn sample() -> (Contract, Generated) {
    let settings = Settings {
        command: "cargo test".to_string(),
        source: "sample.yaml".to_string(),
        types_crate: "crate::types".to_string(),
        runtime_crate: "hookstream_runtime".to_string(),
        client_module: "crate::client".to_string(),
    };
    let contract = Contract::parse(SAMPLE).expect("the sample spec parses");
    let generated = generate(SAMPLE, &settings).expect("the sample spec generates");
    (contract, generated)
}

fn server_listing(code: &str) -> String {
    render(&from_server_code(code).expect("the server code is readable"))
}

fn client_listing(code: &str) -> String {
    render(&from_client_code(code).expect("the client code is readable"))
}

/// Returns `text` with `from` replaced once, failing when `from` is absent
/// so that a change to the generated code cannot silently skip an edit.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the generated code has no `{from}`");
    text.replacen(from, to, 1)
}

/// Returns `text` with the first `from` after `anchor` replaced by `to`.
fn replace_after(text: &str, anchor: &str, from: &str, to: &str) -> String {
    let start = text
        .find(anchor)
        .unwrap_or_else(|| panic!("the generated code has no `{anchor}`"));
    let (head, tail) = text.split_at(start);
    format!("{head}{}", replace_once(tail, from, to))
}

#[test]
fn sample_sides_agree() {
    let (contract, generated) = sample();
    let spec = render(&from_contract(&contract));
    assert_eq!(server_listing(&generated.server), spec);
    assert_eq!(client_listing(&generated.client), spec);
}

#[test]
fn sample_listing_is_exact() {
    let (contract, _) = sample();
    let expected = "\
get_item
  GET /items/{item_id}
  path item_id required
  query verbose optional
  header x-trace required
  body: none
  200: Item
  404: Problem
  security: ApiKey

list_items
  GET /items
  body: none
  200: ListItems200Response
  security: none

put_item
  PUT /items/{item_id}
  path item_id required
  body: Item (required)
  204: no body
  400: Problem
  409: Conflict
  security: ApiKey
";
    assert_eq!(render(&from_contract(&contract)), expected);
}

#[test]
fn changed_route_method_is_caught() {
    let (contract, generated) = sample();
    let server = replace_once(
        &generated.server,
        "axum::routing::get(handle_get_item::<A>)",
        "axum::routing::post(handle_get_item::<A>)",
    );
    let changed = server_listing(&server);
    assert_ne!(changed, render(&from_contract(&contract)));
    assert!(
        changed.contains("get_item\n  POST /items/{item_id}"),
        "{changed}"
    );
}

#[test]
fn removed_response_variant_is_caught() {
    let (contract, generated) = sample();
    let server: String = generated
        .server
        .lines()
        .filter(|line| !line.contains("NotFound") && !line.trim().starts_with("/// `404`"))
        .map(|line| format!("{line}\n"))
        .collect();
    let removed = generated.server.lines().count() - server.lines().count();
    assert_eq!(removed, 4, "expected the variant, its doc and two arms");
    let changed = server_listing(&server);
    assert_ne!(changed, render(&from_contract(&contract)));
    let get_item = changed.split("\n\n").next().unwrap_or_default();
    assert!(get_item.starts_with("get_item\n"), "{changed}");
    assert!(!get_item.contains("404"), "{changed}");
}

#[test]
fn optional_server_header_is_caught() {
    let (_, generated) = sample();
    let server = replace_after(
        &generated.server,
        "name: \"X-Trace\"",
        "required: true",
        "required: false",
    );
    let listing = server_listing(&server);
    assert!(listing.contains("header x-trace optional"), "{listing}");
}

#[test]
fn optional_server_body_is_caught() {
    let (_, generated) = sample();
    let server = replace_after(&generated.server, "json_body::<", "true,", "false,");
    let listing = server_listing(&server);
    assert!(listing.contains("body: Item (optional)"), "{listing}");
}

#[test]
fn status_disagreement_is_error() {
    let (_, generated) = sample();
    let server = replace_once(
        &generated.server,
        "json_response(404, &body)",
        "json_response(410, &body)",
    );
    let error = from_server_code(&server).expect_err("status() and into_response disagree");
    assert!(error.starts_with("from_server_code: "), "{error}");
    assert!(
        error.contains("`GetItemResponse::status` returns 404"),
        "{error}"
    );
}

#[test]
fn missing_router_is_named() {
    let (_, generated) = sample();
    let server = replace_once(&generated.server, "pub fn router<", "pub fn routes<");
    let error = from_server_code(&server).expect_err("the router is missing");
    assert_eq!(error, "from_server_code: no function `router` found");
}

#[test]
fn credential_lookup_uses_operation_id() {
    let (_, generated) = sample();
    let client = replace_once(
        &generated.client,
        "\"put_item\" => &[Scheme::ApiKey]",
        "\"putItem\" => &[Scheme::ApiKey]",
    );
    let listing = client_listing(&client);
    assert!(
        listing.ends_with("409: Conflict\n  security: none\n"),
        "{listing}"
    );
}

#[test]
fn changed_client_status_is_caught() {
    let (_, generated) = sample();
    let client = replace_once(&generated.client, "404u16 =>", "410u16 =>");
    let listing = client_listing(&client);
    assert!(listing.contains("410: Problem"), "{listing}");
    assert!(!listing.contains("404: Problem"), "{listing}");
}

#[test]
fn changed_decoder_status_is_caught() {
    let (_, generated) = sample();
    let client = replace_once(&generated.client, "409 =>", "410 =>");
    let listing = client_listing(&client);
    assert!(listing.contains("410: Conflict"), "{listing}");
}

#[test]
fn renamed_query_parameter_is_caught() {
    let (_, generated) = sample();
    let client = replace_once(
        &generated.client,
        "QueryParam::new(\"verbose\"",
        "QueryParam::new(\"Verbose\"",
    );
    let listing = client_listing(&client);
    assert!(listing.contains("query Verbose optional"), "{listing}");
}

#[test]
fn client_own_type_is_marked() {
    let (_, generated) = sample();
    let client = replace_once(
        &generated.client,
        "body: Result<crate::types::Item, String>",
        "body: Result<types::Item, String>",
    );
    let listing = client_listing(&client);
    assert!(
        listing.contains("body: Item (client's own type) (required)"),
        "{listing}"
    );
}

#[test]
fn missing_builder_module_is_named() {
    let (_, generated) = sample();
    let client = replace_once(&generated.client, "pub mod builder {", "pub mod builders {");
    let error = from_client_code(&client).expect_err("the builders are missing");
    assert_eq!(error, "from_client_code: no `mod builder` found");
}

#[test]
fn template_names_become_snake_case() {
    assert_eq!(
        normalise_template("/a/{itemId}/b/{item-kind}"),
        "/a/{item_id}/b/{item_kind}"
    );
}

#[test]
fn header_names_become_lower_case() {
    let parameter = ParameterSurface::new(Location::Header, "X-Trace-Id", true);
    assert_eq!(parameter.name, "x-trace-id");
}

#[test]
fn query_names_stay_as_written() {
    let parameter = ParameterSurface::new(Location::Query, "pageSize", false);
    assert_eq!(parameter.name, "pageSize");
}
