//! Checks that the spec, the generated server and the generated client
//! describe the same contract, for the product spec and every fixture spec
//! that generates, and snapshots that description.

use hookstream_codegen::surface::{
    OperationSurface, from_client_code, from_contract, from_server_code, render,
};
use hookstream_codegen::{Contract, Generated, Settings, generate};
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

/// Returns `(name, spec path relative to the root)` for the product spec
/// and each fixture spec except the `unsupported_*` ones, which the
/// generator rejects.
fn specs() -> Vec<(String, String)> {
    let mut specs = vec![(
        "hookstream".to_string(),
        "openapi/hookstream.yaml".to_string(),
    )];
    let folder = workspace_root().join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".yaml")?;
            (!stem.starts_with("unsupported_")).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "no fixture specs in {}",
        folder.display()
    );
    for name in names {
        specs.push((name.clone(), format!("tests/fixtures/{name}.yaml")));
    }
    specs
}

/// The three listings of one spec.
struct Listings {
    spec: String,
    server: String,
    client: String,
}

/// Derives the listing of the spec, of the generated server and of the
/// generated client.
fn listings(contract: &Contract, generated: &Generated, source: &str) -> Listings {
    let derive = |side: &str, operations: Result<Vec<OperationSurface>, String>| {
        let operations = operations
            .unwrap_or_else(|error| panic!("{source}: the {side} listing failed: {error}"));
        render(&operations)
    };
    Listings {
        spec: derive("spec", Ok(from_contract(contract))),
        server: derive("server", from_server_code(&generated.server)),
        client: derive("client", from_client_code(&generated.client)),
    }
}

fn generate_spec(source: &str, module: &str) -> (Contract, Generated) {
    let text = std::fs::read_to_string(workspace_root().join(source))
        .unwrap_or_else(|error| panic!("cannot read {source}: {error}"));
    let contract =
        Contract::parse(&text).unwrap_or_else(|error| panic!("{source} fails to parse: {error}"));
    let generated = generate(&text, &settings(source, module))
        .unwrap_or_else(|error| panic!("{source} fails to generate: {error}"));
    (contract, generated)
}

fn explain(source: &str, listings: &Listings) -> String {
    format!(
        "the sides of {source} disagree\n--- spec ---\n{}\n--- server ---\n{}\n--- client ---\n{}",
        listings.spec, listings.server, listings.client
    )
}

#[test]
fn sides_list_same_contract() {
    for (name, source) in specs() {
        let (contract, generated) = generate_spec(&source, &format!("crate::{name}"));
        let listings = listings(&contract, &generated, &source);
        assert_eq!(
            listings.server,
            listings.spec,
            "{}",
            explain(&source, &listings)
        );
        assert_eq!(
            listings.client,
            listings.spec,
            "{}",
            explain(&source, &listings)
        );
        insta::assert_snapshot!(format!("surface_{name}"), listings.spec);
    }
}

/// Fails when a `surface__*` snapshot belongs to no spec, which happens
/// when a fixture is renamed or removed.
#[test]
fn no_unreferenced_surface_snapshots() {
    let mut expected: Vec<String> = specs()
        .iter()
        .map(|(name, _)| format!("surface__surface_{name}.snap"))
        .collect();
    expected.sort();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut found: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("surface__"))
        .collect();
    found.sort();
    assert_eq!(found, expected);
}

/// A spec with a request body marked `required: false`.
const OPTIONAL_BODY: &str = r##"
openapi: 3.0.3
info: {title: notes, version: "1"}
paths:
  /notes:
    post:
      operationId: add_note
      requestBody:
        required: false
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Note"}
      responses:
        "204":
          description: Stored.
components:
  schemas:
    Note:
      type: object
      properties: {text: {type: string}}
"##;

/// progenitor 0.15 makes every request body required, while the server
/// would accept a request without one, so the generator rejects the spec
/// instead of generating sides that disagree.
#[test]
fn optional_body_is_rejected() {
    let error = generate(OPTIONAL_BODY, &settings("notes.yaml", "crate"))
        .expect_err("an optional body is rejected");
    assert_eq!(
        error.to_string(),
        "invalid OpenAPI document:\n  #/paths/~1notes/post/requestBody: an optional request body is not supported, because the progenitor client always sends one; set `required: true`"
    );
}
