//! The `_search` parameter: every term must occur, ignoring letter case, in at least one of the
//! resource's search fields.
//!
//! Terms are split as DRF's `SearchFilter` splits them. Django's `smart_split` first divides the
//! value at whitespace but keeps quoted strings together. Commas at either end of each token are
//! removed. A token wrapped in matching quotes then becomes the text between them, and any other
//! token is split at its commas.

use super::dialect::{search_match, search_pattern};
use super::resource::SearchField;
use super::values::Params;
use crate::Backend;

/// Splits a `_search` value into terms.
pub fn split_terms(value: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for token in smart_split(value) {
        let token = token.trim_matches(',');
        if let Some(phrase) = quoted_phrase(token) {
            terms.push(phrase);
            continue;
        }
        terms.extend(token.split(',').filter(|part| !part.is_empty()).map(|part| part.trim().to_string()));
    }
    terms
}

/// Returns the text inside `token` when it starts and ends with the same quote character, with `\"`
/// (or `\'`) and `\\` unescaped. A lone quote yields an empty phrase.
fn quoted_phrase(token: &str) -> Option<String> {
    let quote = token.chars().next().filter(|first| *first == '"' || *first == '\'')?;
    if !token.ends_with(quote) {
        return None;
    }
    let inner = if token.len() > 1 { &token[1..token.len() - 1] } else { "" };
    Some(inner.replace(&format!("\\{quote}"), &quote.to_string()).replace("\\\\", "\\"))
}

/// Splits at whitespace, keeping quoted strings (with their quotes) inside one token.
///
/// A token is a run of non-whitespace characters in which each quote opens a string that runs
/// to the next unescaped matching quote. An unterminated quote ends the token before it when
/// the token already contains a complete quoted string, and is an ordinary character otherwise.
fn smart_split(value: &str) -> Vec<&str> {
    let characters: Vec<(usize, char)> = value.char_indices().collect();
    let end_of = |index: usize| characters.get(index).map_or(value.len(), |(offset, _)| *offset);
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        if characters[index].1.is_whitespace() {
            index += 1;
            continue;
        }
        let start = index;
        let mut quoted_strings = 0;
        while index < characters.len() && !characters[index].1.is_whitespace() {
            let character = characters[index].1;
            if character != '"' && character != '\'' {
                index += 1;
                continue;
            }
            match closing_quote(&characters, index) {
                Some(close) => {
                    quoted_strings += 1;
                    index = close + 1;
                }
                None if quoted_strings > 0 => break,
                None => {
                    while index < characters.len() && !characters[index].1.is_whitespace() {
                        index += 1;
                    }
                }
            }
        }
        tokens.push(&value[end_of(start)..end_of(index)]);
    }
    tokens
}

/// Finds the index of the quote closing the string opened at `open`. A backslash escapes the next
/// character unless that is a line break, which leaves the string unterminated.
fn closing_quote(characters: &[(usize, char)], open: usize) -> Option<usize> {
    let quote = characters[open].1;
    let mut index = open + 1;
    while index < characters.len() {
        match characters[index].1 {
            character if character == quote => return Some(index),
            '\\' => {
                let escaped = characters.get(index + 1)?;
                if escaped.1 == '\n' {
                    return None;
                }
                index += 2;
            }
            _ => index += 1,
        }
    }
    None
}

/// Builds the condition that every term matches some search field, or `None` when there are no
/// terms or no search fields.
pub fn search_condition(backend: Backend, fields: &[SearchField], terms: &[String], params: &mut Params) -> Option<String> {
    if fields.is_empty() || terms.is_empty() {
        return None;
    }
    let per_term: Vec<String> = terms
        .iter()
        .map(|term| {
            let pattern = params.bind(search_pattern(backend, term));
            let alternatives: Vec<String> = fields.iter().map(|field| field_match(backend, field, &pattern)).collect();
            format!("({})", alternatives.join(" OR "))
        })
        .collect();
    Some(per_term.join(" AND "))
}

fn field_match(backend: Backend, field: &SearchField, pattern: &str) -> String {
    match field {
        SearchField::Column(expression) => search_match(backend, expression, pattern),
        SearchField::Related { from, correlation, column } => {
            format!("EXISTS (SELECT 1 FROM {from} WHERE {correlation} AND {})", search_match(backend, column, pattern))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(value: &str) -> Vec<String> {
        split_terms(value)
    }

    #[test]
    fn split_on_whitespace_and_commas() {
        assert_eq!(terms("  ann  lee "), ["ann", "lee"]);
        assert_eq!(terms("ann,lee, ,x"), ["ann", "lee", "x"]);
        assert_eq!(terms(""), Vec::<String>::new());
        assert_eq!(terms(" , ,, "), Vec::<String>::new());
    }

    #[test]
    fn split_keeps_quoted_phrases() {
        assert_eq!(terms("\"ann lee\" x"), ["ann lee", "x"]);
        assert_eq!(terms("'a, b', c"), ["a, b", "c"]);
        assert_eq!(terms("\"ann lee\", x"), ["ann lee", "x"]);
        assert_eq!(terms(r#""say \"hi\"" y"#), ["say \"hi\"", "y"]);
        assert_eq!(terms(r#""a\\b""#), ["a\\b"]);
    }

    #[test]
    fn split_quote_corner_cases() {
        // A quoted string followed by more text is not a phrase, so it is split at commas and
        // keeps its quotes.
        assert_eq!(terms("\"ann lee\",x"), ["\"ann lee\"", "x"]);
        assert_eq!(terms("'a, b',c"), ["'a", "b'", "c"]);
        // An unterminated quote is an ordinary character.
        assert_eq!(terms("o'neil x"), ["o'neil", "x"]);
        assert_eq!(terms("\"open"), ["\"open"]);
        // An unterminated quote after a complete string starts the next token.
        assert_eq!(terms("a\"b c\"d\"e f"), ["a\"b c\"d", "\"e", "f"]);
        // A lone quote is an empty phrase.
        assert_eq!(terms("\""), [""]);
    }

    #[test]
    fn condition_and_of_ors() {
        let fields = [SearchField::Column("t.name"), SearchField::Related { from: "m", correlation: "m.t = t.id", column: "m.x" }];
        let mut params = Params::default();
        let sql = search_condition(Backend::Sqlite, &fields, &["a".into(), "b".into()], &mut params).unwrap();
        assert_eq!(
            sql,
            "(t.name GLOB $1 OR EXISTS (SELECT 1 FROM m WHERE m.t = t.id AND m.x GLOB $1)) AND \
             (t.name GLOB $2 OR EXISTS (SELECT 1 FROM m WHERE m.t = t.id AND m.x GLOB $2))"
        );
        assert_eq!(params.len(), 2);
        assert_eq!(search_condition(Backend::Sqlite, &[], &["a".into()], &mut params), None);
        assert_eq!(search_condition(Backend::Sqlite, &fields, &[], &mut params), None);
    }
}
