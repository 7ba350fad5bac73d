//! The HTTP application: the generated router plus request ids, request
//! logs, a timeout and JSON answers for unknown routes.

use crate::service::ReferenceApi;
use crate::store::Store;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hookstream_api::types::Error as ErrorBody;
use std::future::{Future, IntoFuture};
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
/// How long the server waits after a shutdown signal for open connections
/// to close. No request runs longer than [`REQUEST_TIMEOUT`], so every
/// request in flight at the signal ends within it. A connection that is
/// still sending its request headers when it expires is dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(31);

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
/// then stops accepting connections and lets requests in flight finish for
/// up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_grace(listener, store, shutdown, SHUTDOWN_GRACE).await
}

/// Serves like [`serve`], with `grace` in place of [`SHUTDOWN_GRACE`].
///
/// axum's graceful shutdown alone waits for every open connection, and
/// `axum::serve` (axum 0.8) sets no timeout for reading request headers,
/// so a client that never finishes its headers would keep the process
/// alive indefinitely.
async fn serve_with_grace(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app(store))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = signalled.send(());
        })
        .into_future();
    let grace_expired = async move {
        if on_signal.await.is_err() {
            // The server stopped without a signal, so it wins the select.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        () = grace_expired => {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "connections still open when the shutdown grace period ended; dropping them"
            );
            Ok(())
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    /// A server on a loopback port with its own database.
    struct Running {
        address: std::net::SocketAddr,
        stop: oneshot::Sender<()>,
        task: JoinHandle<std::io::Result<()>>,
        _directory: tempfile::TempDir,
    }

    async fn start(grace: Duration) -> Running {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(&directory.path().join("hookstream.db")).expect("open the store");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("read the bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve_with_grace(listener, store, shutdown, grace));
        Running {
            address,
            stop,
            task,
            _directory: directory,
        }
    }

    #[tokio::test]
    async fn partial_headers_end_at_grace() {
        let server = start(Duration::from_millis(200)).await;
        let client = tokio::net::TcpStream::connect(server.address)
            .await
            .expect("connect");
        client
            .writable()
            .await
            .expect("wait until the socket is writable");
        let sent = client
            .try_write(b"PATCH /v1/conn")
            .expect("send part of a request line");
        assert_eq!(sent, 14);
        tokio::time::sleep(Duration::from_millis(50)).await;

        server.stop.send(()).expect("signal shutdown");
        let result = tokio::time::timeout(Duration::from_secs(5), server.task).await;
        let served = result.expect("serve returns after the grace period");
        assert!(served.expect("join the server task").is_ok());
    }

    #[tokio::test]
    async fn idle_server_stops_at_once() {
        let server = start(Duration::from_secs(60)).await;
        server.stop.send(()).expect("signal shutdown");
        let result = tokio::time::timeout(Duration::from_secs(5), server.task).await;
        let served = result.expect("serve returns without waiting for the grace period");
        assert!(served.expect("join the server task").is_ok());
    }
}
