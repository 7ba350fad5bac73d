//! The two baselines that the generated server is compared with.
//!
//! (a) [`router`]: a hand-written axum handler for
//! `PATCH /v1/connections/{id}` that does the reference server's store
//! work (API-key lookup, then the update transaction, each on the blocking
//! pool) with none of the generated layer: no schema validation, no
//! request ids, no tracing, no timeout layer.
//!
//! (b) [`update_loop`]: the same update transaction called in a loop on
//! the calling thread, with no HTTP and no async runtime.

use crate::stats::{Sample, Summary};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hookstream_api::types::{ConnectionPatch, ConnectionResponse};
use hookstream_server::store::{self, Store, StoreError, Tenant, UpdateError};
use std::time::{Duration, Instant};

/// The body that the load generator and baseline (b) send: it passes the
/// schema and the connection rules and touches four columns plus
/// `updated_at`.
pub const PATCH_BODY: &str = r#"{"name":"Orders to billing","description":"Forwards order events","enabled":true,"filter_rules":[{"field":"payload.type","op":"eq","value":"order.created"},{"field":"headers.X-Event","op":"in","value":["order.created","order.paid"]}]}"#;

/// Returns [`PATCH_BODY`] parsed as the generated patch type.
pub fn patch() -> ConnectionPatch {
    serde_json::from_str(PATCH_BODY).expect("PATCH_BODY is a valid ConnectionPatch")
}

/// Builds baseline (a): the update route only, on `store`.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/v1/connections/{id}", axum::routing::patch(update))
        .with_state(store)
}

async fn update(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
    else {
        return (StatusCode::UNAUTHORIZED, "missing X-API-Key").into_response();
    };
    let key = key.to_owned();
    let tenant = match store
        .run(move |connection| store::find_api_key(connection, &key))
        .await
    {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "unknown API key").into_response(),
        Err(error) => return internal_error(&error),
    };
    let patch: ConnectionPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let result = store
        .run(move |connection| store::update_connection(connection, &tenant, &id, &patch))
        .await;
    match result {
        Ok(connection) => axum::Json(ConnectionResponse {
            connection: Some(connection),
        })
        .into_response(),
        Err(UpdateError::NotFound) => {
            (StatusCode::NOT_FOUND, "connection not found").into_response()
        }
        Err(UpdateError::Invalid(violations)) => (
            StatusCode::BAD_REQUEST,
            format!("{} rule violation(s)", violations.len()),
        )
            .into_response(),
        Err(UpdateError::Store(error)) => internal_error(&error),
    }
}

fn internal_error(error: &StoreError) -> Response {
    tracing::error!(%error, "baseline request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
}

/// Runs baseline (b): calls [`store::update_connection`] with [`patch`] in a
/// loop on the calling thread, for `warmup` without counting and then for
/// `duration`, and summarises the measured calls.
pub fn update_loop(
    store: &Store,
    tenant: &Tenant,
    connection_id: &str,
    warmup: Duration,
    duration: Duration,
) -> Summary {
    let patch = patch();
    let start = Instant::now();
    let measure_from = start + warmup;
    let measure_until = measure_from + duration;
    let mut sample = Sample::default();
    loop {
        let called_at = Instant::now();
        if called_at >= measure_until {
            break;
        }
        let result = store
            .run_blocking(|connection| {
                Ok(store::update_connection(
                    connection,
                    tenant,
                    connection_id,
                    &patch,
                ))
            })
            .map_err(UpdateError::Store)
            .and_then(|outcome| outcome);
        if called_at < measure_from {
            continue;
        }
        match result {
            Ok(_) => sample.latencies.push(called_at.elapsed()),
            Err(error) => {
                sample.errors += 1;
                sample
                    .first_error
                    .get_or_insert_with(|| format!("update failed: {error}"));
            }
        }
    }
    sample.summarise(duration)
}
