//! Creating a tenant with one working connection and its credentials.

use super::credentials::{create_api_key, create_session};
use super::{StoreError, new_id, now};
use rusqlite::{Connection, TransactionBehavior, params};

/// How long a seeded session stays valid.
const SESSION_LIFETIME: time::Duration = time::Duration::days(30);

/// What `seed` prints: the ids and the credentials of the new tenant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedOutput {
    /// The new organization.
    pub org_id: String,
    /// The new project.
    pub env_id: String,
    /// The connection that can be patched.
    pub connection_id: String,
    /// An API key for `X-API-Key` or `Authorization: Bearer`.
    pub api_key: String,
    /// A session token for the `better-auth.session_token` cookie.
    pub session_token: String,
}

/// Creates an organization, a project, a source, a destination, a
/// connection between them, an API key and a session, in one transaction.
pub fn seed(connection: &mut Connection) -> Result<SeedOutput, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let created_at = now();
    let org_id = new_id();
    let env_id = new_id();
    let source_id = new_id();
    let destination_id = new_id();
    let connection_id = new_id();
    transaction.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES (?1, 'Example organization', ?2)",
        params![org_id, created_at],
    )?;
    transaction.execute(
        "INSERT INTO projects (id, org_id, name, created_at) VALUES (?1, ?2, 'Production', ?3)",
        params![env_id, org_id, created_at],
    )?;
    transaction.execute(
        "INSERT INTO sources (id, org_id, env_id, name, created_at)
         VALUES (?1, ?2, ?3, 'Shop webhooks', ?4)",
        params![source_id, org_id, env_id, created_at],
    )?;
    transaction.execute(
        "INSERT INTO destinations (id, org_id, env_id, name, url, created_at)
         VALUES (?1, ?2, ?3, 'Billing service', 'https://billing.example/hooks', ?4)",
        params![destination_id, org_id, env_id, created_at],
    )?;
    transaction.execute(
        "INSERT INTO connections (id, org_id, env_id, source_id, destination_id, name,
             description, enabled, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'Orders to billing', 'Forwards order events', 1,
             'active', ?6, ?6)",
        params![
            connection_id,
            org_id,
            env_id,
            source_id,
            destination_id,
            created_at
        ],
    )?;
    let api_key = create_api_key(&transaction, &org_id, &env_id)?;
    let session_token = create_session(&transaction, &org_id, &env_id, SESSION_LIFETIME)?;
    transaction.commit()?;
    Ok(SeedOutput {
        org_id,
        env_id,
        connection_id,
        api_key,
        session_token,
    })
}

/// Returns true when the database holds no organization yet.
pub fn is_empty(connection: &Connection) -> Result<bool, StoreError> {
    let count: i64 =
        connection.query_row("SELECT count(*) FROM organizations", [], |row| row.get(0))?;
    Ok(count == 0)
}
