//! The `hookstream-server` binary as a child process: no acknowledged
//! update is lost when the process is killed under load, and SIGTERM
//! finishes requests in flight while refusing new connections.
//!
//! Every server listens on a loopback port that the test reserved by
//! binding it and passes with `--listen`.

use hookstream_client::types::{ConnectionPatch, Nullable};
use hookstream_client::{Client, Credentials};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_hookstream-server");
/// How long a server may take to start or to stop.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

/// A server child process, killed on drop if it still runs.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `hookstream-server serve` on a free loopback port and waits
    /// until it logs that it listens. Retries with another port when the
    /// reserved one was taken between the reservation and the bind.
    fn start(database: &Path) -> Self {
        for _ in 0..5 {
            let address = reserve_port();
            let mut child = Command::new(BINARY)
                .arg("serve")
                .arg("--listen")
                .arg(address.to_string())
                .arg("--database")
                .arg(database)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start hookstream-server");
            let stdout = collect_lines(child.stdout.take().expect("piped stdout"));
            let stderr = collect_lines(child.stderr.take().expect("piped stderr"));
            let mut server = Self {
                child,
                address,
                stdout,
                stderr,
            };
            if server.wait_for_log("hookstream-server started", PROCESS_TIMEOUT) {
                return server;
            }
            let status = server.child.try_wait().expect("poll the server");
            let log = server.stderr.lock().expect("stderr lines").join("\n");
            assert!(
                status.is_some() && log.contains("cannot listen"),
                "the server did not start (status {status:?}):\n{log}"
            );
        }
        panic!("no free loopback port after 5 attempts");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns whether a stderr line containing `text` appeared in time.
    fn wait_for_log(&mut self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.has_log(text) {
                return true;
            }
            if self.child.try_wait().expect("poll the server").is_some() {
                // Give the reader thread a moment to store the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return self.has_log(text);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn has_log(&self, text: &str) -> bool {
        self.stderr
            .lock()
            .expect("stderr lines")
            .iter()
            .any(|line| line.contains(text))
    }

    /// Returns the JSON that a seeding `serve` printed on stdout.
    ///
    /// It waits, because stdout and stderr have separate reader threads.
    /// The stderr reader can store the "started" line before the stdout
    /// reader stores the credentials, which the server prints first.
    fn seed_output(&self) -> Value {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            let line = self.stdout.lock().expect("stdout lines").first().cloned();
            if let Some(line) = line {
                return serde_json::from_str(&line).expect("the credentials are JSON");
            }
            assert!(
                Instant::now() < deadline,
                "serve on a new database printed no credentials within {PROCESS_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to exit and returns its status.
    fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Binds `127.0.0.1:0`, reads the port the kernel chose and releases it
/// for the server.
fn reserve_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("read the bound address")
}

/// Reads lines from a pipe on a thread into a shared list.
fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().expect("store a line").push(line);
        }
    });
    lines
}

/// Runs `hookstream-server seed` and returns the JSON it prints.
fn seed(database: &Path) -> Value {
    let output = Command::new(BINARY)
        .arg("seed")
        .arg("--database")
        .arg(database)
        .stdin(Stdio::null())
        .output()
        .expect("run hookstream-server seed");
    assert!(
        output.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("seed prints JSON")
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is a string in {value}"))
}

/// Sends SIGTERM with the `kill` utility, because the workspace forbids
/// the `unsafe` that a direct `libc::kill` call needs.
fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s TERM {pid} failed");
}

fn check_integrity(database: &Path) {
    let connection = rusqlite::Connection::open(database).expect("open the database");
    let result: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("run the integrity check");
    assert_eq!(result, "ok");
}

fn stored_name(database: &Path, id: &str) -> String {
    let connection = rusqlite::Connection::open(database).expect("open the database");
    connection
        .query_row("SELECT name FROM connections WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .expect("read the connection's name")
}

/// Workers that send updates to their own connection.
const WORKERS: usize = 8;
/// Acknowledged updates, across workers, after which the server is killed.
const UPDATES_BEFORE_KILL: usize = 300;

/// Returns the name that worker `worker` sends in its update number `update`.
fn update_name(worker: usize, update: usize) -> String {
    format!("worker {worker} update {update}")
}

/// Renames one connection in a loop until a request fails, which happens
/// once the server is killed. Returns how many updates got a `200`.
async fn rename_until_failure(
    client: Client,
    id: String,
    worker: usize,
    acknowledged: Arc<AtomicUsize>,
) -> usize {
    let mut update = 0;
    loop {
        let patch = ConnectionPatch {
            name: Some(update_name(worker, update)),
            ..Default::default()
        };
        match client.update_connection().id(&id).body(patch).send().await {
            Ok(response) if response.status().as_u16() == 200 => {
                update += 1;
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Ok(response) => panic!("worker {worker}: unexpected status {}", response.status()),
            Err(hookstream_client::Error::ErrorResponse(response)) => {
                panic!(
                    "worker {worker}: update rejected with {}",
                    response.status()
                )
            }
            // The server is gone: a connection error ends the loop.
            Err(_) => return update,
        }
    }
}

#[test]
fn sigkill_loses_no_acknowledged_update() {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let database = directory.path().join("hookstream.db");
    let tenants: Vec<Value> = (0..WORKERS).map(|_| seed(&database)).collect();
    let mut server = ServerProcess::start(&database);

    let runtime = tokio::runtime::Runtime::new().expect("start a runtime");
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = tenants
        .iter()
        .enumerate()
        .map(|(worker, tenant)| {
            let client = Client::new(&server.base_url(), Credentials::default())
                .with_api_key_header(text(tenant, "api_key"));
            let id = text(tenant, "connection_id").to_string();
            runtime.spawn(rename_until_failure(
                client,
                id,
                worker,
                Arc::clone(&acknowledged),
            ))
        })
        .collect();
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while acknowledged.load(Ordering::Relaxed) < UPDATES_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "the server acknowledged too few updates"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    server.child.kill().expect("send SIGKILL");
    server.wait_for_exit(PROCESS_TIMEOUT);
    let counts: Vec<usize> = workers
        .into_iter()
        .map(|worker| runtime.block_on(worker).expect("join a worker"))
        .collect();

    check_integrity(&database);
    for (worker, (tenant, &count)) in tenants.iter().zip(&counts).enumerate() {
        assert!(count > 0, "worker {worker} got no update through");
        let name = stored_name(&database, text(tenant, "connection_id"));
        // The update in flight at the kill may or may not have committed.
        let acknowledged = update_name(worker, count - 1);
        let in_flight = update_name(worker, count);
        assert!(
            name == acknowledged || name == in_flight,
            "worker {worker}: stored {name:?}, last acknowledged {acknowledged:?}"
        );
    }

    let restarted = ServerProcess::start(&database);
    for (worker, tenant) in tenants.iter().enumerate() {
        let id = text(tenant, "connection_id");
        let stored = stored_name(&database, id);
        let client = Client::new(&restarted.base_url(), Credentials::default())
            .with_api_key_header(text(tenant, "api_key"));
        let patch = ConnectionPatch {
            description: Nullable::Value("after the restart".into()),
            ..Default::default()
        };
        let response = runtime
            .block_on(client.update_connection().id(id).body(patch).send())
            .unwrap_or_else(|error| {
                panic!("worker {worker}: update after restart failed: {error}")
            });
        let connection = response
            .into_inner()
            .connection
            .expect("the body holds the connection");
        assert_eq!(
            connection.name, stored,
            "worker {worker}: name after restart"
        );
    }
    drop(restarted);
    check_integrity(&database);
}

/// Reads from a socket until `marker` has arrived and returns all bytes read.
fn read_until(stream: &mut TcpStream, marker: &[u8]) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !received
        .windows(marker.len())
        .any(|window| window == marker)
    {
        let read = stream.read(&mut buffer).expect("read from the server");
        assert!(
            read > 0,
            "the server closed the socket after {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..read]);
    }
    received
}

#[test]
fn sigterm_drains_in_flight_request() {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let database = directory.path().join("hookstream.db");
    let mut server = ServerProcess::start(&database);
    let seeded = server.seed_output();
    let id = text(&seeded, "connection_id");
    let body = br#"{"name": "finished during shutdown"}"#;

    // `Expect: 100-continue` makes the server confirm that the handler has
    // started reading the body, so the request is in flight at SIGTERM.
    let mut stream = TcpStream::connect(server.address).expect("connect to the server");
    stream
        .set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("set a read timeout");
    let head = format!(
        "PATCH /v1/connections/{id} HTTP/1.1\r\nHost: {}\r\nX-API-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        server.address,
        text(&seeded, "api_key"),
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .expect("send the request head");
    let interim = read_until(&mut stream, b"\r\n\r\n");
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue"),
        "expected 100 Continue, got {:?}",
        String::from_utf8_lossy(&interim)
    );

    send_sigterm(server.pid());
    assert!(
        server.wait_for_log("received SIGTERM", PROCESS_TIMEOUT),
        "the server logged SIGTERM"
    );
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    loop {
        match TcpStream::connect(server.address) {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => break,
            Err(error) => panic!("connecting during shutdown failed with {error}, not a refusal"),
            // The listener may not be closed yet right after the signal.
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "new connections are still accepted"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    assert!(
        server.child.try_wait().expect("poll the server").is_none(),
        "the server exited with a request in flight"
    );

    stream.write_all(body).expect("send the request body");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the response");
    let response = String::from_utf8(response).expect("the response is UTF-8");
    assert!(
        response.starts_with("HTTP/1.1 200 OK"),
        "response: {response}"
    );
    let json = response.split("\r\n\r\n").nth(1).expect("a response body");
    let json: Value = serde_json::from_str(json).expect("the body is JSON");
    assert_eq!(json["connection"]["name"], "finished during shutdown");

    let status = server.wait_for_exit(PROCESS_TIMEOUT);
    assert!(status.success(), "exit status {status}");
    assert!(
        server.has_log("hookstream-server stopped"),
        "the server logged its stop"
    );
    assert_eq!(stored_name(&database, id), "finished during shutdown");
    check_integrity(&database);
}
