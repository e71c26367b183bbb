//! Rejected query parameters, with the messages the reference server uses.

use crate::StorageError;

pub(crate) const ENTER_A_NUMBER: &str = "Enter a number.";
pub(crate) const ENTER_A_VALID_DATE: &str = "Enter a valid date.";
pub(crate) const ENTER_A_VALID_DATETIME: &str = "Enter a valid date/time.";
pub(crate) const INVALID_FOREIGN_KEY: &str = "Select a valid choice. That choice is not one of the available choices.";
pub(crate) const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// A query parameter whose value was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter name as the request spelled it, such as `created__gte` or `_search`.
    pub param: String,
    pub message: String,
    /// Position of the parameter's first appearance in the request, which orders the errors.
    pub(crate) position: usize,
}

impl ParamError {
    pub(crate) fn new(position: usize, param: &str, message: String) -> ParamError {
        ParamError { param: param.to_string(), message, position }
    }
}

/// A list request that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Parameters with invalid values. The API responds with status 400 and [`errors_to_json`].
    #[error("invalid query parameters: {}", describe(.0))]
    Invalid(Vec<ParamError>),

    /// A foreign-key check could not run.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn describe(errors: &[ParamError]) -> String {
    errors.iter().map(|error| format!("{}: {}", error.param, error.message)).collect::<Vec<_>>().join("; ")
}

/// Builds the 400 response body for rejected parameters: `{"<param>": ["<message>"], ...}`.
pub fn errors_to_json(errors: &[ParamError]) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    for error in errors {
        let messages = body.entry(error.param.clone()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(list) = messages {
            list.push(serde_json::Value::String(error.message.clone()));
        }
    }
    serde_json::Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_groups_messages_by_param() {
        let errors =
            vec![ParamError::new(0, "id", ENTER_A_NUMBER.to_string()), ParamError::new(1, "team", INVALID_FOREIGN_KEY.to_string())];
        let body = errors_to_json(&errors);
        assert_eq!(body["id"], serde_json::json!(["Enter a number."]));
        assert_eq!(body["team"][0], INVALID_FOREIGN_KEY);
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
}
