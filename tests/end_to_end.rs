//! The whole contract end to end: the reference server on loopback with a
//! SQLite file, driven by the generated client with a seeded API key.

use hookstream_client::Error;
use hookstream_client::types::{
    ConnectionPatch, ConnectionStatus, FilterOp, FilterRule, FilterValue, Nullable,
};
use hookstream_tests::TestServer;
use serde_json::{Value, json};

/// Sends a patch and returns the connection from the `200` body.
async fn patch_ok(
    server: &TestServer,
    key: &str,
    id: &str,
    patch: ConnectionPatch,
) -> hookstream_client::types::Connection {
    let response = server
        .client(key)
        .update_connection()
        .id(id)
        .body(patch)
        .send()
        .await
        .expect("the update succeeds");
    assert_eq!(response.status().as_u16(), 200);
    response
        .into_inner()
        .connection
        .expect("the body holds the connection")
}

/// Sends a patch that must fail and returns its status and typed body.
async fn patch_error(
    client: &hookstream_client::Client,
    id: &str,
    patch: ConnectionPatch,
) -> (u16, hookstream_client::types::Error) {
    match client.update_connection().id(id).body(patch).send().await {
        Err(Error::ErrorResponse(response)) => (response.status().as_u16(), response.into_inner()),
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_field_updates_response_and_row() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.as_str();
    let rules = vec![
        FilterRule {
            field: "payload.data.amount".into(),
            op: FilterOp::Gt,
            value: FilterValue::Number(100.0),
        },
        FilterRule {
            field: "headers.X-Event".into(),
            op: FilterOp::Eq,
            value: FilterValue::String("order.created".into()),
        },
    ];
    let cases: Vec<(&str, ConnectionPatch, Value)> = vec![
        (
            "name",
            ConnectionPatch {
                name: Some("Renamed".into()),
                ..Default::default()
            },
            json!({"name": "Renamed"}),
        ),
        (
            "description",
            ConnectionPatch {
                description: Nullable::Value("New text".into()),
                ..Default::default()
            },
            json!({"description": "New text"}),
        ),
        (
            "status",
            ConnectionPatch {
                status: Some(ConnectionStatus::Paused),
                ..Default::default()
            },
            json!({"status": "paused", "enabled": 1}),
        ),
        (
            "enabled",
            ConnectionPatch {
                enabled: Some(false),
                ..Default::default()
            },
            json!({"status": "disabled", "enabled": 0}),
        ),
        (
            "filter_rules",
            ConnectionPatch {
                filter_rules: Nullable::Value(rules),
                ..Default::default()
            },
            json!({"filter_rules": r#"[{"field":"payload.data.amount","op":"gt","value":100.0},{"field":"headers.x-event","op":"eq","value":"order.created"}]"#}),
        ),
        (
            "transform_expression",
            ConnectionPatch {
                transform_expression: Nullable::Value("{ 'id': payload.id }".into()),
                ..Default::default()
            },
            json!({"transform_expression": "{ 'id': payload.id }"}),
        ),
        (
            "transform_enabled",
            ConnectionPatch {
                transform_enabled: Some(true),
                ..Default::default()
            },
            json!({"transform_enabled": 1}),
        ),
    ];
    for (field, patch, expected) in cases {
        let before = server.read_connection(id).expect("the row exists");
        let returned = patch_ok(&server, &tenant.api_key, id, patch).await;
        let after = server.read_connection(id).expect("the row exists");
        let returned = serde_json::to_value(&returned).expect("serialize the response");
        for (column, value) in expected.as_object().expect("an object") {
            assert_eq!(
                &after[column], value,
                "{field}: column {column} in the database"
            );
            assert_eq!(
                &returned[column], value,
                "{field}: property {column} in the response"
            );
        }
        for (column, value) in &before {
            if column != "updated_at" && !expected.as_object().unwrap().contains_key(column) {
                assert_eq!(
                    &after[column], value,
                    "{field}: column {column} must not change"
                );
            }
        }
        assert!(
            after["updated_at"].as_str() > before["updated_at"].as_str(),
            "{field}: updated_at advances"
        );
        assert_eq!(returned["source_name"], "Shop webhooks");
        assert_eq!(returned["destination_name"], "Billing service");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_key_is_401() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let patch = ConnectionPatch {
        name: Some("x".into()),
        ..Default::default()
    };
    let clients = [
        ("no credential", server.anonymous_client()),
        (
            "wrong key",
            server.client("hsk_0000000000000000000000000000"),
        ),
    ];
    for (case, client) in clients {
        let (status, body) = patch_error(&client, &tenant.connection_id, patch.clone()).await;
        assert_eq!(status, 401, "{case}");
        assert_eq!(body.status, 401, "{case}");
        assert!(!body.request_id.is_empty(), "{case}");
        assert!(body.error.contains("credentials"), "{case}: {}", body.error);
    }
    let row = server.read_connection(&tenant.connection_id).unwrap();
    assert_eq!(row["name"], "Orders to billing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tenant_and_missing_id_are_404() {
    let server = TestServer::start().await;
    let owner = server.seed();
    let other = server.seed();
    let patch = ConnectionPatch {
        name: Some("stolen".into()),
        ..Default::default()
    };
    let client = server.client(&other.api_key);
    let (status, foreign) = patch_error(&client, &owner.connection_id, patch.clone()).await;
    assert_eq!(status, 404);
    let (status, missing) = patch_error(&client, "0123456789abcdef0123456789abcdef", patch).await;
    assert_eq!(status, 404);
    assert_eq!(foreign.error, missing.error);
    assert_eq!(foreign.details, missing.details);
    let row = server.read_connection(&owner.connection_id).unwrap();
    assert_eq!(row["name"], "Orders to billing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_400_with_details() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let client = server.client(&tenant.api_key);
    let before = server.read_connection(&tenant.connection_id).unwrap();

    let (status, body) = patch_error(
        &client,
        "NOT-HEX",
        ConnectionPatch {
            name: Some("x".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status, 400);
    let details = body.details.expect("details list the violation");
    assert_eq!(details[0].path, "id");
    assert_eq!(details[0].code, "pattern");

    let patch = ConnectionPatch {
        name: Some("n".repeat(156)),
        filter_rules: Nullable::Value(vec![FilterRule {
            field: "payload.total".into(),
            op: FilterOp::Gt,
            value: FilterValue::String("ten".into()),
        }]),
        ..Default::default()
    };
    let (status, body) = patch_error(&client, &tenant.connection_id, patch).await;
    assert_eq!(status, 400);
    assert_eq!(body.status, 400);
    assert_eq!(
        body.error,
        "Invalid body: filter_rules[0].value must be a number for op 'gt' (and 1 more violation)"
    );
    let paths: Vec<String> = body.details.unwrap().into_iter().map(|d| d.path).collect();
    assert_eq!(paths, ["filter_rules[0].value", "name"]);

    let after = server.read_connection(&tenant.connection_id).unwrap();
    assert_eq!(before, after, "a rejected patch leaves the row untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_request_id_header() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let response = server
        .client(&tenant.api_key)
        .update_connection()
        .id(&tenant.connection_id)
        .body(ConnectionPatch {
            name: Some("x".into()),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    let header = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id is set");
    assert!(!header.is_empty());
}
