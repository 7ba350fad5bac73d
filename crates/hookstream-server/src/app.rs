//! The HTTP application: the generated router plus request ids, request
//! logs, a timeout and JSON answers for unknown routes.

use crate::service::ReferenceApi;
use crate::store::Store;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hookstream_api::runtime::REQUEST_ID_HEADER;
use hookstream_api::types::Error as ErrorBody;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// How long one request may take before the server responds with `500`. Store
/// work gives up unapplied well before it (see
/// [`crate::store::WORK_BUDGET`]), so a request that times out here never
/// commits afterwards.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send its request line and headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may pause while it sends a request body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the accept loop waits after a failed `accept` (for example when
/// the process has no file descriptors left) before it tries again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// The period of the timer that [`keep_timer_pending`] keeps pending. It
/// must stay below the shortest per-request timeout.
const PENDING_TIMER_PERIOD: Duration = Duration::from_secs(1);
const _: () = assert!(
    PENDING_TIMER_PERIOD.as_millis() < HEADER_READ_TIMEOUT.as_millis()
        && PENDING_TIMER_PERIOD.as_millis() < BODY_READ_TIMEOUT.as_millis()
        && PENDING_TIMER_PERIOD.as_millis() < REQUEST_TIMEOUT.as_millis()
);
/// How long the server waits after a shutdown signal for open connections
/// to close. No request runs longer than [`REQUEST_TIMEOUT`], so every
/// request in flight at the signal ends within it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(31);

/// Builds the application on a store.
pub fn app(store: Store) -> Router {
    let api = Arc::new(ReferenceApi::new(store));
    let layers = ServiceBuilder::new()
        .layer(axum::middleware::map_request(drop_unusable_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    // The path only: the query string and headers may hold
                    // credentials and are never logged.
                    // `org_id` is filled in by the service once the caller is
                    // known, so the response line names the tenant.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id(request),
                        org_id = tracing::field::Empty,
                    )
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::from_fn(time_limit))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT));
    hookstream_api::router(api)
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(layers)
}

/// Removes an `X-Request-Id` that the generated layer would not use (empty,
/// too long, or not visible ASCII), so that the id layer sets a new one and
/// the logs, the response header and the body all carry the same id.
async fn drop_unusable_request_id(
    mut request: Request<axum::body::Body>,
) -> Request<axum::body::Body> {
    let usable = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(hookstream_api::runtime::is_usable_request_id);
    if !usable {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

fn request_id<B>(request: &Request<B>) -> String {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Responds with `500` and the `Error` body when a request runs longer than
/// [`REQUEST_TIMEOUT`].
async fn time_limit(request: Request<axum::body::Body>, next: axum::middleware::Next) -> Response {
    let request_id = request_id(&request);
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let error = format!(
                "Internal server error: the request did not finish within {} s; try again",
                REQUEST_TIMEOUT.as_secs()
            );
            tracing::error!(%request_id, timeout_seconds = REQUEST_TIMEOUT.as_secs(), "request timed out");
            let body = ErrorBody {
                error,
                status: 500,
                request_id,
                details: None,
            };
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
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
        "No route for {} {}: GET /openapi.json lists every operation, with paths relative to {}",
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
    let request_id = request_id(request);
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
/// The accept loop is hyper's own rather than `axum::serve`, because
/// `axum::serve` (axum 0.8) cannot bound the time a client takes to send
/// its request headers. Without that bound, a client that never finishes
/// them holds a connection and a file descriptor for ever.
async fn serve_with_grace(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let service = hyper_util::service::TowerToHyperService::new(app(store));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    // Dropping the set, when this function returns or its future is
    // dropped, stops the timer task.
    let mut pending_timer = tokio::task::JoinSet::new();
    pending_timer.spawn(keep_timer_pending());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors or a connection reset
                    // before accept; the listener itself still works.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
        }
        let connection =
            http.serve_connection(hyper_util::rt::TokioIo::new(stream), service.clone());
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    // Closing the listener refuses new connections while the open ones
    // finish the request they are serving.
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "connections still open when the shutdown grace period ended; dropping them"
            );
        }
    }
    Ok(())
}

/// Keeps one timer pending for as long as the server runs.
///
/// Each request starts three timeouts: header read, body read and the
/// whole request. When a new timer is due before every pending timer, tokio
/// 1.54 wakes the worker thread that waits on the time driver, so that it
/// computes its wake-up time again
/// (<https://github.com/tokio-rs/tokio/issues/5207>).
/// A timer that is always due within [`PENDING_TIMER_PERIOD`] comes before
/// every request's timeouts, so they wake no thread. BENCHMARKS.md records
/// the system calls that this saves. The cost is one wake-up per second
/// while the server is idle.
async fn keep_timer_pending() {
    let mut ticks = tokio::time::interval(PENDING_TIMER_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
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

    #[tokio::test]
    async fn dropped_server_stops_its_timer() {
        let server = start(Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        assert_eq!(metrics.num_alive_tasks(), 2, "the server and its timer run");

        server.task.abort();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while metrics.num_alive_tasks() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{} tasks still run after the server was dropped",
                metrics.num_alive_tasks()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
