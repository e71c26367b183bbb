//! The `_order` parameter: comma-separated order keys, each optionally prefixed with `-` for
//! descending order.

use super::dialect::order_operand;
use super::resource::{OrderKey, Resource};
use crate::Backend;

/// Builds the `ORDER BY` list (without the keywords) for an `_order` value.
///
/// Unknown keys are dropped. When no key is valid, or `_order` is absent or empty, the
/// resource's default order applies. The id column is appended in ascending order, unless a
/// term already sorts by it, so that pages are stable. NULLs sort as PostgreSQL sorts them by
/// default on both backends: last in ascending and first in descending order.
pub fn order_by(resource: &Resource, requested: Option<&str>, backend: Backend) -> String {
    let mut terms = requested.map(|value| valid_terms(resource, value)).unwrap_or_default();
    if terms.is_empty() {
        terms = resource.default_order.iter().flat_map(|term| valid_terms(resource, term)).collect();
        debug_assert_eq!(terms.len(), resource.default_order.len(), "every default order term must name an order key");
    }

    let sorts_by_id = terms.iter().any(|(key, _)| key.column == resource.id_column);
    let mut sql: Vec<String> = terms.iter().map(|(key, descending)| order_term(backend, key, *descending)).collect();
    if !sorts_by_id {
        sql.push(format!("{} ASC", resource.id_column));
    }
    sql.join(", ")
}

/// Collects the order keys named in `value`, each with whether it is descending.
fn valid_terms<'a>(resource: &'a Resource, value: &str) -> Vec<(&'a OrderKey, bool)> {
    value
        .split(',')
        .filter_map(|term| {
            let term = term.trim();
            let (name, descending) = match term.strip_prefix('-') {
                Some(name) => (name, true),
                None => (term, false),
            };
            resource.order_key(name).map(|key| (key, descending))
        })
        .collect()
}

fn order_term(backend: Backend, key: &OrderKey, descending: bool) -> String {
    let operand = order_operand(backend, key.column, key.is_text);
    if descending {
        format!("{operand} DESC NULLS FIRST")
    } else {
        format!("{operand} ASC NULLS LAST")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static KEYS: [OrderKey; 3] = [OrderKey::new("id", "t.id"), OrderKey::text("name", "t.name"), OrderKey::new("size", "t.size")];

    fn resource(default_order: &'static [&'static str]) -> Resource {
        Resource { from: "things t", id_column: "t.id", fields: &[], search_fields: &[], order_keys: &KEYS, default_order }
    }

    #[test]
    fn order_terms_and_tie_breaker() {
        let things = resource(&["id"]);
        assert_eq!(
            order_by(&things, Some(" -size, name ,bogus"), Backend::Sqlite),
            "t.size DESC NULLS FIRST, t.name ASC NULLS LAST, t.id ASC"
        );
        assert_eq!(order_by(&things, Some("name"), Backend::Postgres), "t.name COLLATE \"C\" ASC NULLS LAST, t.id ASC");
        assert_eq!(order_by(&things, Some("-id"), Backend::Sqlite), "t.id DESC NULLS FIRST");
    }

    #[test]
    fn order_falls_back_to_default() {
        let things = resource(&["-size"]);
        let fallback = "t.size DESC NULLS FIRST, t.id ASC";
        assert_eq!(order_by(&things, None, Backend::Sqlite), fallback);
        assert_eq!(order_by(&things, Some(""), Backend::Sqlite), fallback);
        assert_eq!(order_by(&things, Some("bogus,--size,-"), Backend::Sqlite), fallback);
        assert_eq!(order_by(&resource(&["id"]), None, Backend::Sqlite), "t.id ASC NULLS LAST");
    }
}
