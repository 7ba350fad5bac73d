//! The synthetic specs have the requested size, unique operation ids, and
//! pass the generator.

use hookstream_bench::synthetic::spec;
use serde_json::Value;

fn operations(text: &str) -> Vec<Value> {
    let document: Value = serde_json::from_str(text).expect("the spec is JSON");
    document["paths"]
        .as_object()
        .expect("paths is an object")
        .values()
        .flat_map(|item| {
            item.as_object()
                .expect("a path item is an object")
                .values()
                .cloned()
        })
        .collect()
}

#[test]
fn spec_has_requested_operation_count() {
    for size in [1, 2, 3, 4, 5, 10, 100] {
        assert_eq!(operations(&spec(size)).len(), size, "size {size}");
    }
}

#[test]
fn operation_ids_are_unique() {
    let found = operations(&spec(40));
    let mut ids: Vec<&str> = found
        .iter()
        .map(|operation| {
            operation["operationId"]
                .as_str()
                .expect("every operation has an id")
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40);
}

#[test]
fn spec_generates_server_and_client() {
    let settings = hookstream_codegen::Settings {
        command: "cargo test -p hookstream-bench".into(),
        source: "a synthetic spec".into(),
        types_crate: "synthetic_types".into(),
        runtime_crate: "hookstream_runtime".into(),
        client_module: "crate".into(),
    };
    let generated =
        hookstream_codegen::generate(&spec(8), &settings).expect("the generator accepts the spec");
    for operation_id in [
        "get_resource0",
        "update_resource1",
        "create_resource1",
        "delete_resource1",
    ] {
        assert!(
            generated.server.contains(&format!("fn {operation_id}(")),
            "server lacks {operation_id}"
        );
        assert!(
            generated.client.contains(&format!("fn {operation_id}(")),
            "client lacks {operation_id}"
        );
    }
}
