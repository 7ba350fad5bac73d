//! The HTTP application: the generated router plus request ids, request
//! logs, a timeout and JSON answers for unknown routes.

use crate::service::ReferenceApi;
use crate::store::Store;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hookstream_api::types::Error as ErrorBody;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// How long one request may take before the server answers 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the application on a store.
pub fn app(store: Store) -> Router {
    let api = Arc::new(ReferenceApi::new(store));
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("");
                    // The path only: the query string and headers may hold
                    // credentials and are never logged.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    hookstream_api::router(api)
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(layers)
}

/// Serves the contract, so that any OpenAPI tool can read it.
async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        hookstream_api::OPENAPI_JSON,
    )
        .into_response()
}

/// Answers a request that matches no route with a JSON `404`.
async fn unknown_route(request: Request<axum::body::Body>) -> Response {
    let message = format!(
        "No route for {} {}: the API is served under {}",
        request.method(),
        request.uri().path(),
        hookstream_api::BASE_PATH
    );
    routing_error(&request, StatusCode::NOT_FOUND, message)
}

/// Answers a known path with an undeclared method with a JSON `405`.
async fn method_not_allowed(request: Request<axum::body::Body>) -> Response {
    let message = format!(
        "Method {} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    routing_error(&request, StatusCode::METHOD_NOT_ALLOWED, message)
}

fn routing_error(
    request: &Request<axum::body::Body>,
    status: StatusCode,
    error: String,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    tracing::info!(%request_id, status = status.as_u16(), %error, "no matching route");
    let body = ErrorBody {
        error,
        status: i64::from(status.as_u16()),
        request_id,
        details: None,
    };
    (status, axum::Json(body)).into_response()
}

/// Serves the application on a bound listener until `shutdown` completes,
/// then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(store))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received Ctrl-C, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}
