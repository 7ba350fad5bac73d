//! PATCH semantics of a connection: how an absent property, `null` and
//! `[]` travel from the generated client through the generated router,
//! what the reference server stores for each, and the connection rules it
//! enforces on top of the schema.
//!
//! The typed client sends every body it can express. Bodies it cannot
//! express (`null` for a non-nullable property, read-only or unknown
//! properties, a chosen key order) go out as raw JSON through reqwest.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use hookstream_api::runtime::{AuthFailure, Rejection, RequestContext, RequestMeta};
use hookstream_api::{Credential, HookstreamApi, UpdateConnectionParams, UpdateConnectionResponse};
use hookstream_client::types::{
    ConnectionPatch, ConnectionResponse, ConnectionStatus, Error as ErrorBody, FilterOp,
    FilterRule, FilterScalar, FilterValue, Nullable,
};
use hookstream_client::{Client, Credentials};
use hookstream_tests::TestServer;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The connection id that requests to the recording server carry.
const RECORDING_ID: &str = "0123456789abcdef0123456789abcdef";

/// Raw request bodies as the recording server received them, in order.
type RawBodies = Arc<Mutex<Vec<String>>>;

/// A [`HookstreamApi`] that stores every patch the generated router
/// decodes and returns `{"connection": null}`.
#[derive(Debug, Default)]
struct RecordingApi {
    decoded: Mutex<Vec<ConnectionPatch>>,
}

impl HookstreamApi for RecordingApi {
    type Identity = ();

    async fn authenticate(
        &self,
        _meta: &RequestMeta,
        _credential: Credential,
    ) -> Result<(), AuthFailure> {
        Ok(())
    }

    async fn update_connection(
        &self,
        _context: RequestContext<()>,
        _params: UpdateConnectionParams,
        body: ConnectionPatch,
    ) -> UpdateConnectionResponse {
        self.decoded
            .lock()
            .expect("lock the decoded patches")
            .push(body);
        UpdateConnectionResponse::Ok(ConnectionResponse { connection: None })
    }

    fn update_connection_rejected(
        &self,
        meta: &RequestMeta,
        rejection: Rejection,
    ) -> UpdateConnectionResponse {
        let body = ErrorBody {
            error: rejection.message(),
            status: i64::from(rejection.status()),
            request_id: meta.request_id.clone(),
            details: None,
        };
        match rejection {
            Rejection::Invalid(_) => UpdateConnectionResponse::BadRequest(body),
            Rejection::Unauthenticated(_) => UpdateConnectionResponse::Unauthorized(body),
            Rejection::PayloadTooLarge(_) => UpdateConnectionResponse::PayloadTooLarge(body),
            Rejection::UnsupportedMediaType(_) => {
                UpdateConnectionResponse::UnsupportedMediaType(body)
            }
        }
    }
}

/// Stores the raw request body, then passes the request on unchanged.
async fn record_body(State(bodies): State<RawBodies>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("read the request body");
    let text = String::from_utf8(bytes.to_vec()).expect("the client sends UTF-8");
    bodies.lock().expect("lock the raw bodies").push(text);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The generated router on a loopback port, serving [`RecordingApi`] behind
/// a middleware that records each raw request body.
#[derive(Debug)]
struct RecordingServer {
    address: SocketAddr,
    api: Arc<RecordingApi>,
    bodies: RawBodies,
    task: JoinHandle<()>,
}

/// The result of one request to the recording server.
#[derive(Debug)]
struct Exchange {
    /// The body exactly as it arrived.
    raw_body: String,
    /// The patch the router passed to the trait, or `None` when the router
    /// rejected the request first.
    decoded: Option<ConnectionPatch>,
    /// The HTTP status of the response.
    status: u16,
    /// The `error` sentence of an error response.
    error: Option<String>,
}

impl RecordingServer {
    async fn start() -> Self {
        let api = Arc::new(RecordingApi::default());
        let bodies = RawBodies::default();
        let app = hookstream_api::router(api.clone())
            .layer(middleware::from_fn_with_state(bodies.clone(), record_body));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("read the bound address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("serve the recording router");
        });
        Self {
            address,
            api,
            bodies,
            task,
        }
    }

    fn client(&self) -> Client {
        let base_url = format!("http://{}/v1", self.address);
        Client::new(&base_url, Credentials::default()).with_api_key_header("recording-key")
    }

    /// Sends a patch with the generated client and returns what the server
    /// received and decoded.
    async fn exchange(&self, patch: ConnectionPatch) -> Exchange {
        let result = self
            .client()
            .update_connection()
            .id(RECORDING_ID)
            .body(patch)
            .send()
            .await;
        let (status, error) = match result {
            Ok(response) => (response.status().as_u16(), None),
            Err(hookstream_client::Error::ErrorResponse(response)) => (
                response.status().as_u16(),
                Some(response.into_inner().error),
            ),
            Err(other) => panic!("the recording server returned no response: {other:?}"),
        };
        let mut bodies = std::mem::take(&mut *self.bodies.lock().expect("lock the raw bodies"));
        let mut decoded =
            std::mem::take(&mut *self.api.decoded.lock().expect("lock the decoded patches"));
        assert_eq!(bodies.len(), 1, "one raw body per request");
        assert!(decoded.len() <= 1, "at most one decoded patch per request");
        Exchange {
            raw_body: bodies.remove(0),
            decoded: decoded.pop(),
            status,
            error,
        }
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The state of one optional property in a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropertyState {
    Absent,
    Null,
    /// An empty array, for `filter_rules` only.
    Empty,
    Value,
}

impl PropertyState {
    fn label(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Null => "null",
            Self::Empty => "[]",
            Self::Value => "value",
        }
    }
}

const TEXT_STATES: [PropertyState; 3] = [
    PropertyState::Absent,
    PropertyState::Null,
    PropertyState::Value,
];
const LIST_STATES: [PropertyState; 4] = [
    PropertyState::Absent,
    PropertyState::Null,
    PropertyState::Empty,
    PropertyState::Value,
];

/// The description that the recording tests send as a value.
const DESCRIPTION: &str = "Forwards refund events";
/// The transform that the recording tests send as a value.
const EXPRESSION: &str = "payload.refund";

fn text_property(state: PropertyState, text: &str) -> Nullable<String> {
    match state {
        PropertyState::Absent => Nullable::Absent,
        PropertyState::Null => Nullable::Null,
        PropertyState::Empty => Nullable::Value(String::new()),
        PropertyState::Value => Nullable::Value(text.to_string()),
    }
}

fn rule_list_property(state: PropertyState, rule: &FilterRule) -> Nullable<Vec<FilterRule>> {
    match state {
        PropertyState::Absent => Nullable::Absent,
        PropertyState::Null => Nullable::Null,
        PropertyState::Empty => Nullable::Value(Vec::new()),
        PropertyState::Value => Nullable::Value(vec![rule.clone()]),
    }
}

fn total_rule() -> FilterRule {
    FilterRule {
        field: "payload.total".into(),
        op: FilterOp::Gt,
        value: FilterValue::Number(10.0),
    }
}

/// One combination of states of the three nullable properties.
#[derive(Debug, Clone, Copy)]
struct Combination {
    description: PropertyState,
    filter_rules: PropertyState,
    transform_expression: PropertyState,
}

impl Combination {
    /// Returns every combination: 3 states of `description` times 4 of
    /// `filter_rules` times 3 of `transform_expression`.
    fn all() -> Vec<Self> {
        let mut combinations = Vec::new();
        for description in TEXT_STATES {
            for filter_rules in LIST_STATES {
                for transform_expression in TEXT_STATES {
                    combinations.push(Self {
                        description,
                        filter_rules,
                        transform_expression,
                    });
                }
            }
        }
        combinations
    }

    fn label(self) -> String {
        format!(
            "description={} filter_rules={} transform_expression={}",
            self.description.label(),
            self.filter_rules.label(),
            self.transform_expression.label()
        )
    }

    fn patch(self) -> ConnectionPatch {
        ConnectionPatch {
            description: text_property(self.description, DESCRIPTION),
            filter_rules: rule_list_property(self.filter_rules, &total_rule()),
            transform_expression: text_property(self.transform_expression, EXPRESSION),
            ..Default::default()
        }
    }

    fn is_empty(self) -> bool {
        self.description == PropertyState::Absent
            && self.filter_rules == PropertyState::Absent
            && self.transform_expression == PropertyState::Absent
    }

    /// Returns each property with the JSON value it must have on the
    /// wire, or `None` where the key must be omitted.
    fn expected_wire(self) -> [(&'static str, Option<Value>); 3] {
        let wire = |state: PropertyState, value: Value| match state {
            PropertyState::Absent => None,
            PropertyState::Null => Some(Value::Null),
            PropertyState::Empty => Some(json!([])),
            PropertyState::Value => Some(value),
        };
        [
            ("description", wire(self.description, json!(DESCRIPTION))),
            (
                "filter_rules",
                wire(
                    self.filter_rules,
                    json!([{"field": "payload.total", "op": "gt", "value": 10.0}]),
                ),
            ),
            (
                "transform_expression",
                wire(self.transform_expression, json!(EXPRESSION)),
            ),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_sends_each_state() {
    let server = RecordingServer::start().await;
    let mut lines = Vec::new();
    for combination in Combination::all() {
        let case = combination.label();
        let exchange = server.exchange(combination.patch()).await;
        let sent: Value = serde_json::from_str(&exchange.raw_body).expect("the body is JSON");
        let object = sent.as_object().expect("the body is a JSON object");
        let expected = combination.expected_wire();
        for (key, value) in &expected {
            assert_eq!(object.get(*key), value.as_ref(), "{case}: property {key}");
        }
        let present = expected.iter().filter(|(_, value)| value.is_some()).count();
        assert_eq!(object.len(), present, "{case}: no other property is sent");
        lines.push(format!("{case}\n    {}", exchange.raw_body));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_decodes_each_state() {
    let server = RecordingServer::start().await;
    let mut lines = Vec::new();
    for combination in Combination::all() {
        let case = combination.label();
        let sent = combination.patch();
        let exchange = server.exchange(sent.clone()).await;
        if combination.is_empty() {
            assert_eq!(exchange.status, 400, "{case}: status");
            assert_eq!(exchange.decoded, None, "{case}: the trait is not called");
            let error = exchange.error.expect("an error response has a sentence");
            lines.push(format!("{case}\n    rejected: {error}"));
            continue;
        }
        assert_eq!(exchange.status, 200, "{case}: status");
        let decoded = exchange.decoded.expect("the trait receives the patch");
        assert_eq!(decoded, sent, "{case}: decoded patch");
        lines.push(format!(
            "{case}\n    description: {:?}\n    filter_rules: {:?}\n    transform_expression: {:?}",
            decoded.description, decoded.filter_rules, decoded.transform_expression
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

/// A request body for the reference server.
#[derive(Debug, Clone)]
enum PatchBody {
    /// Sent with the generated client.
    Typed(ConnectionPatch),
    /// Sent as this exact text with reqwest, for bodies that the typed
    /// client cannot express.
    Raw(String),
}

/// A response from the reference server: its status and JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
}

async fn send(server: &TestServer, api_key: &str, id: &str, request: &PatchBody) -> Reply {
    match request {
        PatchBody::Typed(patch) => send_typed(server, api_key, id, patch.clone()).await,
        PatchBody::Raw(text) => send_raw(server, api_key, id, text).await,
    }
}

async fn send_typed(server: &TestServer, api_key: &str, id: &str, patch: ConnectionPatch) -> Reply {
    let result = server
        .client(api_key)
        .update_connection()
        .id(id)
        .body(patch)
        .send()
        .await;
    match result {
        Ok(response) => Reply {
            status: response.status().as_u16(),
            body: serde_json::to_value(response.into_inner()).expect("serialize the response"),
        },
        Err(hookstream_client::Error::ErrorResponse(response)) => Reply {
            status: response.status().as_u16(),
            body: serde_json::to_value(response.into_inner()).expect("serialize the error"),
        },
        Err(other) => panic!("the server returned no declared response: {other:?}"),
    }
}

async fn send_raw(server: &TestServer, api_key: &str, id: &str, text: &str) -> Reply {
    let response = reqwest::Client::new()
        .patch(format!("{}/connections/{id}", server.base_url()))
        .header("X-API-Key", api_key)
        .header("Content-Type", "application/json")
        .body(text.to_string())
        .send()
        .await
        .expect("send the raw request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("the response body is JSON");
    Reply { status, body }
}

/// Runs one statement on the server's database through a separate SQLite
/// connection, with `?1` bound to the connection id.
fn execute(server: &TestServer, sql: &str, id: &str) {
    let connection = rusqlite::Connection::open(&server.database).expect("open the database");
    let changed = connection
        .execute(sql, [id])
        .expect("run the setup statement");
    assert_eq!(changed, 1, "the setup statement changes one row: {sql}");
}

/// Returns the columns whose value differs between two reads of a row,
/// without `updated_at`.
fn changed_columns(before: &Map<String, Value>, after: &Map<String, Value>) -> BTreeSet<String> {
    after
        .iter()
        .filter(|(column, value)| *column != "updated_at" && before.get(*column) != Some(*value))
        .map(|(column, _)| column.clone())
        .collect()
}

/// Checks a `200` reply: exactly the `expected` columns changed, to those
/// values, `updated_at` advanced and the response matches the row.
fn check_updated(
    case: &str,
    reply: &Reply,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    expected: &Value,
) {
    assert_eq!(reply.status, 200, "{case}: status, body {}", reply.body);
    let expected = expected
        .as_object()
        .expect("expected columns are an object");
    let expected_names: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        changed_columns(before, after),
        expected_names,
        "{case}: changed columns"
    );
    for (column, value) in expected {
        assert_eq!(&after[column], value, "{case}: column {column}");
    }
    assert!(
        after["updated_at"].as_str() > before["updated_at"].as_str(),
        "{case}: updated_at advances"
    );
    let returned = &reply.body["connection"];
    for (column, value) in after {
        assert_eq!(
            &returned[column], value,
            "{case}: response property {column}"
        );
    }
}

/// Checks a `400` reply: the `details` list these paths and codes in
/// order, the error sentence contains `error_part` and the row is
/// unchanged.
fn check_rejected(
    case: &str,
    reply: &Reply,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    details: &[(&str, &str)],
    error_part: &str,
) {
    assert_eq!(reply.status, 400, "{case}: status, body {}", reply.body);
    assert_eq!(reply.body["status"], 400, "{case}: status in the body");
    let listed = reply.body["details"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let paths: Vec<&str> = listed.iter().filter_map(|d| d["path"].as_str()).collect();
    let codes: Vec<&str> = listed.iter().filter_map(|d| d["code"].as_str()).collect();
    let expected_paths: Vec<&str> = details.iter().map(|(path, _)| *path).collect();
    let expected_codes: Vec<&str> = details.iter().map(|(_, code)| *code).collect();
    assert_eq!(paths, expected_paths, "{case}: details paths");
    assert_eq!(codes, expected_codes, "{case}: details codes");
    let error = reply.body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(error_part),
        "{case}: error {error:?} contains {error_part:?}"
    );
    assert_eq!(after, before, "{case}: the row is unchanged");
}

/// Sets the row's three nullable columns to values that the tests then
/// keep, clear or replace.
async fn fill_nullable_columns(server: &TestServer, api_key: &str, id: &str) {
    let patch = ConnectionPatch {
        description: Nullable::Value("Forwards order events".into()),
        filter_rules: Nullable::Value(vec![total_rule()]),
        transform_expression: Nullable::Value("payload.order".into()),
        ..Default::default()
    };
    let reply = send_typed(server, api_key, id, patch).await;
    assert_eq!(
        reply.status, 200,
        "fill the nullable columns: {}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_applies_each_state() {
    let server = TestServer::start().await;
    let new_rule = FilterRule {
        field: "payload.currency".into(),
        op: FilterOp::Eq,
        value: FilterValue::String("EUR".into()),
    };
    let new_rules_text = r#"[{"field":"payload.currency","op":"eq","value":"EUR"}]"#;
    let mut cases: Vec<(&str, PropertyState)> = Vec::new();
    for state in TEXT_STATES {
        cases.push(("description", state));
        cases.push(("transform_expression", state));
    }
    for state in LIST_STATES {
        cases.push(("filter_rules", state));
    }
    for (column, state) in cases {
        let case = format!("{column}={}", state.label());
        let tenant = server.seed();
        let id = tenant.connection_id.as_str();
        fill_nullable_columns(&server, &tenant.api_key, id).await;
        let before = server.read_connection(id).expect("the row exists");
        // `name` keeps the body non-empty when the property is absent.
        let mut patch = ConnectionPatch {
            name: Some("Renamed".into()),
            ..Default::default()
        };
        let new_value = match column {
            "description" => {
                patch.description = text_property(state, "Routes refunds");
                json!("Routes refunds")
            }
            "transform_expression" => {
                patch.transform_expression = text_property(state, "payload.refund");
                json!("payload.refund")
            }
            _ => {
                patch.filter_rules = rule_list_property(state, &new_rule);
                json!(new_rules_text)
            }
        };
        let mut expected = json!({"name": "Renamed"});
        match state {
            PropertyState::Absent => {}
            PropertyState::Null | PropertyState::Empty => expected[column] = Value::Null,
            PropertyState::Value => expected[column] = new_value,
        }
        let reply = send_typed(&server, &tenant.api_key, id, patch).await;
        let after = server.read_connection(id).expect("the row exists");
        check_updated(&case, &reply, &before, &after, &expected);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_for_non_nullable_is_400() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.as_str();
    for property in ["name", "enabled", "status", "transform_enabled"] {
        let before = server.read_connection(id).expect("the row exists");
        let body = json!({ property: null }).to_string();
        let reply = send_raw(&server, &tenant.api_key, id, &body).await;
        let after = server.read_connection(id).expect("the row exists");
        assert_eq!(reply.status, 400, "{property}: status, body {}", reply.body);
        assert_eq!(reply.body["status"], 400, "{property}: status in the body");
        let details = reply.body["details"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let paths: Vec<&str> = details.iter().filter_map(|d| d["path"].as_str()).collect();
        let codes: Vec<&str> = details.iter().filter_map(|d| d["code"].as_str()).collect();
        let messages: Vec<&str> = details
            .iter()
            .filter_map(|d| d["message"].as_str())
            .collect();
        // `status` is an enum, so `null` breaks both its type and its enum
        // and gets two details, both on `status`.
        assert!(!paths.is_empty(), "{property}: details are listed");
        assert!(
            paths.iter().all(|path| *path == property),
            "{property}: every detail names it: {paths:?}"
        );
        assert!(
            codes.contains(&"type"),
            "{property}: a type violation: {codes:?}"
        );
        assert!(
            messages.iter().any(|message| message.ends_with("not null")),
            "{property}: a message says null is invalid: {messages:?}"
        );
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(&format!("Invalid body: {property} must be")),
            "{property}: error {error:?}"
        );
        assert_eq!(after, before, "{property}: the row is unchanged");
    }
    server.stop().await;
}

/// The outcome that a row of the rules table expects.
#[derive(Debug, Clone)]
enum Expected {
    /// A `200` that changes exactly these columns, to these values.
    Updated(Value),
    /// A `400` that leaves the row unchanged.
    Rejected {
        /// The `path` and `code` of each entry of `details`, in order.
        details: Vec<(String, &'static str)>,
        /// Text that the `error` sentence contains.
        error_part: String,
    },
}

/// One row of the connection rules table.
#[derive(Debug, Clone)]
struct RuleCase {
    name: String,
    /// A statement run on the database before the request, with `?1` bound
    /// to the connection id.
    setup: Option<&'static str>,
    request: PatchBody,
    expected: Expected,
}

const SET_DISABLED: &str = "UPDATE connections SET status = 'disabled', enabled = 0 WHERE id = ?1";
const SET_PAUSED: &str = "UPDATE connections SET status = 'paused' WHERE id = ?1";
const STORE_EXPRESSION: &str =
    "UPDATE connections SET transform_expression = 'payload.order' WHERE id = ?1";
const ENABLE_TRANSFORM: &str = "UPDATE connections SET transform_enabled = 1, \
     transform_expression = 'payload.order' WHERE id = ?1";
/// `payload.(` does not parse as JSONata.
const STORE_INVALID_EXPRESSION: &str =
    "UPDATE connections SET transform_expression = 'payload.(' WHERE id = ?1";

fn updated(
    name: &str,
    setup: Option<&'static str>,
    request: PatchBody,
    columns: Value,
) -> RuleCase {
    RuleCase {
        name: name.to_string(),
        setup,
        request,
        expected: Expected::Updated(columns),
    }
}

fn rejected(
    name: &str,
    setup: Option<&'static str>,
    request: PatchBody,
    details: &[(&str, &'static str)],
    error_part: &str,
) -> RuleCase {
    RuleCase {
        name: name.to_string(),
        setup,
        request,
        expected: Expected::Rejected {
            details: details
                .iter()
                .map(|(path, code)| (path.to_string(), *code))
                .collect(),
            error_part: error_part.to_string(),
        },
    }
}

fn typed(patch: ConnectionPatch) -> PatchBody {
    PatchBody::Typed(patch)
}

fn raw(body: &str) -> PatchBody {
    PatchBody::Raw(body.to_string())
}

fn status_patch(enabled: Option<bool>, status: Option<ConnectionStatus>) -> PatchBody {
    typed(ConnectionPatch {
        enabled,
        status,
        ..Default::default()
    })
}

fn transform_patch(enabled: Option<bool>, expression: Nullable<String>) -> PatchBody {
    typed(ConnectionPatch {
        transform_enabled: enabled,
        transform_expression: expression,
        ..Default::default()
    })
}

fn rules_patch(rules: Vec<FilterRule>) -> PatchBody {
    typed(ConnectionPatch {
        filter_rules: Nullable::Value(rules),
        ..Default::default()
    })
}

fn rule(field: &str, op: FilterOp, value: FilterValue) -> FilterRule {
    FilterRule {
        field: field.to_string(),
        op,
        value,
    }
}

fn status_rows() -> Vec<RuleCase> {
    use ConnectionStatus::{Active, Disabled, Paused};
    let disabled = json!({"status": "disabled", "enabled": 0});
    let conflict = [("enabled", "conflict")];
    vec![
        updated(
            "enabled false disables active",
            None,
            status_patch(Some(false), None),
            disabled.clone(),
        ),
        updated(
            "enabled false disables paused",
            Some(SET_PAUSED),
            status_patch(Some(false), None),
            disabled.clone(),
        ),
        updated(
            "enabled true activates disabled",
            Some(SET_DISABLED),
            status_patch(Some(true), None),
            json!({"status": "active", "enabled": 1}),
        ),
        updated(
            "enabled true leaves paused",
            Some(SET_PAUSED),
            status_patch(Some(true), None),
            json!({}),
        ),
        updated(
            "enabled true leaves active",
            None,
            status_patch(Some(true), None),
            json!({}),
        ),
        updated(
            "status disabled clears enabled",
            None,
            status_patch(None, Some(Disabled)),
            disabled.clone(),
        ),
        updated(
            "status paused keeps enabled",
            None,
            status_patch(None, Some(Paused)),
            json!({"status": "paused"}),
        ),
        updated(
            "status active sets enabled",
            Some(SET_DISABLED),
            status_patch(None, Some(Active)),
            json!({"status": "active", "enabled": 1}),
        ),
        updated(
            "enabled false with status disabled",
            None,
            status_patch(Some(false), Some(Disabled)),
            disabled,
        ),
        updated(
            "enabled true with status paused",
            Some(SET_DISABLED),
            status_patch(Some(true), Some(Paused)),
            json!({"status": "paused", "enabled": 1}),
        ),
        rejected(
            "enabled false with status active",
            None,
            status_patch(Some(false), Some(Active)),
            &conflict,
            "enabled is false but status is 'active'",
        ),
        rejected(
            "enabled false with status paused",
            None,
            status_patch(Some(false), Some(Paused)),
            &conflict,
            "enabled is false but status is 'paused'",
        ),
        rejected(
            "enabled true with status disabled",
            None,
            status_patch(Some(true), Some(Disabled)),
            &conflict,
            "enabled is true but status is 'disabled'",
        ),
    ]
}

fn transform_rows() -> Vec<RuleCase> {
    let missing = [("transform_enabled", "missing_expression")];
    let expression = |text: &str| Nullable::Value(text.to_string());
    vec![
        rejected(
            "unparsable expression names position",
            None,
            transform_patch(None, expression("payload.(")),
            &[("transform_expression", "invalid_jsonata")],
            "transform_expression is not a valid JSONata expression: S0211 at character 9",
        ),
        rejected(
            "position counts characters, not bytes",
            None,
            transform_patch(None, expression("'ééé' & payload.(")),
            &[("transform_expression", "invalid_jsonata")],
            "transform_expression is not a valid JSONata expression: S0211 at character 17",
        ),
        rejected(
            "unterminated string names position",
            None,
            transform_patch(None, expression("payload.name = \"abc")),
            &[("transform_expression", "invalid_jsonata")],
            "transform_expression is not a valid JSONata expression: S0101 at character 15",
        ),
        rejected(
            "transform enabled without expression",
            None,
            transform_patch(Some(true), Nullable::Absent),
            &missing,
            "transform_enabled requires a non-empty transform_expression",
        ),
        rejected(
            "transform enabled with null expression",
            None,
            transform_patch(Some(true), Nullable::Null),
            &missing,
            "transform_enabled requires a non-empty transform_expression",
        ),
        rejected(
            "clearing expression of enabled transform",
            Some(ENABLE_TRANSFORM),
            transform_patch(None, Nullable::Null),
            &missing,
            "transform_enabled requires a non-empty transform_expression",
        ),
        rejected(
            "blank expression for enabled transform",
            Some(ENABLE_TRANSFORM),
            transform_patch(None, expression("   ")),
            &missing,
            "transform_enabled requires a non-empty transform_expression",
        ),
        updated(
            "transform enabled with sent expression",
            None,
            transform_patch(Some(true), expression("payload.order")),
            json!({"transform_enabled": 1, "transform_expression": "payload.order"}),
        ),
        updated(
            "transform enabled with stored expression",
            Some(STORE_EXPRESSION),
            transform_patch(Some(true), Nullable::Absent),
            json!({"transform_enabled": 1}),
        ),
        updated(
            "transform disabled and expression cleared",
            Some(ENABLE_TRANSFORM),
            transform_patch(Some(false), Nullable::Null),
            json!({"transform_enabled": 0, "transform_expression": null}),
        ),
        updated(
            "stored invalid expression not rechecked",
            Some(STORE_INVALID_EXPRESSION),
            typed(ConnectionPatch {
                name: Some("Renamed".into()),
                ..Default::default()
            }),
            json!({"name": "Renamed"}),
        ),
        updated(
            "enabling stored invalid expression",
            Some(STORE_INVALID_EXPRESSION),
            transform_patch(Some(true), Nullable::Absent),
            json!({"transform_enabled": 1}),
        ),
    ]
}

/// Returns a row for every operator and every kind of value: the value
/// either fits the operator and is stored, or is a `400` on its path.
fn filter_value_rows() -> Vec<RuleCase> {
    let values: [(&str, FilterValue, &str); 4] = [
        ("string", FilterValue::String("paid".into()), r#""paid""#),
        ("number", FilterValue::Number(10.0), "10.0"),
        ("boolean", FilterValue::Boolean(true), "true"),
        (
            "array",
            FilterValue::Array(vec![
                FilterScalar::String("a".into()),
                FilterScalar::Number(1.0),
                FilterScalar::Boolean(false),
            ]),
            r#"["a",1.0,false]"#,
        ),
    ];
    let fits: [(FilterOp, &[&str]); 9] = [
        (FilterOp::Eq, &["string", "number", "boolean"]),
        (FilterOp::Neq, &["string", "number", "boolean"]),
        (FilterOp::Contains, &["string"]),
        (FilterOp::Gt, &["number"]),
        (FilterOp::Gte, &["number"]),
        (FilterOp::Lt, &["number"]),
        (FilterOp::Lte, &["number"]),
        (FilterOp::Exists, &["boolean"]),
        (FilterOp::In, &["array"]),
    ];
    let mut rows = Vec::new();
    for (op, fitting) in fits {
        for (kind, value, text) in &values {
            let name = format!("{op} with {kind} value");
            let request = rules_patch(vec![rule("payload.status", op, value.clone())]);
            if fitting.contains(kind) {
                let stored =
                    format!(r#"[{{"field":"payload.status","op":"{op}","value":{text}}}]"#);
                rows.push(updated(
                    &name,
                    None,
                    request,
                    json!({"filter_rules": stored}),
                ));
            } else {
                rows.push(rejected(
                    &name,
                    None,
                    request,
                    &[("filter_rules[0].value", "op_mismatch")],
                    &format!("for op '{op}'"),
                ));
            }
        }
    }
    rows.push(rejected(
        "in with empty array",
        None,
        rules_patch(vec![rule(
            "payload.status",
            FilterOp::In,
            FilterValue::Array(Vec::new()),
        )]),
        &[("filter_rules[0].value", "one_of")],
        "filter_rules[0].value",
    ));
    rows
}

fn filter_field_rows() -> Vec<RuleCase> {
    let field_row = |name: &str, field: &str, code: &'static str| {
        rejected(
            name,
            None,
            rules_patch(vec![rule(
                field,
                FilterOp::Exists,
                FilterValue::Boolean(true),
            )]),
            &[("filter_rules[0].field", code)],
            "filter_rules[0].field",
        )
    };
    let mut rows = vec![
        field_row("unknown root", "body.amount", "pattern"),
        field_row("root with wrong case", "Payload.amount", "pattern"),
        field_row("empty middle segment", "payload..amount", "pattern"),
        field_row("empty last segment", "payload.", "pattern"),
        field_row("headers without a name", "headers", "field"),
        field_row("headers with two names", "headers.x-event.extra", "field"),
    ];
    for root in ["method", "content_type", "source_ip"] {
        rows.push(field_row(
            &format!("{root} with sub-path"),
            &format!("{root}.value"),
            "field",
        ));
        rows.push(updated(
            &format!("{root} alone"),
            None,
            rules_patch(vec![rule(root, FilterOp::Exists, FilterValue::Boolean(true))]),
            json!({"filter_rules": format!(r#"[{{"field":"{root}","op":"exists","value":true}}]"#)}),
        ));
    }
    rows.extend([
        updated(
            "header name stored lower-case",
            None,
            rules_patch(vec![rule(
                "headers.X-Event",
                FilterOp::Eq,
                FilterValue::String("Order.Created".into()),
            )]),
            json!({"filter_rules": r#"[{"field":"headers.x-event","op":"eq","value":"Order.Created"}]"#}),
        ),
        updated(
            "payload path keeps its case",
            None,
            rules_patch(vec![rule(
                "payload.Data.Amount",
                FilterOp::Gt,
                FilterValue::Number(5.0),
            )]),
            json!({"filter_rules": r#"[{"field":"payload.Data.Amount","op":"gt","value":5.0}]"#}),
        ),
        updated(
            "rules stored as normalized text",
            None,
            raw(r#"{ "filter_rules" : [ { "value" : 5, "op" : "gte", "field" : "payload.amount" } ] }"#),
            json!({"filter_rules": r#"[{"field":"payload.amount","op":"gte","value":5.0}]"#}),
        ),
        updated(
            "empty rule list stored as null",
            Some("UPDATE connections SET filter_rules = '[]' WHERE id = ?1"),
            rules_patch(Vec::new()),
            json!({"filter_rules": null}),
        ),
        rejected(
            "bad second rule names index",
            None,
            rules_patch(vec![
                rule("payload.amount", FilterOp::Gt, FilterValue::Number(1.0)),
                rule("method.x", FilterOp::Eq, FilterValue::String("POST".into())),
            ]),
            &[("filter_rules[1].field", "field")],
            "filter_rules[1].field must be `method` alone",
        ),
    ]);
    rows
}

fn property_rows() -> Vec<RuleCase> {
    let mut rows = vec![
        rejected(
            "empty patch",
            None,
            typed(ConnectionPatch::default()),
            &[("", "no_fields")],
            "No fields to update",
        ),
        rejected(
            "unknown property",
            None,
            raw(r#"{"colour": "red"}"#),
            &[("colour", "unknown_property")],
            "colour is not a known property",
        ),
    ];
    let read_only = [
        ("id", json!("0123456789abcdef0123456789abcdef")),
        ("org_id", json!("0123456789abcdef0123456789abcdef")),
        ("env_id", json!("0123456789abcdef0123456789abcdef")),
        ("source_id", json!("0123456789abcdef0123456789abcdef")),
        ("destination_id", json!("0123456789abcdef0123456789abcdef")),
        ("event_count", json!(0)),
        ("last_event_at", json!(null)),
        ("created_at", json!("2026-01-01T00:00:00.000000Z")),
        ("updated_at", json!("2026-01-01T00:00:00.000000Z")),
        ("source_name", json!("Shop webhooks")),
        ("destination_name", json!("Billing service")),
    ];
    for (property, value) in read_only {
        let body = json!({ "name": "Renamed", property: value }).to_string();
        rows.push(rejected(
            &format!("read-only {property}"),
            None,
            raw(&body),
            &[(property, "read_only")],
            &format!("{property} is read-only"),
        ));
    }
    rows.extend([
        rejected(
            "several schema violations",
            None,
            raw(r#"{"name": "", "colour": "red", "id": "x", "status": "archived"}"#),
            &[
                ("colour", "unknown_property"),
                ("id", "read_only"),
                ("name", "min_length"),
                ("status", "enum"),
            ],
            "(and 3 more violations)",
        ),
        rejected(
            "several rule violations",
            None,
            typed(ConnectionPatch {
                enabled: Some(false),
                status: Some(ConnectionStatus::Active),
                filter_rules: Nullable::Value(vec![rule(
                    "method.verb",
                    FilterOp::Gt,
                    FilterValue::String("POST".into()),
                )]),
                transform_expression: Nullable::Value("payload.(".into()),
                ..Default::default()
            }),
            &[
                ("enabled", "conflict"),
                ("filter_rules[0].field", "field"),
                ("filter_rules[0].value", "op_mismatch"),
                ("transform_expression", "invalid_jsonata"),
            ],
            "(and 3 more violations)",
        ),
    ]);
    rows.extend(schema_and_rule_rows());
    rows
}

/// Bodies that break the schema and a connection rule at once: the `400`
/// lists both kinds, and a part with a schema violation is not checked
/// against the rules.
fn schema_and_rule_rows() -> Vec<RuleCase> {
    let valid_rule = json!({"field": "payload.total", "op": "gt", "value": 1});
    let bad_rule = json!({"field": "payload.total", "op": "gt", "value": "ten"});
    let mut too_many = vec![valid_rule.clone(); 50];
    too_many.push(bad_rule.clone());
    let mut eleven = vec![valid_rule; 11];
    eleven[2] = bad_rule.clone();
    eleven[10] = bad_rule;
    vec![
        rejected(
            "dotted unknown name hides no rule",
            None,
            raw(r#"{"enabled": false, "status": "active", "enabled.x": 1}"#),
            &[
                (r#"["enabled.x"]"#, "unknown_property"),
                ("enabled", "conflict"),
            ],
            "(and 1 more violation)",
        ),
        rejected(
            "rules past the limit of 50 are still checked",
            None,
            raw(&json!({ "filter_rules": too_many }).to_string()),
            &[
                ("filter_rules", "max_items"),
                ("filter_rules[50].value", "op_mismatch"),
            ],
            "filter_rules must have at most 50 items",
        ),
        rejected(
            "rule indexes sort as numbers",
            None,
            raw(&json!({ "name": "", "filter_rules": eleven }).to_string()),
            &[
                ("filter_rules[2].value", "op_mismatch"),
                ("filter_rules[10].value", "op_mismatch"),
                ("name", "min_length"),
            ],
            "filter_rules[2].value must be a number",
        ),
        rejected(
            "read-only property and status conflict",
            None,
            raw(r#"{"id": "x", "enabled": false, "status": "active"}"#),
            &[("enabled", "conflict"), ("id", "read_only")],
            "(and 1 more violation)",
        ),
        rejected(
            "schema and rule violations in filter rules",
            None,
            raw(r#"{"name": "", "filter_rules": [
                {"field": "payload.amount", "op": "gt", "value": "ten"},
                {"field": "body.amount", "op": "eq", "value": 1},
                {"field": "method.verb", "op": "exists", "value": "yes"}
            ]}"#),
            &[
                ("filter_rules[0].value", "op_mismatch"),
                ("filter_rules[1].field", "pattern"),
                ("filter_rules[2].field", "field"),
                ("filter_rules[2].value", "op_mismatch"),
                ("name", "min_length"),
            ],
            "(and 4 more violations)",
        ),
        rejected(
            "broken rule part not checked again",
            None,
            raw(
                r#"{"colour": 1, "filter_rules": [{"field": "headers.a.b", "op": "like", "value": 1}]}"#,
            ),
            &[
                ("colour", "unknown_property"),
                ("filter_rules[0].field", "field"),
                ("filter_rules[0].op", "enum"),
            ],
            "(and 2 more violations)",
        ),
        rejected(
            "schema violation and invalid JSONata",
            None,
            raw(r#"{"status": "archived", "transform_expression": "payload.("}"#),
            &[
                ("status", "enum"),
                ("transform_expression", "invalid_jsonata"),
            ],
            "(and 1 more violation)",
        ),
        rejected(
            "schema violation and a transform enabled without expression",
            None,
            raw(r#"{"description": 5, "transform_enabled": true}"#),
            &[
                ("description", "type"),
                ("transform_enabled", "missing_expression"),
            ],
            "(and 1 more violation)",
        ),
        rejected(
            "schema violation and a transform enabled beside a stored expression",
            Some(STORE_EXPRESSION),
            raw(r#"{"description": 5, "transform_enabled": true}"#),
            &[("description", "type")],
            "description must be a string",
        ),
        rejected(
            "an expression of the wrong type is not reported missing",
            None,
            raw(r#"{"transform_enabled": true, "transform_expression": 5}"#),
            &[("transform_expression", "type")],
            "transform_expression must be a string",
        ),
        rejected(
            "enabled of the wrong type is not compared with status",
            None,
            raw(r#"{"enabled": "no", "status": "active"}"#),
            &[("enabled", "type")],
            "enabled must be a boolean",
        ),
    ]
}

/// An invalid id and a broken connection rule: both are listed, the path
/// parameter first, and the row is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_id_and_rule_both_listed() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.as_str();
    let before = server.read_connection(id).expect("the row exists");
    let reply = send_raw(
        &server,
        &tenant.api_key,
        "NOT-A-HEX-ID",
        r#"{"enabled": true, "status": "disabled", "transform_enabled": true}"#,
    )
    .await;
    let after = server.read_connection(id).expect("the row exists");
    check_rejected(
        "invalid id and status conflict",
        &reply,
        &before,
        &after,
        &[("id", "pattern"), ("enabled", "conflict")],
        "Invalid path parameter: id must match",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_patch_says_no_fields() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.as_str();
    let before = server.read_connection(id).expect("the row exists");
    let reply = send_typed(&server, &tenant.api_key, id, ConnectionPatch::default()).await;
    let after = server.read_connection(id).expect("the row exists");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"], "No fields to update");
    assert_eq!(reply.body["details"][0]["message"], "No fields to update");
    assert_eq!(after, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_rules_by_row() {
    let server = TestServer::start().await;
    let rows: Vec<RuleCase> = [
        status_rows(),
        transform_rows(),
        filter_value_rows(),
        filter_field_rows(),
        property_rows(),
    ]
    .concat();
    for row in rows {
        let tenant = server.seed();
        let id = tenant.connection_id.as_str();
        if let Some(sql) = row.setup {
            execute(&server, sql, id);
        }
        let before = server.read_connection(id).expect("the row exists");
        let reply = send(&server, &tenant.api_key, id, &row.request).await;
        let after = server.read_connection(id).expect("the row exists");
        match &row.expected {
            Expected::Updated(columns) => {
                check_updated(&row.name, &reply, &before, &after, columns)
            }
            Expected::Rejected {
                details,
                error_part,
            } => {
                let details: Vec<(&str, &str)> = details
                    .iter()
                    .map(|(path, code)| (path.as_str(), *code))
                    .collect();
                check_rejected(&row.name, &reply, &before, &after, &details, error_part);
            }
        }
    }
    server.stop().await;
}
