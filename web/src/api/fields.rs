//! Request-body validation with the reference's (Django REST Framework's) rules and messages.
//!
//! A [`Form`] reads fields from a JSON object in serializer field order and collects every
//! error, so one response reports all of them as `{"field": ["message"]}`.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::http::python_type_name;

/// Most ids a list field accepts, far below both databases' bind-parameter limits.
const MAX_LIST_LENGTH: usize = 1000;

/// Whether a write must supply every required field (create, `PUT`) or not (`PATCH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Full,
    Partial,
}

/// A nullable value that may also be absent from the body.
pub type Nullable<T> = Option<Option<T>>;

/// Text field options.
#[derive(Clone, Copy, Debug)]
pub struct TextRules {
    pub required: bool,
    pub nullable: bool,
    pub blank: bool,
    pub max_length: Option<usize>,
    pub trim: bool,
}

impl TextRules {
    /// A required, non-null, non-blank field.
    pub const fn required(max_length: usize) -> TextRules {
        TextRules { required: true, nullable: false, blank: false, max_length: Some(max_length), trim: true }
    }

    /// An optional field that may be null or blank.
    pub const fn optional(max_length: usize) -> TextRules {
        TextRules { required: false, nullable: true, blank: true, max_length: Some(max_length), trim: true }
    }
}

/// Collects field values and errors from one request body.
pub struct Form<'a> {
    data: &'a Map<String, Value>,
    mode: Mode,
    errors: Map<String, Value>,
    json_body: bool,
}

impl<'a> Form<'a> {
    pub fn new(data: &'a Map<String, Value>, mode: Mode) -> Self {
        Form { data, mode, errors: Map::new(), json_body: false }
    }

    /// Records whether the body was JSON. In JSON a list field must be an array, as in the
    /// reference. A form body carries one text value per entry, so [`Form::primary_keys`] accepts
    /// a text value as a one-item list unless the body was JSON (the default assumes a form).
    pub fn json_body(mut self, is_json: bool) -> Self {
        self.json_body = is_json;
        self
    }

    pub fn has(&self, name: &str) -> bool {
        self.data.contains_key(name)
    }

    /// Records an error for `name` (several messages per field are kept in order).
    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        let entry = self.errors.entry(name.to_string()).or_insert_with(|| json!([]));
        if let Value::Array(messages) = entry {
            messages.push(Value::String(message.into()));
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn field_failed(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }

    /// Returns the collected errors as a 400, or `Ok` when there are none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    /// Raw value: `None` when absent; a missing required field is recorded as an error.
    fn raw(&mut self, name: &str, required: bool) -> Option<&'a Value> {
        match self.data.get(name) {
            Some(value) => Some(value),
            None => {
                if required && self.mode == Mode::Full {
                    self.error(name, "This field is required.");
                }
                None
            }
        }
    }

    /// Reads a text field. Outer `None`: absent or invalid; inner `None`: null.
    pub fn text(&mut self, name: &str, rules: TextRules) -> Nullable<String> {
        let value = self.raw(name, rules.required)?;
        let text = match value {
            Value::Null => {
                if rules.nullable {
                    return Some(None);
                }
                self.error(name, "This field may not be null.");
                return None;
            }
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => {
                self.error(name, "Not a valid string.");
                return None;
            }
        };
        if text.contains('\0') {
            self.error(name, "Null characters are not allowed.");
            return None;
        }
        let text = if rules.trim { text.trim().to_string() } else { text };
        if text.is_empty() {
            if rules.blank {
                return Some(Some(text));
            }
            self.error(name, "This field may not be blank.");
            return None;
        }
        if let Some(max) = rules.max_length {
            if text.chars().count() > max {
                self.error(name, format!("Ensure this field has no more than {max} characters."));
                return None;
            }
        }
        Some(Some(text))
    }

    /// Reads a text field that may not be null.
    pub fn required_text(&mut self, name: &str, rules: TextRules) -> Option<String> {
        self.text(name, TextRules { nullable: false, ..rules }).flatten()
    }

    /// Reads a boolean as DRF does: `true/false`, `1/0`, `yes/no`, `on/off`, `t/f`, `y/n`.
    pub fn boolean(&mut self, name: &str, required: bool) -> Option<bool> {
        let value = self.raw(name, required)?;
        let parsed = match value {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) => match number.as_f64() {
                Some(1.0) => Some(true),
                Some(0.0) => Some(false),
                _ => None,
            },
            Value::String(text) => match text.as_str() {
                "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "1" => Some(true),
                "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "0" => Some(false),
                _ => None,
            },
            Value::Null => {
                self.error(name, "This field may not be null.");
                return None;
            }
            _ => None,
        };
        if parsed.is_none() {
            self.error(name, "Must be a valid boolean.");
        }
        parsed
    }

    /// Reads one of `choices` (codes).
    pub fn choice(&mut self, name: &str, choices: &[&str], required: bool) -> Option<String> {
        let value = self.raw(name, required)?;
        let text = match value {
            Value::Null => {
                self.error(name, "This field may not be null.");
                return None;
            }
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if choices.contains(&text.as_str()) {
            Some(text)
        } else {
            self.error(name, format!("\"{text}\" is not a valid choice."));
            None
        }
    }

    /// Reads a primary key reference. Existence is checked by the caller, which reports
    /// [`does_not_exist`] for missing rows.
    pub fn primary_key(&mut self, name: &str, required: bool) -> Option<i64> {
        let value = self.raw(name, required)?;
        if value.is_null() {
            self.error(name, "This field may not be null.");
            return None;
        }
        match pk_value(value) {
            Ok(id) => Some(id),
            Err(message) => {
                self.error(name, message);
                None
            }
        }
    }

    /// Reads a list of primary keys.
    pub fn primary_keys(&mut self, name: &str) -> Option<Vec<i64>> {
        let value = self.raw(name, false)?;
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            // A form field carries a single value.
            Value::String(_) if !self.json_body => vec![value],
            Value::Null => {
                self.error(name, "This field may not be null.");
                return None;
            }
            other => {
                self.error(name, format!("Expected a list of items but got type \"{}\".", python_type_name(other)));
                return None;
            }
        };
        if items.len() > MAX_LIST_LENGTH {
            self.error(name, format!("Ensure this field has no more than {MAX_LIST_LENGTH} elements."));
            return None;
        }
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            match pk_value(item) {
                Ok(id) => ids.push(id),
                Err(message) => {
                    self.error(name, message);
                    return None;
                }
            }
        }
        Some(ids)
    }

    /// Reads an email address (optional, nullable, blank allowed).
    pub fn email(&mut self, name: &str, max_length: usize) -> Nullable<String> {
        let value = self.text(name, TextRules::optional(max_length))?;
        if let Some(address) = &value {
            if !address.is_empty() && !is_valid_email(address) {
                self.error(name, "Enter a valid email address.");
                return None;
            }
        }
        Some(value)
    }
}

/// The message for a primary key with no row.
pub fn does_not_exist(id: i64) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

/// Reads a primary key from a JSON value: an integer, a whole float or a numeric string.
pub fn pk_value(value: &Value) -> Result<i64, String> {
    let incorrect = || format!("Incorrect type. Expected pk value, received {}.", python_type_name(value));
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(id), _) => Ok(id),
            (None, Some(float)) if float.fract() == 0.0 && float.abs() < 9.0e15 => Ok(float as i64),
            _ => Err(incorrect()),
        },
        Value::String(text) => text.trim().parse::<i64>().map_err(|_| incorrect()),
        _ => Err(incorrect()),
    }
}

/// Checks an address the way Django's `EmailValidator` does, for the common forms: a dotted
/// atom local part, and a domain of labels with a letter top-level label, `localhost`, or an
/// IPv4 literal in brackets.
pub fn is_valid_email(address: &str) -> bool {
    static LOCAL: OnceLock<Regex> = OnceLock::new();
    static DOMAIN: OnceLock<Regex> = OnceLock::new();
    static LITERAL: OnceLock<Regex> = OnceLock::new();
    let local =
        LOCAL.get_or_init(|| Regex::new(r"(?i)^[-!#$%&'*+/=?^_`{}|~0-9a-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*$").expect("valid regex"));
    let domain =
        DOMAIN.get_or_init(|| Regex::new(r"(?i)^((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+)(?:[a-z0-9-]{2,63})$").expect("valid regex"));
    let literal = LITERAL.get_or_init(|| Regex::new(r"^\[(\d{1,3}\.){3}\d{1,3}\]$").expect("valid regex"));
    let Some((user, host)) = address.rsplit_once('@') else {
        return false;
    };
    if user.is_empty() || !local.is_match(user) {
        return false;
    }
    let host = host.to_lowercase();
    host == "localhost" || literal.is_match(&host) || (domain.is_match(&host) && !host.ends_with('-'))
}

/// Checks a username against `^[\w.@+-]+$` (Unicode word characters).
pub fn is_valid_username(username: &str) -> bool {
    !username.is_empty() && username.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '+' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@example.com", "first.last+tag@sub.example.edu", "x@localhost", "y@[127.0.0.1]"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in ["", "a", "a@", "@b.com", "a@b", "a b@c.com", "a@-b.com", "a..b@c.com", "a@b.c-"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn form_collects_errors_in_order() {
        let data = json!({"name": "", "flag": "maybe", "team": "abc", "ids": 5});
        let map = data.as_object().unwrap();
        let mut form = Form::new(map, Mode::Full);
        assert_eq!(form.required_text("name", TextRules::required(10)), None);
        assert_eq!(form.boolean("flag", false), None);
        assert_eq!(form.primary_key("team", true), None);
        assert_eq!(form.primary_keys("ids"), None);
        assert_eq!(form.required_text("missing", TextRules::required(10)), None);
        let Err(ApiError::Validation(errors)) = form.finish() else { panic!("expected errors") };
        assert_eq!(
            Value::Object(errors),
            json!({
                "name": ["This field may not be blank."],
                "flag": ["Must be a valid boolean."],
                "team": ["Incorrect type. Expected pk value, received str."],
                "ids": ["Expected a list of items but got type \"int\"."],
                "missing": ["This field is required."],
            })
        );
    }

    #[test]
    fn json_lists_must_be_arrays() {
        let data = json!({"ids": "7"});
        let map = data.as_object().unwrap();
        assert_eq!(Form::new(map, Mode::Full).primary_keys("ids"), Some(vec![7]));
        let mut form = Form::new(map, Mode::Full).json_body(true);
        assert_eq!(form.primary_keys("ids"), None);
        let Err(ApiError::Validation(errors)) = form.finish() else { panic!("expected errors") };
        assert_eq!(Value::Object(errors), json!({"ids": ["Expected a list of items but got type \"str\"."]}));
    }

    #[test]
    fn partial_mode_skips_required() {
        let map = Map::new();
        let mut form = Form::new(&map, Mode::Partial);
        assert_eq!(form.required_text("name", TextRules::required(10)), None);
        assert!(form.finish().is_ok());
    }
}
