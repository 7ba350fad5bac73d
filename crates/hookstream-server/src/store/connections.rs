//! Reading and updating connections, always scoped by tenant.

use super::{StoreError, Tenant, format_timestamp, now};
use crate::rules;
use hookstream_api::runtime::Violation;
use hookstream_api::types::{Connection as ConnectionView, ConnectionPatch};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params_from_iter};

/// Why an update did not happen. In every case the row is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No connection with that id belongs to the tenant.
    #[error("connection not found")]
    NotFound,
    /// The patch breaks a connection rule; holds every violation.
    #[error("the patch breaks {} connection rule(s)", .0.len())]
    Invalid(Vec<Violation>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for UpdateError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(StoreError::Sqlite(error))
    }
}

const SELECT: &str = "
    SELECT c.id, c.org_id, c.env_id, c.source_id, c.destination_id, c.name, c.description,
           c.enabled, c.filter_rules, c.status, c.event_count, c.last_event_at, c.created_at,
           c.updated_at, c.transform_enabled, c.transform_expression, s.name, d.name
    FROM connections c
    LEFT JOIN sources s ON s.id = c.source_id
    LEFT JOIN destinations d ON d.id = c.destination_id
    WHERE c.id = ?1 AND c.org_id = ?2 AND c.env_id = ?3";

/// Returns the tenant's connection joined with its source and destination
/// names, or `None` when the tenant has no connection with that id.
pub fn find_connection(
    connection: &Connection,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<ConnectionView>, StoreError> {
    let found = connection
        .prepare_cached(SELECT)?
        .query_row([id, &tenant.org_id, &tenant.env_id], view)
        .optional()?;
    Ok(found)
}

fn view(row: &Row<'_>) -> rusqlite::Result<ConnectionView> {
    Ok(ConnectionView {
        id: row.get(0)?,
        org_id: row.get(1)?,
        env_id: row.get(2)?,
        source_id: row.get(3)?,
        destination_id: row.get(4)?,
        name: row.get(5)?,
        description: row.get(6)?,
        enabled: row.get(7)?,
        filter_rules: row.get(8)?,
        status: row.get(9)?,
        event_count: row.get(10)?,
        last_event_at: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        transform_enabled: row.get(14)?,
        transform_expression: row.get(15)?,
        source_name: row.get(16)?,
        destination_name: row.get(17)?,
    })
}

/// Applies a patch in one write transaction: reads the row, checks the
/// connection rules against the merged result, writes only the changed
/// columns and `updated_at`, and returns the updated row.
pub fn update_connection(
    connection: &mut Connection,
    tenant: &Tenant,
    id: &str,
    patch: &ConnectionPatch,
) -> Result<ConnectionView, UpdateError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = find_connection(&transaction, tenant, id)?.ok_or(UpdateError::NotFound)?;
    let changes = rules::plan(patch, &current).map_err(UpdateError::Invalid)?;
    let mut assignments = vec!["updated_at = ?1".to_string()];
    let mut values = vec![rusqlite::types::Value::Text(next_timestamp(
        &current.updated_at,
    ))];
    for (column, value) in changes {
        values.push(value);
        assignments.push(format!("{column} = ?{}", values.len()));
    }
    let sql = format!(
        "UPDATE connections SET {} WHERE id = ?{} AND org_id = ?{} AND env_id = ?{}",
        assignments.join(", "),
        values.len() + 1,
        values.len() + 2,
        values.len() + 3,
    );
    values.extend(
        [id, &tenant.org_id, &tenant.env_id].map(|v| rusqlite::types::Value::Text(v.to_string())),
    );
    transaction.execute(&sql, params_from_iter(values))?;
    let updated = find_connection(&transaction, tenant, id)?.ok_or(UpdateError::NotFound)?;
    transaction.commit()?;
    Ok(updated)
}

/// Returns the current time, or one microsecond after `previous` when the
/// clock has not moved past it, so `updated_at` always advances.
fn next_timestamp(previous: &str) -> String {
    let current = now();
    if current.as_str() > previous {
        return current;
    }
    let format = time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(previous, &format) {
        Ok(time) => format_timestamp(time + time::Duration::microseconds(1)),
        Err(_) => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_moves_past_future_value() {
        let previous = "2999-01-01T00:00:00.000000Z";
        assert_eq!(next_timestamp(previous), "2999-01-01T00:00:00.000001Z");
    }

    #[test]
    fn timestamp_uses_clock_when_later() {
        let next = next_timestamp("2000-01-01T00:00:00.000000Z");
        assert!(next.as_str() > "2026-01-01");
    }
}
