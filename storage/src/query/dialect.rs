//! The SQL that differs between PostgreSQL and SQLite. Each function returns an expression with
//! the same result on both backends.

use crate::Backend;

/// A calendar or clock component of a date or date-time, as Django's lookups name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    Day,
    /// ISO 8601 week of the year, 1 to 53.
    Week,
    /// Day of the week, 1 = Sunday to 7 = Saturday.
    WeekDay,
    Hour,
    Minute,
    Second,
}

/// Builds a case-sensitive test that `column` contains the text bound at `needle`. Both backends compare
/// code points, so `%`, `_` and quotes are literal.
pub fn contains(backend: Backend, column: &str, needle: &str) -> String {
    match backend {
        Backend::Postgres => format!("strpos({column}, {needle}) > 0"),
        Backend::Sqlite => format!("instr({column}, {needle}) > 0"),
    }
}

/// Builds a case-sensitive test that `column` starts with the text bound at `prefix`.
pub fn starts_with(column: &str, prefix: &str) -> String {
    format!("substr({column}, 1, length({prefix})) = {prefix}")
}

/// Builds a case-sensitive test that `column` ends with the text bound at `suffix`.
pub fn ends_with(backend: Backend, column: &str, suffix: &str) -> String {
    match backend {
        Backend::Postgres => format!("right({column}, length({suffix})) = {suffix}"),
        Backend::Sqlite => format!("substr({column}, -length({suffix})) = {suffix}"),
    }
}

/// Builds the integer `part` of a date column, or of a date-time column in UTC.
pub fn date_part(backend: Backend, column: &str, is_datetime: bool, part: DatePart) -> String {
    match backend {
        Backend::Postgres => postgres_date_part(column, is_datetime, part),
        Backend::Sqlite => sqlite_date_part(column, part),
    }
}

fn postgres_date_part(column: &str, is_datetime: bool, part: DatePart) -> String {
    // EXTRACT on a TIMESTAMPTZ uses the session time zone, so convert to UTC first.
    let source = if is_datetime { format!("({column} AT TIME ZONE 'UTC')") } else { column.to_string() };
    match part {
        DatePart::Year => format!("EXTRACT(YEAR FROM {source})"),
        DatePart::Month => format!("EXTRACT(MONTH FROM {source})"),
        DatePart::Day => format!("EXTRACT(DAY FROM {source})"),
        DatePart::Week => format!("EXTRACT(WEEK FROM {source})"),
        DatePart::WeekDay => format!("(EXTRACT(DOW FROM {source}) + 1)"),
        DatePart::Hour => format!("EXTRACT(HOUR FROM {source})"),
        DatePart::Minute => format!("EXTRACT(MINUTE FROM {source})"),
        // EXTRACT(SECOND) includes the fraction, but Django compares whole seconds.
        DatePart::Second => format!("FLOOR(EXTRACT(SECOND FROM {source}))"),
    }
}

/// SQLite's date functions read both `YYYY-MM-DD` and RFC 3339 text and convert offsets to UTC.
/// `%V` (ISO week) needs SQLite 3.46 or later; sqlx 0.8.6 bundles 3.46.0.
fn sqlite_date_part(column: &str, part: DatePart) -> String {
    let format = match part {
        DatePart::Year => "%Y",
        DatePart::Month => "%m",
        DatePart::Day => "%d",
        DatePart::Week => "%V",
        DatePart::WeekDay => return format!("(CAST(strftime('%w', {column}) AS INTEGER) + 1)"),
        DatePart::Hour => "%H",
        DatePart::Minute => "%M",
        DatePart::Second => "%S",
    };
    format!("CAST(strftime('{format}', {column}) AS INTEGER)")
}

/// Returns `column` as an `ORDER BY` operand, so that text sorts by code point on both backends.
pub fn order_operand(backend: Backend, column: &str, is_text: bool) -> String {
    match (backend, is_text) {
        (Backend::Postgres, true) => format!("{column} COLLATE \"C\""),
        _ => column.to_string(),
    }
}

/// Builds a test that `expression` matches the search pattern bound at `pattern`, built by
/// [`search_pattern`].
pub fn search_match(backend: Backend, expression: &str, pattern: &str) -> String {
    match backend {
        Backend::Postgres => format!("{expression} ~ {pattern}"),
        Backend::Sqlite => format!("{expression} GLOB {pattern}"),
    }
}

/// Builds a pattern matching any text that contains `term`, ignoring letter case: a PostgreSQL
/// regular expression or an SQLite `GLOB` pattern.
///
/// Each letter becomes a bracket class of its lower- and upper-case forms, such as `[Éé]`, and
/// every other character matches only itself. The classes list code points, so the result
/// depends on neither backend's locale, and SQLite's ASCII-only `lower()` is not needed.
///
/// NOTE: only one-to-one case mappings are used. `ß` does not match `SS`, and a letter with
/// several lower-case forms matches only the one Rust's `char::to_lowercase` returns (`Σ`
/// matches `σ` but not `ς`).
pub fn search_pattern(backend: Backend, term: &str) -> String {
    let mut pattern = String::new();
    if backend == Backend::Sqlite {
        pattern.push('*');
    }
    for character in term.chars() {
        let forms = case_forms(character);
        if forms.len() > 1 {
            pattern.push('[');
            pattern.extend(forms);
            pattern.push(']');
        } else {
            push_literal(backend, &mut pattern, character);
        }
    }
    if backend == Backend::Sqlite {
        pattern.push('*');
    }
    pattern
}

/// Lists `character` and its single-character lower- and upper-case forms, without repeats.
fn case_forms(character: char) -> Vec<char> {
    let mut forms = vec![character];
    for mapped in [single(character.to_lowercase()), single(character.to_uppercase())].into_iter().flatten() {
        if !forms.contains(&mapped) {
            forms.push(mapped);
        }
    }
    forms
}

fn single(mut mapping: impl Iterator<Item = char>) -> Option<char> {
    let first = mapping.next()?;
    mapping.next().is_none().then_some(first)
}

fn push_literal(backend: Backend, pattern: &mut String, character: char) {
    match backend {
        // In a PostgreSQL regular expression, a backslash before a non-alphanumeric character
        // makes it literal.
        Backend::Postgres if character.is_ascii() && !character.is_ascii_alphanumeric() => {
            pattern.push('\\');
            pattern.push(character);
        }
        // GLOB has no escape character, so its wildcards are matched as one-member classes.
        Backend::Sqlite if matches!(character, '*' | '?' | '[') => {
            pattern.push('[');
            pattern.push(character);
            pattern.push(']');
        }
        _ => pattern.push(character),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_pattern_postgres() {
        assert_eq!(search_pattern(Backend::Postgres, "Ab1"), "[Aa][bB]1");
        assert_eq!(search_pattern(Backend::Postgres, "é%_."), "[éÉ]\\%\\_\\.");
        assert_eq!(search_pattern(Backend::Postgres, "ß"), "ß");
        assert_eq!(search_pattern(Backend::Postgres, ""), "");
    }

    #[test]
    fn search_pattern_sqlite() {
        assert_eq!(search_pattern(Backend::Sqlite, "a*?[]"), "*[aA][*][?][[]]*");
        assert_eq!(search_pattern(Backend::Sqlite, "É"), "*[Éé]*");
        assert_eq!(search_pattern(Backend::Sqlite, ""), "**");
    }

    #[test]
    fn date_parts_per_backend() {
        assert_eq!(date_part(Backend::Postgres, "t.at", true, DatePart::WeekDay), "(EXTRACT(DOW FROM (t.at AT TIME ZONE 'UTC')) + 1)");
        assert_eq!(date_part(Backend::Postgres, "t.day", false, DatePart::Week), "EXTRACT(WEEK FROM t.day)");
        assert_eq!(date_part(Backend::Sqlite, "t.day", false, DatePart::Week), "CAST(strftime('%V', t.day) AS INTEGER)");
    }
}
