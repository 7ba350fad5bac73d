//! Bad input over raw HTTP: every malformed request gets the documented
//! status and `Error` body, never a 5xx, and leaves the row unchanged.
//!
//! Requests are written byte by byte on a TCP socket, so that a test can
//! send what no HTTP client library would: invalid UTF-8, control
//! characters in a header, a missing `Content-Type` or an oversized body.

use hookstream_api::HookstreamApi;
use hookstream_server::ReferenceApi;
use hookstream_tests::TestServer;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The body limit of the reference server in bytes.
const BODY_LIMIT: usize = <ReferenceApi as HookstreamApi>::MAX_BODY_BYTES;
/// The deepest nesting the strict body parser accepts, counting the top
/// object as level 1: serde_json's recursion limit of 128 rejects the
/// 128th level.
const MAX_DEPTH: usize = 127;

/// A response read off the socket.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one `PATCH /v1/connections/{id}` with `Connection: close` and the
/// given header lines and body, and reads the whole response. It blocks, so
/// async tests call it through `spawn_blocking`.
///
/// The body is written on another thread while the response is read,
/// because the server responds to an oversized body before it has read all of
/// it.
fn send_raw(
    address: SocketAddr,
    id: &str,
    headers: &[(&str, Vec<u8>)],
    body: &[u8],
) -> RawResponse {
    let mut request =
        format!("PATCH /v1/connections/{id} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n")
            .into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);

    let mut reader = TcpStream::connect(address).expect("connect to the server");
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let mut writer = reader.try_clone().expect("clone the socket");
    let writing = std::thread::spawn(move || {
        // The server may close the socket before it has read an oversized
        // body, so a failed write is expected there and the response
        // decides the case.
        let _ = writer.write_all(&request);
    });
    let mut received = Vec::new();
    if let Err(error) = reader.read_to_end(&mut received) {
        assert!(!received.is_empty(), "reading the response failed: {error}");
    }
    writing.join().expect("join the writer");
    parse_response(&received)
}

/// Runs [`send_raw`] off the async runtime.
async fn send(
    address: SocketAddr,
    id: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
) -> RawResponse {
    tokio::task::spawn_blocking(move || send_raw(address, &id, &headers, &body))
        .await
        .expect("join the request thread")
}

fn parse_response(received: &[u8]) -> RawResponse {
    let end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "the response has no end of headers: {:?}",
                String::from_utf8_lossy(received)
            )
        });
    let head = std::str::from_utf8(&received[..end]).expect("the response head is UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("invalid status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let mut body = received[end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse::<usize>().ok());
    if let Some(length) = length {
        body.truncate(length);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

/// One bad request and the response it must get.
#[derive(Debug)]
struct Case {
    name: &'static str,
    /// The path segment after `/v1/connections/`; `None` is the seeded id.
    id: Option<String>,
    /// `None` sends no `Content-Type`.
    content_type: Option<Vec<u8>>,
    /// `None` sends the seeded API key.
    api_key: Option<Vec<u8>>,
    body: Vec<u8>,
    status: u16,
    /// A fragment of the `error` sentence.
    message: &'static str,
    /// The `path` and `code` of the first entry of `details`, or `None`
    /// when the body has no `details`.
    detail: Option<(&'static str, &'static str)>,
}

impl Case {
    fn new(name: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            name,
            id: None,
            content_type: Some(b"application/json".to_vec()),
            api_key: None,
            body: body.into(),
            status: 400,
            message: "",
            detail: None,
        }
    }

    fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    fn content_type(mut self, value: Option<&[u8]>) -> Self {
        self.content_type = value.map(<[u8]>::to_vec);
        self
    }

    fn api_key(mut self, value: &[u8]) -> Self {
        self.api_key = Some(value.to_vec());
        self
    }

    /// Expects a `400` whose first detail has this path and code.
    fn invalid(mut self, path: &'static str, code: &'static str, message: &'static str) -> Self {
        self.status = 400;
        self.detail = Some((path, code));
        self.message = message;
        self
    }

    /// Expects another status with no `details`.
    fn rejected(mut self, status: u16, message: &'static str) -> Self {
        self.status = status;
        self.detail = None;
        self.message = message;
        self
    }
}

/// Returns a patch whose `field` is a string of `length` copies of `unit`.
fn long_string(field: &str, unit: &str, length: usize) -> Vec<u8> {
    format!(r#"{{"{field}": "{}"}}"#, unit.repeat(length)).into_bytes()
}

/// Returns a patch with one filter rule built from `rule`, a JSON object
/// body without its braces.
fn one_rule(rule: &str) -> Vec<u8> {
    format!(r#"{{"filter_rules": [{{{rule}}}]}}"#).into_bytes()
}

/// Returns a patch `depth` levels deep: the top object contains
/// `filter_rules`, an array nested `depth - 1` levels.
fn nested(depth: usize) -> Vec<u8> {
    let arrays = depth - 1;
    format!(
        r#"{{"filter_rules": {}{}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
    .into_bytes()
}

fn cases() -> Vec<Case> {
    let rule = r#""field": "payload.a", "op": "eq", "value": 1"#;
    let fifty_one_rules = format!(
        r#"{{"filter_rules": [{}]}}"#,
        vec![format!("{{{rule}}}"); 51].join(",")
    );
    vec![
        // Malformed JSON.
        Case::new("unterminated object", r#"{"name": "x","#)
            .invalid("", "invalid_json", "Invalid body: is not valid JSON"),
        Case::new("unquoted key", r#"{name: "x"}"#)
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("trailing characters", r#"{"name": "x"} x"#)
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("two objects", r#"{"name": "x"}{"name": "y"}"#)
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("whitespace only", "   \n")
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("byte order mark", "\u{feff}{\"name\": \"x\"}")
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("lone surrogate escape", r#"{"name": "\ud800"}"#)
            .invalid("", "invalid_json", "is not valid JSON"),
        Case::new("number out of range", r#"{"filter_rules": [{"field": "payload.a", "op": "gt", "value": 1e400}]}"#)
            .invalid("", "invalid_json", "is not valid JSON"),
        // JSON that is not an object.
        Case::new("array body", r#"["name"]"#).invalid("", "type", "must be an object"),
        Case::new("string body", r#""name""#).invalid("", "type", "must be an object"),
        Case::new("number body", "42").invalid("", "type", "must be an object"),
        Case::new("boolean body", "true").invalid("", "type", "must be an object"),
        Case::new("null body", "null").invalid("", "type", "must be an object, not null"),
        Case::new("empty object", "{}").invalid("", "no_fields", "No fields to update"),
        // Content-Type.
        Case::new("text/plain body", r#"{"name": "x"}"#)
            .content_type(Some(b"text/plain"))
            .rejected(415, "Unsupported media type `text/plain`"),
        Case::new("form body", r#"{"name": "x"}"#)
            .content_type(Some(b"application/x-www-form-urlencoded"))
            .rejected(415, "send the body as `application/json`"),
        Case::new("json prefix media type", r#"{"name": "x"}"#)
            .content_type(Some(b"application/jsonx"))
            .rejected(415, "Unsupported media type `application/jsonx`"),
        Case::new("missing content type", r#"{"name": "x"}"#)
            .content_type(None)
            .rejected(415, "Missing `Content-Type`"),
        // Size.
        Case::new("body one byte over", long_string("name", "n", BODY_LIMIT - 11))
            .rejected(413, "Request body is larger than the limit of"),
        Case::new("body four times over", long_string("name", "n", 4 * BODY_LIMIT))
            .rejected(413, "Request body is larger than the limit of"),
        // UTF-8.
        Case::new("invalid utf-8 byte", &b"{\"name\": \"\xff\"}"[..])
            .invalid("", "invalid_utf8", "is not valid UTF-8 (at byte 10)"),
        Case::new("overlong utf-8", &b"{\"name\": \"\xc0\xaf\"}"[..])
            .invalid("", "invalid_utf8", "is not valid UTF-8"),
        Case::new("encoded surrogate", &b"{\"name\": \"\xed\xa0\x80\"}"[..])
            .invalid("", "invalid_utf8", "is not valid UTF-8"),
        Case::new("truncated utf-8", &b"{\"name\": \"\xe2\x82\"}"[..])
            .invalid("", "invalid_utf8", "is not valid UTF-8"),
        // Nesting.
        Case::new("nesting over the limit", nested(MAX_DEPTH + 1))
            .invalid("", "invalid_json", "recursion limit exceeded"),
        Case::new("nesting far over the limit", nested(100_000))
            .invalid("", "invalid_json", "recursion limit exceeded"),
        Case::new("nesting within the limit", nested(MAX_DEPTH))
            .invalid("filter_rules[0]", "type", "must be an object"),
        // Duplicate keys.
        Case::new("duplicate top-level key", r#"{"name": "a", "name": "b"}"#)
            .invalid("", "duplicate_key", "duplicate key `name`"),
        Case::new("duplicate key in a rule", one_rule(&format!(r#"{rule}, "op": "neq""#)))
            .invalid("", "duplicate_key", "duplicate key `op`"),
        // Unknown and read-only fields.
        Case::new("unknown field", r#"{"colour": "red"}"#)
            .invalid("colour", "unknown_property", "colour is not a known property"),
        Case::new("unknown beside known", r#"{"name": "x", "extra": 1}"#)
            .invalid("extra", "unknown_property", "extra is not a known property"),
        Case::new("unknown field in a rule", one_rule(&format!(r#"{rule}, "x": 2"#)))
            .invalid("filter_rules[0].x", "unknown_property", "is not a known property"),
        Case::new("read-only field", r#"{"org_id": "0123456789abcdef0123456789abcdef"}"#)
            .invalid("org_id", "read_only", "org_id is read-only"),
        // Wrong types and values.
        Case::new("number for boolean", r#"{"enabled": 1}"#)
            .invalid("enabled", "type", "enabled must be a boolean"),
        Case::new("unknown status", r#"{"status": "deleted"}"#)
            .invalid("status", "enum", "must be one of: active, paused, disabled"),
        Case::new("null for name", r#"{"name": null}"#)
            .invalid("name", "type", "must be a string, not null"),
        // Maximum lengths.
        Case::new("name over 155", long_string("name", "n", 156))
            .invalid("name", "max_length", "name must be at most 155 characters"),
        Case::new("name over 155 multibyte", long_string("name", "é", 156))
            .invalid("name", "max_length", "name must be at most 155 characters"),
        Case::new("empty name", long_string("name", "n", 0))
            .invalid("name", "min_length", "name must not be empty"),
        Case::new("description over 500", long_string("description", "d", 501))
            .invalid("description", "max_length", "must be at most 500 characters"),
        Case::new("transform over 65536", long_string("transform_expression", "t", 65_537))
            .invalid("transform_expression", "max_length", "must be at most 65536 characters"),
        Case::new("JSONata parent operator", r#"{"transform_expression": "payload.%"}"#)
            .invalid("transform_expression", "invalid_jsonata", "JSONata construct"),
        Case::new("rule field over 500", one_rule(&format!(
            r#""field": "payload.{}", "op": "eq", "value": 1"#,
            "f".repeat(493)
        )))
        .invalid("filter_rules[0].field", "max_length", "must be at most 500 characters"),
        Case::new("51 filter rules", fifty_one_rules)
            .invalid("filter_rules", "max_items", "must have at most 50 items"),
        // Ids.
        Case::new("id too short", r#"{"name": "x"}"#)
            .id("0123456789abcdef0123456789abcde")
            .invalid("id", "pattern", "Invalid path parameter: id must match"),
        Case::new("id too long", r#"{"name": "x"}"#)
            .id("0123456789abcdef0123456789abcdef0")
            .invalid("id", "pattern", "Invalid path parameter: id must match"),
        Case::new("id upper-case", r#"{"name": "x"}"#)
            .id("0123456789ABCDEF0123456789ABCDEF")
            .invalid("id", "pattern", "Invalid path parameter: id must match"),
        Case::new("id not hex", r#"{"name": "x"}"#)
            .id("0123456789abcdefg123456789abcdef")
            .invalid("id", "pattern", "Invalid path parameter: id must match"),
        Case::new("id percent-encoded space", r#"{"name": "x"}"#)
            .id("0123456789abcdef%200123456789abcde")
            .invalid("id", "pattern", "Invalid path parameter: id must match"),
        // NOTE: the runtime reports a path parameter that is not UTF-8
        // once percent-decoded as missing, so the code is `required`.
        Case::new("id invalid utf-8 escape", r#"{"name": "x"}"#)
            .id("%ff")
            .invalid("id", "required", "Invalid path parameter: id"),
        Case::new("id empty", r#"{"name": "x"}"#)
            .id("")
            .rejected(404, "No route for PATCH /v1/connections/"),
        // Credentials.
        Case::new("key with a tab", r#"{"name": "x"}"#)
            .api_key(b"hsk_0000\t0000")
            .rejected(401, "Malformed credentials: the `X-API-Key` header contains spaces or control characters"),
        Case::new("key with a space", r#"{"name": "x"}"#)
            .api_key(b"hsk_0000 0000")
            .rejected(401, "Malformed credentials: the `X-API-Key` header contains spaces or control characters"),
        Case::new("key with a non-ascii byte", r#"{"name": "x"}"#)
            .api_key(b"hsk_0000\xff0000")
            .rejected(401, "Malformed credentials: the `X-API-Key` header is not visible ASCII"),
        Case::new("empty key", r#"{"name": "x"}"#)
            .api_key(b"")
            .rejected(401, "Malformed credentials: the `X-API-Key` header is empty"),
        // Empty body.
        Case::new("empty body", "").invalid("", "required", "request body is required"),
        Case::new("empty body without content type", "")
            .content_type(None)
            .invalid("", "required", "request body is required"),
    ]
}

/// Checks one response against its case.
fn check_response(case: &Case, response: &RawResponse) {
    let name = case.name;
    assert!(
        response.status < 500,
        "{name}: got a server error {}",
        response.status
    );
    assert_eq!(response.status, case.status, "{name}: status");
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{name}: content type"
    );

    let body: Value = serde_json::from_slice(&response.body).unwrap_or_else(|error| {
        panic!(
            "{name}: the body is not JSON ({error}): {:?}",
            String::from_utf8_lossy(&response.body)
        )
    });
    let body = body
        .as_object()
        .unwrap_or_else(|| panic!("{name}: the body is not an object"))
        .clone();

    assert_eq!(
        body["status"],
        u64::from(case.status),
        "{name}: status in the body"
    );
    let error = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no error sentence"));
    assert!(
        error.contains(case.message),
        "{name}: error {error:?} lacks {:?}",
        case.message
    );

    let request_id = body["request_id"].as_str().unwrap_or_default();
    assert!(!request_id.is_empty(), "{name}: empty request_id");
    assert_eq!(
        response.header("x-request-id"),
        Some(request_id),
        "{name}: x-request-id"
    );

    match case.detail {
        Some((path, code)) => {
            let details = body["details"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: no details in {body:?}"));
            assert_eq!(details[0]["path"], path, "{name}: details[0].path");
            assert_eq!(details[0]["code"], code, "{name}: details[0].code");
            assert!(
                details[0]["message"].is_string(),
                "{name}: details[0].message"
            );
        }
        None => assert!(body.get("details").is_none(), "{name}: unexpected details"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_documented_errors() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let before = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    for case in cases() {
        let mut headers = vec![(
            "X-API-Key",
            case.api_key
                .clone()
                .unwrap_or_else(|| tenant.api_key.clone().into_bytes()),
        )];
        if let Some(content_type) = &case.content_type {
            headers.push(("Content-Type", content_type.clone()));
        }
        let id = case
            .id
            .clone()
            .unwrap_or_else(|| tenant.connection_id.clone());
        let response = send(server.address, id, headers, case.body.clone()).await;
        check_response(&case, &response);
        let after = server
            .read_connection(&tenant.connection_id)
            .expect("the row exists");
        assert_eq!(after, before, "{}: the row changed", case.name);
    }
    server.stop().await;
}

/// hyper's HTTP/1 parser rejects a header value with a control character
/// other than a tab before the application receives the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_bytes_in_key_rejected() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let before = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    for key in [
        &b"hsk_0000\x010000"[..],
        b"hsk_0000\x7f0000",
        b"hsk_0000\x000000",
    ] {
        let headers = vec![
            ("X-API-Key", key.to_vec()),
            ("Content-Type", b"application/json".to_vec()),
        ];
        let body = br#"{"name": "x"}"#.to_vec();
        let response = send(server.address, tenant.connection_id.clone(), headers, body).await;
        // NOTE: this 400 comes from hyper with an empty body, not the
        // spec's `Error` JSON, because no axum layer runs for it.
        assert_eq!(response.status, 400, "key {key:?}");
        let after = server
            .read_connection(&tenant.connection_id)
            .expect("the row exists");
        assert_eq!(after, before, "key {key:?}: the row changed");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_raw_request_is_accepted() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let headers = vec![
        ("X-API-Key", tenant.api_key.clone().into_bytes()),
        ("Content-Type", b"application/json; charset=utf-8".to_vec()),
    ];
    let name = "é".repeat(155);
    let body = format!(r#"{{"name": "{name}"}}"#).into_bytes();
    let response = send(server.address, tenant.connection_id.clone(), headers, body).await;
    assert_eq!(response.status, 200);
    let row = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    assert_eq!(row["name"], name.as_str());
    server.stop().await;
}

/// The deepest expression of the longest length the spec allows parses
/// without overflowing a stack, and the server answers the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deepest_transform_expression_is_answered() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let key = tenant.api_key.clone().into_bytes();
    let json = ("Content-Type", b"application/json".to_vec());
    let expression = format!("1{}", "+1".repeat(32_767));
    let body = serde_json::json!({ "transform_expression": expression }).to_string();
    let response = send(
        server.address,
        tenant.connection_id.clone(),
        vec![("X-API-Key", key.clone()), json.clone()],
        body.into_bytes(),
    )
    .await;
    assert_eq!(
        response.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    let stored = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    assert_eq!(stored["transform_expression"], expression.as_str());

    let response = send(
        server.address,
        tenant.connection_id.clone(),
        vec![("X-API-Key", key), json],
        br#"{"name": "still serving"}"#.to_vec(),
    )
    .await;
    assert_eq!(response.status, 200);
    server.stop().await;
}

/// An `X-Request-Id` that the server would not use is replaced, and the
/// new id is the same in the response header and the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_request_id_is_replaced_everywhere() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    for unusable in [b"a b".to_vec(), vec![b'x'; 129]] {
        let response = send(
            server.address,
            tenant.connection_id.clone(),
            vec![
                ("X-API-Key", tenant.api_key.clone().into_bytes()),
                ("Content-Type", b"application/json".to_vec()),
                ("X-Request-Id", unusable.clone()),
            ],
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(response.status, 400);
        let body: Value = serde_json::from_slice(&response.body).expect("a JSON body");
        let id = body["request_id"].as_str().expect("a request id");
        assert_ne!(id.as_bytes(), unusable.as_slice());
        assert_eq!(response.header("x-request-id"), Some(id));
    }
    server.stop().await;
}

/// A body that stops arriving gets a `400` naming the body once the body
/// read timeout passes, and the row is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_body_is_a_bad_request() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let before = server.read_connection(&tenant.connection_id);
    let address = server.address;
    let request = format!(
        "PATCH /v1/connections/{} HTTP/1.1\r\nHost: {address}\r\nX-API-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{{\"name\": \"partial",
        tenant.connection_id, tenant.api_key
    );
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout");
        stream
            .write_all(request.as_bytes())
            .expect("send a partial body");
        let mut received = vec![0; 4096];
        let read = stream.read(&mut received).expect("read the response");
        parse_response(&received[..read])
    })
    .await
    .expect("join the request thread");
    assert_eq!(response.status, 400);
    let body: Value = serde_json::from_slice(&response.body).expect("a JSON body");
    assert_eq!(body["details"][0]["code"], "unreadable", "{body}");
    assert_eq!(server.read_connection(&tenant.connection_id), before);
    server.stop().await;
}

/// A client that never finishes its request headers is disconnected
/// instead of holding the connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_headers_are_disconnected() {
    let server = TestServer::start().await;
    let address = server.address;
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout");
        stream
            .write_all(b"PATCH /v1/connections/x HTTP/1.1\r\nHost: x\r\n")
            .expect("send part of the headers");
        let mut received = Vec::new();
        // A timeout error here means the server kept the connection.
        stream.read_to_end(&mut received).map(|_| received)
    })
    .await
    .expect("join the request thread");
    let received = closed.expect("the server closes the connection within 30 s");
    // On a header timeout hyper either sends a 408 or closes the
    // connection without a response.
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    server.stop().await;
}
