//! Static descriptions of listable resources: which columns a list request may filter, search
//! and order by.
//!
//! Every string in these descriptions is SQL written by a developer. Request values only select
//! among the descriptions and are bound as parameters, so they never become SQL text.

/// A listable table and the query parameters it accepts.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    /// The `FROM` clause: a table with its alias, such as `users_team t`. Joins are allowed when
    /// they yield at most one row per listed row.
    pub from: &'static str,
    /// The primary-key column, such as `t.id`. It is the final ordering tie-breaker.
    pub id_column: &'static str,
    /// Fields that query parameters may filter on.
    pub fields: &'static [Field],
    /// Expressions that the `_search` terms are matched against.
    pub search_fields: &'static [SearchField],
    /// Keys that `_order` accepts.
    pub order_keys: &'static [OrderKey],
    /// Ordering used when `_order` names no valid key, in `_order` syntax (`-` prefix for
    /// descending). Each term must name one of `order_keys`.
    pub default_order: &'static [&'static str],
}

impl Resource {
    /// Finds the order key named `name`.
    pub fn order_key(&self, name: &str) -> Option<&OrderKey> {
        self.order_keys.iter().find(|key| key.name == name)
    }
}

/// A filterable field: its API name, its column expression and its kind.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    /// A column of the `FROM` clause, such as `t.name`.
    pub column: &'static str,
    pub kind: FieldKind,
}

impl Field {
    pub const fn new(name: &'static str, column: &'static str, kind: FieldKind) -> Field {
        Field { name, column, kind }
    }
}

/// The type of a filterable field, which selects its operators and how values are parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer column. Values may be written as decimals and are truncated toward zero, as
    /// Django's `IntegerField` does (`id__lt=2.5` means `id < 2`).
    Integer,
    /// A `NUMERIC` or floating-point column.
    Decimal,
    /// A character column: char, text, slug or email.
    Text,
    /// A character column restricted to these codes.
    Choice(&'static [&'static str]),
    /// A `DATE` column (`YYYY-MM-DD` text on SQLite).
    Date,
    /// A `TIMESTAMPTZ` column (RFC 3339 text in UTC, as sqlx writes it, on SQLite).
    ///
    /// NOTE: on SQLite, `=`, `<` and the other comparisons compare text. They are right only for
    /// values in sqlx's format for `DateTime<Utc>`, such as `2026-12-04T19:17:22.730269+00:00`
    /// (`T`, a `+00:00` offset, 0, 3, 6 or 9 fraction digits). Other text compares wrongly.
    DateTime,
    Boolean,
    /// An integer column referring to the `id` column of `table`.
    ForeignKey {
        table: &'static str,
    },
}

/// An expression that `_search` terms are matched against.
#[derive(Clone, Copy, Debug)]
pub enum SearchField {
    /// A scalar text expression: a column such as `t.name`, or a subquery returning at most one
    /// row, such as `(SELECT name FROM users_team WHERE users_team.id = m.team_id)`.
    Column(&'static str),
    /// A to-many relation: a term matches when some row of
    /// `SELECT 1 FROM {from} WHERE {correlation}` has a matching `column`.
    ///
    /// NOTE: each search term gets its own `EXISTS`, so two terms may match two different
    /// related rows. DRF's `SearchFilter` filters through one join and needs both on one row.
    Related { from: &'static str, correlation: &'static str, column: &'static str },
}

/// A key that `_order` accepts and the column it sorts by.
#[derive(Clone, Copy, Debug)]
pub struct OrderKey {
    pub name: &'static str,
    pub column: &'static str,
    /// Whether the column is text. Text sorts by code point on both backends: PostgreSQL
    /// compares it with `COLLATE "C"`, the order SQLite's default `BINARY` collation uses.
    pub is_text: bool,
}

impl OrderKey {
    /// Creates a key on a non-text column (numbers, dates, booleans).
    pub const fn new(name: &'static str, column: &'static str) -> OrderKey {
        OrderKey { name, column, is_text: false }
    }

    /// Creates a key on a text column.
    pub const fn text(name: &'static str, column: &'static str) -> OrderKey {
        OrderKey { name, column, is_text: true }
    }
}
