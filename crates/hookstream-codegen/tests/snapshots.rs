//! Snapshots of the generated server and client for the product spec and
//! every fixture spec, and the exact errors for documents the generator
//! rejects.

use hookstream_codegen::{Error, Settings, generate};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn settings(source: &str, module: &str) -> Settings {
    Settings {
        command: "cargo xtask codegen".to_string(),
        source: source.to_string(),
        types_crate: format!("{module}::types"),
        runtime_crate: "hookstream_runtime".to_string(),
        client_module: format!("{module}::client"),
    }
}

/// Returns `(snapshot name, spec path relative to the root)` for the
/// product spec and each fixture that must generate.
fn specs() -> Vec<(String, String)> {
    let mut specs = vec![(
        "hookstream".to_string(),
        "openapi/hookstream.yaml".to_string(),
    )];
    let folder = workspace_root().join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("list the fixtures")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".yaml")?;
            (!stem.starts_with("unsupported_")).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "expected at least six fixtures, found {names:?}"
    );
    for name in names {
        specs.push((name.clone(), format!("tests/fixtures/{name}.yaml")));
    }
    specs
}

#[test]
fn generated_code_matches_snapshots() {
    for (name, source) in specs() {
        let text = std::fs::read_to_string(workspace_root().join(&source)).expect("read the spec");
        let generated = generate(&text, &settings(&source, &format!("crate::{name}")))
            .unwrap_or_else(|error| panic!("{source} fails to generate: {error}"));
        insta::assert_snapshot!(format!("{name}_server"), generated.server);
        insta::assert_snapshot!(format!("{name}_client"), generated.client);
    }
}

/// Fails when a snapshot file belongs to no test, which happens when a
/// fixture is renamed or removed.
#[test]
fn no_unreferenced_snapshots() {
    let mut expected: Vec<String> = specs()
        .iter()
        .flat_map(|(name, _)| {
            [
                format!("snapshots__{name}_server.snap"),
                format!("snapshots__{name}_client.snap"),
            ]
        })
        .collect();
    expected.sort();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut found: Vec<String> = std::fs::read_dir(&folder)
        .expect("list the snapshots")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("snapshots__"))
        .collect();
    found.sort();
    assert_eq!(found, expected);
}

fn spec_error(text: &str) -> String {
    match generate(text, &settings("test.yaml", "crate")) {
        Err(error @ Error::Spec(_)) => error.to_string(),
        Err(other) => panic!("expected a spec error, got {other}"),
        Ok(_) => panic!("expected the document to be rejected"),
    }
}

#[test]
fn unsupported_fixture_error_is_exact() {
    let path = workspace_root().join("tests/fixtures/unsupported_success_types.yaml");
    let text = std::fs::read_to_string(path).expect("read the fixture");
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/paths/~1uploads/post/responses/202: success responses must share one body type, because progenitor panics otherwise: `202` has `Pending` but `200` has `Finished`"
    );
}

const MINIMAL: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things/{id}:
    get:
      operationId: get_thing
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
components:
  schemas:
    Thing: {type: object, properties: {name: {type: string}}}
"##;

#[test]
fn minimal_spec_generates() {
    assert!(generate(MINIMAL, &settings("test.yaml", "crate")).is_ok());
}

#[test]
fn unknown_ref_names_pointer() {
    let text = MINIMAL.replace("schemas/Thing\"}", "schemas/Missing\"}");
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/paths/~1things~1{id}/get/responses/200/content/application~1json/schema/$ref: unknown reference `#/components/schemas/Missing`"
    );
}

#[test]
fn missing_operation_id_names_pointer() {
    let text = MINIMAL.replace("operationId: get_thing", "summary: no id");
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/paths/~1things~1{id}/get: missing `operationId`; every operation needs one to name its method"
    );
}

#[test]
fn cookie_parameter_is_rejected() {
    let text = MINIMAL.replace(
        "- {name: id, in: path, required: true, schema: {type: string}}",
        "- {name: id, in: path, required: true, schema: {type: string}}\n        - {name: sid, in: cookie, schema: {type: string}}",
    );
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/paths/~1things~1{id}/get/parameters/1: cookie parameter `sid` is not supported (progenitor rejects cookie parameters); carry credentials with an apiKey security scheme `in: cookie`"
    );
}

#[test]
fn openapi_3_1_is_rejected() {
    let text = MINIMAL.replace("openapi: 3.0.3", "openapi: 3.1.0");
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/openapi: OpenAPI 3.1.0 is not supported: progenitor reads only 3.0.x documents"
    );
}

#[test]
fn json_response_without_schema_is_rejected() {
    let text = MINIMAL.replace(
        "            application/json:\n              schema: {$ref: \"#/components/schemas/Thing\"}",
        "            application/json: {}",
    );
    assert_eq!(
        spec_error(&text),
        "invalid OpenAPI document:\n  #/paths/~1things~1{id}/get/responses/200/content/application~1json: a JSON response needs a schema (progenitor panics without one)"
    );
}

#[test]
fn several_problems_are_all_listed() {
    let text = MINIMAL
        .replace("operationId: get_thing", "summary: no id")
        .replace("openapi: 3.0.3", "openapi: 3.1.0");
    let message = spec_error(&text);
    assert_eq!(message.lines().count(), 3, "{message}");
}

#[test]
fn output_is_deterministic() {
    let first = generate(MINIMAL, &settings("test.yaml", "crate")).unwrap();
    let second = generate(MINIMAL, &settings("test.yaml", "crate")).unwrap();
    assert_eq!(first, second);
}
