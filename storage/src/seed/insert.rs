//! Multi-row `INSERT` statements for seed rows of any table, on either backend.

use chrono::{DateTime, NaiveDate, Utc};

/// Seeded tables with an `id` column, in insertion order (parents before children).
pub const TABLES: [&str; 14] = [
    "users_user",
    "users_team",
    "users_membership",
    "allocations_cluster",
    "research_products_grant",
    "research_products_publication",
    "allocations_allocationrequest",
    "allocations_allocationrequest_assignees",
    "allocations_allocationrequest_grants",
    "allocations_allocationrequest_publications",
    "allocations_resourceallocation",
    "allocations_allocationreview",
    "allocations_comment",
    "allocations_attachment",
];

/// Most bound values per statement, below SQLite's limit of 32,766 and PostgreSQL's 65,535.
pub const MAX_VALUES_PER_STATEMENT: usize = 30_000;

/// One column value of a seed row.
#[derive(Clone, Debug)]
pub enum SeedValue {
    Int(i64),
    OptionalInt(Option<i64>),
    Text(String),
    OptionalText(Option<String>),
    Bool(bool),
    Date(NaiveDate),
    OptionalDate(Option<NaiveDate>),
    DateTime(DateTime<Utc>),
    OptionalDateTime(Option<DateTime<Utc>>),
}

/// The `INSERT` for `rows` rows of `columns` into `table`, with numbered placeholders.
pub fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let width = columns.len();
    let tuples: Vec<String> = (0..rows).map(|row| format!("({})", crate::placeholders(row * width + 1, width))).collect();
    format!("INSERT INTO {table} ({}) VALUES {}", columns.join(", "), tuples.join(", "))
}

/// Inserts `rows` (each a `Vec<SeedValue>` matching `columns`) through `$executor`, in
/// statements of at most [`MAX_VALUES_PER_STATEMENT`] values.
macro_rules! insert_rows {
    ($executor:expr, $table:expr, $columns:expr, $rows:expr) => {{
        let columns: &[&str] = $columns;
        let rows: &[Vec<$crate::seed::insert::SeedValue>] = $rows;
        let per_statement = ($crate::seed::insert::MAX_VALUES_PER_STATEMENT / columns.len().max(1)).max(1);
        let mut result: Result<(), sqlx::Error> = Ok(());
        for chunk in rows.chunks(per_statement) {
            let sql = $crate::seed::insert::insert_sql($table, columns, chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for value in row {
                    query = match value {
                        $crate::seed::insert::SeedValue::Int(number) => query.bind(*number),
                        $crate::seed::insert::SeedValue::OptionalInt(number) => query.bind(*number),
                        $crate::seed::insert::SeedValue::Text(text) => query.bind(text.clone()),
                        $crate::seed::insert::SeedValue::OptionalText(text) => query.bind(text.clone()),
                        $crate::seed::insert::SeedValue::Bool(flag) => query.bind(*flag),
                        $crate::seed::insert::SeedValue::Date(date) => query.bind(*date),
                        $crate::seed::insert::SeedValue::OptionalDate(date) => query.bind(*date),
                        $crate::seed::insert::SeedValue::DateTime(moment) => query.bind(*moment),
                        $crate::seed::insert::SeedValue::OptionalDateTime(moment) => query.bind(*moment),
                    };
                }
            }
            if let Err(error) = query.execute(&mut *$executor).await {
                result = Err(error);
                break;
            }
        }
        result
    }};
}
pub(crate) use insert_rows;
