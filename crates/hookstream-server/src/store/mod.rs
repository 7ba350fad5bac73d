//! The SQLite store of the reference server.
//!
//! One connection, behind a mutex, serves every request: SQLite runs one
//! writer at a time anyway, and a single connection never meets
//! `SQLITE_BUSY` from itself. Write transactions start with
//! `BEGIN IMMEDIATE`, so they take the write lock before reading.
//!
//! Work queued with [`Store::run`] has [`WORK_BUDGET`] from the moment it
//! is queued: waiting for the mutex and for another process's lock both
//! count. Work that cannot start within it fails with
//! [`StoreError::Busy`] and changes nothing. The budget is shorter than
//! the server's request timeout, so a request that times out has not
//! committed anything.

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
use std::time::{Duration, Instant};

/// How long a statement of the command line waits for another process's
/// lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long work queued with [`Store::run`] may wait, for the mutex and
/// then for another process's lock, before it fails unapplied.
pub const WORK_BUDGET: Duration = Duration::from_secs(20);

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
    /// The work could not start within its budget: the database stayed
    /// locked, by this server's other requests or by another process.
    #[error("the database stayed locked for {:.1} s; nothing was changed", .0.as_secs_f64())]
    Busy(Duration),
}

impl StoreError {
    /// Returns true when the database was locked for too long, so that a
    /// retry later may succeed.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Busy(_) => true,
            Self::Sqlite(rusqlite::Error::SqliteFailure(error, _)) => matches!(
                error.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
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

    /// Runs blocking database work off the async runtime, within
    /// [`WORK_BUDGET`].
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        self.run_within(WORK_BUDGET, work).await
    }

    /// Runs like [`Store::run`] with `budget` in place of [`WORK_BUDGET`].
    pub async fn run_within<T, E, F>(&self, budget: Duration, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let queued = Instant::now();
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&connection);
            // What is left of the budget bounds the wait for another
            // process's lock; none left means the work never starts.
            let Some(left) = budget
                .checked_sub(queued.elapsed())
                .filter(|left| !left.is_zero())
            else {
                return Err(E::from(StoreError::Busy(budget)));
            };
            connection
                .busy_timeout(left)
                .map_err(|error| E::from(StoreError::Sqlite(error)))?;
            work(&mut connection)
        })
        .await
        .map_err(|error| E::from(StoreError::Task(error.to_string())))?
    }

    /// Runs database work on the calling thread, for the command line.
    pub fn run_blocking<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = lock(&self.connection);
        connection.busy_timeout(BUSY_TIMEOUT)?;
        work(&mut connection)
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

    /// Another process holds the write lock past the budget: the work
    /// fails as busy, and it does not commit later when the lock is freed.
    #[tokio::test]
    async fn work_past_its_budget_fails_and_never_commits() {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let path = directory.path().join("hookstream.db");
        let store = Store::open(&path).expect("open the store");
        let other = Connection::open(&path).expect("open a second connection");
        other
            .execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");

        let result = store
            .run_within(Duration::from_millis(300), |connection| {
                connection.execute("INSERT INTO organizations (id, name, created_at) VALUES ('late', 'late', 'now')", [])?;
                Ok::<_, StoreError>(())
            })
            .await;
        let error = result.expect_err("the write lock is held");
        assert!(error.is_busy(), "{error}");

        other.execute_batch("COMMIT").expect("free the write lock");
        let count: i64 = store
            .run_blocking(|connection| {
                Ok(connection.query_row(
                    "SELECT count(*) FROM organizations WHERE id = 'late'",
                    [],
                    |row| row.get(0),
                )?)
            })
            .expect("count the rows");
        assert_eq!(count, 0);
    }

    /// Work queued behind other work for longer than its budget never
    /// starts.
    #[tokio::test]
    async fn work_that_waits_past_its_budget_never_starts() {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(&directory.path().join("hookstream.db")).expect("open the store");
        let holder = store.clone();
        let holding = tokio::spawn(async move {
            holder
                .run(|_| {
                    std::thread::sleep(Duration::from_millis(400));
                    Ok::<_, StoreError>(())
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&started);
        let result = store
            .run_within(Duration::from_millis(100), move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, StoreError>(())
            })
            .await;
        assert!(matches!(result, Err(StoreError::Busy(_))), "{result:?}");
        assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
        holding
            .await
            .expect("join")
            .expect("the first work succeeds");
    }

    #[test]
    fn timestamps_sort_as_text() {
        let first = now();
        let second = now();
        assert!(first <= second);
        assert!(first.ends_with('Z'));
    }
}
