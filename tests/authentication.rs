//! Authentication end to end: each security scheme of the spec, a `401`
//! with the typed `Error` body for every rejected credential, tenant
//! isolation, hashed storage of secrets and logs that never contain them.
//!
//! Requests go through the generated client where it can express them,
//! and through raw reqwest for headers it never sends (`Basic`, repeated
//! or empty credentials).

use hookstream_client::types::{ConnectionPatch, Error as ErrorBody};
use hookstream_client::{Client, Error};
use hookstream_server::store::{SeedOutput, hash_secret, new_id};
use hookstream_tests::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// An id that no connection has.
const MISSING_ID: &str = "0123456789abcdef0123456789abcdef";
/// The name every seeded connection starts with.
const SEEDED_NAME: &str = "Orders to billing";
/// A well-formed API key that was never issued.
const UNKNOWN_KEY: &str = "hsk_0000000000000000000000000000000000000000000000000000000000000000";
/// A well-formed session token that was never issued.
const UNKNOWN_TOKEN: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
/// A past expiry time in the format of the `sessions.expires_at` column.
const PAST: &str = "2020-01-01T00:00:00.000000Z";

const MISSING_MESSAGE: &str = "Missing credentials: send the `X-API-Key` header, \
    the `better-auth.session_token` cookie or `Authorization: Bearer <token>`";
const INVALID_KEY_MESSAGE: &str = "Invalid credentials: the API key is not valid";
const INVALID_SESSION_MESSAGE: &str = "Invalid credentials: the session token is not valid";
const EXPIRED_MESSAGE: &str = "Invalid credentials: the session has expired; sign in again";

fn rename(name: &str) -> ConnectionPatch {
    ConnectionPatch {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// Returns the `x-request-id` header of a response.
fn request_id_header(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .expect("the response has x-request-id")
        .to_str()
        .expect("x-request-id is visible ASCII")
        .to_string()
}

/// Renames a connection, expects `200` and returns the request id.
async fn patch_ok(client: &Client, id: &str, name: &str) -> String {
    let response = client
        .update_connection()
        .id(id)
        .body(rename(name))
        .send()
        .await
        .expect("the update succeeds");
    assert_eq!(response.status().as_u16(), 200);
    let request_id = request_id_header(response.headers());
    let connection = response
        .into_inner()
        .connection
        .expect("the body has the connection");
    assert_eq!(connection.name, name);
    request_id
}

/// Sends a rename that must fail and returns the status, the typed body
/// and the `x-request-id` header.
async fn patch_error(client: &Client, id: &str) -> (u16, ErrorBody, String) {
    match client
        .update_connection()
        .id(id)
        .body(rename("rejected"))
        .send()
        .await
    {
        Err(Error::ErrorResponse(response)) => {
            let request_id = request_id_header(response.headers());
            (
                response.status().as_u16(),
                response.into_inner(),
                request_id,
            )
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// Header names and values, sent in order.
type Headers<'a> = Vec<(&'a str, &'a str)>;

/// A response read without the generated client.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    request_id: String,
    body: String,
}

/// Sends a rename with exactly the given extra headers.
async fn raw_patch(server: &TestServer, id: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut request = reqwest::Client::new()
        .patch(format!("{}/connections/{id}", server.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"name":"rejected"}"#);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let request_id = request_id_header(response.headers());
    let body = response.text().await.expect("read the body");
    RawResponse {
        status,
        request_id,
        body,
    }
}

/// Checks a `401` and its body: the status, the request id that matches
/// the header and the exact sentence.
fn assert_unauthorized(case: &str, status: u16, body: &ErrorBody, header_id: &str, message: &str) {
    assert_eq!(status, 401, "{case}: HTTP status");
    assert_eq!(body.status, 401, "{case}: status in the body");
    assert!(!body.request_id.is_empty(), "{case}: request_id is empty");
    assert_eq!(
        body.request_id, header_id,
        "{case}: request_id matches x-request-id"
    );
    assert_eq!(body.error, message, "{case}: error sentence");
    assert_eq!(body.details, None, "{case}: details");
}

/// Inserts a session for the tenant that expired in the past and returns
/// its token.
fn insert_expired_session(server: &TestServer, tenant: &SeedOutput) -> String {
    let token = format!("{}{}", new_id(), new_id());
    let connection = rusqlite::Connection::open(&server.database).expect("open the database");
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .expect("set the busy timeout");
    connection
        .execute(
            "INSERT INTO sessions (id, org_id, env_id, token_hash, expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            rusqlite::params![
                new_id(),
                tenant.org_id,
                tenant.env_id,
                hash_secret(&token),
                PAST
            ],
        )
        .expect("insert the expired session");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scheme_updates_connection() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.as_str();
    let clients = [
        ("X-API-Key header", server.client(&tenant.api_key)),
        (
            "bearer API key",
            server.anonymous_client().with_bearer_auth(&tenant.api_key),
        ),
        (
            "session cookie",
            server
                .anonymous_client()
                .with_session_cookie(&tenant.session_token),
        ),
    ];
    for (case, client) in clients {
        let request_id = patch_ok(&client, id, case).await;
        assert!(!request_id.is_empty(), "{case}: request id");
        let row = server.read_connection(id).expect("the row exists");
        assert_eq!(row["name"], case, "{case}: the row has the new name");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_return_401() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let expired = insert_expired_session(&server, &tenant);
    let anonymous = server.anonymous_client();
    let cases = [
        ("no credential", anonymous.clone(), MISSING_MESSAGE),
        (
            "unknown key in X-API-Key",
            server.client(UNKNOWN_KEY),
            INVALID_KEY_MESSAGE,
        ),
        (
            "unknown key as bearer",
            anonymous.clone().with_bearer_auth(UNKNOWN_KEY),
            INVALID_KEY_MESSAGE,
        ),
        (
            "unknown session token",
            anonymous.clone().with_session_cookie(UNKNOWN_TOKEN),
            INVALID_SESSION_MESSAGE,
        ),
        (
            "session token in X-API-Key",
            server.client(&tenant.session_token),
            INVALID_KEY_MESSAGE,
        ),
        (
            "session token as bearer",
            anonymous.clone().with_bearer_auth(&tenant.session_token),
            INVALID_KEY_MESSAGE,
        ),
        (
            "API key as session cookie",
            anonymous.clone().with_session_cookie(&tenant.api_key),
            INVALID_SESSION_MESSAGE,
        ),
        (
            "expired session",
            anonymous.clone().with_session_cookie(&expired),
            EXPIRED_MESSAGE,
        ),
    ];
    for (case, client, message) in cases {
        let (status, body, header_id) = patch_error(&client, &tenant.connection_id).await;
        assert_unauthorized(case, status, &body, &header_id, message);
    }
    let row = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    assert_eq!(
        row["name"], SEEDED_NAME,
        "no rejected request changes the row"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_returns_401() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let client = server.client(&tenant.api_key);
    patch_ok(&client, &tenant.connection_id, "before revocation").await;

    let connection = rusqlite::Connection::open(&server.database).expect("open the database");
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .expect("set the busy timeout");
    let revoked = connection
        .execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE org_id = ?2",
            rusqlite::params![PAST, tenant.org_id],
        )
        .expect("revoke the key");
    assert_eq!(revoked, 1, "the tenant has one API key");

    for (case, client) in [
        ("X-API-Key header", client),
        (
            "bearer",
            server.anonymous_client().with_bearer_auth(&tenant.api_key),
        ),
    ] {
        let (status, body, header_id) = patch_error(&client, &tenant.connection_id).await;
        assert_unauthorized(case, status, &body, &header_id, INVALID_KEY_MESSAGE);
    }
    let row = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    assert_eq!(row["name"], "before revocation");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_credentials_return_401() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let cookie = format!("better-auth.session_token={}", tenant.session_token);
    let cases: Vec<(&str, Headers, &str)> = vec![
        (
            "Basic authorization",
            vec![("authorization", "Basic dXNlcjpodW50ZXIy")],
            "Malformed credentials: the `Authorization` header must use the `Bearer` scheme",
        ),
        (
            "Basic with a valid cookie",
            vec![
                ("authorization", "Basic dXNlcjpodW50ZXIy"),
                ("cookie", &cookie),
            ],
            "Malformed credentials: the `Authorization` header must use the `Bearer` scheme",
        ),
        (
            "Basic with a valid API key",
            vec![
                ("authorization", "Basic dXNlcjpodW50ZXIy"),
                ("x-api-key", &tenant.api_key),
            ],
            "Malformed credentials: the `Authorization` header must use the `Bearer` scheme",
        ),
        (
            "bearer without a token",
            vec![("authorization", "Bearer")],
            "Malformed credentials: `Authorization: Bearer <token>` is empty",
        ),
        (
            "empty bearer with a valid cookie",
            vec![("authorization", "Bearer"), ("cookie", &cookie)],
            "Malformed credentials: `Authorization: Bearer <token>` is empty",
        ),
        (
            "empty X-API-Key",
            vec![("x-api-key", "")],
            "Malformed credentials: the `X-API-Key` header is empty",
        ),
        (
            "space inside the key",
            vec![("x-api-key", "hsk_abc def")],
            "Malformed credentials: the `X-API-Key` header contains spaces or control characters",
        ),
        (
            "X-API-Key sent twice",
            vec![
                ("x-api-key", &tenant.api_key),
                ("x-api-key", &tenant.api_key),
            ],
            "Malformed credentials: the `X-API-Key` header is sent more than once",
        ),
        (
            "session cookie sent twice",
            vec![("cookie", &cookie), ("cookie", &cookie)],
            "Malformed credentials: the `better-auth.session_token` cookie is sent more than once",
        ),
    ];
    for (case, headers, message) in cases {
        let response = raw_patch(&server, &tenant.connection_id, &headers).await;
        let body: ErrorBody = serde_json::from_str(&response.body).unwrap_or_else(|error| {
            panic!(
                "{case}: the body is not an Error ({error}): {}",
                response.body
            )
        });
        assert_unauthorized(case, response.status, &body, &response.request_id, message);
    }
    let row = server
        .read_connection(&tenant.connection_id)
        .expect("the row exists");
    assert_eq!(
        row["name"], SEEDED_NAME,
        "no rejected request changes the row"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tenant_matches_missing_404() {
    let server = TestServer::start().await;
    let owner = server.seed();
    let other = server.seed();
    let cookie = format!("better-auth.session_token={}", other.session_token);
    let bearer = format!("Bearer {}", other.api_key);
    let schemes: [(&str, (&str, &str)); 3] = [
        ("X-API-Key header", ("x-api-key", &other.api_key)),
        ("bearer API key", ("authorization", &bearer)),
        ("session cookie", ("cookie", &cookie)),
    ];
    for (case, header) in schemes {
        let own = raw_patch(&server, &other.connection_id, &[header]).await;
        assert_eq!(
            own.status, 200,
            "{case}: the credential works on its own connection"
        );

        let foreign = raw_patch(&server, &owner.connection_id, &[header]).await;
        let missing = raw_patch(&server, MISSING_ID, &[header]).await;
        assert_eq!(foreign.status, 404, "{case}: other tenant's connection");
        assert_eq!(missing.status, 404, "{case}: missing connection");
        assert_ne!(
            foreign.request_id, missing.request_id,
            "{case}: request ids differ"
        );
        assert!(
            foreign.body.contains(&foreign.request_id),
            "{case}: {}",
            foreign.body
        );
        assert!(
            missing.body.contains(&missing.request_id),
            "{case}: {}",
            missing.body
        );
        let foreign_body = foreign.body.replace(&foreign.request_id, "<request_id>");
        let missing_body = missing.body.replace(&missing.request_id, "<request_id>");
        assert_eq!(
            foreign_body, missing_body,
            "{case}: bodies differ beyond request_id"
        );
    }

    let (status, body, _) = patch_error(&server.client(&other.api_key), &owner.connection_id).await;
    assert_eq!(status, 404);
    assert_eq!(body.status, 404);
    assert_eq!(body.error, "Connection not found");
    assert_eq!(body.details, None);

    let row = server
        .read_connection(&owner.connection_id)
        .expect("the row exists");
    assert_eq!(
        row["name"], SEEDED_NAME,
        "the other tenant cannot change the row"
    );
    server.stop().await;
}

/// Returns every text and blob value of every table, as bytes, with the
/// table and column it came from.
fn read_all_values(database: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let connection = rusqlite::Connection::open(database).expect("open the database");
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("prepare the table list");
    let tables: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .expect("list the tables")
        .collect::<Result<_, _>>()
        .expect("read the table names");
    let mut values = Vec::new();
    for table in tables {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .expect("prepare the table scan");
        let columns: Vec<String> = statement
            .column_names()
            .iter()
            .map(|name| name.to_string())
            .collect();
        let mut rows = statement.query([]).expect("scan the table");
        while let Some(row) = rows.next().expect("read a row") {
            for (index, column) in columns.iter().enumerate() {
                let bytes = match row.get_ref(index).expect("read a column") {
                    rusqlite::types::ValueRef::Text(bytes)
                    | rusqlite::types::ValueRef::Blob(bytes) => bytes,
                    _ => continue,
                };
                values.push((format!("{table}.{column}"), bytes.to_vec()));
            }
        }
    }
    values
}

/// Returns the second half of a secret. The start of an API key is
/// stored in clear as its lookup prefix, so checks for a leak also look
/// for the rest of the key on its own.
fn second_half(secret: &str) -> &str {
    &secret[secret.len() / 2..]
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_stores_no_plaintext_secrets() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    // Authenticate with every scheme first, so that anything a request
    // writes is part of the scan.
    let id = tenant.connection_id.as_str();
    patch_ok(&server.client(&tenant.api_key), id, "by header").await;
    patch_ok(
        &server.anonymous_client().with_bearer_auth(&tenant.api_key),
        id,
        "by bearer",
    )
    .await;
    patch_ok(
        &server
            .anonymous_client()
            .with_session_cookie(&tenant.session_token),
        id,
        "by cookie",
    )
    .await;

    let values = read_all_values(&server.database);
    let key_hash = hash_secret(&tenant.api_key);
    let token_hash = hash_secret(&tenant.session_token);
    assert!(
        values
            .iter()
            .any(|(place, value)| place == "api_keys.key_hash" && *value == key_hash),
        "the scan reads the hash of the API key"
    );
    assert!(
        values
            .iter()
            .any(|(place, value)| place == "sessions.token_hash" && *value == token_hash),
        "the scan reads the hash of the session token"
    );

    let secrets = [
        ("API key", tenant.api_key.as_str()),
        ("second half of the API key", second_half(&tenant.api_key)),
        ("session token", tenant.session_token.as_str()),
    ];
    for (name, secret) in secrets {
        for (place, value) in &values {
            assert!(
                !contains_bytes(value, secret.as_bytes()),
                "{place} contains the {name}"
            );
        }
    }

    // The raw files, write-ahead log included, contain no secret in any
    // page, used or free.
    let directory = server
        .database
        .parent()
        .expect("the database has a directory");
    let mut scanned = Vec::new();
    for entry in std::fs::read_dir(directory).expect("list the database directory") {
        let path = entry.expect("read a directory entry").path();
        let bytes = std::fs::read(&path).expect("read a database file");
        for (name, secret) in secrets {
            assert!(
                !contains_bytes(&bytes, secret.as_bytes()),
                "{} contains the {name}",
                path.display()
            );
        }
        scanned.push(path);
    }
    let wal = server.database.with_extension("db-wal");
    assert!(
        scanned.contains(&server.database),
        "the database file is scanned"
    );
    assert!(scanned.contains(&wal), "the write-ahead log is scanned");
    server.stop().await;
}

/// An in-memory log that every test of this binary writes to after
/// [`captured_logs`] installs it.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per test binary, a global subscriber that records
/// events of every level, `log` records included, and returns its buffer.
fn captured_logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("install the log subscriber");
        buffer
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_contain_no_secrets() {
    let logs = captured_logs();
    let server = TestServer::start().await;
    let tenant = server.seed();
    let other = server.seed();
    let expired = insert_expired_session(&server, &tenant);
    let id = tenant.connection_id.as_str();
    let anonymous = server.anonymous_client();
    let mut request_ids = Vec::new();

    request_ids.push(patch_ok(&server.client(&tenant.api_key), id, "by header").await);
    request_ids.push(
        patch_ok(
            &anonymous.clone().with_bearer_auth(&tenant.api_key),
            id,
            "by bearer",
        )
        .await,
    );
    request_ids.push(
        patch_ok(
            &anonymous.clone().with_session_cookie(&tenant.session_token),
            id,
            "by cookie",
        )
        .await,
    );

    let failing = [
        ("no credential", anonymous.clone(), 401),
        ("unknown key", server.client(UNKNOWN_KEY), 401),
        (
            "unknown key as bearer",
            anonymous.clone().with_bearer_auth(UNKNOWN_KEY),
            401,
        ),
        (
            "unknown session",
            anonymous.clone().with_session_cookie(UNKNOWN_TOKEN),
            401,
        ),
        (
            "session token as key",
            server.client(&tenant.session_token),
            401,
        ),
        (
            "session token as bearer",
            anonymous.clone().with_bearer_auth(&tenant.session_token),
            401,
        ),
        (
            "API key as cookie",
            anonymous.clone().with_session_cookie(&tenant.api_key),
            401,
        ),
        (
            "expired session",
            anonymous.clone().with_session_cookie(&expired),
            401,
        ),
        ("other tenant's key", server.client(&other.api_key), 404),
        (
            "other tenant's session",
            anonymous.clone().with_session_cookie(&other.session_token),
            404,
        ),
    ];
    for (case, client, expected) in failing {
        let (status, _, request_id) = patch_error(&client, id).await;
        assert_eq!(status, expected, "{case}");
        request_ids.push(request_id);
    }

    let basic = "Basic dXNlcjpodW50ZXIy";
    let spaced_key = format!("{} x", tenant.api_key);
    let raw_cases = [
        ("Basic authorization", vec![("authorization", basic)]),
        ("space in the key", vec![("x-api-key", spaced_key.as_str())]),
        (
            "X-API-Key sent twice",
            vec![
                ("x-api-key", tenant.api_key.as_str()),
                ("x-api-key", other.api_key.as_str()),
            ],
        ),
    ];
    for (case, headers) in raw_cases {
        let response = raw_patch(&server, id, &headers).await;
        assert_eq!(response.status, 401, "{case}");
        request_ids.push(response.request_id);
    }
    server.stop().await;

    let text = logs.text();
    assert!(!text.is_empty(), "the log is empty");
    assert!(
        text.contains("DEBUG"),
        "the log has no DEBUG lines, so lower levels are not captured"
    );
    for request_id in &request_ids {
        assert!(
            text.contains(request_id.as_str()),
            "the log has no line with request id {request_id}"
        );
    }
    let secrets = [
        ("API key", tenant.api_key.as_str()),
        ("second half of the API key", second_half(&tenant.api_key)),
        ("session token", tenant.session_token.as_str()),
        ("other tenant's API key", other.api_key.as_str()),
        (
            "second half of the other tenant's API key",
            second_half(&other.api_key),
        ),
        ("other tenant's session token", other.session_token.as_str()),
        ("expired session token", expired.as_str()),
        ("unknown API key", UNKNOWN_KEY),
        ("unknown session token", UNKNOWN_TOKEN),
        ("Basic credential", "dXNlcjpodW50ZXIy"),
        ("session cookie", "better-auth.session_token="),
    ];
    for (name, secret) in secrets {
        assert!(!text.contains(secret), "the log contains the {name}");
    }
}
