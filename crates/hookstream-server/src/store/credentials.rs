//! API keys and sessions: creation, hashing and lookup.

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The visible start of every API key.
const KEY_PREFIX: &str = "hsk_";
/// How many characters of a key, prefix included, are stored in clear to
/// find its row.
const LOOKUP_LEN: usize = KEY_PREFIX.len() + 8;

/// The organization and project a credential belongs to. Every query of a
/// request is scoped by both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// `org_id`.
    pub org_id: String,
    /// `env_id`: the project.
    pub env_id: String,
    /// The id of the API key or session, safe to log.
    pub credential_id: String,
}

/// Returns the SHA-256 hash of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Returns a new random secret with the given start.
fn new_secret(start: &str) -> String {
    format!(
        "{start}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Creates an API key and returns it; only its hash is stored.
pub(crate) fn create_api_key(
    connection: &Connection,
    org_id: &str,
    env_id: &str,
) -> Result<String, StoreError> {
    let key = new_secret(KEY_PREFIX);
    connection.execute(
        "INSERT INTO api_keys (id, org_id, env_id, prefix, key_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            super::new_id(),
            org_id,
            env_id,
            &key[..LOOKUP_LEN],
            hash_secret(&key),
            super::now()
        ],
    )?;
    Ok(key)
}

/// Creates a session valid for `lifetime` and returns its token.
pub(crate) fn create_session(
    connection: &Connection,
    org_id: &str,
    env_id: &str,
    lifetime: time::Duration,
) -> Result<String, StoreError> {
    let token = new_secret("");
    let expires_at = time::OffsetDateTime::now_utc() + lifetime;
    let format = time::format_description::well_known::Rfc3339;
    connection.execute(
        "INSERT INTO sessions (id, org_id, env_id, token_hash, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            super::new_id(),
            org_id,
            env_id,
            hash_secret(&token),
            expires_at
                .format(&format)
                .expect("a UTC time formats as RFC 3339"),
            super::now()
        ],
    )?;
    Ok(token)
}

/// Finds the tenant of an API key, comparing hashes in constant time.
pub fn find_api_key(connection: &Connection, key: &str) -> Result<Option<Tenant>, StoreError> {
    let Some(lookup) = key.get(..LOOKUP_LEN) else {
        return Ok(None);
    };
    let row = connection
        .prepare_cached(
            "SELECT id, org_id, env_id, key_hash FROM api_keys
             WHERE prefix = ?1 AND revoked_at IS NULL",
        )?
        .query_row([lookup], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })
        .optional()?;
    let Some((id, org_id, env_id, stored)) = row else {
        return Ok(None);
    };
    let matches: bool = stored.ct_eq(&hash_secret(key)).into();
    Ok(matches.then_some(Tenant {
        org_id,
        env_id,
        credential_id: id,
    }))
}

/// The outcome of a session lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionLookup {
    /// The session exists and has not expired.
    Valid(Tenant),
    /// The session exists but expired.
    Expired,
    /// No session has this token.
    Unknown,
}

/// Finds the tenant of a session token. The token's hash is the lookup
/// key, so no clear token is stored or compared.
pub fn find_session(connection: &Connection, token: &str) -> Result<SessionLookup, StoreError> {
    let row = connection
        .prepare_cached(
            "SELECT id, org_id, env_id, expires_at FROM sessions WHERE token_hash = ?1",
        )?
        .query_row([hash_secret(token)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    let Some((id, org_id, env_id, expires_at)) = row else {
        return Ok(SessionLookup::Unknown);
    };
    let format = time::format_description::well_known::Rfc3339;
    let expired = match time::OffsetDateTime::parse(&expires_at, &format) {
        Ok(expires_at) => expires_at <= time::OffsetDateTime::now_utc(),
        // A row this server did not write: treat it as expired.
        Err(_) => true,
    };
    if expired {
        return Ok(SessionLookup::Expired);
    }
    Ok(SessionLookup::Valid(Tenant {
        org_id,
        env_id,
        credential_id: id,
    }))
}
