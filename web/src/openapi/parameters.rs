//! Parameters of operations: the `{id}` path segment, and the query parameters of list routes
//! derived from their list descriptions.

use keystone_storage::query::{DatePart, Field, FieldKind, Operator, Resource, DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::{json, Value};

/// Every operator suffix of the list query language, as in `<field>__<suffix>`.
pub const OPERATORS: &[(&str, Operator)] = &[
    ("not_eq", Operator::NotEq),
    ("in", Operator::In),
    ("not_in", Operator::NotIn),
    ("isnull", Operator::IsNull),
    ("lt", Operator::Lt),
    ("lte", Operator::Lte),
    ("gt", Operator::Gt),
    ("gte", Operator::Gte),
    ("contains", Operator::Contains),
    ("not_contains", Operator::NotContains),
    ("startswith", Operator::StartsWith),
    ("not_startswith", Operator::NotStartsWith),
    ("endswith", Operator::EndsWith),
    ("not_endswith", Operator::NotEndsWith),
    ("year", Operator::Part(DatePart::Year)),
    ("month", Operator::Part(DatePart::Month)),
    ("day", Operator::Part(DatePart::Day)),
    ("week", Operator::Part(DatePart::Week)),
    ("week_day", Operator::Part(DatePart::WeekDay)),
    ("hour", Operator::Part(DatePart::Hour)),
    ("minute", Operator::Part(DatePart::Minute)),
    ("second", Operator::Part(DatePart::Second)),
];

/// Builds the path parameter of the `{id}` segment of a detail route.
pub fn id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The record's id.",
        "schema": {"type": "integer"},
    })
}

/// Builds the query parameters of a list: paging, ordering and search, then one parameter per field
/// and operator that the field's kind supports, sorted by name.
pub fn list_parameters(resource: &Resource) -> Vec<Value> {
    let order_keys: Vec<&str> = resource.order_keys.iter().map(|key| key.name).collect();
    let mut parameters = vec![
        query(
            "_limit",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            &format!("Number of records per page. Larger values count as {MAX_LIMIT}, and values that are not positive integers as {DEFAULT_LIMIT}."),
        ),
        query("_offset", json!({"type": "integer", "minimum": 0, "default": 0}), "Number of records to skip before the page."),
        query(
            "_order",
            json!({"type": "string"}),
            &format!(
                "Comma-separated keys to sort by, each with a `-` prefix for descending order. Unknown keys are ignored. Keys: {}.",
                order_keys.join(", ")
            ),
        ),
        query(
            "_search",
            json!({"type": "string"}),
            "Terms separated by whitespace or commas, with double quotes around a phrase. A record matches when each term occurs, ignoring case, in one of its searched fields.",
        ),
    ];

    let mut filters = Vec::new();
    for field in resource.fields {
        filters.push((field.name.to_string(), filter_parameter(field, Operator::Exact, field.name)));
        for (suffix, operator) in OPERATORS {
            if field.kind.supports(*operator) {
                let name = format!("{}__{suffix}", field.name);
                filters.push((name.clone(), filter_parameter(field, *operator, &name)));
            }
        }
    }
    filters.sort_by(|(left, _), (right, _)| left.cmp(right));
    parameters.extend(filters.into_iter().map(|(_, parameter)| parameter));
    parameters
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// Builds one filter parameter: `name` applies `operator` to `field`.
fn filter_parameter(field: &Field, operator: Operator, name: &str) -> Value {
    let value = value_schema(field.kind);
    match operator {
        Operator::In | Operator::NotIn => json!({
            "name": name,
            "in": "query",
            "required": false,
            "description": "Comma-separated values.",
            "schema": {"type": "array", "items": plain(value)},
            "style": "form",
            "explode": false,
        }),
        Operator::IsNull => json!({"name": name, "in": "query", "required": false, "schema": {"type": "boolean"}}),
        Operator::Part(part) => {
            json!({"name": name, "in": "query", "required": false, "description": part_description(part), "schema": {"type": "integer"}})
        }
        Operator::Contains
        | Operator::NotContains
        | Operator::StartsWith
        | Operator::NotStartsWith
        | Operator::EndsWith
        | Operator::NotEndsWith => json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}),
        Operator::Exact | Operator::NotEq | Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
            json!({"name": name, "in": "query", "required": false, "schema": value})
        }
    }
}

/// Describes one value of a field of this kind.
fn value_schema(kind: FieldKind) -> Value {
    match kind {
        FieldKind::Integer | FieldKind::ForeignKey { .. } => json!({"type": "integer"}),
        FieldKind::Decimal => json!({"type": "number"}),
        FieldKind::Text => json!({"type": "string"}),
        FieldKind::Choice(codes) => json!({"type": "string", "enum": codes}),
        FieldKind::Date => json!({"type": "string", "format": "date"}),
        FieldKind::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldKind::Boolean => json!({"type": "boolean"}),
    }
}

/// Drops the `enum` of a choice: `__in` and `__not_in` values are not checked against the codes.
fn plain(mut schema: Value) -> Value {
    if let Value::Object(object) = &mut schema {
        object.remove("enum");
    }
    schema
}

fn part_description(part: DatePart) -> &'static str {
    match part {
        DatePart::Year => "Year.",
        DatePart::Month => "Month, 1 to 12.",
        DatePart::Day => "Day of the month, 1 to 31.",
        DatePart::Week => "ISO 8601 week of the year, 1 to 53.",
        DatePart::WeekDay => "Day of the week, 1 = Sunday to 7 = Saturday.",
        DatePart::Hour => "Hour, 0 to 23.",
        DatePart::Minute => "Minute, 0 to 59.",
        DatePart::Second => "Second, 0 to 59.",
    }
}

#[cfg(test)]
mod tests {
    use keystone_storage::query::ListQuery;
    use keystone_storage::Backend;

    use super::*;
    use crate::openapi::routes::ROUTE_SCHEMAS;

    /// Returns a value that the parameter's schema allows, for checking that the parser uses it.
    fn sample_value(parameter: &Value) -> String {
        let schema = &parameter["schema"];
        let value_schema = if schema["type"] == "array" { &schema["items"] } else { schema };
        if let Some(codes) = value_schema["enum"].as_array() {
            return codes[0].as_str().unwrap().to_string();
        }
        match (value_schema["type"].as_str(), value_schema["format"].as_str()) {
            (Some("string"), Some("date")) => "2024-01-02".to_string(),
            (Some("string"), Some("date-time")) => "2024-01-02T03:04:05Z".to_string(),
            (Some("boolean"), _) => "true".to_string(),
            (Some("integer" | "number"), _) => "1".to_string(),
            _ => "text".to_string(),
        }
    }

    /// Returns whether the list query language applies `name=value` to `resource`: it then adds
    /// a condition or reports the value as invalid, and ignores the parameter otherwise.
    fn is_applied(resource: &Resource, name: &str, value: &str) -> bool {
        let parsed = ListQuery::parse(resource, &[(name.to_string(), value.to_string())], Backend::Sqlite);
        !parsed.errors().is_empty() || !parsed.query().where_clause().is_empty()
    }

    #[test]
    fn every_filter_parameter_is_applied() {
        for entry in ROUTE_SCHEMAS {
            let Some(resource) = entry.list else { continue };
            for parameter in list_parameters(resource) {
                let name = parameter["name"].as_str().unwrap();
                if name.starts_with('_') {
                    continue;
                }
                let value = sample_value(&parameter);
                assert!(is_applied(resource, name, &value), "{} ignores {name}={value}", entry.path);
            }
        }
    }

    #[test]
    fn every_applied_filter_is_documented() {
        let candidates =
            OPERATORS.iter().map(|(suffix, _)| *suffix).chain(["exact", "iexact", "icontains", "range", "regex", "date", "quarter"]);
        let candidates: Vec<&str> = candidates.collect();
        for entry in ROUTE_SCHEMAS {
            let Some(resource) = entry.list else { continue };
            let documented: Vec<String> =
                list_parameters(resource).iter().map(|parameter| parameter["name"].as_str().unwrap().to_string()).collect();
            for field in resource.fields {
                for suffix in &candidates {
                    let name = format!("{}__{suffix}", field.name);
                    // `1` parses as every kind's value except dates, booleans and choices, which
                    // reject it with an error: either way the parser applies the parameter.
                    if is_applied(resource, &name, "1") {
                        assert!(documented.contains(&name), "{} applies {name} but does not document it", entry.path);
                    }
                }
            }
        }
    }

    #[test]
    fn unsupported_filters_are_not_applied() {
        let teams = &keystone_storage::resources::TEAMS;
        assert!(!is_applied(teams, "is_active__contains", "1"));
        assert!(!is_applied(teams, "members", "1"));
        assert!(is_applied(teams, "name__contains", "1"));
    }

    #[test]
    fn filters_follow_paging_parameters() {
        let names: Vec<String> = list_parameters(&keystone_storage::resources::TEAMS)
            .iter()
            .map(|parameter| parameter["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names[..5], ["_limit", "_offset", "_order", "_search", "id"]);
        assert!(names.contains(&"name__not_startswith".to_string()));
        assert!(!names.contains(&"is_active__contains".to_string()));
    }
}
