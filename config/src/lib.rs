//! Keystone settings.
//!
//! Every setting is read from the environment under the reference server's variable name, with
//! the same default. Invalid values stop start-up with a [`SettingsError`] that names the
//! variable, the value and the accepted form. Secrets are held as [`SecretString`], whose `Debug`
//! output is redacted, and are never shown in error messages.

mod parse;
mod settings;

pub use parse::{split_list, ProcessEnv, Rate, Reader, Source};
pub use secrecy::{ExposeSecret, SecretString};
pub use settings::*;

/// An environment variable holds a value Keystone cannot use.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {shown} for {variable}: expected {expected}")]
pub struct SettingsError {
    pub variable: String,
    shown: String,
    pub expected: String,
}

impl SettingsError {
    pub fn invalid(variable: &str, value: &str, expected: &str) -> Self {
        Self { variable: variable.to_string(), shown: format!("{value:?}"), expected: expected.to_string() }
    }

    /// Builds an error for a secret variable without showing its value.
    pub fn invalid_secret(variable: &str, expected: &str) -> Self {
        Self { variable: variable.to_string(), shown: "(hidden)".to_string(), expected: expected.to_string() }
    }

    /// Builds an error about a combination of settings rather than one value.
    pub fn conflict(variable: &str, value: &str, reason: &str) -> Self {
        Self { variable: variable.to_string(), shown: format!("{value:?}"), expected: reason.to_string() }
    }
}
