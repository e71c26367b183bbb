//! Existence checks for the ids that foreign-key filters name. Like Django's
//! `ModelChoiceField`, a filter naming a missing row is rejected rather than matching nothing.

use std::collections::{BTreeSet, HashSet};

use super::error::{ParamError, INVALID_FOREIGN_KEY};
use super::values::Params;
use crate::{bind_values, on_backend, placeholders, Database, StorageError};

/// Ids named by one foreign-key filter, which must exist in the `id` column of `table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKeyCheck {
    pub param: String,
    pub table: &'static str,
    pub ids: Vec<i64>,
    pub(crate) position: usize,
}

/// Runs every check in one query and returns an error for each parameter that names a missing
/// row, in request order.
pub async fn check_foreign_keys(database: &Database, checks: &[ForeignKeyCheck]) -> Result<Vec<ParamError>, StorageError> {
    let Some((sql, params, tables)) = existence_query(checks) else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i64, i64)> = on_backend!(database, pool => {
        bind_values!(sqlx::query_as::<_, (i64, i64)>(&sql), params.values()).fetch_all(pool).await
    })?;
    let found: HashSet<(&str, i64)> = rows.into_iter().map(|(table, id)| (tables[table as usize], id)).collect();
    let errors = checks
        .iter()
        .filter(|check| check.ids.iter().any(|id| !found.contains(&(check.table, *id))))
        .map(|check| ParamError::new(check.position, &check.param, INVALID_FOREIGN_KEY.to_string()))
        .collect();
    Ok(errors)
}

/// Builds a `UNION ALL` of one `SELECT` per referenced table, returning `(table index, id)` for each
/// requested id that exists, with its parameters and the table of each index. `None` when no
/// id needs checking.
fn existence_query(checks: &[ForeignKeyCheck]) -> Option<(String, Params, Vec<&'static str>)> {
    let mut ids_by_table: Vec<(&'static str, BTreeSet<i64>)> = Vec::new();
    for check in checks.iter().filter(|check| !check.ids.is_empty()) {
        match ids_by_table.iter_mut().find(|(table, _)| *table == check.table) {
            Some((_, ids)) => ids.extend(&check.ids),
            None => ids_by_table.push((check.table, check.ids.iter().copied().collect())),
        }
    }
    if ids_by_table.is_empty() {
        return None;
    }

    let mut params = Params::default();
    let mut selects = Vec::new();
    for (index, (table, ids)) in ids_by_table.iter().enumerate() {
        let first = params.len() + 1;
        for id in ids {
            params.bind(*id);
        }
        // Both columns are cast so that PostgreSQL returns BIGINT whatever the id type.
        selects.push(format!(
            "SELECT CAST({index} AS BIGINT), CAST(id AS BIGINT) FROM {table} WHERE id IN ({})",
            placeholders(first, ids.len())
        ));
    }
    let tables = ids_by_table.iter().map(|(table, _)| *table).collect();
    Some((selects.join(" UNION ALL "), params, tables))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Value;

    fn check(param: &str, table: &'static str, ids: &[i64]) -> ForeignKeyCheck {
        ForeignKeyCheck { param: param.to_string(), table, ids: ids.to_vec(), position: 0 }
    }

    #[test]
    fn one_select_per_table() {
        let checks = [check("team", "users_team", &[3, 1]), check("user", "users_user", &[7]), check("team__in", "users_team", &[1, 2])];
        let (sql, params, tables) = existence_query(&checks).unwrap();
        assert_eq!(
            sql,
            "SELECT CAST(0 AS BIGINT), CAST(id AS BIGINT) FROM users_team WHERE id IN ($1, $2, $3) UNION ALL \
             SELECT CAST(1 AS BIGINT), CAST(id AS BIGINT) FROM users_user WHERE id IN ($4)"
        );
        assert_eq!(params.values(), [Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(7)]);
        assert_eq!(tables, ["users_team", "users_user"]);
    }

    #[test]
    fn nothing_to_check() {
        assert!(existence_query(&[]).is_none());
        assert!(existence_query(&[check("team__in", "users_team", &[])]).is_none());
    }
}
