//! Running a compiled list query: the row count and one page of rows or ids.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::resource::Resource;
use super::values::Params;
use super::ListQuery;
use crate::{bind_values, on_backend, Database, StorageError};

/// One page of a list and the number of rows on all pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub count: i64,
    pub rows: Vec<T>,
}

impl ListQuery {
    /// Builds the `SELECT COUNT(*)` over the rows the query selects.
    pub fn count_sql(&self, resource: &Resource) -> String {
        format!("SELECT COUNT(*) FROM {} {}", resource.from, self.where_clause())
    }

    /// Builds the `SELECT` of the current page with `columns` as its select list. Its values are
    /// the `WHERE` values followed by the limit and the offset.
    pub fn page_sql(&self, resource: &Resource, columns: &str) -> (String, Params) {
        let mut params = self.params().clone();
        let limit = params.bind(self.pagination.limit);
        let offset = params.bind(self.pagination.offset);
        let sql = format!(
            "SELECT {columns} FROM {} {} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            resource.from,
            self.where_clause(),
            self.order_by()
        );
        (sql, params)
    }
}

impl Database {
    /// Counts the rows of `resource` that `query` selects, on every page.
    pub async fn count_matching(&self, resource: &Resource, query: &ListQuery) -> Result<i64, StorageError> {
        debug_assert_eq!(query.backend(), self.backend(), "the query was compiled for another backend");
        let sql = query.count_sql(resource);
        let count: i64 = on_backend!(self, pool => {
            bind_values!(sqlx::query_scalar::<_, i64>(&sql), query.params().values()).fetch_one(pool).await
        })?;
        Ok(count)
    }

    /// Fetches the current page as `T` rows, selecting `columns` (such as `t.id, t.name`).
    pub async fn fetch_page<T>(&self, resource: &Resource, query: &ListQuery, columns: &str) -> Result<Vec<T>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
    {
        debug_assert_eq!(query.backend(), self.backend(), "the query was compiled for another backend");
        let (sql, params) = query.page_sql(resource, columns);
        let rows = on_backend!(self, pool => {
            bind_values!(sqlx::query_as::<_, T>(&sql), params.values()).fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Fetches the ids of the current page, in page order.
    pub async fn fetch_page_ids(&self, resource: &Resource, query: &ListQuery) -> Result<Vec<i64>, StorageError> {
        debug_assert_eq!(query.backend(), self.backend(), "the query was compiled for another backend");
        let (sql, params) = query.page_sql(resource, &format!("CAST({} AS BIGINT)", resource.id_column));
        let ids = on_backend!(self, pool => {
            bind_values!(sqlx::query_scalar::<_, i64>(&sql), params.values()).fetch_all(pool).await
        })?;
        Ok(ids)
    }

    /// Counts the matching rows and fetches the current page. The two queries do not share a
    /// transaction, so a concurrent change can make them disagree.
    pub async fn list_page<T>(&self, resource: &Resource, query: &ListQuery, columns: &str) -> Result<Page<T>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let count = self.count_matching(resource, query).await?;
        let rows = self.fetch_page(resource, query, columns).await?;
        Ok(Page { count, rows })
    }
}
