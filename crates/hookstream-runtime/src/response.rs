//! Turning declared responses into HTTP responses.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Returns a response with a JSON body.
pub fn json_response(status: u16, body: &impl serde::Serialize) -> Response {
    let status = status_code(status);
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot serialize a response body");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Returns a response without a body.
pub fn empty_response(status: u16) -> Response {
    status_code(status).into_response()
}

fn status_code(status: u16) -> StatusCode {
    // Generated code passes only statuses the spec declares, which the
    // generator checked to lie in 100..600.
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
