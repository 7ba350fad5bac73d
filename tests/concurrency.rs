//! Concurrent updates through the generated client: no request fails, the
//! last write of each client wins for its own field, and tenants never see
//! each other's rows.

use hookstream_client::types::{Connection, ConnectionPatch, Nullable};
use hookstream_client::{Client, Error};
use hookstream_server::store::SeedOutput;
use hookstream_tests::TestServer;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Updates each of the two clients sends to the shared connection.
const ROUNDS: usize = 500;
/// Tenants patched at the same time.
const TENANTS: usize = 8;
/// Updates each tenant sends to its own connection.
const TENANT_ROUNDS: usize = 50;

/// Sends a patch and returns the connection from the `200` body, or a
/// description of the failure.
async fn send_patch(
    client: &Client,
    id: &str,
    patch: ConnectionPatch,
) -> Result<Connection, String> {
    match client.update_connection().id(id).body(patch).send().await {
        Ok(response) if response.status().as_u16() == 200 => response
            .into_inner()
            .connection
            .ok_or_else(|| "a 200 without a connection".to_string()),
        Ok(response) => Err(format!("unexpected status {}", response.status())),
        Err(Error::ErrorResponse(response)) => Err(format!(
            "status {}: {}",
            response.status(),
            response.into_inner().error
        )),
        Err(error) => Err(format!("request failed: {error}")),
    }
}

fn rename(name: String) -> ConnectionPatch {
    ConnectionPatch {
        name: Some(name),
        ..Default::default()
    }
}

fn describe(description: String) -> ConnectionPatch {
    ConnectionPatch {
        description: Nullable::Value(description),
        ..Default::default()
    }
}

/// Sends `ROUNDS` patches built by `patch` one after another and returns
/// the `updated_at` of every response and every failure.
async fn patch_rounds(
    client: Client,
    id: String,
    patch: fn(usize) -> ConnectionPatch,
    expected: fn(&Connection, usize) -> bool,
) -> (Vec<String>, Vec<String>) {
    let mut updated = Vec::with_capacity(ROUNDS);
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        match send_patch(&client, &id, patch(round)).await {
            Ok(connection) if expected(&connection, round) => updated.push(connection.updated_at),
            Ok(connection) => failures.push(format!("round {round}: wrong row {connection:?}")),
            Err(failure) => failures.push(format!("round {round}: {failure}")),
        }
    }
    (updated, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_patch_one_row() {
    let server = TestServer::start().await;
    let tenant = server.seed();
    let id = tenant.connection_id.clone();

    // A reader on its own SQLite connection checks, while the writers
    // run, that every committed row contains values the writers sent.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        let database = server.database.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || {
            let connection = rusqlite::Connection::open(&database).expect("open the database");
            let mut reads = 0_u32;
            let mut torn = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let (name, description): (String, Option<String>) = connection
                    .query_row(
                        "SELECT name, description FROM connections WHERE id = ?1",
                        [&id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .expect("read the row");
                let name_ok = name == "Orders to billing" || name.starts_with("name ");
                let description_ok = description.as_deref().is_some_and(|text| {
                    text == "Forwards order events" || text.starts_with("description ")
                });
                if !(name_ok && description_ok) {
                    torn.push((name, description));
                }
                reads += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (reads, torn)
        })
    };

    let names = tokio::spawn(patch_rounds(
        server.client(&tenant.api_key),
        id.clone(),
        |round| rename(format!("name {round}")),
        |connection, round| connection.name == format!("name {round}"),
    ));
    let descriptions = tokio::spawn(patch_rounds(
        server.client(&tenant.api_key),
        id.clone(),
        |round| describe(format!("description {round}")),
        |connection, round| connection.description == Some(format!("description {round}")),
    ));
    let (name_times, name_failures) = names.await.expect("join the name client");
    let (description_times, description_failures) =
        descriptions.await.expect("join the description client");
    done.store(true, Ordering::Relaxed);
    let (reads, torn) = reader.await.expect("join the reader");

    assert!(name_failures.is_empty(), "name client: {name_failures:?}");
    assert!(
        description_failures.is_empty(),
        "description client: {description_failures:?}"
    );
    let row = server.read_connection(&id).expect("the row exists");
    assert_eq!(row["name"], format!("name {}", ROUNDS - 1));
    assert_eq!(row["description"], format!("description {}", ROUNDS - 1));
    assert_eq!(row["status"], "active", "a field no client sent");
    let distinct: BTreeSet<&String> = name_times.iter().chain(&description_times).collect();
    assert_eq!(
        distinct.len(),
        2 * ROUNDS,
        "every update gets its own updated_at"
    );
    assert!(reads > 0, "the reader ran");
    assert!(
        torn.is_empty(),
        "the reader saw rows no client wrote: {torn:?}"
    );
    server.stop().await;
}

/// Patches one tenant's connection `TENANT_ROUNDS` times and tries another
/// tenant's connection in between. Returns every failure.
async fn patch_as_tenant(
    client: Client,
    own: SeedOutput,
    index: usize,
    other_id: String,
) -> Vec<String> {
    let mut failures = Vec::new();
    for round in 0..TENANT_ROUNDS {
        let name = format!("tenant {index} round {round}");
        match send_patch(&client, &own.connection_id, rename(name.clone())).await {
            Ok(connection) => {
                let fields = [
                    ("id", connection.id, own.connection_id.clone()),
                    ("org_id", connection.org_id, own.org_id.clone()),
                    ("env_id", connection.env_id, own.env_id.clone()),
                    ("name", connection.name, name),
                ];
                for (field, got, expected) in fields {
                    if got != expected {
                        failures.push(format!(
                            "round {round}: {field} is {got}, expected {expected}"
                        ));
                    }
                }
            }
            Err(failure) => failures.push(format!("round {round}: {failure}")),
        }
        if round % 10 == 0 {
            let stolen = rename(format!("stolen by tenant {index}"));
            match send_patch(&client, &other_id, stolen).await {
                Err(failure) if failure == "status 404 Not Found: Connection not found" => {}
                other => failures.push(format!(
                    "round {round}: another tenant's row gave {other:?}"
                )),
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_stay_isolated_under_load() {
    let server = TestServer::start().await;
    let tenants: Vec<SeedOutput> = (0..TENANTS).map(|_| server.seed()).collect();
    let mut tasks = Vec::new();
    for (index, tenant) in tenants.iter().enumerate() {
        let other = &tenants[(index + 1) % TENANTS];
        tasks.push(tokio::spawn(patch_as_tenant(
            server.client(&tenant.api_key),
            tenant.clone(),
            index,
            other.connection_id.clone(),
        )));
    }
    for (index, task) in tasks.into_iter().enumerate() {
        let failures = task.await.expect("join the tenant task");
        assert!(failures.is_empty(), "tenant {index}: {failures:?}");
    }
    for (index, tenant) in tenants.iter().enumerate() {
        let row = server
            .read_connection(&tenant.connection_id)
            .expect("the row exists");
        assert_eq!(
            row["name"],
            format!("tenant {index} round {}", TENANT_ROUNDS - 1)
        );
        assert_eq!(row["org_id"], tenant.org_id.as_str());
        assert_eq!(row["env_id"], tenant.env_id.as_str());
    }
    server.stop().await;
}
