//! Bound parameter values and the placeholders that refer to them.

use chrono::{DateTime, NaiveDate, Utc};

/// A value bound to a `$N` placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    /// A validated decimal literal such as `-12.50` or `1.5e3`. It is bound as text, and the
    /// placeholder [`Params::bind`] returns casts it to `NUMERIC`, so no precision is lost.
    Decimal(String),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_string())
    }
}

impl From<NaiveDate> for Value {
    fn from(value: NaiveDate) -> Self {
        Value::Date(value)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(value: DateTime<Utc>) -> Self {
        Value::DateTime(value)
    }
}

/// The values of one statement, in placeholder order: the value at index `i` is `$i+1`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    values: Vec<Value>,
}

impl Params {
    /// Appends `value` and returns the SQL that refers to it: `$N`, or `CAST($N AS NUMERIC)`
    /// for a [`Value::Decimal`].
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        let value = value.into();
        let is_decimal = matches!(value, Value::Decimal(_));
        self.values.push(value);
        let placeholder = format!("${}", self.values.len());
        if is_decimal {
            format!("CAST({placeholder} AS NUMERIC)")
        } else {
            placeholder
        }
    }

    /// Returns the bound values, in placeholder order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Returns the number of bound values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Returns whether no value is bound.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Binds every [`Value`] of a `&[Value]` slice, in order, onto a sqlx query (`query`,
/// `query_as` or `query_scalar`) of either backend, and evaluates to the query.
#[macro_export]
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                $crate::query::Value::Int(number) => query.bind(*number),
                $crate::query::Value::Decimal(text) => query.bind(text.clone()),
                $crate::query::Value::Text(text) => query.bind(text.clone()),
                $crate::query::Value::Bool(flag) => query.bind(*flag),
                $crate::query::Value::Date(date) => query.bind(*date),
                $crate::query::Value::DateTime(moment) => query.bind(*moment),
            };
        }
        query
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_numbers_placeholders_from_one() {
        let mut params = Params::default();
        assert_eq!(params.bind(7), "$1");
        assert_eq!(params.bind("x"), "$2");
        assert_eq!(params.bind(Value::Decimal("1.5".into())), "CAST($3 AS NUMERIC)");
        assert_eq!(params.len(), 3);
        assert_eq!(params.values()[1], Value::Text("x".into()));
    }
}
