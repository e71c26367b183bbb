//! Limit/offset pagination (`_limit`, `_offset`) and the `next`/`previous` links of a page,
//! following DRF's `LimitOffsetPagination`.

use std::collections::BTreeMap;

/// Page size when `_limit` is absent or invalid.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page size. A larger `_limit` is reduced to it.
pub const MAX_LIMIT: i64 = 1000;

/// The page a list request selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagination {
    pub limit: i64,
    pub offset: i64,
}

impl Pagination {
    /// Reads `_limit` and `_offset` values. A limit that is not a positive integer is
    /// [`DEFAULT_LIMIT`], and an offset that is not a non-negative integer is 0.
    pub fn from_values(limit: Option<&str>, offset: Option<&str>) -> Pagination {
        let limit = match limit.and_then(parse_python_int) {
            Some(limit) if limit > 0 => limit.min(MAX_LIMIT),
            _ => DEFAULT_LIMIT,
        };
        let offset = offset.and_then(parse_python_int).filter(|offset| *offset >= 0).unwrap_or(0);
        Pagination { limit, offset }
    }
}

/// Parses an integer as Python's `int()` does: surrounding whitespace, an optional sign and
/// single underscores between digits are allowed. Values beyond the `i64` range saturate.
fn parse_python_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|character| character.is_ascii_digit() || character == '_');
    if !well_formed {
        return None;
    }
    let magnitude = digits.replace('_', "").parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// The links of a page envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageLinks {
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// Builds the `next` and `previous` links of a page.
///
/// `base_url` is the absolute request URL without its query, such as `http://host/users/teams/`,
/// and `pairs` are the decoded query parameters in request order. Each link keeps every other
/// parameter, sets `_limit` and `_offset`, and encodes the query with its keys sorted. `next` is
/// `None` on the last page and `previous` on the first. A previous page that starts at 0 has no
/// `_offset`.
pub fn page_links(base_url: &str, pairs: &[(String, String)], count: i64, limit: i64, offset: i64) -> PageLinks {
    let mut query = grouped(pairs);
    query.insert("_limit".to_string(), vec![limit.to_string()]);

    let next = (offset.saturating_add(limit) < count).then(|| {
        let mut next_query = query.clone();
        next_query.insert("_offset".to_string(), vec![offset.saturating_add(limit).to_string()]);
        with_query(base_url, &next_query)
    });

    let previous = (offset > 0).then(|| {
        let mut previous_query = query.clone();
        if offset - limit <= 0 {
            previous_query.remove("_offset");
        } else {
            previous_query.insert("_offset".to_string(), vec![(offset - limit).to_string()]);
        }
        with_query(base_url, &previous_query)
    });

    PageLinks { next, previous }
}

/// Groups the values of each key in request order, with the keys sorted.
fn grouped(pairs: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in pairs {
        query.entry(key.clone()).or_default().push(value.clone());
    }
    query
}

fn with_query(base_url: &str, query: &BTreeMap<String, Vec<String>>) -> String {
    let encoded: Vec<String> = query
        .iter()
        .flat_map(|(key, values)| values.iter().map(move |value| format!("{}={}", quote_plus(key), quote_plus(value))))
        .collect();
    if encoded.is_empty() {
        base_url.to_string()
    } else {
        format!("{base_url}?{}", encoded.join("&"))
    }
}

/// Form-encodes `text` as Python's `urllib.parse.quote_plus` does, so links match the
/// reference byte for byte: letters, digits and `_.-~` stay, a space becomes `+`, and every
/// other UTF-8 byte becomes `%XX` in upper-case hex.
fn quote_plus(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => encoded.push(byte as char),
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn limit_defaults_and_clamping() {
        let limit = |value: Option<&str>| Pagination::from_values(value, None).limit;
        assert_eq!(limit(None), 100);
        assert_eq!(limit(Some("5")), 5);
        assert_eq!(limit(Some(" 7 ")), 7);
        assert_eq!(limit(Some("+8")), 8);
        assert_eq!(limit(Some("1_0")), 10);
        assert_eq!(limit(Some("1000")), 1000);
        assert_eq!(limit(Some("1001")), 1000);
        assert_eq!(limit(Some("99999999999999999999999")), 1000);
        assert_eq!(limit(Some("0")), 100);
        assert_eq!(limit(Some("-5")), 100);
        assert_eq!(limit(Some("2.5")), 100);
        assert_eq!(limit(Some("ten")), 100);
        assert_eq!(limit(Some("")), 100);
    }

    #[test]
    fn offset_defaults() {
        let offset = |value: Option<&str>| Pagination::from_values(None, value).offset;
        assert_eq!(offset(None), 0);
        assert_eq!(offset(Some("0")), 0);
        assert_eq!(offset(Some("30")), 30);
        assert_eq!(offset(Some("-1")), 0);
        assert_eq!(offset(Some("x")), 0);
        assert_eq!(offset(Some("1.5")), 0);
        assert_eq!(offset(Some("1__0")), 0);
    }

    #[test]
    fn links_first_middle_last() {
        let base = "http://host/users/teams/";
        let first = page_links(base, &pairs(&[("_limit", "2")]), 5, 2, 0);
        assert_eq!(first.next.as_deref(), Some("http://host/users/teams/?_limit=2&_offset=2"));
        assert_eq!(first.previous, None);

        let middle = page_links(base, &pairs(&[("_limit", "2"), ("_offset", "2")]), 5, 2, 2);
        assert_eq!(middle.next.as_deref(), Some("http://host/users/teams/?_limit=2&_offset=4"));
        assert_eq!(middle.previous.as_deref(), Some("http://host/users/teams/?_limit=2"));

        let last = page_links(base, &pairs(&[("_offset", "4"), ("_limit", "2")]), 5, 2, 4);
        assert_eq!(last.next, None);
        assert_eq!(last.previous.as_deref(), Some("http://host/users/teams/?_limit=2&_offset=2"));
    }

    #[test]
    fn links_keep_and_sort_other_params() {
        let request = pairs(&[("z", "1"), ("name__in", "a b,ç"), ("_limit", "5000"), ("a", "x&y"), ("z", "2")]);
        let links = page_links("http://h/t/", &request, 3000, 1000, 1500);
        assert_eq!(links.next.as_deref(), Some("http://h/t/?_limit=1000&_offset=2500&a=x%26y&name__in=a+b%2C%C3%A7&z=1&z=2"));
        assert_eq!(links.previous.as_deref(), Some("http://h/t/?_limit=1000&_offset=500&a=x%26y&name__in=a+b%2C%C3%A7&z=1&z=2"));
    }

    #[test]
    fn links_without_neighbours() {
        let links = page_links("http://h/t/", &[], 0, 100, 0);
        assert_eq!(links, PageLinks::default());
        // An offset past the end still links back one page.
        let beyond = page_links("http://h/t/", &[], 3, 100, 150);
        assert_eq!(beyond.next, None);
        assert_eq!(beyond.previous.as_deref(), Some("http://h/t/?_limit=100&_offset=50"));
    }

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(quote_plus("a-b_c.d~e f*g/h"), "a-b_c.d~e+f%2Ag%2Fh");
        assert_eq!(quote_plus("é"), "%C3%A9");
    }
}
