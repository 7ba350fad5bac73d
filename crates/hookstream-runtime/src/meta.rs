//! Request metadata that every operation receives.

use http::request::Parts;

/// The header that carries the request id, set by a request-id layer such
/// as tower-http's `SetRequestIdLayer`.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The maximum length of a request id taken from a header. A longer one is
/// replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Facts about one request that handlers and rejections need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// The `X-Request-Id` of the request, or a new UUID when it has none
    /// or an unusable one.
    pub request_id: String,
    /// The `operationId` the request was routed to.
    pub operation_id: &'static str,
}

impl RequestMeta {
    /// Reads the request id from the request's headers.
    pub fn new(parts: &Parts, operation_id: &'static str) -> Self {
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| is_usable_request_id(id))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Self {
            request_id,
            operation_id,
        }
    }
}

/// Returns true when `id` may be used as a request id: 1 to 128 visible
/// ASCII characters. A server that sets request ids in a layer should drop
/// an unusable incoming one first, so that its logs, its response header
/// and [`RequestMeta::request_id`] agree.
pub fn is_usable_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The context an operation runs in: its request and its authenticated
/// caller (`()` for operations that need no credential).
#[derive(Debug, Clone)]
pub struct RequestContext<I> {
    /// Facts about the request.
    pub meta: RequestMeta,
    /// The caller that authentication accepted.
    pub identity: I,
}
