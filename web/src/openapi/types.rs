//! Builders for the JSON Schema fragments that the component schemas are made of (the OpenAPI
//! 3.0 dialect, where `nullable` marks a value that may be `null`).

use serde_json::{json, Map, Value};

/// The prefix of every reference to a component schema.
pub const COMPONENT_PREFIX: &str = "#/components/schemas/";

pub fn integer() -> Value {
    json!({"type": "integer"})
}

/// Describes an integer of at least 0, such as a service-unit count.
pub fn count() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0})
}

pub fn boolean() -> Value {
    json!({"type": "boolean"})
}

pub fn string() -> Value {
    json!({"type": "string"})
}

/// Describes a string of at most `max_length` characters.
pub fn text(max_length: u32) -> Value {
    json!({"type": "string", "maxLength": max_length})
}

/// Describes a non-blank string of at most `max_length` characters, as request bodies require.
pub fn required_text(max_length: u32) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max_length})
}

/// Describes a calendar date, `YYYY-MM-DD`.
pub fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

/// Describes an ISO 8601 timestamp in UTC, such as `2026-12-04T19:17:22.730269Z`.
pub fn date_time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

pub fn email(max_length: u32) -> Value {
    json!({"type": "string", "format": "email", "maxLength": max_length})
}

/// Describes a decimal rendered as a string with exactly two places, such as `"1000.00"`, with at most
/// `digits` digits before the point.
pub fn decimal(digits: u32) -> Value {
    json!({"type": "string", "format": "decimal", "pattern": format!("^-?\\d{{0,{digits}}}(?:\\.\\d{{0,2}})?$")})
}

/// Describes an uploaded file, sent as a part of a `multipart/form-data` body.
pub fn file() -> Value {
    json!({"type": "string", "format": "binary"})
}

/// Describes a string restricted to `codes`.
pub fn one_of(codes: &[&str]) -> Value {
    json!({"type": "string", "enum": codes})
}

/// Describes a list of record ids.
pub fn ids() -> Value {
    json!({"type": "array", "items": integer()})
}

/// Refers to the component schema `name`.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("{COMPONENT_PREFIX}{name}")})
}

/// Describes a read-only nested record with the component schema `name`. OpenAPI 3.0 ignores
/// siblings of `$ref`, so the reference is wrapped in `allOf`.
pub fn nested(name: &str) -> Value {
    json!({"allOf": [reference(name)], "readOnly": true})
}

/// Describes a read-only list of nested records with the component schema `name`.
pub fn nested_list(name: &str) -> Value {
    json!({"type": "array", "items": reference(name), "readOnly": true})
}

/// Adds `key: value` to a schema object.
fn with(mut schema: Value, key: &str, value: Value) -> Value {
    if let Value::Object(object) = &mut schema {
        object.insert(key.to_string(), value);
    }
    schema
}

/// Marks a schema as allowing `null`.
pub fn nullable(schema: Value) -> Value {
    with(schema, "nullable", Value::Bool(true))
}

/// Marks a value that responses carry but request bodies cannot set.
pub fn read_only(schema: Value) -> Value {
    with(schema, "readOnly", Value::Bool(true))
}

/// Marks a value that request bodies set but responses never carry.
pub fn write_only(schema: Value) -> Value {
    with(schema, "writeOnly", Value::Bool(true))
}

/// Adds a description to a schema.
pub fn described(schema: Value, description: &str) -> Value {
    with(schema, "description", Value::String(description.to_string()))
}

/// Describes an object whose properties are all present in every instance, as in the records
/// that responses carry.
pub fn record(properties: &[(&str, Value)]) -> Value {
    let names: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    object(properties, &names)
}

/// Describes an object with the given properties, of which `required` must be present.
pub fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let mut map = Map::new();
    for (name, schema) in properties {
        map.insert((*name).to_string(), schema.clone());
    }
    let mut schema = json!({"type": "object", "properties": map});
    if !required.is_empty() {
        schema = with(schema, "required", json!(required));
    }
    schema
}

/// Derives the partial-update form of a request schema: the same properties, none required.
pub fn partial(mut schema: Value) -> Value {
    if let Value::Object(object) = &mut schema {
        object.remove("required");
    }
    schema
}

/// Describes a code → label object whose keys are `choices` and whose values are their labels.
pub fn choices(choices: &[(&str, &str)]) -> Value {
    let properties: Vec<(&str, Value)> = choices.iter().map(|(code, label)| (*code, json!({"type": "string", "enum": [label]}))).collect();
    record(&properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_requires_every_property() {
        let schema = record(&[("id", integer()), ("name", string())]);
        assert_eq!(schema["required"], json!(["id", "name"]));
        assert_eq!(schema["properties"]["name"], json!({"type": "string"}));
    }

    #[test]
    fn partial_drops_required() {
        let schema = partial(object(&[("name", required_text(5))], &["name"]));
        assert!(schema.get("required").is_none());
        assert_eq!(schema["properties"]["name"]["minLength"], 1);
    }

    #[test]
    fn decimal_pattern_limits_digits() {
        assert_eq!(decimal(12)["pattern"], "^-?\\d{0,12}(?:\\.\\d{0,2})?$");
    }
}
