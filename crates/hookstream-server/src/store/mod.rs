//! The SQLite store of the reference server.
//!
//! One connection, behind a mutex, serves every request: SQLite runs one
//! writer at a time anyway, and a single connection never meets
//! `SQLITE_BUSY` from itself. Other processes that open the same file wait
//! up to [`BUSY_TIMEOUT`] for the lock. Write transactions start with
//! `BEGIN IMMEDIATE`, so they take the write lock before reading.

mod connections;
mod credentials;
mod seed;

pub use connections::{UpdateError, find_connection, update_connection};
pub use credentials::{SessionLookup, Tenant, find_api_key, find_session, hash_secret};
pub use seed::{SeedOutput, is_empty, seed};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

/// A handle to the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens or creates the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // FULL syncs the WAL on every commit, so an update answered with
        // 200 survives a crash of the process or of the machine.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        migrations().to_latest(&mut connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs blocking database work off the async runtime.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || work(&mut lock(&connection)))
            .await
            .map_err(|error| E::from(StoreError::Task(error.to_string())))?
    }

    /// Runs database work on the calling thread, for the command line.
    pub fn run_blocking<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work(&mut lock(&self.connection))
    }
}

/// Locks the connection. A panic while it was held cannot leave a
/// transaction open, because rusqlite rolls back on drop, so the poison
/// flag is ignored.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!("migrations.sql"))])
}

/// Returns the current time as RFC 3339 UTC text with microseconds, the
/// format of every timestamp column.
pub fn now() -> String {
    format_timestamp(time::OffsetDateTime::now_utc())
}

/// Formats a time as RFC 3339 UTC text with microseconds.
pub fn format_timestamp(moment: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("the format has only fields a UTC time has")
}

/// Returns a new random id: 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn ids_are_32_lowercase_hex() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    }

    #[test]
    fn timestamps_sort_as_text() {
        let first = now();
        let second = now();
        assert!(first <= second);
        assert!(first.ends_with('Z'));
    }
}
