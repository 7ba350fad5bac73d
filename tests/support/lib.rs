//! Helpers for workspace tests: a reference server on an ephemeral
//! loopback port with its own SQLite file, the generated client pointed at
//! it, and fresh reads of the database behind the server's back.

use hookstream_client::{Client, Credentials};
use hookstream_server::store::{self, SeedOutput, Store};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running reference server. Dropping it stops the server and deletes
/// its database.
#[derive(Debug)]
pub struct TestServer {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The SQLite file it serves.
    pub database: PathBuf,
    store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _directory: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` with a new database.
    pub async fn start() -> Self {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let database = directory.path().join("hookstream.db");
        let store = Store::open(&database).expect("open the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("read the bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hookstream_server::serve(listener, store.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            address,
            database,
            store,
            stop: Some(stop),
            task: Some(task),
            _directory: directory,
        }
    }

    /// Returns the base URL of the API, including `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Creates a new tenant, as `hookstream-server seed` does.
    pub fn seed(&self) -> SeedOutput {
        self.store.run_blocking(store::seed).expect("seed a tenant")
    }

    /// Returns a client with no credentials.
    pub fn anonymous_client(&self) -> Client {
        Client::new(&self.base_url(), Credentials::default())
    }

    /// Returns a client that sends `api_key` in `X-API-Key`.
    pub fn client(&self, api_key: &str) -> Client {
        self.anonymous_client().with_api_key_header(api_key)
    }

    /// Reads a connection row with a new SQLite connection, as a JSON
    /// object keyed by column name, or `None` when there is no such row.
    pub fn read_connection(&self, id: &str) -> Option<Map<String, Value>> {
        let connection = rusqlite::Connection::open(&self.database).expect("open the database");
        read_row(&connection, "SELECT * FROM connections WHERE id = ?1", id)
    }

    /// Stops the server, letting requests in flight finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("join the server task")
                .expect("serve until stopped");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads one row as a JSON object keyed by column name.
pub fn read_row(
    connection: &rusqlite::Connection,
    sql: &str,
    key: &str,
) -> Option<Map<String, Value>> {
    let mut statement = connection.prepare(sql).expect("prepare the query");
    let names: Vec<String> = statement
        .column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut rows = statement.query([key]).expect("run the query");
    let row = rows.next().expect("read a row")?;
    let mut object = Map::new();
    for (index, name) in names.iter().enumerate() {
        let value = match row.get_ref(index).expect("read a column") {
            rusqlite::types::ValueRef::Null => Value::Null,
            rusqlite::types::ValueRef::Integer(number) => Value::from(number),
            rusqlite::types::ValueRef::Real(number) => Value::from(number),
            rusqlite::types::ValueRef::Text(text) => {
                Value::String(String::from_utf8_lossy(text).into_owned())
            }
            rusqlite::types::ValueRef::Blob(bytes) => {
                Value::String(format!("<{} bytes>", bytes.len()))
            }
        };
        object.insert(name.clone(), value);
    }
    Some(object)
}

/// The README's Rust examples, compiled as doctests so they stay correct.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
