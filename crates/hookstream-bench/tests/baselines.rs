//! The load generator against baseline (a) on loopback, and baseline (b),
//! each for a fraction of a second on a new database.

use bytes::Bytes;
use hookstream_bench::baseline::{self, PATCH_BODY};
use hookstream_bench::load::{self, Plan, Target};
use hookstream_server::store::{self, Store};
use std::time::Duration;

fn seeded_store(directory: &tempfile::TempDir) -> (Store, store::SeedOutput) {
    let store = Store::open(&directory.path().join("bench.db")).expect("open the database");
    let seeded = store.run_blocking(store::seed).expect("seed a tenant");
    (store, seeded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_against_baseline_a_has_no_errors() {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let (store, seeded) = seeded_store(&directory);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("read the bound address");
    let server = tokio::spawn(async move { axum::serve(listener, baseline::router(store)).await });
    let target = Target {
        address,
        path: format!("/v1/connections/{}", seeded.connection_id),
        api_key: seeded.api_key.clone(),
        body: Bytes::from_static(PATCH_BODY.as_bytes()),
    };
    let plan = Plan {
        concurrency: 4,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(400),
    };
    let summary = load::run(&target, plan).await;
    server.abort();
    assert_eq!(summary.errors, 0, "first error: {:?}", summary.first_error);
    assert!(summary.requests > 0);
    assert!(summary.p50 <= summary.p99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_key_counts_as_errors() {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let (store, seeded) = seeded_store(&directory);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("read the bound address");
    let server = tokio::spawn(async move { axum::serve(listener, baseline::router(store)).await });
    let target = Target {
        address,
        path: format!("/v1/connections/{}", seeded.connection_id),
        api_key: "hsk_not-a-key".into(),
        body: Bytes::from_static(PATCH_BODY.as_bytes()),
    };
    let plan = Plan {
        concurrency: 1,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(200),
    };
    let summary = load::run(&target, plan).await;
    server.abort();
    assert_eq!(summary.requests, 0);
    assert!(summary.errors > 0);
    let error = summary.first_error.expect("a failure is described");
    assert!(error.starts_with("status 401"), "{error}");
}

#[test]
fn direct_update_loop_has_no_errors() {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let (store, seeded) = seeded_store(&directory);
    let tenant = store
        .run_blocking(|connection| store::find_api_key(connection, &seeded.api_key))
        .expect("look up the API key")
        .expect("the seeded key exists");
    let summary = baseline::update_loop(
        &store,
        &tenant,
        &seeded.connection_id,
        Duration::ZERO,
        Duration::from_millis(200),
    );
    assert_eq!(summary.errors, 0, "first error: {:?}", summary.first_error);
    assert!(summary.requests > 0);
}
