//! Readers for single environment values.
//!
//! The accepted forms follow the reference server (django-environ): lists are split on commas
//! with empty items dropped and no trimming, dictionaries are `key=value` pairs split on the
//! first `=`. Booleans are stricter than the reference, which reads any unknown word as false:
//! a typo such as `DB_POSTGRES_ENABLE=ture` stops start-up instead of silently disabling a feature.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::SettingsError;

/// Source of raw values, so tests can pass a map instead of touching the process environment.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// Reads the process environment.
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    }
}

impl Source for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl Source for Vec<(&str, &str)> {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().rev().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
    }
}

/// Typed access to one source, producing errors that name the variable.
pub struct Reader<'a> {
    source: &'a dyn Source,
}

impl<'a> Reader<'a> {
    pub fn new(source: &'a dyn Source) -> Self {
        Self { source }
    }

    pub fn raw(&self, name: &str) -> Option<String> {
        self.source.get(name)
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_string())
    }

    /// Reads an optional string; an empty value counts as unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|value| !value.is_empty())
    }

    pub fn boolean(&self, name: &str, default: bool) -> Result<bool, SettingsError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "ok" | "y" | "yes" | "1" => Ok(true),
            "false" | "off" | "n" | "no" | "0" | "" => Ok(false),
            _ => Err(SettingsError::invalid(name, &raw, "a boolean: true, yes, y, on, ok, 1 or false, no, n, off, 0")),
        }
    }

    /// Reads an unsigned integer in `[min, max]`.
    pub fn integer(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, SettingsError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        let expected = format!("an integer from {min} to {max}");
        match raw.trim().parse::<u64>() {
            Ok(value) if (min..=max).contains(&value) => Ok(value),
            _ => Err(SettingsError::invalid(name, &raw, &expected)),
        }
    }

    pub fn list(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.raw(name) {
            Some(raw) => split_list(&raw),
            None => default.iter().map(|item| item.to_string()).collect(),
        }
    }

    pub fn dict(&self, name: &str) -> Result<BTreeMap<String, String>, SettingsError> {
        let Some(raw) = self.raw(name) else {
            return Ok(BTreeMap::new());
        };
        let mut map = BTreeMap::new();
        for item in split_list(&raw) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(SettingsError::invalid(name, &raw, "comma-separated key=value pairs"));
            };
            map.insert(key.to_string(), value.to_string());
        }
        Ok(map)
    }

    pub fn rate(&self, name: &str, default: &str) -> Result<Rate, SettingsError> {
        let raw = self.string(name, default);
        Rate::parse(&raw).ok_or_else(|| SettingsError::invalid(name, &raw, "<count>/<period>, such as 120/min (period: s, m, h or d)"))
    }

    /// Reads a list of TCP ports: comma-separated ports or `first-last` ranges.
    pub fn ports(&self, name: &str, default: std::ops::RangeInclusive<u16>) -> Result<Vec<u16>, SettingsError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default.collect());
        };
        let invalid = || SettingsError::invalid(name, &raw, "comma-separated ports or ranges, such as 9101,9105-9110");
        let mut ports = Vec::new();
        for item in split_list(&raw) {
            let item = item.trim();
            if let Some((first, last)) = item.split_once('-') {
                let first: u16 = first.trim().parse().map_err(|_| invalid())?;
                let last: u16 = last.trim().parse().map_err(|_| invalid())?;
                if first == 0 || first > last {
                    return Err(invalid());
                }
                ports.extend(first..=last);
            } else {
                let port: u16 = item.parse().map_err(|_| invalid())?;
                if port == 0 {
                    return Err(invalid());
                }
                ports.push(port);
            }
        }
        if ports.is_empty() {
            return Err(invalid());
        }
        Ok(ports)
    }
}

/// Splits a list value the way the reference does: on commas, dropping empty items, no trimming.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',').filter(|item| !item.is_empty()).map(str::to_string).collect()
}

/// A request rate such as `120/min`: at most `count` requests per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub period: Duration,
}

impl Rate {
    /// Parses `<count>/<period>`, where only the first letter of the period matters.
    pub fn parse(raw: &str) -> Option<Rate> {
        let (count, period) = raw.split_once('/')?;
        let count: u64 = count.trim().parse().ok()?;
        let seconds = match period.trim().chars().next()? {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        Some(Rate { count, period: Duration::from_secs(seconds) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_reads_first_letter_of_period() {
        assert_eq!(Rate::parse("120/min"), Some(Rate { count: 120, period: Duration::from_secs(60) }));
        assert_eq!(Rate::parse("5/second"), Some(Rate { count: 5, period: Duration::from_secs(1) }));
        assert_eq!(Rate::parse("2/day").unwrap().period, Duration::from_secs(86_400));
        assert_eq!(Rate::parse("3/x"), None);
        assert_eq!(Rate::parse("x/m"), None);
        assert_eq!(Rate::parse("10"), None);
    }

    #[test]
    fn list_keeps_spaces_and_drops_empty_items() {
        assert_eq!(split_list("a, b,,c"), vec!["a", " b", "c"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn ports_accept_lists_and_ranges() {
        let env = vec![("PORTS", "9101,9105-9107")];
        let reader = Reader::new(&env);
        assert_eq!(reader.ports("PORTS", 1..=2).unwrap(), vec![9101, 9105, 9106, 9107]);
        let env = vec![("PORTS", "9101,abc")];
        assert!(Reader::new(&env).ports("PORTS", 1..=2).is_err());
    }

    #[test]
    fn boolean_rejects_unknown_words() {
        let env = vec![("FLAG", "Yes"), ("OTHER", "treu")];
        let reader = Reader::new(&env);
        assert!(reader.boolean("FLAG", false).unwrap());
        let error = reader.boolean("OTHER", false).unwrap_err();
        assert!(error.to_string().contains("OTHER"));
        assert!(error.to_string().contains("treu"));
    }
}
