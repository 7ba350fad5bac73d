//! A closed-loop HTTP/1.1 load generator.
//!
//! Each worker holds one keep-alive connection and sends the next request
//! as soon as the previous response body has arrived, so `concurrency` is
//! the number of requests in flight. A run has a warm-up phase whose
//! requests are not counted, then a measured phase of fixed length; no
//! request starts after the measured phase ends, so every run stops by
//! itself.

use crate::stats::{Sample, Summary};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long a worker keeps trying to open its connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The request every worker sends: `PATCH` with a JSON body and an API key.
#[derive(Debug, Clone)]
pub struct Target {
    /// A loopback address of the server.
    pub address: SocketAddr,
    /// The request path, such as `/v1/connections/{id}`.
    pub path: String,
    /// The value of the `X-API-Key` header.
    pub api_key: String,
    /// The JSON request body.
    pub body: Bytes,
}

/// How long and how hard to load a server.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests in flight, one connection each.
    pub concurrency: usize,
    /// Time before measuring, whose requests are not counted.
    pub warmup: Duration,
    /// Length of the measured phase.
    pub duration: Duration,
}

/// What one worker saw in the measured phase.
#[derive(Debug, Default)]
struct WorkerResult {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `plan` against `target` and summarises the measured phase.
///
/// Failed connections, transport errors, timeouts and responses other than
/// `200 OK` count as errors; the first one is kept in
/// [`Summary::first_error`].
pub async fn run(target: &Target, plan: Plan) -> Summary {
    let target = Arc::new(target.clone());
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + plan.warmup;
    let measure_until = measure_from + plan.duration;
    let workers: Vec<_> = (0..plan.concurrency)
        .map(|_| {
            let target = Arc::clone(&target);
            tokio::spawn(async move { worker(&target, start, measure_from, measure_until).await })
        })
        .collect();
    let mut sample = Sample::default();
    for handle in workers {
        match handle.await {
            Ok(result) => {
                sample.latencies.extend(result.latencies);
                sample.errors += result.errors;
                if sample.first_error.is_none() {
                    sample.first_error = result.first_error;
                }
            }
            Err(error) => {
                sample.errors += 1;
                sample
                    .first_error
                    .get_or_insert_with(|| format!("load worker failed: {error}"));
            }
        }
    }
    sample.summarise(plan.duration)
}

async fn worker(
    target: &Target,
    start: Instant,
    measure_from: Instant,
    measure_until: Instant,
) -> WorkerResult {
    let mut result = WorkerResult::default();
    tokio::time::sleep_until(start.into()).await;
    let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
    loop {
        let sent_at = Instant::now();
        if sent_at >= measure_until {
            return result;
        }
        let measured = sent_at >= measure_from;
        let outcome = match sender.as_mut() {
            Some(open) => send(open, target).await,
            None => match connect(target.address).await {
                Ok(open) => {
                    sender = Some(open);
                    continue;
                }
                Err(error) => {
                    // Without a connection, this worker stops; the error
                    // counts whether or not the warm-up is over.
                    result.errors += 1;
                    result.first_error.get_or_insert(error);
                    return result;
                }
            },
        };
        match outcome {
            Ok(()) if measured => result.latencies.push(sent_at.elapsed()),
            Ok(()) => {}
            Err(error) => {
                // The connection may be unusable; open a new one.
                sender = None;
                if measured {
                    result.errors += 1;
                    result.first_error.get_or_insert(error);
                }
            }
        }
    }
}

async fn connect(address: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>, String> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let stream = loop {
        match TcpStream::connect(address).await {
            Ok(stream) => break stream,
            Err(error) if Instant::now() >= deadline => {
                return Err(format!("cannot connect to {address}: {error}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    stream
        .set_nodelay(true)
        .map_err(|error| format!("cannot set TCP_NODELAY: {error}"))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("HTTP handshake with {address} failed: {error}"))?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server
        // closes it; the next request reports the failure.
        let _ = connection.await;
    });
    Ok(sender)
}

async fn send(sender: &mut http1::SendRequest<Full<Bytes>>, target: &Target) -> Result<(), String> {
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(&target.path)
        .header(hyper::header::HOST, target.address.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header("x-api-key", &target.api_key)
        .body(Full::new(target.body.clone()))
        .map_err(|error| format!("cannot build the request: {error}"))?;
    let exchange = async {
        sender
            .ready()
            .await
            .map_err(|error| format!("connection closed: {error}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| format!("request failed: {error}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| format!("reading the response body failed: {error}"))?
            .to_bytes();
        if status == StatusCode::OK {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&body);
            Err(format!(
                "status {status}: {}",
                text.chars().take(300).collect::<String>()
            ))
        }
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("request timed out after {REQUEST_TIMEOUT:?}")),
    }
}
