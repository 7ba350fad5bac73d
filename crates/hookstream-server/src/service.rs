//! The reference implementation of the generated [`HookstreamApi`] trait.

use crate::rules;
use crate::store::{self, SessionLookup, Store, StoreError, Tenant, UpdateError};
use hookstream_api::runtime::{
    AuthFailure, Location, Rejection, RequestContext, RequestMeta, Violation,
};
use hookstream_api::types::{ConnectionResponse, Error as ErrorBody, ErrorDetail};
use hookstream_api::{
    Credential, HookstreamApi, SecurityScheme, UpdateConnectionParams, UpdateConnectionResponse,
    types::ConnectionPatch,
};
use serde_json::Value;

/// Properties of a connection that a patch cannot change.
const READ_ONLY: &[&str] = &[
    "id",
    "org_id",
    "env_id",
    "source_id",
    "destination_id",
    "event_count",
    "last_event_at",
    "created_at",
    "updated_at",
    "source_name",
    "destination_name",
];

/// The reference server: the generated contract on a SQLite store.
#[derive(Debug, Clone)]
pub struct ReferenceApi {
    store: Store,
}

impl ReferenceApi {
    /// Serves the API from a store.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl HookstreamApi for ReferenceApi {
    /// Large enough for a transform of 65,536 characters written as JSON
    /// escapes (up to 12 bytes each, 786,432 bytes) plus 50 filter rules.
    /// NOTE: filter rule values have no maximum length in the spec, so a
    /// schema-valid body with very long values can still get 413.
    const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

    type Identity = Tenant;

    async fn authenticate(
        &self,
        meta: &RequestMeta,
        credential: Credential,
    ) -> Result<Tenant, AuthFailure> {
        let scheme = credential.scheme;
        let secret = credential.secret;
        let lookup = self
            .store
            .run(move |connection| match scheme {
                SecurityScheme::ApiKeyHeader | SecurityScheme::BearerAuth => {
                    Ok::<_, StoreError>(match store::find_api_key(connection, secret.expose())? {
                        Some(tenant) => SessionLookup::Valid(tenant),
                        None => SessionLookup::Unknown,
                    })
                }
                SecurityScheme::SessionCookie => store::find_session(connection, secret.expose()),
            })
            .await;
        match lookup {
            Ok(SessionLookup::Valid(tenant)) => Ok(tenant),
            Ok(SessionLookup::Expired) => Err(AuthFailure::rejected(
                "the session has expired; sign in again",
            )),
            Ok(SessionLookup::Unknown) => Err(AuthFailure::rejected(match scheme {
                SecurityScheme::SessionCookie => "the session token is not valid",
                _ => "the API key is not valid",
            })),
            Err(error) => {
                tracing::error!(request_id = %meta.request_id, %error, "credential lookup failed");
                Err(AuthFailure::rejected(
                    "the credentials could not be checked; try again",
                ))
            }
        }
    }

    async fn update_connection(
        &self,
        context: RequestContext<Tenant>,
        params: UpdateConnectionParams,
        body: ConnectionPatch,
    ) -> UpdateConnectionResponse {
        let RequestContext {
            meta,
            identity: tenant,
        } = context;
        let id = params.id;
        let (tenant_for_store, id_for_store) = (tenant.clone(), id.clone());
        let result = self
            .store
            .run(move |connection| {
                store::update_connection(connection, &tenant_for_store, &id_for_store, &body)
            })
            .await;
        match result {
            Ok(connection) => {
                // One info line per request is enough: the trace layer's
                // response line carries the ids, with the tenant recorded here.
                tracing::Span::current().record("org_id", tracing::field::display(&tenant.org_id));
                tracing::debug!(request_id = %meta.request_id, connection_id = %id, org_id = %tenant.org_id, "connection updated");
                UpdateConnectionResponse::Ok(ConnectionResponse {
                    connection: Some(connection),
                })
            }
            Err(UpdateError::NotFound) => {
                tracing::info!(request_id = %meta.request_id, connection_id = %id, org_id = %tenant.org_id, "connection not found");
                UpdateConnectionResponse::NotFound(error_body(
                    &meta,
                    404,
                    "Connection not found".into(),
                    &[],
                ))
            }
            Err(UpdateError::Invalid(violations)) => {
                let rejection = Rejection::Invalid(violations);
                tracing::info!(request_id = %meta.request_id, connection_id = %id, reason = ?rejection.message(), "update rejected by connection rules");
                UpdateConnectionResponse::BadRequest(error_body(
                    &meta,
                    400,
                    rejection.message(),
                    rejection.violations(),
                ))
            }
            Err(UpdateError::Store(error)) => {
                tracing::error!(request_id = %meta.request_id, connection_id = %id, %error, "connection update failed");
                let message = if error.is_busy() {
                    "Internal server error: the database stayed locked, so the update was not applied; try again later"
                } else {
                    "Internal server error: the update was not applied; try again"
                };
                UpdateConnectionResponse::InternalServerError(error_body(
                    &meta,
                    500,
                    message.into(),
                    &[],
                ))
            }
        }
    }

    async fn update_connection_invalid(
        &self,
        meta: &RequestMeta,
        identity: &Tenant,
        params: Option<UpdateConnectionParams>,
        body: Option<Value>,
        violations: &[Violation],
    ) -> Vec<Violation> {
        let Some(body) = body.filter(Value::is_object) else {
            return Vec::new();
        };
        // The stored row is needed only to check a transform that the merged
        // row would enable without an expression.
        let current = match params {
            Some(params) if rules::needs_stored_row(&body) => {
                let (tenant, id) = (identity.clone(), params.id.clone());
                let found = self
                    .store
                    .run(move |connection| store::find_connection(connection, &tenant, &id))
                    .await;
                found.unwrap_or_else(|error| {
                    tracing::warn!(request_id = %meta.request_id, connection_id = %params.id, %error, "could not read the connection, so rules that need the stored row were not checked");
                    None
                })
            }
            _ => None,
        };
        // Parsing a transform can take a while, so the checks run off the
        // async workers.
        let violations = violations.to_vec();
        let checked = tokio::task::spawn_blocking(move || {
            rules::violations_beside_schema(&body, &violations, current.as_ref())
        })
        .await;
        checked.unwrap_or_else(|error| {
            tracing::error!(request_id = %meta.request_id, %error, "checking the connection rules failed, so only the schema violations are listed");
            Vec::new()
        })
    }

    fn update_connection_rejected(
        &self,
        meta: &RequestMeta,
        rejection: Rejection,
    ) -> UpdateConnectionResponse {
        let rejection = refine(rejection);
        let message = match rejection.violations() {
            [only] if only.code == "no_fields" => only.message.clone(),
            _ => rejection.message(),
        };
        let body = error_body(meta, rejection.status(), message, rejection.violations());
        match rejection {
            Rejection::Invalid(_) => UpdateConnectionResponse::BadRequest(body),
            Rejection::Unauthenticated(_) => UpdateConnectionResponse::Unauthorized(body),
            Rejection::PayloadTooLarge(_) => UpdateConnectionResponse::PayloadTooLarge(body),
            Rejection::UnsupportedMediaType(_) => {
                UpdateConnectionResponse::UnsupportedMediaType(body)
            }
        }
    }
}

/// Rewords schema violations in the words of this API: an empty patch has
/// no fields to update, and a read-only property is named as such.
fn refine(rejection: Rejection) -> Rejection {
    let Rejection::Invalid(violations) = rejection else {
        return rejection;
    };
    let refined = violations
        .into_iter()
        .map(|violation| match violation.code.as_str() {
            "min_properties"
                if violation.location == Location::Body && violation.path.is_empty() =>
            {
                Violation::new(Location::Body, "", "no_fields", "No fields to update")
            }
            "unknown_property" if READ_ONLY.contains(&violation.path.as_str()) => Violation::new(
                Location::Body,
                violation.path,
                "read_only",
                "is read-only and cannot be changed",
            ),
            _ => violation,
        })
        .collect();
    Rejection::Invalid(refined)
}

/// Builds the `Error` body that every error response of this API carries.
fn error_body(
    meta: &RequestMeta,
    status: u16,
    error: String,
    violations: &[Violation],
) -> ErrorBody {
    let details = (!violations.is_empty()).then(|| {
        violations
            .iter()
            .map(|violation| ErrorDetail {
                path: violation.path.clone(),
                code: violation.code.clone(),
                message: violation.message.clone(),
            })
            .collect()
    });
    ErrorBody {
        error,
        status: i64::from(status),
        request_id: meta.request_id.clone(),
        details,
    }
}
